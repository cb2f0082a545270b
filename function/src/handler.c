/*
 * handler.c: one request, start to end:
 *   event -> fn_request_t -> path check (400 before any store access) -> method (OPTIONS 204, others 405)
 *   -> loader.js and accounts/<a>/<f>.json, one batch of conditional gets against the versions the cache
 *   holds (concurrent with S3) -> render on change -> ETag of the chosen representation -> 304, or 200
 *   (gzip on demand).
 * A warm, unchanged script costs two stat() calls (or two concurrent 304s, one round trip, from S3) and a
 * copy into the answer: no read, no render, no gzip. Every failure becomes an HTTP answer without content: 404 for a
 * missing account or file, 503 + Retry-After when the store fails, 500 when its content is invalid; the cause goes to
 * the log.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "answer.h"
#include "function/cache.h"
#include "function/encode.h"
#include "common/error.h"
#include "function/event.h"
#include "function/handler.h"
#include "function/loader.h"
#include "function/negotiate.h"
#include "function/path.h"
#include "function/render.h"
#include "function/store.h"

/* Memory for cached bodies across all accounts. */
#define FN__CACHE_BYTES (64u * 1024 * 1024)

struct fn_handler {
    fn_store_t *store;
    fn_log_t log;
    void *log_ctx;
    fn_loader_t loader; /* the shared loader at version loader_version, checked, with its pieces */
    fn_version_t loader_version;
    cm_buf_t loader_bytes; /* the loader's bytes being read (then swapped with the loader's old ones) */
    cm_buf_t scratch;      /* the config's bytes being read */
    cm_buf_t gzip;         /* gzip bytes on their way to base64 */
    fn_request_t req;
    fn_cache_t cache;
    fn_stats_t stats;
    char region[64]; /* X-Nearjs-Region's value; "" for none */
};

static void say(fn_handler_t *h, fn_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(fn_handler_t *h, fn_log_level_t level, const char *fmt, ...)
{
    if (h->log == NULL)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    h->log(h->log_ctx, level, line);
}

int fn_handler_new(const char *store_url, fn_log_t log, void *log_ctx, fn_handler_t **out)
{
    fn_handler_t *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return CM_ENOMEM;
    int err = fn_store_open(store_url, &h->store);
    if (err != 0) {
        free(h);
        return err;
    }
    h->log = log;
    h->log_ctx = log_ctx;
    fn_loader_init(&h->loader);
    cm_buf_init(&h->loader_bytes, FN_OBJECT_MAX);
    cm_buf_init(&h->scratch, FN_OBJECT_MAX);
    cm_buf_init(&h->gzip, FN_SCRIPT_MAX + FN_SCRIPT_MAX / 8);
    fn_request_init(&h->req);
    fn_cache_init(&h->cache, FN__CACHE_BYTES);
    *out = h;
    return 0;
}

void fn_handler_free(fn_handler_t *h)
{
    if (h == NULL)
        return;
    fn_store_free(h->store);
    fn_loader_dispose(&h->loader);
    cm_buf_dispose(&h->loader_bytes);
    cm_buf_dispose(&h->scratch);
    cm_buf_dispose(&h->gzip);
    fn_request_dispose(&h->req);
    fn_cache_dispose(&h->cache);
    free(h);
}

void fn_handler_set_region(fn_handler_t *h, const char *region)
{
    h->region[0] = '\0';
    size_t len = region != NULL ? strlen(region) : 0;
    if (len == 0 || len >= sizeof(h->region) || strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != len)
        return;
    memcpy(h->region, region, len + 1);
}

/* fn__answer with the region's header added to headers (n < REPLY_HEADERS_MAX) when the handler has one. */
#define REPLY_HEADERS_MAX 12
static int reply(const fn_handler_t *h, cm_buf_t *out, fn_event_kind_t kind, int status, const fn__header_t *headers,
                 size_t n, const char *body_json, size_t body_json_len, int base64)
{
    fn__header_t all[REPLY_HEADERS_MAX];
    memcpy(all, headers, n * sizeof(*headers));
    if (h->region[0] != '\0')
        all[n++] = (fn__header_t){"X-Nearjs-Region", h->region};
    return fn__answer(out, kind, status, all, n, body_json, body_json_len, base64);
}

void fn_handler_stats(const fn_handler_t *h, fn_stats_t *out)
{
    *out = h->stats;
}

/* Headers every answer carries: CORS for loaders that fetch(), and no MIME sniffing. */
#define COMMON_HEADERS                                                                                                 \
    {"Access-Control-Allow-Origin", "*"},                                                                              \
    {                                                                                                                  \
        "X-Content-Type-Options", "nosniff"                                                                            \
    }

/*
 * An answer without content: a short text telling what went wrong (never why inside: that is logged), or
 * the health check's "ok".
 */
static int answer_error(fn_handler_t *h, cm_buf_t *out, int status, const char *text)
{
    fn_event_kind_t kind = h->req.kind != 0 ? h->req.kind : FN_EVENT_V2;
    fn__header_t headers[] = {
        COMMON_HEADERS,
        {"Content-Type", "text/plain; charset=utf-8"},
        /* A 404 must not outlive the account's creation, nor a 503 the store's recovery. */
        {"Cache-Control", "no-store"},
        {status == 405 ? "Allow" : "Retry-After", status == 405 ? "GET, HEAD, OPTIONS" : "1"},
    };
    size_t n = sizeof(headers) / sizeof(headers[0]);
    if (status != 405 && status != 503)
        n--;
    if (h->req.method == FN_METHOD_HEAD)
        return reply(h, out, kind, status, headers, n, NULL, 0, 0);
    /* The literal goes into scratch: nothing read from the store is kept there across answers. */
    cm_buf_reset(&h->scratch);
    int err = fn__json_string(text, strlen(text), &h->scratch);
    if (err != 0)
        return err;
    return reply(h, out, kind, status, headers, n, h->scratch.base, h->scratch.len, 0);
}

static int answer_preflight(fn_handler_t *h, cm_buf_t *out)
{
    static const fn__header_t headers[] = {
        COMMON_HEADERS,
        {"Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"},
        {"Access-Control-Allow-Headers", "*"},
        {"Access-Control-Max-Age", "86400"},
    };
    return reply(h, out, h->req.kind, 204, headers, sizeof(headers) / sizeof(headers[0]), NULL, 0, 0);
}

/* Turns a failed store get into an answer, logging what the operator must know. */
static int store_failed(fn_handler_t *h, cm_buf_t *out, const fn_store_req_t *r)
{
    if (r->err == CM_ENOMEM)
        return r->err;
    /* The store's cause names the operation and the object; other errors get the key from here. */
    if (r->cause[0] != '\0')
        say(h, FN_LOG_ERROR, "store %s: %s", fn_store_url(h->store), r->cause);
    else
        say(h, FN_LOG_ERROR, "store %s: %s: %s", fn_store_url(h->store), r->key, cm_strerror(r->err));
    if (r->err == CM_ETOOBIG)
        return answer_error(h, out, 500, "internal error\n");
    return answer_error(h, out, 503, "service unavailable: content store unreachable, retry\n");
}

/* Sets the entry's gzip ETag from its identity one: same hash, own validator ('"' + 32 hex, "-gz\""). */
static void set_etag_gz(fn_cache_entry_t *e)
{
    snprintf(e->etag_gz, sizeof(e->etag_gz), "%.33s-gz\"", e->etag);
}

/*
 * Takes the outcome of a conditional get of loader.js (into loader_bytes against loader_version): new bytes
 * are checked and hashed once per version (a config edit never looks at the loader again); a failure
 * forgets the version so that the next get fetches the bytes. Returns the get's err, or CM_ENOMEM.
 */
static int loader_took(fn_handler_t *h, const fn_store_req_t *r)
{
    if (r->err == 0) {
        h->loader_version = r->now;
        int err = fn_loader_set(&h->loader, &h->loader_bytes);
        if (err != 0 && err != CM_ECONTENT)
            h->loader_version.len = 0;
        return err == CM_ENOMEM ? err : 0;
    }
    if (r->err != CM_ENOTMODIFIED)
        h->loader_version.len = 0;
    return r->err;
}

/* The store answers but has no loader.js: no script can be served. Logs why; a 503 answer. */
static int loader_missing(fn_handler_t *h, cm_buf_t *out, const fn_store_req_t *r)
{
    say(h, FN_LOG_ERROR, "store %s: loader.js: missing%s%s", fn_store_url(h->store), r->cause[0] != '\0' ? ": " : "",
        r->cause);
    return answer_error(h, out, 503, "service unavailable: content store incomplete\n");
}

/*
 * Brings the cache entry of path up to date with the store. Returns 0 with *entry set, or the answer's
 * own result after writing an error answer into out (*entry NULL).
 * Both sources are revalidated in one batch (concurrent GETs with S3: one round trip). The config is
 * asked against the version the cached script was rendered from whenever that script was rendered from
 * the loader held now: if the loader then turns out changed and the config not, the config's piece
 * (independent of the loader) is kept and only the ETag and bodies follow the new loader.
 */
static int current(fn_handler_t *h, const fn_path_t *p, cm_buf_t *out, fn_cache_entry_t **entry)
{
    *entry = NULL;
    char key[FN_CACHE_KEY_MAX], obj[FN_CACHE_KEY_MAX + 16];
    snprintf(key, sizeof(key), "%s/%s", p->account, p->file);
    snprintf(obj, sizeof(obj), "accounts/%s/%s.json", p->account, p->file);
    fn_cache_entry_t *e = fn_cache_find(&h->cache, key);
    const fn_version_t *have = e != NULL && fn_version_eq(&e->loader, &h->loader_version) ? &e->config : NULL;
    fn_store_req_t gets[2] = {
        {.key = "loader.js", .have = &h->loader_version, .body = &h->loader_bytes},
        {.key = obj, .have = have, .body = &h->scratch},
    };
    fn_store_get_all(h->store, gets, 2);

    /* The loader first: without it no script can be answered, whatever the config's outcome. */
    int err = loader_took(h, &gets[0]);
    if (err == CM_ENOMEM)
        return err;
    if (err == CM_ENOENT)
        return loader_missing(h, out, &gets[0]);
    if (err != 0 && err != CM_ENOTMODIFIED)
        return store_failed(h, out, &gets[0]);
    if (!h->loader.valid) {
        say(h, FN_LOG_ERROR, "render loader.js: %s", h->loader.why[0] != '\0' ? h->loader.why : "hashing failed");
        return answer_error(h, out, 500, "internal error\n");
    }

    /* A 304 answers a have, and there is a have only with an entry. */
    err = gets[1].err == CM_ENOTMODIFIED && e == NULL ? CM_ESTORE : gets[1].err;
    if (err == CM_ENOTMODIFIED && fn_version_eq(&e->loader, &h->loader_version)) {
        h->stats.hits++;
        *entry = e;
        return 0;
    }
    if (err == CM_ENOTMODIFIED) {
        /* Only the loader changed: the cached config piece stands; the script is the new loader around it. */
        char why[64] = "";
        err = fn_loader_etag(&h->loader, e->config_json.base, e->config_json.len, e->etag);
        if (err == 0) {
            set_etag_gz(e);
            cm_buf_reset(&e->script_json);
            cm_buf_reset(&e->gzip_json);
            e->loader = h->loader_version;
            h->stats.renders++;
            *entry = e;
            return 0;
        }
        if (err == CM_ETOOBIG)
            snprintf(why, sizeof(why), "rendered script larger than its cap");
        fn_cache_drop(&h->cache, e);
        say(h, FN_LOG_ERROR, "render %s: %s: %s", obj, cm_strerror(err), why);
        return answer_error(h, out, 500, "internal error\n");
    }
    /* Gone or failing: forget the script (a changed one is re-rendered in place by fn_cache_claim). */
    if (e != NULL && err != 0)
        fn_cache_drop(&h->cache, e);
    if (err == CM_ENOENT) {
        /* Missing is ordinary; something else in the object's place (a link, folder, FIFO) is the operator's. */
        if (gets[1].cause[0] != '\0')
            say(h, FN_LOG_WARN, "store %s: %s", fn_store_url(h->store), gets[1].cause);
        return answer_error(h, out, 404, "not found\n");
    }
    if (err != 0)
        return store_failed(h, out, &gets[1]);

    e = fn_cache_claim(&h->cache, key);
    char why[256] = "";
    err = fn_loader_render(&h->loader, h->scratch.base, h->scratch.len, &e->config_json, e->etag, why, sizeof(why));
    if (err == 0)
        set_etag_gz(e);
    if (err != 0) {
        fn_cache_drop(&h->cache, e);
        if (err == CM_ENOMEM)
            return err;
        say(h, FN_LOG_ERROR, "render %s: %s: %s", obj, cm_strerror(err), why);
        return answer_error(h, out, 500, "internal error\n");
    }
    h->stats.renders++;
    e->loader = h->loader_version;
    e->config = gets[1].now;
    fn_cache_trim(&h->cache, e);
    *entry = e;
    return 0;
}

/* Makes the entry's base64 gzip body literal if it has none. Returns 0 or an error (then serve identity). */
static int ensure_gzip(fn_handler_t *h, fn_cache_entry_t *e)
{
    if (e->gzip_json.len > 0)
        return 0;
    int err = fn_loader_gzip_json(&h->loader, e->config_json.base, e->config_json.len, &h->gzip, &e->gzip_json);
    if (err != 0)
        return err;
    h->stats.gzips++;
    fn_cache_trim(&h->cache, e);
    return 0;
}

/* Makes the entry's identity body literal if it has none. */
static int ensure_identity(fn_handler_t *h, fn_cache_entry_t *e)
{
    if (e->script_json.len > 0)
        return 0;
    int err = fn_loader_script_json(&h->loader, e->config_json.base, e->config_json.len, &e->script_json);
    if (err == 0)
        fn_cache_trim(&h->cache, e);
    return err;
}

static int serve(fn_handler_t *h, const fn_path_t *p, cm_buf_t *out)
{
    fn_cache_entry_t *e;
    int err = current(h, p, out, &e);
    if (e == NULL)
        return err;
    const fn_request_t *req = &h->req;
    int gz = fn_accepts_gzip(req->accept_encoding.base, req->accept_encoding.len);
    /* A HEAD answer has no body, so the bodies need not exist yet; its headers do not depend on them. */
    if (gz && req->method == FN_METHOD_GET) {
        err = ensure_gzip(h, e);
        if (err == CM_ENOMEM)
            return err;
        if (err != 0) {
            say(h, FN_LOG_WARN, "gzip %s/%s: %s; answering uncompressed", p->account, p->file, cm_strerror(err));
            gz = 0;
        }
    }
    if (!gz && req->method == FN_METHOD_GET) {
        err = ensure_identity(h, e);
        if (err == CM_ENOMEM)
            return err;
        if (err != 0) {
            say(h, FN_LOG_ERROR, "answer %s/%s: %s", p->account, p->file, cm_strerror(err));
            return answer_error(h, out, 500, "internal error\n");
        }
    }
    fn__header_t headers[8] = {
        COMMON_HEADERS,
        {"Cache-Control", "no-cache"},
        {"ETag", gz ? e->etag_gz : e->etag},
        {"Vary", "Accept-Encoding"},
        {"Access-Control-Expose-Headers", "ETag"},
    };
    size_t n = 6;
    /* The 304 carries the 200's type: a browser applies a 304's headers to its cached copy, and a
     * cross-origin nosniff script left without its JavaScript type (or given a gateway's default) is blocked. */
    headers[n++] = (fn__header_t){"Content-Type", "application/javascript; charset=utf-8"};
    if (fn_if_none_match(req->if_none_match.base, req->if_none_match.len, headers[3].value))
        return reply(h, out, req->kind, 304, headers, n, NULL, 0, 0);
    if (gz)
        headers[n++] = (fn__header_t){"Content-Encoding", "gzip"};
    if (req->method == FN_METHOD_HEAD)
        return reply(h, out, req->kind, 200, headers, n, NULL, 0, 0);
    if (gz)
        return reply(h, out, req->kind, 200, headers, n, e->gzip_json.base, e->gzip_json.len, 1);
    return reply(h, out, req->kind, 200, headers, n, e->script_json.base, e->script_json.len, 0);
}

/*
 * GET/HEAD /healthz: 200 when the store answers, 503 (with the cause logged) when it does not. Costs one
 * conditional get of loader.js against the version held: a stat() for a folder, a 304 for S3, so a health
 * check every few seconds from many checkers costs almost nothing (and keeps the loader warm).
 */
static int answer_health(fn_handler_t *h, cm_buf_t *out)
{
    if (h->req.method != FN_METHOD_GET && h->req.method != FN_METHOD_HEAD)
        return answer_error(h, out, 405, "method not allowed\n");
    fn_store_req_t get = {.key = "loader.js", .have = &h->loader_version, .body = &h->loader_bytes};
    fn_store_get_all(h->store, &get, 1);
    int err = loader_took(h, &get);
    if (err == CM_ENOMEM)
        return err;
    /* A loader that is there but invalid makes every script a 500: not healthy either. */
    if ((err == 0 || err == CM_ENOTMODIFIED) && h->loader.valid)
        return answer_error(h, out, 200, "ok\n");
    if (err == 0 || err == CM_ENOTMODIFIED) {
        say(h, FN_LOG_ERROR, "render loader.js: %s", h->loader.why[0] != '\0' ? h->loader.why : "hashing failed");
        return answer_error(h, out, 503, "service unavailable: loader.js invalid\n");
    }
    if (err == CM_ENOENT)
        return loader_missing(h, out, &get);
    return store_failed(h, out, &get);
}

int fn_handler_handle(fn_handler_t *h, const char *event, size_t len, cm_buf_t *out)
{
    h->stats.requests++;
    int err = fn_request_parse(&h->req, event, len);
    if (err == CM_ENOMEM)
        return err;
    if (err != 0)
        return answer_error(h, out, 400, "bad request: not an HTTP event\n");
    /* One segment without .js: never an account's path, so no account can shadow it. */
    if (h->req.path.len == 8 && memcmp(h->req.path.base, "/healthz", 8) == 0)
        return answer_health(h, out);
    fn_path_t p;
    if (fn_path_parse(h->req.path.base, h->req.path.len, &p) != 0)
        return answer_error(h, out, 400, "bad request: the path must be /<account>/<file>.js\n");
    if (h->req.method == FN_METHOD_OPTIONS)
        return answer_preflight(h, out);
    if (h->req.method == FN_METHOD_OTHER)
        return answer_error(h, out, 405, "method not allowed\n");
    return serve(h, &p, out);
}
