/*
 * Each worker's warm standby (standby.h). The connection is made as proxy.c makes one for a request (the
 * upstream's h2o_socketpool for resolution and connect, then the TLS handshake with SNI and the certificate
 * check on the upstream's name) and then handed to upconn.c as an idle connection, where it waits, reading,
 * like any kept connection: a request failing over takes it with edge__upconn_take and pays no handshake.
 * When it closes (the upstream's keep-alive timeout, timeouts.idle, a generation change) or is taken, the
 * next tick opens another. Its handshakes count in nearjs_edge_upstream_standby_handshakes_total, not in
 * nearjs_edge_upstream_handshakes_total (which counts handshakes a request waited for).
 * Invariant: at most one standby connection is being made per worker (w->standby); it holds a reference on
 * its generation until it is idle (then upconn.c's connection holds one) or abandoned.
 */
#include "standby.h"
#include "server.h"
#include "upconn.h"

#include <stdlib.h>

#define STANDBY_RETRY_MS 1000

struct edge_standby {
    edge_worker_t *w;
    edge_gen_t *gen;
    size_t upstream;
    h2o_socketpool_connect_request_t *connect_req; /* while connecting */
    edge_upconn_t *conn;                           /* while handshaking */
    h2o_timeout_entry_t timer;                     /* the connect timeout, over both */
};

static void finish(struct edge_standby *st, int failed)
{
    edge_worker_t *w = st->w;
    if (h2o_timeout_is_linked(&st->timer))
        h2o_timeout_unlink(&st->timer);
    if (failed)
        w->standby_next_ms = h2o_now(w->ctx.loop) + STANDBY_RETRY_MS;
    w->standby = NULL;
    edge__gen_unref(st->gen);
    free(st);
}

static void on_handshake(h2o_socket_t *sock, const char *err)
{
    struct edge_standby *st = sock->data;
    edge_upstream_t *u = &st->gen->upstreams[st->upstream];
    edge_upconn_t *c = st->conn;
    st->conn = NULL;
    /* with verification off ('insecure'), h2o still reports a name mismatch: ignore it as proxy.c does */
    if (err != NULL && !(err == h2o_socket_error_ssl_cert_name_mismatch &&
                         (SSL_CTX_get_verify_mode(u->ssl_ctx) & SSL_VERIFY_PEER) == 0)) {
        edge__upconn_close(c);
        finish(st, 1);
        return;
    }
    atomic_fetch_add_explicit(&st->w->srv->metrics.standby_handshakes[st->upstream], 1, memory_order_relaxed);
    edge__upconn_release(c); /* idle from here on: closed instead when the generation changed meanwhile */
    finish(st, 0);
}

static void on_connect(h2o_socket_t *sock, const char *errstr, void *data)
{
    struct edge_standby *st = data;
    st->connect_req = NULL;
    if (errstr != NULL) {
        finish(st, 1);
        return;
    }
    edge_upconn_t *c = edge__upconn_adopt(st->w, st->gen, st->upstream, sock);
    if (c == NULL) {
        finish(st, 1);
        return;
    }
    if (sock->ssl != NULL) { /* a health check's kept connection: TLS is up */
        edge__upconn_release(c);
        finish(st, 0);
        return;
    }
    edge_upstream_t *u = &st->gen->upstreams[st->upstream];
    st->conn = c;
    sock->data = st;
    h2o_socket_ssl_handshake(sock, u->ssl_ctx, u->conf->name, on_handshake);
}

static void abandon(struct edge_standby *st)
{
    if (st->connect_req != NULL) {
        h2o_socketpool_cancel_connect(st->connect_req);
        st->connect_req = NULL;
    }
    if (st->conn != NULL) {
        edge__upconn_close(st->conn);
        st->conn = NULL;
    }
}

static void on_timeout(h2o_timeout_entry_t *entry)
{
    struct edge_standby *st = H2O_STRUCT_FROM_MEMBER(struct edge_standby, timer, entry);
    abandon(st);
    finish(st, 1);
}

void edge__standby_cancel(edge_worker_t *w)
{
    struct edge_standby *st = w->standby;
    if (st == NULL)
        return;
    abandon(st);
    finish(st, 0);
}

void edge__standby_tick(edge_worker_t *w)
{
    edge_gen_t *g = w->gen;
    if (w->standby != NULL || g->num_upstreams < 2 || atomic_load_explicit(w->shutting_down, memory_order_relaxed) ||
        h2o_now(w->ctx.loop) < w->standby_next_ms)
        return;
    size_t primary = edge__gen_pick(g, 0);
    size_t s = edge__gen_pick(g, primary + 1);
    /* no other healthy upstream: nothing to stand by for (and no dead one to knock on every tick) */
    if (s == primary || !atomic_load_explicit(&g->upstreams[s].healthy, memory_order_relaxed))
        return;
    if (w->num_idle[s] != 0)
        return;
    struct edge_standby *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return;
    st->w = w;
    st->gen = edge__gen_ref(g);
    st->upstream = s;
    st->timer.cb = on_timeout;
    w->standby = st;
    h2o_timeout_link(w->ctx.loop, &w->connect_timeout, &st->timer);
    h2o_socketpool_connect(&st->connect_req, &g->upstreams[s].pool, w->ctx.loop, &w->getaddr_receiver, on_connect, st);
}
