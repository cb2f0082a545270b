/*
 * Parking threads (thread.c): the edge's threads end by parking, and the main thread waits for them.
 */
#ifndef NEARJS_EDGE_THREAD_H
#define NEARJS_EDGE_THREAD_H

#include <pthread.h>

typedef struct edge_park {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    unsigned parked; /* threads done for good; guarded by mutex */
} edge_park_t;

void edge__park_init(edge_park_t *p);
void edge__park_dispose(edge_park_t *p);
/* Ends the calling thread's work for good: counts it as parked for edge__park_wait and blocks until the
 * process exits; never returns. Threads are parked, not joined, because libh2o 2.2.5 keeps per-thread free
 * lists (pool chunks, HTTP/2 write buffers) in static thread-locals that no API empties: an ended thread
 * would strand them as leaks, a parked one keeps them reachable. */
__attribute__((noreturn)) void edge__thread_park(edge_park_t *p);
/* Waits until n threads in all have parked on p. */
void edge__park_wait(edge_park_t *p, unsigned n);

#endif
