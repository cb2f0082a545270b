/*
 * answer.c: the response JSON, always made by jansson (STYLE: JSON only via jansson): jansson dumps the
 * object without its body, and the body, a string literal jansson dumped earlier, is spliced in as the
 * last member. Both pieces are complete JSON texts, so the result is one.
 */
#include <string.h>
#include <jansson.h>
#include <openssl/evp.h>
#include "answer.h"
#include "common/error.h"

typedef struct sink {
    cm_buf_t *out;
    int err; /* why the dump stopped: CM_ETOOBIG or CM_ENOMEM */
} sink_t;

static int dump_to_buf(const char *p, size_t n, void *data)
{
    sink_t *sink = data;
    sink->err = cm_buf_append(sink->out, p, n);
    return sink->err == 0 ? 0 : -1;
}

static int dump(const json_t *j, cm_buf_t *out, size_t flags)
{
    size_t start = out->len;
    sink_t sink = {out, 0};
    if (json_dump_callback(j, dump_to_buf, &sink, flags) == 0)
        return 0;
    out->len = start;
    if (out->base != NULL)
        out->base[start] = '\0';
    return sink.err != 0 ? sink.err : CM_ENOMEM;
}

int fn__json_string(const char *text, size_t len, cm_buf_t *out)
{
    json_t *s = json_stringn_nocheck(text, len);
    if (s == NULL)
        return CM_ENOMEM;
    int err = dump(s, out, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(s);
    return err;
}

int fn__json_base64(const void *in, size_t len, cm_buf_t *out)
{
    if (len > INT32_MAX / 2)
        return CM_ETOOBIG;
    size_t need = 4 * ((len + 2) / 3) + 2;
    int err = cm_buf_reserve(out, need);
    if (err != 0)
        return err;
    char *p = out->base + out->len;
    p[0] = '"';
    int n = EVP_EncodeBlock((unsigned char *)p + 1, in, (int)len);
    p[1 + n] = '"';
    out->len += (size_t)n + 2;
    out->base[out->len] = '\0';
    return 0;
}

static int set(json_t *obj, const char *key, json_t *value)
{
    /* json_object_set_new steals value even on failure, so a NULL from a constructor is caught here. */
    return value != NULL && json_object_set_new(obj, key, value) == 0 ? 0 : CM_ENOMEM;
}

static json_t *header_value(fn_event_kind_t kind, const char *value)
{
    json_t *v = json_string(value);
    if (kind != FN_EVENT_V1 || v == NULL)
        return v;
    json_t *list = json_array();
    if (list == NULL || json_array_append_new(list, v) != 0) {
        json_decref(list);
        return NULL;
    }
    return list;
}

int fn__answer(cm_buf_t *out, fn_event_kind_t kind, int status, const fn__header_t *headers, size_t nheaders,
               const char *body_json, size_t body_json_len, int base64)
{
    cm_buf_reset(out);
    json_t *root = json_object();
    json_t *hdrs = json_object();
    int err = root != NULL && hdrs != NULL ? 0 : CM_ENOMEM;
    for (size_t i = 0; i < nheaders && err == 0; i++)
        err = set(hdrs, headers[i].name, header_value(kind, headers[i].value));
    if (err == 0)
        err = set(root, "statusCode", json_integer(status));
    if (err == 0) {
        err = set(root, kind == FN_EVENT_V1 ? "multiValueHeaders" : "headers", hdrs);
        hdrs = NULL;
    }
    if (err == 0)
        err = set(root, "isBase64Encoded", json_boolean(base64));
    if (err == 0)
        err = dump(root, out, JSON_COMPACT);
    json_decref(hdrs);
    json_decref(root);
    if (err != 0)
        return err;
    /* Replace the closing brace of the non-empty object with the body member. */
    out->len--;
    static const char member[] = ",\"body\":";
    err = cm_buf_append(out, member, sizeof(member) - 1);
    if (err == 0)
        err = body_json != NULL && body_json_len > 0 ? cm_buf_append(out, body_json, body_json_len)
                                                     : cm_buf_append(out, "\"\"", 2);
    if (err == 0)
        err = cm_buf_append(out, "}", 1);
    return err;
}
