/*
 * `nearjs-local start-api`: API Gateway in front of the warm pool. Each request becomes a proxy event
 * (payload 2.0 or 1.0), waits for a runtime, and the answer is mapped back; every answer that is not the
 * function's own (403, 413, 429, 502, 504) comes with one log line saying why.
 *
 * A request's state (pending_t) lives in its h2o memory pool with a dispose hook: when the client goes
 * away first, the hook cancels the job, so the result is dropped instead of written to a dead request.
 */
#include "start_api.h"
#include "furl_auth.h"
#include "server.h"
#include "ids.h"
#include "local/apigw.h"
#include "common/error.h"
#include "common/http.h"
#include "common/log.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FORBIDDEN_BODY "{\"message\":\"Forbidden\"}"
#define INTERNAL_BODY "{\"message\":\"Internal server error\"}"
#define TIMEOUT_BODY "{\"message\":\"Endpoint request timed out\"}"
#define THROTTLED_BODY "{\"message\":\"Too Many Requests\"}"
#define TOO_LARGE_BODY "{\"message\":\"Request Entity Too Large\"}"
/* A function URL's refusal, as Lambda words it today (403, x-amzn-ErrorType AccessDeniedException; seen in
 * awsdocs/aws-lambda-developer-guide issue 494, 2026): the same for unsigned, expired, tampered and
 * unauthorized requests, so that a caller learns nothing about which check failed. */
#define URL_FORBIDDEN_BODY                                                                                             \
    "{\"Message\":\"Forbidden. For troubleshooting Function URL authorization issues, see: "                           \
    "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html\"}"

typedef struct pending {
    nl__server_t *srv;
    h2o_req_t *req;
    nl_pool_job_t *job;
    char request_id[37]; /* API Gateway's 16 characters, or Lambda's UUID for a function URL */
    char method[16];
    char path[128]; /* for log lines; cut */
} pending_t;

static void log_req(const pending_t *pd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_req(const pending_t *pd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    nl__log("start-api: %s %s (request %s): %s", pd->method, pd->path, pd->request_id, msg);
}

static void pending_dispose(void *p)
{
    pending_t *pd = p;
    if (pd->job != NULL) {
        log_req(pd, "client went away before the answer: the answer will be dropped");
        nl_pool_cancel(pd->job);
        pd->job = NULL;
    }
}

/* The host part of an authority ("name:port", "[v6]:port"), lowercase, into out. */
static void authority_host(h2o_iovec_t authority, char *out, size_t size)
{
    h2o_iovec_t host = {NULL, 0};
    uint16_t port;
    if (authority.len == 0 || h2o_url_parse_hostport(authority.base, authority.len, &host, &port) == NULL) {
        host = authority;
    }
    size_t n = host.len < size - 1 ? host.len : size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)host.base[i]);
    out[n] = '\0';
}

/* The custom domain check: API Gateway serves a custom domain only when both the TLS SNI and the Host are
 * that domain. Returns NULL when the request may go on, else why not. */
static const char *domain_refusal(const nl__serve_args_t *a, h2o_req_t *req, char *buf, size_t size)
{
    const char *sni = nl__server_sni(req);
    if (sni == NULL || sni[0] == '\0')
        return "the TLS handshake carried no SNI";
    if (strcasecmp(sni, a->domain) != 0) {
        snprintf(buf, size, "SNI '%.100s' is not '%s'", sni, a->domain);
        return buf;
    }
    char host[256];
    authority_host(req->input.authority, host, sizeof(host));
    if (strcasecmp(host, a->domain) != 0) {
        snprintf(buf, size, "Host '%.100s' is not '%s'", host, a->domain);
        return buf;
    }
    return NULL;
}

static void add_common_headers(h2o_req_t *req, const nl__serve_args_t *a, const char *request_id)
{
    if (a->function_url)
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-amzn-requestid"), 0, NULL,
                              h2o_strdup(&req->pool, request_id, SIZE_MAX).base, strlen(request_id));
    else if (a->payload == 2)
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("apigw-requestid"), 0, NULL,
                              h2o_strdup(&req->pool, request_id, SIZE_MAX).base, strlen(request_id));
    else
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-amzn-requestid"), 0, NULL,
                              h2o_strdup(&req->pool, request_id, SIZE_MAX).base, strlen(request_id));
}

static void send_gateway_error(pending_t *pd, int status, const char *body)
{
    h2o_req_t *req = pd->req;
    add_common_headers(req, pd->srv->args, pd->request_id);
    if (status == 403 && pd->srv->args->function_url)
        nl__server_send(req, status, "x-amzn-errortype", "AccessDeniedException", URL_FORBIDDEN_BODY);
    else if (status == 403)
        nl__server_send(req, status, "x-amzn-errortype", "ForbiddenException", body);
    else
        nl__server_send(req, status, NULL, NULL, body);
}

static void free_owned(void *p)
{
    free(*(char **)p);
}

/* Sends res; its body is handed to the request's pool (freed with it), not copied. */
static void send_mapped(pending_t *pd, nl_apigw_response_t *res)
{
    static h2o_generator_t generator = {NULL, NULL};
    h2o_req_t *req = pd->req;
    req->res.status = res->status;
    req->res.reason = cm_http_reason(res->status);
    for (size_t i = 0; i < res->num_headers; i++) {
        size_t nlen = strlen(res->headers[i].name), vlen = strlen(res->headers[i].value);
        h2o_iovec_t name = h2o_strdup(&req->pool, res->headers[i].name, nlen);
        /* HTTP/2 wants lowercase names, and h2o finds its tokens only in lowercase */
        h2o_strtolower(name.base, name.len);
        h2o_iovec_t value = h2o_strdup(&req->pool, res->headers[i].value, vlen);
        h2o_add_header_by_str(&req->pool, &req->res.headers, name.base, name.len, 1, NULL, value.base, value.len);
    }
    add_common_headers(req, pd->srv->args, pd->request_id);
    char **owned = h2o_mem_alloc_shared(&req->pool, sizeof(*owned), free_owned);
    *owned = res->body;
    h2o_iovec_t body = h2o_iovec_init(res->body, res->body_len);
    res->body = NULL;
    res->body_len = 0;
    req->res.content_length = body.len;
    h2o_start_response(req, &generator);
    h2o_send(req, &body, 1, 1);
}

/* "Type: message" of a Lambda error document, for log lines. */
static void error_summary(const char *doc, size_t len, char *out, size_t size)
{
    json_t *j = json_loadb(doc, len, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "errorType"));
    const char *msg = json_string_value(json_object_get(j, "errorMessage"));
    if (type != NULL || msg != NULL)
        snprintf(out, size, "%s: %.300s", type != NULL ? type : "Unhandled", msg != NULL ? msg : "");
    else
        snprintf(out, size, "%.300s", doc);
    json_decref(j);
}

static void on_done(const nl_pool_result_t *r, void *user)
{
    pending_t *pd = user;
    pd->job = NULL;
    char summary[512];
    switch (r->status) {
    case NL_POOL_OK: {
        nl_apigw_response_t res;
        nl_apigw_response_init(&res);
        char why[256];
        int rc = nl_apigw_response_map(pd->srv->args->payload, r->body, r->body_len, &res, why, sizeof(why));
        if (rc == 0) {
            send_mapped(pd, &res);
        } else {
            log_req(pd, "502: malformed answer from the function (Lambda request %s): %s", r->request_id,
                    rc == CM_EINVAL ? why : cm_strerror(rc));
            send_gateway_error(pd, 502, INTERNAL_BODY);
        }
        nl_apigw_response_dispose(&res);
        return;
    }
    case NL_POOL_TIMEOUT:
        log_req(pd, "504: the function timed out after %.2f s (Lambda request %s)", pd->srv->args->timeout_s,
                r->request_id);
        send_gateway_error(pd, 504, TIMEOUT_BODY);
        return;
    case NL_POOL_ERROR:
        error_summary(r->body, r->body_len, summary, sizeof(summary));
        log_req(pd, "502: the function failed (Lambda request %s): %s", r->request_id, summary);
        break;
    case NL_POOL_CRASH:
        error_summary(r->body, r->body_len, summary, sizeof(summary));
        log_req(pd, "502: the runtime crashed (Lambda request %s): %s", r->request_id, summary);
        break;
    case NL_POOL_INIT:
        error_summary(r->body, r->body_len, summary, sizeof(summary));
        log_req(pd, "502: no runtime could be initialized: %s", summary);
        break;
    }
    send_gateway_error(pd, 502, INTERNAL_BODY);
}

static int header_is(const h2o_header_t *h, const char *lower)
{
    return h->name->len == strlen(lower) && strncasecmp(h->name->base, lower, h->name->len) == 0;
}

static void new_request_id(const nl__serve_args_t *a, char out[37])
{
    if (a->function_url)
        nl__uuid4(out);
    else
        nl_apigw_request_id(out);
}

h2o_iovec_t nl__api_on_too_large(nl__server_t *srv, h2o_req_t *req)
{
    pending_t pd = {.srv = srv, .req = req};
    new_request_id(srv->args, pd.request_id);
    snprintf(pd.method, sizeof(pd.method), "%.*s", (int)req->input.method.len, req->input.method.base);
    size_t path_len = req->input.query_at != SIZE_MAX ? req->input.query_at : req->input.path.len;
    snprintf(pd.path, sizeof(pd.path), "%.*s", (int)(path_len < 120 ? path_len : 120), req->input.path.base);
    log_req(&pd, "413: the request body is over %d bytes (API Gateway's payload limit)", NL_APIGW_MAX_REQUEST);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    add_common_headers(req, srv->args, pd.request_id);
    return h2o_iovec_init(H2O_STRLIT(TOO_LARGE_BODY));
}

int nl__api_on_req(nl__server_t *srv, h2o_req_t *req)
{
    const nl__serve_args_t *a = srv->args;
    pending_t *pd = h2o_mem_alloc_shared(&req->pool, sizeof(*pd), pending_dispose);
    memset(pd, 0, sizeof(*pd));
    pd->srv = srv;
    pd->req = req;
    new_request_id(a, pd->request_id);
    snprintf(pd->method, sizeof(pd->method), "%.*s", (int)req->input.method.len, req->input.method.base);
    size_t path_len = req->input.query_at != SIZE_MAX ? req->input.query_at : req->input.path.len;
    snprintf(pd->path, sizeof(pd->path), "%.*s", (int)(path_len < 120 ? path_len : 120), req->input.path.base);

    if (a->domain != NULL) {
        char buf[300];
        const char *why = domain_refusal(a, req, buf, sizeof(buf));
        if (why != NULL) {
            log_req(pd, "403 ForbiddenException: %s", why);
            send_gateway_error(pd, 403, FORBIDDEN_BODY);
            return 0;
        }
    }
    nl__furl_signer_t signer;
    if (a->function_url && a->iam_key != NULL) {
        char buf[400];
        const char *why = nl__furl_auth(a, srv->pool_cfg.region, req, cm_epoch_ms() / 1000, &signer, buf, sizeof(buf));
        if (why != NULL) {
            log_req(pd, "403 AccessDeniedException: %s", why);
            send_gateway_error(pd, 403, NULL);
            return 0;
        }
    }

    char peer[64], host[256], port[8], trace[NL__TRACE_ID_SIZE];
    nl__server_peer(req, peer, sizeof(peer));
    authority_host(req->input.authority, host, sizeof(host));
    snprintf(port, sizeof(port), "%u", srv->port);
    /* room for the request's headers and the ones the gateway adds */
    nl_apigw_header_t *hs = h2o_mem_alloc_pool(&req->pool, sizeof(*hs) * (req->headers.size + 5));
    size_t n = 0;
    int has_host = 0, has_trace = 0;
    h2o_iovec_t xff = {NULL, 0};
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        if (header_is(h, "x-forwarded-for")) {
            /* the gateway appends the client's address to what came before it */
            xff = xff.base == NULL ? h->value : h2o_concat(&req->pool, xff, h2o_iovec_init(H2O_STRLIT(", ")), h->value);
            continue;
        }
        if (header_is(h, "x-forwarded-port") || header_is(h, "x-forwarded-proto"))
            continue;
        has_host |= header_is(h, "host");
        has_trace |= header_is(h, "x-amzn-trace-id");
        hs[n++] = (nl_apigw_header_t){.name = h->orig_name != NULL ? h->orig_name : h->name->base,
                                      .name_len = h->name->len,
                                      .value = h->value.base,
                                      .value_len = h->value.len};
    }
    if (!has_host && req->input.authority.len > 0)
        hs[n++] = (nl_apigw_header_t){"host", 4, req->input.authority.base, req->input.authority.len};
    if (!has_trace) {
        nl__trace_id(trace, cm_epoch_ms() / 1000);
        hs[n++] = (nl_apigw_header_t){"x-amzn-trace-id", 15, trace, strlen(trace)};
    }
    xff = xff.base == NULL
              ? h2o_strdup(&req->pool, peer, SIZE_MAX)
              : h2o_concat(&req->pool, xff, h2o_iovec_init(H2O_STRLIT(", ")), h2o_iovec_init(peer, strlen(peer)));
    hs[n++] = (nl_apigw_header_t){"x-forwarded-for", 15, xff.base, xff.len};
    hs[n++] = (nl_apigw_header_t){"x-forwarded-port", 16, port, strlen(port)};
    const char *proto = srv->ssl != NULL ? "https" : "http";
    hs[n++] = (nl_apigw_header_t){"x-forwarded-proto", 17, proto, strlen(proto)};

    nl_apigw_request_t ar = {
        .version = a->payload,
        .method = req->input.method.base,
        .method_len = req->input.method.len,
        .path = req->input.path.base,
        .path_len = path_len,
        .query = req->input.query_at != SIZE_MAX ? req->input.path.base + req->input.query_at + 1 : NULL,
        .query_len = req->input.query_at != SIZE_MAX ? req->input.path.len - req->input.query_at - 1 : 0,
        .headers = hs,
        .num_headers = n,
        .body = req->entity.base != NULL && req->entity.len > 0 ? req->entity.base : NULL,
        .body_len = req->entity.base != NULL ? req->entity.len : 0,
        .source_ip = peer,
        .protocol = req->version >= 0x200   ? "HTTP/2.0"
                    : req->version == 0x100 ? "HTTP/1.0"
                                            : "HTTP/1.1",
        .domain_name = host[0] != '\0' ? host : "localhost",
        .request_id = pd->request_id,
        .epoch_ms = cm_epoch_ms(),
        .url_id = a->function_url ? a->url_id : NULL,
        .url_region = srv->pool_cfg.region,
        .url_account = NL__FURL_ACCOUNT,
        .iam = a->function_url && a->iam_key != NULL ? &signer.iam : NULL,
    };
    char *event = NULL;
    size_t event_len = 0;
    int rc = nl_apigw_event(&ar, &event, &event_len);
    if (rc == 0)
        rc = nl_pool_submit(srv->pool, event, event_len, on_done, pd, &pd->job);
    free(event);
    if (rc == CM_EBUSY) {
        log_req(pd, "429: %zu requests already wait for a runtime", nl_pool_queued(srv->pool));
        send_gateway_error(pd, 429, THROTTLED_BODY);
    } else if (rc != 0) {
        log_req(pd, "500: cannot build or queue the event: %s", cm_strerror(rc));
        send_gateway_error(pd, 500, INTERNAL_BODY);
    }
    return 0;
}
