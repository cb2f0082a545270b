/*
 * Parking: how the edge's threads end (see thread.h for why they are not joined).
 */
#include "thread.h"

#include <unistd.h>

void edge__park_init(edge_park_t *p)
{
    pthread_mutex_init(&p->mutex, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->parked = 0;
}

void edge__park_dispose(edge_park_t *p)
{
    pthread_mutex_destroy(&p->mutex);
    pthread_cond_destroy(&p->cond);
}

void edge__thread_park(edge_park_t *p)
{
    pthread_mutex_lock(&p->mutex);
    p->parked++;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mutex);
    for (;;)
        pause(); /* every signal is blocked or ignored here: this thread ends with the process */
}

void edge__park_wait(edge_park_t *p, unsigned n)
{
    pthread_mutex_lock(&p->mutex);
    while (p->parked < n)
        pthread_cond_wait(&p->cond, &p->mutex);
    pthread_mutex_unlock(&p->mutex);
}
