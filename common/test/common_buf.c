/* Table-driven tests of the capped buffer: appends within, at and past the cap; reserve; swap. */
#include "common/buf.h"
#include "check.h"

#include <stdint.h>
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
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct case_ *c = &cases[i];
        cm_buf_t b;
        cm_buf_init(&b, c->max);
        int err = 0;
        for (size_t k = 0; k < 4 && c->parts[k] != NULL; k++)
            err = cm_buf_append(&b, c->parts[k], strlen(c->parts[k]));
        size_t len;
        char *got = cm_buf_detach(&b, &len);
        CHECK(!(err != c->want_err || got == NULL || strcmp(got, c->want) != 0 || len != strlen(c->want)),
              "case %zu: max=%zu: got err=%d '%s', want err=%d '%s'", i, c->max, err, got ? got : "(null)", c->want_err,
              c->want);
        free(got);
        cm_buf_dispose(&b);
    }

    /* reserve: room within the cap (overflow-safe at SIZE_MAX), a failure changes nothing, base NUL-terminated */
    static const struct {
        size_t max;
        const char *before;
        size_t extra;
        int want_err;
    } rcases[] = {
        {0, "", 0, 0},
        {0, "", 1, CM_ETOOBIG},
        {10, "abc", 7, 0},
        {10, "abc", 8, CM_ETOOBIG},
        {10, "", SIZE_MAX, CM_ETOOBIG},
        {SIZE_MAX, "12", SIZE_MAX, CM_ETOOBIG},
        {SIZE_MAX, "12", SIZE_MAX - 2, CM_ENOMEM},
        {1000, "", 100, 0},
    };
    for (size_t i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
        cm_buf_t r;
        cm_buf_init(&r, rcases[i].max);
        size_t n = strlen(rcases[i].before);
        int err = n != 0 ? cm_buf_append(&r, rcases[i].before, n) : 0;
        const char *old = r.base;
        size_t old_alloc = r.alloc;
        if (err == 0)
            err = cm_buf_reserve(&r, rcases[i].extra);
        int ok = err == rcases[i].want_err && r.len == n;
        if (err == 0)
            ok = ok && r.base != NULL && r.base[n] == '\0' && r.alloc >= n + rcases[i].extra + 1 &&
                 (r.max == SIZE_MAX || r.alloc <= r.max + 1);
        else
            ok = ok && r.base == old && r.alloc == old_alloc;
        CHECK(!(!ok), "reserve case %zu: max=%zu before='%s' extra=%zu: got err=%d, want %d", i, rcases[i].max,
              rcases[i].before, rcases[i].extra, err, rcases[i].want_err);
        cm_buf_dispose(&r);
    }

    /* swap: contents, lengths and caps change places; swapping with an empty buffer empties */
    static const struct {
        const char *a, *b;
        size_t amax, bmax;
    } scases[] = {
        {"12", "a", SIZE_MAX, 10},
        {"", "xyz", 5, 3},
        {"", "", 0, 0},
    };
    for (size_t i = 0; i < sizeof(scases) / sizeof(scases[0]); i++) {
        cm_buf_t x, y;
        cm_buf_init(&x, scases[i].amax);
        cm_buf_init(&y, scases[i].bmax);
        cm_buf_append(&x, scases[i].a, strlen(scases[i].a));
        cm_buf_append(&y, scases[i].b, strlen(scases[i].b));
        cm_buf_swap(&x, &y);
        CHECK(!(x.len != strlen(scases[i].b) || y.len != strlen(scases[i].a) || x.max != scases[i].bmax ||
                y.max != scases[i].amax || (x.len != 0 && strcmp(x.base, scases[i].b) != 0) ||
                (y.len != 0 && strcmp(y.base, scases[i].a) != 0)),
              "swap case %zu: '%s' <-> '%s'", i, scases[i].a, scases[i].b);
        cm_buf_dispose(&x);
        cm_buf_dispose(&y);
    }

    /* appendf past the cap fails and leaves the contents alone */
    cm_buf_t b;
    cm_buf_init(&b, 8);
    CHECK(!(cm_buf_appendf(&b, "%d-%s", 12, "ab") != 0 || cm_buf_appendf(&b, "%s", "xyzw") != CM_ETOOBIG ||
            strcmp(b.base, "12-ab") != 0),
          "appendf: got '%s'", b.base ? b.base : "(null)");
    cm_buf_dispose(&b);
    CHECK(strcmp(cm_strerror(CM_ETOOBIG), "larger than its cap") == 0, "cm_strerror(CM_ETOOBIG) = '%s'",
          cm_strerror(CM_ETOOBIG));
    return check_done("common_buf");
}
