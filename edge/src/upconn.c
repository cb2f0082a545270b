/*
 * Upstream connections kept by each worker: an idle TLS connection stays registered in the worker's
 * loop, reading, so that reuse costs no system call (libh2o 2.2.5's h2o_socketpool removes an idle
 * socket from the loop and re-adds it on reuse: 4 epoll_ctl, 2 fcntl and a peek per request). A close
 * or stray bytes from the upstream while idle close the connection at once, so a taken connection was
 * alive at the last loop iteration.
 *
 * Invariants: w->idle[i] holds connections of w->gen's upstream i only (a new generation closes the
 * old idle ones; a connection of a retired generation is closed instead of kept); each connection holds
 * a reference on its generation until its socket is disposed (TLS close_notify may outlive the request),
 * because the pool, counters and SSL_CTX it uses belong to the generation. New connections come from
 * the upstream's h2o_socketpool (name resolution, connect) but never go back to it.
 * An idle connection is closed after timeouts.idle, as a silently dropped one (a NAT, a firewall) would
 * otherwise cost a request its first-byte timeout, and an upstream closing its end just as a request
 * goes out costs a retry. Everything here runs on the worker's thread.
 */
#include "upconn.h"

#include <stdlib.h>

static void on_sock_close(void *data)
{
    edge_upconn_t *c = data;
    if (c->pool_on_close != NULL)
        c->pool_on_close(c->pool_on_close_data);
    c->w->num_upconns--;
    atomic_fetch_sub_explicit(&c->gen->upstreams[c->upstream].conns, 1, memory_order_relaxed);
    edge__gen_unref(c->gen);
    free(c);
}

static void unlink_idle(edge_upconn_t *c)
{
    if (h2o_linklist_is_linked(&c->idle_link)) {
        h2o_linklist_unlink(&c->idle_link);
        c->w->num_idle[c->upstream]--;
    }
}

void edge__upconn_close(edge_upconn_t *c)
{
    if (c == NULL)
        return;
    unlink_idle(c);
    h2o_socket_close(c->sock); /* frees c (on_sock_close), now or once close_notify is out */
}

/* While idle, any event but an empty read (a TLS 1.3 ticket or other handshake record) ends the
 * connection: the upstream closed it or sent bytes nobody asked for. */
static void on_idle_read(h2o_socket_t *sock, const char *err)
{
    edge_upconn_t *c = sock->data;
    if (err == NULL && sock->input->size == 0)
        return;
    edge__upconn_close(c);
}

edge_upconn_t *edge__upconn_adopt(edge_worker_t *w, edge_gen_t *g, size_t upstream, h2o_socket_t *sock)
{
    edge_upconn_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        h2o_socket_close(sock);
        return NULL;
    }
    c->sock = sock;
    c->w = w;
    c->gen = edge__gen_ref(g);
    c->upstream = upstream;
    c->pool_on_close = sock->on_close.cb;
    c->pool_on_close_data = sock->on_close.data;
    sock->on_close.cb = on_sock_close;
    sock->on_close.data = c;
    w->num_upconns++;
    atomic_fetch_add_explicit(&g->upstreams[upstream].conns, 1, memory_order_relaxed);
    return c;
}

edge_upconn_t *edge__upconn_take(edge_worker_t *w, edge_gen_t *g, size_t upstream)
{
    if (g != w->gen || h2o_linklist_is_empty(&w->idle[upstream]))
        return NULL;
    edge_upconn_t *c = H2O_STRUCT_FROM_MEMBER(edge_upconn_t, idle_link, w->idle[upstream].next);
    unlink_idle(c);
    return c;
}

void edge__upconn_release(edge_upconn_t *c)
{
    edge_worker_t *w = c->w;
    if (atomic_load_explicit(w->shutting_down, memory_order_relaxed) || c->gen != w->gen ||
        w->num_idle[c->upstream] >= c->gen->upstreams[c->upstream].conf->pool_size || c->sock->input->size != 0) {
        edge__upconn_close(c);
        return;
    }
    c->sock->data = c;
    c->idle_since = h2o_now(w->ctx.loop);
    h2o_socket_read_start(c->sock, on_idle_read); /* already reading: only the callback changes */
    /* most recently used first: its TLS state and buffers are the warmest */
    h2o_linklist_insert(w->idle[c->upstream].next, &c->idle_link);
    w->num_idle[c->upstream]++;
}

void edge__upconn_expire(edge_worker_t *w, uint64_t max_idle_ms)
{
    uint64_t now = h2o_now(w->ctx.loop);
    for (size_t i = 0; i < EDGE_MAX_UPSTREAMS; i++) {
        /* most recently used first: the oldest are at the tail */
        while (!h2o_linklist_is_empty(&w->idle[i])) {
            edge_upconn_t *c = H2O_STRUCT_FROM_MEMBER(edge_upconn_t, idle_link, w->idle[i].prev);
            if (now - c->idle_since < max_idle_ms)
                break;
            edge__upconn_close(c);
        }
    }
}

void edge__upconn_close_idle(edge_worker_t *w)
{
    for (size_t i = 0; i < EDGE_MAX_UPSTREAMS; i++) {
        while (!h2o_linklist_is_empty(&w->idle[i]))
            edge__upconn_close(H2O_STRUCT_FROM_MEMBER(edge_upconn_t, idle_link, w->idle[i].next));
    }
}
