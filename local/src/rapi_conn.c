/*
 * One HTTP/1.1 connection of the Runtime API server on an h2o evloop socket: reads requests (head,
 * then a Content-Length or chunked body fed to the worker as it arrives), writes one response per
 * request, keeps the connection alive when the client wants it.
 * Invariants: at most one write in flight; c->state is HEAD or BODY only while no response is pending;
 * once closed, the h2o socket never calls back (h2o disposes it), so freeing c at close is safe.
 */
#include "rapi_internal.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void on_read(h2o_socket_t *sock, const char *err);
static void process_input(nl__conn_t *c);

/* Allocations kept from one request of a connection to the next: a runtime's answers are much alike in size,
 * and a 100 KB body regrown by doubling for each request showed in profiles (copies, page faults). */
#define KEEP_ALLOC (2 * 1024 * 1024)

/* Empties b for the next request, keeping its allocation unless it is over KEEP_ALLOC. */
static void recycle(cm_buf_t *b)
{
    if (b->alloc > KEEP_ALLOC)
        cm_buf_dispose(b);
    else
        cm_buf_reset(b);
}

static void reset_request(nl__conn_t *c)
{
    c->route = NL__ROUTE_NOT_FOUND;
    c->method[0] = '\0';
    c->path[0] = '\0';
    c->id[0] = '\0';
    c->id_too_long = 0;
    free(c->error_type);
    c->error_type = NULL;
    c->bad_response_mode = 0;
    c->streaming = 0;
    c->chunked = 0;
    c->content_left = 0;
    nl__chunked_dispose(&c->decoder);
    nl__chunked_init(&c->decoder);
    c->body_mode = NL__BODY_DISCARD;
    recycle(&c->body);
    c->body_too_big = 0;
    c->body_total = 0;
    c->close_after = 0;
    recycle(&c->out);
}

void nl__conn_accept(nl_rapi_worker_t *w, h2o_socket_t *sock)
{
    nl__conn_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        h2o_socket_close(sock);
        return;
    }
    c->worker = w;
    c->sock = sock;
    c->state = NL__CONN_HEAD;
    nl__chunked_init(&c->decoder);
    cm_buf_init(&c->body, 0);
    cm_buf_init(&c->out, SIZE_MAX);
    reset_request(c);
    h2o_linklist_insert(&w->conns, &c->link);
    sock->data = c;
    h2o_socket_read_start(sock, on_read);
}

void nl__conn_close(nl__conn_t *c)
{
    nl__worker_on_close(c->worker, c);
    h2o_linklist_unlink(&c->link);
    c->sock->data = NULL;
    h2o_socket_close(c->sock);
    free(c->error_type);
    nl__chunked_dispose(&c->decoder);
    cm_buf_dispose(&c->body);
    cm_buf_dispose(&c->out);
    free(c);
}

static void on_written(h2o_socket_t *sock, const char *err);

/* Hands the pending response to the socket unless a write (a 100 Continue) is still in flight. */
static void flush(nl__conn_t *c)
{
    if (c->writing || !c->out_ready)
        return;
    c->writing = 1;
    c->writing_final = 1;
    c->out_ready = 0;
    h2o_iovec_t iov = h2o_iovec_init(c->out.base, c->out.len);
    h2o_socket_write(c->sock, &iov, 1, on_written);
}

static void on_written(h2o_socket_t *sock, const char *err)
{
    nl__conn_t *c = sock->data;
    if (c == NULL)
        return;
    int final = c->writing_final;
    c->writing = 0;
    c->writing_final = 0;
    if (err != NULL) {
        nl__conn_close(c);
        return;
    }
    if (!final) {
        flush(c);
        return;
    }
    if (c->close_after || !c->keepalive) {
        nl__conn_close(c);
        return;
    }
    reset_request(c);
    c->state = NL__CONN_HEAD;
    process_input(c);
}

int nl__conn_respond(nl__conn_t *c, int status, const char *extra_headers, const char *body, size_t body_len)
{
    const char *reason = status == 200   ? "OK"
                         : status == 202 ? "Accepted"
                         : status == 400 ? "Bad Request"
                         : status == 403 ? "Forbidden"
                         : status == 404 ? "Not Found"
                         : status == 405 ? "Method Not Allowed"
                         : status == 413 ? "Payload Too Large"
                         : status == 431 ? "Request Header Fields Too Large"
                                         : "Internal Server Error";
    int keep = c->keepalive && !c->close_after;
    cm_buf_reset(&c->out);
    int err =
        cm_buf_appendf(&c->out, "HTTP/1.1 %d %s\r\n%s%sContent-Length: %zu\r\nConnection: %s\r\n\r\n", status, reason,
                       strcasestr(extra_headers, "content-type:") ? "" : "Content-Type: application/json\r\n",
                       extra_headers, body_len, keep ? "keep-alive" : "close");
    if (err == 0)
        err = cm_buf_append(&c->out, body, body_len);
    if (err != 0) {
        nl__worker_log(c->worker, c, "cannot build the response: %s", cm_strerror(err));
        nl__conn_close(c);
        return CM_ENOMEM;
    }
    c->state = NL__CONN_WRITING;
    c->out_ready = 1;
    flush(c);
    return 0;
}

/* Answers a request we could not even parse, then closes: the byte stream can no longer be trusted. */
static void fail_request(nl__conn_t *c, int status, const char *type, const char *message)
{
    nl__worker_log(c->worker, c, "%d %s: %s", status, type, message);
    char body[256];
    /* type and message are our own constants: no JSON escaping needed */
    int n = snprintf(body, sizeof(body), "{\"errorMessage\":\"%s\",\"errorType\":\"%s\"}", message, type);
    c->close_after = 1;
    nl__conn_respond(c, status, "", body, (size_t)n);
}

static void copy_printable(char *dst, size_t size, const char *src, size_t len)
{
    size_t n = len < size - 1 ? len : size - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    dst[n] = '\0';
}

/* Reads the head's framing headers. Returns 0, or -1 after answering a malformed request. */
static int start_request(nl__conn_t *c, const nl__request_t *req)
{
    copy_printable(c->method, sizeof(c->method), req->method, req->method_len);
    copy_printable(c->path, sizeof(c->path), req->path, req->path_len);
    const nl__header_t *conn_h = nl__http_find(req->headers, req->num_headers, "connection");
    if (req->minor_version == 0)
        c->keepalive = conn_h != NULL && conn_h->value_len == 10 && strncasecmp(conn_h->value, "keep-alive", 10) == 0;
    else
        c->keepalive = !(conn_h != NULL && conn_h->value_len == 5 && strncasecmp(conn_h->value, "close", 5) == 0);

    const nl__header_t *te = nl__http_find(req->headers, req->num_headers, "transfer-encoding");
    const nl__header_t *cl = nl__http_find(req->headers, req->num_headers, "content-length");
    if (te != NULL) {
        /* RFC 9112 6.1: chunked must be the final coding; we accept nothing else, and TE with CL is a smuggling
         * signal that we refuse rather than resolve */
        if (cl != NULL || te->value_len != 7 || strncasecmp(te->value, "chunked", 7) != 0) {
            fail_request(c, 400, "InvalidRequest", "unsupported Transfer-Encoding");
            return -1;
        }
        c->chunked = 1;
    } else if (cl != NULL) {
        if (nl__http_parse_length(cl->value, cl->value_len, &c->content_left) != 0) {
            fail_request(c, 400, "InvalidRequest", "malformed Content-Length");
            return -1;
        }
    }
    return 0;
}

/* Accepts body bytes according to the worker's decision for this request. */
static void on_body_data(void *ctx, const char *p, size_t n)
{
    nl__conn_t *c = ctx;
    c->body_total += n;
    switch (c->body_mode) {
    case NL__BODY_DISCARD:
        break;
    case NL__BODY_BUFFER:
        if (!c->body_too_big && cm_buf_append(&c->body, p, n) != 0) {
            /* past the cap (or out of memory): keep counting, stop keeping */
            c->body_too_big = 1;
            cm_buf_dispose(&c->body);
        }
        break;
    case NL__BODY_STREAM:
        nl__worker_on_stream(c->worker, c, p, n);
        break;
    }
}

/* Moves what the socket has of the body into the request. Returns 1 when the body is complete, 0 when
 * more is needed, -1 when the connection was answered and is closing. */
static int read_body(nl__conn_t *c)
{
    h2o_buffer_t *in = c->sock->input;
    if (c->chunked) {
        int done = 0;
        ssize_t n = nl__chunked_feed(&c->decoder, in->bytes, in->size, &done, on_body_data, c);
        if (n < 0) {
            fail_request(c, 400, "InvalidRequest",
                         n == NL__HTTP_ETOOBIG ? "chunk framing or trailers too large" : "broken chunked encoding");
            return -1;
        }
        h2o_buffer_consume(&c->sock->input, (size_t)n);
        if (!done && c->body_total > NL__MAX_DISCARD) {
            fail_request(c, 413, "RequestEntityTooLarge", "request body far too large");
            return -1;
        }
        return done;
    }
    size_t n = in->size < c->content_left ? in->size : (size_t)c->content_left;
    if (n != 0)
        on_body_data(c, in->bytes, n);
    h2o_buffer_consume(&c->sock->input, n);
    c->content_left -= n;
    if (c->content_left != 0 && c->body_total > NL__MAX_DISCARD) {
        fail_request(c, 413, "RequestEntityTooLarge", "request body far too large");
        return -1;
    }
    return c->content_left == 0;
}

static void on_continue_written(h2o_socket_t *sock, const char *err)
{
    on_written(sock, err);
}

static void process_input(nl__conn_t *c)
{
    for (;;) {
        h2o_buffer_t *in = c->sock->input;
        if (c->state == NL__CONN_HEAD) {
            if (in->size == 0)
                return;
            nl__request_t req;
            ssize_t n = nl__http_parse_request(in->bytes, in->size, &req);
            if (n == NL__HTTP_INCOMPLETE)
                return;
            if (n < 0) {
                if (n == NL__HTTP_ETOOBIG)
                    fail_request(c, 431, "InvalidRequest", "request head too large");
                else
                    fail_request(c, 400, "InvalidRequest", "malformed request head");
                return;
            }
            if (start_request(c, &req) != 0)
                return;
            nl__worker_on_head(c->worker, c, &req);
            const nl__header_t *expect = nl__http_find(req.headers, req.num_headers, "expect");
            int wants_continue = expect != NULL && expect->value_len == 12 &&
                                 strncasecmp(expect->value, "100-continue", 12) == 0 && (c->chunked || c->content_left);
            h2o_buffer_consume(&c->sock->input, (size_t)n);
            c->state = NL__CONN_BODY;
            if (wants_continue) {
                /* curl waits (1 s) for this before sending bodies over 1 MB */
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                h2o_iovec_t iov = h2o_iovec_init(cont, sizeof(cont) - 1);
                c->writing = 1;
                c->writing_final = 0;
                h2o_socket_write(c->sock, &iov, 1, on_continue_written);
            }
            continue;
        }
        if (c->state == NL__CONN_BODY) {
            int r = c->chunked || c->content_left ? read_body(c) : 1;
            if (r <= 0)
                return;
            c->state = NL__CONN_HANDLING;
            nl__worker_on_request(c->worker, c);
            /* the worker answered (WRITING), parked the connection, or closed it: in every case the next
             * request waits until the answer is written */
            return;
        }
        /* PARKED, WRITING, HANDLING: leave input for later, within reason */
        if (in->size > NL__MAX_IDLE_INPUT) {
            nl__worker_log(c->worker, c, "client sent %zu bytes while waiting for an answer; closing", in->size);
            nl__conn_close(c);
        }
        return;
    }
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    nl__conn_t *c = sock->data;
    if (c == NULL)
        return;
    if (err != NULL) {
        if (c->state == NL__CONN_BODY)
            nl__worker_log(c->worker, c, "connection closed in the middle of the request body (%s)", err);
        nl__conn_close(c);
        return;
    }
    process_input(c);
}
