/*
 * Active health checks, on a thread of their own with its own event loop: every interval, each
 * upstream of the current generation gets "GET <path>" with its name as SNI and Host; the expected
 * status counts toward rise, anything else (or no answer) toward fall. Passive marking (proxy.c)
 * takes an upstream down at once on a connect-phase failure; only checks bring it back. Invariant:
 * each check holds a reference on its generation, so a reload never frees a pool a check uses; a
 * finished check keeps it until the next tick, because h2o still returns the connection to that pool
 * after our callback returns (releasing it inside the callback freed the pool under h2o). On
 * health_stop the thread cancels its checks, frees its loop and parks (edge__thread_park).
 * A check's connection is closed when its answer ends, never returned to the pool (see close_conn).
 */
#include "server.h"
#include "common/h2o_compat.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

#define DRAIN_MS 2000 /* how long the exit waits for h2o's resolver to answer a cancelled lookup */

struct check {
    h2o_linklist_t link; /* in health.checks while running, in health.finished once done */
    struct health *health;
    edge_gen_t *gen;
    size_t idx;
    h2o_http1client_t *client;
    h2o_http1client_ctx_t cctx;
    h2o_iovec_t reqbuf;
    char head[8192]; /* room for the SigV4 lines of a signing upstream (a session token is ~1 KB) */
};

struct health {
    edge_server_t *srv;
    h2o_loop_t *loop;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t getaddr_receiver;
    h2o_timeout_t io_timeout, tick_timeout;
    h2o_timeout_entry_t tick;
    h2o_linklist_t checks;
    h2o_linklist_t finished;
    edge_gen_t *gen;
    edge_signer_t signer; /* health checks to a signing upstream are signed too */
};

/* Frees checks that finished before this tick: h2o is done with their pools by now. */
static void release_finished(struct health *h)
{
    while (!h2o_linklist_is_empty(&h->finished)) {
        struct check *c = H2O_STRUCT_FROM_MEMBER(struct check, link, h->finished.next);
        h2o_linklist_unlink(&c->link);
        edge__gen_unref(c->gen);
        free(c);
    }
}

/* Closes the connection of a check whose answer ended. libh2o 2.2.5's client decides keep-alive from the answer
 * alone (our "connection: close" does not count) and would hand the socket back to the generation's pool; there it
 * sits outside any loop, so when the upstream closes it, as it may after our "connection: close", nobody sees it:
 * a socket in CLOSE-WAIT, kept until a request happens to take it from the pool (h2o's "detected close by upstream"
 * warning) or the generation is freed. Taking the socket makes h2o's client close nothing and return nothing. */
static void close_conn(h2o_http1client_t *client)
{
    if (client->sock != NULL)
        h2o_socket_close(h2o_http1client_steal_socket(client));
}

static void check_done(struct check *c, int ok, const char *why)
{
    edge_upstream_t *u = &c->gen->upstreams[c->idx];
    u->hc_inflight = 0;
    if (ok) {
        u->hc_fail = 0;
        u->hc_ok++;
        if (!atomic_load(&u->healthy) && u->hc_ok >= u->conf->rise) {
            edge__upstream_set_health(u, 1, "health checks pass");
        }
    } else {
        u->hc_ok = 0;
        u->hc_fail++;
        if (atomic_load(&u->healthy) && u->hc_fail >= u->conf->fall)
            edge__upstream_set_health(u, 0, why);
    }
    h2o_linklist_unlink(&c->link);
    h2o_linklist_insert(&c->health->finished, &c->link);
}

static int on_body(h2o_http1client_t *client, const char *errstr)
{
    struct check *c = client->data;
    h2o_buffer_consume(&client->sock->input, client->sock->input->size);
    if (errstr != NULL) {
        c->client = NULL;
        if (errstr == h2o_http1client_error_is_eos)
            close_conn(client);
        check_done(c, errstr == h2o_http1client_error_is_eos, errstr);
    }
    return 0;
}

static h2o_http1client_body_cb on_head(h2o_http1client_t *client, const char *errstr, int minor_version, int status,
                                       h2o_iovec_t msg, h2o_header_t *headers, size_t num_headers, int rlen)
{
    (void)minor_version, (void)msg, (void)headers, (void)num_headers, (void)rlen;
    struct check *c = client->data;
    edge_upstream_t *u = &c->gen->upstreams[c->idx];
    if (errstr != NULL && errstr != h2o_http1client_error_is_eos) {
        c->client = NULL;
        check_done(c, 0, errstr);
        return NULL;
    }
    if (status != u->conf->health_status) {
        char why[96];
        snprintf(why, sizeof(why), "health check got status %d, want %d", status, u->conf->health_status);
        c->client = NULL;
        close_conn(client); /* (a 204 or 304 would be kept alive) */
        check_done(c, 0, why);
        return NULL;
    }
    if (errstr == h2o_http1client_error_is_eos) {
        c->client = NULL;
        close_conn(client);
        check_done(c, 1, NULL);
        return NULL;
    }
    return on_body;
}

static h2o_http1client_head_cb on_connect(h2o_http1client_t *client, const char *errstr, h2o_iovec_t **reqbufs,
                                          size_t *reqbufcnt, int *method_is_head)
{
    struct check *c = client->data;
    if (errstr != NULL) {
        c->client = NULL;
        check_done(c, 0, errstr);
        return NULL;
    }
    *reqbufs = &c->reqbuf;
    *reqbufcnt = 1;
    *method_is_head = 0;
    return on_head;
}

static void start_check(struct health *h, edge_gen_t *g, size_t idx)
{
    edge_upstream_t *u = &g->upstreams[idx];
    /* A signing upstream is checked as requests reach it, signed; without valid credentials no request can go,
     * so it is down, and the line that says so names why (creds.h). */
    const char *sig = "";
    if (u->conf->sign_service != NULL && !edge__creds_settled(&h->srv->creds)) {
        u->hc_next_ms = 0; /* the first fetch of credentials is under way: no verdict yet, ask again next tick */
        return;
    }
    if (u->conf->sign_service != NULL) {
        char why[EDGE_ERR_SIZE], host[300];
        int host_len = snprintf(host, sizeof(host), "%s", u->conf->name);
        if (u->conf->port != 443)
            host_len = snprintf(host, sizeof(host), "%s:%u", u->conf->name, u->conf->port);
        const cm_buf_t *lines;
        if (edge__sign(&h->signer, &h->srv->creds, u->conf, idx, "GET", 3, u->conf->health_path,
                       strlen(u->conf->health_path), host, (size_t)host_len, NULL, time(NULL), &lines, why,
                       sizeof(why)) != 0) {
            u->hc_ok = 0;
            edge__upstream_set_health(u, 0, why);
            return;
        }
        sig = lines->base;
    }
    struct check *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->health = h;
    c->gen = edge__gen_ref(g);
    c->idx = idx;
    /* Host as requests send it: with the port unless 443 (and so as it was signed) */
    char port[8] = "";
    if (u->conf->port != 443)
        snprintf(port, sizeof(port), ":%u", u->conf->port);
    int n = snprintf(c->head, sizeof(c->head),
                     "GET %s HTTP/1.1\r\nhost: %s%s\r\nuser-agent: nearjs-edge-health\r\nconnection: close\r\n%s\r\n",
                     u->conf->health_path, u->conf->name, port, sig);
    c->reqbuf = h2o_iovec_init(c->head, n > 0 && (size_t)n < sizeof(c->head) ? (size_t)n : 0);
    c->cctx = (h2o_http1client_ctx_t){h->loop, &h->getaddr_receiver, &h->io_timeout, NULL, u->ssl_ctx};
    u->hc_inflight = 1;
    h2o_linklist_insert(&h->checks, &c->link);
    h2o_http1client_connect_with_pool(&c->client, c, &c->cctx, &u->pool, on_connect);
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    struct health *h = H2O_STRUCT_FROM_MEMBER(struct health, tick, entry);
    release_finished(h);
    pthread_mutex_lock(&h->srv->gen_mutex);
    if (h->gen != h->srv->gen) {
        edge__gen_unref(h->gen);
        h->gen = edge__gen_ref(h->srv->gen);
    }
    pthread_mutex_unlock(&h->srv->gen_mutex);
    uint64_t now = h2o_now(h->loop);
    for (size_t i = 0; i < h->gen->num_upstreams; i++) {
        edge_upstream_t *u = &h->gen->upstreams[i];
        if (u->hc_inflight || now < u->hc_next_ms)
            continue;
        u->hc_next_ms = now + u->conf->health_interval_ms;
        start_check(h, h->gen, i);
    }
    h2o_timeout_link(h->loop, &h->tick_timeout, &h->tick);
}

/* Undoes edge__health_start: timers, the resolver queue, the loop, the generation reference. */
static void health_free(struct health *h)
{
    if (h2o_timeout_is_linked(&h->tick))
        h2o_timeout_unlink(&h->tick);
    h2o_timeout_dispose(h->loop, &h->tick_timeout);
    h2o_timeout_dispose(h->loop, &h->io_timeout);
    h2o_multithread_unregister_receiver(h->queue, &h->getaddr_receiver);
    cm_h2o_queue_destroy(h->queue);
    cm_h2o_evloop_destroy(h->loop);
    edge__gen_unref(h->gen);
    edge__signer_dispose(&h->signer);
    free(h);
}

static void *health_main(void *arg)
{
    struct health *h = arg;
    while (!atomic_load(&h->srv->health_stop))
        h2o_evloop_run(h->loop, 100);
    while (!h2o_linklist_is_empty(&h->checks)) {
        struct check *c = H2O_STRUCT_FROM_MEMBER(struct check, link, h->checks.next);
        if (c->client != NULL)
            h2o_http1client_cancel(c->client);
        c->gen->upstreams[c->idx].hc_inflight = 0;
        h2o_linklist_unlink(&c->link);
        edge__gen_unref(c->gen);
        free(c);
    }
    release_finished(h);
    edge_server_t *srv = h->srv;
    /* a cancelled check's lookup may still be answered into getaddr_receiver: only then may it go */
    if (cm_h2o_hostinfo_drain(h->loop, &h->getaddr_receiver, DRAIN_MS) == 0)
        health_free(h);
    else
        cm_log(stderr, "nearjs-edge", "health checks: a name lookup still running after %d ms; leaving it to exit",
               DRAIN_MS);
    edge__thread_park(&srv->park);
    return NULL;
}

int edge__health_start(edge_server_t *srv, pthread_t *tid)
{
    struct health *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return CM_ENOMEM;
    h->srv = srv;
    edge__signer_init(&h->signer);
    h->loop = h2o_evloop_create();
    h->queue = h2o_multithread_create_queue(h->loop);
    h2o_multithread_register_receiver(h->queue, &h->getaddr_receiver, h2o_hostinfo_getaddr_receiver);
    h2o_linklist_init_anchor(&h->checks);
    h2o_linklist_init_anchor(&h->finished);
    pthread_mutex_lock(&srv->gen_mutex);
    h->gen = edge__gen_ref(srv->gen);
    pthread_mutex_unlock(&srv->gen_mutex);
    uint64_t io = srv->gen->conf.connect_timeout_ms + srv->gen->conf.first_byte_timeout_ms;
    h2o_timeout_init(h->loop, &h->io_timeout, io < 5000 ? io : 5000);
    h2o_timeout_init(h->loop, &h->tick_timeout, 100);
    h->tick.cb = on_tick;
    h2o_timeout_link(h->loop, &h->tick_timeout, &h->tick);
    if (pthread_create(tid, NULL, health_main, h) != 0) {
        health_free(h);
        return CM_ENOMEM;
    }
    return 0;
}
