/*
 * buf.c: the capped growing buffer. Invariants: len <= max; data is NULL or holds len bytes plus a NUL;
 * a failed call changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "function/buf.h"
#include "function/errno.h"

void fn_buf_init(fn_buf_t *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void fn_buf_dispose(fn_buf_t *b)
{
    free(b->data);
    fn_buf_init(b, b->max);
}

void fn_buf_clear(fn_buf_t *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

int fn_buf_reserve(fn_buf_t *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return FN_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    /* Doubling keeps appends amortised O(1); never past max + 1 (the NUL), with SIZE_MAX itself as the ceiling. */
    size_t limit = b->max < SIZE_MAX ? b->max + 1 : SIZE_MAX;
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need)
        cap = cap > limit / 2 ? limit : cap * 2;
    if (cap > limit)
        cap = limit;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return FN_ENOMEM;
    if (b->data == NULL)
        p[0] = '\0';
    b->data = p;
    b->cap = cap;
    return 0;
}

int fn_buf_append(fn_buf_t *b, const void *p, size_t n)
{
    int err = fn_buf_reserve(b, n);
    if (err != 0)
        return err;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void fn_buf_swap(fn_buf_t *a, fn_buf_t *b)
{
    fn_buf_t t = *a;
    *a = *b;
    *b = t;
}
