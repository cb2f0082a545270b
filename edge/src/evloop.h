/*
 * What libh2o 2.2.5's evloop forgets (evloop.c).
 */
#ifndef NEARJS_EDGE_EVLOOP_H
#define NEARJS_EDGE_EVLOOP_H

#include <h2o.h>

/* The epoll descriptor of an evloop, or -1 when it cannot be found and checked. */
int edge__evloop_fd(h2o_loop_t *loop);
/* h2o_evloop_destroy plus the close of the loop's epoll descriptor that libh2o 2.2.5 forgets (one leaked
 * descriptor per generation otherwise). NULL: no-op. Timeouts must be disposed first, as for h2o's. */
void edge__evloop_destroy(h2o_loop_t *loop);

#endif
