/*
 * Generations: everything built from one configuration (server SSL contexts per listener, client
 * contexts and connection pools per upstream, health state, the access log stream). A generation is
 * immutable once built except for the atomics of its upstreams' health; it lives while the server or
 * any worker or in-flight request holds a reference, so a reload never pulls state from under a
 * request.
 */
#include "gen.h"
#include "common/buf.h"
#include "common/h2o_compat.h"
#include "common/log.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void gen_free(edge_gen_t *g)
{
    for (size_t i = 0; i < EDGE_MAX_LISTENERS; i++)
        cm_tls_ctx_free(g->listener_ssl[i]);
    edge__ocsp_free(g);
    for (size_t i = 0; i < g->num_upstreams; i++) {
        edge_upstream_t *u = &g->upstreams[i];
        h2o_socketpool_dispose(&u->pool);
        cm_tls_ctx_free(u->ssl_ctx);
    }
    cm_h2o_evloop_destroy(g->pool_loop);
    cm_tls_tickets_free(g->tickets);
    if (g->access_log != NULL && g->access_log_owned)
        fclose(g->access_log);
    edge_config_dispose(&g->conf);
    free(g);
}

/* Resolves the address to connect to once, so that the pool connects there while SNI and the
 * certificate check keep the upstream's name (haproxy's "server x ADDR sni str(NAME)"). */
static int init_pool(edge_upstream_t *u, h2o_loop_t *clock, char *err, size_t errlen)
{
    edge_upstream_conf_t *c = u->conf;
    if (c->connect_host == NULL) {
        h2o_socketpool_init_by_hostport(&u->pool, h2o_iovec_init(c->name, strlen(c->name)), c->port, 1, c->pool_size);
    } else {
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
        struct addrinfo *res = NULL;
        char serv[8];
        snprintf(serv, sizeof(serv), "%u", c->connect_port);
        int gai = getaddrinfo(c->connect_host, serv, &hints, &res);
        if (gai != 0) {
            snprintf(err, errlen, "upstream '%s': connect_to '%.200s': %s", c->name, c->connect_host,
                     gai_strerror(gai));
            return CM_EINVAL;
        }
        h2o_socketpool_init_by_address(&u->pool, res->ai_addr, res->ai_addrlen, 1, c->pool_size);
        freeaddrinfo(res);
    }
    /* The pool sends peer.host as SNI and checks the certificate against it: make it the upstream's
     * name, not the numeric address init_by_address put there (the field is documented for this). */
    free(u->pool.peer.host.base);
    u->pool.peer.host = h2o_strdup(NULL, c->name, strlen(c->name));
    h2o_socketpool_set_timeout(&u->pool, clock, 3600 * 1000);
    return 0;
}

int edge__gen_new(edge_config_t *conf, const edge_gen_t *prev, edge_gen_t **out, char *err, size_t errlen)
{
    edge_gen_t *g = calloc(1, sizeof(*g));
    if (g == NULL) {
        snprintf(err, errlen, "out of memory");
        return CM_ENOMEM;
    }
    atomic_init(&g->refs, 1);
    g->pool_loop = h2o_evloop_create();
    char tlserr[CM_TLS_ERR_SIZE];
    int rc;
    /* the ticket keys pass from generation to generation: a reload keeps clients' sessions resumable */
    if (prev != NULL) {
        g->tickets = cm_tls_tickets_ref(prev->tickets);
    } else if ((rc = cm_tls_tickets_new(0, &g->tickets)) != 0) {
        snprintf(err, errlen, "session ticket keys: %s", cm_strerror(rc));
        goto fail;
    }
    for (size_t i = 0; i < conf->num_listeners; i++) {
        edge_listener_conf_t *l = &conf->listeners[i];
        if (l->kind != EDGE_LISTEN_TLS)
            continue;
        cm_tls_server_opts_t opts = {
            .pairs = l->certs, .num_pairs = l->num_certs, .disable_h2 = l->disable_h2, .tickets = g->tickets};
        if ((rc = cm_tls_server_new(&opts, &g->listener_ssl[i], tlserr)) != 0) {
            snprintf(err, errlen, "listener %s:%u: %s", l->host, l->port, tlserr);
            rc = CM_ETLS;
            goto fail;
        }
    }
    if ((rc = edge__ocsp_setup(g, conf)) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < conf->num_upstreams; i++) {
        edge_upstream_t *u = &g->upstreams[i];
        u->conf = &g->conf.upstreams[i]; /* valid once conf is moved in below */
        u->index = i;
        edge_upstream_conf_t *c = &conf->upstreams[i];
        cm_tls_client_opts_t copts = {.ca_file = c->ca_file, .insecure = c->insecure};
        if ((rc = cm_tls_client_new(&copts, &u->ssl_ctx, tlserr)) != 0) {
            snprintf(err, errlen, "upstream '%s': %s", c->name, tlserr);
            rc = CM_ETLS;
            goto fail;
        }
        if (c->connect_host != NULL)
            snprintf(u->label, sizeof(u->label), "%s via %s:%u", c->name, c->connect_host, c->connect_port);
        else
            snprintf(u->label, sizeof(u->label), "%s:%u", c->name, c->port);
        atomic_init(&u->healthy, 1);
        atomic_init(&u->conns, 0);
        if (prev != NULL) {
            for (size_t j = 0; j < prev->num_upstreams; j++) {
                if (strcmp(prev->upstreams[j].label, u->label) == 0)
                    atomic_store(&u->healthy, atomic_load(&prev->upstreams[j].healthy));
            }
        }
        u->conf = c;
        if ((rc = init_pool(u, g->pool_loop, err, errlen)) != 0) {
            cm_tls_ctx_free(u->ssl_ctx);
            goto fail;
        }
        g->num_upstreams = i + 1;
    }
    if (conf->access_log != NULL) {
        if (strcmp(conf->access_log, "-") == 0) {
            g->access_log = stdout;
            setvbuf(stdout, NULL, _IOLBF, 0);
        } else if ((g->access_log = fopen(conf->access_log, "a")) == NULL) {
            snprintf(err, errlen, "access log '%.200s' cannot be opened: %s", conf->access_log, strerror(errno));
            rc = CM_EIO;
            goto fail;
        } else {
            g->access_log_owned = 1;
            setvbuf(g->access_log, NULL, _IOLBF, 0);
        }
    }
    /* success: move the config in; the upstreams' conf pointers follow it */
    g->conf = *conf;
    for (size_t i = 0; i < g->num_upstreams; i++)
        g->upstreams[i].conf = &g->conf.upstreams[i];
    edge_config_init(conf);
    *out = g;
    return 0;
fail:
    gen_free(g); /* what was built so far; g->conf is still the empty one calloc made, conf stays the caller's */
    return rc;
}

edge_gen_t *edge__gen_ref(edge_gen_t *g)
{
    atomic_fetch_add(&g->refs, 1);
    return g;
}

void edge__gen_unref(edge_gen_t *g)
{
    if (g != NULL && atomic_fetch_sub(&g->refs, 1) == 1)
        gen_free(g);
}

size_t edge__gen_pick(edge_gen_t *g, size_t start)
{
    for (size_t k = 0; k < g->num_upstreams; k++) {
        size_t i = (start + k) % g->num_upstreams;
        if (atomic_load_explicit(&g->upstreams[i].healthy, memory_order_relaxed))
            return i;
    }
    return start % g->num_upstreams;
}

int edge__gen_any_healthy(edge_gen_t *g)
{
    for (size_t i = 0; i < g->num_upstreams; i++) {
        if (atomic_load_explicit(&g->upstreams[i].healthy, memory_order_relaxed))
            return 1;
    }
    return 0;
}

void edge__upstream_set_health(edge_upstream_t *u, int healthy, const char *why)
{
    int was = atomic_exchange(&u->healthy, healthy);
    if (was != healthy)
        cm_log(stderr, "nearjs-edge", "upstream '%s' is now %s: %s", u->label, healthy ? "UP" : "DOWN", why);
}

void edge__upstream_failed(edge_upstream_t *u, const char *why)
{
    /* passive marking: a connect-phase failure takes the upstream out at once; the active checks
     * (rise) bring it back */
    edge__upstream_set_health(u, 0, why);
}
