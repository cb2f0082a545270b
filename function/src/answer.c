/*
 * answer.c: the response JSON, always through jansson (STYLE: JSON only via jansson), dumped straight
 * into the caller's capped buffer.
 */
#include <jansson.h>
#include "answer.h"
#include "function/errno.h"

typedef struct sink {
    fn_buf_t *out;
    int err; /* why the dump stopped: FN_ETOOBIG or FN_ENOMEM */
} sink_t;

static int dump_to_buf(const char *p, size_t n, void *data)
{
    sink_t *sink = data;
    sink->err = fn_buf_append(sink->out, p, n);
    return sink->err == 0 ? 0 : -1;
}

static int set(json_t *obj, const char *key, json_t *value)
{
    /* json_object_set_new steals value even on failure, so a NULL from a constructor is caught here. */
    return value != NULL && json_object_set_new(obj, key, value) == 0 ? 0 : FN_ENOMEM;
}

int fn__answer(fn_buf_t *out, fn_event_kind_t kind, int status, const fn__header_t *headers, size_t nheaders,
               const char *body, size_t len, int base64)
{
    fn_buf_clear(out);
    json_t *root = json_object();
    json_t *hdrs = json_object();
    int err = root != NULL && hdrs != NULL ? 0 : FN_ENOMEM;
    for (size_t i = 0; i < nheaders && err == 0; i++) {
        json_t *v = json_string(headers[i].value);
        if (kind == FN_EVENT_V1 && v != NULL) {
            json_t *list = json_array();
            if (list != NULL && json_array_append_new(list, v) != 0) {
                json_decref(list);
                list = NULL;
            } else if (list == NULL) {
                json_decref(v);
            }
            v = list;
        }
        err = set(hdrs, headers[i].name, v);
    }
    if (err == 0)
        err = set(root, "statusCode", json_integer(status));
    if (err == 0) {
        err = set(root, kind == FN_EVENT_V1 ? "multiValueHeaders" : "headers", hdrs);
        hdrs = NULL;
    }
    if (err == 0)
        err = set(root, "body", json_stringn_nocheck(body != NULL ? body : "", body != NULL ? len : 0));
    if (err == 0)
        err = set(root, "isBase64Encoded", json_boolean(base64));
    sink_t sink = {out, 0};
    if (err == 0 && json_dump_callback(root, dump_to_buf, &sink, JSON_COMPACT) != 0)
        err = sink.err != 0 ? sink.err : FN_ENOMEM;
    json_decref(hdrs);
    json_decref(root);
    return err;
}
