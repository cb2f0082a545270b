/* Unit tests of negotiate.c: Accept-Encoding q-values and If-None-Match weak comparison. */
#include <string.h>
#include "check.h"
#include "function/negotiate.h"

static void test_accept(void)
{
    static const struct {
        const char *in;
        int want;
    } cases[] = {
        {"", 0},
        {"identity", 0},
        {"br", 0},
        {"deflate, br", 0},
        {"gzip;q=0", 0},
        {"gzip; q=0", 0},
        {"gzip;q=0.000", 0},
        {"gzip;q=0, *", 0},
        {"*;q=0", 0},
        {"*, gzip;q=0", 0},
        {"gzip;q=0.5, identity", 0},
        {"gzip;q=2", 0},
        {"gzip;q=0.5.1", 0},
        {"gzip;q=1.001", 0},
        {"gzip;q=", 0},
        {"gzip;level=9", 0},
        {"gzipx", 0},
        {"gzip", 1},
        {"GZIP", 1},
        {"x-gzip", 1},
        {"gzip, deflate, br", 1},
        {"gzip, deflate, br, zstd", 1},
        {"br;q=1.0, gzip;q=0.8, *;q=0.1", 1},
        {"gzip;q=0.001", 1},
        {"gzip;q=1", 1},
        {"gzip;q=1.000", 1},
        {"gzip ; q=0.5", 1},
        {"gzip;Q=0.5", 1},
        {"*", 1},
        {"br, *;q=0.5", 1},
        {"gzip;q=0.5, identity;q=0.5", 1},
        {",, gzip ,", 1},
        {" \tgzip\t", 1},
        {"gzip, gzip;q=0", 1},
        {"gzip;q=0, gzip", 0},
        {"identity;q=0, gzip", 1},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        int got = fn_accepts_gzip(cases[i].in, strlen(cases[i].in));
        CHECK(got == cases[i].want, "Accept-Encoding '%s': got %d want %d", cases[i].in, got, cases[i].want);
    }
    CHECK(fn_accepts_gzip(NULL, 0) == 0, "absent header: identity");
    CHECK(fn_accepts_gzip("gzip\0;q=0", 9) == 0, "NUL inside is malformed");
}

static void test_if_none_match(void)
{
    static const char etag[] = "\"0123abcd\"";
    static const struct {
        const char *in;
        int want;
    } cases[] = {
        {"", 0},
        {"\"0123abcd\"", 1},
        {"W/\"0123abcd\"", 1},
        {"\"other\", \"0123abcd\"", 1},
        {"\"other\",W/\"0123abcd\"", 1},
        {"  \"0123abcd\"  ", 1},
        {",\"0123abcd\",", 1},
        {"*", 1},
        {" * ", 1},
        {"\"0123abcd", 0},
        {"0123abcd", 0},
        {"\"0123abc\"", 0},
        {"\"0123abcde\"", 0},
        {"\"0123ABCD\"", 0},
        {"w/\"0123abcd\"", 0},
        {"W/ \"0123abcd\"", 0},
        {"\"other\" \"0123abcd\"", 0},
        {"\"other\", *", 0},
        {"*, \"0123abcd\"", 0},
        {"\"a b\", \"0123abcd\"", 0},
        {"\"\"", 0},
        {"W/", 0},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        int got = fn_if_none_match(cases[i].in, strlen(cases[i].in), etag);
        CHECK(got == cases[i].want, "If-None-Match '%s': got %d want %d", cases[i].in, got, cases[i].want);
    }
    CHECK(fn_if_none_match(NULL, 0, etag) == 0, "absent header matches nothing");
    CHECK(fn_if_none_match("\"0123abcd\"", 10, "0123abcd") == 0, "an unquoted etag never matches");
    CHECK(fn_if_none_match("\"0123\0abcd\"", 11, etag) == 0, "NUL inside a tag");
}

int main(void)
{
    test_accept();
    test_if_none_match();
    return check_done("fn_negotiate");
}
