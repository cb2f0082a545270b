/*
 * function/encode.h: the byte transforms of an answer: the ETag (SHA-256 via OpenSSL EVP), gzip (zlib)
 * and base64 (OpenSSL), each appending to a capped buffer.
 */
#ifndef NEARJS_FUNCTION_ENCODE_H
#define NEARJS_FUNCTION_ENCODE_H

#include <stddef.h>
#include "common/buf.h"

/* A quoted ETag: '"' + 32 hex digits (128 bits of SHA-256) + optional "-gz" + '"' + NUL. */
#define FN_ETAG_SIZE 40
/* zlib level: see bench/function/README.md for ratio against time. */
#define FN_GZIP_LEVEL 6

/* A piece of bytes (borrowed). */
typedef struct fn_span {
    const void *p;
    size_t len;
} fn_span_t;

/*
 * Writes into etag the strong entity-tag of len bytes of content: "\"<32 hex>\"", or with suffix (e.g.
 * "-gz", at most 3 bytes) appended inside the quotes, so each representation has its own strong
 * validator. Returns 0 or CM_ECRYPTO (etag then holds "").
 */
int fn_etag(const void *content, size_t len, const char *suffix, char etag[FN_ETAG_SIZE]);

/* Like fn_etag without a suffix, over the concatenation of n pieces. Returns 0 or CM_ECRYPTO (etag ""). */
int fn_etagv(const fn_span_t *parts, size_t n, char etag[FN_ETAG_SIZE]);

/*
 * Appends the raw deflate (RFC 1951, no header) of len bytes, compressed on their own (no reference to
 * earlier bytes) at level; last 0 ends it with a sync flush (byte-aligned, no final block), so that
 * further raw deflate pieces may follow it in the same stream; last 1 ends it with the final block.
 * Returns 0, CM_ETOOBIG, CM_ENOMEM or CM_EZLIB; on failure out is unchanged.
 */
int fn_deflate_piece(const void *in, size_t len, int level, int last, cm_buf_t *out);

/* Appends the gzip (RFC 1952) encoding of len bytes. Returns 0, CM_ETOOBIG, CM_ENOMEM or CM_EZLIB. */
int fn_gzip(const void *in, size_t len, cm_buf_t *out);

/* Appends the base64 (RFC 4648, no line breaks) encoding of len bytes. Returns 0, CM_ETOOBIG or CM_ENOMEM. */
int fn_base64(const void *in, size_t len, cm_buf_t *out);

#endif
