/*
 * The forwarding handler: each request goes to the first healthy upstream over a TLS connection with
 * SNI and the certificate check on the upstream's name, Host set to that name, hop-by-hop headers
 * dropped and the X-Forwarded-* headers set. The HTTP/1.1 exchange is our own (picohttpparser on an
 * h2o socket) so that connections stay idle in the worker's loop between requests (upconn.c); new
 * connections come from the upstream's h2o_socketpool and get their TLS handshake here. The answer is
 * buffered whole (capped: Lambda answers are <= 6 MB) and then sent, so a failure before the last
 * byte still becomes a clean 502. The answer's framing (Content-Length, chunked, or until close; none for
 * HEAD, 204 and 304; 1xx interim answers skipped) is answer.c's pure parser; here its bytes come from the
 * socket and its headers go to the client.
 *
 * Retry rule (retry.h): a failure before the request was written (connect, handshake, connect timeout) may be
 * retried for any method, since the upstream saw nothing; a failure after the request was written
 * only for GET and HEAD (also mid-answer: nothing of a buffered answer has reached the client). Retries happen once, on
 * the next healthy upstream. A first-byte timeout is a 504 without retry: a slow gateway is not a dead one, and
 * retrying would double the wait. A connection is reused only after a complete, framed answer with
 * keep-alive and nothing unread.
 */
#include "accesslog.h"
#include "answer.h"
#include "conninfo.h"
#include "metrics.h"
#include "reqcheck.h"
#include "retry.h"
#include "server.h"
#include "upconn.h"
#include "common/buf.h"
#include "common/h2o_compat.h"
#include "common/http.h"
#include "common/log.h"

#include <h2o/http2.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

/* Rapid reset (CVE-2023-44487): an HTTP/2 connection whose client has reset (or abandoned) more than this
 * many requests beyond the number it let finish gets GOAWAY ENHANCE_YOUR_CALM, as h2o and nginx do since
 * the 2023 advisories. A browser cancels a few streams when a page navigates away; an attacker cancels all. */
#define H2_RESET_ALLOWANCE 100

struct edge_proxy_handler {
    h2o_handler_t super;
    edge_server_t *srv;
};

struct fwd {
    h2o_generator_t super;
    h2o_req_t *req;
    edge_worker_t *w;
    edge_gen_t *gen;
    h2o_socketpool_connect_request_t *connect_req; /* while a new connection is being made */
    edge_upconn_t *conn;                           /* the connection of this attempt, once connected */
    size_t upstream;
    int attempt;
    int idempotent;
    int is_head;
    h2o_iovec_t reqbufs[2];
    size_t num_reqbufs;
    size_t head_for; /* the upstream reqbufs[0] was built for */
    h2o_timeout_entry_t timer;
    uint64_t t_start_ns, t_upstream_ns;
    cm_buf_t body;
    int done;
    int tried;    /* an upstream was contacted */
    int has_slot; /* holds one of the worker's max_conns for upstream slot_upstream */
    size_t slot_upstream;
    h2o_linklist_t wait_link; /* in w->waiting[upstream] while waiting for a slot */
    /* the exchange on conn */
    char body_hash[CM_SIGV4_HEX_LEN + 1]; /* the body's SHA-256 for x-amz-content-sha256, once computed */
    int writing;                          /* the request write has not completed */
    int have_head;                        /* the answer's head was parsed */
    edge_answer_t answer;                 /* its framing (answer.c) */
};

/* build_head's failures */
#define HEAD_TOO_LARGE (-1)
#define HEAD_UNSIGNED (-2) /* the upstream signs and there are no valid credentials: the request must not go */

static void start_attempt(struct fwd *f);
static int build_head(struct fwd *f, edge_upstream_t *u, char *why, size_t whylen);
static void on_deferred_start(h2o_timeout_entry_t *entry);

static int is_hop_by_hop(const h2o_iovec_t *name)
{
    static const char *const names[] = {
        "connection", "keep-alive",         "proxy-connection", "te",    "trailer", "transfer-encoding",
        "upgrade",    "proxy-authenticate", "http2-settings",   "expect"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (h2o_memis(name->base, name->len, names[i], strlen(names[i])))
            return 1;
    }
    return 0;
}

/* A header the client named in its Connection header is hop-by-hop too (RFC 7230 6.1). */
static int named_by_connection(h2o_req_t *req, const h2o_iovec_t *name)
{
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        if (h->name == &H2O_TOKEN_CONNECTION->buf &&
            h2o_contains_token(h->value.base, h->value.len, name->base, name->len, ','))
            return 1;
    }
    return 0;
}

static void fwd_finish_log(struct fwd *f, int status, size_t bytes, int via_upstream)
{
    uint64_t t = cm_mono_ns();
    edge_upstream_t *u = &f->gen->upstreams[f->upstream];
    edge_logline_t l = {.req = f->req,
                        .status = status,
                        .bytes = bytes,
                        .upstream = f->tried ? u->conf->name : NULL,
                        .upstream_us = via_upstream ? (t - f->t_upstream_ns) / 1000 : 0,
                        .total_us = (t - f->t_start_ns) / 1000};
    edge__metrics_count(&f->w->srv->metrics, f->tried ? f->upstream : EDGE_MAX_UPSTREAMS, status);
    if (via_upstream)
        edge__metrics_latency(&f->w->srv->metrics, f->upstream, l.upstream_us);
    edge__access_log(f->gen, &l);
}

/* Strict-Transport-Security when the request's listener has hsts set (and the upstream sent none). */
static void add_hsts(struct fwd *f)
{
    h2o_req_t *req = f->req;
    edge_worker_t *w = f->w;
    ptrdiff_t i = (req->conn->hosts - &w->hosts[0][0]) / 2;
    if (i < 0 || (size_t)i >= f->gen->conf.num_listeners || req->conn->hosts != w->hosts[i])
        return;
    uint64_t age = f->gen->conf.listeners[i].hsts_max_age;
    if (age == 0 || h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("strict-transport-security"), -1) != -1)
        return;
    char buf[40];
    int n = snprintf(buf, sizeof(buf), "max-age=%llu", (unsigned long long)age);
    h2o_iovec_t v = h2o_strdup(&req->pool, buf, (size_t)n);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("strict-transport-security"), 0, NULL, v.base,
                          v.len);
}

static void fwd_fail(struct fwd *f, int status, const char *reason, const char *why)
{
    edge_upstream_t *u = &f->gen->upstreams[f->upstream];
    char client[64];
    edge__client_addr(f->req, client, sizeof(client));
    cm_log_limited(&u->log_fail, stderr, "nearjs-edge", "%s %.*s %.*s: upstream '%s': %s -> %d", client,
                   (int)f->req->method.len, f->req->method.base, (int)(f->req->path.len > 200 ? 200 : f->req->path.len),
                   f->req->path.base, u->label, why, status);
    atomic_fetch_add_explicit(&f->w->srv->metrics.upstream_errors[f->upstream], 1, memory_order_relaxed);
    f->done = 1;
    /* the upstream's head, when one came, is not this answer's */
    h2o_headers_t empty = {NULL, 0, 0};
    f->req->res.headers = empty;
    add_hsts(f);
    /* the answer the client sees names no internals: the log line above has them */
    h2o_send_error_generic(f->req, status, reason, status == 504 ? "upstream timed out\n" : "upstream unavailable\n",
                           H2O_SEND_ERROR_KEEP_HEADERS);
    fwd_finish_log(f, status, 0, 0);
}

/* One retry, on the next healthy upstream (or the same one when it is the only one: a kept connection
 * the gateway closed is the usual cause there). */
static void retry_or_fail(struct fwd *f, enum edge_failure failure, int status, const char *reason, const char *why)
{
    if (edge__may_retry(failure, f->idempotent, f->attempt, atomic_load(&f->w->srv->shutting_down))) {
        edge_upstream_t *u = &f->gen->upstreams[f->upstream];
        cm_log_limited(&u->log_retry, stderr, "nearjs-edge", "upstream '%s': %s; retrying %.*s %.*s", u->label, why,
                       (int)f->req->method.len, f->req->method.base,
                       (int)(f->req->path.len > 200 ? 200 : f->req->path.len), f->req->path.base);
        f->attempt = 1;
        f->upstream = edge__gen_pick(f->gen, f->upstream + 1);
        atomic_fetch_add_explicit(&f->w->srv->metrics.retries, 1, memory_order_relaxed);
        start_attempt(f);
        return;
    }
    fwd_fail(f, status, reason, why);
}

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)gen, (void)req; /* the whole answer goes out in one final h2o_send */
}

static void send_answer(struct fwd *f)
{
    f->done = 1;
    h2o_req_t *req = f->req;
    if (!f->is_head)
        req->res.content_length = f->body.len;
    f->super.proceed = on_proceed;
    f->super.stop = NULL;
    add_hsts(f);
    h2o_start_response(req, &f->super);
    h2o_iovec_t body = h2o_iovec_init(f->body.base != NULL ? f->body.base : "", f->body.len);
    fwd_finish_log(f, req->res.status, f->body.len, 1);
    h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

static void stop_timer(struct fwd *f)
{
    if (h2o_timeout_is_linked(&f->timer))
        h2o_timeout_unlink(&f->timer);
}

/* Leaves the wait for a connection slot (no-op when not waiting). */
static void unwait(struct fwd *f)
{
    if (!h2o_linklist_is_linked(&f->wait_link))
        return;
    h2o_linklist_unlink(&f->wait_link);
    f->w->num_waiting[f->upstream]--;
    stop_timer(f);
}

/* Gives f's connection slot to the oldest request waiting for one (started from the loop, not from inside
 * this request's callbacks), or back to the count. No-op without a slot. */
static void give_slot(struct fwd *f)
{
    if (!f->has_slot)
        return;
    f->has_slot = 0;
    edge_worker_t *w = f->w;
    size_t i = f->slot_upstream;
    if (h2o_linklist_is_empty(&w->waiting[i])) {
        w->busy[i]--;
        return;
    }
    struct fwd *next = H2O_STRUCT_FROM_MEMBER(struct fwd, wait_link, w->waiting[i].next);
    unwait(next);
    next->has_slot = 1;
    next->slot_upstream = i;
    next->timer.cb = on_deferred_start;
    h2o_timeout_link(w->ctx.loop, &w->ctx.zero_timeout, &next->timer);
}

static void drop_conn(struct fwd *f)
{
    edge__upconn_close(f->conn);
    f->conn = NULL;
    give_slot(f);
}

/* The attempt failed after the connection was made: the retry rule applies to GET/HEAD only (the
 * upstream may have acted on the request). That holds after the answer's head too: the answer is
 * buffered whole, so nothing of it has reached the client, and a gateway that dies mid-answer (a region
 * going down under load) costs no failed page load. The partial answer is forgotten first. */
static void exchange_failed(struct fwd *f, const char *why)
{
    stop_timer(f);
    drop_conn(f);
    if (f->have_head && f->idempotent) {
        f->req->res.headers.size = 0;
        f->req->res.status = 0;
        f->req->res.reason = NULL;
        cm_buf_reset(&f->body);
    }
    retry_or_fail(f, EDGE_FAILED_EXCHANGE, 502, "Bad Gateway", why);
}

static void exchange_complete(struct fwd *f)
{
    stop_timer(f);
    edge_upconn_t *c = f->conn;
    f->conn = NULL;
    if (f->answer.keepalive && !f->writing)
        edge__upconn_release(c);
    else
        edge__upconn_close(c);
    give_slot(f);
    f->w->last_ok_ms[f->upstream] = h2o_now(f->w->ctx.loop);
    send_answer(f);
}

static void on_body_timeout(h2o_timeout_entry_t *entry)
{
    struct fwd *f = H2O_STRUCT_FROM_MEMBER(struct fwd, timer, entry);
    exchange_failed(f, "answer stalled (I/O timeout)");
}

/* Takes the body bytes in the socket's input. Returns 1 when the answer is complete, 0 when more is
 * needed, -1 when the exchange failed (already handled). */
static int take_body(struct fwd *f)
{
    h2o_socket_t *sock = f->conn->sock;
    size_t body_len, consumed;
    int r = edge__answer_body(&f->answer, sock->input->bytes, sock->input->size, &body_len, &consumed);
    if (r < 0) {
        exchange_failed(f, f->answer.error);
        return -1;
    }
    if (cm_buf_append(&f->body, sock->input->bytes, body_len) != 0) {
        exchange_failed(f, "answer larger than max_response_bytes");
        return -1;
    }
    h2o_buffer_consume(&sock->input, consumed);
    return r;
}

/* Parses the answer's head from the socket's input into the request's response. Returns 1 once parsed,
 * 0 when more bytes are needed, -1 when the exchange failed (already handled). */
static int take_head(struct fwd *f)
{
    h2o_socket_t *sock = f->conn->sock;
    edge_answer_header_t hs[EDGE_MAX_ANSWER_HEADERS];
    size_t num = EDGE_MAX_ANSWER_HEADERS, consumed;
    int r = edge__answer_head(&f->answer, sock->input->bytes, sock->input->size, hs, &num, &consumed);
    if (r < 0) {
        exchange_failed(f, f->answer.error);
        return -1;
    }
    if (r == 0) {
        h2o_buffer_consume(&sock->input, consumed); /* interim 1xx answers */
        return 0;
    }
    h2o_req_t *req = f->req;
    int status = f->answer.status;
    req->res.status = status;
    /* An empty phrase is allowed on the wire (RFC 9112 4) but reads as a broken server: give the standard one. */
    req->res.reason = f->answer.reason_len > 0 ? h2o_strdup(&req->pool, f->answer.reason, f->answer.reason_len).base
                                               : cm_http_reason(status);
    for (size_t i = 0; i < num; i++) {
        h2o_iovec_t name = h2o_iovec_init(hs[i].name, hs[i].name_len);
        /* the framing's own (answer.c); h2o writes the length of what it sends, but a HEAD answer's is passed on */
        if (h2o_lcstris(name.base, name.len, H2O_STRLIT("connection")) ||
            h2o_lcstris(name.base, name.len, H2O_STRLIT("transfer-encoding")) ||
            (!f->is_head && h2o_lcstris(name.base, name.len, H2O_STRLIT("content-length"))))
            continue;
        /* Date and Server are the edge's own (h2o writes both). A gateway acts as the origin server for its
         * clients (RFC 9110 3.7), and Server names the software that answered them (10.2.4); the upstream's
         * would make a second Server field, which the field's grammar cannot combine into one value. */
        if (is_hop_by_hop(&name) || h2o_lcstris(name.base, name.len, H2O_STRLIT("date")) ||
            h2o_lcstris(name.base, name.len, H2O_STRLIT("server")))
            continue;
        h2o_iovec_t n = h2o_strdup(&req->pool, name.base, name.len);
        h2o_strtolower(n.base, n.len);
        h2o_iovec_t val = h2o_strdup(&req->pool, hs[i].value, hs[i].value_len);
        h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 1, NULL, val.base, val.len);
    }
    h2o_buffer_consume(&sock->input, consumed);
    f->have_head = 1;
    return 1;
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    struct fwd *f = sock->data;
    if (err != NULL) {
        if (f->have_head && edge__answer_ends_at_close(&f->answer)) {
            if (take_body(f) >= 0)
                exchange_complete(f);
            return;
        }
        exchange_failed(f, f->have_head ? "upstream closed the connection mid-answer"
                                        : "upstream closed the connection before answering");
        return;
    }
    if (sock->input->size == 0)
        return; /* a TLS record with no data (a session ticket) */
    if (!f->have_head) {
        int r = take_head(f);
        if (r <= 0)
            return;
        stop_timer(f);
    }
    int r = take_body(f);
    if (r < 0)
        return;
    if (r == 1) {
        exchange_complete(f);
        return;
    }
    /* the body must keep coming: the timer is an I/O timeout from here on */
    stop_timer(f);
    f->timer.cb = on_body_timeout;
    h2o_timeout_link(f->w->ctx.loop, &f->w->io_timeout, &f->timer);
}

static void on_written(h2o_socket_t *sock, const char *err)
{
    struct fwd *f = sock->data;
    f->writing = 0;
    if (err != NULL)
        exchange_failed(f, "request could not be written to the upstream");
}

static void on_first_byte_timeout(h2o_timeout_entry_t *entry)
{
    struct fwd *f = H2O_STRUCT_FROM_MEMBER(struct fwd, timer, entry);
    drop_conn(f);
    retry_or_fail(f, EDGE_FAILED_FIRST_BYTE_TIMEOUT, 504, "Gateway Timeout", "no answer within first_byte timeout");
}

/* The connection is ready (new and handshaken, or taken idle): write the request, wait for the answer. */
static void send_request(struct fwd *f)
{
    h2o_socket_t *sock = f->conn->sock;
    sock->data = f;
    f->writing = 1;
    f->have_head = 0;
    edge__answer_init(&f->answer, f->is_head);
    f->timer.cb = on_first_byte_timeout;
    h2o_timeout_link(f->w->ctx.loop, &f->w->first_byte_timeout, &f->timer);
    h2o_socket_read_start(sock, on_read);
    h2o_socket_write(sock, f->reqbufs, f->num_reqbufs, on_written);
}

static const char *describe_connect_error(const char *errstr)
{
    if (errstr == h2o_socket_error_ssl_cert_invalid)
        return "TLS handshake refused: upstream certificate not trusted (check 'ca', or 'insecure' for tests)";
    if (errstr == h2o_socket_error_ssl_cert_name_mismatch)
        return "TLS handshake refused: upstream certificate does not match the upstream's name";
    if (errstr == h2o_socket_error_ssl_no_cert)
        return "TLS handshake refused: upstream sent no certificate";
    return errstr;
}

/* A connect-phase failure: nothing was sent, so any method may be retried; the upstream is marked down. */
static void connect_failed(struct fwd *f, const char *errstr)
{
    stop_timer(f);
    drop_conn(f);
    const char *why = describe_connect_error(errstr);
    edge__upstream_failed(&f->gen->upstreams[f->upstream], why);
    retry_or_fail(f, EDGE_FAILED_CONNECT, 502, "Bad Gateway", why);
}

static void on_handshake(h2o_socket_t *sock, const char *err)
{
    struct fwd *f = sock->data;
    edge_upstream_t *u = &f->gen->upstreams[f->upstream];
    /* with verification off ('insecure'), h2o still reports a name mismatch: ignore it as its client does */
    if (err != NULL && !(err == h2o_socket_error_ssl_cert_name_mismatch &&
                         (SSL_CTX_get_verify_mode(u->ssl_ctx) & SSL_VERIFY_PEER) == 0)) {
        connect_failed(f, err);
        return;
    }
    /* A request that waited on a new TLS connection: once warm this should stop growing (bench/e2e). */
    atomic_fetch_add_explicit(&f->w->srv->metrics.upstream_handshakes[f->upstream], 1, memory_order_relaxed);
    stop_timer(f);
    f->w->last_ok_ms[f->upstream] = h2o_now(f->w->ctx.loop);
    send_request(f);
}

static void on_pool_connect(h2o_socket_t *sock, const char *errstr, void *data)
{
    struct fwd *f = data;
    f->connect_req = NULL;
    if (errstr != NULL) {
        connect_failed(f, errstr);
        return;
    }
    f->conn = edge__upconn_adopt(f->w, f->gen, f->upstream, sock);
    if (f->conn == NULL) {
        connect_failed(f, "out of memory");
        return;
    }
    if (sock->ssl != NULL) { /* a health check's kept connection: TLS is up */
        stop_timer(f);
        send_request(f);
        return;
    }
    edge_upstream_t *u = &f->gen->upstreams[f->upstream];
    sock->data = f;
    h2o_socket_ssl_handshake(sock, u->ssl_ctx, u->conf->name, on_handshake);
}

static void on_connect_timeout(h2o_timeout_entry_t *entry)
{
    struct fwd *f = H2O_STRUCT_FROM_MEMBER(struct fwd, timer, entry);
    if (f->connect_req != NULL) {
        h2o_socketpool_cancel_connect(f->connect_req);
        f->connect_req = NULL;
    }
    drop_conn(f);
    /* A gateway that answered this worker within the last connect timeout is alive: the timeout is the edge's
     * own backlog (its loop too busy to finish handshakes in time), which must not mark the gateway down. */
    edge_worker_t *w = f->w;
    if (h2o_now(w->ctx.loop) - w->last_ok_ms[f->upstream] > w->connect_timeout.timeout)
        edge__upstream_failed(&f->gen->upstreams[f->upstream], "connect timeout");
    retry_or_fail(f, EDGE_FAILED_CONNECT, 504, "Gateway Timeout", "connect timeout");
}

/* The edge's own overload (all max_conns busy and the wait too long or the queue full): a 503, no retry, and
 * not held against the gateway, which may be perfectly healthy (the edge marked both gateways down 16 and 10
 * times under a load they served directly without a failure). */
static void overloaded(struct fwd *f, const char *why)
{
    edge_upstream_t *u = &f->gen->upstreams[f->upstream];
    char client[64];
    edge__client_addr(f->req, client, sizeof(client));
    cm_log_limited(&u->log_fail, stderr, "nearjs-edge", "%s %.*s %.*s: upstream '%s': %s -> 503", client,
                   (int)f->req->method.len, f->req->method.base, (int)(f->req->path.len > 200 ? 200 : f->req->path.len),
                   f->req->path.base, u->label, why);
    f->done = 1;
    add_hsts(f);
    h2o_send_error_generic(f->req, 503, "Service Unavailable", "edge overloaded\n", H2O_SEND_ERROR_KEEP_HEADERS);
    fwd_finish_log(f, 503, 0, 0);
}

static void on_queue_timeout(h2o_timeout_entry_t *entry)
{
    struct fwd *f = H2O_STRUCT_FROM_MEMBER(struct fwd, timer, entry);
    h2o_linklist_unlink(&f->wait_link);
    f->w->num_waiting[f->upstream]--;
    overloaded(f, "no upstream connection free within timeouts.queue (max_conns busy)");
}

/* Takes one of the worker's max_conns to f's upstream. Returns 1 with it; 0 when f now waits for one (a
 * connection handed back starts it) or was answered 503 (the wait queue is full). */
static int take_slot(struct fwd *f)
{
    edge_worker_t *w = f->w;
    size_t i = f->upstream;
    const edge_upstream_conf_t *c = f->gen->upstreams[i].conf;
    if (w->busy[i] < c->max_conns) {
        w->busy[i]++;
        f->has_slot = 1;
        f->slot_upstream = i;
        return 1;
    }
    if (w->num_waiting[i] >= c->queue) {
        overloaded(f, "max_conns busy and the wait queue full");
        return 0;
    }
    h2o_linklist_insert(&w->waiting[i], &f->wait_link);
    w->num_waiting[i]++;
    f->timer.cb = on_queue_timeout;
    h2o_timeout_link(w->ctx.loop, &w->queue_timeout, &f->timer);
    return 0;
}

/* A signing upstream without valid credentials: nothing was sent, so as a connect-phase failure the upstream is
 * marked down (health.c keeps it so until credentials come) and the request may go to the next one. */
static void unsigned_failed(struct fwd *f, const char *why)
{
    /* (no verdict on the upstream while the first fetch of credentials is under way: the edge just started) */
    if (edge__creds_settled(&f->w->srv->creds))
        edge__upstream_failed(&f->gen->upstreams[f->upstream], why);
    retry_or_fail(f, EDGE_FAILED_CONNECT, 502, "Bad Gateway", why);
}

static void start_attempt(struct fwd *f)
{
    edge_upstream_t *u = &f->gen->upstreams[f->upstream];
    /* Host is per upstream (each region's gateway has its own name), and so is the signature: rebuild for
     * another upstream; on_req built the first one and checked the size. Before taking a slot: a request that
     * cannot be signed takes none. */
    if (f->head_for != u->index) {
        char why[EDGE_ERR_SIZE];
        if (build_head(f, u, why, sizeof(why)) == HEAD_UNSIGNED) {
            unsigned_failed(f, why);
            return;
        }
    }
    if (!f->has_slot && !take_slot(f))
        return;
    f->tried = 1;
    f->have_head = 0;
    f->t_upstream_ns = cm_mono_ns();
    f->conn = edge__upconn_take(f->w, f->gen, f->upstream);
    if (f->conn != NULL) {
        send_request(f);
        return;
    }
    f->timer.cb = on_connect_timeout;
    h2o_timeout_link(f->w->ctx.loop, &f->w->connect_timeout, &f->timer);
    h2o_socketpool_connect(&f->connect_req, &u->pool, f->w->ctx.loop, &f->w->getaddr_receiver, on_pool_connect, f);
}

/* Ends an HTTP/2 connection whose client resets streams far faster than it lets them finish (GOAWAY
 * ENHANCE_YOUR_CALM through common/h2o_compat.c: 2.2.5 has no API for it), saying so at most once a second. */
static void h2_calm_down(h2o_req_t *req)
{
    if (!cm_h2o_http2_goaway_calm(req, "too many streams reset"))
        return;
    char client[64];
    edge__client_addr(req, client, sizeof(client));
    edge_worker_t *w = edge__worker_of(req->conn->ctx);
    cm_log_limited(&w->srv->log_calm, stderr, "nearjs-edge",
                   "%s: HTTP/2 client reset over %d more streams than it let finish: GOAWAY "
                   "ENHANCE_YOUR_CALM",
                   client, H2_RESET_ALLOWANCE);
}

/* Counts a finished HTTP/2 request as answered or cancelled on its connection (the rapid-reset budget). */
static void h2_account(struct fwd *f)
{
    h2o_req_t *req = f->req;
    if (req->version < 0x200)
        return;
    edge_conn_t *c = edge__conn_of(req);
    if (c == NULL)
        return;
    if (f->done) {
        c->streams_answered++;
        return;
    }
    c->streams_cancelled++;
    if (c->streams_cancelled > c->streams_answered + H2_RESET_ALLOWANCE)
        h2_calm_down(req);
}

static void fwd_dispose(void *p)
{
    struct fwd *f = p;
    h2_account(f);
    unwait(f);
    if (f->connect_req != NULL)
        h2o_socketpool_cancel_connect(f->connect_req);
    drop_conn(f);
    stop_timer(f);
    cm_buf_dispose(&f->body);
    edge__gen_unref(f->gen);
    f->w->inflight--;
}

static void on_deferred_start(h2o_timeout_entry_t *entry)
{
    struct fwd *f = H2O_STRUCT_FROM_MEMBER(struct fwd, timer, entry);
    start_attempt(f);
}

/* Appends n bytes at *p (the caller sized the buffer). */
static inline void put(char **p, const void *src, size_t n)
{
    memcpy(*p, src, n);
    *p += n;
}

/* A header the signature sets: a client's own would make a second one (Lambda reads the Authorization header of
 * a function URL) or ride along unsigned under the edge's signature. */
static int signature_header(const h2o_iovec_t *n)
{
    return h2o_memis(n->base, n->len, H2O_STRLIT("authorization")) ||
           h2o_memis(n->base, n->len, H2O_STRLIT("x-amz-date")) ||
           h2o_memis(n->base, n->len, H2O_STRLIT("x-amz-security-token")) ||
           h2o_memis(n->base, n->len, H2O_STRLIT("x-amz-content-sha256"));
}

/* A header the upstream request leaves out or writes itself. */
static int dropped_header(h2o_req_t *req, const h2o_iovec_t *n, int signing)
{
    return is_hop_by_hop(n) || named_by_connection(req, n) || (signing && signature_header(n)) ||
           h2o_memis(n->base, n->len, H2O_STRLIT("host")) || h2o_memis(n->base, n->len, H2O_STRLIT("content-length")) ||
           h2o_memis(n->base, n->len, H2O_STRLIT("x-forwarded-proto")) ||
           h2o_memis(n->base, n->len, H2O_STRLIT("x-forwarded-host"));
}

/* Builds the request head for upstream u into one buffer from the request's pool (sized first, then
 * filled with memcpy: this runs once per request and printf-style formatting showed in profiles); for an
 * upstream with sign:, the SigV4 lines too (sign.h). Returns 0, HEAD_TOO_LARGE when the client's headers
 * exceed max_header_bytes, or HEAD_UNSIGNED with why set when it cannot be signed (then nothing is built). */
static int build_head(struct fwd *f, edge_upstream_t *u, char *why, size_t whylen)
{
    h2o_req_t *req = f->req;
    size_t max = f->gen->conf.max_header_bytes;
    size_t total = req->path.len;
    for (size_t i = 0; i < req->headers.size; i++)
        total += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    if (total > max)
        return HEAD_TOO_LARGE;
    char client[64];
    edge__client_addr(req, client, sizeof(client));
    size_t client_len = strlen(client);
    char port[8] = "";
    size_t port_len = u->conf->port != 443 ? (size_t)snprintf(port, sizeof(port), ":%u", u->conf->port) : 0;
    size_t name_len = strlen(u->conf->name);
    int https = req->scheme == &H2O_URL_SCHEME_HTTPS;
    int with_length = req->entity.base != NULL || h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST")) ||
                      h2o_memis(req->method.base, req->method.len, H2O_STRLIT("PUT"));
    char length[32] = "";
    size_t length_len = with_length ? (size_t)snprintf(length, sizeof(length), "%zu", req->entity.len) : 0;
    int signing = u->conf->sign_service != NULL;
    h2o_iovec_t sig = {NULL, 0};
    if (signing) {
        char host[300];
        int host_len = snprintf(host, sizeof(host), "%s%s", u->conf->name, port);
        if (with_length && f->body_hash[0] == '\0')
            cm_sigv4_sha256_hex(req->entity.base != NULL ? req->entity.base : "", req->entity.len, f->body_hash);
        const cm_buf_t *lines;
        if (edge__sign(&f->w->signer, &f->w->srv->creds, u->conf, u->index, req->method.base, req->method.len,
                       req->path.base, req->path.len, host, (size_t)host_len, with_length ? f->body_hash : NULL,
                       time(NULL), &lines, why, whylen) != 0) {
            f->head_for = SIZE_MAX;
            return HEAD_UNSIGNED;
        }
        sig = h2o_iovec_init(lines->base, lines->len);
    }

    /* the last X-Forwarded-For wins when a client repeats it */
    h2o_iovec_t xff = {NULL, 0};
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_iovec_t *n = req->headers.entries[i].name;
        if (h2o_memis(n->base, n->len, H2O_STRLIT("x-forwarded-for")))
            xff = req->headers.entries[i].value;
    }
    size_t size = req->method.len + 1 + req->path.len + sizeof(" HTTP/1.1\r\nhost: ") + name_len + port_len + 2 +
                  total + sizeof("x-forwarded-for: , \r\n") + xff.len + client_len +
                  sizeof("x-forwarded-proto: https\r\nx-forwarded-host: \r\n") + req->authority.len +
                  sizeof("content-length: \r\n") + length_len + sig.len + 2;
    char *head = h2o_mem_alloc_pool(&req->pool, size), *p = head;
    put(&p, req->method.base, req->method.len);
    put(&p, " ", 1);
    put(&p, req->path.base, req->path.len);
    put(&p, H2O_STRLIT(" HTTP/1.1\r\nhost: "));
    put(&p, u->conf->name, name_len);
    put(&p, port, port_len);
    put(&p, "\r\n", 2);
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        if (h2o_memis(h->name->base, h->name->len, H2O_STRLIT("x-forwarded-for")) ||
            dropped_header(req, h->name, signing))
            continue;
        put(&p, h->name->base, h->name->len);
        put(&p, ": ", 2);
        put(&p, h->value.base, h->value.len);
        put(&p, "\r\n", 2);
    }
    put(&p, H2O_STRLIT("x-forwarded-for: "));
    if (xff.base != NULL) {
        put(&p, xff.base, xff.len);
        put(&p, ", ", 2);
    }
    put(&p, client, client_len);
    if (https)
        put(&p, H2O_STRLIT("\r\nx-forwarded-proto: https\r\n"));
    else
        put(&p, H2O_STRLIT("\r\nx-forwarded-proto: http\r\n"));
    /* an HTTP/1.0 request may come without Host: h2o then names the host config, an internal name */
    if (edge__request_has_host(req)) {
        put(&p, H2O_STRLIT("x-forwarded-host: "));
        put(&p, req->authority.base, req->authority.len);
        put(&p, "\r\n", 2);
    }
    if (with_length) {
        put(&p, H2O_STRLIT("content-length: "));
        put(&p, length, length_len);
        put(&p, "\r\n", 2);
    }
    if (sig.len != 0)
        put(&p, sig.base, sig.len);
    put(&p, "\r\n", 2);
    f->reqbufs[0] = h2o_iovec_init(head, (size_t)(p - head));
    f->num_reqbufs = 1;
    if (req->entity.base != NULL && req->entity.len != 0)
        f->reqbufs[f->num_reqbufs++] = req->entity;
    f->head_for = u->index;
    return 0;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct edge_proxy_handler *h = (struct edge_proxy_handler *)self;
    edge_worker_t *w = edge__worker_of(req->conn->ctx);
    if (edge__local_healthz(h->srv, w, req) == 0)
        return 0;
    struct fwd *f = h2o_mem_alloc_shared(&req->pool, sizeof(*f), fwd_dispose);
    memset(f, 0, sizeof(*f));
    f->req = req;
    f->w = w;
    f->gen = edge__gen_ref(w->gen);
    w->inflight++;
    w->served_since_trim++;
    w->last_request_ms = h2o_now(w->ctx.loop);
    f->t_start_ns = cm_mono_ns();
    f->is_head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    f->idempotent = f->is_head || h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"));
    cm_buf_init(&f->body, f->gen->conf.max_response_bytes);
    f->upstream = edge__gen_pick(f->gen, 0);
    const char *invalid = edge__request_invalid(req);
    if (invalid != NULL) {
        f->done = 1;
        add_hsts(f);
        h2o_iovec_t body = h2o_concat(&req->pool, h2o_iovec_init(H2O_STRLIT("bad request: ")),
                                      h2o_iovec_init(invalid, strlen(invalid)), h2o_iovec_init(H2O_STRLIT("\n")));
        /* what follows on an HTTP/1 connection cannot be trusted to be framed as we read it: close it */
        h2o_send_error_generic(req, 400, "Bad Request", body.base,
                               H2O_SEND_ERROR_KEEP_HEADERS | H2O_SEND_ERROR_HTTP1_CLOSE_CONNECTION);
        fwd_finish_log(f, 400, 0, 0);
        return 0;
    }
    char why[EDGE_ERR_SIZE];
    /* HEAD_UNSIGNED: start_attempt tries again and, failing, fails over (the head is left unbuilt) */
    if (build_head(f, &f->gen->upstreams[f->upstream], why, sizeof(why)) == HEAD_TOO_LARGE) {
        f->done = 1;
        add_hsts(f);
        h2o_send_error_generic(req, 431, "Request Header Fields Too Large", "request header fields too large\n",
                               H2O_SEND_ERROR_KEEP_HEADERS);
        fwd_finish_log(f, 431, 0, 0);
        return 0;
    }
    /* Upstream work starts once this loop iteration has read all it could: a stream the client resets in the
     * same read (HTTP/2 rapid reset: HEADERS then RST_STREAM) is disposed of first and never costs an upstream
     * connection or request (fwd_dispose unlinks the timer). */
    f->timer.cb = on_deferred_start;
    h2o_timeout_link(w->ctx.loop, &w->ctx.zero_timeout, &f->timer);
    return 0;
}

h2o_handler_t *edge__proxy_register(h2o_pathconf_t *pathconf, edge_server_t *srv)
{
    struct edge_proxy_handler *h = (void *)h2o_create_handler(pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->srv = srv;
    return &h->super;
}
