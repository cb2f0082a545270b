/*
 * encode.c: ETag (SHA-256 via OpenSSL EVP, first 128 bits in hex), gzip (zlib, RFC 1952 framing via
 * windowBits 15 + 16) and base64 (OpenSSL EVP_EncodeBlock: no line breaks, as Lambda wants).
 */
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include <zlib.h>
#include "function/encode.h"
#include "common/error.h"

static void hex_etag(const unsigned char *md, const char *suffix, char etag[FN_ETAG_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    char *p = etag;
    *p++ = '"';
    for (int i = 0; i < 16; i++) {
        *p++ = hex[md[i] >> 4];
        *p++ = hex[md[i] & 15];
    }
    snprintf(p, FN_ETAG_SIZE - 33, "%s\"", suffix);
}

int fn_etag(const void *content, size_t len, const char *suffix, char etag[FN_ETAG_SIZE])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    etag[0] = '\0';
    if (suffix == NULL)
        suffix = "";
    if (strlen(suffix) > 3 || EVP_Digest(content, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 16)
        return CM_ECRYPTO;
    hex_etag(md, suffix, etag);
    return 0;
}

int fn_etagv(const fn_span_t *parts, size_t n, char etag[FN_ETAG_SIZE])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    etag[0] = '\0';
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; i < n && ok; i++)
        ok = EVP_DigestUpdate(ctx, parts[i].p, parts[i].len) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= 16;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return CM_ECRYPTO;
    hex_etag(md, "", etag);
    return 0;
}

/* One deflate call over all of in, appended to out: window_bits picks raw deflate (-15) or gzip (31),
 * flush Z_FINISH or Z_SYNC_FLUSH. The output room is deflateBound plus slack, so one pass completes;
 * anything short of that is a failure, never a truncated body. out is unchanged on failure. */
static int deflate_once(const void *in, size_t len, int level, int window_bits, int flush, size_t slack, cm_buf_t *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (len > UINT32_MAX)
        return CM_ETOOBIG;
    if (deflateInit2(&z, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return CM_EZLIB;
    size_t bound = deflateBound(&z, (uLong)len) + slack;
    int err = cm_buf_reserve(out, bound);
    if (err != 0) {
        deflateEnd(&z);
        return err;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out->base + out->len;
    z.avail_out = (uInt)bound;
    int zr = deflate(&z, flush);
    size_t produced = bound - z.avail_out;
    deflateEnd(&z);
    /* A sync flush that filled the output might have more to write: a failure too. */
    int ok = flush == Z_FINISH ? zr == Z_STREAM_END : zr == Z_OK && z.avail_out != 0 && z.avail_in == 0;
    if (!ok) {
        out->base[out->len] = '\0';
        return CM_EZLIB;
    }
    out->len += produced;
    out->base[out->len] = '\0';
    return 0;
}

int fn_deflate_piece(const void *in, size_t len, int level, int last, cm_buf_t *out)
{
    /* deflateBound assumes Z_FINISH; a sync flush adds an empty stored block (5 bytes) and a partial byte. */
    return deflate_once(in, len, level, -15, last ? Z_FINISH : Z_SYNC_FLUSH, 16, out);
}

int fn_gzip(const void *in, size_t len, cm_buf_t *out)
{
    return deflate_once(in, len, FN_GZIP_LEVEL, 15 + 16, Z_FINISH, 0, out);
}

int fn_base64(const void *in, size_t len, cm_buf_t *out)
{
    if (len > (SIZE_MAX / 4) - 3 || len > INT32_MAX)
        return CM_ETOOBIG;
    size_t need = 4 * ((len + 2) / 3);
    int err = cm_buf_reserve(out, need);
    if (err != 0)
        return err;
    int n = EVP_EncodeBlock((unsigned char *)out->base + out->len, in, (int)len);
    out->len += (size_t)n;
    out->base[out->len] = '\0';
    return 0;
}
