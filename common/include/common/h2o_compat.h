/*
 * What libh2o 2.2.5 lacks or gets wrong, made up for in one place: src/h2o_compat.c is the one file the
 * next libh2o upgrade has to revisit (see common/README.md). Each function says what the 2.2.5 gap is;
 * on another version each falls back to the library's own behaviour (or to "unknown") instead of reading
 * memory whose layout it does not know. Thread-safe as far as the objects passed are the caller's thread's.
 */
#ifndef NEARJS_COMMON_H2O_COMPAT_H
#define NEARJS_COMMON_H2O_COMPAT_H

#include <h2o.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The server name (SNI) the client of a TLS socket sent, or NULL (no TLS, no SNI, handshake not begun, or
 * a libh2o whose private socket layout is not 2.2's). Borrowed: valid while the socket is open. 2.2.5 has
 * no getter (h2o_socket_ssl_get_server_name came later); this reads the SSL out of its private struct. */
const char *cm_h2o_sni(h2o_socket_t *sock);

/* h2o_context_dispose plus the free of the context's multithread queue, which 2.2.5's evloop build closes
 * but never frees (one leak per context). */
void cm_h2o_context_dispose(h2o_context_t *ctx);

/* h2o_multithread_destroy_queue plus the free that 2.2.5's evloop build forgets. queue: the caller's, gone
 * on return. */
void cm_h2o_queue_destroy(h2o_multithread_queue_t *queue);

/* h2o_evloop_destroy plus the close of the loop's epoll descriptor, which 2.2.5 leaks (one per loop). NULL
 * is a no-op. */
void cm_h2o_evloop_destroy(h2o_loop_t *loop);

/* Ends an HTTP/2 connection whose client misbehaves: GOAWAY (error ENHANCE_YOUR_CALM, debug text `why`)
 * naming the last stream it opened, and the connection half-closed, so h2o ignores new streams and closes it
 * once those in progress are done (what its own enqueue_goaway does, which 2.2.5 keeps static). req: any
 * request of that connection. Returns 1 when the GOAWAY was sent, 0 when the connection is not HTTP/2, was
 * already closing, or the libh2o is not 2.2 (whose private connection layout this reads). */
int cm_h2o_http2_goaway_calm(h2o_req_t *req, const char *why);

/* Waits until h2o's resolver has answered every lookup made for `receiver`, cancelled ones included, running
 * `loop` (the receiver's) meanwhile, for at most max_ms. 2.2.5's h2o_hostinfo_getaddr_cancel cannot stop a
 * lookup its resolver thread has already taken: that thread still sends the answer to the receiver, so a
 * receiver unregistered and freed (with its queue and loop) before then is written to after the free (an
 * edge exited 139 on SIGTERM, its standby's lookup answered into a worker's freed receiver). The wait is a
 * barrier: a lookup of "127.0.0.1" queued behind them, answered in order by the resolver's one thread
 * (h2o_hostinfo_max_threads, 1 unless raised). Returns 0 once drained; -1 when it was not (time out, or more
 * than one resolver thread): then the receiver, its queue and its loop must be left allocated. */
int cm_h2o_hostinfo_drain(h2o_loop_t *loop, h2o_multithread_receiver_t *receiver, uint64_t max_ms);

/* The epoll descriptor of a 2.2.5 evloop, or -1 when the word after the public struct is no epoll instance
 * (another layout: then cm_h2o_evloop_destroy closes nothing). For the tests. */
int cm_h2o_evloop_fd(h2o_loop_t *loop);

#ifdef __cplusplus
}
#endif

#endif
