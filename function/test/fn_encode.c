/* Unit tests of encode.c: ETag shape and stability, gzip round trip through zlib, base64 (RFC 4648 vectors). */
#include <string.h>
#include <zlib.h>
#include "check.h"
#include "function/encode.h"
#include "common/error.h"

static void test_etag(void)
{
    char a[FN_ETAG_SIZE], b[FN_ETAG_SIZE], gz[FN_ETAG_SIZE];
    CHECK(fn_etag("", 0, NULL, a) == 0, "empty content hashes");
    /* SHA-256("") starts e3b0c44298fc1c149afbf4c8996fb924 */
    CHECK(strcmp(a, "\"e3b0c44298fc1c149afbf4c8996fb924\"") == 0, "known hash: %s", a);
    CHECK(fn_etag("abc", 3, NULL, a) == 0 && fn_etag("abd", 3, NULL, b) == 0 && strcmp(a, b) != 0, "differs");
    CHECK(fn_etag("abc", 3, "-gz", gz) == 0 && strlen(gz) == 37 && memcmp(gz, a, 33) == 0 &&
              strcmp(gz + 33, "-gz\"") == 0,
          "suffix inside the quotes: %s", gz);
    CHECK(fn_etag("abc", 3, "toolong", a) == CM_ECRYPTO && a[0] == '\0', "suffix over 3 bytes refused");
}

static void test_gzip(void)
{
    static const char *inputs[] = {"", "a", "hello hello hello hello", NULL};
    static char big[300000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)("abcdefgh<>\n"[i % 11] ^ (i % 7 == 0 ? 1 : 0));
    for (size_t i = 0; i < NCASES(inputs); i++) {
        const char *in = inputs[i] != NULL ? inputs[i] : big;
        size_t len = inputs[i] != NULL ? strlen(inputs[i]) : sizeof(big);
        cm_buf_t out;
        cm_buf_init(&out, 1 << 20);
        CHECK(fn_gzip(in, len, &out) == 0, "row %zu: gzip", i);
        CHECK(out.len >= 18 && (unsigned char)out.base[0] == 0x1f && (unsigned char)out.base[1] == 0x8b,
              "row %zu: gzip magic", i);
        static char back[sizeof(big) + 1];
        uLongf backlen = sizeof(back);
        z_stream z;
        memset(&z, 0, sizeof(z));
        inflateInit2(&z, 15 + 16);
        z.next_in = (Bytef *)out.base;
        z.avail_in = (uInt)out.len;
        z.next_out = (Bytef *)back;
        z.avail_out = (uInt)backlen;
        int zr = inflate(&z, Z_FINISH);
        CHECK(zr == Z_STREAM_END && z.total_out == len && memcmp(back, in, len) == 0, "row %zu: round trip", i);
        inflateEnd(&z);
        cm_buf_dispose(&out);
    }
    cm_buf_t small;
    cm_buf_init(&small, 10);
    CHECK(fn_gzip(big, sizeof(big), &small) == CM_ETOOBIG && small.len == 0, "gzip respects the cap");
    cm_buf_dispose(&small);
}

static void test_base64(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
        {"\xff\xfe\x00", "//4A"},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        cm_buf_t out;
        cm_buf_init(&out, 100);
        size_t len = i == 7 ? 3 : strlen(cases[i].in);
        CHECK(fn_base64(cases[i].in, len, &out) == 0, "row %zu", i);
        CHECK(out.len == strlen(cases[i].want) && (out.len == 0 || strcmp(out.base, cases[i].want) == 0),
              "row %zu: got '%s' want '%s'", i, out.base ? out.base : "", cases[i].want);
        cm_buf_dispose(&out);
    }
    cm_buf_t small;
    cm_buf_init(&small, 3);
    CHECK(fn_base64("foo", 3, &small) == CM_ETOOBIG, "base64 respects the cap");
    cm_buf_dispose(&small);
}

int main(void)
{
    test_etag();
    test_gzip();
    test_base64();
    return check_done("fn_encode");
}
