/*
 * The access log (accesslog.c): one line per finished request, to the generation's log stream.
 */
#ifndef NEARJS_EDGE_ACCESSLOG_H
#define NEARJS_EDGE_ACCESSLOG_H

#include <h2o.h>
#include <stdint.h>

#include "gen.h"

/* One finished request (locally answered ones too). */
typedef struct edge_logline {
    h2o_req_t *req;
    int status;
    size_t bytes;
    const char *upstream; /* NULL or "-" when answered locally */
    uint64_t upstream_us; /* 0 when none */
    uint64_t total_us;
} edge_logline_t;
void edge__access_log(edge_gen_t *g, const edge_logline_t *l);
/* Writes l's line to g's access log (none configured: nothing). Thread-safe. */
void edge__access_log(edge_gen_t *g, const edge_logline_t *l);

#endif
