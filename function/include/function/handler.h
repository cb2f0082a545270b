/*
 * function/handler.h: the function itself, independent of the Lambda runtime: an event in, the
 * answer JSON out (statusCode, headers or multiValueHeaders, body, isBase64Encoded). The bootstrap
 * (src/main.c) connects it to lrt_run(); tests call it directly.
 * Not thread-safe: one handler per thread (Lambda runs one invocation at a time per instance).
 */
#ifndef NEARJS_FUNCTION_HANDLER_H
#define NEARJS_FUNCTION_HANDLER_H

#include <stddef.h>
#include <stdint.h>
#include "common/buf.h"

typedef enum fn_log_level { FN_LOG_INFO, FN_LOG_WARN, FN_LOG_ERROR } fn_log_level_t;

/* Where the handler reports what operators must see (store failures, invalid content): one line each. */
typedef void (*fn_log_t)(void *ctx, fn_log_level_t level, const char *line);

/* Counters for tests and benchmarks. */
typedef struct fn_stats {
    uint64_t requests;
    uint64_t renders; /* scripts rendered from the store's bytes */
    uint64_t gzips;   /* gzip encodings made */
    uint64_t hits;    /* answered from the warm cache */
} fn_stats_t;

typedef struct fn_handler fn_handler_t;

/*
 * Creates a handler serving the store at store_url (see fn_store_open). log may be NULL. Returns 0 and
 * a new handler in *out (free with fn_handler_free), or fn_store_open's error.
 */
int fn_handler_new(const char *store_url, fn_log_t log, void *log_ctx, fn_handler_t **out);

/*
 * Names the region that renders: every answer from then on carries `X-Nearjs-Region: region`, so a
 * visitor (and the end-to-end tests) can tell which region's function answered after the edge's
 * failover. region is copied (1-63 of [a-z0-9-], AWS's region names); NULL, "" or anything else removes
 * the header. The bootstrap passes cm_env_region() (AWS_REGION, else AWS_DEFAULT_REGION), the S3 store's too.
 */
void fn_handler_set_region(fn_handler_t *h, const char *region);

/* Frees the handler and its store and cache; NULL is a no-op. */
void fn_handler_free(fn_handler_t *h);

/*
 * Answers one event of len bytes: out (cleared first; its cap should be Lambda's payload limit) gets
 * the response JSON. Every HTTP outcome (400, 404, 503, ...) is an answer and returns 0; only
 * CM_ENOMEM or CM_ETOOBIG (the answer does not fit out) fail, leaving out unspecified.
 */
int fn_handler_handle(fn_handler_t *h, const char *event, size_t len, cm_buf_t *out);

/* Copies the handler's counters into *out. */
void fn_handler_stats(const fn_handler_t *h, fn_stats_t *out);

#endif
