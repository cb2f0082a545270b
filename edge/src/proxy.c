/*
 * The forwarding handler: each request goes to the first healthy upstream over a pooled TLS
 * connection (h2o_http1client on the upstream's h2o_socketpool, whose peer name is the upstream's
 * name: SNI and certificate check), with Host set to that name, hop-by-hop headers dropped and the
 * X-Forwarded-* headers set. The answer is buffered whole (capped: Lambda answers are <= 6 MB) and
 * then sent, so a failure before the last byte still becomes a clean 502.
 *
 * Retry rule: a failure before the request was written (connect, handshake, connect timeout) may be
 * retried for any method, since the upstream saw nothing; a failure after the request was written
 * but before any response byte is retried only for GET and HEAD. Retries happen once, on the next
 * healthy upstream. A first-byte timeout is a 504 without retry: a slow gateway is not a dead one,
 * and retrying would double the wait.
 */
#include "edge.h"
#include "common/buf.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>

struct edge_proxy_handler {
    h2o_handler_t super;
    edge_server_t *srv;
};

struct fwd {
    h2o_generator_t super;
    h2o_req_t *req;
    edge_worker_t *w;
    edge_gen_t *gen;
    h2o_http1client_t *client;
    h2o_http1client_ctx_t cctx; /* per attempt: the client reads ssl_ctx from it during the handshake */
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
    int tried; /* an upstream was contacted */
};

static void start_attempt(struct fwd *f);
static int build_head(struct fwd *f, edge_upstream_t *u);

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

void edge__client_addr(h2o_req_t *req, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    char host[NI_MAXHOST];
    size_t n = len != 0 ? h2o_socket_getnumerichost((struct sockaddr *)&ss, len, host) : SIZE_MAX;
    if (n == SIZE_MAX)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.*s", (int)n, host);
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

static void fwd_fail(struct fwd *f, int status, const char *reason, const char *why)
{
    edge_upstream_t *u = &f->gen->upstreams[f->upstream];
    char client[64];
    edge__client_addr(f->req, client, sizeof(client));
    cm_log(stderr, "nearjs-edge", "%s %.*s %.*s: upstream '%s': %s -> %d", client, (int)f->req->method.len,
           f->req->method.base, (int)(f->req->path.len > 200 ? 200 : f->req->path.len), f->req->path.base, u->label,
           why, status);
    atomic_fetch_add_explicit(&f->w->srv->metrics.upstream_errors[f->upstream], 1, memory_order_relaxed);
    f->done = 1;
    /* the answer the client sees names no internals: the log line above has them */
    h2o_send_error_generic(f->req, status, reason, status == 504 ? "upstream timed out\n" : "upstream unavailable\n",
                           0);
    fwd_finish_log(f, status, 0, 0);
}

/* One retry, on the next healthy upstream (or the same one when it is the only one: a pooled
 * connection the gateway closed is the usual cause there). */
static void retry_or_fail(struct fwd *f, int may_retry, int status, const char *reason, const char *why)
{
    if (may_retry && f->attempt == 0 && !atomic_load(&f->w->srv->shutting_down)) {
        edge_upstream_t *u = &f->gen->upstreams[f->upstream];
        cm_log(stderr, "nearjs-edge", "upstream '%s': %s; retrying %.*s %.*s", u->label, why, (int)f->req->method.len,
               f->req->method.base, (int)(f->req->path.len > 200 ? 200 : f->req->path.len), f->req->path.base);
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
    h2o_start_response(req, &f->super);
    h2o_iovec_t body = h2o_iovec_init(f->body.base != NULL ? f->body.base : "", f->body.len);
    fwd_finish_log(f, req->res.status, f->body.len, 1);
    h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

static int on_body(h2o_http1client_t *client, const char *errstr)
{
    struct fwd *f = client->data;
    if (errstr != NULL && errstr != h2o_http1client_error_is_eos) {
        f->client = NULL;
        h2o_headers_t empty = {NULL, 0, 0};
        f->req->res.headers = empty;
        fwd_fail(f, 502, "Bad Gateway", errstr);
        return -1;
    }
    h2o_buffer_t *in = client->sock->input;
    if (cm_buf_append(&f->body, in->bytes, in->size) != 0) {
        f->client = NULL;
        h2o_headers_t empty = {NULL, 0, 0};
        f->req->res.headers = empty;
        fwd_fail(f, 502, "Bad Gateway", "answer larger than max_response_bytes");
        return -1;
    }
    h2o_buffer_consume(&client->sock->input, in->size);
    if (errstr == h2o_http1client_error_is_eos) {
        f->client = NULL;
        edge__upstream_succeeded(&f->gen->upstreams[f->upstream]);
        send_answer(f);
    }
    return 0;
}

static h2o_http1client_body_cb on_head(h2o_http1client_t *client, const char *errstr, int minor_version, int status,
                                       h2o_iovec_t msg, h2o_header_t *headers, size_t num_headers, int rlen)
{
    (void)minor_version, (void)rlen;
    struct fwd *f = client->data;
    h2o_timeout_unlink(&f->timer);
    if (errstr != NULL && errstr != h2o_http1client_error_is_eos) {
        f->client = NULL; /* the client closes itself when we return */
        retry_or_fail(f, f->idempotent, 502, "Bad Gateway", errstr);
        return NULL;
    }
    h2o_req_t *req = f->req;
    req->res.status = status;
    req->res.reason = h2o_strdup(&req->pool, msg.base, msg.len).base;
    for (size_t i = 0; i < num_headers; i++) {
        const h2o_iovec_t *name = headers[i].name;
        if (is_hop_by_hop(name) || h2o_memis(name->base, name->len, H2O_STRLIT("date")) ||
            (!f->is_head && h2o_memis(name->base, name->len, H2O_STRLIT("content-length"))))
            continue;
        h2o_iovec_t n = h2o_strdup(&req->pool, name->base, name->len);
        h2o_iovec_t v = h2o_strdup(&req->pool, headers[i].value.base, headers[i].value.len);
        h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 1, NULL, v.base, v.len);
    }
    if (errstr == h2o_http1client_error_is_eos) {
        f->client = NULL;
        edge__upstream_succeeded(&f->gen->upstreams[f->upstream]);
        send_answer(f);
        return NULL;
    }
    return on_body;
}

static void on_first_byte_timeout(h2o_timeout_entry_t *entry)
{
    struct fwd *f = H2O_STRUCT_FROM_MEMBER(struct fwd, timer, entry);
    h2o_http1client_cancel(f->client);
    f->client = NULL;
    fwd_fail(f, 504, "Gateway Timeout", "no answer within first_byte timeout");
}

static void on_connect_timeout(h2o_timeout_entry_t *entry)
{
    struct fwd *f = H2O_STRUCT_FROM_MEMBER(struct fwd, timer, entry);
    h2o_http1client_cancel(f->client);
    f->client = NULL;
    edge__upstream_failed(&f->gen->upstreams[f->upstream], "connect timeout");
    retry_or_fail(f, 1, 504, "Gateway Timeout", "connect timeout");
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

static h2o_http1client_head_cb on_connect(h2o_http1client_t *client, const char *errstr, h2o_iovec_t **reqbufs,
                                          size_t *reqbufcnt, int *method_is_head)
{
    struct fwd *f = client->data;
    h2o_timeout_unlink(&f->timer);
    if (errstr != NULL) {
        f->client = NULL;
        const char *why = describe_connect_error(errstr);
        edge__upstream_failed(&f->gen->upstreams[f->upstream], why);
        retry_or_fail(f, 1, 502, "Bad Gateway", why);
        return NULL;
    }
    *reqbufs = f->reqbufs;
    *reqbufcnt = f->num_reqbufs;
    *method_is_head = f->is_head;
    f->timer.cb = on_first_byte_timeout;
    h2o_timeout_link(f->w->ctx.loop, &f->w->first_byte_timeout, &f->timer);
    return on_head;
}

static void start_attempt(struct fwd *f)
{
    edge_upstream_t *u = &f->gen->upstreams[f->upstream];
    /* Host is per upstream (each region's gateway has its own name): rebuild for another upstream; on_req
     * built the first one and checked the size */
    if (f->head_for != u->index)
        build_head(f, u);
    f->tried = 1;
    f->cctx = f->w->client_ctx;
    f->cctx.ssl_ctx = u->ssl_ctx;
    f->t_upstream_ns = cm_mono_ns();
    f->timer.cb = on_connect_timeout;
    h2o_timeout_link(f->w->ctx.loop, &f->w->connect_timeout, &f->timer);
    h2o_http1client_connect_with_pool(&f->client, f, &f->cctx, &u->pool, on_connect);
}

static void fwd_dispose(void *p)
{
    struct fwd *f = p;
    if (f->client != NULL)
        h2o_http1client_cancel(f->client);
    if (h2o_timeout_is_linked(&f->timer))
        h2o_timeout_unlink(&f->timer);
    cm_buf_dispose(&f->body);
    edge__gen_unref(f->gen);
    f->w->inflight--;
}

/* Appends n bytes at *p (the caller sized the buffer). */
static inline void put(char **p, const void *src, size_t n)
{
    memcpy(*p, src, n);
    *p += n;
}

/* A header the upstream request leaves out or writes itself. */
static int dropped_header(h2o_req_t *req, const h2o_iovec_t *n)
{
    return is_hop_by_hop(n) || named_by_connection(req, n) || h2o_memis(n->base, n->len, H2O_STRLIT("host")) ||
           h2o_memis(n->base, n->len, H2O_STRLIT("content-length")) ||
           h2o_memis(n->base, n->len, H2O_STRLIT("x-forwarded-proto")) ||
           h2o_memis(n->base, n->len, H2O_STRLIT("x-forwarded-host"));
}

/* Builds the request head for upstream u into one buffer from the request's pool (sized first, then
 * filled with memcpy: this runs once per request and printf-style formatting showed in profiles).
 * Returns 0, or -1 when the client's headers exceed max_header_bytes. */
static int build_head(struct fwd *f, edge_upstream_t *u)
{
    h2o_req_t *req = f->req;
    size_t max = f->gen->conf.max_header_bytes;
    size_t total = req->path.len;
    for (size_t i = 0; i < req->headers.size; i++)
        total += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    if (total > max)
        return -1;
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
                  sizeof("content-length: \r\n") + length_len + 2;
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
        if (h2o_memis(h->name->base, h->name->len, H2O_STRLIT("x-forwarded-for")) || dropped_header(req, h->name))
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
    put(&p, https ? "\r\nx-forwarded-proto: https\r\n" : "\r\nx-forwarded-proto: http\r\n", https ? 28 : 27);
    put(&p, H2O_STRLIT("x-forwarded-host: "));
    put(&p, req->authority.base, req->authority.len);
    put(&p, "\r\n", 2);
    if (with_length) {
        put(&p, H2O_STRLIT("content-length: "));
        put(&p, length, length_len);
        put(&p, "\r\n", 2);
    }
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
    f->t_start_ns = cm_mono_ns();
    f->is_head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    f->idempotent = f->is_head || h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"));
    cm_buf_init(&f->body, f->gen->conf.max_response_bytes);
    f->upstream = edge__gen_pick(f->gen, 0);
    if (build_head(f, &f->gen->upstreams[f->upstream]) != 0) {
        f->done = 1;
        h2o_send_error_generic(req, 431, "Request Header Fields Too Large", "request header fields too large\n", 0);
        fwd_finish_log(f, 431, 0, 0);
        return 0;
    }
    start_attempt(f);
    return 0;
}

h2o_handler_t *edge__proxy_register(h2o_pathconf_t *pathconf, edge_server_t *srv)
{
    struct edge_proxy_handler *h = (void *)h2o_create_handler(pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->srv = srv;
    return &h->super;
}
