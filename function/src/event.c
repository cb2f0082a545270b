/*
 * event.c: reduces an API Gateway or function URL event to an fn_request_t. The version decides where
 * things are: 2.0 (and function URLs) requestContext.http.method + rawPath + headers (joined values);
 * 1.0 httpMethod + path + multiValueHeaders (preferred: complete) or headers. Header names are matched
 * without regard to case, since 1.0 passes them as the client spelled them.
 * The event is loaded with JSON_ALLOW_NUL so a NUL in the path reaches the path check (and fails there)
 * instead of hiding as an unparsable event.
 */
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include "common/error.h"
#include "function/event.h"
#include "function/path.h"

void fn_request_init(fn_request_t *req)
{
    req->kind = 0;
    req->method = FN_METHOD_OTHER;
    /* A path longer than any valid one is kept only in part: enough to be refused as too long. */
    cm_buf_init(&req->path, FN_PATH_MAX + 1);
    cm_buf_init(&req->if_none_match, FN_HEADER_MAX);
    cm_buf_init(&req->accept_encoding, FN_HEADER_MAX);
}

void fn_request_dispose(fn_request_t *req)
{
    cm_buf_dispose(&req->path);
    cm_buf_dispose(&req->if_none_match);
    cm_buf_dispose(&req->accept_encoding);
}

static fn_method_t method_of(const json_t *j)
{
    static const struct {
        const char *name;
        fn_method_t method;
    } methods[] = {{"GET", FN_METHOD_GET}, {"HEAD", FN_METHOD_HEAD}, {"OPTIONS", FN_METHOD_OPTIONS}};
    const char *s = json_string_value(j);
    size_t len = json_string_length(j);
    for (size_t i = 0; s != NULL && i < sizeof(methods) / sizeof(methods[0]); i++)
        /* Methods are case-sensitive (RFC 9110 9.1): "get" is not GET. */
        if (len == strlen(methods[i].name) && memcmp(s, methods[i].name, len) == 0)
            return methods[i].method;
    return FN_METHOD_OTHER;
}

/* Appends one header value, separated from what is there by ", " (RFC 9110 5.3 list combining). */
static int add_value(cm_buf_t *out, const json_t *v)
{
    if (!json_is_string(v))
        return 0;
    int err = 0;
    if (out->len > 0)
        err = cm_buf_append(out, ", ", 2);
    if (err == 0)
        err = cm_buf_append(out, json_string_value(v), json_string_length(v));
    return err;
}

/* Collects header name (lowercase) from a headers object: string values, or arrays of them (multi). */
static int collect(const json_t *headers, const char *name, cm_buf_t *out)
{
    const char *key;
    json_t *v;
    if (!json_is_object(headers))
        return 0;
    json_object_foreach((json_t *)headers, key, v)
    {
        if (strcasecmp(key, name) != 0)
            continue;
        int err = 0;
        if (json_is_array(v)) {
            size_t i;
            json_t *item;
            json_array_foreach(v, i, item)
            {
                if (err == 0)
                    err = add_value(out, item);
            }
        } else {
            err = add_value(out, v);
        }
        if (err != 0)
            return err;
    }
    return 0;
}

static int headers_of(const json_t *root, fn_request_t *req)
{
    const json_t *headers = json_object_get(root, "headers");
    if (req->kind == FN_EVENT_V1 && json_is_object(json_object_get(root, "multiValueHeaders")))
        headers = json_object_get(root, "multiValueHeaders");
    int err = collect(headers, "if-none-match", &req->if_none_match);
    if (err == 0)
        err = collect(headers, "accept-encoding", &req->accept_encoding);
    return err;
}

static int set_path(fn_request_t *req, const json_t *p)
{
    if (!json_is_string(p))
        return CM_EBADEVENT;
    size_t len = json_string_length(p);
    /* Over-long paths keep only a prefix one byte past the longest valid path: still refused. */
    if (len > req->path.max)
        len = req->path.max;
    return cm_buf_append(&req->path, json_string_value(p), len);
}

int fn_request_parse(fn_request_t *req, const char *event, size_t len)
{
    req->kind = 0;
    req->method = FN_METHOD_OTHER;
    cm_buf_reset(&req->path);
    cm_buf_reset(&req->if_none_match);
    cm_buf_reset(&req->accept_encoding);
    if (len > FN_EVENT_MAX)
        return CM_ETOOBIG;
    json_t *root = json_loadb(event, len, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return CM_EBADEVENT;
    }
    int err = CM_EBADEVENT;
    const char *version = json_string_value(json_object_get(root, "version"));
    const json_t *ctx = json_object_get(root, "requestContext");
    if (version != NULL && strcmp(version, "2.0") == 0) {
        const char *domain = json_string_value(json_object_get(ctx, "domainName"));
        req->kind = domain != NULL && strstr(domain, ".lambda-url.") != NULL ? FN_EVENT_URL : FN_EVENT_V2;
        const json_t *m = json_object_get(json_object_get(ctx, "http"), "method");
        if (json_is_string(m)) {
            req->method = method_of(m);
            err = set_path(req, json_object_get(root, "rawPath"));
        }
    } else if ((version == NULL || strcmp(version, "1.0") == 0) &&
               json_is_string(json_object_get(root, "httpMethod"))) {
        req->kind = FN_EVENT_V1;
        req->method = method_of(json_object_get(root, "httpMethod"));
        err = set_path(req, json_object_get(root, "path"));
    }
    if (err == 0)
        err = headers_of(root, req);
    json_decref(root);
    return err;
}
