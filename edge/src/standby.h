/*
 * Warm standby (standby.c; worker thread only): each worker keeps one idle, TLS-verified connection to its
 * first failover upstream, so the first requests of a failover find a connection ready instead of paying a
 * handshake to another region.
 */
#ifndef NEARJS_EDGE_STANDBY_H
#define NEARJS_EDGE_STANDBY_H

#include "worker.h"

/* Called every tick: opens the standby connection when w holds no idle connection to its first failover
 * upstream (the first healthy one after the one requests go to) and none is being made. No-op while
 * stopping, with a single upstream, or within a second of a failed attempt. */
void edge__standby_tick(edge_worker_t *w);
/* Abandons a standby connection being made (a generation change, shutdown). No-op when there is none. */
void edge__standby_cancel(edge_worker_t *w);

#endif
