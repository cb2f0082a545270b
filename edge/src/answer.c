/*
 * The upstream answer's framing over picohttpparser (as libh2o 2.2.5 exports it): RFC 9112 6.3's order of
 * rules: a HEAD request, 204 and 304 have no body; Transfer-Encoding wins over Content-Length, and a coding
 * other than chunked last can only end at the close; then Content-Length; else the body runs until close.
 * No I/O and no allocation: the caller owns the bytes.
 */
#include "answer.h"

#include <h2o.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* picohttpparser as libh2o-evloop 2.2.5 exports it (Debian ships no header for it). */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};
int phr_parse_response(const char *buf, size_t len, int *minor_version, int *status, const char **msg, size_t *msg_len,
                       struct phr_header *headers, size_t *num_headers, size_t last_len);
struct phr_chunked_decoder {
    size_t bytes_left_in_chunk;
    char consume_trailer;
    char _hex_count;
    char _state;
};
ssize_t phr_decode_chunked(struct phr_chunked_decoder *decoder, char *buf, size_t *bufsz);

_Static_assert(sizeof(struct phr_header) == sizeof(edge_answer_header_t), "edge_answer_header_t is phr_header");
_Static_assert(sizeof(struct phr_chunked_decoder) == sizeof(((edge_answer_t *)0)->chunked),
               "edge_answer_t.chunked is phr_chunked_decoder");

void edge__answer_init(edge_answer_t *a, int is_head)
{
    memset(a, 0, sizeof(*a));
    a->is_head = is_head;
}

static int fail(edge_answer_t *a, const char *why)
{
    a->error = why;
    return -1;
}

int edge__answer_head(edge_answer_t *a, const char *buf, size_t len, edge_answer_header_t *headers, size_t *num_headers,
                      size_t *consumed)
{
    size_t off = 0, room = *num_headers;
    const char *msg;
    size_t msg_len, num;
    int minor, status, r;
    *consumed = 0;
    for (;;) {
        num = room;
        r = phr_parse_response(buf + off, len - off, &minor, &status, &msg, &msg_len, (struct phr_header *)headers,
                               &num, 0);
        /* the cap holds whether the head came in one read or trickled in */
        if ((r == -2 && len - off > EDGE_MAX_ANSWER_HEAD_BYTES) || r > EDGE_MAX_ANSWER_HEAD_BYTES)
            return fail(a, "answer head over 64 KiB");
        if (r == -2) {
            *consumed = off;
            return 0;
        }
        if (r < 0)
            return fail(a, "invalid answer head");
        if (status >= 200 || status == 101)
            break;
        off += (size_t)r; /* 1xx interim answer */
        if (off == len) {
            *consumed = off;
            return 0;
        }
    }
    a->status = status;
    a->minor_version = minor;
    a->reason = msg;
    a->reason_len = msg_len;
    *num_headers = num;
    int close = 0, keep_alive = 0, chunked = 0, has_te = 0;
    size_t length = SIZE_MAX;
    for (size_t i = 0; i < num; i++) {
        const edge_answer_header_t *h = &headers[i];
        if (h2o_lcstris(h->name, h->name_len, H2O_STRLIT("connection"))) {
            close |= h2o_contains_token(h->value, h->value_len, H2O_STRLIT("close"), ',');
            keep_alive |= h2o_contains_token(h->value, h->value_len, H2O_STRLIT("keep-alive"), ',');
        } else if (h2o_lcstris(h->name, h->name_len, H2O_STRLIT("transfer-encoding"))) {
            has_te = 1;
            chunked = h2o_contains_token(h->value, h->value_len, H2O_STRLIT("chunked"), ',');
        } else if (h2o_lcstris(h->name, h->name_len, H2O_STRLIT("content-length"))) {
            length = h2o_strtosize(h->value, h->value_len);
            if (length == SIZE_MAX)
                return fail(a, "invalid content-length in the answer");
        }
    }
    *consumed = off + (size_t)r;
    a->keepalive = minor >= 1 ? !close : keep_alive;
    if (a->is_head || status == 204 || status == 304) {
        a->body_kind = EDGE_BODY_NONE;
    } else if (has_te) {
        a->body_kind = chunked ? EDGE_BODY_CHUNKED : EDGE_BODY_UNTIL_CLOSE;
        memset(&a->chunked, 0, sizeof(a->chunked));
        a->chunked.consume_trailer = 1;
    } else if (length != SIZE_MAX) {
        a->body_kind = length == 0 ? EDGE_BODY_NONE : EDGE_BODY_LENGTH;
        a->remaining = length;
    } else {
        a->body_kind = EDGE_BODY_UNTIL_CLOSE;
    }
    if (a->body_kind == EDGE_BODY_UNTIL_CLOSE)
        a->keepalive = 0;
    return 1;
}

int edge__answer_body(edge_answer_t *a, char *buf, size_t len, size_t *body_len, size_t *consumed)
{
    size_t n = len;
    int complete = 0;
    *body_len = *consumed = 0;
    switch (a->body_kind) {
    case EDGE_BODY_NONE:
        return 1;
    case EDGE_BODY_LENGTH:
        if (n > a->remaining)
            n = a->remaining;
        a->remaining -= n;
        complete = a->remaining == 0;
        break;
    case EDGE_BODY_CHUNKED: {
        ssize_t r = phr_decode_chunked((struct phr_chunked_decoder *)&a->chunked, buf, &n); /* in place */
        if (r == -1)
            return fail(a, "invalid chunked encoding in the answer");
        if (r >= 0) {
            complete = 1;
            if (r > 0)
                a->keepalive = 0; /* bytes after the last chunk: the stream is out of step */
        }
        break;
    }
    case EDGE_BODY_UNTIL_CLOSE:
        break;
    }
    *body_len = n;
    /* a chunked body was decoded in place: everything that was read is used up */
    *consumed = a->body_kind == EDGE_BODY_CHUNKED ? len : n;
    if (complete && len - *consumed != 0)
        a->keepalive = 0;
    return complete;
}

int edge__answer_ends_at_close(const edge_answer_t *a)
{
    return a->body_kind == EDGE_BODY_UNTIL_CLOSE;
}
