/*
 * function/event.h: the invocation event, as API Gateway (REST payload 1.0, HTTP API payload 2.0) or a
 * Lambda function URL sends it, reduced to what the function uses: method, raw path, and the two
 * request headers that shape the answer (If-None-Match, Accept-Encoding).
 */
#ifndef NEARJS_FUNCTION_EVENT_H
#define NEARJS_FUNCTION_EVENT_H

#include <stddef.h>
#include "common/buf.h"

typedef enum fn_event_kind {
    FN_EVENT_V1 = 1, /* REST API payload 1.0: answered with multiValueHeaders */
    FN_EVENT_V2,     /* HTTP API payload 2.0: answered with headers */
    FN_EVENT_URL     /* function URL (payload 2.0 shape, domain *.lambda-url.*): answered as 2.0 */
} fn_event_kind_t;

typedef enum fn_method { FN_METHOD_OTHER = 0, FN_METHOD_GET, FN_METHOD_HEAD, FN_METHOD_OPTIONS } fn_method_t;

/* Caps on what an event may carry into the function. */
#define FN_EVENT_MAX (1024 * 1024)
#define FN_HEADER_MAX (16 * 1024)

typedef struct fn_request {
    fn_event_kind_t kind;
    fn_method_t method;
    cm_buf_t path;            /* the raw path as sent (rawPath in 2.0, path in 1.0); never decoded */
    cm_buf_t if_none_match;   /* header value, repeated headers joined with ", "; empty when absent */
    cm_buf_t accept_encoding; /* likewise */
} fn_request_t;

/* Prepares an empty request. */
void fn_request_init(fn_request_t *req);

/* Frees what parsing stored. */
void fn_request_dispose(fn_request_t *req);

/*
 * Parses len bytes of event JSON into req (previous content is replaced). Returns 0; CM_EBADEVENT
 * when the text is not JSON or lacks the method or path of a known event version (req->kind is still
 * set when the version was recognised, else 0); CM_ETOOBIG when the event or a header is over its cap;
 * CM_ENOMEM.
 */
int fn_request_parse(fn_request_t *req, const char *event, size_t len);

#endif
