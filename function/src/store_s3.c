/*
 * store_s3.c: the S3 store (s3://bucket/prefix). An object is GET <bucket>/<prefix>/<key> over HTTPS,
 * signed with SigV4 by libcurl (CURLOPT_AWS_SIGV4) from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN, region AWS_REGION (or AWS_DEFAULT_REGION); unsigned without credentials.
 * NEARJS_S3_ENDPOINT (e.g. http://127.0.0.1:5000, for moto) switches to path-style requests there.
 * Version = the object's ETag; a held version is revalidated with If-None-Match, so an unchanged
 * object costs one small round trip (304, no body). S3 is strongly consistent (read-after-write),
 * so a 304 means the held bytes are the current object's.
 * A batch of gets (fn_store_get_all: the loader and the account's config) runs concurrently on one
 * multi handle with FN_STORE_PARALLEL easy handles, all reused for the store's life, so a warm request
 * waits one round trip, not one per object, and the connections stay open across requests.
 * Timeouts (connect 500 ms, each GET NEARJS_S3_TIMEOUT_MS, default 1000 ms) run concurrently too: a
 * dead store answers 503 within one timeout, well inside a 3 s function timeout.
 * libcurl is loaded with dlopen() when an S3 store is opened, not linked: Debian's libcurl pulls in ~30
 * shared objects (~5 ms before main), which a folder store's cold start should not pay. The few
 * functions used are resolved into a table (curl_api_t); <curl/curl.h> gives only types and constants.
 * The library stays loaded for the life of the process (OpenSSL, which it loads, registers exit handlers).
 * A libcurl carried in the package (deploy's PACKAGE_LIBS=bundle) comes from another distribution and looks
 * for CA certificates where that one keeps them: when its default bundle is not readable here, the first
 * readable well-known one is used instead (ca_fallback).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <unistd.h>
#include "common/env.h"
#include "common/error.h"
#include "store_internal.h"

#define S3_URL_MAX 2048
/* SHA-256 of the empty payload: what S3 wants in x-amz-content-sha256 for a GET. */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The libcurl functions the store calls, resolved by name from libcurl.so.4. */
typedef struct curl_api {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURLMcode (*multi_cleanup)(CURLM *);
    const char *(*multi_strerror)(CURLMcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} curl_api_t;

typedef CURLcode curl_easy_setopt_fn_t(CURL *, CURLoption, ...);

typedef struct s3_store {
    fn_store_t base;
    curl_api_t api;
    /* One multi handle for the store's life: its connection cache keeps the connections of both
     * transfers alive across requests (an easy handle removed from it leaves its connection there). */
    CURLM *multi;
    CURL *curl[FN_STORE_PARALLEL];
    char base_url[S3_URL_MAX]; /* everything before the key, ending in "/" */
    char *sigv4;               /* "aws:amz:<region>:s3", or NULL to send unsigned */
    char *userpwd;             /* "<key id>:<secret>" */
    char *token_header;        /* "x-amz-security-token: ..." or NULL */
    long timeout_ms;
} s3_store_t;

/* What one transfer collects. */
typedef struct transfer {
    fn_store_req_t *req;
    struct curl_slist *headers; /* owned; CURLOPT_HTTPHEADER does not copy it */
    int added;                  /* in the multi handle */
    int done;                   /* rc is the transfer's result */
    CURLcode rc;
    int started; /* body cleared on the first byte, so a 304 leaves it untouched */
    int too_big;
    fn_version_t etag;
} transfer_t;

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
    transfer_t *t = data;
    if (!t->started) {
        cm_buf_reset(t->req->body);
        t->started = 1;
    }
    if (cm_buf_append(t->req->body, p, size * n) != 0) {
        t->too_big = 1;
        return 0;
    }
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *data)
{
    transfer_t *t = data;
    size_t len = size * n;
    if (len > 5 && strncasecmp(p, "etag:", 5) == 0) {
        size_t i = 5;
        while (i < len && (p[i] == ' ' || p[i] == '\t'))
            i++;
        size_t end = len;
        while (end > i && (p[end - 1] == '\r' || p[end - 1] == '\n' || p[end - 1] == ' '))
            end--;
        /* An ETag we cannot hold is no version: the object is then read on every request, never stale. */
        t->etag.len = 0;
        if (end - i > 0 && end - i < sizeof(t->etag.tag)) {
            memcpy(t->etag.tag, p + i, end - i);
            t->etag.tag[end - i] = '\0';
            t->etag.len = end - i;
        }
    }
    return len;
}

/* Where distributions keep their CA bundle: Amazon Linux and Fedora, Debian and Ubuntu, Alpine. */
static const char *const ca_bundles[] = {"/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt",
                                         "/etc/ssl/cert.pem"};

/*
 * Returns the CA bundle to give libcurl, or NULL to keep its own default: NULL when that default is
 * readable (the runtime's own libcurl), unknown (a libcurl older than 7.84, or built without a bundle
 * path) or no known bundle is readable either (then the TLS error names the problem).
 */
static const char *ca_fallback(const curl_api_t *api, CURL *c)
{
    const char *dflt = NULL;
    if (api->easy_getinfo(c, CURLINFO_CAINFO, &dflt) != CURLE_OK || dflt == NULL || access(dflt, R_OK) == 0)
        return NULL;
    for (size_t i = 0; i < sizeof(ca_bundles) / sizeof(ca_bundles[0]); i++)
        if (access(ca_bundles[i], R_OK) == 0)
            return ca_bundles[i];
    return NULL;
}

/* Object keys are built from validated ids and fixed names only; this guards the URL anyway. */
static int key_ok(const char *key)
{
    for (const char *c = key; *c != '\0'; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              strchr("/_.-", *c) != NULL))
            return 0;
    return key[0] != '\0' && strstr(key, "..") == NULL;
}

/* Prepares handle c for t's GET and adds it to the multi handle. Returns 0, or sets t->req's outcome. */
static int start(s3_store_t *st, CURL *c, transfer_t *t)
{
    const curl_api_t *api = &st->api;
    fn_store_req_t *r = t->req;
    char url[S3_URL_MAX + 256];
    int n = snprintf(url, sizeof(url), "%s%s", st->base_url, r->key);
    if (!key_ok(r->key) || n < 0 || (size_t)n >= sizeof(url)) {
        snprintf(r->cause, sizeof(r->cause), "key %.64s: not a valid object key", r->key);
        r->err = CM_ESTORE;
        return r->err;
    }
    t->headers = api->slist_append(NULL, "x-amz-content-sha256: " EMPTY_SHA256);
    /* curl_slist_append frees nothing on failure: keep the list to free it. */
    struct curl_slist *more = t->headers;
    if (more != NULL && st->token_header != NULL)
        more = api->slist_append(t->headers, st->token_header);
    if (more != NULL && r->have != NULL && r->have->len > 0) {
        char inm[FN_VERSION_MAX + 32];
        snprintf(inm, sizeof(inm), "If-None-Match: %s", r->have->tag);
        more = api->slist_append(t->headers, inm);
    }
    if (more == NULL) {
        r->err = CM_ENOMEM;
        return r->err;
    }
    /* The URL is copied by libcurl; the header list is not (freed in finish()). */
    api->easy_setopt(c, CURLOPT_URL, url);
    api->easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
    api->easy_setopt(c, CURLOPT_WRITEDATA, t);
    api->easy_setopt(c, CURLOPT_HEADERDATA, t);
    CURLMcode mc = api->multi_add_handle(st->multi, c);
    if (mc != CURLM_OK) {
        snprintf(r->cause, sizeof(r->cause), "GET %s: %s", r->key, api->multi_strerror(mc));
        r->err = mc == CURLM_OUT_OF_MEMORY ? CM_ENOMEM : CM_ESTORE;
        return r->err;
    }
    t->added = 1;
    return 0;
}

/* Takes c out of the multi handle and turns t's transfer into its request's outcome. */
static void finish(s3_store_t *st, CURL *c, transfer_t *t)
{
    const curl_api_t *api = &st->api;
    fn_store_req_t *r = t->req;
    long status = 0;
    if (t->added) {
        api->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        api->multi_remove_handle(st->multi, c);
    }
    api->easy_setopt(c, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    api->slist_free_all(t->headers);
    t->headers = NULL;
    if (!t->added)
        return; /* start() set the outcome */
    if (t->too_big) {
        snprintf(r->cause, sizeof(r->cause), "%s: over the %zu-byte cap", r->key, r->body->max);
        r->err = CM_ETOOBIG;
    } else if (!t->done || t->rc != CURLE_OK) {
        /* Not done: the loop stopped on a multi error, recorded in r->cause by the caller. */
        if (t->done)
            snprintf(r->cause, sizeof(r->cause), "GET %s: %s", r->key, api->easy_strerror(t->rc));
        r->err = CM_ESTORE;
    } else if (status == 304 && r->have != NULL && r->have->len > 0) {
        r->err = CM_ENOTMODIFIED;
    } else if (status == 404) {
        r->err = CM_ENOENT;
    } else if (status != 200) {
        snprintf(r->cause, sizeof(r->cause), "GET %s: HTTP %ld%s", r->key, status,
                 status == 403 ? " (access denied; a missing key also answers 403 without s3:ListBucket)" : "");
        r->err = CM_ESTORE;
    } else {
        if (!t->started)
            cm_buf_reset(r->body);
        r->now = t->etag;
        r->err = 0;
    }
}

/* Runs up to FN_STORE_PARALLEL gets at once on the multi handle. */
static void get_some(s3_store_t *st, fn_store_req_t *reqs, size_t n)
{
    const curl_api_t *api = &st->api;
    transfer_t t[FN_STORE_PARALLEL];
    memset(t, 0, sizeof(t));
    int running = 0;
    for (size_t i = 0; i < n; i++) {
        t[i].req = &reqs[i];
        if (start(st, st->curl[i], &t[i]) == 0)
            running++;
    }
    /* Each transfer ends by itself, at the latest at its CURLOPT_TIMEOUT_MS: curl_multi_poll wakes for
     * curl's own timers, so the loop needs no clock of its own. */
    CURLMcode mc = CURLM_OK;
    while (running > 0) {
        mc = api->multi_perform(st->multi, &running);
        if (mc != CURLM_OK || running == 0)
            break;
        mc = api->multi_poll(st->multi, NULL, 0, (int)st->timeout_ms, NULL);
        if (mc != CURLM_OK)
            break;
    }
    for (;;) {
        int left;
        CURLMsg *m = api->multi_info_read(st->multi, &left);
        if (m == NULL)
            break;
        for (size_t i = 0; i < n; i++)
            if (m->msg == CURLMSG_DONE && m->easy_handle == st->curl[i]) {
                t[i].done = 1;
                t[i].rc = m->data.result;
            }
    }
    for (size_t i = 0; i < n; i++) {
        if (t[i].added && !t[i].done)
            snprintf(reqs[i].cause, sizeof(reqs[i].cause), "GET %s: %s", reqs[i].key,
                     mc != CURLM_OK ? api->multi_strerror(mc) : "transfer did not complete");
        finish(st, st->curl[i], &t[i]);
    }
}

static void s3_get_all(fn_store_t *s, fn_store_req_t *reqs, size_t n)
{
    for (size_t i = 0; i < n; i += FN_STORE_PARALLEL)
        get_some((s3_store_t *)s, reqs + i, n - i < FN_STORE_PARALLEL ? n - i : FN_STORE_PARALLEL);
}

static void s3_free(fn_store_t *s)
{
    s3_store_t *st = (s3_store_t *)s;
    /* Handles are never left in the multi handle between batches (finish() removes them). */
    for (size_t i = 0; i < FN_STORE_PARALLEL; i++)
        if (st->curl[i] != NULL)
            st->api.easy_cleanup(st->curl[i]);
    if (st->multi != NULL)
        st->api.multi_cleanup(st->multi);
    free(st->sigv4);
    free(st->userpwd);
    free(st->token_header);
    free(s->url);
    free(st);
}

static const fn__store_ops_t s3_ops = {NULL, s3_get_all, s3_free};

/* Loads libcurl and resolves the table. Returns 0 or CM_ENOCURL (library or a symbol missing). */
static int load_curl(curl_api_t *api)
{
    /* RTLD_LAZY, as the dynamic linker binds a linked library: binding all of libcurl's and its ~30
     * dependencies' symbols now (RTLD_NOW) costs ~0.7 ms of cold start. The functions used are checked
     * below by dlsym, so a wrong library still fails here, at init. */
    void *lib = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_LOCAL);
    if (lib == NULL)
        return CM_ENOCURL;
    static const struct {
        const char *name;
        size_t offset;
    } syms[] = {
        {"curl_easy_init", offsetof(curl_api_t, easy_init)},
        {"curl_easy_setopt", offsetof(curl_api_t, easy_setopt)},
        {"curl_easy_getinfo", offsetof(curl_api_t, easy_getinfo)},
        {"curl_easy_cleanup", offsetof(curl_api_t, easy_cleanup)},
        {"curl_easy_strerror", offsetof(curl_api_t, easy_strerror)},
        {"curl_multi_init", offsetof(curl_api_t, multi_init)},
        {"curl_multi_add_handle", offsetof(curl_api_t, multi_add_handle)},
        {"curl_multi_remove_handle", offsetof(curl_api_t, multi_remove_handle)},
        {"curl_multi_perform", offsetof(curl_api_t, multi_perform)},
        {"curl_multi_poll", offsetof(curl_api_t, multi_poll)}, /* 7.66 */
        {"curl_multi_info_read", offsetof(curl_api_t, multi_info_read)},
        {"curl_multi_cleanup", offsetof(curl_api_t, multi_cleanup)},
        {"curl_multi_strerror", offsetof(curl_api_t, multi_strerror)},
        {"curl_slist_append", offsetof(curl_api_t, slist_append)},
        {"curl_slist_free_all", offsetof(curl_api_t, slist_free_all)},
    };
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        void *f = dlsym(lib, syms[i].name);
        if (f == NULL)
            return CM_ENOCURL;
        /* POSIX guarantees a dlsym() result converts to a function pointer; memcpy says so without a cast. */
        memcpy((char *)api + syms[i].offset, &f, sizeof(f));
    }
    return 0;
}

static int bucket_ok(const char *b, size_t len)
{
    if (len < 3 || len > 63)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '.' || b[i] == '-'))
            return 0;
    return 1;
}

static char *dup_printf(const char *fmt, const char *a, const char *b)
{
    size_t len = strlen(fmt) + strlen(a) + (b != NULL ? strlen(b) : 0) + 1;
    char *p = malloc(len);
    if (p != NULL)
        snprintf(p, len, fmt, a, b);
    return p;
}

int fn__store_s3_open(const char *url, const char *rest, fn_store_t **out)
{
    const char *slash = strchr(rest, '/');
    size_t blen = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
    const char *prefix = slash != NULL ? slash + 1 : "";
    size_t plen = strlen(prefix);
    while (plen > 0 && prefix[plen - 1] == '/')
        plen--;
    if (!bucket_ok(rest, blen) || (plen > 0 && !key_ok(prefix)) || plen > 512)
        return CM_ESCHEME;
    const char *region = cm_env_region();
    if (region == NULL || strlen(region) > 32 ||
        strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region))
        return CM_ESTORECONFIG;
    const char *endpoint = getenv("NEARJS_S3_ENDPOINT");
    const char *timeout = getenv("NEARJS_S3_TIMEOUT_MS");
    const char *key_id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    const char *token = getenv("AWS_SESSION_TOKEN");

    s3_store_t *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return CM_ENOMEM;
    st->base.ops = &s3_ops;
    st->timeout_ms = 1000;
    if (timeout != NULL && timeout[0] != '\0') {
        char *end;
        long v = strtol(timeout, &end, 10);
        if (*end == '\0' && v >= 50 && v <= 60000)
            st->timeout_ms = v;
    }
    int n;
    char bucket[64];
    snprintf(bucket, sizeof(bucket), "%.*s", (int)blen, rest);
    const char *sep = plen > 0 ? "/" : "";
    if (endpoint != NULL && endpoint[0] != '\0') {
        size_t elen = strlen(endpoint);
        while (elen > 0 && endpoint[elen - 1] == '/')
            elen--;
        n = snprintf(st->base_url, sizeof(st->base_url), "%.*s/%s/%.*s%s", (int)elen, endpoint, bucket, (int)plen,
                     prefix, sep);
    } else if (strchr(bucket, '.') != NULL) {
        /* Dotted names break the TLS wildcard of virtual-hosted names: path-style for them. */
        n = snprintf(st->base_url, sizeof(st->base_url), "https://s3.%s.amazonaws.com/%s/%.*s%s", region, bucket,
                     (int)plen, prefix, sep);
    } else {
        n = snprintf(st->base_url, sizeof(st->base_url), "https://%s.s3.%s.amazonaws.com/%.*s%s", bucket, region,
                     (int)plen, prefix, sep);
    }
    int err = n > 0 && (size_t)n < sizeof(st->base_url) ? 0 : CM_ESCHEME;
    st->base.url = strdup(url);
    if (err == 0)
        err = load_curl(&st->api);
    if (err == 0) {
        st->multi = st->api.multi_init();
        if (st->base.url == NULL || st->multi == NULL)
            err = CM_ENOMEM;
        for (size_t i = 0; i < FN_STORE_PARALLEL; i++) {
            st->curl[i] = st->api.easy_init();
            if (st->curl[i] == NULL)
                err = CM_ENOMEM;
        }
    }
    if (err == 0 && key_id != NULL && key_id[0] != '\0' && secret != NULL) {
        st->sigv4 = dup_printf("aws:amz:%s:s3", region, NULL);
        st->userpwd = dup_printf("%s:%s", key_id, secret);
        if (token != NULL && token[0] != '\0')
            st->token_header = dup_printf("x-amz-security-token: %s", token, NULL);
        if (st->sigv4 == NULL || st->userpwd == NULL || (token != NULL && token[0] != '\0' && st->token_header == NULL))
            err = CM_ENOMEM;
    }
    if (err != 0) {
        s3_free(&st->base);
        return err;
    }
    /* Through a pointer, curl's compile-time option type checks do not apply: every value below is
     * passed as the type the option takes (long, char *, callback, or a NULL char *). */
    curl_easy_setopt_fn_t *setopt = st->api.easy_setopt;
    const char *ca = ca_fallback(&st->api, st->curl[0]);
    for (size_t i = 0; i < FN_STORE_PARALLEL; i++) {
        CURL *c = st->curl[i];
        if (ca != NULL)
            setopt(c, CURLOPT_CAINFO, ca);
        setopt(c, CURLOPT_NOSIGNAL, 1L);
        setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        setopt(c, CURLOPT_CONNECTTIMEOUT_MS, st->timeout_ms < 500 ? st->timeout_ms : 500L);
        setopt(c, CURLOPT_TIMEOUT_MS, st->timeout_ms);
        setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        setopt(c, CURLOPT_ACCEPT_ENCODING, (char *)NULL);
        if (st->sigv4 != NULL) {
            setopt(c, CURLOPT_AWS_SIGV4, st->sigv4);
            setopt(c, CURLOPT_USERPWD, st->userpwd);
        }
    }
    *out = &st->base;
    return 0;
}
