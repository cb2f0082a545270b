/* cm_env_region: AWS_REGION first, AWS_DEFAULT_REGION next, empty values skipped, NULL when neither. */
#include "common/env.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

struct region_case {
    const char *region;   /* AWS_REGION, NULL: unset */
    const char *fallback; /* AWS_DEFAULT_REGION, NULL: unset */
    const char *want;     /* NULL: none */
};

static void set(const char *name, const char *value)
{
    if (value != NULL)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

int main(void)
{
    static const struct region_case cases[] = {
        {NULL, NULL, NULL},
        {"", "", NULL},
        {"eu-west-1", NULL, "eu-west-1"},
        {"eu-west-1", "us-west-2", "eu-west-1"},
        {NULL, "us-west-2", "us-west-2"},
        {"", "us-west-2", "us-west-2"},
        {"", NULL, NULL},
        {NULL, "", NULL},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        const struct region_case *c = &cases[i];
        set("AWS_REGION", c->region);
        set("AWS_DEFAULT_REGION", c->fallback);
        const char *got = cm_env_region();
        CHECK(c->want == NULL ? got == NULL : got != NULL && strcmp(got, c->want) == 0,
              "row %zu (AWS_REGION=%s AWS_DEFAULT_REGION=%s): got %s, want %s", i, c->region ? c->region : "(unset)",
              c->fallback ? c->fallback : "(unset)", got ? got : "NULL", c->want ? c->want : "NULL");
    }
    return check_done("common_env");
}
