/*
 * http_req.c: the bench driver's HTTP/1.1 request parser (just enough; see http_req.h).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "http_req.h"

static int header_is(const char *line, size_t n, const char *name, const char **val, size_t *vlen)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return 0;
    const char *v = line + k + 1, *e = line + n;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *val = v;
    *vlen = (size_t)(e - v);
    return 1;
}

static int contains_token(const char *v, size_t n, const char *tok)
{
    size_t k = strlen(tok);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp(v + i, tok, k) == 0)
            return 1;
    return 0;
}

/* Walks a chunked body starting at p (len bytes available); with decode, also moves the chunk data
 * together in place (only call it so once a scan said the body is complete: decoding overwrites).
 * Returns the bytes consumed (chunks and trailers), 0 when incomplete, -1 when malformed. */
static long dechunk(char *p, size_t len, int decode, size_t *out_len)
{
    size_t i = 0, o = 0;
    for (;;) {
        char *eol = memmem(p + i, len - i, "\r\n", 2);
        if (eol == NULL)
            return 0;
        size_t size = 0;
        char *q = p + i;
        int digits = 0;
        for (; q < eol; q++, digits++) {
            int d;
            if (*q >= '0' && *q <= '9')
                d = *q - '0';
            else if (*q >= 'a' && *q <= 'f')
                d = *q - 'a' + 10;
            else if (*q >= 'A' && *q <= 'F')
                d = *q - 'A' + 10;
            else
                break; /* chunk extensions after ';' are ignored */
            if (size > (BUF_CAP >> 4))
                return -1;
            size = size * 16 + (size_t)d;
        }
        if (digits == 0)
            return -1;
        i = (size_t)(eol - p) + 2;
        if (size == 0) {
            /* trailers: lines until an empty one */
            for (;;) {
                char *e = memmem(p + i, len - i, "\r\n", 2);
                if (e == NULL)
                    return 0;
                size_t l = (size_t)(e - (p + i));
                i += l + 2;
                if (l == 0) {
                    *out_len = o;
                    return (long)i;
                }
            }
        }
        if (len - i < size + 2)
            return 0;
        if (decode)
            memmove(p + o, p + i, size);
        o += size;
        i += size;
        if (memcmp(p + i, "\r\n", 2) != 0)
            return -1;
        i += 2;
    }
}

/* Parses the request at the start of c->buf. Returns 1 complete, 0 need more, -1 malformed.
 * A chunked body is decoded in place once it is complete (data only moves towards the start,
 * so the decode never reads bytes it already overwrote). */
int parse_req(struct conn *c, struct req *r)
{
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (end == NULL)
        return c->len >= BUF_CAP ? -1 : 0;
    r->head_len = (size_t)(end - c->buf) + 4;
    char *line_end = memmem(c->buf, r->head_len, "\r\n", 2);
    char *sp1 = memchr(c->buf, ' ', (size_t)(line_end - c->buf));
    if (sp1 == NULL)
        return -1;
    char *sp2 = memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1));
    if (sp2 == NULL)
        return -1;
    r->method = c->buf;
    r->method_len = (size_t)(sp1 - c->buf);
    r->path = sp1 + 1;
    r->path_len = (size_t)(sp2 - sp1 - 1);
    for (char *l = line_end + 2; l < end;) {
        char *e = memmem(l, (size_t)(end + 2 - l), "\r\n", 2);
        size_t n = (size_t)(e - l);
        const char *v;
        size_t vl;
        if (header_is(l, n, "Content-Length", &v, &vl)) {
            long cl = 0;
            for (size_t k = 0; k < vl; k++) {
                if (v[k] < '0' || v[k] > '9' || cl > BUF_CAP)
                    return -1;
                cl = cl * 10 + (v[k] - '0');
            }
            r->content_length = cl;
        } else if (header_is(l, n, "Transfer-Encoding", &v, &vl)) {
            r->chunked = contains_token(v, vl, "chunked");
        } else if (header_is(l, n, "Expect", &v, &vl)) {
            r->expect_continue = contains_token(v, vl, "100-continue");
        } else if (header_is(l, n, "Connection", &v, &vl)) {
            r->close = contains_token(v, vl, "close");
        }
        l = e + 2;
    }
    char *body = c->buf + r->head_len;
    size_t avail = c->len - r->head_len;
    r->body = body;
    if (r->chunked) {
        size_t out = 0;
        long used = dechunk(body, avail, 0, &out);
        if (used < 0)
            return -1;
        if (used == 0)
            return c->len >= BUF_CAP ? -1 : 0;
        dechunk(body, avail, 1, &out);
        r->body_len = out;
        r->total_len = r->head_len + (size_t)used;
        return 1;
    }
    if (r->content_length < 0)
        r->content_length = 0;
    if (avail < (size_t)r->content_length)
        return r->head_len + (size_t)r->content_length > BUF_CAP ? -1 : 0;
    r->body_len = (size_t)r->content_length;
    r->total_len = r->head_len + r->body_len;
    return 1;
}
