/*
 * nearjs-edge internals shared between its files (edge__ names are private to edge/).
 *
 * Data flow: main.c parses the command line or the YAML file into an edge_config_t
 * (config.c, config_yaml.c); server.c binds the listeners once, then builds a generation
 * (edge_gen_t: the config plus everything made from it: server SSL contexts, upstream client
 * contexts, connection pools, health state) and runs N worker threads, each an h2o event loop.
 * proxy.c forwards each request to the first healthy upstream over a pooled TLS connection with
 * SNI and Host set to the upstream's name; health.c's thread probes upstreams; local.c answers
 * /healthz, /metrics and the plain-HTTP listener; metrics.c and accesslog.c record. SIGHUP builds a
 * new generation and swaps it in; requests keep the generation they started with (refcounted).
 */
#ifndef NEARJS_EDGE_INTERNAL_H
#define NEARJS_EDGE_INTERNAL_H

#include <h2o.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/accept.h"
#include "common/h2o_compat.h"
#include "common/log.h"
#include "common/tls.h"

#define EDGE_MAX_UPSTREAMS 16
#define EDGE_MAX_LISTENERS 16
#define EDGE_MAX_CERTS 32
#define EDGE_MAX_THREADS 256
#define EDGE_ERR_SIZE 640

/* Error codes of edge/: 0 or one of these (negative). */
#define EDGE_EINVAL (-1) /* bad configuration or argument */
#define EDGE_EIO (-2)    /* a file or socket could not be used */
#define EDGE_ENOMEM (-3)
#define EDGE_ETLS (-4) /* a certificate, key or CA file was refused */

/* Returns a static description of an EDGE_E* code. */
const char *edge_strerror(int err);

enum edge_listener_kind { EDGE_LISTEN_TLS, EDGE_LISTEN_PLAIN, EDGE_LISTEN_ADMIN };
enum edge_plain_action { EDGE_PLAIN_DENY, EDGE_PLAIN_REDIRECT };

typedef struct edge_listener_conf {
    char *host; /* numeric address to bind; owned */
    uint16_t port;
    enum edge_listener_kind kind;
    enum edge_plain_action plain_action;
    cm_tls_pair_t certs[EDGE_MAX_CERTS]; /* paths owned (cast away const on free) */
    size_t num_certs;
    int disable_h2;
    uint64_t hsts_max_age; /* > 0: answers carry Strict-Transport-Security: max-age=N (TLS listeners); 0: off */
} edge_listener_conf_t;

typedef struct edge_upstream_conf {
    char *name;         /* SNI and Host; owned */
    uint16_t port;      /* default 443 */
    char *connect_host; /* NULL: connect to name; owned */
    uint16_t connect_port;
    char *ca_file; /* NULL: system store; owned */
    int insecure;
    char *health_path; /* owned; default "/" */
    int health_status; /* expected status, default 200 */
    uint64_t health_interval_ms;
    unsigned rise, fall;
    size_t pool_size; /* idle connections each worker keeps per upstream (upconn.c) */
    size_t max_conns; /* connections (busy or being made) each worker may have to it; more requests wait */
    size_t queue;     /* requests each worker lets wait for one of them; past that: 503 at once */
} edge_upstream_conf_t;

typedef struct edge_config {
    char *path; /* file it came from, or NULL for the one-line mode; owned */
    edge_listener_conf_t listeners[EDGE_MAX_LISTENERS];
    size_t num_listeners;
    edge_upstream_conf_t upstreams[EDGE_MAX_UPSTREAMS];
    size_t num_upstreams;
    unsigned threads; /* 0: one per core */
    char *user;       /* drop privileges to this user after binding; owned, NULL: stay */
    uint64_t connect_timeout_ms, first_byte_timeout_ms, idle_timeout_ms, header_timeout_ms, drain_timeout_ms;
    uint64_t queue_timeout_ms; /* longest wait for an upstream connection under max_conns; then 503 */
    size_t max_header_bytes, max_body_bytes, max_response_bytes;
    char *access_log; /* path, "-" for stdout, NULL for none; owned */
    int access_log_json;
} edge_config_t;

/* Fills c with defaults and no listeners or upstreams. */
void edge_config_init(edge_config_t *c);
/* Frees what c owns; c is then as after edge_config_init. */
void edge_config_dispose(edge_config_t *c);
/* Sets an upstream's defaults (port 443, health GET / expecting 200 every 2 s, rise 2, fall 3). Returns
 * 0 or EDGE_ENOMEM. */
int edge_config_upstream_defaults(edge_upstream_conf_t *u);
/* Parses "https://NAME[:PORT]" into u (name and port only). Returns 0 or EDGE_EINVAL with err set. */
int edge_config_parse_upstream_url(const char *url, edge_upstream_conf_t *u, char *err, size_t errlen);
/* Parses "HOST:PORT" (HOST may be [v6], '*' or empty for any) into a new *host and *port. */
int edge_config_parse_hostport(const char *s, char **host, uint16_t *port, char *err, size_t errlen);
/* Checks cross-field rules (>= 1 listener and upstream, certificates on TLS listeners, files readable).
 * Returns 0 or EDGE_EINVAL with a one-line err. */
int edge_config_check(const edge_config_t *c, char *err, size_t errlen);
/* Loads and validates a YAML file into c (initialized by the caller). Returns 0, or EDGE_EINVAL /
 * EDGE_EIO with err = "FILE:LINE: key 'a.b': value 'v': cause". On failure c holds partial data that
 * edge_config_dispose frees. */
int edge_config_load_yaml(const char *path, edge_config_t *c, char *err, size_t errlen);

/* --- metrics (process-wide, indexed by upstream position; thread-safe) --- */
#define EDGE_LATENCY_BUCKETS 12
typedef struct edge_metrics {
    atomic_ulong requests[EDGE_MAX_UPSTREAMS + 1][6]; /* [upstream or local=last][status class 1xx..5xx, other] */
    atomic_ulong latency[EDGE_MAX_UPSTREAMS][EDGE_LATENCY_BUCKETS + 1];
    atomic_ulong latency_sum_us[EDGE_MAX_UPSTREAMS];
    atomic_ulong latency_count[EDGE_MAX_UPSTREAMS];
    atomic_ulong retries, upstream_errors[EDGE_MAX_UPSTREAMS];
    atomic_ulong upstream_handshakes[EDGE_MAX_UPSTREAMS]; /* TLS handshakes proxy.c made to forward requests */
} edge_metrics_t;

/* --- runtime objects --- */
typedef struct edge_upstream {
    edge_upstream_conf_t *conf; /* borrowed from the generation's config */
    size_t index;
    SSL_CTX *ssl_ctx;
    h2o_socketpool_t pool; /* new connections (and the health checks'), shared by the workers (it locks);
                            * SNI/verify name = conf->name */
    atomic_int healthy;
    atomic_int consecutive_failures;
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
/* Records a connect-phase failure (passive health) or a success. Logs transitions. */
void edge__upstream_failed(edge_upstream_t *u, const char *why);
void edge__upstream_succeeded(edge_upstream_t *u);
/* Sets the health state, logging a transition. */
void edge__upstream_set_health(edge_upstream_t *u, int healthy, const char *why);

/* The server: process-wide state of one nearjs-edge. */
typedef struct edge_worker edge_worker_t;
typedef struct edge_server {
    pthread_mutex_t gen_mutex;
    edge_gen_t *gen; /* current; guarded by gen_mutex */
    /* One listening socket per listener per worker, in one SO_REUSEPORT group: the kernel hands each new
     * connection to one worker, instead of waking every worker on a shared socket for one to win. */
    int listen_fds[EDGE_MAX_LISTENERS][EDGE_MAX_THREADS];
    size_t num_listen_fds; /* listeners bound */
    unsigned fds_per_listener;
    h2o_globalconf_t globalconf;
    h2o_hostconf_t *hostconfs[4]; /* tls, plain deny, plain redirect, admin */
    edge_worker_t *workers;
    unsigned num_workers;
    atomic_int shutting_down;
    atomic_int health_stop;
    pthread_mutex_t park_mutex;
    pthread_cond_t park_cond;
    unsigned parked; /* threads done for good (edge__thread_park); guarded by park_mutex */
    edge_metrics_t metrics;
    cm_ratelimit_t log_accept, log_calm; /* accept failures (server.c), rapid-reset GOAWAYs (proxy.c) */
} edge_server_t;

struct edge_worker {
    edge_server_t *srv;
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
    size_t num_conns; /* client connections open (accepted, not yet closed) */
    int stopped;
    int torn_down; /* 0: connections outlived the teardown bound; the loop was left as it was */
};

/* What a client connection holds (server.c): its worker (for the count the teardown waits on), a reference
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

/* --- upstream connections (upconn.c; worker thread only) --- */
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

/* Access log: one line for a finished request (locally answered ones too). */
typedef struct edge_logline {
    h2o_req_t *req;
    int status;
    size_t bytes;
    const char *upstream; /* NULL or "-" when answered locally */
    uint64_t upstream_us; /* 0 when none */
    uint64_t total_us;
} edge_logline_t;
void edge__access_log(edge_gen_t *g, const edge_logline_t *l);
/* Writes the client's numeric address into buf (INET6_ADDRSTRLEN+), "-" when unknown. */
void edge__client_addr(h2o_req_t *req, char *buf, size_t size);
/* SNI the client sent on this request's connection, or NULL. */
const char *edge__sni(h2o_req_t *req);

/* Metrics. */
void edge__metrics_count(edge_metrics_t *m, size_t upstream_or_local, int status);
void edge__metrics_latency(edge_metrics_t *m, size_t upstream, uint64_t us);
/* Renders the Prometheus text exposition into a new buffer (caller frees). */
char *edge__metrics_render(edge_server_t *srv, edge_gen_t *g, size_t *len);

/* Request checks (reqcheck.c). Returns NULL when req may go upstream, else a static one-line cause for a
 * 400: a method that is no token, a target that is not origin-form, HTTP/1.1 without Host, an empty
 * header name (h2o's form of an obs-fold line), a header name that is no token, CR/LF/NUL in a value. */
const char *edge__request_invalid(const h2o_req_t *req);
/* Non-zero when the client named a host (Host or :authority); h2o otherwise fills in the host config's name. */
int edge__request_has_host(const h2o_req_t *req);
/* Non-zero when s is an origin-form request target: '/' then bytes 0x21-0x7e or >= 0x80. */
int edge__origin_form(const char *s, size_t len);
/* Non-zero when s is a Host a redirect may name: a DNS name or IPv4 address, or [IPv6], with an optional
 * numeric :port; nothing else (no userinfo '@', no '/', no spaces). */
int edge__redirect_host_ok(const char *s, size_t len);

/* Handlers. */
h2o_handler_t *edge__proxy_register(h2o_pathconf_t *pathconf, edge_server_t *srv);
h2o_handler_t *edge__local_register(h2o_pathconf_t *pathconf, edge_server_t *srv, enum edge_listener_kind kind,
                                    enum edge_plain_action action);
/* Answers /healthz; returns 0 when it did, -1 when the path is something else. */
int edge__local_healthz(edge_server_t *srv, edge_worker_t *w, h2o_req_t *req);
/* The worker running on this thread. */
edge_worker_t *edge__worker_of(h2o_context_t *ctx);

/* Ends the calling thread's work for good: counts it as parked for the main thread (wait_parked in
 * server.c) and blocks until the process exits; never returns. Threads are parked, not joined, because
 * libh2o 2.2.5 keeps per-thread free lists (pool chunks, HTTP/2 write buffers) in static thread-locals
 * that no API empties: an ended thread would strand them as leaks, a parked one keeps them reachable. */
__attribute__((noreturn)) void edge__thread_park(edge_server_t *srv);

/* OCSP stapling (ocsp.c). Gives every certificate of g's listener contexts whose AIA names an OCSP
 * responder a staple slot and a status callback (a certificate whose issuer is missing from its file is
 * logged and left without). Call once, before g is shared. Returns 0 or EDGE_ENOMEM. */
int edge__ocsp_setup(edge_gen_t *g, const edge_config_t *conf);
/* Frees g's staple slots (call after its listener contexts are freed or no longer handshaking). */
void edge__ocsp_free(edge_gen_t *g);
/* Starts the thread that fetches and refreshes the current generation's staples; it parks
 * (edge__thread_park) once health_stop is set. Returns 0 or EDGE_ENOMEM. */
int edge__ocsp_start(edge_server_t *srv, pthread_t *tid);

/* Health checker thread. */
int edge__health_start(edge_server_t *srv, pthread_t *tid);

/* Server lifecycle (server.c). Returns a process exit code. */
int edge_server_run(edge_config_t *conf, int (*reload)(edge_config_t *out, char *err, size_t errlen));

#endif
