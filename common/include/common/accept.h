/*
 * The accept loop of an h2o server (local's servers and the edge's workers): a bounded batch of
 * connections per wakeup from each listener, and a pause of 100 ms on every listener when the process runs
 * out of descriptors or kernel memory (the pending connection stays queued and the listener readable, so
 * accepting again at once would spin: 1.2 cores with 42 idle connections under ulimit -n 64; nginx pauses
 * the same way). One cm_acceptor_t per event loop; it is used on that loop's thread only.
 */
#ifndef NEARJS_COMMON_ACCEPT_H
#define NEARJS_COMMON_ACCEPT_H

#include <h2o.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Connections taken per listener per wakeup: a burst is spread over wakeups (and, in the edge, over its
 * workers' SO_REUSEPORT sockets) instead of one loop taking it all before serving anyone. */
#define CM_ACCEPT_BATCH 16

typedef struct cm_acceptor cm_acceptor_t;

/* A new connection on listeners[index]; sock is the callback's (h2o_accept it, or close it). */
typedef void (*cm_acceptor_on_conn)(cm_acceptor_t *a, size_t index, h2o_socket_t *sock);
/* accept() failed with err (EMFILE, ENFILE, ENOBUFS, ENOMEM) and accepting pauses 100 ms: log it (through a
 * cm_ratelimit_t: this fires once per wakeup while the fault lasts). */
typedef void (*cm_acceptor_on_pause)(cm_acceptor_t *a, int err);

struct cm_acceptor {
    /* the caller's, set before cm_acceptor_start and left alone after */
    h2o_socket_t **listeners; /* num_listeners sockets of h2o_evloop_socket_create(..., DONT_READ) */
    size_t num_listeners;
    h2o_timeout_t *pause; /* a 100 ms timeout of the listeners' loop (ctx.hundred_ms_timeout); NULL: never pause */
    cm_acceptor_on_conn on_conn;
    cm_acceptor_on_pause on_pause; /* NULL: pause silently */
    void *data;
    /* private */
    h2o_timeout_entry_t resume;
    int stopped;
};

/* Starts reading every listener (each listener's data becomes a; the caller keeps its own state in
 * a->data). */
void cm_acceptor_start(cm_acceptor_t *a);
/* Stops for good: no listener is read again and a pending resume is cancelled. The caller then closes the
 * listeners. Idempotent. */
void cm_acceptor_stop(cm_acceptor_t *a);

/* The socket under an h2o connection, or NULL (a connection without one). */
static inline h2o_socket_t *cm_conn_socket(h2o_conn_t *conn)
{
    return conn->callbacks->get_socket != NULL ? conn->callbacks->get_socket(conn) : NULL;
}

/* Writes the numeric address of conn's peer ("192.0.2.1", "2001:db8::1") into buf (size bytes; 46 hold any).
 * Returns 0, or -1 with buf "" when the peer is unknown or no IPv4/IPv6 address. inet_ntop, not getnameinfo
 * (h2o_socket_getnumerichost): this runs per request (X-Forwarded-For, access logs), and getnameinfo's
 * generality showed at ~2% of a keep-alive request's CPU in the edge. */
int cm_conn_peer(h2o_conn_t *conn, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
