/*
 * The accept loop and connection facts shared by local's servers and the edge (see common/accept.h).
 * Invariant: while a->resume is linked, no listener is read; once a->stopped, none is read again.
 */
#include "common/accept.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

static void on_accept(h2o_socket_t *listener, const char *err);

static void read_all(cm_acceptor_t *a, int on)
{
    for (size_t i = 0; i < a->num_listeners; i++) {
        if (a->listeners[i] == NULL)
            continue;
        if (on)
            h2o_socket_read_start(a->listeners[i], on_accept);
        else
            h2o_socket_read_stop(a->listeners[i]);
    }
}

static void on_resume(h2o_timeout_entry_t *entry)
{
    cm_acceptor_t *a = H2O_STRUCT_FROM_MEMBER(cm_acceptor_t, resume, entry);
    if (!a->stopped)
        read_all(a, 1);
}

static void pause_accepting(cm_acceptor_t *a, int err)
{
    if (a->on_pause != NULL)
        a->on_pause(a, err);
    read_all(a, 0);
    if (!h2o_timeout_is_linked(&a->resume)) {
        a->resume.cb = on_resume;
        h2o_timeout_link(h2o_socket_get_loop(a->listeners[0]), a->pause, &a->resume);
    }
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    cm_acceptor_t *a = listener->data;
    size_t index = 0;
    while (index < a->num_listeners && a->listeners[index] != listener)
        index++;
    for (int i = 0; i < CM_ACCEPT_BATCH; i++) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL) {
            /* h2o returns NULL right after accept4 failed: errno is still its (EAGAIN once the queue is empty) */
            if (a->pause != NULL && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM))
                pause_accepting(a, errno);
            return;
        }
        a->on_conn(a, index, sock);
        if (a->stopped)
            return;
    }
}

void cm_acceptor_start(cm_acceptor_t *a)
{
    a->stopped = 0;
    for (size_t i = 0; i < a->num_listeners; i++)
        a->listeners[i]->data = a;
    read_all(a, 1);
}

void cm_acceptor_stop(cm_acceptor_t *a)
{
    a->stopped = 1;
    read_all(a, 0);
    if (h2o_timeout_is_linked(&a->resume))
        h2o_timeout_unlink(&a->resume);
}

int cm_conn_peer(h2o_conn_t *conn, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = conn->callbacks->get_peername(conn, (struct sockaddr *)&ss);
    const void *addr = NULL;
    if (len != 0 && ss.ss_family == AF_INET)
        addr = &((struct sockaddr_in *)&ss)->sin_addr;
    else if (len != 0 && ss.ss_family == AF_INET6)
        addr = &((struct sockaddr_in6 *)&ss)->sin6_addr;
    if (addr == NULL || inet_ntop(ss.ss_family, addr, buf, (socklen_t)size) == NULL) {
        if (size > 0)
            buf[0] = '\0';
        return -1;
    }
    return 0;
}
