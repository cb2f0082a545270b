/*
 * The server (server.c): the process-wide state of one nearjs-edge, the handlers it registers and the
 * threads it starts.
 *
 * Data flow: main.c parses the command line or the YAML file into an edge_config_t (config.h); server.c
 * binds the listeners once, then builds a generation (gen.h) and runs N worker threads (worker.h), each an
 * h2o event loop. proxy.c forwards each request to the first healthy upstream over a pooled TLS connection
 * (upconn.h) with SNI and Host set to the upstream's name; health.c's thread probes upstreams; local.c answers
 * /healthz, /metrics and the plain-HTTP listener; metrics.c and accesslog.c record. SIGHUP builds a new
 * generation and swaps it in; requests keep the generation they started with (refcounted).
 */
#ifndef NEARJS_EDGE_SERVER_H
#define NEARJS_EDGE_SERVER_H

#include <h2o.h>
#include <pthread.h>
#include <stdatomic.h>

#include "common/log.h"
#include "config.h"
#include "creds.h"
#include "gen.h"
#include "metrics.h"
#include "thread.h"
#include "worker.h"

/* The server's host configurations, one per kind of listener (server.c). */
enum edge_hostconf_index {
    EDGE_HOST_TLS,
    EDGE_HOST_PLAIN_DENY,
    EDGE_HOST_PLAIN_REDIRECT,
    EDGE_HOST_ADMIN,
    EDGE_NUM_HOSTCONFS
};

typedef struct edge_server {
    pthread_mutex_t gen_mutex;
    edge_gen_t *gen; /* current; guarded by gen_mutex */
    /* One listening socket per listener per worker, in one SO_REUSEPORT group: the kernel hands each new
     * connection to one worker, instead of waking every worker on a shared socket for one to win. */
    int listen_fds[EDGE_MAX_LISTENERS][EDGE_MAX_THREADS];
    size_t num_listen_fds; /* listeners bound */
    unsigned fds_per_listener;
    h2o_globalconf_t globalconf;
    h2o_hostconf_t *hostconfs[EDGE_NUM_HOSTCONFS];
    edge_worker_t *workers;
    unsigned num_workers;
    atomic_int shutting_down;
    atomic_int health_stop;
    edge_park_t park; /* threads done for good (thread.h) */
    edge_metrics_t metrics;
    cm_ratelimit_t log_accept, log_calm; /* accept failures (server.c), rapid-reset GOAWAYs (proxy.c) */
    edge_creds_src_t creds; /* the AWS credentials signing upstreams use (creds.h), kept by creds_thread.c */
} edge_server_t;

/* Handlers. */
h2o_handler_t *edge__proxy_register(h2o_pathconf_t *pathconf, edge_server_t *srv);
h2o_handler_t *edge__local_register(h2o_pathconf_t *pathconf, edge_server_t *srv, enum edge_listener_kind kind,
                                    enum edge_plain_action action);
/* Answers /healthz; returns 0 when it did, -1 when the path is something else. */
int edge__local_healthz(edge_server_t *srv, edge_worker_t *w, h2o_req_t *req);

/* Starts the health checker thread; it parks once health_stop is set. Returns 0 or CM_ENOMEM. */
int edge__health_start(edge_server_t *srv, pthread_t *tid);
/* Starts the thread that fetches and refreshes the current generation's OCSP staples (ocsp.c); it parks once
 * health_stop is set. Returns 0 or CM_ENOMEM. */
int edge__ocsp_start(edge_server_t *srv, pthread_t *tid);

/* Starts the thread that keeps srv->creds current while an upstream of the current generation signs
 * (creds_thread.c); it parks once health_stop is set. Returns 0 or CM_ENOMEM. */
int edge__creds_start(edge_server_t *srv, pthread_t *tid);

/* Runs the server until SIGTERM/SIGINT and its drain (server.c). conf is moved in; reload (may be NULL) loads a
 * new config on SIGHUP. Returns a process exit code. */
int edge_server_run(edge_config_t *conf, int (*reload)(edge_config_t *out, char *err, size_t errlen));

#endif
