/* Unit tests of path.c: the path grammar, every bad id of the issue first (wrong-use cases first). */
#include <string.h>
#include "check.h"
#include "common/error.h"
#include "function/path.h"

#define ID64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

int main(void)
{
    static const struct {
        const char *in;
        size_t len; /* 0: strlen(in) */
        int want;
        const char *account, *file;
    } cases[] = {
        /* dot segments, plain and encoded */
        {"/../main.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/../main.js", 0, CM_EBADPATH, NULL, NULL},
        {"/./main.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/./main.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/..js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/.hidden.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/main.min.js", 0, CM_EBADPATH, NULL, NULL},
        {"/%2e%2e/main.js", 0, CM_EBADPATH, NULL, NULL},
        {"/%2E%2E/main.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/%2e%2e%2fmain.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme%2fother/main.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme%2Fother/main.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/ma%69n.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/main%2ejs", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/main.js%00", 0, CM_EBADPATH, NULL, NULL},
        {"/%00/main.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/ma\0in.js", 13, CM_EBADPATH, NULL, NULL},
        {"/acme/main.js\0", 14, CM_EBADPATH, NULL, NULL},
        {"/ac\0me/main.js", 14, CM_EBADPATH, NULL, NULL},
        /* too long */
        {"/" ID64 "a/main.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/" ID64 "a.js", 0, CM_EBADPATH, NULL, NULL},
        /* shape */
        {"", 0, CM_EBADPATH, NULL, NULL},
        {"/", 0, CM_EBADPATH, NULL, NULL},
        {"//main.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/main", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/main.JS", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/main.json", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/main.js/", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/main.js?x=1", 0, CM_EBADPATH, NULL, NULL},
        {"/acme//main.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/sub/main.js", 0, CM_EBADPATH, NULL, NULL},
        {"acme/main.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme\\main.js", 0, CM_EBADPATH, NULL, NULL},
        {"/ac me/main.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/main.js ", 0, CM_EBADPATH, NULL, NULL},
        {"/ac+me/main.js", 0, CM_EBADPATH, NULL, NULL},
        {"/caf\xc3\xa9/main.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/main\xff.js", 0, CM_EBADPATH, NULL, NULL},
        {"/acme/~main.js", 0, CM_EBADPATH, NULL, NULL},
        /* valid */
        {"/acme/main.js", 0, 0, "acme", "main"},
        {"/a/b.js", 0, 0, "a", "b"},
        {"/Acme_Corp-2/widget-v2_1.js", 0, 0, "Acme_Corp-2", "widget-v2_1"},
        {"/-/_.js", 0, 0, "-", "_"},
        {"/" ID64 "/" ID64 ".js", 0, 0, ID64, ID64},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        size_t len = cases[i].len != 0 ? cases[i].len : strlen(cases[i].in);
        fn_path_t p;
        memset(&p, 'x', sizeof(p));
        int got = fn_path_parse(cases[i].in, len, &p);
        CHECK(got == cases[i].want, "row %zu '%s': got %d want %d", i, cases[i].in, got, cases[i].want);
        if (got == 0 && cases[i].want == 0)
            CHECK(strcmp(p.account, cases[i].account) == 0 && strcmp(p.file, cases[i].file) == 0,
                  "row %zu '%s': got '%s' '%s'", i, cases[i].in, p.account, p.file);
        if (got != 0)
            CHECK(p.account[0] == 'x', "row %zu: a failed parse left out unchanged", i);
    }
    CHECK(fn_id_valid("a", 0) == 0, "empty id");
    CHECK(fn_id_valid(ID64, 64) == 1 && fn_id_valid(ID64 "a", 65) == 0, "64 yes, 65 no");
    return check_done("fn_path");
}
