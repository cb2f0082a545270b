/*
 * The region lookup from the environment that local's verbs and function's S3 store share.
 */
#include "common/env.h"

#include <stdlib.h>

const char *cm_env_region(void)
{
    const char *names[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = getenv(names[i]);
        if (v != NULL && v[0] != '\0')
            return v;
    }
    return NULL;
}
