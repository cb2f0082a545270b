/*
 * Tests of store_s3.c through the handler, against a live S3 API (moto on loopback): the warm path is
 * one conditional GET per object and no render or gzip; a changed object is seen on the next request;
 * a deleted one is a 404. Needs NEARJS_TEST_S3_ENDPOINT (tests/function/test_s3.py sets it, with the
 * bucket filled from the demo store); without it the test reports itself skipped (77).
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "function/errno.h"
#include "function/handler.h"

#define BUCKET_PREFIX "nearjs-test/content/v1"

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

static int get(fn_handler_t *h, const char *path, const char *ae, char *body, size_t cap)
{
    char ev[512];
    snprintf(ev, sizeof(ev),
             "{\"version\":\"2.0\",\"rawPath\":\"%s\",\"headers\":{\"accept-encoding\":\"%s\"},"
             "\"requestContext\":{\"http\":{\"method\":\"GET\"}}}",
             path, ae);
    fn_buf_t out;
    fn_buf_init(&out, 6 * 1024 * 1024);
    int status = -1;
    if (fn_handler_handle(h, ev, strlen(ev), &out) == 0) {
        json_t *j = json_loadb(out.data, out.len, 0, NULL);
        status = (int)json_integer_value(json_object_get(j, "statusCode"));
        snprintf(body, cap, "%s", json_string_value(json_object_get(j, "body")) ?: "");
        json_decref(j);
    }
    fn_buf_dispose(&out);
    return status;
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
    fn_handler_t *h = NULL;
    int err = fn_handler_new("s3://" BUCKET_PREFIX, print_log, NULL, &h);
    CHECK(err == 0, "open: %s", fn_strerror(err));
    if (h == NULL)
        return check_done("fn_store_s3");
    static char body[1 << 20];
    fn_stats_t s0, s1;
    CHECK(object("accounts/warm/main.json", "{\"v\":\"one\"}") == 200, "put");
    CHECK(get(h, "/warm/main.js", "gzip", body, sizeof(body)) == 200, "first get");
    fn_handler_stats(h, &s0);
    for (int i = 0; i < 3; i++)
        CHECK(get(h, "/warm/main.js", "gzip", body, sizeof(body)) == 200, "warm get %d", i);
    fn_handler_stats(h, &s1);
    CHECK(s1.renders == s0.renders && s1.gzips == s0.gzips && s1.hits == s0.hits + 3,
          "warm: conditional GETs only (renders %llu->%llu, gzips %llu->%llu, hits %llu->%llu)",
          (unsigned long long)s0.renders, (unsigned long long)s1.renders, (unsigned long long)s0.gzips,
          (unsigned long long)s1.gzips, (unsigned long long)s0.hits, (unsigned long long)s1.hits);
    long st = object("accounts/warm/main.json", "{\"v\":\"two\"}");
    CHECK(st == 200, "put again: %ld", st);
    CHECK(get(h, "/warm/main.js", "identity", body, sizeof(body)) == 200 && strstr(body, "\"two\"") != NULL,
          "changed object seen on the next request");
    CHECK(object("accounts/warm/main.json", NULL) == 204, "delete");
    CHECK(get(h, "/warm/main.js", "identity", body, sizeof(body)) == 404, "deleted object: 404");
    fn_handler_free(h);
    curl_global_cleanup();
    return check_done("fn_store_s3");
}
