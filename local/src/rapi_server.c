/*
 * The Runtime API worker: the listener, the runtime's state machine (Started -> Ready -> Running ->
 * RuntimeResponseSentState -> Ready ..., or InitError) and the one invocation in flight.
 * Answers follow Lambda's (as its runtime interface emulator renders them): 202 {"status":"OK"},
 * 400 InvalidRequestID for an id that is not the running invocation's, 403 InvalidStateTransition for
 * a post the state does not allow (a second response for one invocation), 413 RequestEntityTooLarge past
 * the payload cap (and the invocation fails with Function.ResponseSizeTooLarge).
 */
#include "rapi_internal.h"
#include "common/error.h"
#include "common/base64.h"
#include "common/listen.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *state_name(nl__rt_state_t state)
{
    switch (state) {
    case NL__RT_STARTED:
        return "Started";
    case NL__RT_READY:
        return "Ready";
    case NL__RT_RUNNING:
        return "Running";
    case NL__RT_RESPONSE_SENT:
        return "RuntimeResponseSentState";
    case NL__RT_INIT_ERROR:
        break;
    }
    return "InitError";
}

void nl__worker_log(nl_rapi_worker_t *w, const nl__conn_t *c, const char *fmt, ...)
{
    if (w->cb->on_log == NULL)
        return;
    cm_buf_t line;
    cm_buf_init(&line, 4096);
    if (c != NULL)
        cm_buf_appendf(&line, "runtime api: %s %s: ", c->method, c->path);
    else
        cm_buf_appendf(&line, "runtime api: ");
    va_list ap;
    va_start(ap, fmt);
    cm_buf_vappendf(&line, fmt, ap);
    va_end(ap);
    if (line.base != NULL)
        w->cb->on_log(w, line.base, w->user);
    cm_buf_dispose(&line);
}

/* Answers with Lambda's error document {"errorMessage","errorType"}. */
static void respond_error(nl__conn_t *c, int status, const char *type, const char *message)
{
    json_t *doc = json_pack("{s:s, s:s}", "errorMessage", message, "errorType", type);
    char *body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (body == NULL) {
        c->close_after = 1;
        nl__conn_respond(c, 500, "", "", 0);
        return;
    }
    nl__conn_respond(c, status, "", body, strlen(body));
    free(body);
}

static void respond_accepted(nl__conn_t *c)
{
    static const char ok[] = "{\"status\":\"OK\"}";
    nl__conn_respond(c, 202, "", ok, sizeof(ok) - 1);
}

static void respond_bad_transition(nl_rapi_worker_t *w, nl__conn_t *c, const char *to)
{
    char msg[256];
    snprintf(msg, sizeof(msg),
             "State transition from %s to %s failed for runtime. Error: State transition is not allowed",
             state_name(w->state), to);
    nl__worker_log(w, c, "403 InvalidStateTransition: %s", msg);
    respond_error(c, 403, "InvalidStateTransition", msg);
}

/* Whether a post for c->id may go ahead now: the runtime is running that very invocation. */
static int post_matches(nl_rapi_worker_t *w, const nl__conn_t *c)
{
    return w->state == NL__RT_RUNNING && w->has_inv && !c->id_too_long && strcmp(c->id, w->inv_id) == 0;
}

void nl__worker_on_head(nl_rapi_worker_t *w, nl__conn_t *c, const nl__request_t *req)
{
    c->route = nl__route(req->method, req->method_len, req->path, req->path_len, c->id, &c->id_too_long);
    c->body_mode = NL__BODY_DISCARD;
    const nl__header_t *type = nl__http_find(req->headers, req->num_headers, "lambda-runtime-function-error-type");
    if (type != NULL)
        c->error_type = strndup(type->value, type->value_len);
    const nl__header_t *mode = nl__http_find(req->headers, req->num_headers, "lambda-runtime-function-response-mode");
    int streaming = 0;
    if (mode != NULL) {
        if (mode->value_len == 9 && strncasecmp(mode->value, "streaming", 9) == 0)
            streaming = 1;
        else
            c->bad_response_mode = 1;
    }
    switch (c->route) {
    case NL__ROUTE_RESPONSE:
        if (post_matches(w, c) && !c->bad_response_mode) {
            c->body_mode = streaming ? NL__BODY_STREAM : NL__BODY_BUFFER;
            c->body.max = w->max_response;
        }
        break;
    case NL__ROUTE_ERROR:
        if (post_matches(w, c)) {
            c->body_mode = NL__BODY_BUFFER;
            c->body.max = w->max_response;
        }
        break;
    case NL__ROUTE_INIT_ERROR:
        if (w->state == NL__RT_STARTED) {
            c->body_mode = NL__BODY_BUFFER;
            c->body.max = w->max_response;
        }
        break;
    default:
        break;
    }
    if (c->body_mode == NL__BODY_STREAM)
        c->streaming = 1;
}

void nl__worker_on_stream(nl_rapi_worker_t *w, nl__conn_t *c, const char *p, size_t n)
{
    if (c->body_total > w->max_stream) {
        c->body_too_big = 1;
        return;
    }
    if (w->cb->on_stream != NULL && post_matches(w, c))
        w->cb->on_stream(w, w->inv_id, p, n, w->user);
}

/* Writes the event to the parked GET /next. */
static void deliver(nl_rapi_worker_t *w)
{
    nl__conn_t *c = w->parked;
    w->parked = NULL;
    cm_buf_t h;
    cm_buf_init(&h, 64 * 1024);
    int err = cm_buf_appendf(&h,
                             "Lambda-Runtime-Aws-Request-Id: %s\r\nLambda-Runtime-Deadline-Ms: %llu\r\n"
                             "Lambda-Runtime-Invoked-Function-Arn: %s\r\nLambda-Runtime-Trace-Id: %s\r\n",
                             w->inv_id, (unsigned long long)w->inv_deadline_ms, w->arn, w->inv_trace);
    if (err == 0 && w->inv_client_context != NULL)
        err = cm_buf_appendf(&h, "Lambda-Runtime-Client-Context: %s\r\n", w->inv_client_context);
    if (err == 0 && w->inv_cognito != NULL)
        err = cm_buf_appendf(&h, "Lambda-Runtime-Cognito-Identity: %s\r\n", w->inv_cognito);
    w->state = NL__RT_RUNNING;
    if (err == 0)
        nl__conn_respond(c, 200, h.base, w->inv_payload, w->inv_payload_len);
    else
        nl__conn_close(c);
    cm_buf_dispose(&h);
    free(w->inv_payload);
    w->inv_payload = NULL;
    w->inv_payload_len = 0;
    if (w->cb->on_start != NULL)
        w->cb->on_start(w, w->inv_id, w->user);
}

static void clear_invocation(nl_rapi_worker_t *w)
{
    w->has_inv = 0;
    w->inv_id[0] = '\0';
    free(w->inv_payload);
    free(w->inv_client_context);
    free(w->inv_cognito);
    w->inv_payload = NULL;
    w->inv_client_context = NULL;
    w->inv_cognito = NULL;
    w->inv_payload_len = 0;
}

static void handle_next(nl_rapi_worker_t *w, nl__conn_t *c)
{
    if (w->state == NL__RT_RUNNING || w->state == NL__RT_INIT_ERROR || w->parked != NULL) {
        respond_bad_transition(w, c, "Ready");
        return;
    }
    int first = !w->seen_next;
    w->seen_next = 1;
    w->state = NL__RT_READY;
    c->state = NL__CONN_PARKED;
    w->parked = c;
    if (w->has_inv) {
        deliver(w);
        return;
    }
    /* last use of c: the callback may queue an event, which writes to it at once */
    if (w->cb->on_idle != NULL)
        w->cb->on_idle(w, first, w->user);
}

/* Builds Function.ResponseSizeTooLarge as Lambda words it. Returns a new string (caller frees) or NULL. */
static char *too_large_json(uint64_t size, size_t max)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "Response payload size (%llu bytes) exceeded maximum allowed payload size (%zu bytes).",
             (unsigned long long)size, max);
    json_t *doc = json_pack("{s:s, s:s}", "errorMessage", msg, "errorType", "Function.ResponseSizeTooLarge");
    char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return s;
}

static void finish(nl_rapi_worker_t *w, nl_rapi_result_t *res)
{
    char id[NL_REQUEST_ID_SIZE];
    memcpy(id, w->inv_id, sizeof(id));
    res->request_id = res->outcome == NL_RAPI_INIT_ERROR ? "" : id;
    if (res->outcome != NL_RAPI_INIT_ERROR) {
        w->state = NL__RT_RESPONSE_SENT;
        clear_invocation(w);
    }
    if (w->cb->on_result != NULL)
        w->cb->on_result(w, res, w->user);
}

/* Posts that went past the cap: 413 to the runtime, Function.ResponseSizeTooLarge to the caller. */
static void handle_too_big(nl_rapi_worker_t *w, nl__conn_t *c, size_t max)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "Exceeded maximum allowed payload size (%zu bytes).", max);
    nl__worker_log(w, c, "413 RequestEntityTooLarge: %llu bytes, over %zu", (unsigned long long)c->body_total, max);
    respond_error(c, 413, "RequestEntityTooLarge", msg);
    char *doc = too_large_json(c->body_total, max);
    nl_rapi_result_t res = {.outcome = c->route == NL__ROUTE_INIT_ERROR ? NL_RAPI_INIT_ERROR : NL_RAPI_ERROR,
                            .body = doc != NULL ? doc : "",
                            .body_len = doc != NULL ? strlen(doc) : 0,
                            .error_type = "Function.ResponseSizeTooLarge",
                            .streamed = c->streaming,
                            .payload_bytes = c->body_total};
    if (c->route == NL__ROUTE_INIT_ERROR)
        w->state = NL__RT_INIT_ERROR;
    finish(w, &res);
    free(doc);
}

/* A streamed response ended: its trailers say whether the function failed midway. */
static void handle_stream_end(nl_rapi_worker_t *w, nl__conn_t *c)
{
    nl__header_t trailers[NL__HTTP_MAX_HEADERS];
    size_t num = 0;
    if (c->decoder.trailer.len != 0 && nl__http_parse_headers(c->decoder.trailer.base, c->decoder.trailer.len, trailers,
                                                              NL__HTTP_MAX_HEADERS, &num) != 0) {
        nl__worker_log(w, c, "malformed trailers ignored");
        num = 0;
    }
    const nl__header_t *type = nl__http_find(trailers, num, "lambda-runtime-function-error-type");
    const nl__header_t *body = nl__http_find(trailers, num, "lambda-runtime-function-error-body");
    respond_accepted(c);
    if (type == NULL && body == NULL) {
        nl_rapi_result_t res = {.outcome = NL_RAPI_RESPONSE, .body = "", .streamed = 1, .payload_bytes = c->body_total};
        finish(w, &res);
        return;
    }
    char *etype = type != NULL ? strndup(type->value, type->value_len) : strdup("Unhandled");
    char *decoded = NULL;
    size_t decoded_len = 0;
    if (body != NULL && cm_base64_decode(body->value, body->value_len, &decoded, &decoded_len) != 0) {
        nl__worker_log(w, c, "Lambda-Runtime-Function-Error-Body is not base64; passing it on as sent");
        decoded = strndup(body->value, body->value_len);
        decoded_len = decoded != NULL ? strlen(decoded) : 0;
    }
    nl_rapi_result_t res = {.outcome = NL_RAPI_ERROR,
                            .body = decoded != NULL ? decoded : "",
                            .body_len = decoded != NULL ? decoded_len : 0,
                            .error_type = etype,
                            .streamed = 1,
                            .payload_bytes = c->body_total};
    finish(w, &res);
    free(etype);
    free(decoded);
}

static void handle_post(nl_rapi_worker_t *w, nl__conn_t *c)
{
    const char *to = c->route == NL__ROUTE_RESPONSE ? "InvocationResponse" : "InvocationErrorResponse";
    if (w->state != NL__RT_RUNNING) {
        respond_bad_transition(w, c, to);
        return;
    }
    if (!post_matches(w, c)) {
        nl__worker_log(w, c, "400 InvalidRequestID: '%.64s' is not the running invocation", c->id);
        respond_error(c, 400, "InvalidRequestID", "Invalid request ID");
        return;
    }
    if (c->bad_response_mode) {
        nl__worker_log(w, c, "400 InvalidFunctionResponseMode");
        respond_error(c, 400, "InvalidFunctionResponseMode", "Invalid function response mode");
        return;
    }
    if (c->body_too_big) {
        handle_too_big(w, c, c->streaming ? w->max_stream : w->max_response);
        return;
    }
    if (c->streaming) {
        handle_stream_end(w, c);
        return;
    }
    respond_accepted(c);
    nl_rapi_result_t res = {.outcome = c->route == NL__ROUTE_RESPONSE ? NL_RAPI_RESPONSE : NL_RAPI_ERROR,
                            .body = c->body.base != NULL ? c->body.base : "",
                            .body_len = c->body.len,
                            .error_type = c->error_type,
                            .payload_bytes = c->body_total};
    finish(w, &res);
}

static void handle_init_error(nl_rapi_worker_t *w, nl__conn_t *c)
{
    if (w->state != NL__RT_STARTED) {
        respond_bad_transition(w, c, "InitError");
        return;
    }
    if (c->body_too_big) {
        handle_too_big(w, c, w->max_response);
        return;
    }
    w->state = NL__RT_INIT_ERROR;
    respond_accepted(c);
    nl_rapi_result_t res = {.outcome = NL_RAPI_INIT_ERROR,
                            .body = c->body.base != NULL ? c->body.base : "",
                            .body_len = c->body.len,
                            .error_type = c->error_type,
                            .payload_bytes = c->body_total};
    finish(w, &res);
}

void nl__worker_on_request(nl_rapi_worker_t *w, nl__conn_t *c)
{
    switch (c->route) {
    case NL__ROUTE_NEXT:
        handle_next(w, c);
        return;
    case NL__ROUTE_RESPONSE:
    case NL__ROUTE_ERROR:
        handle_post(w, c);
        return;
    case NL__ROUTE_INIT_ERROR:
        handle_init_error(w, c);
        return;
    case NL__ROUTE_BAD_METHOD:
        nl__worker_log(w, c, "405 method not allowed");
        respond_error(c, 405, "MethodNotAllowed", "Method Not Allowed");
        return;
    case NL__ROUTE_NOT_FOUND:
        nl__worker_log(w, c, "404 no such endpoint");
        respond_error(c, 404, "NotFound", "Not Found");
        return;
    }
}

void nl__worker_on_close(nl_rapi_worker_t *w, nl__conn_t *c)
{
    if (w->parked == c)
        w->parked = NULL;
}

static void on_accept(cm_acceptor_t *a, size_t index, h2o_socket_t *sock)
{
    (void)index;
    nl__conn_accept(a->data, sock);
}

int nl_rapi_worker_new(h2o_loop_t *loop, const nl_rapi_config_t *cfg, const nl_rapi_callbacks_t *cb, void *user,
                       nl_rapi_worker_t **out)
{
    nl_rapi_worker_t *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return CM_ENOMEM;
    w->loop = loop;
    w->cfg = cfg;
    w->cb = cb;
    w->user = user;
    w->max_response = cfg->max_response != 0 ? cfg->max_response : NL_RAPI_MAX_RESPONSE;
    w->max_stream = cfg->max_stream != 0 ? cfg->max_stream : NL_RAPI_MAX_STREAM;
    h2o_linklist_init_anchor(&w->conns);
    snprintf(w->arn, sizeof(w->arn), "arn:aws:lambda:%s:123456789012:function:%s", cfg->region, cfg->function_name);

    int gai = 0;
    int fd = cm_listen("127.0.0.1", 0, CM_LISTEN_NUMERIC, 64, &gai);
    if (fd < 0)
        goto fail;
    snprintf(w->address, sizeof(w->address), "127.0.0.1:%u", cm_listen_port(fd));
    w->listener = h2o_evloop_socket_create(loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    w->acceptor = (cm_acceptor_t){.listeners = &w->listener, .num_listeners = 1, .on_conn = on_accept, .data = w};
    cm_acceptor_start(&w->acceptor);
    *out = w;
    return 0;
fail:
    free(w);
    return CM_ESYS;
}

void nl_rapi_worker_free(nl_rapi_worker_t *w)
{
    if (w == NULL)
        return;
    while (!h2o_linklist_is_empty(&w->conns)) {
        nl__conn_t *c = H2O_STRUCT_FROM_MEMBER(nl__conn_t, link, w->conns.next);
        nl__conn_close(c);
    }
    cm_acceptor_stop(&w->acceptor);
    h2o_socket_close(w->listener);
    clear_invocation(w);
    free(w);
}

void nl_rapi_new_request_id(char out[NL_REQUEST_ID_SIZE])
{
    nl__uuid4(out);
}

const char *nl_rapi_worker_address(const nl_rapi_worker_t *w)
{
    return w->address;
}

static int header_safe(const char *s)
{
    for (; s != NULL && *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
            return 0;
    return 1;
}

int nl_rapi_worker_invoke(nl_rapi_worker_t *w, const nl_rapi_event_t *ev, char request_id[NL_REQUEST_ID_SIZE])
{
    if (w->has_inv)
        return CM_EBUSY;
    /* the two strings become header values: a CR or LF would let them forge headers */
    if (!header_safe(ev->client_context) || !header_safe(ev->cognito_identity) ||
        (ev->request_id != NULL && (strlen(ev->request_id) != NL_REQUEST_ID_SIZE - 1 || !header_safe(ev->request_id))))
        return CM_EINVAL;
    char *payload = malloc(ev->payload_len + 1);
    char *cc = ev->client_context != NULL ? strdup(ev->client_context) : NULL;
    char *cog = ev->cognito_identity != NULL ? strdup(ev->cognito_identity) : NULL;
    if (payload == NULL || (ev->client_context != NULL && cc == NULL) ||
        (ev->cognito_identity != NULL && cog == NULL)) {
        free(payload);
        free(cc);
        free(cog);
        return CM_ENOMEM;
    }
    if (ev->payload_len != 0)
        memcpy(payload, ev->payload, ev->payload_len);
    w->has_inv = 1;
    w->inv_payload = payload;
    w->inv_payload_len = ev->payload_len;
    w->inv_client_context = cc;
    w->inv_cognito = cog;
    w->inv_deadline_ms = ev->deadline_ms;
    if (ev->request_id != NULL)
        memcpy(w->inv_id, ev->request_id, NL_REQUEST_ID_SIZE);
    else
        nl__uuid4(w->inv_id);
    nl__trace_id(w->inv_trace, cm_epoch_ms() / 1000);
    memcpy(request_id, w->inv_id, NL_REQUEST_ID_SIZE);
    if (w->parked != NULL)
        deliver(w);
    return 0;
}

void nl_rapi_worker_abandon(nl_rapi_worker_t *w)
{
    if (!w->has_inv)
        return;
    if (w->state == NL__RT_RUNNING)
        w->state = NL__RT_RESPONSE_SENT;
    clear_invocation(w);
}

int nl_rapi_worker_busy(const nl_rapi_worker_t *w)
{
    return w->has_inv;
}
