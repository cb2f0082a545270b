/*
 * The retry rule (proxy.c applies it): which failed attempt is tried again, once, on the next healthy
 * upstream. A connect-phase failure (TCP, TLS handshake, certificate, connect timeout) sent nothing, so any
 * method is retried; a failure after sending but before the whole answer only for GET/HEAD (the upstream
 * may have acted on the request; the answer is buffered whole, so nothing reached the client); a first-byte
 * timeout never (a slow gateway is not a dead one: 504). Never a second retry, never while stopping.
 */
#ifndef NEARJS_EDGE_RETRY_H
#define NEARJS_EDGE_RETRY_H

enum edge_failure {
    EDGE_FAILED_CONNECT,           /* before anything was sent */
    EDGE_FAILED_EXCHANGE,          /* after sending, before the answer was complete */
    EDGE_FAILED_FIRST_BYTE_TIMEOUT /* sent, and no answer within timeouts.first_byte */
};

/* Non-zero when an attempt that failed this way is tried again. idempotent: the method is GET or HEAD;
 * attempt: 0 for the first; stopping: the server is shutting down. */
static inline int edge__may_retry(enum edge_failure failure, int idempotent, int attempt, int stopping)
{
    if (attempt != 0 || stopping)
        return 0;
    switch (failure) {
    case EDGE_FAILED_CONNECT:
        return 1;
    case EDGE_FAILED_EXCHANGE:
        return idempotent;
    case EDGE_FAILED_FIRST_BYTE_TIMEOUT:
        return 0;
    }
    return 0;
}

#endif
