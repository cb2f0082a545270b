/*
 * Unit tests of handler.c, in process: events of each version through fn_handler_handle() against the
 * demo store and a temporary copy of it (edits, deletions, broken content, a failing store), checking
 * status, every header rule, bodies (gzip decoded) and the warm cache's counters.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "check.h"
#include "common/error.h"
#include "function/handler.h"

static char logged[2048];

static void capture(void *ctx, fn_log_level_t level, const char *line)
{
    (void)ctx;
    (void)level;
    snprintf(logged, sizeof(logged), "%s", line);
}

typedef struct answer {
    json_t *root;
    int status;
    const char *body;
    size_t body_len;
    int base64;
} answer_t;

/* Builds an event of kind "v1", "v2" or "url", runs it, parses the answer (caller json_decref's root). */
static answer_t call(fn_handler_t *h, const char *kind, const char *method, const char *path, const char *ae,
                     const char *inm)
{
    json_t *ev, *hdrs = json_object();
    if (ae != NULL)
        json_object_set_new(hdrs, strcmp(kind, "v1") == 0 ? "Accept-Encoding" : "accept-encoding", json_string(ae));
    if (inm != NULL)
        json_object_set_new(hdrs, strcmp(kind, "v1") == 0 ? "If-None-Match" : "if-none-match", json_string(inm));
    if (strcmp(kind, "v1") == 0) {
        ev = json_pack("{s:s, s:s, s:s, s:o, s:{s:s}}", "version", "1.0", "httpMethod", method, "path", path, "headers",
                       hdrs, "requestContext", "stage", "prod");
    } else {
        const char *domain = strcmp(kind, "url") == 0 ? "abcdef.lambda-url.eu-west-1.on.aws" : "fast.example.com";
        ev = json_pack("{s:s, s:s, s:s, s:o, s:{s:{s:s, s:s}, s:s}, s:b}", "version", "2.0", "rawPath", path,
                       "rawQueryString", "", "headers", hdrs, "requestContext", "http", "method", method, "path", path,
                       "domainName", domain, "isBase64Encoded", 0);
    }
    char *text = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    cm_buf_t out;
    cm_buf_init(&out, 6 * 1024 * 1024);
    int err = fn_handler_handle(h, text, strlen(text), &out);
    free(text);
    answer_t a = {0};
    CHECK(err == 0, "%s %s %s: handle failed: %d", kind, method, path, err);
    a.root = err == 0 ? json_loadb(out.base, out.len, 0, NULL) : NULL;
    cm_buf_dispose(&out);
    a.status = (int)json_integer_value(json_object_get(a.root, "statusCode"));
    a.body = json_string_value(json_object_get(a.root, "body"));
    a.body_len = json_string_length(json_object_get(a.root, "body"));
    a.base64 = json_is_true(json_object_get(a.root, "isBase64Encoded"));
    return a;
}

/* The value of header name, from headers (2.0) or multiValueHeaders (1.0, exactly one value); NULL if absent. */
static const char *header(const answer_t *a, const char *name)
{
    json_t *v = json_object_get(json_object_get(a->root, "headers"), name);
    if (v == NULL) {
        json_t *list = json_object_get(json_object_get(a->root, "multiValueHeaders"), name);
        v = json_array_size(list) == 1 ? json_array_get(list, 0) : NULL;
    }
    return json_string_value(v);
}

static int header_is(const answer_t *a, const char *name, const char *want)
{
    const char *v = header(a, name);
    return want == NULL ? v == NULL : v != NULL && strcmp(v, want) == 0;
}

/* Decodes a base64 gzip body into out (at most cap bytes); returns its length or -1. */
static long gunzip_b64(const char *b64, size_t len, char *out, size_t cap)
{
    unsigned char *raw = malloc(len + 4);
    int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);
    while (n > 0 && len > 0 && b64[len - 1] == '=') {
        n--;
        len--;
    }
    z_stream z;
    memset(&z, 0, sizeof(z));
    inflateInit2(&z, 15 + 16);
    z.next_in = raw;
    z.avail_in = n > 0 ? (uInt)n : 0;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    int zr = inflate(&z, Z_FINISH);
    long got = zr == Z_STREAM_END ? (long)z.total_out : -1;
    inflateEnd(&z);
    free(raw);
    return got;
}

static fn_handler_t *open_store(const char *dir)
{
    char url[600];
    snprintf(url, sizeof(url), "file://%s", dir);
    fn_handler_t *h = NULL;
    int err = fn_handler_new(url, capture, NULL, &h);
    CHECK(err == 0, "open %s: %s", url, cm_strerror(err));
    return h;
}

/* Every status and header rule, for each event version. */
static void test_rules(void)
{
    static const struct {
        const char *kind, *method, *path, *ae, *inm;
        int status;
        const char *ctype;  /* Content-Type, or NULL when none */
        const char *cenc;   /* Content-Encoding, or NULL when none */
        const char *inbody; /* a piece of the (decoded) body, or NULL: body must be empty */
    } cases[] = {
        {"v2", "GET", "/acme/main.js", NULL, NULL, 200, "application/javascript; charset=utf-8", NULL, "free shipping"},
        {"v1", "GET", "/acme/main.js", NULL, NULL, 200, "application/javascript; charset=utf-8", NULL, "free shipping"},
        {"url", "GET", "/acme/main.js", NULL, NULL, 200, "application/javascript; charset=utf-8", NULL,
         "free shipping"},
        {"v2", "GET", "/acme/main.js", "gzip, deflate, br", NULL, 200, "application/javascript; charset=utf-8", "gzip",
         "free shipping"},
        {"v1", "GET", "/acme/main.js", "gzip", NULL, 200, "application/javascript; charset=utf-8", "gzip",
         "free shipping"},
        {"url", "GET", "/acme/widget.js", "gzip", NULL, 200, "application/javascript; charset=utf-8", "gzip",
         "Support \\u003cchat\\u003e \\u0026 help"},
        {"v2", "GET", "/acme/main.js", "gzip;q=0", NULL, 200, "application/javascript; charset=utf-8", NULL,
         "shipping"},
        {"v2", "GET", "/acme/main.js", "br", NULL, 200, "application/javascript; charset=utf-8", NULL, "shipping"},
        {"v2", "HEAD", "/acme/main.js", NULL, NULL, 200, "application/javascript; charset=utf-8", NULL, NULL},
        {"v1", "HEAD", "/acme/main.js", "gzip", NULL, 200, "application/javascript; charset=utf-8", "gzip", NULL},
        {"v2", "GET", "/acme/main.js", NULL, "*", 304, "application/javascript; charset=utf-8", NULL, NULL},
        {"v1", "HEAD", "/acme/main.js", NULL, "*", 304, "application/javascript; charset=utf-8", NULL, NULL},
        {"v2", "GET", "/acme/main.js", NULL, "\"nope\"", 200, "application/javascript; charset=utf-8", NULL,
         "shipping"},
        {"v2", "OPTIONS", "/acme/main.js", NULL, NULL, 204, NULL, NULL, NULL},
        {"v2", "POST", "/acme/main.js", NULL, NULL, 405, "text/plain; charset=utf-8", NULL, "not allowed"},
        {"v1", "DELETE", "/acme/main.js", NULL, NULL, 405, "text/plain; charset=utf-8", NULL, "not allowed"},
        {"v2", "GET", "/nobody/main.js", NULL, NULL, 404, "text/plain; charset=utf-8", NULL, "not found"},
        {"v2", "GET", "/acme/nothing.js", "gzip", NULL, 404, "text/plain; charset=utf-8", NULL, "not found"},
        {"v1", "HEAD", "/nobody/main.js", NULL, NULL, 404, "text/plain; charset=utf-8", NULL, NULL},
        {"v2", "GET", "/acme/../globex/main.js", NULL, NULL, 400, "text/plain; charset=utf-8", NULL, "bad request"},
        {"v2", "GET", "/acme/%2e%2e%2fglobex/main.js", NULL, NULL, 400, "text/plain; charset=utf-8", NULL,
         "bad request"},
        {"v1", "GET", "/acme%2Fmain.js", NULL, NULL, 400, "text/plain; charset=utf-8", NULL, "bad request"},
        {"url", "GET", "/acme/main.json", NULL, NULL, 400, "text/plain; charset=utf-8", NULL, "bad request"},
        {"v2", "POST", "/../x.js", NULL, NULL, 400, "text/plain; charset=utf-8", NULL, "bad request"},
        {"v2", "GET", "/globex/main.js", NULL, NULL, 200, "application/javascript; charset=utf-8", NULL,
         "\\u003c\\/script\\u003e\\u003cscript\\u003ealert(1)"},
    };
    fn_handler_t *h = open_store(FN_DEMO_DIR);
    if (h == NULL)
        return;
    static char plain[1 << 20];
    for (size_t i = 0; i < NCASES(cases); i++) {
        answer_t a = call(h, cases[i].kind, cases[i].method, cases[i].path, cases[i].ae, cases[i].inm);
        CHECK(a.status == cases[i].status, "row %zu: status %d want %d", i, a.status, cases[i].status);
        CHECK(json_object_get(a.root, strcmp(cases[i].kind, "v1") == 0 ? "multiValueHeaders" : "headers") != NULL &&
                  json_object_get(a.root, strcmp(cases[i].kind, "v1") == 0 ? "headers" : "multiValueHeaders") == NULL,
              "row %zu: headers in the shape of the event version", i);
        CHECK(header_is(&a, "Access-Control-Allow-Origin", "*"), "row %zu: CORS", i);
        CHECK(header_is(&a, "X-Content-Type-Options", "nosniff"), "row %zu: nosniff", i);
        CHECK(header_is(&a, "Content-Type", cases[i].ctype), "row %zu: Content-Type %s", i,
              header(&a, "Content-Type") ? header(&a, "Content-Type") : "(none)");
        CHECK(header_is(&a, "Content-Encoding", cases[i].cenc), "row %zu: Content-Encoding", i);
        CHECK(a.base64 == (cases[i].cenc != NULL && cases[i].inbody != NULL), "row %zu: isBase64Encoded", i);
        if (a.status == 200 || a.status == 304) {
            const char *etag = header(&a, "ETag");
            size_t want_len = cases[i].cenc != NULL ? 37 : 34;
            CHECK(etag != NULL && strlen(etag) == want_len && etag[0] == '"', "row %zu: ETag %s", i, etag ? etag : "");
            CHECK(header_is(&a, "Cache-Control", "no-cache"), "row %zu: Cache-Control", i);
            CHECK(header_is(&a, "Vary", "Accept-Encoding"), "row %zu: Vary", i);
        } else {
            CHECK(header(&a, "ETag") == NULL, "row %zu: no ETag on errors", i);
        }
        if (a.status == 405)
            CHECK(header_is(&a, "Allow", "GET, HEAD, OPTIONS"), "row %zu: Allow", i);
        if (a.status == 204)
            CHECK(header_is(&a, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"), "row %zu: preflight", i);
        if (cases[i].inbody == NULL) {
            CHECK(a.body != NULL && a.body_len == 0, "row %zu: empty body", i);
        } else if (a.base64) {
            long n = gunzip_b64(a.body, a.body_len, plain, sizeof(plain) - 1);
            CHECK(n >= 0, "row %zu: gzip body decodes", i);
            plain[n < 0 ? 0 : n] = '\0';
            CHECK(strstr(plain, cases[i].inbody) != NULL, "row %zu: body has '%s'", i, cases[i].inbody);
        } else {
            CHECK(a.body != NULL && strstr(a.body, cases[i].inbody) != NULL, "row %zu: body has '%s'", i,
                  cases[i].inbody);
        }
        /* Never a script that can break out of <script> or a JS line. */
        if (a.body != NULL && !a.base64)
            CHECK(strstr(a.body, "</script") == NULL && strstr(a.body, "\xe2\x80\xa8") == NULL, "row %zu: safe", i);
        json_decref(a.root);
    }
    fn_handler_free(h);
}

/* ETags: GET and HEAD agree; If-None-Match with it (plain, W/, in a list) gives 304; gzip has its own. */
static void test_conditional(void)
{
    fn_handler_t *h = open_store(FN_DEMO_DIR);
    if (h == NULL)
        return;
    answer_t get = call(h, "v2", "GET", "/acme/main.js", NULL, NULL);
    answer_t head = call(h, "v2", "HEAD", "/acme/main.js", NULL, NULL);
    answer_t gz = call(h, "v2", "GET", "/acme/main.js", "gzip", NULL);
    const char *etag = header(&get, "ETag"), *etag_gz = header(&gz, "ETag");
    CHECK(etag != NULL && header_is(&head, "ETag", etag), "HEAD and GET share the ETag");
    CHECK(etag_gz != NULL && etag != NULL && strcmp(etag, etag_gz) != 0, "gzip representation has its own ETag");
    char list[200], weak[100];
    snprintf(list, sizeof(list), "\"x\", %s", etag);
    snprintf(weak, sizeof(weak), "W/%s", etag);
    const char *hit[] = {etag, list, weak};
    for (size_t i = 0; i < NCASES(hit); i++) {
        answer_t a = call(h, i == 1 ? "v1" : "v2", i == 2 ? "HEAD" : "GET", "/acme/main.js", NULL, hit[i]);
        CHECK(a.status == 304 && a.body_len == 0 && header_is(&a, "ETag", etag), "If-None-Match '%s': 304", hit[i]);
        json_decref(a.root);
    }
    answer_t a = call(h, "v2", "GET", "/acme/main.js", "gzip", etag);
    CHECK(a.status == 200, "the identity ETag does not validate the gzip representation");
    json_decref(a.root);
    a = call(h, "v2", "GET", "/acme/main.js", "gzip", etag_gz);
    CHECK(a.status == 304 && header_is(&a, "ETag", etag_gz), "the gzip ETag does");
    CHECK(header_is(&a, "Content-Type", "application/javascript; charset=utf-8"), "the gzip 304 has the 200's type");
    json_decref(a.root);
    a = call(h, "v2", "GET", "/globex/main.js", NULL, etag);
    CHECK(a.status == 200, "another script's ETag does not match");
    json_decref(a.root);
    json_decref(get.root);
    json_decref(head.root);
    json_decref(gz.root);
    fn_handler_free(h);
}

static void write_file(const char *dir, const char *rel, const char *text)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

/* Live content in a copy of the demo store: the warm cache, edits, deletions, bad content, store failure. */
static void test_live(void)
{
    char dir[] = "/tmp/fn-handler-XXXXXX", cmd[300];
    if (mkdtemp(dir) == NULL)
        return;
    snprintf(cmd, sizeof(cmd), "cp -R '%s/.' '%s/'", FN_DEMO_DIR, dir);
    CHECK(system(cmd) == 0, "copy demo store");
    /* Past the store's racy window (2 s) the copied files get versions, so the cache can work. */
    sleep(3);
    fn_handler_t *h = open_store(dir);
    if (h == NULL)
        return;
    fn_stats_t s0, s1;
    answer_t a = call(h, "v2", "GET", "/acme/main.js", "gzip", NULL);
    json_decref(a.root);
    fn_handler_stats(h, &s0);
    for (int i = 0; i < 5; i++) {
        a = call(h, i % 2 ? "v1" : "v2", "GET", "/acme/main.js", "gzip", NULL);
        CHECK(a.status == 200 && a.base64, "warm gzip %d", i);
        json_decref(a.root);
    }
    fn_handler_stats(h, &s1);
    CHECK(s1.renders == s0.renders && s1.gzips == s0.gzips && s1.hits == s0.hits + 5,
          "warm: no render, no gzip (renders %llu->%llu gzips %llu->%llu hits %llu->%llu)",
          (unsigned long long)s0.renders, (unsigned long long)s1.renders, (unsigned long long)s0.gzips,
          (unsigned long long)s1.gzips, (unsigned long long)s0.hits, (unsigned long long)s1.hits);

    /* Edit the config: the very next request shows it (the file is racy now, so it is read each time). */
    write_file(dir, "accounts/acme/main.json", "{\"account\":\"acme\",\"banner\":{\"text\":\"EDITED-1\"}}");
    a = call(h, "v2", "GET", "/acme/main.js", NULL, NULL);
    CHECK(a.status == 200 && a.body != NULL && strstr(a.body, "EDITED-1") != NULL, "config edit visible at once");
    json_decref(a.root);
    write_file(dir, "accounts/acme/main.json", "{\"account\":\"acme\",\"banner\":{\"text\":\"EDITED-2\"}}");
    a = call(h, "v2", "GET", "/acme/main.js", "gzip", NULL);
    static char plain[1 << 16];
    long n = a.base64 ? gunzip_b64(a.body, a.body_len, plain, sizeof(plain) - 1) : -1;
    plain[n < 0 ? 0 : n] = '\0';
    CHECK(n > 0 && strstr(plain, "EDITED-2") != NULL, "second edit of the same size, gzip: visible at once");
    json_decref(a.root);
    /* Edit the shared loader: every account's script changes. */
    write_file(dir, "loader.js",
               "/* v2 loader */ start("
               "__NEARJS_CONFIG__"
               ");\n");
    a = call(h, "v2", "GET", "/globex/main.js", NULL, NULL);
    CHECK(a.status == 200 && a.body != NULL && strncmp(a.body, "/* v2 loader */ start({", 23) == 0,
          "loader edit visible: %.40s", a.body ? a.body : "");
    json_decref(a.root);
    /* The loader's pieces are cached per loader version: each edit shows on the very next request, both
     * encodings, for an account whose bodies were made from the previous loader. */
    a = call(h, "v2", "GET", "/acme/main.js", "gzip", NULL);
    n = a.base64 ? gunzip_b64(a.body, a.body_len, plain, sizeof(plain) - 1) : -1;
    plain[n < 0 ? 0 : n] = '\0';
    CHECK(n > 0 && strncmp(plain, "/* v2 loader */ start({", 23) == 0 && strstr(plain, "EDITED-2") != NULL,
          "loader edit, gzip: %.60s", plain);
    json_decref(a.root);
    write_file(dir, "loader.js", "/* v3 loader */ go(__NEARJS_CONFIG__);\n");
    a = call(h, "v2", "GET", "/acme/main.js", "gzip", NULL);
    n = a.base64 ? gunzip_b64(a.body, a.body_len, plain, sizeof(plain) - 1) : -1;
    plain[n < 0 ? 0 : n] = '\0';
    CHECK(n > 0 && strncmp(plain, "/* v3 loader */ go({", 20) == 0, "second loader edit, gzip: %.60s", plain);
    json_decref(a.root);
    a = call(h, "v2", "GET", "/acme/main.js", NULL, NULL);
    CHECK(a.status == 200 && a.body != NULL && strncmp(a.body, "/* v3 loader */ go({", 20) == 0,
          "second loader edit, identity: %.40s", a.body ? a.body : "");
    json_decref(a.root);
    write_file(dir, "accounts/acme/main.json", "{\"account\":\"acme\",\"banner\":{\"text\":\"EDITED-3\"}}");
    a = call(h, "v2", "GET", "/acme/main.js", "gzip", NULL);
    n = a.base64 ? gunzip_b64(a.body, a.body_len, plain, sizeof(plain) - 1) : -1;
    plain[n < 0 ? 0 : n] = '\0';
    CHECK(n > 0 && strncmp(plain, "/* v3 loader */ go({", 20) == 0 && strstr(plain, "EDITED-3") != NULL,
          "config edit on the cached loader pieces, gzip: %.60s", plain);
    json_decref(a.root);
    /* A broken loader: 500 for every script, the cause logged; fixed: served again at once. */
    write_file(dir, "loader.js", "/* no placeholder */\n");
    logged[0] = '\0';
    a = call(h, "v2", "GET", "/acme/main.js", "gzip", NULL);
    CHECK(a.status == 500 && strstr(logged, "placeholder") != NULL, "broken loader: 500, logged: %s", logged);
    json_decref(a.root);
    write_file(dir, "loader.js", "/* v4 loader */ go(__NEARJS_CONFIG__);\n");
    a = call(h, "v2", "GET", "/acme/main.js", NULL, NULL);
    CHECK(a.status == 200 && a.body != NULL && strncmp(a.body, "/* v4 loader */ go({", 20) == 0, "loader fixed: %.40s",
          a.body ? a.body : "");
    json_decref(a.root);
    /* Invalid content: 500, nothing of it in the answer, the cause in the log. */
    write_file(dir, "accounts/acme/main.json", "{\"account\": SECRET-BROKEN");
    logged[0] = '\0';
    a = call(h, "v2", "GET", "/acme/main.js", NULL, NULL);
    CHECK(a.status == 500 && a.body != NULL && strstr(a.body, "SECRET") == NULL, "broken config: 500");
    CHECK(strstr(logged, "accounts/acme/main.json") != NULL, "logged: %s", logged);
    json_decref(a.root);
    /* Deleted: 404; created again: 200. */
    snprintf(cmd, sizeof(cmd), "%s/accounts/acme/main.json", dir);
    unlink(cmd);
    a = call(h, "v2", "GET", "/acme/main.js", NULL, NULL);
    CHECK(a.status == 404, "deleted: 404");
    json_decref(a.root);
    write_file(dir, "accounts/acme/main.json", "{\"account\":\"acme\",\"back\":true}");
    a = call(h, "v2", "GET", "/acme/main.js", NULL, NULL);
    CHECK(a.status == 200 && a.body != NULL && strstr(a.body, "\"back\":true") != NULL, "re-created: 200");
    json_decref(a.root);
    /* A failing store (its folder gone): 503, Retry-After, a log naming store and cause. */
    char away[300];
    snprintf(away, sizeof(away), "%s.away", dir);
    CHECK(rename(dir, away) == 0, "move the store away");
    logged[0] = '\0';
    a = call(h, "v2", "GET", "/acme/main.js", NULL, NULL);
    CHECK(a.status == 503 && header_is(&a, "Retry-After", "1"), "failing store: 503 + Retry-After");
    CHECK(strstr(logged, dir) != NULL && strstr(logged, "No such file") != NULL, "log names store and cause: %s",
          logged);
    json_decref(a.root);
    CHECK(rename(away, dir) == 0, "move the store back");
    /* The loader gone: 503 (the store is incomplete, not the account unknown). */
    snprintf(cmd, sizeof(cmd), "%s/loader.js", dir);
    unlink(cmd);
    a = call(h, "v2", "GET", "/globex/main.js", NULL, NULL);
    CHECK(a.status == 503, "loader missing: 503");
    json_decref(a.root);
    fn_handler_free(h);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "clean up");
}

static void test_bad_events(void)
{
    static const char *events[] = {
        "",
        "null",
        "{}",
        "not json",
        "{\"version\":\"2.0\"}",
        "[1]",
        /* a NUL inside the path reaches the path check and fails there */
        "{\"version\":\"2.0\",\"rawPath\":\"/acme/ma\\u0000in.js\",\"requestContext\":{\"http\":{\"method\":\"GET\"}}}",
        "{\"httpMethod\":\"GET\",\"path\":\"/acme/main.js\\u0000\"}",
    };
    fn_handler_t *h = open_store(FN_DEMO_DIR);
    if (h == NULL)
        return;
    for (size_t i = 0; i < NCASES(events); i++) {
        cm_buf_t out;
        cm_buf_init(&out, 1 << 20);
        CHECK(fn_handler_handle(h, events[i], strlen(events[i]), &out) == 0, "row %zu answered", i);
        json_t *j = json_loadb(out.base, out.len, 0, NULL);
        CHECK(json_integer_value(json_object_get(j, "statusCode")) == 400, "row %zu '%s': 400", i, events[i]);
        json_decref(j);
        cm_buf_dispose(&out);
    }
    fn_handler_free(h);
    fn_handler_t *bad = (fn_handler_t *)events;
    CHECK(fn_handler_new("ftp://host/x", NULL, NULL, &bad) == CM_ESCHEME && bad == (fn_handler_t *)events,
          "unknown scheme refused");
    fn_handler_free(NULL);
}

/* GET/HEAD /healthz: 200 while the store answers, 503 when the loader is gone or unreadable, 405 otherwise. */
static void test_health(void)
{
    char dir[] = "/tmp/fn-health-XXXXXX", cmd[700], path[600];
    if (mkdtemp(dir) == NULL)
        return;
    snprintf(cmd, sizeof(cmd), "cp -R '%s/.' '%s/'", FN_DEMO_DIR, dir);
    CHECK(system(cmd) == 0, "copy demo store");
    fn_handler_t *h = open_store(dir);
    if (h == NULL)
        return;
    static const struct {
        const char *kind, *method;
        int status;
        const char *body;
    } cases[] = {
        {"v2", "GET", 200, "ok\n"}, {"v1", "GET", 200, "ok\n"}, {"url", "GET", 200, "ok\n"},
        {"v2", "HEAD", 200, NULL},  {"v2", "POST", 405, NULL},  {"v2", "OPTIONS", 405, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        answer_t a = call(h, cases[i].kind, cases[i].method, "/healthz", NULL, NULL);
        CHECK(a.status == cases[i].status, "row %zu %s %s /healthz: status %d, want %d", i, cases[i].kind,
              cases[i].method, a.status, cases[i].status);
        if (cases[i].body != NULL)
            CHECK(a.body != NULL && strcmp(a.body, cases[i].body) == 0, "row %zu: body '%s'", i, a.body ? a.body : "");
        if (cases[i].status == 200)
            CHECK(header_is(&a, "Cache-Control", "no-store") && header_is(&a, "Retry-After", NULL),
                  "row %zu: no-store, no Retry-After", i);
        json_decref(a.root);
    }
    /* Near neighbours are account paths (400), not health checks. */
    const char *near[] = {"/healthz/", "/Healthz", "/healthz.js", "/healthz?x"};
    for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++) {
        answer_t a = call(h, "v2", "GET", near[i], NULL, NULL);
        CHECK(a.status == 400, "%s: status %d, want 400", near[i], a.status);
        json_decref(a.root);
    }
    /* The loader gone: 503 with Retry-After and the cause logged; back: 200. */
    snprintf(path, sizeof(path), "%s/loader.js", dir);
    snprintf(cmd, sizeof(cmd), "%s.away", path);
    CHECK(rename(path, cmd) == 0, "move loader away");
    logged[0] = '\0';
    answer_t a = call(h, "v2", "GET", "/healthz", NULL, NULL);
    CHECK(a.status == 503 && header_is(&a, "Retry-After", "1") && strstr(logged, "loader.js") != NULL,
          "loader missing: status %d, log '%s'", a.status, logged);
    json_decref(a.root);
    /* A loader that cannot be read (a symlink loop): the store fails, 503. */
    CHECK(symlink(path, path) == 0, "loop symlink");
    a = call(h, "v2", "GET", "/healthz", NULL, NULL);
    CHECK(a.status == 503 && strstr(logged, "loader.js") != NULL, "loader unreadable: status %d, log '%s'", a.status,
          logged);
    json_decref(a.root);
    unlink(path);
    /* A loader without its placeholder would make every script a 500: unhealthy too. */
    FILE *f = fopen(path, "w");
    CHECK(f != NULL && fputs("window.x = 1;\n", f) >= 0 && fclose(f) == 0, "write an invalid loader");
    logged[0] = '\0';
    a = call(h, "v2", "GET", "/healthz", NULL, NULL);
    CHECK(a.status == 503 && strstr(logged, "loader.js") != NULL, "loader invalid: status %d, log '%s'", a.status,
          logged);
    json_decref(a.root);
    unlink(path);
    CHECK(rename(cmd, path) == 0, "loader back");
    a = call(h, "v2", "GET", "/healthz", NULL, NULL);
    CHECK(a.status == 200, "loader back: status %d", a.status);
    json_decref(a.root);
    /* A script still renders after health checks took the loader (they share its version). */
    a = call(h, "v2", "GET", "/acme/main.js", NULL, NULL);
    CHECK(a.status == 200 && a.body != NULL && strstr(a.body, "nearjs demo loader") != NULL, "script after health");
    json_decref(a.root);
    fn_handler_free(h);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "remove %s", dir);
}

/* What is not an object in a config's place: a link out of the store, a FIFO, a folder: 404 and a log line
 * naming it; a FIFO never blocks the handler. */
static void test_not_objects(void)
{
    char dir[] = "/tmp/fn-handler-no-XXXXXX", outside[] = "/tmp/fn-handler-out-XXXXXX", cmd[400];
    if (mkdtemp(dir) == NULL || mkdtemp(outside) == NULL)
        return;
    snprintf(cmd, sizeof(cmd), "cp -R '%s/.' '%s/' && cp '%s/accounts/acme/main.json' '%s/leak.json'", FN_DEMO_DIR, dir,
             FN_DEMO_DIR, outside);
    CHECK(system(cmd) == 0, "copy demo store");
    char path[600];
    snprintf(path, sizeof(path), "%s/accounts/evil", dir);
    CHECK(symlink(outside, path) == 0, "symlink");
    snprintf(path, sizeof(path), "%s/accounts/acme/fifo.json", dir);
    CHECK(mkfifo(path, 0644) == 0, "mkfifo");
    snprintf(path, sizeof(path), "%s/accounts/acme/dir.json", dir);
    CHECK(mkdir(path, 0755) == 0, "mkdir");
    fn_handler_t *h = open_store(dir);
    static const struct {
        const char *path, *logged;
    } cases[] = {
        {"/evil/leak.js", "accounts/evil: a symbolic link"},
        {"/acme/fifo.js", "accounts/acme/fifo.json: a FIFO"},
        {"/acme/dir.js", "accounts/acme/dir.json: a folder"},
    };
    for (size_t i = 0; h != NULL && i < NCASES(cases); i++) {
        logged[0] = '\0';
        answer_t a = call(h, "v2", "GET", cases[i].path, NULL, NULL);
        CHECK(a.status == 404, "%s: %d, want 404", cases[i].path, a.status);
        CHECK(strstr(logged, cases[i].logged) != NULL, "%s: logged '%s', want '%s'", cases[i].path, logged,
              cases[i].logged);
        json_decref(a.root);
    }
    logged[0] = '\0';
    answer_t a = call(h, "v2", "GET", "/acme/none.js", NULL, NULL);
    CHECK(a.status == 404 && logged[0] == '\0', "a missing config is a 404 without a log line: '%s'", logged);
    json_decref(a.root);
    fn_handler_free(h);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, outside);
    CHECK(system(cmd) == 0, "clean up");
}

/* X-Nearjs-Region: absent until set; then on every answer (200, 304, 404, 400, 204, 405, HEAD), every
 * event version; a name that is not a region removes it rather than reaching a header. */
static void test_region(void)
{
    fn_handler_t *h = open_store(FN_DEMO_DIR);
    answer_t a = call(h, "v2", "GET", "/acme/main.js", NULL, NULL);
    CHECK(header_is(&a, "X-Nearjs-Region", NULL), "no region set: no header");
    json_decref(a.root);
    fn_handler_set_region(h, "eu-west-1");
    static const struct {
        const char *kind, *method, *path;
        int inm; /* send the 200's ETag back */
        int status;
    } cases[] = {
        {"v2", "GET", "/acme/main.js", 0, 200},    {"v1", "GET", "/acme/main.js", 0, 200},
        {"url", "GET", "/acme/main.js", 0, 200},   {"v2", "GET", "/acme/main.js", 1, 304},
        {"v2", "HEAD", "/acme/main.js", 0, 200},   {"v2", "GET", "/acme/nope.js", 0, 404},
        {"v2", "GET", "/acme/../x.js", 0, 400},    {"v2", "OPTIONS", "/acme/main.js", 0, 204},
        {"v1", "DELETE", "/acme/main.js", 0, 405},
    };
    a = call(h, "v2", "GET", "/acme/main.js", NULL, NULL);
    char etag[80];
    snprintf(etag, sizeof(etag), "%s", header(&a, "ETag") != NULL ? header(&a, "ETag") : "");
    json_decref(a.root);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        a = call(h, cases[i].kind, cases[i].method, cases[i].path, NULL, cases[i].inm ? etag : NULL);
        CHECK(a.status == cases[i].status, "region row %zu: status %d, want %d", i, a.status, cases[i].status);
        CHECK(header_is(&a, "X-Nearjs-Region", "eu-west-1"), "region row %zu (%s %s %s): X-Nearjs-Region '%s'", i,
              cases[i].kind, cases[i].method, cases[i].path,
              header(&a, "X-Nearjs-Region") != NULL ? header(&a, "X-Nearjs-Region") : "(none)");
        json_decref(a.root);
    }
    static const char *const refused[] = {"",
                                          "EU-WEST-1",
                                          "eu west 1",
                                          "eu-west-1\r\nX-Evil: 1",
                                          "a-region-name-that-is-far-too-long-to-be-any-region-aws-has-ever-named",
                                          NULL};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        fn_handler_set_region(h, "us-east-1");
        fn_handler_set_region(h, refused[i]);
        a = call(h, "v2", "GET", "/acme/main.js", NULL, NULL);
        CHECK(header_is(&a, "X-Nearjs-Region", NULL), "region '%s' refused: header '%s'",
              refused[i] ? refused[i] : "NULL",
              header(&a, "X-Nearjs-Region") != NULL ? header(&a, "X-Nearjs-Region") : "(none)");
        json_decref(a.root);
    }
    fn_handler_free(h);
}

int main(void)
{
    test_not_objects();
    test_region();
    test_bad_events();
    test_rules();
    test_conditional();
    test_live();
    test_health();
    return check_done("fn_handler");
}
