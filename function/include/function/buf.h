/*
 * function/buf.h: a growing byte buffer with a hard cap (curl's dynbuf "toobig"): every body, header
 * value and rendered script of the function lives in one, so no input can make memory grow unbounded.
 */
#ifndef FUNCTION_BUF_H
#define FUNCTION_BUF_H

#include <stddef.h>

typedef struct fn_buf {
    char *data; /* NULL until the first append; then always NUL-terminated after len bytes */
    size_t len;
    size_t cap; /* bytes allocated (len + 1 <= cap once data is set) */
    size_t max; /* len never exceeds this */
} fn_buf_t;

/* Prepares an empty buffer that will refuse to hold more than max bytes. Allocates nothing. */
void fn_buf_init(fn_buf_t *b, size_t max);

/* Frees the bytes; the buffer is empty (and reusable with the same cap) afterwards. */
void fn_buf_dispose(fn_buf_t *b);

/* Forgets the content, keeps the allocation. */
void fn_buf_clear(fn_buf_t *b);

/*
 * Makes room for extra more bytes. Returns 0, FN_ETOOBIG when len + extra exceeds max (overflow-safe),
 * or FN_ENOMEM. On failure the buffer is unchanged.
 */
int fn_buf_reserve(fn_buf_t *b, size_t extra);

/* Appends n bytes (copied). Returns 0, FN_ETOOBIG or FN_ENOMEM; on failure the buffer is unchanged. */
int fn_buf_append(fn_buf_t *b, const void *p, size_t n);

/* Exchanges the contents (and caps) of two buffers: how a fresh result replaces a cached one. */
void fn_buf_swap(fn_buf_t *a, fn_buf_t *b);

#endif
