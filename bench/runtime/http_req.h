/*
 * http_req.h: the request side of the bench driver's HTTP/1.1 (just enough for a Runtime API client:
 * Content-Length and chunked bodies, Expect: 100-continue, Connection: close). Shared by driver.c and
 * http_req.c only; bench code, not the project's.
 */
#ifndef NEARJS_BENCH_HTTP_REQ_H
#define NEARJS_BENCH_HTTP_REQ_H

#include <stddef.h>

#define BUF_CAP (1 << 20)

struct conn {
    int fd;
    char *buf;
    size_t len;
    int waiting_next; /* a GET /next is parked on this connection */
    int continued;    /* 100 Continue already sent for the request in buf */
};

struct req {
    const char *method, *path;
    size_t method_len, path_len;
    size_t head_len;     /* bytes up to and including the blank line */
    long content_length; /* -1 when absent */
    int chunked, expect_continue, close;
    char *body; /* decoded body (points into buf; chunked bodies are decoded in place) */
    size_t body_len;
    size_t total_len; /* bytes this request takes in buf */
};

/* Parses the request at the start of c->buf. Returns 1 complete, 0 need more, -1 malformed.
 * A chunked body is decoded in place once it is complete. */
int parse_req(struct conn *c, struct req *r);

#endif
