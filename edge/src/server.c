/*
 * The server: binds the listeners once (before dropping privileges), builds the first generation, runs
 * the worker threads (one h2o event loop each, accepting on its own socket of each listener's
 * SO_REUSEPORT group) and the health thread, and turns signals into actions on the main thread: SIGHUP
 * builds a new generation and swaps it in (a broken config is refused and the old one keeps serving),
 * SIGTERM and SIGINT drain (stop accepting, /healthz says 503, in-flight requests finish), then
 * everything is torn down (connections, contexts, loops, pools, SSL contexts) and edge_server_run
 * returns, so that a sanitizer build checks the exit for leaks.
 * Each worker polls the current generation every tick (100 ms) and keeps one reference on it.
 */
#include "server.h"
#include "standby.h"
#include "upconn.h"
#include "common/h2o_compat.h"
#include "common/listen.h"
#include "common/log.h"

#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TICK_MS 100
#define TEARDOWN_MS 2000
/* malloc_trim once a burst is over: this many requests since the last trim, and none for a second */
#define TRIM_AFTER_REQUESTS 1000
#define TRIM_QUIET_MS 1000

static int timeouts_busy(h2o_timeout_t **all, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!h2o_linklist_is_empty(&all[i]->_entries))
            return 1;
    }
    return 0;
}

/* Binds n sockets (one per worker) on l's address. A plain bind goes first and is let go at once: a second
 * nearjs-edge (or anything else) on the address must get "Address already in use", not quietly join the
 * group and take half the connections. Returns 0, or EDGE_E* with err set and nothing left open. */
static int bind_listener(const edge_listener_conf_t *l, int *fds, unsigned n, char *err, size_t errlen)
{
    int gai = 0;
    unsigned bound = 0;
    int probe = cm_listen(l->host, l->port, CM_LISTEN_NUMERIC | CM_LISTEN_BIND_ONLY, 0, &gai);
    if (probe >= 0) {
        close(probe);
        for (; bound < n; bound++) {
            if ((fds[bound] = cm_listen(l->host, l->port, CM_LISTEN_NUMERIC | CM_LISTEN_REUSEPORT, 1024, &gai)) < 0)
                break;
        }
    }
    if (gai != 0) {
        snprintf(err, errlen, "listener %s:%u: address must be numeric: %s", l->host, l->port, gai_strerror(gai));
        return CM_EINVAL;
    }
    if (bound < n) {
        snprintf(err, errlen, "listener %s:%u: cannot listen: %s", l->host, l->port, strerror(errno));
        while (bound > 0)
            close(fds[--bound]);
        return CM_EIO;
    }
    return 0;
}

/* The host configuration of each kind of listener, by enum edge_hostconf_index. */
static const struct {
    const char *name;
    enum edge_listener_kind kind;
    enum edge_plain_action action; /* plain listeners */
} hostconf_kinds[EDGE_NUM_HOSTCONFS] = {
    [EDGE_HOST_TLS] = {"edge-tls", EDGE_LISTEN_TLS, EDGE_PLAIN_DENY},
    [EDGE_HOST_PLAIN_DENY] = {"edge-plain-deny", EDGE_LISTEN_PLAIN, EDGE_PLAIN_DENY},
    [EDGE_HOST_PLAIN_REDIRECT] = {"edge-plain-redirect", EDGE_LISTEN_PLAIN, EDGE_PLAIN_REDIRECT},
    [EDGE_HOST_ADMIN] = {"edge-admin", EDGE_LISTEN_ADMIN, EDGE_PLAIN_DENY},
};

static enum edge_hostconf_index hostconf_index(const edge_listener_conf_t *l)
{
    switch (l->kind) {
    case EDGE_LISTEN_TLS:
        return EDGE_HOST_TLS;
    case EDGE_LISTEN_ADMIN:
        return EDGE_HOST_ADMIN;
    case EDGE_LISTEN_PLAIN:
        break;
    }
    return l->plain_action == EDGE_PLAIN_REDIRECT ? EDGE_HOST_PLAIN_REDIRECT : EDGE_HOST_PLAIN_DENY;
}

/* Out of descriptors (or kernel memory): the worker's acceptor stops accepting on all its listeners for
 * 100 ms; said once a second at most. */
static void on_accept_pause(cm_acceptor_t *a, int err)
{
    edge_worker_t *w = a->data;
    cm_log_limited(&w->srv->log_accept, stderr, "nearjs-edge",
                   "worker %u: accept() failed: %s; new connections wait 100 ms (raise the descriptor limit: "
                   "LimitNOFILE= in the unit, ulimit -n)",
                   w->id, strerror(err));
}

static void on_accept(cm_acceptor_t *a, size_t index, h2o_socket_t *sock)
{
    edge_worker_t *w = a->data;
    if (edge__conn_hold(w, sock) != 0) {
        h2o_socket_close(sock);
        return;
    }
    h2o_accept(&w->accept[index], sock);
}

static void worker_refresh(edge_worker_t *w)
{
    edge_server_t *srv = w->srv;
    pthread_mutex_lock(&srv->gen_mutex);
    if (w->gen != srv->gen) {
        /* idle upstream connections belong to the retired generation: requests of the new one use its
         * pools and contexts */
        edge__standby_cancel(w);
        edge__upconn_close_idle(w);
        edge__gen_unref(w->gen);
        w->gen = edge__gen_ref(srv->gen);
        for (size_t i = 0; i < srv->num_listen_fds; i++)
            w->accept[i].ssl_ctx = w->gen->listener_ssl[i];
    }
    pthread_mutex_unlock(&srv->gen_mutex);
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    edge_worker_t *w = H2O_STRUCT_FROM_MEMBER(edge_worker_t, tick, entry);
    worker_refresh(w);
    edge__upconn_expire(w, w->gen->conf.idle_timeout_ms);
    edge__standby_tick(w);
    /* glibc keeps a burst's freed memory (the edge stayed at 366-428 MB after one, 14 MB once trimmed): give
     * it back once the burst is over, at most once per 1000 requests, never mid-burst */
    if (w->served_since_trim >= TRIM_AFTER_REQUESTS && w->inflight == 0 &&
        h2o_now(w->ctx.loop) - w->last_request_ms >= TRIM_QUIET_MS) {
        w->served_since_trim = 0;
        malloc_trim(0);
    }
    if (atomic_load(&w->srv->shutting_down) && !w->stopped) {
        w->stopped = 1;
        cm_acceptor_stop(&w->acceptor);
        for (size_t i = 0; i < w->srv->num_listen_fds; i++) {
            if (w->listeners[i] != NULL) {
                h2o_socket_close(w->listeners[i]);
                w->listeners[i] = NULL;
            }
        }
        h2o_context_request_shutdown(&w->ctx);
        edge__standby_cancel(w);
        edge__upconn_close_idle(w);
    }
    h2o_timeout_link(w->ctx.loop, &w->tick_timeout, &w->tick);
}

/* Ends a worker after its drain: every timer left expires at once, so that idle keep-alive connections,
 * unfinished handshakes and (past the drain deadline) requests still waiting on an upstream end through
 * their own code paths (a 502/504, a GOAWAY, a close), and the loop runs until the last connection is
 * gone (bounded). Then the context, the timeouts and the loop are disposed. A connection that will not
 * close in time (a client that stopped reading) leaves the loop allocated: torn_down stays 0 and the
 * process exits without disposing what the loop references. */
static void worker_teardown(edge_worker_t *w, h2o_loop_t *loop)
{
    h2o_timeout_t *all[] = {&w->ctx.zero_timeout,
                            &w->ctx.one_sec_timeout,
                            &w->ctx.hundred_ms_timeout,
                            &w->ctx.handshake_timeout,
                            &w->ctx.http1.req_timeout,
                            &w->ctx.http2.idle_timeout,
                            &w->ctx.http2.graceful_shutdown_timeout,
                            &w->ctx.proxy.io_timeout,
                            &w->io_timeout,
                            &w->connect_timeout,
                            &w->first_byte_timeout,
                            &w->queue_timeout};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        all[i]->timeout = 0;
    if (h2o_timeout_is_linked(&w->tick))
        h2o_timeout_unlink(&w->tick);
    edge__standby_cancel(w);
    edge__upconn_close_idle(w);
    uint64_t until = h2o_now(loop) + TEARDOWN_MS;
    while ((w->num_conns != 0 || w->inflight != 0 || w->num_upconns != 0 ||
            timeouts_busy(all, sizeof(all) / sizeof(all[0]))) &&
           h2o_now(loop) < until)
        h2o_evloop_run(loop, 10);
    if (w->num_conns != 0 || w->inflight != 0 || w->num_upconns != 0 ||
        timeouts_busy(all, sizeof(all) / sizeof(all[0]))) {
        cm_log(stderr, "nearjs-edge", "worker %u: %zu connection(s) still open after %d ms; leaving them to exit",
               w->id, w->num_conns, TEARDOWN_MS);
        return;
    }
    /* a cancelled lookup (the standby's, a request's connect) may still be answered into getaddr_receiver */
    if (cm_h2o_hostinfo_drain(loop, &w->getaddr_receiver, TEARDOWN_MS) != 0) {
        cm_log(stderr, "nearjs-edge", "worker %u: a name lookup still running after %d ms; leaving it to exit", w->id,
               TEARDOWN_MS);
        return;
    }
    h2o_timeout_dispose(loop, &w->io_timeout);
    h2o_timeout_dispose(loop, &w->connect_timeout);
    h2o_timeout_dispose(loop, &w->first_byte_timeout);
    h2o_timeout_dispose(loop, &w->tick_timeout);
    h2o_timeout_dispose(loop, &w->queue_timeout);
    h2o_multithread_unregister_receiver(w->ctx.queue, &w->getaddr_receiver);
    cm_h2o_context_dispose(&w->ctx);
    cm_h2o_evloop_destroy(loop);
    edge__signer_dispose(&w->signer);
    edge__gen_unref(w->gen);
    w->gen = NULL;
    w->torn_down = 1;
}

static void *worker_main(void *arg)
{
    edge_worker_t *w = arg;
    edge_server_t *srv = w->srv;
    h2o_loop_t *loop = h2o_evloop_create();
    h2o_context_init(&w->ctx, loop, &srv->globalconf);
    h2o_multithread_register_receiver(w->ctx.queue, &w->getaddr_receiver, h2o_hostinfo_getaddr_receiver);
    const edge_config_t *c = &w->gen->conf;
    h2o_timeout_init(loop, &w->connect_timeout, c->connect_timeout_ms);
    h2o_timeout_init(loop, &w->first_byte_timeout, c->first_byte_timeout_ms);
    /* the client's own I/O timeout only backs up ours (connect, first byte) and bounds body stalls */
    h2o_timeout_init(loop, &w->io_timeout, c->first_byte_timeout_ms + c->connect_timeout_ms);
    h2o_timeout_init(loop, &w->tick_timeout, TICK_MS);
    h2o_timeout_init(loop, &w->queue_timeout, c->queue_timeout_ms);
    for (size_t i = 0; i < EDGE_MAX_UPSTREAMS; i++) {
        h2o_linklist_init_anchor(&w->idle[i]);
        h2o_linklist_init_anchor(&w->waiting[i]);
    }
    edge__signer_init(&w->signer);
    w->client_ctx = (h2o_http1client_ctx_t){loop, &w->getaddr_receiver, &w->io_timeout, NULL, NULL};
    for (size_t i = 0; i < srv->num_listen_fds; i++) {
        const edge_listener_conf_t *l = &c->listeners[i];
        w->hosts[i][0] = srv->hostconfs[hostconf_index(l)];
        w->hosts[i][1] = NULL;
        w->accept[i] = (h2o_accept_ctx_t){.ctx = &w->ctx, .hosts = w->hosts[i], .ssl_ctx = w->gen->listener_ssl[i]};
        int fd = dup(srv->listen_fds[i][w->id]);
        w->listeners[i] = h2o_evloop_socket_create(loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    }
    w->acceptor = (cm_acceptor_t){.listeners = w->listeners,
                                  .num_listeners = srv->num_listen_fds,
                                  .pause = &w->ctx.hundred_ms_timeout,
                                  .on_conn = on_accept,
                                  .on_pause = on_accept_pause,
                                  .data = w};
    cm_acceptor_start(&w->acceptor);
    w->tick.cb = on_tick;
    h2o_timeout_link(loop, &w->tick_timeout, &w->tick);

    uint64_t drain_deadline = 0;
    for (;;) {
        h2o_evloop_run(loop, TICK_MS);
        if (w->stopped) {
            uint64_t now = h2o_now(loop);
            if (drain_deadline == 0)
                drain_deadline = now + w->gen->conf.drain_timeout_ms;
            if (w->inflight == 0 || now >= drain_deadline)
                break;
        }
    }
    worker_teardown(w, loop);
    edge__thread_park(&w->srv->park);
    return NULL;
}

static int setup_globalconf(edge_server_t *srv, const edge_config_t *c)
{
    h2o_config_init(&srv->globalconf);
    srv->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("nearjs-edge"));
    srv->globalconf.max_request_entity_size = c->max_body_bytes;
    /* h2o's HTTP/1 request timeout bounds both a request's headers (slowloris) and keep-alive idle */
    srv->globalconf.http1.req_timeout = c->header_timeout_ms;
    srv->globalconf.http2.idle_timeout = c->idle_timeout_ms;
    srv->globalconf.handshake_timeout = c->header_timeout_ms;
    for (int i = 0; i < EDGE_NUM_HOSTCONFS; i++) {
        const char *name = hostconf_kinds[i].name;
        srv->hostconfs[i] = h2o_config_register_host(&srv->globalconf, h2o_iovec_init(name, strlen(name)), 65535);
        h2o_pathconf_t *pc = h2o_config_register_path(srv->hostconfs[i], "/", 0);
        if (hostconf_kinds[i].kind == EDGE_LISTEN_TLS)
            edge__proxy_register(pc, srv);
        else
            edge__local_register(pc, srv, hostconf_kinds[i].kind, hostconf_kinds[i].action);
    }
    return 0;
}

static int drop_privileges(const char *user)
{
    if (user == NULL || geteuid() != 0)
        return 0;
    struct passwd *pw = getpwnam(user);
    if (pw == NULL) {
        cm_log(stderr, "nearjs-edge", "user '%.64s' not found; not starting as root", user);
        return -1;
    }
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        cm_log(stderr, "nearjs-edge", "cannot drop privileges to '%.64s': %s", user, strerror(errno));
        return -1;
    }
    return 0;
}

/* Refuses a new config whose listeners differ from the bound ones (they are bound once). */
static int same_listeners(const edge_config_t *a, const edge_config_t *b, char *err, size_t errlen)
{
    if (a->num_listeners != b->num_listeners) {
        snprintf(err, errlen, "the listeners changed (count); restart to apply");
        return 0;
    }
    for (size_t i = 0; i < a->num_listeners; i++) {
        const edge_listener_conf_t *x = &a->listeners[i], *y = &b->listeners[i];
        if (x->port != y->port || strcmp(x->host, y->host) != 0 || x->kind != y->kind ||
            x->plain_action != y->plain_action) {
            snprintf(err, errlen, "listener %s:%u changed; restart to apply", y->host, y->port);
            return 0;
        }
    }
    return 1;
}

static void reload(edge_server_t *srv, int (*load)(edge_config_t *, char *, size_t))
{
    char err[EDGE_ERR_SIZE];
    edge_config_t conf;
    edge_config_init(&conf);
    edge_gen_t *g = NULL;
    if (load(&conf, err, sizeof(err)) != 0 || !same_listeners(&srv->gen->conf, &conf, err, sizeof(err)) ||
        edge__gen_new(&conf, srv->gen, &g, err, sizeof(err)) != 0) {
        cm_log(stderr, "nearjs-edge", "reload refused, still serving the previous configuration: %s", err);
        edge_config_dispose(&conf);
        return;
    }
    pthread_mutex_lock(&srv->gen_mutex);
    edge_gen_t *old = srv->gen;
    srv->gen = g;
    pthread_mutex_unlock(&srv->gen_mutex);
    edge__gen_unref(old);
    cm_log(stderr, "nearjs-edge", "reloaded: %zu upstream(s), certificates re-read", g->num_upstreams);
}

int edge_server_run(edge_config_t *conf, int (*load)(edge_config_t *out, char *err, size_t errlen))
{
    char err[EDGE_ERR_SIZE];
    edge_server_t *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return 1;
    pthread_mutex_init(&srv->gen_mutex, NULL);
    edge__park_init(&srv->park);
    edge__creds_src_init(&srv->creds);
    int rc = 1;
    unsigned threads = conf->threads != 0 ? conf->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads == 0)
        threads = 1;
    if (threads > EDGE_MAX_THREADS)
        threads = EDGE_MAX_THREADS;
    srv->fds_per_listener = threads;
    for (size_t i = 0; i < conf->num_listeners; i++) {
        if (bind_listener(&conf->listeners[i], srv->listen_fds[i], threads, err, sizeof(err)) != 0) {
            cm_log(stderr, "nearjs-edge", "%s", err);
            goto out_fds;
        }
        srv->num_listen_fds = i + 1;
    }
    setup_globalconf(srv, conf);
    if (edge__gen_new(conf, NULL, &srv->gen, err, sizeof(err)) != 0) {
        cm_log(stderr, "nearjs-edge", "%s", err);
        goto out_conf;
    }
    if (drop_privileges(srv->gen->conf.user) != 0)
        goto out_gen;

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_t health_tid;
    if (edge__health_start(srv, &health_tid) != 0)
        goto out_gen;
    pthread_t ocsp_tid;
    if (edge__ocsp_start(srv, &ocsp_tid) != 0) {
        /* the health thread is running: stop it as the normal exit does */
        atomic_store(&srv->health_stop, 1);
        edge__park_wait(&srv->park, 1);
        goto out_gen;
    }
    pthread_t creds_tid;
    if (edge__creds_start(srv, &creds_tid) != 0) {
        atomic_store(&srv->health_stop, 1);
        edge__park_wait(&srv->park, 2);
        goto out_gen;
    }
    srv->workers = calloc(threads, sizeof(*srv->workers));
    for (unsigned i = 0; srv->workers != NULL && i < threads; i++) {
        edge_worker_t *w = &srv->workers[i];
        w->srv = srv;
        w->shutting_down = &srv->shutting_down;
        w->id = i;
        w->gen = edge__gen_ref(srv->gen);
        if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
            edge__gen_unref(w->gen);
            break;
        }
        srv->num_workers = i + 1;
    }
    /* a worker that did not start would leave its sockets' share of new connections unanswered */
    for (size_t i = 0; i < srv->num_listen_fds; i++) {
        for (unsigned k = srv->num_workers; k < srv->fds_per_listener; k++) {
            close(srv->listen_fds[i][k]);
            srv->listen_fds[i][k] = -1;
        }
    }
    cm_log(stderr, "nearjs-edge", "serving: %zu listener(s), %zu upstream(s), %u worker(s)", srv->num_listen_fds,
           srv->gen->num_upstreams, srv->num_workers);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(srv, load);
            continue;
        }
        cm_log(stderr, "nearjs-edge", "%s: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }
    atomic_store(&srv->shutting_down, 1);
    edge__park_wait(&srv->park, srv->num_workers);
    int all_down = 1;
    for (unsigned i = 0; i < srv->num_workers; i++)
        all_down &= srv->workers[i].torn_down;
    atomic_store(&srv->health_stop, 1);
    edge__park_wait(&srv->park, srv->num_workers + 3); /* the health, OCSP and credentials threads */
    cm_log(stderr, "nearjs-edge", "stopped");
    rc = 0;
    if (!all_down) {
        /* a worker's loop still holds connections that reference the generation and the contexts:
         * freeing those under it is worse than leaving the whole process to exit */
        fflush(NULL);
        _exit(rc);
    }
    free(srv->workers);
out_gen:
    edge__gen_unref(srv->gen);
out_conf:
    h2o_config_dispose(&srv->globalconf);
out_fds:
    for (size_t i = 0; i < srv->num_listen_fds; i++) {
        for (unsigned k = 0; k < srv->fds_per_listener; k++) {
            if (srv->listen_fds[i][k] >= 0)
                close(srv->listen_fds[i][k]);
        }
    }
    pthread_mutex_destroy(&srv->gen_mutex);
    edge__creds_src_dispose(&srv->creds);
    edge__park_dispose(&srv->park);
    free(srv);
    return rc;
}
