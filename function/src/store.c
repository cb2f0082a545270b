/*
 * store.c: the store interface: picks the backend from the URL's scheme and forwards to it; a backend
 * without a batch get gets its batches done one get after another, one without a single get gets
 * batches of one.
 * Unknown schemes (and malformed URLs, or S3 without a region) fail at open, so a typo in NEARJS_STORE stops the
 * function at init, not per request.
 */
#include <string.h>
#include "common/error.h"
#include "store_internal.h"

int fn_version_eq(const fn_version_t *a, const fn_version_t *b)
{
    return a != NULL && b != NULL && a->len > 0 && a->len == b->len && memcmp(a->tag, b->tag, a->len) == 0;
}

int fn_store_open(const char *url, fn_store_t **out)
{
    static const char file_scheme[] = "file://", s3_scheme[] = "s3://";
    if (url == NULL)
        return CM_ESCHEME;
    if (strncmp(url, file_scheme, sizeof(file_scheme) - 1) == 0)
        return fn__store_file_open(url, url + sizeof(file_scheme) - 1, out);
    if (strncmp(url, s3_scheme, sizeof(s3_scheme) - 1) == 0)
        return fn__store_s3_open(url, url + sizeof(s3_scheme) - 1, out);
    return CM_ESCHEME;
}

void fn_store_free(fn_store_t *s)
{
    if (s != NULL)
        s->ops->free(s);
}

const char *fn_store_url(const fn_store_t *s)
{
    return s->url;
}

const char *fn_store_cause(const fn_store_t *s)
{
    return s->cause;
}

int fn_store_get(fn_store_t *s, const char *key, const fn_version_t *have, cm_buf_t *body, fn_version_t *now)
{
    s->cause[0] = '\0';
    if (s->ops->get != NULL)
        return s->ops->get(s, key, have, body, now);
    fn_store_req_t req = {.key = key, .have = have, .body = body};
    s->ops->get_all(s, &req, 1);
    memcpy(s->cause, req.cause, sizeof(s->cause));
    if (req.err == 0)
        *now = req.now;
    return req.err;
}

void fn_store_get_all(fn_store_t *s, fn_store_req_t *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        reqs[i].err = 0;
        reqs[i].now.len = 0;
        reqs[i].cause[0] = '\0';
    }
    if (s->ops->get_all != NULL) {
        s->ops->get_all(s, reqs, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        s->cause[0] = '\0';
        reqs[i].err = s->ops->get(s, reqs[i].key, reqs[i].have, reqs[i].body, &reqs[i].now);
        memcpy(reqs[i].cause, s->cause, sizeof(reqs[i].cause));
    }
}
