/*
 * What each accepted client connection holds (edge_conn_t, worker.h), hung on its socket's on_close: the
 * worker's connection count goes down and the generation reference is dropped when the socket closes.
 */
#include "worker.h"
#include "common/accept.h"

#include <stdlib.h>

static void on_conn_close(void *data)
{
    edge_conn_t *hold = data;
    hold->w->num_conns--;
    edge__gen_unref(hold->gen);
    free(hold);
}

edge_conn_t *edge__conn_of(h2o_req_t *req)
{
    h2o_socket_t *sock = cm_conn_socket(req->conn);
    return sock != NULL && sock->on_close.cb == on_conn_close ? sock->on_close.data : NULL;
}

int edge__conn_hold(edge_worker_t *w, h2o_socket_t *sock)
{
    edge_conn_t *hold = malloc(sizeof(*hold));
    if (hold == NULL)
        return -1;
    *hold = (edge_conn_t){.w = w, .gen = edge__gen_ref(w->gen)};
    /* h2o leaves a server socket's on_close to the application (only its client pools use it) */
    sock->on_close.cb = on_conn_close;
    sock->on_close.data = hold;
    w->num_conns++;
    return 0;
}
