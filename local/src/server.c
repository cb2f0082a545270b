/*
 * The serving verbs' common machinery (see server.h): listener, h2o context, TLS accept, the warm pool,
 * signals and shutdown.
 *
 * TLS connections are accepted here rather than by h2o_accept so that shutdown can count the handshakes
 * still under way (connections_left): a record hangs off the socket's on_close slot (unused by h2o's server
 * side) with the handshake's timeout, and once the handshake is done the connection is handed to h2o's
 * HTTP/1 or HTTP/2 by ALPN. The SNI is read from the connection when a request needs it (cm_h2o_sni).
 */
#include "server.h"
#include "h2o/http1.h"
#include "h2o/http2.h"
#include "invoke.h"
#include "local/apigw.h"
#include "common/error.h"
#include "local/report.h"
#include "local/sandbox.h"
#include "common/env.h"
#include "common/h2o_compat.h"
#include "common/http.h"
#include "common/listen.h"
#include "common/log.h"
#include "common/tls.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SHUTDOWN_WAIT_MS 1000
/* malloc_trim once a burst is over: this many requests since the last trim, and none for a second */
#define TRIM_AFTER_REQUESTS 1000

typedef struct handler {
    h2o_handler_t super;
    nl__server_t *srv;
} handler_t;

typedef struct tls_conn {
    nl__server_t *srv;
    h2o_socket_t *sock;
    h2o_timeout_entry_t timeout; /* the handshake's, on ctx.handshake_timeout (10 s, as h2o's own accept) */
    struct timeval connected_at;
} tls_conn_t;

void nl__log(const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    cm_log(stderr, "nearjs-local", "%s", line);
}

static void pool_log(nl_pool_log_kind_t kind, const char *line, size_t len, void *user)
{
    nl__server_t *srv = user;
    if (kind == NL_POOL_LOG_NOTICE) {
        nl__log("%.*s", (int)len, line);
        return;
    }
    if (srv->args->quiet)
        return;
    /* one write per line, so that lines of different runtimes do not interleave */
    char buf[4096];
    if (len < sizeof(buf)) {
        memcpy(buf, line, len);
        buf[len] = '\n';
        fwrite(buf, 1, len + 1, stderr);
    } else {
        fwrite(line, 1, len, stderr);
        fputc('\n', stderr);
    }
}

const char *nl__server_sni(h2o_req_t *req)
{
    h2o_socket_t *sock = cm_conn_socket(req->conn);
    if (sock == NULL || sock->ssl == NULL)
        return NULL;
    const char *sni = cm_h2o_sni(sock);
    return sni != NULL ? sni : "";
}

void nl__server_peer(h2o_req_t *req, char *out, size_t size)
{
    cm_conn_peer(req->conn, out, size);
}

void nl__server_send(h2o_req_t *req, int status, const char *name, const char *value, const char *body)
{
    static h2o_generator_t generator = {NULL, NULL};
    req->res.status = status;
    req->res.reason = cm_http_reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    if (name != NULL)
        h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 1, NULL, value, strlen(value));
    h2o_iovec_t buf = h2o_strdup(&req->pool, body, strlen(body));
    req->res.content_length = buf.len;
    h2o_start_response(req, &generator);
    h2o_send(req, &buf, 1, 1);
}

/* glibc keeps a burst's freed memory (300 MB after one, 9 MB once trimmed): give it back once it is over */
static void on_trim_check(h2o_timeout_entry_t *entry)
{
    nl__server_t *srv = H2O_STRUCT_FROM_MEMBER(nl__server_t, trim, entry);
    if (h2o_now(srv->loop) - srv->last_request_ms < 1000) {
        h2o_timeout_link(srv->loop, &srv->ctx.one_sec_timeout, &srv->trim);
        return;
    }
    if (srv->served_since_trim >= TRIM_AFTER_REQUESTS) {
        srv->served_since_trim = 0;
        malloc_trim(0);
    }
}

static int handle(h2o_handler_t *self, h2o_req_t *req)
{
    handler_t *h = (handler_t *)self;
    nl__server_t *srv = h->srv;
    srv->served_since_trim++;
    srv->last_request_ms = h2o_now(srv->loop);
    if (srv->served_since_trim >= TRIM_AFTER_REQUESTS && !h2o_timeout_is_linked(&srv->trim)) {
        srv->trim.cb = on_trim_check;
        h2o_timeout_link(srv->loop, &srv->ctx.one_sec_timeout, &srv->trim);
    }
    return srv->on_req(srv, req);
}

/* h2o refuses a body over conf.max_request_entity_size itself, before any handler runs (lib/http1.c and
 * lib/http2/connection.c call h2o_send_error_generic), with a text/plain 413. That response has no path
 * of ours yet, so h2o sends it through the filters of the host's fallback path: this filter, registered
 * there alone, swaps the text for the verb's own words. Our handlers' responses never come through it. */
typedef struct too_large_filter {
    h2o_filter_t super;
    nl__server_t *srv;
} too_large_filter_t;

typedef struct too_large_ostream {
    h2o_ostream_t super;
    h2o_iovec_t body;
} too_large_ostream_t;

static void too_large_do_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt,
                              h2o_send_state_t state)
{
    too_large_ostream_t *o = (too_large_ostream_t *)self;
    (void)bufs;
    (void)bufcnt;
    /* h2o's text is dropped; ours goes out with the final call (h2o_send_inline makes just that one) */
    if (state != H2O_SEND_STATE_FINAL || h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD"))) {
        h2o_ostream_send_next(self, req, NULL, 0, state);
        return;
    }
    h2o_ostream_send_next(self, req, &o->body, 1, state);
}

static void too_large_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    too_large_filter_t *f = (too_large_filter_t *)self;
    if (req->res.status == 413 && f->srv->on_too_large != NULL) {
        memset(&req->res.headers, 0, sizeof(req->res.headers));
        h2o_iovec_t body = f->srv->on_too_large(f->srv, req);
        req->res.content_length = body.len;
        too_large_ostream_t *o = (too_large_ostream_t *)h2o_add_ostream(req, sizeof(*o), slot);
        o->super.do_send = too_large_do_send;
        o->body = body;
        slot = &o->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

static void tls_conn_free(void *data)
{
    tls_conn_t *tc = data;
    if (h2o_timeout_is_linked(&tc->timeout)) {
        h2o_timeout_unlink(&tc->timeout);
        tc->srv->handshaking--;
    }
    free(tc);
}

/* A client that opens a connection and never finishes its handshake (sends nothing, or half a ClientHello)
 * would otherwise hold a descriptor for ever: 300 of them exhausted a 256-descriptor limit. */
static void on_handshake_timeout(h2o_timeout_entry_t *entry)
{
    tls_conn_t *tc = H2O_STRUCT_FROM_MEMBER(tls_conn_t, timeout, entry);
    tc->srv->handshaking--;
    h2o_socket_close(tc->sock); /* frees tc through tls_conn_free */
}

static void on_handshake(h2o_socket_t *sock, const char *err)
{
    tls_conn_t *tc = sock->on_close.data;
    sock->data = NULL;
    if (h2o_timeout_is_linked(&tc->timeout)) {
        h2o_timeout_unlink(&tc->timeout);
        tc->srv->handshaking--;
    }
    if (err != NULL) {
        h2o_socket_close(sock);
        return;
    }
    h2o_iovec_t proto = h2o_socket_ssl_get_selected_protocol(sock);
    for (const h2o_iovec_t *id = h2o_http2_alpn_protocols; id->len != 0; ++id) {
        if (proto.len == id->len && memcmp(proto.base, id->base, proto.len) == 0) {
            h2o_http2_accept(&tc->srv->accept, sock, tc->connected_at);
            return;
        }
    }
    h2o_http1_accept(&tc->srv->accept, sock, tc->connected_at);
}

/* Out of descriptors: the acceptor waits 100 ms (as nginx does) instead of spinning; said once a second at
 * most. */
static void on_accept_pause(cm_acceptor_t *a, int err)
{
    nl__server_t *srv = a->data;
    cm_log_limited(&srv->log_accept, stderr, "nearjs-local",
                   "%s: accept() failed: %s; new connections wait 100 ms (raise the descriptor limit: ulimit -n)",
                   srv->args->verb_name, strerror(err));
}

static void on_accept(cm_acceptor_t *a, size_t index, h2o_socket_t *sock)
{
    nl__server_t *srv = a->data;
    (void)index;
    if (srv->ssl == NULL) {
        h2o_accept(&srv->accept, sock);
        return;
    }
    tls_conn_t *tc = calloc(1, sizeof(*tc));
    if (tc == NULL) {
        h2o_socket_close(sock);
        return;
    }
    tc->srv = srv;
    tc->sock = sock;
    tc->connected_at = *h2o_get_timestamp(&srv->ctx, NULL, NULL);
    sock->on_close.cb = tls_conn_free;
    sock->on_close.data = tc;
    tc->timeout.cb = on_handshake_timeout;
    h2o_timeout_link(srv->loop, &srv->ctx.handshake_timeout, &tc->timeout);
    srv->handshaking++;
    h2o_socket_ssl_handshake(sock, srv->ssl, NULL, on_handshake);
}

static void on_signal(nl_signals_t *sig, int signo, void *user)
{
    (void)sig;
    nl__server_t *srv = user;
    if (signo == SIGCHLD) {
        nl_pool_on_sigchld(srv->pool);
        return;
    }
    if (!srv->stop) {
        char buf[32];
        nl__log("%s: stopping", nl_signal_text(signo, buf, sizeof(buf)));
    }
    srv->stop = 1;
}

/* Binds host:port. Returns the listening fd, or -1 after printing why. */
static int listen_on(const nl__serve_args_t *args, unsigned *bound)
{
    int gai = 0;
    int fd = cm_listen(args->host, args->port, 0, SOMAXCONN, &gai);
    if (gai != 0) {
        nl__log("%s: --host '%.64s': %s", args->verb_name, args->host, gai_strerror(gai));
        return -1;
    }
    if (fd < 0) {
        nl__log("%s: cannot listen on %.64s:%u: %s", args->verb_name, args->host, args->port, strerror(errno));
        return -1;
    }
    *bound = cm_listen_port(fd);
    return fd;
}

static int connections_left(nl__server_t *srv)
{
    return srv->handshaking != 0 || !h2o_linklist_is_empty(&srv->ctx.http1._conns) ||
           !h2o_linklist_is_empty(&srv->ctx.http2._conns);
}

int nl__server_run(const nl__serve_args_t *args, nl__server_on_req on_req, nl__server_on_too_large on_too_large,
                   void *verb)
{
    nl__server_t *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return NL_EXIT_INTERNAL;
    int exit_code = NL_EXIT_INTERNAL;
    uint64_t started_ns = cm_mono_ns();
    srv->args = args;
    srv->on_req = on_req;
    srv->on_too_large = on_too_large;
    srv->verb = verb;
    const char *region = cm_env_region();
    if (region == NULL)
        region = "us-east-1";
    srv->pool_cfg = (nl_pool_config_t){.bootstrap = args->bootstrap,
                                       .task_root = args->task_root,
                                       .function_name = args->name,
                                       .handler = args->handler,
                                       .region = region,
                                       .memory_mb = args->memory_mb,
                                       .timeout_s = args->timeout_s,
                                       .user_env = &args->user_env,
                                       .workers = args->workers,
                                       /* Tail needs them; start-api --quiet does without */
                                       .platform_lines = !args->quiet || args->verb == NL__VERB_LAMBDA,
                                       .log = pool_log,
                                       .log_user = srv};
    if (args->cert != NULL) {
        char err[768];
        if (nl__server_tls_ctx(args, &srv->ssl, err, sizeof(err)) != 0) {
            nl__log("%s: %s", args->verb_name, err);
            free(srv);
            return NL_EXIT_USAGE;
        }
    }

    h2o_config_init(&srv->conf);
    srv->conf.max_request_entity_size = NL_APIGW_MAX_REQUEST;
    srv->conf.server_name = h2o_iovec_init(H2O_STRLIT("nearjs-local"));
    h2o_hostconf_t *host = h2o_config_register_host(&srv->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    handler_t *h = (handler_t *)h2o_create_handler(path, sizeof(*h));
    h->super.on_req = handle;
    h->srv = srv;
    too_large_filter_t *tf = (too_large_filter_t *)h2o_create_filter(&host->fallback_path, sizeof(*tf));
    tf->super.on_setup_ostream = too_large_setup;
    tf->srv = srv;
    srv->loop = h2o_evloop_create();
    h2o_context_init(&srv->ctx, srv->loop, &srv->conf);
    srv->accept.ctx = &srv->ctx;
    srv->accept.hosts = srv->conf.hosts;
    srv->accept.ssl_ctx = srv->ssl;

    nl_signals_t *signals = NULL;
    int rc, fd = -1;
    if ((rc = nl_signals_new(srv->loop, on_signal, srv, &signals)) != 0) {
        nl__log("%s: cannot watch signals: %s: %s", args->verb_name, cm_strerror(rc), strerror(errno));
        goto done;
    }
    if ((fd = listen_on(args, &srv->port)) < 0)
        goto done;
    srv->listener = h2o_evloop_socket_create(srv->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    srv->acceptor = (cm_acceptor_t){.listeners = &srv->listener,
                                    .num_listeners = 1,
                                    .pause = &srv->ctx.hundred_ms_timeout,
                                    .on_conn = on_accept,
                                    .on_pause = on_accept_pause,
                                    .data = srv};
    cm_acceptor_start(&srv->acceptor);
    if ((rc = nl_pool_new(srv->loop, &srv->pool_cfg, &srv->pool)) != 0) {
        nl__log("%s: cannot start the runtimes: %s", args->verb_name, cm_strerror(rc));
        exit_code = rc == CM_ESYS ? NL_EXIT_USAGE : NL_EXIT_INTERNAL;
        goto done;
    }
    int ipv6 = strchr(args->host, ':') != NULL;
    char what[256] = "";
    if (args->verb == NL__VERB_API && args->function_url)
        snprintf(what, sizeof(what), " (function URL %s.lambda-url.%s.on.aws, AuthType %s)", args->url_id, region,
                 args->iam_key != NULL ? "AWS_IAM" : "NONE");
    else if (args->verb == NL__VERB_API)
        snprintf(what, sizeof(what), " (payload %s)", args->payload == 1 ? "1.0" : "2.0");
    nl__log("%s: function '%s' (%s, %u worker%s, timeout %.2f s): listening on %s://%s%s%s:%u%s", args->verb_name,
            args->name, args->bootstrap, args->workers, args->workers == 1 ? "" : "s", args->timeout_s,
            srv->ssl != NULL ? "https" : "http", ipv6 ? "[" : "", args->host, ipv6 ? "]" : "", srv->port, what);
    int all_warm = 0;
    while (!srv->stop) {
        h2o_evloop_run(srv->loop, INT32_MAX);
        if (!all_warm && nl_pool_warm(srv->pool) == args->workers) {
            all_warm = 1;
            nl__log("%s: %u worker%s warm %.2f ms after start", args->verb_name, args->workers,
                    args->workers == 1 ? "" : "s", (double)(cm_mono_ns() - started_ns) / 1e6);
        }
    }
    exit_code = NL_EXIT_OK;

done:
    if (h2o_timeout_is_linked(&srv->trim))
        h2o_timeout_unlink(&srv->trim);
    if (srv->listener != NULL) {
        cm_acceptor_stop(&srv->acceptor);
        h2o_socket_close(srv->listener);
    } else if (fd >= 0) {
        close(fd);
    }
    /* let requests in flight finish (their runtimes are still up); idle connections go at once: h2o closes
     * them when their idle timeouts expire, so those timeouts are made to expire now */
    h2o_context_request_shutdown(&srv->ctx);
    srv->ctx.http1.req_timeout.timeout = 0;
    srv->ctx.http2.idle_timeout.timeout = 0;
    srv->ctx.handshake_timeout.timeout = 0;
    uint64_t until = cm_mono_ns() + (uint64_t)SHUTDOWN_WAIT_MS * 1000000;
    while (connections_left(srv) && cm_mono_ns() < until)
        h2o_evloop_run(srv->loop, 10);
    if (connections_left(srv))
        nl__log("%s: connections still open after %d ms: cut", args->verb_name, SHUTDOWN_WAIT_MS);
    if (h2o_timeout_is_linked(&srv->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&srv->ctx.http2._graceful_shutdown_timeout);
    nl_pool_free(srv->pool);
    nl_signals_free(signals);
    h2o_evloop_run(srv->loop, 0);
    cm_h2o_context_dispose(&srv->ctx);
    h2o_evloop_run(srv->loop, 0);
    h2o_config_dispose(&srv->conf);
    cm_h2o_evloop_destroy(srv->loop);
    cm_tls_ctx_free(srv->ssl);
    free(srv);
    return exit_code;
}
