/*
 * Capped growable buffer. Invariant: base is NULL or holds len bytes followed by a NUL, and
 * len <= max always; a failed append leaves base/len untouched.
 */
#include "common/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cm_buf_init(cm_buf_t *b, size_t max)
{
    b->base = NULL;
    b->len = 0;
    b->alloc = 0;
    b->max = max;
}

void cm_buf_dispose(cm_buf_t *b)
{
    free(b->base);
    cm_buf_init(b, b->max);
}

void cm_buf_reset(cm_buf_t *b)
{
    b->len = 0;
    if (b->base != NULL)
        b->base[0] = '\0';
}

/* Makes room for extra more bytes plus the NUL, doubling to keep appends amortized O(1). */
static int reserve(cm_buf_t *b, size_t extra)
{
    if (extra > b->max - b->len)
        return CM_ETOOBIG;
    if (extra == SIZE_MAX - b->len)
        return CM_ENOMEM; /* len + extra + 1 (the NUL) would wrap: only possible with max == SIZE_MAX */
    size_t need = b->len + extra + 1;
    if (need <= b->alloc)
        return 0;
    size_t alloc = b->alloc != 0 ? b->alloc : 64;
    while (alloc < need)
        alloc = alloc > SIZE_MAX / 2 ? need : alloc * 2;
    if (b->max < SIZE_MAX && alloc > b->max + 1)
        alloc = b->max + 1;
    char *p = realloc(b->base, alloc);
    if (p == NULL)
        return CM_ENOMEM;
    if (b->base == NULL)
        p[0] = '\0'; /* keeps the invariant for callers of cm_buf_reserve who then write into base */
    b->base = p;
    b->alloc = alloc;
    return 0;
}

int cm_buf_reserve(cm_buf_t *b, size_t extra)
{
    return reserve(b, extra);
}

void cm_buf_swap(cm_buf_t *a, cm_buf_t *b)
{
    cm_buf_t t = *a;
    *a = *b;
    *b = t;
}

int cm_buf_append(cm_buf_t *b, const void *p, size_t n)
{
    int err = reserve(b, n);
    if (err != 0)
        return err;
    if (n != 0)
        memcpy(b->base + b->len, p, n);
    b->len += n;
    b->base[b->len] = '\0';
    return 0;
}

int cm_buf_vappendf(cm_buf_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return CM_EINVAL;
    int err = reserve(b, (size_t)n);
    if (err != 0)
        return err;
    vsnprintf(b->base + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int cm_buf_appendf(cm_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int err = cm_buf_vappendf(b, fmt, ap);
    va_end(ap);
    return err;
}

char *cm_buf_detach(cm_buf_t *b, size_t *len)
{
    if (b->base == NULL && reserve(b, 0) != 0)
        return NULL;
    char *p = b->base;
    p[b->len] = '\0';
    if (len != NULL)
        *len = b->len;
    cm_buf_init(b, b->max);
    return p;
}
