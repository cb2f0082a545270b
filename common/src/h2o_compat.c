/*
 * The libh2o 2.2.5 workarounds, all of them (the one file to revisit when libh2o is upgraded; the tests in
 * test/common_h2o_compat.c say which ones a new version makes wrong):
 * - no getter for a TLS connection's SNI: st_h2o_socket_ssl_t's first two members are the SSL_CTX and the
 *   SSL, read here only when the headers say 2.2;
 * - the evloop build's h2o_multithread_destroy_queue closes the queue's pipe but never frees the queue
 *   (h2o_context_dispose calls it for the context's own);
 * - h2o_evloop_destroy frees the loop but never closes its epoll descriptor (lib/common/socket/evloop/
 *   epoll.c.h allocates the public h2o_evloop_t followed by that int). The descriptor is closed only after
 *   /proc says it is an epoll instance, so a libh2o with another layout leaks as before instead of closing
 *   a stranger's descriptor;
 * - no way to send GOAWAY from outside lib/http2 (enqueue_goaway is static): h2o_http2_conn_t's layout comes
 *   from <h2o/http2_internal.h>, which needs klib's khash.h, which Debian does not ship (the stand-in in
 *   src/h2o_private/khash.h keeps that header compiling);
 * - h2o_hostinfo_getaddr_cancel cannot take back a lookup the resolver thread is running: its answer is sent
 *   to the receiver anyway, so cm_h2o_hostinfo_drain waits for it before a receiver may be freed.
 */
#include "common/h2o_compat.h"

#include <h2o/http2.h>
#include <h2o/http2_internal.h>

#include <netdb.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if H2O_VERSION_MAJOR == 2 && H2O_VERSION_MINOR == 2
#define CM_H2O_22 1
#else
#define CM_H2O_22 0
#endif

/* The head of 2.2's private struct st_h2o_socket_ssl_t. */
struct h2o22_socket_ssl {
    SSL_CTX *ssl_ctx;
    SSL *ossl;
};

/* The layout of 2.2.5's epoll backend: the public loop, then the epoll descriptor. */
struct evloop_epoll {
    h2o_evloop_t super;
    int ep;
};

const char *cm_h2o_sni(h2o_socket_t *sock)
{
#if CM_H2O_22
    if (sock == NULL || sock->ssl == NULL)
        return NULL;
    const struct h2o22_socket_ssl *ssl = (const void *)sock->ssl;
    return ssl->ossl != NULL ? SSL_get_servername(ssl->ossl, TLSEXT_NAMETYPE_host_name) : NULL;
#else
    (void)sock;
    return NULL;
#endif
}

void cm_h2o_context_dispose(h2o_context_t *ctx)
{
    h2o_multithread_queue_t *queue = ctx->queue;
    h2o_context_dispose(ctx);
#if CM_H2O_22
    free(queue);
#else
    (void)queue;
#endif
}

void cm_h2o_queue_destroy(h2o_multithread_queue_t *queue)
{
    h2o_multithread_destroy_queue(queue);
#if CM_H2O_22
    free(queue);
#endif
}

int cm_h2o_evloop_fd(h2o_loop_t *loop)
{
    int fd = ((struct evloop_epoll *)loop)->ep;
    char path[64], target[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = fd >= 0 ? readlink(path, target, sizeof(target) - 1) : -1;
    if (n < 0)
        return -1;
    target[n] = '\0';
    return strcmp(target, "anon_inode:[eventpoll]") == 0 ? fd : -1;
}

static void on_drain_lookup(h2o_hostinfo_getaddr_req_t *req, const char *errstr, struct addrinfo *res, void *cbdata)
{
    (void)req, (void)errstr, (void)res; /* the receiver frees res and req */
    *(int *)cbdata = 1;
}

int cm_h2o_hostinfo_drain(h2o_loop_t *loop, h2o_multithread_receiver_t *receiver, uint64_t max_ms)
{
    if (h2o_hostinfo_max_threads != 1)
        return -1;
    int done = 0;
    h2o_hostinfo_getaddr_req_t *req = h2o_hostinfo_getaddr(
        receiver, h2o_iovec_init(H2O_STRLIT("127.0.0.1")), h2o_iovec_init(H2O_STRLIT("80")), AF_INET, SOCK_STREAM,
        IPPROTO_TCP, AI_NUMERICHOST | AI_NUMERICSERV, on_drain_lookup, &done);
    uint64_t until = h2o_now(loop) + max_ms;
    while (!done && h2o_now(loop) < until)
        h2o_evloop_run(loop, 10);
    if (!done) {
        h2o_hostinfo_getaddr_cancel(req); /* its answer still comes: the caller leaves the receiver be */
        return -1;
    }
    return 0;
}

void cm_h2o_evloop_destroy(h2o_loop_t *loop)
{
    if (loop == NULL)
        return;
    int fd = cm_h2o_evloop_fd(loop);
    h2o_evloop_destroy(loop);
    if (fd >= 0)
        close(fd);
}

int cm_h2o_http2_goaway_calm(h2o_req_t *req, const char *why)
{
#if CM_H2O_22
    if (req->version < 0x200)
        return 0;
    h2o_http2_conn_t *conn = (h2o_http2_conn_t *)req->conn;
    if (conn->state >= H2O_HTTP2_CONN_STATE_HALF_CLOSED)
        return 0;
    h2o_http2_encode_goaway_frame(&conn->_write.buf, conn->pull_stream_ids.max_open, H2O_HTTP2_ERROR_ENHANCE_YOUR_CALM,
                                  h2o_iovec_init(why, strlen(why)));
    h2o_http2_conn_request_write(conn);
    conn->state = H2O_HTTP2_CONN_STATE_HALF_CLOSED;
    return 1;
#else
    (void)req;
    (void)why;
    return 0;
#endif
}
