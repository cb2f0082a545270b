/*
 * Each worker's upstream connections (upconn.c; worker thread only).
 */
#ifndef NEARJS_EDGE_UPCONN_H
#define NEARJS_EDGE_UPCONN_H

#include <h2o.h>

#include "gen.h"
#include "worker.h"

typedef struct edge_upconn {
    h2o_socket_t *sock;
    edge_worker_t *w;
    edge_gen_t *gen; /* reference, dropped when the socket is disposed */
    size_t upstream;
    h2o_linklist_t idle_link; /* in w->idle[upstream] while idle */
    uint64_t idle_since;      /* loop time (ms) it went idle */
    void (*pool_on_close)(void *data);
    void *pool_on_close_data;
} edge_upconn_t;

/* Wraps a connected socket from upstream `upstream`'s pool of generation g (TLS done or not). Returns a new
 * connection owning sock, or NULL (sock closed) when out of memory. The caller sets sock->data. */
edge_upconn_t *edge__upconn_adopt(edge_worker_t *w, edge_gen_t *g, size_t upstream, h2o_socket_t *sock);
/* Takes the most recently used idle connection to g's upstream, or returns NULL (none, or g is not the
 * worker's generation). The connection is still reading: the caller sets sock->data and the read callback. */
edge_upconn_t *edge__upconn_take(edge_worker_t *w, edge_gen_t *g, size_t upstream);
/* Gives a connection back after a complete exchange (no unread byte): kept idle, or closed when its
 * generation is retired, the server is stopping or pool_size are idle already. */
void edge__upconn_release(edge_upconn_t *c);
/* Closes a connection (NULL: no-op); it is freed once its socket is disposed. */
void edge__upconn_close(edge_upconn_t *c);
/* Closes w's connections idle for max_idle_ms or longer (called every tick). */
void edge__upconn_expire(edge_worker_t *w, uint64_t max_idle_ms);
/* Closes every idle connection of w (on a generation change and at shutdown). */
void edge__upconn_close_idle(edge_worker_t *w);

#endif
