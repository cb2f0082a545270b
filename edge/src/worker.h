/*
 * A worker thread's state (server.c runs it): one h2o loop, its idle upstream connections (upconn.c),
 * its waiting requests (proxy.c), and what each client connection holds.
 */
#ifndef NEARJS_EDGE_WORKER_H
#define NEARJS_EDGE_WORKER_H

#include <h2o.h>
#include <pthread.h>
#include <stdatomic.h>

#include "common/accept.h"
#include "gen.h"
#include "sign.h"

struct edge_server;

typedef struct edge_worker edge_worker_t;
struct edge_worker {
    struct edge_server *srv;
    const atomic_int *shutting_down; /* &srv->shutting_down */
    unsigned id;
    pthread_t tid;
    h2o_context_t ctx;
    edge_gen_t *gen; /* this worker's reference, refreshed by its tick */
    h2o_accept_ctx_t accept[EDGE_MAX_LISTENERS];
    h2o_hostconf_t *hosts[EDGE_MAX_LISTENERS][2];
    h2o_socket_t *listeners[EDGE_MAX_LISTENERS];
    h2o_http1client_ctx_t client_ctx;        /* the health checks' */
    h2o_linklist_t idle[EDGE_MAX_UPSTREAMS]; /* idle upstream connections of gen's upstreams (upconn.c) */
    size_t num_idle[EDGE_MAX_UPSTREAMS];
    /* per upstream index: connections in use or being made (the max_conns count), and requests waiting for
     * one (proxy.c), oldest first */
    size_t busy[EDGE_MAX_UPSTREAMS];
    h2o_linklist_t waiting[EDGE_MAX_UPSTREAMS];
    size_t num_waiting[EDGE_MAX_UPSTREAMS];
    uint64_t last_ok_ms[EDGE_MAX_UPSTREAMS]; /* loop time of the last answer or handshake from each upstream */
    size_t num_upconns;                      /* upstream connections whose socket is not yet disposed */
    h2o_timeout_t io_timeout, connect_timeout, first_byte_timeout, tick_timeout, queue_timeout;
    h2o_timeout_entry_t tick;
    cm_acceptor_t acceptor; /* over listeners; pauses on ctx.hundred_ms_timeout when out of fds */
    h2o_multithread_receiver_t getaddr_receiver;
    size_t inflight;
    /* malloc_trim after a burst (server.c): requests since the last trim, loop time of the last request */
    size_t served_since_trim;
    uint64_t last_request_ms;
    size_t num_conns;     /* client connections open (accepted, not yet closed) */
    edge_signer_t signer; /* SigV4 for upstreams with sign: (sign.h) */
    /* warm standby (standby.c): the connection being made to the first failover upstream, or NULL */
    struct edge_standby *standby;
    uint64_t standby_next_ms; /* loop time before which no standby is attempted (after a failure) */
    int stopped;
    int torn_down; /* 0: connections outlived the teardown bound; the loop was left as it was */
};

/* What a client connection holds (conn.c): its worker (for the count the teardown waits on), a reference
 * on the generation it was accepted under (h2o keeps the listener's SSL_CTX as a bare pointer until the
 * ClientHello arrives, so without it a reload could free the context under a connection still waiting to
 * start its handshake), and the HTTP/2 stream accounting of the rapid-reset defence (proxy.c). */
typedef struct edge_conn {
    edge_worker_t *w;
    edge_gen_t *gen;
    uint64_t streams_cancelled; /* requests the client reset (or left) before their answer */
    uint64_t streams_answered;
} edge_conn_t;
/* The edge_conn_t of req's connection, or NULL (not one of ours: never for a proxied request). Borrowed. */
edge_conn_t *edge__conn_of(h2o_req_t *req);
/* Gives sock, just accepted by w, its edge_conn_t (a reference on w's generation; counted in w->num_conns) until
 * it closes (conn.c). Returns 0, or -1 when out of memory (sock untouched: the caller closes it). */
int edge__conn_hold(edge_worker_t *w, h2o_socket_t *sock);

/* The worker running ctx (its loop's thread). */
static inline edge_worker_t *edge__worker_of(h2o_context_t *ctx)
{
    return H2O_STRUCT_FROM_MEMBER(edge_worker_t, ctx, ctx);
}

#endif
