/*
 * Listening TCP sockets, as local's servers and the edge make them. No event loop here: the caller hands
 * the descriptor to its own (h2o_evloop_socket_create). Thread-safe.
 */
#ifndef NEARJS_COMMON_LISTEN_H
#define NEARJS_COMMON_LISTEN_H

#ifdef __cplusplus
extern "C" {
#endif

/* host and port are numbers: no name service is asked (the edge's listeners) */
#define CM_LISTEN_NUMERIC 0x1
/* join the address's SO_REUSEPORT group (one socket per worker thread, the kernel spreads connections) */
#define CM_LISTEN_REUSEPORT 0x2
/* bind without listening: a probe that the address is free (a plain bind fails with EADDRINUSE where a
 * SO_REUSEPORT bind would quietly join someone else's group) */
#define CM_LISTEN_BIND_ONLY 0x4

/* Resolves host:port (TCP, AI_PASSIVE) and returns a non-blocking, close-on-exec socket bound to the first
 * address that binds and listening with backlog; SO_REUSEADDR is set for a fixed port (a restart binds at
 * once despite TIME_WAIT), not for port 0 (nothing to reuse on an ephemeral port). flags: CM_LISTEN_*.
 * Returns the descriptor (the caller closes it), or -1 with errno set (nothing left open). When the
 * resolution itself fails, *gai is getaddrinfo's code (for gai_strerror); otherwise *gai is 0. */
int cm_listen(const char *host, unsigned port, int flags, int backlog, int *gai);

/* The local port fd is bound to, or 0 when getsockname fails or it is no IPv4/IPv6 socket. */
unsigned cm_listen_port(int fd);

#ifdef __cplusplus
}
#endif

#endif
