/*
 * Answers given by the edge itself: /healthz on every listener (what Route53 polls), /metrics on the
 * admin listener, and the plain-HTTP listener's deny (403, as the seed's haproxy) or redirect (301 to
 * the same host and path over https).
 */
#include "accesslog.h"
#include "metrics.h"
#include "reqcheck.h"
#include "server.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

struct edge_local_handler {
    h2o_handler_t super;
    edge_server_t *srv;
    enum edge_listener_kind kind;
    enum edge_plain_action action;
};

static void log_local(edge_worker_t *w, h2o_req_t *req, int status, size_t bytes, uint64_t t0)
{
    edge_logline_t l = {.req = req, .status = status, .bytes = bytes, .total_us = (cm_mono_ns() - t0) / 1000};
    edge__metrics_count(&w->srv->metrics, EDGE_MAX_UPSTREAMS, status);
    edge__access_log(w->gen, &l);
}

static void send_text(h2o_req_t *req, int status, const char *reason, const char *ctype, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = reason;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype, strlen(ctype));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_send_inline(req, body, len);
}

int edge__local_healthz(edge_server_t *srv, edge_worker_t *w, h2o_req_t *req)
{
    (void)srv;
    if (!h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/healthz")))
        return -1;
    uint64_t t0 = cm_mono_ns();
    /* draining: tell the health checker to take this instance out before it goes */
    int ok = edge__gen_any_healthy(w->gen) && !atomic_load(&srv->shutting_down);
    if (ok)
        send_text(req, 200, "OK", "text/plain", H2O_STRLIT("ok\n"));
    else
        send_text(req, 503, "Service Unavailable", "text/plain", H2O_STRLIT("no healthy upstream\n"));
    log_local(w, req, ok ? 200 : 503, 3, t0);
    return 0;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct edge_local_handler *h = (struct edge_local_handler *)self;
    edge_worker_t *w = edge__worker_of(req->conn->ctx);
    if (edge__local_healthz(h->srv, w, req) == 0)
        return 0;
    uint64_t t0 = cm_mono_ns();
    if (h->kind == EDGE_LISTEN_ADMIN) {
        if (h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/metrics"))) {
            size_t len = 0;
            char *text = edge__metrics_render(&h->srv->metrics, w->gen, &len);
            if (text == NULL) {
                h2o_send_error_generic(req, 500, "Internal Server Error", "out of memory\n", 0);
                log_local(w, req, 500, 0, t0);
                return 0;
            }
            h2o_iovec_t body = h2o_strdup(&req->pool, text, len);
            free(text);
            send_text(req, 200, "OK", "text/plain; version=0.0.4", body.base, body.len);
            log_local(w, req, 200, len, t0);
            return 0;
        }
        h2o_send_error_generic(req, 404, "Not Found", "not found: try /metrics or /healthz\n", 0);
        log_local(w, req, 404, 0, t0);
        return 0;
    }
    /* plain HTTP listener */
    /* the Location is built from a checked host and an origin-form path only: 'GET @evil.example/x' must not
     * become https://fast.example.com@evil.example/x */
    if (h->action == EDGE_PLAIN_REDIRECT && edge__request_has_host(req) &&
        edge__redirect_host_ok(req->authority.base, req->authority.len) &&
        edge__origin_form(req->path.base, req->path.len)) {
        /* the host without its port: the https listener is on the default port */
        size_t hlen = req->authority.len;
        const char *colon = memchr(req->authority.base, ':', hlen);
        if (colon != NULL && req->authority.base[0] != '[')
            hlen = (size_t)(colon - req->authority.base);
        h2o_iovec_t url = h2o_concat(&req->pool, h2o_iovec_init(H2O_STRLIT("https://")),
                                     h2o_iovec_init(req->authority.base, hlen), req->path);
        h2o_send_redirect(req, 301, "Moved Permanently", url.base, url.len);
        log_local(w, req, 301, 0, t0);
        return 0;
    }
    if (h->action == EDGE_PLAIN_REDIRECT) {
        h2o_send_error_generic(req, 400, "Bad Request", "bad request: no valid Host or request target to redirect\n",
                               0);
        log_local(w, req, 400, 0, t0);
        return 0;
    }
    h2o_send_error_generic(req, 403, "Forbidden", "https only\n", 0);
    log_local(w, req, 403, 0, t0);
    return 0;
}

h2o_handler_t *edge__local_register(h2o_pathconf_t *pathconf, edge_server_t *srv, enum edge_listener_kind kind,
                                    enum edge_plain_action action)
{
    struct edge_local_handler *h = (void *)h2o_create_handler(pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->srv = srv;
    h->kind = kind;
    h->action = action;
    return &h->super;
}
