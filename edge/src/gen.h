/*
 * A generation (gen.c): the config plus everything made from it (listener SSL contexts, upstream client
 * contexts, connection pools, health state), refcounted so that SIGHUP swaps it under running requests.
 * Also the OCSP staple slots a generation carries (ocsp.c).
 */
#ifndef NEARJS_EDGE_GEN_H
#define NEARJS_EDGE_GEN_H

#include <h2o.h>
#include <stdatomic.h>

#include "common/log.h"
#include "common/tls.h"
#include "config.h"

typedef struct edge_upstream {
    edge_upstream_conf_t *conf; /* borrowed from the generation's config */
    size_t index;
    SSL_CTX *ssl_ctx;
    h2o_socketpool_t pool; /* new connections (and the health checks'), shared by the workers (it locks);
                            * SNI/verify name = conf->name */
    atomic_int healthy;
    /* the workers' connections (upconn.c), the pool-size gauge: 2.2.5's pool count is no gauge, it
     * never takes back a pooled connection found dead at reuse (each health check leaves one) */
    atomic_size_t conns;
    /* per-request failure lines (proxy.c): one a second each, with a count of the ones left out, so a
     * failure that repeats per request (a full descriptor table, a dead gateway under load) cannot fill a disk */
    cm_ratelimit_t log_retry, log_fail;
    char label[300]; /* "name" or "name via host:port", for logs */
    /* touched by the health thread only */
    unsigned hc_ok, hc_fail;
    uint64_t hc_next_ms;
    int hc_inflight;
} edge_upstream_t;

/* One listener certificate's OCSP staple (ocsp.c). */
typedef struct edge_staple edge_staple_t;

typedef struct edge_gen {
    atomic_int refs;
    edge_config_t conf;
    SSL_CTX *listener_ssl[EDGE_MAX_LISTENERS]; /* NULL for plain/admin */
    cm_tls_tickets_t *tickets;                 /* shared with the previous and next generations */
    edge_upstream_t upstreams[EDGE_MAX_UPSTREAMS];
    size_t num_upstreams;
    /* A loop that never runs, only for the pools' clock: 2.2's pools need set_timeout() before use,
     * and a loop of a running thread would tie pool disposal to that thread. Its clock stands still,
     * so no idle connection expires by time; dead ones are found at reuse (the pool peeks). */
    h2o_loop_t *pool_loop;
    FILE *access_log; /* NULL: none */
    int access_log_owned;
    edge_staple_t *staples; /* certificates with an OCSP responder (ocsp.c) */
    size_t num_staples;
} edge_gen_t;

/* Builds a generation from conf (moved in: conf is left initialized-empty on success). Returns 0 and a
 * new generation with one reference, or an EDGE_E* with err set and conf untouched. prev (may be
 * NULL) lends its upstreams' health state to same-named upstreams. */
int edge__gen_new(edge_config_t *conf, const edge_gen_t *prev, edge_gen_t **out, char *err, size_t errlen);
/* Adds / drops a reference; the last drop frees. Thread-safe. */
edge_gen_t *edge__gen_ref(edge_gen_t *g);
void edge__gen_unref(edge_gen_t *g);
/* Index of the first healthy upstream at or after start (wrapping), or start when none is healthy. */
size_t edge__gen_pick(edge_gen_t *g, size_t start);
/* Non-zero when at least one upstream is healthy. */
int edge__gen_any_healthy(edge_gen_t *g);
/* Records a connect-phase failure (passive health: the upstream is marked down at once). Logs transitions. */
void edge__upstream_failed(edge_upstream_t *u, const char *why);
/* Sets the health state, logging a transition. */
void edge__upstream_set_health(edge_upstream_t *u, int healthy, const char *why);

/* OCSP stapling (ocsp.c). Gives every certificate of g's listener contexts whose AIA names an OCSP
 * responder a staple slot and a status callback (a certificate whose issuer is missing from its file is
 * logged and left without). Call once, before g is shared. Returns 0 or CM_ENOMEM. */
int edge__ocsp_setup(edge_gen_t *g, const edge_config_t *conf);
/* Frees g's staple slots (call after its listener contexts are freed or no longer handshaking). */
void edge__ocsp_free(edge_gen_t *g);

#endif
