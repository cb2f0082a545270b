/*
 * nearjs runtime: a client of the AWS Lambda Runtime API for handlers written in C.
 *
 * A handler is one function. The runtime fetches each invocation (GET /next), calls the handler,
 * and posts what the handler answered (POST /response or /error). It owns all memory it hands out;
 * nothing it passes to a handler outlives that call.
 *
 *     static void handle(const lrt_invocation_t *inv, lrt_response_t *res, void *user)
 *     {
 *         lrt_response_set(res, inv->payload, inv->payload_len, "application/json");
 *     }
 *     int main(void) { return lrt_main(handle, NULL); }
 *
 * Threading: the runtime runs on the thread that calls lrt_run(); every function here must be called
 * from that thread, during the handler (or init hook) it was passed to.
 */
#ifndef NEARJS_RUNTIME_H
#define NEARJS_RUNTIME_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LRT_VERSION "0.1.0"

/* Lambda's limit on a buffered response payload, in bytes (6 MB as Lambda counts it). */
#define LRT_MAX_RESPONSE 6291556
/* Lambda's limit on a streamed response body, in bytes (20 MiB). */
#define LRT_MAX_STREAM (20 * 1024 * 1024)

/*
 * Error codes: every function that can fail returns 0 or one of these (negative). They follow the one
 * convention of the nearjs tree (libuv's): a code with an errno equivalent is that errno negated
 * (LRT_ENOMEM is -ENOMEM, LRT_EINVAL is -EINVAL); the runtime's own codes are in -4301..-4399. The values
 * are those of the tree's shared table (common/error.h: CM_ENOMEM, CM_ERESPTOOBIG, ...), which this
 * installed header does not need; the LRT_E* names stay, so code written against them is unchanged
 * (binaries built against version 0.1.0, where the values were -1..-7, must be rebuilt).
 */
#define LRT_ERRNO_MAP(X)                                                                                               \
    X(NOMEM, -ENOMEM, "out of memory")                                                                                 \
    X(TOOBIG, -4301, "response larger than Lambda allows")                                                             \
    X(STATE, -4302, "call not allowed in this state of the response")                                                  \
    X(TRANSPORT, -4303, "Runtime API unreachable")                                                                     \
    X(PROTOCOL, -4304, "Runtime API answered something unexpected")                                                    \
    X(CONFIG, -4305, "environment incomplete")                                                                         \
    X(INVAL, -EINVAL, "invalid argument")

typedef enum lrt_errno {
#define LRT__ERRNO_ENUM(name, value, text) LRT_E##name = value,
    LRT_ERRNO_MAP(LRT__ERRNO_ENUM)
#undef LRT__ERRNO_ENUM
} lrt_errno_t;

/* Returns a static, human-readable text for an error code from LRT_ERRNO_MAP ("unknown error" otherwise). */
const char *lrt_strerror(int err);

/*
 * One invocation, as the Runtime API delivered it. Every pointer is borrowed: valid until the handler
 * returns. Strings are NUL-terminated; optional ones are NULL when Lambda did not send them.
 */
typedef struct lrt_invocation {
    const char *payload; /* the event, as sent (usually JSON); NUL-terminated for convenience */
    size_t payload_len;
    const char *request_id;       /* Lambda-Runtime-Aws-Request-Id */
    int64_t deadline_ms;          /* Lambda-Runtime-Deadline-Ms: Unix epoch milliseconds, 0 if absent */
    const char *function_arn;     /* Lambda-Runtime-Invoked-Function-Arn */
    const char *trace_id;         /* Lambda-Runtime-Trace-Id (also in _X_AMZN_TRACE_ID), or NULL */
    const char *client_context;   /* Lambda-Runtime-Client-Context (JSON), or NULL */
    const char *cognito_identity; /* Lambda-Runtime-Cognito-Identity (JSON), or NULL */
    const char *tenant_id;        /* Lambda-Runtime-Aws-Tenant-Id, or NULL */
} lrt_invocation_t;

/* Returns the milliseconds left before the invocation's deadline (negative once past it; INT64_MAX without one). */
int64_t lrt_remaining_ms(const lrt_invocation_t *inv);

/*
 * What the handler answers. Owned by the runtime; the handler fills it with exactly one of:
 * lrt_response_set() (a buffered body), lrt_response_fail() (an error), or lrt_stream_begin() followed by
 * lrt_stream_write() calls (a streamed body; a later lrt_response_fail() is sent as trailers).
 * A handler that sets nothing answers an empty body.
 */
typedef struct lrt_response lrt_response_t;

/*
 * Sets a buffered response: copies len bytes of body and the content type (NULL: application/json).
 * Returns 0; LRT_ETOOBIG when len exceeds LRT_MAX_RESPONSE (the invocation is then reported as the
 * error Function.ResponseSizeTooLarge, as Lambda does); LRT_ESTATE after a stream began or an error was set;
 * LRT_ENOMEM. On failure the response is left unchanged apart from that recorded error.
 */
int lrt_response_set(lrt_response_t *res, const void *body, size_t len, const char *content_type);

/*
 * Reports the invocation as failed: error_type (e.g. "Function.NotFound"; NULL: "Runtime.HandlerError")
 * and a printf-style message, posted as {"errorMessage","errorType","stackTrace":[]} with the header
 * Lambda-Runtime-Function-Error-Type. Text may be any bytes; invalid UTF-8 is replaced, never passed on.
 * After lrt_stream_begin() the error ends the stream as trailers. Returns 0, LRT_ESTATE if an error
 * was already set, or LRT_ENOMEM.
 */
int lrt_response_fail(lrt_response_t *res, const char *error_type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Starts a streamed response (Lambda-Runtime-Function-Response-Mode: streaming, chunked). content_type
 * NULL means application/octet-stream. Returns 0, LRT_ESTATE if a body or error was already set or the
 * stream already began, or LRT_ETRANSPORT if the Runtime API cannot be reached.
 */
int lrt_stream_begin(lrt_response_t *res, const char *content_type);

/*
 * Sends len bytes of the streamed body now, as one chunk; returns once the socket has taken them.
 * Returns 0, LRT_ESTATE without lrt_stream_begin(), LRT_ETOOBIG past LRT_MAX_STREAM bytes in all (the
 * stream then ends with a Function.ResponseSizeTooLarge error), or LRT_ETRANSPORT if the connection broke.
 */
int lrt_stream_write(lrt_response_t *res, const void *data, size_t len);

/* The handler: reads inv, fills res. user is lrt_options_t.user. */
typedef void (*lrt_handler_t)(const lrt_invocation_t *inv, lrt_response_t *res, void *user);

/*
 * The init hook, run once before the first invocation. To fail init, call lrt_response_fail(err, ...):
 * the runtime posts it to /runtime/init/error and exits 1. Anything else written to err is ignored.
 */
typedef void (*lrt_init_t)(lrt_response_t *err, void *user);

typedef struct lrt_options {
    lrt_handler_t handler; /* required */
    lrt_init_t init;       /* optional */
    void *user;            /* passed to both */
    /* The Runtime API's host:port; NULL: the AWS_LAMBDA_RUNTIME_API environment variable. */
    const char *endpoint;
    /* Attempts per Runtime API call before giving up on a dead endpoint; 0: the default (6, ~1.6 s). */
    unsigned max_attempts;
} lrt_options_t;

/*
 * Runs the invocation loop until the Runtime API goes away for good or SIGTERM arrives (the current
 * invocation is finished first). Returns the process exit status for main(): 0 after SIGTERM, 1 when the
 * Runtime API stayed unreachable or init failed, 2 on a broken environment (each with one line on stderr
 * naming the endpoint and the cause).
 */
int lrt_run(const lrt_options_t *opts);

/* lrt_run() with only a handler: the three-line main. */
int lrt_main(lrt_handler_t handler, void *user);

/* Log levels for lrt_log(); entries below AWS_LAMBDA_LOG_LEVEL (default INFO) are dropped. */
typedef enum lrt_log_level {
    LRT_LOG_TRACE,
    LRT_LOG_DEBUG,
    LRT_LOG_INFO,
    LRT_LOG_WARN,
    LRT_LOG_ERROR,
    LRT_LOG_FATAL
} lrt_log_level_t;

/*
 * Writes one log entry to stderr, as one line, tagged with the current request id: plain
 * "TIME\tREQUEST_ID\tLEVEL\tmessage", or a JSON object when AWS_LAMBDA_LOG_FORMAT=JSON. Newlines in the
 * message are kept inside the entry (escaped in JSON, as "\r" in plain text, which CloudWatch shows
 * as one event). Safe to call at any time on the runtime's thread.
 */
void lrt_log(lrt_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif
