/*
 * The Lambda Runtime API server (API version 2018-06-01), one listener per worker.
 *
 * A worker is what one Lambda execution environment sees: its own 127.0.0.1:PORT endpoint, served on
 * the caller's h2o event loop, that one runtime process polls with GET /runtime/invocation/next. The
 * caller (invoke, later start-api/start-lambda with a pool of N workers) owns the processes and the
 * timeouts; the worker owns only the protocol: it hands one event at a time to the runtime and reports
 * what came back through callbacks. Unknown ids, repeated posts, oversized bodies and malformed HTTP are
 * answered as Lambda answers them and reported with on_log; nothing a runtime sends can crash it.
 *
 * Threading: single-threaded; every call and callback happens on the loop's thread. Callbacks must not
 * free the worker (schedule that on the loop, e.g. with a zero timeout).
 */
#ifndef NEARJS_LOCAL_RAPI_H
#define NEARJS_LOCAL_RAPI_H

#include <h2o.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Lambda's cap on a buffered response or error payload, in bytes. */
#define NL_RAPI_MAX_RESPONSE 6291556
/* Our cap on a streamed response (Lambda's documented soft limit: 20 MiB). */
#define NL_RAPI_MAX_STREAM (20 * 1024 * 1024)
/* A request id is a UUID: 36 characters and a NUL. */
#define NL_REQUEST_ID_SIZE 37

typedef struct nl_rapi_worker nl_rapi_worker_t;

typedef enum nl_rapi_outcome {
    NL_RAPI_RESPONSE,   /* the function answered: body is the payload */
    NL_RAPI_ERROR,      /* the function failed (its POST /error, a stream error trailer, or a size limit):
                           body is the error as sent (normally JSON, maybe not), error_type its type */
    NL_RAPI_INIT_ERROR, /* POST /runtime/init/error: body and error_type as for NL_RAPI_ERROR */
} nl_rapi_outcome_t;

typedef struct nl_rapi_result {
    nl_rapi_outcome_t outcome;
    const char *request_id; /* "" for an init error */
    const char *body;       /* borrowed for the duration of the callback; NUL-terminated */
    size_t body_len;
    const char *error_type; /* Lambda-Runtime-Function-Error-Type (header or trailer), or NULL */
    int streamed;           /* the response came as a stream; its bytes went to on_stream first */
    uint64_t payload_bytes; /* bytes the runtime sent as payload, counted past the caps too */
} nl_rapi_result_t;

typedef struct nl_rapi_callbacks {
    /* The runtime waits on GET /next and no event is queued. first is 1 the first time: init is over. */
    void (*on_idle)(nl_rapi_worker_t *w, int first, void *user);
    /* The event of request_id went out to the runtime: the invocation's clock starts. */
    void (*on_start)(nl_rapi_worker_t *w, const char *request_id, void *user);
    /* A piece of a streamed response as it arrives (may be NULL: the pieces are then only counted). */
    void (*on_stream)(nl_rapi_worker_t *w, const char *request_id, const char *bytes, size_t len, void *user);
    /* The invocation (or init) ended; after this the request id is no longer valid. */
    void (*on_result)(nl_rapi_worker_t *w, const nl_rapi_result_t *res, void *user);
    /* One line (no newline) on a protocol misuse or I/O problem, for the program to log. May be NULL. */
    void (*on_log)(nl_rapi_worker_t *w, const char *line, void *user);
} nl_rapi_callbacks_t;

typedef struct nl_rapi_config {
    const char *function_name; /* for the invoked function ARN; borrowed for the worker's lifetime */
    const char *region;        /* likewise */
    size_t max_response;       /* 0: NL_RAPI_MAX_RESPONSE */
    size_t max_stream;         /* 0: NL_RAPI_MAX_STREAM */
} nl_rapi_config_t;

typedef struct nl_rapi_event {
    const char *request_id; /* the invocation's id (from nl_rapi_new_request_id), or NULL for a new one */
    const char *payload;    /* copied by nl_rapi_worker_invoke */
    size_t payload_len;
    uint64_t deadline_ms;         /* epoch ms, sent as Lambda-Runtime-Deadline-Ms */
    const char *client_context;   /* Lambda-Runtime-Client-Context, or NULL; copied */
    const char *cognito_identity; /* Lambda-Runtime-Cognito-Identity, or NULL; copied */
} nl_rapi_event_t;

/* Writes a new request id (a random UUID v4) into out. */
void nl_rapi_new_request_id(char out[NL_REQUEST_ID_SIZE]);

/* Starts a worker listening on 127.0.0.1 on an ephemeral port. cfg, cb and user are borrowed for the
 * worker's lifetime. Returns 0 and a new worker in *out (free with nl_rapi_worker_free), or CM_ENOMEM /
 * CM_ESYS (errno set) with *out untouched. */
int nl_rapi_worker_new(h2o_loop_t *loop, const nl_rapi_config_t *cfg, const nl_rapi_callbacks_t *cb, void *user,
                       nl_rapi_worker_t **out);
/* Closes the listener and every connection, drops any invocation without a callback. NULL is a no-op. */
void nl_rapi_worker_free(nl_rapi_worker_t *w);
/* Returns "127.0.0.1:PORT", the value of AWS_LAMBDA_RUNTIME_API (borrowed, lives as long as w). */
const char *nl_rapi_worker_address(const nl_rapi_worker_t *w);
/* Queues one event; it goes to the runtime at its next GET /next (at once if one is waiting). Fills
 * request_id with the new invocation's UUID. Returns 0, CM_EBUSY (an invocation is queued or running;
 * nothing changed), CM_EINVAL (a request id that is not 36 characters, or a header value with a control
 * character) or CM_ENOMEM. */
int nl_rapi_worker_invoke(nl_rapi_worker_t *w, const nl_rapi_event_t *ev, char request_id[NL_REQUEST_ID_SIZE]);
/* Forgets the queued or running invocation (it timed out, or the runtime died) without a callback; later
 * posts for it get 403 InvalidStateTransition, as after a response. A no-op when there is none. */
void nl_rapi_worker_abandon(nl_rapi_worker_t *w);
/* Returns 1 while an invocation is queued or running, else 0. */
int nl_rapi_worker_busy(const nl_rapi_worker_t *w);

#ifdef __cplusplus
}
#endif

#endif
