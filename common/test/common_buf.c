/* Table-driven tests of the capped buffer: appends within, at and past the cap. */
#include "common/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct case_ {
    size_t max;
    const char *parts[4];
    int want_err;     /* error of the last append */
    const char *want; /* contents afterwards */
};

int main(void)
{
    static const struct case_ cases[] = {
        {10, {"abc", "def", NULL}, 0, "abcdef"},
        {6, {"abc", "def", NULL}, 0, "abcdef"},
        {5, {"abc", "def", NULL}, CM_ETOOBIG, "abc"},
        {0, {"", NULL}, 0, ""},
        {0, {"x", NULL}, CM_ETOOBIG, ""},
        {1000, {"a", "b", "c", "d"}, 0, "abcd"},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct case_ *c = &cases[i];
        cm_buf_t b;
        cm_buf_init(&b, c->max);
        int err = 0;
        for (size_t k = 0; k < 4 && c->parts[k] != NULL; k++)
            err = cm_buf_append(&b, c->parts[k], strlen(c->parts[k]));
        size_t len;
        char *got = cm_buf_detach(&b, &len);
        if (err != c->want_err || got == NULL || strcmp(got, c->want) != 0 || len != strlen(c->want)) {
            fprintf(stderr, "case %zu: max=%zu: got err=%d '%s', want err=%d '%s'\n", i, c->max, err,
                    got ? got : "(null)", c->want_err, c->want);
            failed = 1;
        }
        free(got);
        cm_buf_dispose(&b);
    }

    /* appendf past the cap fails and leaves the contents alone */
    cm_buf_t b;
    cm_buf_init(&b, 8);
    if (cm_buf_appendf(&b, "%d-%s", 12, "ab") != 0 || cm_buf_appendf(&b, "%s", "xyzw") != CM_ETOOBIG ||
        strcmp(b.base, "12-ab") != 0) {
        fprintf(stderr, "appendf: got '%s'\n", b.base ? b.base : "(null)");
        failed = 1;
    }
    cm_buf_dispose(&b);
    if (strcmp(cm_strerror(CM_ETOOBIG), "too big") != 0)
        failed = 1;
    return failed;
}
