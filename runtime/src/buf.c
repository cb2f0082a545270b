/*
 * Capped growable buffers, and the UTF-8 repair that keeps every text we put into JSON valid.
 * Invariant: once anything was appended, data[len] == 0, so a buffer can be read as a C string.
 */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

void lrt__buf_init(lrt__buf_t *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

void lrt__buf_dispose(lrt__buf_t *b)
{
    free(b->data);
    lrt__buf_init(b, b->limit);
}

void lrt__buf_clear(lrt__buf_t *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

int lrt__buf_append(lrt__buf_t *b, const void *p, size_t n)
{
    if (n > b->limit || b->len > b->limit - n)
        return LRT_ETOOBIG;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (data == NULL)
            return LRT_ENOMEM;
        b->data = data;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* Returns the length of the valid UTF-8 sequence at s (1..4), or 0 if the bytes there are not one.
 * Follows RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF. */
static size_t utf8_sequence_length(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

int lrt__buf_append_utf8(lrt__buf_t *b, const char *s, size_t len, size_t max)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;
    int cut = len > max, err;

    if (cut)
        len = max;
    while (i + run < len) {
        size_t n = utf8_sequence_length(p + i + run, len - i - run);
        if (n > 0) {
            run += n;
            continue;
        }
        /* A character that the cap cut in two is dropped, not replaced: it was valid. */
        if (cut && len - (i + run) < 4 && p[i + run] >= 0xC2)
            break;
        if ((err = lrt__buf_append(b, p + i, run)) != 0 || (err = lrt__buf_append(b, replacement, 3)) != 0)
            return err;
        i += run + 1;
        run = 0;
    }
    return lrt__buf_append(b, p + i, run);
}
