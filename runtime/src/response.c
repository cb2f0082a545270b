/*
 * What a handler answers: a buffered body, an error, or (stream.c) a streamed body.
 * Error texts go into JSON only through jansson, after UTF-8 repair, so no message can corrupt the
 * JSON or the header that carries the error type.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "internal.h"

/* Error messages are capped: the whole error must stay a small POST. */
#define MESSAGE_LIMIT (64 * 1024)
#define TYPE_LIMIT 256

void lrt__response_init(lrt_response_t *res, lrt__client_t *client, const char *request_id)
{
    memset(res, 0, sizeof(*res));
    lrt__buf_init(&res->body, LRT_MAX_RESPONSE);
    lrt__buf_init(&res->error_message, MESSAGE_LIMIT + 4);
    res->client = client;
    res->request_id = request_id;
}

void lrt__response_dispose(lrt_response_t *res)
{
    lrt__buf_dispose(&res->body);
    lrt__buf_dispose(&res->error_message);
    free(res->content_type);
    free(res->error_type);
    res->content_type = res->error_type = NULL;
}

/* Records an error without the state checks of lrt_response_fail(); used for the runtime's own errors
 * (size limits) too. Returns 0 or LRT_ENOMEM. */
static int record_error(lrt_response_t *res, const char *type, const char *message)
{
    char *t = strdup(type != NULL ? type : "Runtime.HandlerError");
    if (t == NULL)
        return LRT_ENOMEM;
    lrt__buf_clear(&res->error_message);
    if (lrt__buf_append_utf8(&res->error_message, message, strlen(message), MESSAGE_LIMIT) != 0) {
        free(t);
        return LRT_ENOMEM;
    }
    free(res->error_type);
    res->error_type = t;
    if (res->kind != LRT__RES_STREAM)
        res->kind = LRT__RES_ERROR;
    return 0;
}

int lrt__response_too_large(lrt_response_t *res, size_t size, size_t limit)
{
    char message[160];
    snprintf(message, sizeof(message),
             "Response payload size (%zu bytes) exceeded maximum allowed payload size (%zu bytes).", size, limit);
    record_error(res, "Function.ResponseSizeTooLarge", message);
    return LRT_ETOOBIG;
}

int lrt_response_set(lrt_response_t *res, const void *body, size_t len, const char *content_type)
{
    if (res->kind == LRT__RES_STREAM || res->kind == LRT__RES_ERROR)
        return LRT_ESTATE;
    if (len > LRT_MAX_RESPONSE) {
        lrt__buf_clear(&res->body);
        return lrt__response_too_large(res, len, LRT_MAX_RESPONSE);
    }
    char *type = strdup(content_type != NULL ? content_type : "application/json");
    if (type == NULL)
        return LRT_ENOMEM;
    lrt__buf_t copy;
    lrt__buf_init(&copy, LRT_MAX_RESPONSE);
    if (lrt__buf_append(&copy, body, len) != 0) {
        free(type);
        return LRT_ENOMEM;
    }
    lrt__buf_dispose(&res->body);
    res->body = copy;
    free(res->content_type);
    res->content_type = type;
    res->kind = LRT__RES_BODY;
    return 0;
}

int lrt_response_fail(lrt_response_t *res, const char *error_type, const char *fmt, ...)
{
    if (res->error_type != NULL)
        return LRT_ESTATE;
    va_list ap;
    va_start(ap, fmt);
    char *message = NULL;
    int n = vasprintf(&message, fmt, ap);
    va_end(ap);
    if (n < 0)
        return LRT_ENOMEM;
    int err = record_error(res, error_type, message);
    free(message);
    return err;
}

const char *lrt__response_error_type(const lrt_response_t *res)
{
    const char *t = res->error_type;
    if (t == NULL || t[0] == '\0' || strlen(t) > TYPE_LIMIT)
        return "Runtime.HandlerError";
    for (const char *p = t; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return "Runtime.HandlerError"; /* would break the header line: keep the message, lose the type */
    return t;
}

char *lrt__response_error_json(const lrt_response_t *res)
{
    /* error_message holds repaired UTF-8, so json_stringn cannot fail on encoding. */
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "errorMessage",
                        json_stringn(res->error_message.data ? res->error_message.data : "", res->error_message.len));
    json_object_set_new(o, "errorType", json_string(lrt__response_error_type(res)));
    json_object_set_new(o, "stackTrace", json_array());
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}
