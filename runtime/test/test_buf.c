/* Unit tests of buf.c: the capped buffer and the UTF-8 repair that guards every JSON text. */
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "../src/internal.h"

static void test_limits(void)
{
    lrt__buf_t b;
    lrt__buf_init(&b, 10);
    CHECK(lrt__buf_append(&b, "0123456789", 10) == 0, "fill to the limit");
    CHECK(lrt__buf_append(&b, "x", 1) == LRT_ETOOBIG, "one byte past the limit");
    CHECK(b.len == 10 && strcmp(b.data, "0123456789") == 0, "a refused append leaves the buffer unchanged");
    lrt__buf_clear(&b);
    CHECK(b.len == 0 && b.data[0] == '\0', "clear empties");
    CHECK(lrt__buf_append(&b, "", 0) == 0 && b.data[0] == '\0', "empty append");
    CHECK(lrt__buf_append(&b, "x", (size_t)-1) == LRT_ETOOBIG, "huge length does not overflow");
    lrt__buf_dispose(&b);
}

static void test_utf8(void)
{
    static const struct {
        const char *in;
        size_t len;
        size_t max;
        const char *want;
    } cases[] = {
        {"plain ascii", 11, 100, "plain ascii"},
        {"caf\xc3\xa9", 5, 100, "caf\xc3\xa9"},
        {"\xe2\x80\xa8 and \xe2\x80\xa9", 11, 100, "\xe2\x80\xa8 and \xe2\x80\xa9"},
        {"\xf0\x9f\x98\x80", 4, 100, "\xf0\x9f\x98\x80"},
        {"bad \xff byte", 10, 100, "bad \xef\xbf\xbd byte"},
        {"lone \x80", 6, 100, "lone \xef\xbf\xbd"},
        {"overlong \xc0\xaf", 11, 100, "overlong \xef\xbf\xbd\xef\xbf\xbd"},
        {"surrogate \xed\xa0\x80", 13, 100, "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"too high \xf4\x90\x80\x80", 13, 100, "too high \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"truncated \xe2\x82", 12, 100, "truncated \xef\xbf\xbd\xef\xbf\xbd"},
        {"nul\0inside", 10, 100, "nul\0inside"},
        {"cut caf\xc3\xa9", 9, 8, "cut caf"},
        {"cut here", 8, 3, "cut"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lrt__buf_t b;
        lrt__buf_init(&b, 1000);
        int err = lrt__buf_append_utf8(&b, cases[i].in, cases[i].len, cases[i].max);
        size_t want_len = strlen(cases[i].want);
        if (i == 10)
            want_len = 10; /* the case with a NUL inside */
        CHECK(err == 0 && b.len == want_len && memcmp(b.data, cases[i].want, want_len) == 0,
              "utf8 case %zu (%s): got %zu bytes '%s'", i, cases[i].want, b.len, b.data ? b.data : "(null)");
        lrt__buf_dispose(&b);
    }
}

int main(void)
{
    test_limits();
    test_utf8();
    return check_done("test_buf");
}
