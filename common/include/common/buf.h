/*
 * A growable byte buffer with a hard cap (curl's dynbuf idea): appending past the cap fails with
 * CM_ETOOBIG and leaves the buffer as it was, so a peer can never make us allocate without bound.
 * The contents are always NUL-terminated (the NUL is not counted in len), so text can be used as a
 * C string. Not thread-safe; one owner.
 */
#ifndef NEARJS_COMMON_BUF_H
#define NEARJS_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "common/error.h" /* CM_E* codes */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cm_buf {
    char *base; /* NULL until the first append; owned */
    size_t len;
    size_t alloc;
    size_t max; /* hard cap on len */
} cm_buf_t;

/* Makes an empty buffer that will hold at most max bytes. Allocates nothing. */
void cm_buf_init(cm_buf_t *b, size_t max);
/* Frees the contents; the buffer is empty (and reusable) afterwards. */
void cm_buf_dispose(cm_buf_t *b);
/* Forgets the contents but keeps the allocation. */
void cm_buf_reset(cm_buf_t *b);
/* Makes room for extra more bytes (plus the NUL) so that appends totalling extra cannot fail. Returns 0,
 * CM_ETOOBIG when len + extra would pass max (overflow-safe) or CM_ENOMEM; on failure the buffer is unchanged.
 * After success base is not NULL and still NUL-terminated after len bytes. */
int cm_buf_reserve(cm_buf_t *b, size_t extra);
/* Exchanges the contents, allocations and caps of a and b (how a fresh result replaces a held one). Cannot fail. */
void cm_buf_swap(cm_buf_t *a, cm_buf_t *b);
/* Appends n bytes. Returns 0, CM_ETOOBIG (nothing appended) or CM_ENOMEM (nothing appended). */
int cm_buf_append(cm_buf_t *b, const void *p, size_t n);
/* Appends printf-formatted text. Same returns as cm_buf_append. */
int cm_buf_appendf(cm_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cm_buf_vappendf(cm_buf_t *b, const char *fmt, va_list ap);
/* Hands the contents (NUL-terminated, caller frees; never NULL) over and empties the buffer.
 * *len (if not NULL) receives the length. Returns NULL only when an empty buffer cannot allocate. */
char *cm_buf_detach(cm_buf_t *b, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
