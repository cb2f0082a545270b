/*
 * Prometheus counters: requests by upstream and status class, upstream latency histogram, retries,
 * upstream errors (all process-wide atomics, indexed by upstream position so that a reload keeps
 * counting), plus gauges read at scrape time: health, pool sizes, TLS handshakes.
 */
#include "gen.h"
#include "metrics.h"
#include "common/buf.h"

#include <stdio.h>

static const uint64_t bucket_ms[EDGE_LATENCY_BUCKETS] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000};
static const char *const class_names[EDGE_STATUS_CLASSES] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};

void edge__metrics_count(edge_metrics_t *m, size_t upstream_or_local, int status)
{
    size_t cls = status >= 100 && status < 600 ? (size_t)(status / 100 - 1) : EDGE_STATUS_CLASSES - 1;
    atomic_fetch_add_explicit(&m->requests[upstream_or_local][cls], 1, memory_order_relaxed);
}

void edge__metrics_latency(edge_metrics_t *m, size_t upstream, uint64_t us)
{
    size_t b = 0;
    while (b < EDGE_LATENCY_BUCKETS && us > bucket_ms[b] * 1000)
        b++;
    atomic_fetch_add_explicit(&m->latency[upstream][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_sum_us[upstream], us, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_count[upstream], 1, memory_order_relaxed);
}

char *edge__metrics_render(edge_metrics_t *m, edge_gen_t *g, size_t *len)
{
    cm_buf_t b;
    cm_buf_init(&b, 1024 * 1024);
    cm_buf_appendf(&b, "# HELP nearjs_edge_requests_total Requests answered, by upstream and status class.\n"
                       "# TYPE nearjs_edge_requests_total counter\n");
    for (size_t i = 0; i <= g->num_upstreams; i++) {
        size_t idx = i < g->num_upstreams ? i : EDGE_MAX_UPSTREAMS;
        const char *name = i < g->num_upstreams ? g->upstreams[i].conf->name : "local";
        for (size_t c = 0; c < EDGE_STATUS_CLASSES; c++)
            cm_buf_appendf(&b, "nearjs_edge_requests_total{upstream=\"%s\",status=\"%s\"} %lu\n", name, class_names[c],
                           atomic_load(&m->requests[idx][c]));
    }
    cm_buf_appendf(&b, "# HELP nearjs_edge_upstream_healthy 1 while the upstream passes its health checks.\n"
                       "# TYPE nearjs_edge_upstream_healthy gauge\n");
    for (size_t i = 0; i < g->num_upstreams; i++)
        cm_buf_appendf(&b, "nearjs_edge_upstream_healthy{upstream=\"%s\"} %d\n", g->upstreams[i].conf->name,
                       atomic_load(&g->upstreams[i].healthy));
    cm_buf_appendf(&b, "# HELP nearjs_edge_upstream_pool_connections Upstream connections the workers hold (idle and "
                       "busy).\n"
                       "# TYPE nearjs_edge_upstream_pool_connections gauge\n");
    for (size_t i = 0; i < g->num_upstreams; i++)
        cm_buf_appendf(&b, "nearjs_edge_upstream_pool_connections{upstream=\"%s\"} %zu\n", g->upstreams[i].conf->name,
                       atomic_load_explicit(&g->upstreams[i].conns, memory_order_relaxed));
    cm_buf_appendf(&b, "# HELP nearjs_edge_upstream_errors_total Requests that failed at an upstream.\n"
                       "# TYPE nearjs_edge_upstream_errors_total counter\n");
    for (size_t i = 0; i < g->num_upstreams; i++)
        cm_buf_appendf(&b, "nearjs_edge_upstream_errors_total{upstream=\"%s\"} %lu\n", g->upstreams[i].conf->name,
                       atomic_load(&m->upstream_errors[i]));
    cm_buf_appendf(&b, "# HELP nearjs_edge_upstream_handshakes_total New TLS connections made to the upstream for "
                       "requests (each cost the request a handshake; flat once the pool is warm).\n"
                       "# TYPE nearjs_edge_upstream_handshakes_total counter\n");
    for (size_t i = 0; i < g->num_upstreams; i++)
        cm_buf_appendf(&b, "nearjs_edge_upstream_handshakes_total{upstream=\"%s\"} %lu\n", g->upstreams[i].conf->name,
                       atomic_load(&m->upstream_handshakes[i]));
    cm_buf_appendf(&b, "# HELP nearjs_edge_upstream_standby_handshakes_total New TLS connections made ahead of any "
                       "request: each worker's warm standby to its first failover upstream (standby.c).\n"
                       "# TYPE nearjs_edge_upstream_standby_handshakes_total counter\n");
    for (size_t i = 0; i < g->num_upstreams; i++)
        cm_buf_appendf(&b, "nearjs_edge_upstream_standby_handshakes_total{upstream=\"%s\"} %lu\n",
                       g->upstreams[i].conf->name, atomic_load(&m->standby_handshakes[i]));
    cm_buf_appendf(&b,
                   "# HELP nearjs_edge_upstream_latency_seconds Time from sending to the upstream to its last byte.\n"
                   "# TYPE nearjs_edge_upstream_latency_seconds histogram\n");
    for (size_t i = 0; i < g->num_upstreams; i++) {
        const char *name = g->upstreams[i].conf->name;
        unsigned long cum = 0;
        for (size_t k = 0; k < EDGE_LATENCY_BUCKETS; k++) {
            cum += atomic_load(&m->latency[i][k]);
            cm_buf_appendf(&b, "nearjs_edge_upstream_latency_seconds_bucket{upstream=\"%s\",le=\"%g\"} %lu\n", name,
                           (double)bucket_ms[k] / 1000.0, cum);
        }
        cum += atomic_load(&m->latency[i][EDGE_LATENCY_BUCKETS]);
        cm_buf_appendf(&b, "nearjs_edge_upstream_latency_seconds_bucket{upstream=\"%s\",le=\"+Inf\"} %lu\n", name, cum);
        cm_buf_appendf(&b, "nearjs_edge_upstream_latency_seconds_sum{upstream=\"%s\"} %.6f\n", name,
                       (double)atomic_load(&m->latency_sum_us[i]) / 1e6);
        cm_buf_appendf(&b, "nearjs_edge_upstream_latency_seconds_count{upstream=\"%s\"} %lu\n", name,
                       atomic_load(&m->latency_count[i]));
    }
    unsigned long hs = 0, resumed = 0;
    for (size_t i = 0; i < EDGE_MAX_LISTENERS; i++) {
        hs += cm_tls_server_handshakes(g->listener_ssl[i]);
        resumed += cm_tls_server_resumed(g->listener_ssl[i]);
    }
    cm_buf_appendf(&b,
                   "# HELP nearjs_edge_tls_handshakes_total TLS handshakes begun on this configuration's listeners.\n"
                   "# TYPE nearjs_edge_tls_handshakes_total counter\nnearjs_edge_tls_handshakes_total %lu\n",
                   hs);
    cm_buf_appendf(&b,
                   "# HELP nearjs_edge_tls_resumed_total TLS handshakes that resumed a session (no certificate, no "
                   "signature); far below handshakes_total for returning visitors means tickets are refused.\n"
                   "# TYPE nearjs_edge_tls_resumed_total counter\nnearjs_edge_tls_resumed_total %lu\n",
                   resumed);
    cm_buf_appendf(&b,
                   "# HELP nearjs_edge_retries_total Requests retried on another upstream.\n"
                   "# TYPE nearjs_edge_retries_total counter\nnearjs_edge_retries_total %lu\n",
                   atomic_load(&m->retries));
    cm_buf_appendf(&b,
                   "# HELP nearjs_edge_healthy 1 while at least one upstream is healthy (what /healthz says).\n"
                   "# TYPE nearjs_edge_healthy gauge\nnearjs_edge_healthy %d\n",
                   edge__gen_any_healthy(g));
    return cm_buf_detach(&b, len);
}
