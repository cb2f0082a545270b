/* Unit tests of buf.c: the cap, overflow-safe lengths, failures that change nothing, swap. */
#include <stdint.h>
#include <string.h>
#include "check.h"
#include "function/buf.h"
#include "function/errno.h"

int main(void)
{
    static const struct {
        size_t max;
        const char *first, *second;
        int want_second;
        const char *want;
    } cases[] = {
        {0, "", "", 0, ""},
        {0, "", "x", FN_ETOOBIG, ""},
        {5, "abc", "de", 0, "abcde"},
        {5, "abc", "def", FN_ETOOBIG, "abc"},
        {100, "", "", 0, ""},
        {1000, "0123456789012345678901234567890123456789012345678901234567890123456789", "tail", 0,
         "0123456789012345678901234567890123456789012345678901234567890123456789tail"},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        fn_buf_t b;
        fn_buf_init(&b, cases[i].max);
        CHECK(fn_buf_append(&b, cases[i].first, strlen(cases[i].first)) == 0, "row %zu: first", i);
        int err = fn_buf_append(&b, cases[i].second, strlen(cases[i].second));
        CHECK(err == cases[i].want_second, "row %zu: got %d", i, err);
        CHECK(b.len == strlen(cases[i].want) && (b.len == 0 || strcmp(b.data, cases[i].want) == 0), "row %zu", i);
        CHECK(b.data == NULL || b.cap <= cases[i].max + 1, "row %zu: cap %zu within max", i, b.cap);
        fn_buf_dispose(&b);
    }
    fn_buf_t a, b;
    fn_buf_init(&a, 10);
    fn_buf_init(&b, SIZE_MAX);
    CHECK(fn_buf_append(&a, "x", SIZE_MAX) == FN_ETOOBIG, "huge length refused");
    CHECK(fn_buf_append(&b, "12", 2) == 0 && fn_buf_reserve(&b, SIZE_MAX) == FN_ETOOBIG, "no overflow at SIZE_MAX");
    fn_buf_append(&a, "a", 1);
    fn_buf_swap(&a, &b);
    CHECK(strcmp(a.data, "12") == 0 && strcmp(b.data, "a") == 0 && b.max == 10, "swap");
    fn_buf_clear(&a);
    CHECK(a.len == 0 && a.data[0] == '\0', "clear");
    fn_buf_dispose(&a);
    fn_buf_dispose(&b);
    fn_buf_dispose(&b);
    return check_done("fn_buf");
}
