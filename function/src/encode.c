/*
 * encode.c: ETag (SHA-256 via OpenSSL EVP, first 128 bits in hex), gzip (zlib, RFC 1952 framing via
 * windowBits 15 + 16) and base64 (OpenSSL EVP_EncodeBlock: no line breaks, as Lambda wants).
 */
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include <zlib.h>
#include "function/encode.h"
#include "function/errno.h"

int fn_etag(const void *content, size_t len, const char *suffix, char etag[FN_ETAG_SIZE])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    etag[0] = '\0';
    if (suffix == NULL)
        suffix = "";
    if (strlen(suffix) > 3 || EVP_Digest(content, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 16)
        return FN_ECRYPTO;
    static const char hex[] = "0123456789abcdef";
    char *p = etag;
    *p++ = '"';
    for (int i = 0; i < 16; i++) {
        *p++ = hex[md[i] >> 4];
        *p++ = hex[md[i] & 15];
    }
    snprintf(p, FN_ETAG_SIZE - 33, "%s\"", suffix);
    return 0;
}

int fn_gzip(const void *in, size_t len, fn_buf_t *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (len > UINT32_MAX)
        return FN_ETOOBIG;
    if (deflateInit2(&z, FN_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return FN_EZLIB;
    /* deflateBound covers the worst case, so one pass with Z_FINISH always completes. */
    size_t bound = deflateBound(&z, (uLong)len);
    int err = fn_buf_reserve(out, bound);
    if (err != 0) {
        deflateEnd(&z);
        return err;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out->data + out->len;
    z.avail_out = (uInt)bound;
    int zr = deflate(&z, Z_FINISH);
    size_t produced = bound - z.avail_out;
    deflateEnd(&z);
    if (zr != Z_STREAM_END) {
        out->data[out->len] = '\0';
        return FN_EZLIB;
    }
    out->len += produced;
    out->data[out->len] = '\0';
    return 0;
}

int fn_base64(const void *in, size_t len, fn_buf_t *out)
{
    if (len > (SIZE_MAX / 4) - 3 || len > INT32_MAX)
        return FN_ETOOBIG;
    size_t need = 4 * ((len + 2) / 3);
    int err = fn_buf_reserve(out, need);
    if (err != 0)
        return err;
    int n = EVP_EncodeBlock((unsigned char *)out->data + out->len, in, (int)len);
    out->len += (size_t)n;
    out->data[out->len] = '\0';
    return 0;
}
