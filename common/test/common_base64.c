/* Table-driven tests of the strict base64 decoder. */
#include "common/base64.h"
#include "check.h"
#include "common/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct case_ {
    const char *in;
    int want_err;
    const char *want;
};

int main(void)
{
    static const struct case_ cases[] = {
        {"", 0, ""},
        {"Zg==", 0, "f"},
        {"Zm8=", 0, "fo"},
        {"Zm9v", 0, "foo"},
        {"eyJlcnJvclR5cGUiOiJYIn0=", 0, "{\"errorType\":\"X\"}"},
        {"Zm9", CM_EINVAL, NULL},
        {"Zm9v\n", CM_EINVAL, NULL},
        {"Z===", CM_EINVAL, NULL},
        {"Zg=a", CM_EINVAL, NULL},
        {"Z!9v", CM_EINVAL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct case_ *c = &cases[i];
        char *out = NULL;
        size_t len = 0;
        int err = cm_base64_decode(c->in, strlen(c->in), &out, &len);
        CHECK(!(err != c->want_err || (c->want != NULL && (len != strlen(c->want) || memcmp(out, c->want, len) != 0))),
              "case %zu: '%s': got err=%d, want err=%d '%s'", i, c->in, err, c->want_err, c->want ? c->want : "");
        free(out);
    }
    return check_done("common_base64");
}
