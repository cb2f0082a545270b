/*
 * Unit tests of loader.c: every body made from pieces equals the script fn_render makes in one piece
 * (identity literal parsed back by jansson, gzip inflated by zlib), for loaders with empty head or tail,
 * non-ASCII next to the placeholder and a large one; ETags follow the bytes; invalid loaders refused.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "check.h"
#include "common/error.h"
#include "function/loader.h"
#include "function/render.h"

/* Decodes a base64 JSON literal of gzip into out; returns the length or -1. */
static long gunzip_literal(const cm_buf_t *lit, unsigned char *out, size_t cap)
{
    if (lit->len < 2 || lit->base[0] != '"' || lit->base[lit->len - 1] != '"')
        return -1;
    size_t len = lit->len - 2;
    unsigned char *raw = malloc(len + 4);
    int n = EVP_DecodeBlock(raw, (const unsigned char *)lit->base + 1, (int)len);
    for (size_t i = len; n > 0 && i > 0 && lit->base[i] == '='; i--)
        n--;
    z_stream z;
    memset(&z, 0, sizeof(z));
    inflateInit2(&z, 15 + 16);
    z.next_in = raw;
    z.avail_in = n > 0 ? (uInt)n : 0;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int zr = inflate(&z, Z_FINISH);
    /* The whole member must be consumed: a CRC or length error is Z_DATA_ERROR. */
    long got = zr == Z_STREAM_END && z.avail_in == 0 ? (long)z.total_out : -1;
    inflateEnd(&z);
    free(raw);
    return got;
}

static void check_pieces(const char *name, const char *loader, size_t loader_len, const char *config)
{
    cm_buf_t want, bytes, cj, lit, gz;
    cm_buf_init(&want, 8 << 20);
    cm_buf_init(&bytes, 8 << 20);
    cm_buf_init(&cj, 8 << 20);
    cm_buf_init(&lit, 64 << 20);
    cm_buf_init(&gz, 8 << 20);
    char why[256] = "", etag[FN_ETAG_SIZE], etag2[FN_ETAG_SIZE];
    CHECK(fn_render(loader, loader_len, config, strlen(config), &want, why, sizeof(why)) == 0, "%s: render: %s", name,
          why);
    fn_loader_t l;
    fn_loader_init(&l);
    cm_buf_append(&bytes, loader, loader_len);
    CHECK(fn_loader_set(&l, &bytes) == 0 && l.valid, "%s: set: %s", name, l.why);
    CHECK(fn_loader_render(&l, config, strlen(config), &cj, etag, why, sizeof(why)) == 0 && strlen(etag) == 34,
          "%s: loader render: %s", name, why);
    CHECK(fn_loader_script_len(&l, cj.len) == want.len, "%s: script length", name);
    /* Twice each: the second use takes the per-loader pieces made by the first. */
    for (int round = 0; round < 2; round++) {
        cm_buf_reset(&lit);
        CHECK(fn_loader_script_json(&l, cj.base, cj.len, &lit) == 0, "%s: script literal", name);
        json_t *s = json_loadb(lit.base, lit.len, JSON_DECODE_ANY, NULL);
        CHECK(json_is_string(s) && json_string_length(s) == want.len &&
                  memcmp(json_string_value(s), want.base, want.len) == 0,
              "%s round %d: identity literal is the script", name, round);
        json_decref(s);
        cm_buf_reset(&lit);
        CHECK(fn_loader_gzip_json(&l, cj.base, cj.len, &gz, &lit) == 0, "%s: gzip literal", name);
        unsigned char *plain = malloc(want.len + 16);
        long n = gunzip_literal(&lit, plain, want.len + 16);
        CHECK(n == (long)want.len && memcmp(plain, want.base, want.len) == 0,
              "%s round %d: gzip inflates to the script", name, round);
        free(plain);
    }
    /* Same bytes, same tag; another config, another tag. */
    cm_buf_t cj2;
    cm_buf_init(&cj2, 1 << 20);
    CHECK(fn_loader_render(&l, config, strlen(config), &cj2, etag2, why, sizeof(why)) == 0 && strcmp(etag, etag2) == 0,
          "%s: ETag stable", name);
    CHECK(fn_loader_render(&l, "{\"other\":1}", 11, &cj2, etag2, why, sizeof(why)) == 0 && strcmp(etag, etag2) != 0,
          "%s: ETag follows the config", name);
    /* A config piece follows a loader change without a render: its tag under the new loader is what a
     * render under that loader gives (how the handler follows a loader edit when the config is unchanged). */
    char etag3[FN_ETAG_SIZE];
    CHECK(fn_loader_etag(&l, cj.base, cj.len, etag3) == 0 && strcmp(etag, etag3) == 0, "%s: piece's ETag", name);
    fn_loader_t l2;
    fn_loader_init(&l2);
    cm_buf_reset(&bytes);
    cm_buf_append(&bytes, "/* other */", 11);
    cm_buf_append(&bytes, loader, loader_len);
    CHECK(fn_loader_set(&l2, &bytes) == 0 && fn_loader_etag(&l2, cj.base, cj.len, etag3) == 0 &&
              fn_loader_render(&l2, config, strlen(config), &cj2, etag2, why, sizeof(why)) == 0 &&
              strcmp(etag2, etag3) == 0 && strcmp(etag, etag3) != 0 && cj2.len == cj.len &&
              memcmp(cj2.base, cj.base, cj.len) == 0,
          "%s: the piece under another loader", name);
    fn_loader_dispose(&l2);
    cm_buf_dispose(&cj2);
    fn_loader_dispose(&l);
    cm_buf_dispose(&want);
    cm_buf_dispose(&bytes);
    cm_buf_dispose(&cj);
    cm_buf_dispose(&lit);
    cm_buf_dispose(&gz);
}

static void test_pieces(void)
{
    static const struct {
        const char *name, *loader, *config;
    } cases[] = {
        {"only placeholder", "__NEARJS_CONFIG__", "{}"},
        {"empty tail", "start(__NEARJS_CONFIG__", "{\"a\":1}"},
        {"empty head", "__NEARJS_CONFIG__);\n", "{\"a\":1}"},
        {"non-ASCII around",
         "/* caf\xc3\xa9 \xe2\x80\xa8 \"q\" \\ */x=\xf0\x9f\x98\x80__NEARJS_CONFIG__\xc3\xbc;\t\x01",
         "{\"t\":\"</script> & \xe2\x80\xa9\"}"},
        {"two placeholders", "a(__NEARJS_CONFIG__);b(__NEARJS_CONFIG__);", "{\"x\":[1,2,3]}"},
    };
    for (size_t i = 0; i < NCASES(cases); i++)
        check_pieces(cases[i].name, cases[i].loader, strlen(cases[i].loader), cases[i].config);
    /* Large: pieces bigger than zlib's window and buffers, with some repetition to compress. */
    size_t n = 300 * 1024;
    char *big = malloc(n + 1);
    unsigned r = 12345;
    for (size_t i = 0; i < n; i++) {
        r = r * 1103515245u + 12345u;
        big[i] = "function(){return a+b;}var x=1;\n"[(r >> 16) % 32];
    }
    memcpy(big + n / 3, "__NEARJS_CONFIG__", 17);
    big[n] = '\0';
    check_pieces("300 KB", big, n, "{\"big\":\"loader\"}");
    free(big);
}

static void test_invalid(void)
{
    static const struct {
        const char *loader;
        size_t len;
        const char *why;
    } cases[] = {
        {"", 0, "empty"},
        {"no placeholder here", 19, "placeholder"},
        {"bad \xff __NEARJS_CONFIG__", 22, "UTF-8"},
        {"nul \0 __NEARJS_CONFIG__", 23, NULL}, /* NUL is valid UTF-8: accepted */
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        fn_loader_t l;
        fn_loader_init(&l);
        cm_buf_t bytes, cj, lit;
        cm_buf_init(&bytes, 1 << 20);
        cm_buf_init(&cj, 1 << 20);
        cm_buf_init(&lit, 1 << 20);
        cm_buf_append(&bytes, cases[i].loader, cases[i].len);
        int err = fn_loader_set(&l, &bytes);
        char etag[FN_ETAG_SIZE];
        if (cases[i].why != NULL) {
            CHECK(err == CM_ECONTENT && !l.valid && strstr(l.why, cases[i].why) != NULL, "row %zu: refused (%s)", i,
                  l.why);
            CHECK(fn_loader_render(&l, "{}", 2, &cj, etag, NULL, 0) == CM_EINVAL && etag[0] == '\0',
                  "row %zu: no render from an invalid loader", i);
            CHECK(fn_loader_script_json(&l, "{}", 2, &lit) == CM_EINVAL && lit.len == 0, "row %zu: no body", i);
            CHECK(fn_loader_gzip_json(&l, "{}", 2, &cj, &lit) == CM_EINVAL && lit.len == 0, "row %zu: no gzip", i);
        } else {
            CHECK(err == 0 && l.valid, "row %zu: accepted", i);
        }
        fn_loader_dispose(&l);
        cm_buf_dispose(&bytes);
        cm_buf_dispose(&cj);
        cm_buf_dispose(&lit);
    }
    /* A valid loader replaced by an invalid one: the old pieces are gone with it. */
    fn_loader_t l;
    fn_loader_init(&l);
    cm_buf_t bytes, cj, lit;
    cm_buf_init(&bytes, 1 << 20);
    cm_buf_init(&cj, 1 << 20);
    cm_buf_init(&lit, 1 << 20);
    char etag[FN_ETAG_SIZE];
    cm_buf_append(&bytes, "ok(__NEARJS_CONFIG__)", 21);
    CHECK(fn_loader_set(&l, &bytes) == 0, "valid loader");
    CHECK(fn_loader_script_json(&l, "{}", 2, &lit) == 0 && fn_loader_gzip_json(&l, "{}", 2, &cj, &lit) == 0,
          "pieces made");
    cm_buf_reset(&bytes);
    cm_buf_append(&bytes, "broken", 6);
    CHECK(fn_loader_set(&l, &bytes) == CM_ECONTENT && !l.json_ready && !l.gz_ready, "pieces forgotten");
    CHECK(fn_loader_render(&l, "{}", 2, &cj, etag, NULL, 0) == CM_EINVAL, "and no render");
    CHECK(fn_loader_etag(&l, "{}", 2, etag) == CM_EINVAL && etag[0] == '\0', "nor a piece's ETag");
    /* The script cap holds for the loader plus the config piece. */
    cm_buf_t huge;
    cm_buf_init(&huge, 8 << 20);
    cm_buf_append(&huge, "{\"x\":\"", 6);
    for (int i = 0; i < FN_OBJECT_MAX / 6 - 8; i++)
        cm_buf_append(&huge, "<<<<<<", 6);
    cm_buf_append(&huge, "\"}", 2);
    cm_buf_reset(&bytes);
    cm_buf_append(&bytes, "ok(__NEARJS_CONFIG__)", 21);
    CHECK(fn_loader_set(&l, &bytes) == 0, "valid again");
    char why[128] = "";
    CHECK(fn_loader_render(&l, huge.base, huge.len, &cj, etag, why, sizeof(why)) == CM_ETOOBIG && cj.len == 0 &&
              strstr(why, "cap") != NULL,
          "over FN_SCRIPT_MAX once escaped: %s", why);
    /* A piece that fit one loader may not fit a longer one: refused, no tag. */
    char *piece = calloc(1, FN_SCRIPT_MAX + 1);
    size_t fits = FN_SCRIPT_MAX - (21 - strlen(FN_PLACEHOLDER)); /* the loader is "ok(" + placeholder + ")" */
    CHECK(piece != NULL && fn_loader_etag(&l, piece, fits + 1, etag) == CM_ETOOBIG && etag[0] == '\0',
          "fn_loader_etag: over FN_SCRIPT_MAX");
    CHECK(piece != NULL && fn_loader_etag(&l, piece, fits, etag) == 0 && strlen(etag) == 34,
          "fn_loader_etag: at FN_SCRIPT_MAX");
    free(piece);
    cm_buf_dispose(&huge);
    fn_loader_dispose(&l);
    cm_buf_dispose(&bytes);
    cm_buf_dispose(&cj);
    cm_buf_dispose(&lit);
}

int main(void)
{
    test_pieces();
    test_invalid();
    return check_done("fn_loader");
}
