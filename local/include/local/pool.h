/*
 * A warm pool of execution environments: N runtime processes, each with its own Runtime API worker,
 * started once and kept alive, fed from one FIFO queue of invocations.
 *
 * Each process initializes once (its init duration is reported); an invocation goes to the first idle
 * environment, or waits in the queue. A runtime that crashes or times out fails only the invocation it
 * was running (Runtime.ExitError / Sandbox.Timedout) and is replaced; an invocation it had not started
 * yet goes back to the head of the queue. A runtime that fails its init is replaced after a back-off,
 * and its init error fails the oldest waiting invocation, as a cold start's would in Lambda.
 * The runtimes' stdout and stderr come through the pool: each line is handed to the log callback, and
 * the lines of an invocation, framed by Lambda's START/END/REPORT lines, are kept (last 4 KB) for
 * Invoke's `X-Amz-Log-Type: Tail`.
 *
 * Threading: single-threaded, on the caller's h2o loop. The caller owns signal handling and must call
 * nl_pool_on_sigchld on each SIGCHLD.
 */
#ifndef NEARJS_LOCAL_POOL_H
#define NEARJS_LOCAL_POOL_H

#include <h2o.h>

#include "local/env.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Lambda's X-Amz-Log-Result holds the last 4 KB of an invocation's log. */
#define NL_POOL_LOG_TAIL 4096

typedef struct nl_pool nl_pool_t;
typedef struct nl_pool_job nl_pool_job_t;

typedef enum nl_pool_status {
    NL_POOL_OK,      /* the function answered: body is its payload */
    NL_POOL_ERROR,   /* the function failed (handler error, response too large): body is the error document */
    NL_POOL_TIMEOUT, /* the invocation ran out of time (Sandbox.Timedout document) */
    NL_POOL_CRASH,   /* the runtime died during the invocation (Runtime.ExitError document) */
    NL_POOL_INIT,    /* no environment could be initialized for it (the init error's document) */
} nl_pool_status_t;

typedef struct nl_pool_result {
    nl_pool_status_t status;
    const char *request_id;
    const char *body; /* borrowed for the callback's duration; NUL-terminated */
    size_t body_len;
    const char *error_type; /* for the failures: Lambda's errorType, or NULL when unknown */
    const char *log_tail;   /* the invocation's log (last NL_POOL_LOG_TAIL bytes), borrowed */
    size_t log_tail_len;
    uint64_t duration_ns; /* from the event going out to the answer */
} nl_pool_result_t;

/* Called once per submitted job (never after nl_pool_cancel); the job is freed after it returns. */
typedef void (*nl_pool_done_cb)(const nl_pool_result_t *res, void *user);

typedef enum nl_pool_log_kind {
    NL_POOL_LOG_NOTICE,  /* the pool's own notice (init durations, crashes, replacements) */
    NL_POOL_LOG_RUNTIME, /* a line of a runtime's output, or a START/END/REPORT line, to be written as is */
} nl_pool_log_kind_t;
/* One line, without its newline. */
typedef void (*nl_pool_log_cb)(nl_pool_log_kind_t kind, const char *line, size_t len, void *user);

typedef struct nl_pool_config {
    const char *bootstrap; /* absolute path of the executable */
    const char *task_root;
    const char *function_name;
    const char *handler;
    const char *region;
    unsigned memory_mb;
    double timeout_s;
    const nl_env_t *user_env; /* the function's own variables; may be NULL */
    unsigned workers;         /* >= 1 */
    size_t max_queue;         /* 0: 10000 */
    int platform_lines;       /* write START/END/REPORT lines (and keep them in the tail); 0 spares the cost */
    nl_pool_log_cb log;       /* may be NULL */
    void *log_user;
} nl_pool_config_t;

/* Starts cfg->workers runtimes on loop. cfg and everything it points to are borrowed for the pool's
 * lifetime. Returns 0 and a new pool in *out (nl_pool_free), or CM_ENOMEM / CM_ESYS (errno set: no socket
 * or the bootstrap cannot be spawned) with nothing left running. */
int nl_pool_new(h2o_loop_t *loop, const nl_pool_config_t *cfg, nl_pool_t **out);
/* Kills every runtime (and what it started), reaps them, and drops queued or running jobs without
 * callbacks. NULL is a no-op. */
void nl_pool_free(nl_pool_t *p);
/* Queues one invocation of payload (copied); an idle runtime gets it at once. cb is called once with its
 * result (never from inside this call). Returns 0 and the job in *out (valid until cb returns or nl_pool_cancel),
 * CM_EBUSY when the queue is full, CM_ENOMEM. */
int nl_pool_submit(nl_pool_t *p, const char *payload, size_t len, nl_pool_done_cb cb, void *user, nl_pool_job_t **out);
/* The caller lost interest (its client went away): no callback will come. A queued job is dropped; a
 * running one finishes in its runtime and its result is thrown away, so the runtime is not left stuck. */
void nl_pool_cancel(nl_pool_job_t *job);
/* Reaps runtimes that exited, fails or requeues their jobs, and starts their replacements. */
void nl_pool_on_sigchld(nl_pool_t *p);
/* Returns the number of runtimes that finished their init and are alive. */
unsigned nl_pool_warm(const nl_pool_t *p);
/* Returns the number of jobs waiting for a runtime. */
size_t nl_pool_queued(const nl_pool_t *p);

#ifdef __cplusplus
}
#endif

#endif
