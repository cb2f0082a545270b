/*
 * Prometheus counters (metrics.c): process-wide atomics indexed by upstream position, so a reload keeps
 * counting. Thread-safe.
 */
#ifndef NEARJS_EDGE_METRICS_H
#define NEARJS_EDGE_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define EDGE_STATUS_CLASSES 6 /* 1xx..5xx, other */
#define EDGE_LATENCY_BUCKETS 12
typedef struct edge_metrics {
    atomic_ulong requests[EDGE_MAX_UPSTREAMS + 1][EDGE_STATUS_CLASSES]; /* [upstream or local=last][status class] */
    atomic_ulong latency[EDGE_MAX_UPSTREAMS][EDGE_LATENCY_BUCKETS + 1];
    atomic_ulong latency_sum_us[EDGE_MAX_UPSTREAMS];
    atomic_ulong latency_count[EDGE_MAX_UPSTREAMS];
    atomic_ulong retries, upstream_errors[EDGE_MAX_UPSTREAMS];
    atomic_ulong upstream_handshakes[EDGE_MAX_UPSTREAMS]; /* TLS handshakes proxy.c made to forward requests */
    atomic_ulong standby_handshakes[EDGE_MAX_UPSTREAMS];  /* TLS handshakes standby.c made ahead of any request */
} edge_metrics_t;

struct edge_gen;

/* Counts an answer of status for upstream_or_local (EDGE_MAX_UPSTREAMS: answered locally). */
void edge__metrics_count(edge_metrics_t *m, size_t upstream_or_local, int status);
/* Records one upstream exchange's latency in microseconds. */
void edge__metrics_latency(edge_metrics_t *m, size_t upstream, uint64_t us);
/* Renders m plus g's gauges (health, pool sizes, TLS handshakes) as the Prometheus text exposition into a new
 * buffer (caller frees); *len is its length. */
char *edge__metrics_render(edge_metrics_t *m, struct edge_gen *g, size_t *len);

#endif
