/*
 * `nearjs-local start-lambda`: Lambda's Invoke API (2015-03-31) in front of the warm pool, enough for
 * `aws lambda invoke --endpoint-url`: RequestResponse (the answer, or the error document with
 * X-Amz-Function-Error: Unhandled), Event (202 at once; the invocation runs on, its result only logged),
 * DryRun (204), X-Amz-Log-Type: Tail (X-Amz-Log-Result: base64 of the invocation's last 4 KB of log).
 * Errors of the API itself come as Lambda's: x-amzn-ErrorType and {"Type","message"}.
 */
#include "start_api.h"
#include "server.h"
#include "common/error.h"
#include "local/rapi.h"
#include "common/log.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PATH_PREFIX "/2015-03-31/functions/"
#define PATH_SUFFIX "/invocations"
/* Lambda's caps on an invocation's payload: synchronous, and asynchronous (Event). */
#define MAX_SYNC_PAYLOAD 6291456
#define MAX_ASYNC_PAYLOAD (256 * 1024)

typedef struct pending {
    h2o_req_t *req;
    nl_pool_job_t *job;
    int tail;
} pending_t;

static void pending_dispose(void *p)
{
    pending_t *pd = p;
    if (pd->job != NULL) {
        nl__log("start-lambda: the caller went away before the answer: the answer will be dropped");
        nl_pool_cancel(pd->job);
        pd->job = NULL;
    }
}

/* Answers with Lambda's error shape. */
static void send_api_error(h2o_req_t *req, int status, const char *type, const char *message)
{
    json_t *doc = json_pack("{s:s, s:s}", "Type", "User", "message", message);
    char *body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    nl__log("start-lambda: %.*s %.*s: %d %s: %s", (int)req->input.method.len, req->input.method.base,
            (int)(req->input.path.len < 200 ? req->input.path.len : 200), req->input.path.base, status, type, message);
    nl__server_send(req, status, "x-amzn-errortype", type, body != NULL ? body : "{}");
    free(body);
}

static h2o_iovec_t find_header(h2o_req_t *req, const char *lower)
{
    size_t n = strlen(lower);
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        if (h->name->len == n && strncasecmp(h->name->base, lower, n) == 0)
            return h->value;
    }
    return h2o_iovec_init(NULL, 0);
}

static int iov_is(h2o_iovec_t v, const char *s)
{
    return v.len == strlen(s) && strncasecmp(v.base, s, v.len) == 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The function's name out of the path's {name}: percent-decoded, from a name, a partial or full ARN
 * ("123456789012:function:NAME", "arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]"), or
 * "NAME:QUALIFIER". Returns 0, or -1 when it does not fit out. */
static int function_name(const char *p, size_t n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        char c = p[i];
        if (c == '%' && i + 2 < n && (hi = hexval((unsigned char)p[i + 1])) >= 0 &&
            (lo = hexval((unsigned char)p[i + 2])) >= 0) {
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (o + 1 >= size)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    char *fn = strstr(out, ":function:");
    if (fn != NULL)
        memmove(out, fn + 10, strlen(fn + 10) + 1);
    char *colon = strchr(out, ':');
    if (colon != NULL)
        *colon = '\0';
    return 0;
}

static void add_header(h2o_req_t *req, const char *name, const char *value, size_t len)
{
    h2o_iovec_t v = h2o_strdup(&req->pool, value, len);
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 1, NULL, v.base, v.len);
}

static void on_done(const nl_pool_result_t *r, void *user)
{
    static h2o_generator_t generator = {NULL, NULL};
    pending_t *pd = user;
    pd->job = NULL;
    h2o_req_t *req = pd->req;
    req->res.status = 200;
    req->res.reason = "OK";
    add_header(req, "content-type", "application/json", 16);
    add_header(req, "x-amzn-requestid", r->request_id, strlen(r->request_id));
    add_header(req, "x-amz-executed-version", "$LATEST", 7);
    if (r->status != NL_POOL_OK) {
        add_header(req, "x-amz-function-error", "Unhandled", 9);
        nl__log("start-lambda: request %s failed: %s", r->request_id,
                r->error_type != NULL ? r->error_type : "Unhandled");
    }
    if (pd->tail) {
        /* the log's bytes may not be UTF-8 or may hold newlines: base64 makes them a header value */
        unsigned char *b64 = h2o_mem_alloc_pool(&req->pool, (r->log_tail_len + 2) / 3 * 4 + 1);
        int n = EVP_EncodeBlock(b64, (const unsigned char *)r->log_tail, (int)r->log_tail_len);
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-amz-log-result"), 1, NULL, (char *)b64,
                              (size_t)n);
    }
    h2o_iovec_t body = h2o_strdup(&req->pool, r->body, r->body_len);
    req->res.content_length = body.len;
    h2o_start_response(req, &generator);
    h2o_send(req, &body, 1, 1);
}

static void on_event_done(const nl_pool_result_t *r, void *user)
{
    (void)user;
    if (r->status != NL_POOL_OK)
        nl__log("start-lambda: asynchronous request %s failed: %s: %.300s", r->request_id,
                r->error_type != NULL ? r->error_type : "Unhandled", r->body);
}

int nl__lambda_on_req(nl__server_t *srv, h2o_req_t *req)
{
    const nl__serve_args_t *a = srv->args;
    size_t path_len = req->input.query_at != SIZE_MAX ? req->input.query_at : req->input.path.len;
    const char *path = req->input.path.base;
    size_t pre = sizeof(PATH_PREFIX) - 1, suf = sizeof(PATH_SUFFIX) - 1;
    if (path_len <= pre + suf || memcmp(path, PATH_PREFIX, pre) != 0 ||
        memcmp(path + path_len - suf, PATH_SUFFIX, suf) != 0) {
        send_api_error(req, 404, "UnknownOperationException", "Unknown operation: this emulator serves only Invoke");
        return 0;
    }
    if (!h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("POST"))) {
        send_api_error(req, 405, "MethodNotAllowedException", "Invoke takes POST");
        return 0;
    }
    char name[256];
    if (function_name(path + pre, path_len - pre - suf, name, sizeof(name)) != 0 || strcmp(name, a->name) != 0) {
        char msg[512];
        snprintf(msg, sizeof(msg), "Function not found: arn:aws:lambda:%s:123456789012:function:%.140s",
                 srv->pool_cfg.region, name);
        send_api_error(req, 404, "ResourceNotFoundException", msg);
        return 0;
    }
    h2o_iovec_t type = find_header(req, "x-amz-invocation-type");
    int is_event = iov_is(type, "Event"), is_dry = iov_is(type, "DryRun");
    if (type.base != NULL && !is_event && !is_dry && !iov_is(type, "RequestResponse")) {
        send_api_error(req, 400, "InvalidParameterValueException",
                       "X-Amz-Invocation-Type must be RequestResponse, Event or DryRun");
        return 0;
    }
    h2o_iovec_t log_type = find_header(req, "x-amz-log-type");
    if (log_type.base != NULL && !iov_is(log_type, "Tail") && !iov_is(log_type, "None")) {
        send_api_error(req, 400, "InvalidParameterValueException", "X-Amz-Log-Type must be None or Tail");
        return 0;
    }
    const char *payload = req->entity.base != NULL && req->entity.len > 0 ? req->entity.base : "{}";
    size_t len = req->entity.base != NULL && req->entity.len > 0 ? req->entity.len : 2;
    size_t max = is_event ? MAX_ASYNC_PAYLOAD : MAX_SYNC_PAYLOAD;
    if (len > max) {
        char msg[128];
        snprintf(msg, sizeof(msg), "Request must be smaller than %zu bytes for the %s operation", max,
                 is_event ? "InvokeAsync" : "InvokeFunction");
        send_api_error(req, 413, "RequestEntityTooLargeException", msg);
        return 0;
    }
    json_t *doc = json_loadb(payload, len, JSON_DECODE_ANY, NULL);
    int valid = doc != NULL;
    json_decref(doc);
    if (!valid) {
        send_api_error(req, 400, "InvalidRequestContentException", "Could not parse request body into json");
        return 0;
    }
    char id[NL_REQUEST_ID_SIZE];
    if (is_dry) {
        nl_rapi_new_request_id(id);
        add_header(req, "x-amzn-requestid", id, strlen(id));
        req->res.status = 204;
        req->res.reason = "No Content";
        h2o_send_inline(req, "", 0);
        return 0;
    }
    if (is_event) {
        int rc = nl_pool_submit(srv->pool, payload, len, on_event_done, NULL, NULL);
        if (rc != 0) {
            send_api_error(req, 429, "TooManyRequestsException", "Rate Exceeded.");
            return 0;
        }
        nl_rapi_new_request_id(id);
        add_header(req, "x-amzn-requestid", id, strlen(id));
        req->res.status = 202;
        req->res.reason = "Accepted";
        h2o_send_inline(req, "", 0);
        return 0;
    }
    pending_t *pd = h2o_mem_alloc_shared(&req->pool, sizeof(*pd), pending_dispose);
    memset(pd, 0, sizeof(*pd));
    pd->req = req;
    pd->tail = iov_is(log_type, "Tail");
    int rc = nl_pool_submit(srv->pool, payload, len, on_done, pd, &pd->job);
    if (rc == CM_EBUSY)
        send_api_error(req, 429, "TooManyRequestsException", "Rate Exceeded.");
    else if (rc != 0)
        send_api_error(req, 500, "ServiceException", cm_strerror(rc));
    return 0;
}
