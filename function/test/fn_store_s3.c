/*
 * Tests of store_s3.c, against a live S3 API (moto on loopback): a batch of gets (fn_store_get_all), more
 * than FN_STORE_PARALLEL of them, each with its own outcome; and through the handler: the warm path is one
 * conditional GET per object and no render or gzip; a changed loader, config, or both, is seen on the
 * next request and answers exactly what a fresh instance answers (ETag and bytes); a deleted config is a
 * 404, a deleted loader a 503. Objects live under their own prefix (BUCKET_PREFIX), written here.
 * Needs NEARJS_TEST_S3_ENDPOINT (tests/function/test_s3.py sets it); without it the test reports itself
 * skipped (77).
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "common/error.h"
#include "function/handler.h"
#include "function/store.h"

#define BUCKET_PREFIX "nearjs-test/inproc"

static const char *endpoint;

static void print_log(void *ctx, fn_log_level_t level, const char *line)
{
    (void)ctx;
    (void)level;
    fprintf(stderr, "log: %s\n", line);
}

/* PUT (text) or DELETE (text NULL) an object, signed (moto refuses repeated unsigned writes). Returns the status. */
static long object(const char *key, const char *text)
{
    char url[512];
    snprintf(url, sizeof(url), "%s/" BUCKET_PREFIX "/%s", endpoint, key);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    /* Not form data: the server would take the body apart. */
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
    curl_easy_setopt(c, CURLOPT_USERPWD, "testing:testing");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (text != NULL) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    FILE *sink = fopen("/dev/null", "w");
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    fclose(sink);
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    return status;
}

/* One answer, as the tests look at it. */
typedef struct answer {
    int status;
    char etag[64];
    char body[1 << 18];
} answer_t;

static answer_t *get(fn_handler_t *h, const char *path, const char *ae, answer_t *a)
{
    char ev[512];
    snprintf(ev, sizeof(ev),
             "{\"version\":\"2.0\",\"rawPath\":\"%s\",\"headers\":{\"accept-encoding\":\"%s\"},"
             "\"requestContext\":{\"http\":{\"method\":\"GET\"}}}",
             path, ae);
    cm_buf_t out;
    cm_buf_init(&out, 6 * 1024 * 1024);
    a->status = -1;
    a->etag[0] = a->body[0] = '\0';
    if (fn_handler_handle(h, ev, strlen(ev), &out) == 0) {
        json_t *j = json_loadb(out.base, out.len, 0, NULL);
        a->status = (int)json_integer_value(json_object_get(j, "statusCode"));
        snprintf(a->body, sizeof(a->body), "%s", json_string_value(json_object_get(j, "body")) ?: "");
        json_t *headers = json_object_get(j, "headers");
        snprintf(a->etag, sizeof(a->etag), "%s", json_string_value(json_object_get(headers, "ETag")) ?: "");
        json_decref(j);
    }
    cm_buf_dispose(&out);
    return a;
}

/* The same request to h (warm) and to a fresh handler (cold) answers the same bytes and ETag. */
static void same_as_cold(fn_handler_t *h, const char *path, const char *ae, const char *what)
{
    static answer_t warm, cold;
    fn_handler_t *fresh = NULL;
    CHECK(fn_handler_new("s3://" BUCKET_PREFIX, print_log, NULL, &fresh) == 0, "%s: fresh handler", what);
    if (fresh == NULL)
        return;
    get(h, path, ae, &warm);
    get(fresh, path, ae, &cold);
    CHECK(warm.status == 200 && cold.status == 200 && strcmp(warm.etag, cold.etag) == 0 &&
              strcmp(warm.body, cold.body) == 0,
          "%s (%s): warm %d %s, cold %d %s", what, ae, warm.status, warm.etag, cold.status, cold.etag);
    fn_handler_free(fresh);
}

/* fn_store_get_all: each get its own outcome, more gets than run at once, one invalid key among them. */
static void test_batch(void)
{
    fn_store_t *s = NULL;
    CHECK(fn_store_open("s3://" BUCKET_PREFIX, &s) == 0, "open the store");
    if (s == NULL)
        return;
    cm_buf_t bodies[5];
    for (int i = 0; i < 5; i++)
        cm_buf_init(&bodies[i], 1 << 20);
    fn_version_t have = {0};
    CHECK(fn_store_get(s, "accounts/batch/a.json", NULL, &bodies[0], &have) == 0 && have.len > 0, "a version");
    fn_version_t stale = have;
    stale.tag[1] ^= 1;
    static const struct {
        const char *key;
        int have; /* 0 none, 1 current, 2 stale */
        int want;
        const char *body;
    } cases[] = {
        {"accounts/batch/a.json", 1, CM_ENOTMODIFIED, NULL},  {"accounts/batch/missing.json", 0, CM_ENOENT, NULL},
        {"accounts/batch/a.json", 2, 0, "{\"batch\":\"a\"}"}, {"bad key/..", 0, CM_ESTORE, NULL},
        {"accounts/batch/a.json", 0, 0, "{\"batch\":\"a\"}"},
    };
    fn_store_req_t reqs[5];
    for (int i = 0; i < 5; i++) {
        memset(&reqs[i], 0xa5, sizeof(reqs[i])); /* outputs must all be set */
        reqs[i].key = cases[i].key;
        reqs[i].have = cases[i].have == 1 ? &have : cases[i].have == 2 ? &stale : NULL;
        reqs[i].body = &bodies[i];
    }
    fn_store_get_all(s, reqs, 5);
    for (int i = 0; i < 5; i++) {
        CHECK(reqs[i].err == cases[i].want, "batch row %d (%s): %s, want %s (%.64s)", i, cases[i].key,
              cm_strerror(reqs[i].err), cm_strerror(cases[i].want), reqs[i].cause);
        if (cases[i].body != NULL)
            CHECK(reqs[i].err == 0 && strcmp(bodies[i].base, cases[i].body) == 0 && fn_version_eq(&reqs[i].now, &have),
                  "batch row %d: body and version", i);
        CHECK((reqs[i].err == CM_ESTORE) == (reqs[i].cause[0] != '\0'), "batch row %d: a cause with CM_ESTORE only", i);
    }
    for (int i = 0; i < 5; i++)
        cm_buf_dispose(&bodies[i]);
    fn_store_free(s);
}

int main(void)
{
    endpoint = getenv("NEARJS_TEST_S3_ENDPOINT");
    if (endpoint == NULL || endpoint[0] == '\0') {
        printf("SKIP: NEARJS_TEST_S3_ENDPOINT not set (tests/function/test_s3.py runs this against moto)\n");
        return 77;
    }
    setenv("NEARJS_S3_ENDPOINT", endpoint, 1);
    if (getenv("AWS_REGION") == NULL)
        setenv("AWS_REGION", "us-east-1", 1);
    CHECK(object("loader.js", "/* v1 */ go(__NEARJS_CONFIG__);\n") == 200, "put the loader");
    CHECK(object("accounts/batch/a.json", "{\"batch\":\"a\"}") == 200, "put a config");
    test_batch();

    fn_handler_t *h = NULL;
    int err = fn_handler_new("s3://" BUCKET_PREFIX, print_log, NULL, &h);
    CHECK(err == 0, "open: %s", cm_strerror(err));
    if (h == NULL)
        return check_done("fn_store_s3");
    static answer_t a;
    fn_stats_t s0, s1;
    CHECK(object("accounts/warm/main.json", "{\"v\":\"one\"}") == 200, "put");
    CHECK(get(h, "/warm/main.js", "gzip", &a)->status == 200, "first get");
    fn_handler_stats(h, &s0);
    for (int i = 0; i < 3; i++)
        CHECK(get(h, "/warm/main.js", "gzip", &a)->status == 200, "warm get %d", i);
    fn_handler_stats(h, &s1);
    CHECK(s1.renders == s0.renders && s1.gzips == s0.gzips && s1.hits == s0.hits + 3,
          "warm: conditional GETs only (renders %llu->%llu, gzips %llu->%llu, hits %llu->%llu)",
          (unsigned long long)s0.renders, (unsigned long long)s1.renders, (unsigned long long)s0.gzips,
          (unsigned long long)s1.gzips, (unsigned long long)s0.hits, (unsigned long long)s1.hits);
    long st = object("accounts/warm/main.json", "{\"v\":\"two\"}");
    CHECK(st == 200, "put again: %ld", st);
    CHECK(get(h, "/warm/main.js", "identity", &a)->status == 200 && strstr(a.body, "\"two\"") != NULL,
          "changed config seen on the next request");
    same_as_cold(h, "/warm/main.js", "gzip", "changed config");

    /* The loader alone changes: the config's piece is kept, the script follows the new loader at once,
     * byte for byte and tag for tag what a fresh instance makes. */
    CHECK(object("loader.js", "/* v2 */ start(__NEARJS_CONFIG__);\n") == 200, "put loader v2");
    fn_handler_stats(h, &s0);
    CHECK(get(h, "/warm/main.js", "identity", &a)->status == 200 && strncmp(a.body, "/* v2 */ start({", 16) == 0 &&
              strstr(a.body, "\"two\"") != NULL,
          "changed loader seen on the next request: %.40s", a.body);
    fn_handler_stats(h, &s1);
    CHECK(s1.renders == s0.renders + 1, "one render for the loader change");
    same_as_cold(h, "/warm/main.js", "identity", "changed loader");
    same_as_cold(h, "/warm/main.js", "gzip", "changed loader");
    /* Both at once. */
    CHECK(object("loader.js", "/* v3 */ go(__NEARJS_CONFIG__);\n") == 200, "put loader v3");
    CHECK(object("accounts/warm/main.json", "{\"v\":\"three\"}") == 200, "put config three");
    CHECK(get(h, "/warm/main.js", "identity", &a)->status == 200 && strncmp(a.body, "/* v3 */ go({", 13) == 0 &&
              strstr(a.body, "\"three\"") != NULL,
          "loader and config changed together: %.40s", a.body);
    same_as_cold(h, "/warm/main.js", "gzip", "both changed");

    CHECK(object("loader.js", NULL) == 204, "delete the loader");
    CHECK(get(h, "/warm/main.js", "identity", &a)->status == 503, "deleted loader: 503");
    CHECK(object("loader.js", "/* v4 */ go(__NEARJS_CONFIG__);\n") == 200, "put loader v4");
    CHECK(get(h, "/warm/main.js", "identity", &a)->status == 200 && strncmp(a.body, "/* v4 */", 8) == 0,
          "loader back: %.20s", a.body);
    CHECK(object("accounts/warm/main.json", NULL) == 204, "delete");
    CHECK(get(h, "/warm/main.js", "identity", &a)->status == 404, "deleted config: 404");
    fn_handler_free(h);
    curl_global_cleanup();
    return check_done("fn_store_s3");
}
