/*
 * Names shared between the runtime's source files (lrt__ prefix); nothing here is public API.
 *
 * Data flow: loop.c asks client.c for the next invocation, which fills an lrt__client_t's capture
 * buffers (headers, body); loop.c turns those into an lrt_invocation_t; the handler fills an
 * lrt_response (response.c, stream.c); loop.c posts it through client.c.
 */
#ifndef NEARJS_RUNTIME_INTERNAL_H
#define NEARJS_RUNTIME_INTERNAL_H

#include <signal.h>
#include <sys/uio.h>
#include <stdarg.h>
#include <http_parser.h>
#include "nearjs/runtime.h"

/* A growable byte buffer with a hard limit; data is always NUL-terminated (data[len] == 0) once used. */
typedef struct lrt__buf {
    char *data;
    size_t len;
    size_t cap;
    size_t limit;
} lrt__buf_t;

void lrt__buf_init(lrt__buf_t *b, size_t limit);
void lrt__buf_dispose(lrt__buf_t *b);
/* Empties the buffer and keeps its memory. */
void lrt__buf_clear(lrt__buf_t *b);
/* Returns 0, LRT_ETOOBIG (len + n over the limit; buffer unchanged) or LRT_ENOMEM (unchanged). */
int lrt__buf_append(lrt__buf_t *b, const void *p, size_t n);
/* Appends the bytes of s with every invalid UTF-8 sequence replaced by U+FFFD, keeping at most max input
 * bytes (a cut never splits a character). Returns 0 or an lrt__buf_append error. */
int lrt__buf_append_utf8(lrt__buf_t *b, const char *s, size_t len, size_t max);

/* The Lambda-Runtime-* headers of one /next answer, as received (NUL-terminated copies). */
typedef enum lrt__hdr {
    LRT__HDR_REQUEST_ID,
    LRT__HDR_DEADLINE,
    LRT__HDR_FUNCTION_ARN,
    LRT__HDR_TRACE_ID,
    LRT__HDR_CLIENT_CONTEXT,
    LRT__HDR_COGNITO_IDENTITY,
    LRT__HDR_TENANT_ID,
    LRT__HDR_COUNT
} lrt__hdr_t;

/* Returns the header slot that a "Name: value" header line belongs to, or -1. Case-insensitive on name. */
int lrt__hdr_lookup(const char *name, size_t len);

/*
 * One keep-alive HTTP/1.1 connection to the Runtime API. Requests are written by hand (the API is a
 * fixed, local, plain-HTTP protocol); answers are parsed by http-parser, which handles framing
 * (Content-Length, chunked, close-delimited) so we don't.
 */
typedef struct lrt__client {
    char *endpoint; /* "HOST:PORT", also the Host header */
    char *host;
    char *port;
    char *base; /* "http://HOST:PORT/2018-06-01/runtime", for messages */
    int fd;     /* -1 when not connected */
    int reused; /* the current request runs on a connection that served an earlier one */
    unsigned max_attempts;
    long status; /* HTTP status of the last answer */
    lrt__buf_t body;
    lrt__buf_t headers[LRT__HDR_COUNT];
    int header_seen[LRT__HDR_COUNT];
    char error[512]; /* cause of the last failure, for messages */
    /* answer parsing */
    http_parser parser;
    lrt__buf_t field; /* name of the header being parsed (it may arrive in pieces) */
    int slot;         /* its header slot, or -1 */
    int in_value;
    int complete;
    int too_big;
} lrt__client_t;

/* Returns 0, LRT_ENOMEM, or LRT_EINVAL (endpoint not HOST:PORT). */
int lrt__client_init(lrt__client_t *c, const char *endpoint, unsigned max_attempts);
void lrt__client_dispose(lrt__client_t *c);

/* Outcome of one exchange with the Runtime API, beyond the lrt_errno_t codes. */
#define LRT__INTERRUPTED 1 /* SIGTERM arrived while waiting */

/*
 * One request with bounded retries and exponential backoff on transport failures and 5xx answers.
 * method "GET" or "POST"; path is relative to the API root ("/invocation/next"); extra_headers holds
 * complete "Name: value\r\n" lines or is NULL; body may be NULL. interruptible: a SIGTERM while
 * waiting returns LRT__INTERRUPTED at once (GET /next, where there is nothing to lose).
 * Returns 0 with c->status and c->body set (any answer below 500), LRT_ETRANSPORT with c->error set,
 * or LRT__INTERRUPTED.
 */
int lrt__client_request(lrt__client_t *c, const char *method, const char *path, const char *extra_headers,
                        const void *body, size_t len, int interruptible);

/* Low-level pieces for streaming: open a connection if needed, write bytes, read one answer.
 * Each returns 0 or LRT_ETRANSPORT with c->error set. */
int lrt__client_connect(lrt__client_t *c);
int lrt__client_write(lrt__client_t *c, const struct iovec *iov, int iovcnt);
int lrt__client_read_answer(lrt__client_t *c, int interruptible);
void lrt__client_close(lrt__client_t *c);
/* Sets c->error from a printf format. */
void lrt__client_fail(lrt__client_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes the base64 (RFC 4648, padded) of len bytes of in to out, which has room for 4 * ((len + 2) / 3) + 1
 * bytes; NUL-terminates it. */
void lrt__base64(char *out, const void *in, size_t len);

/* The signal plumbing (loop.c): a SIGTERM flag and a self-pipe that every wait polls. */
extern volatile sig_atomic_t lrt__terminating;
/* The socket blocked in GET /next, or -1: SIGTERM's handler shuts it down to end the wait. */
extern volatile sig_atomic_t lrt__idle_fd;
int lrt__signal_fd(void);
void lrt__signal_drain(void);

typedef enum lrt__res_kind { LRT__RES_EMPTY, LRT__RES_BODY, LRT__RES_ERROR, LRT__RES_STREAM } lrt__res_kind_t;

typedef enum lrt__stream_state {
    LRT__STREAM_OPEN,  /* request head sent, handler may write chunks */
    LRT__STREAM_BROKEN /* the connection failed: further writes fail */
} lrt__stream_state_t;

struct lrt_response {
    lrt__res_kind_t kind;
    lrt__buf_t body; /* buffered body */
    char *content_type;
    char *error_type; /* set by lrt_response_fail(), also after a stream began */
    lrt__buf_t error_message;
    /* streaming */
    lrt__client_t *client;
    const char *request_id;
    lrt__stream_state_t stream_state;
    size_t stream_total; /* bytes written by the handler in all */
};

void lrt__response_init(lrt_response_t *res, lrt__client_t *client, const char *request_id);
void lrt__response_dispose(lrt_response_t *res);
/* Builds {"errorMessage","errorType","stackTrace":[]} for the recorded error; caller frees. NULL on ENOMEM. */
char *lrt__response_error_json(const lrt_response_t *res);
/* Returns the error type, made safe for a header value (printable ASCII); never NULL. */
const char *lrt__response_error_type(const lrt_response_t *res);

/* Records Function.ResponseSizeTooLarge with Lambda's wording ("Response payload size (N bytes) exceeded
 * maximum allowed payload size (LIMIT bytes)."). Returns LRT_ETOOBIG. */
int lrt__response_too_large(lrt_response_t *res, size_t size, size_t limit);

/* Ends a stream begun by the handler: sends the last chunk and, after an error, the trailers, then
 * waits for the answer. Returns 0 or an lrt_errno_t. */
int lrt__stream_finish(lrt_response_t *res);

/* Points lrt_log() at the invocation being handled (NULL between invocations). */
void lrt__log_set_request_id(const char *request_id);

#endif
