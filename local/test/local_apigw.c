/* Table-driven tests of the API Gateway mapping: events (2.0 and 1.0) built from requests, and answers
 * mapped to responses, malformed answers first. */
#include "local/apigw.h"
#include "check.h"
#include "common/error.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H(n, v)                                                                                                        \
    {                                                                                                                  \
        n, sizeof(n) - 1, v, sizeof(v) - 1                                                                             \
    }
#define ABSENT "<absent>"

/* Follows a '/'-separated path of object keys (and array indexes). Borrowed, or NULL. */
static json_t *at(json_t *doc, const char *path)
{
    json_t *cur = doc;
    while (cur != NULL && *path != '\0') {
        const char *slash = strchr(path, '/');
        size_t n = slash != NULL ? (size_t)(slash - path) : strlen(path);
        char part[128];
        snprintf(part, sizeof(part), "%.*s", (int)n, path);
        cur = json_is_array(cur) ? json_array_get(cur, strtoul(part, NULL, 10)) : json_object_get(cur, part);
        path += n + (slash != NULL);
    }
    return cur;
}

typedef struct check {
    const char *path;
    const char *want; /* JSON text, or ABSENT */
} check_t;

typedef struct event_case {
    const char *name;
    int version;
    const char *method, *path, *query;
    nl_apigw_header_t headers[6];
    size_t num_headers;
    const char *body;
    size_t body_len;
    check_t checks[12];
} event_case_t;

static const nl_apigw_iam_t edge_role = {"ASIAEDGE", "111122223333", "AROAEDGE:i-0abc",
                                         "arn:aws:sts::111122223333:assumed-role/nearjs-edge-us-east-1/i-0abc",
                                         "AROAEDGE:i-0abc"};

static void run_event_case(const event_case_t *c, const char *url_id, const nl_apigw_iam_t *iam)
{
    nl_apigw_request_t req = {.version = c->version,
                              .method = c->method,
                              .method_len = strlen(c->method),
                              .path = c->path,
                              .path_len = strlen(c->path),
                              .query = c->query,
                              .query_len = c->query != NULL ? strlen(c->query) : 0,
                              .headers = c->headers,
                              .num_headers = c->num_headers,
                              .body = c->body,
                              .body_len = c->body_len,
                              .source_ip = "192.0.2.1",
                              .protocol = "HTTP/1.1",
                              .domain_name = "api.example.test",
                              .request_id = "REQID",
                              .epoch_ms = 1583348638390ull,
                              .url_id = url_id,
                              .url_region = "eu-west-1",
                              .url_account = "123456789012",
                              .iam = iam};
    char *out = NULL;
    size_t len = 0;
    int rc = nl_apigw_event(&req, &out, &len);
    CHECK(rc == 0, "event '%s': nl_apigw_event failed: %s", c->name, cm_strerror(rc));
    if (rc != 0)
        return;
    json_error_t jerr;
    json_t *doc = json_loadb(out, len, 0, &jerr);
    int bad = 0;
    CHECK(doc != NULL, "event '%s': not JSON: %s\n%s", c->name, jerr.text, out);
    if (doc == NULL) {
        free(out);
        return;
    }
    for (size_t i = 0; i < sizeof(c->checks) / sizeof(c->checks[0]) && c->checks[i].path != NULL; i++) {
        const check_t *k = &c->checks[i];
        json_t *got = at(doc, k->path);
        int ok;
        if (strcmp(k->want, ABSENT) == 0) {
            ok = got == NULL;
        } else {
            json_t *want = json_loads(k->want, JSON_DECODE_ANY, NULL);
            ok = want != NULL && got != NULL && json_equal(got, want);
            json_decref(want);
        }
        char *g = !ok && got != NULL ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        CHECK(ok, "event '%s': %s: got %s, want %s", c->name, k->path, g != NULL ? g : ABSENT, k->want);
        free(g);
        bad |= !ok;
    }
    if (bad)
        fprintf(stderr, "  event: %s\n", out);
    json_decref(doc);
    free(out);
}

static const event_case_t event_cases[] = {
    {"v2 basics",
     2,
     "GET",
     "/a/b",
     "x=1&x=2&y=%20sp+ace&flag",
     {H("Host", "api.example.test"), H("X-Multi", "one"), H("x-multi", "two"), H("User-Agent", "ua/1")},
     4,
     NULL,
     0,
     {{"version", "\"2.0\""},
      {"rawPath", "\"/a/b\""},
      {"rawQueryString", "\"x=1&x=2&y=%20sp+ace&flag\""},
      {"headers/x-multi", "\"one,two\""},
      {"headers/host", "\"api.example.test\""},
      {"queryStringParameters", "{\"x\":\"1,2\",\"y\":\" sp+ace\",\"flag\":\"\"}"},
      {"requestContext/http/method", "\"GET\""},
      {"requestContext/http/sourceIp", "\"192.0.2.1\""},
      {"requestContext/http/userAgent", "\"ua/1\""},
      {"requestContext/time", "\"04/Mar/2020:19:03:58 +0000\""},
      {"body", ABSENT},
      {"cookies", ABSENT}}},
    {"v2 cookies leave the headers",
     2,
     "GET",
     "/",
     NULL,
     {H("Cookie", "a=1; b=2"), H("cookie", "c=3;d=4 ")},
     2,
     NULL,
     0,
     {{"cookies", "[\"a=1\",\"b=2\",\"c=3\",\"d=4\"]"},
      {"headers/cookie", ABSENT},
      {"rawQueryString", "\"\""},
      {"queryStringParameters", ABSENT},
      {"requestContext/domainName", "\"api.example.test\""},
      {"requestContext/domainPrefix", "\"api\""},
      {"requestContext/timeEpoch", "1583348638390"}}},
    {"v2 text body",
     2,
     "POST",
     "/p",
     NULL,
     {H("Content-Type", "application/json; charset=utf-8")},
     1,
     "{\"k\":\"v\"}",
     9,
     {{"body", "\"{\\\"k\\\":\\\"v\\\"}\""}, {"isBase64Encoded", "false"}}},
    {"v2 binary body (content type)",
     2,
     "POST",
     "/p",
     NULL,
     {H("Content-Type", "image/png")},
     1,
     "abc",
     3,
     {{"body", "\"YWJj\""}, {"isBase64Encoded", "true"}}},
    {"v2 binary body (not UTF-8)",
     2,
     "POST",
     "/p",
     NULL,
     {H("content-type", "text/plain")},
     1,
     "\xff\x00\x01",
     3,
     {{"body", "\"/wAB\""}, {"isBase64Encoded", "true"}}},
    {"v2 +json suffix is text",
     2,
     "POST",
     "/p",
     NULL,
     {H("content-type", "application/ld+json")},
     1,
     "{}",
     2,
     {{"body", "\"{}\""}, {"isBase64Encoded", "false"}}},
    {"v2 header value not UTF-8 is repaired",
     2,
     "GET",
     "/",
     "k=%FF",
     {H("x-bad", "a\xc3(b")},
     1,
     NULL,
     0,
     {{"headers/x-bad", "\"a\\ufffd(b\""}, {"queryStringParameters/k", "\"\\ufffd\""}}},
    {"v1 basics",
     1,
     "PUT",
     "/items/7",
     "a=1&a=2&b=3",
     {H("X-Multi", "one"), H("x-multi", "two"), H("Cookie", "a=1")},
     3,
     "hi",
     2,
     {{"version", "\"1.0\""},
      {"httpMethod", "\"PUT\""},
      {"path", "\"/items/7\""},
      {"headers/X-Multi", "\"two\""},
      {"multiValueHeaders/X-Multi", "[\"one\",\"two\"]"},
      {"headers/Cookie", "\"a=1\""},
      {"queryStringParameters", "{\"a\":\"2\",\"b\":\"3\"}"},
      {"multiValueQueryStringParameters/a", "[\"1\",\"2\"]"},
      {"requestContext/identity/sourceIp", "\"192.0.2.1\""},
      {"pathParameters/proxy", "\"items/7\""},
      {"body", "\"hi\""},
      {"isBase64Encoded", "false"}}},
    {"v1 no headers, no query, no body",
     1,
     "GET",
     "/",
     NULL,
     {{0}},
     0,
     NULL,
     0,
     {{"headers", "null"},
      {"multiValueHeaders", "null"},
      {"queryStringParameters", "null"},
      {"multiValueQueryStringParameters", "null"},
      {"body", "null"},
      {"pathParameters", "null"},
      {"requestContext/httpMethod", "\"GET\""}}},
};

typedef struct response_case {
    const char *name;
    int version;
    const char *answer;
    int want_rc;
    int want_status;
    const char *want_headers; /* "name: value\n"... in order */
    const char *want_body;
    size_t want_body_len;
} response_case_t;

static const response_case_t response_cases[] = {
    /* malformed answers first */
    {"not JSON", 2, "hello", CM_EINVAL, 0, NULL, NULL, 0},
    {"v1 needs statusCode", 1, "{\"body\":\"x\"}", CM_EINVAL, 0, NULL, NULL, 0},
    {"v1 bare value", 1, "\"x\"", CM_EINVAL, 0, NULL, NULL, 0},
    {"v1 unknown key", 1, "{\"statusCode\":200,\"cookies\":[]}", CM_EINVAL, 0, NULL, NULL, 0},
    {"status out of range", 2, "{\"statusCode\":99}", CM_EINVAL, 0, NULL, NULL, 0},
    {"status not a number", 2, "{\"statusCode\":\"abc\"}", CM_EINVAL, 0, NULL, NULL, 0},
    {"status float", 2, "{\"statusCode\":200.5}", CM_EINVAL, 0, NULL, NULL, 0},
    {"body not a string", 2, "{\"statusCode\":200,\"body\":{}}", CM_EINVAL, 0, NULL, NULL, 0},
    {"headers not an object", 2, "{\"statusCode\":200,\"headers\":[]}", CM_EINVAL, 0, NULL, NULL, 0},
    {"header value object", 2, "{\"statusCode\":200,\"headers\":{\"a\":{}}}", CM_EINVAL, 0, NULL, NULL, 0},
    {"header CRLF injection", 2, "{\"statusCode\":200,\"headers\":{\"a\":\"x\\r\\nb: y\"}}", CM_EINVAL, 0, NULL, NULL,
     0},
    {"header name with space", 2, "{\"statusCode\":200,\"headers\":{\"a b\":\"x\"}}", CM_EINVAL, 0, NULL, NULL, 0},
    {"bad base64", 2, "{\"statusCode\":200,\"body\":\"!!\",\"isBase64Encoded\":true}", CM_EINVAL, 0, NULL, NULL, 0},
    {"isBase64Encoded not boolean", 2, "{\"statusCode\":200,\"isBase64Encoded\":\"yes\"}", CM_EINVAL, 0, NULL, NULL, 0},
    {"cookies not strings", 2, "{\"statusCode\":200,\"cookies\":[1]}", CM_EINVAL, 0, NULL, NULL, 0},
    /* good answers */
    {"v2 bare object", 2, "{\"a\":1}", 0, 200, "content-type: application/json\n", "{\"a\":1}", 7},
    {"v2 bare string", 2, "\"hi\"", 0, 200, "content-type: application/json\n", "\"hi\"", 4},
    {"v2 full", 2,
     "{\"statusCode\":201,\"headers\":{\"Content-Type\":\"text/plain\",\"X-N\":5,\"X-B\":true},"
     "\"cookies\":[\"a=1; Path=/\",\"b=2\"],\"body\":\"made\"}",
     0, 201, "Content-Type: text/plain\nX-N: 5\nX-B: true\nset-cookie: a=1; Path=/\nset-cookie: b=2\n", "made", 4},
    {"v2 base64 body", 2, "{\"statusCode\":200,\"body\":\"AAEC/w==\",\"isBase64Encoded\":true}", 0, 200, "",
     "\x00\x01\x02\xff", 4},
    {"status as string", 2, "{\"statusCode\":\"404\"}", 0, 404, "", "", 0},
    {"v1 multiValueHeaders win", 1,
     "{\"statusCode\":200,\"headers\":{\"X-A\":\"single\",\"X-C\":\"c\"},"
     "\"multiValueHeaders\":{\"x-a\":[\"m1\",\"m2\"]},\"body\":null}",
     0, 200, "x-a: m1\nx-a: m2\nX-C: c\n", "", 0},
    {"framing headers dropped", 2,
     "{\"statusCode\":200,\"headers\":{\"Content-Length\":\"99\",\"Transfer-Encoding\":\"chunked\",\"X\":\"y\"}}", 0,
     200, "X: y\n", "", 0},
    {"null header skipped", 2, "{\"statusCode\":204,\"headers\":{\"X\":null}}", 0, 204, "", "", 0},
    /* no body type is invented: a 304's type would replace the cached copy's in a browser */
    {"v2 304 without a type", 2, "{\"statusCode\":304,\"headers\":{\"ETag\":\"\\\"e\\\"\"}}", 0, 304, "ETag: \"e\"\n",
     "", 0},
    {"v1 304 without a type", 1, "{\"statusCode\":304,\"multiValueHeaders\":{\"ETag\":[\"\\\"e\\\"\"]}}", 0, 304,
     "ETag: \"e\"\n", "", 0},
    {"v2 304 keeps its own type", 2, "{\"statusCode\":304,\"headers\":{\"content-type\":\"text/javascript\"}}", 0, 304,
     "content-type: text/javascript\n", "", 0},
    {"v2 body without a type", 2, "{\"statusCode\":200,\"body\":\"x\"}", 0, 200, "", "x", 1},
};

static void run_response_case(const response_case_t *c)
{
    nl_apigw_response_t res;
    nl_apigw_response_init(&res);
    char why[256] = "";
    int rc = nl_apigw_response_map(c->version, c->answer, strlen(c->answer), &res, why, sizeof(why));
    if (rc != c->want_rc) {
        CHECK(rc == c->want_rc, "response '%s': rc %d (%s), want %d", c->name, rc, why, c->want_rc);
    } else if (rc != 0) {
        CHECK(!(why[0] == '\0' || res.num_headers != 0 || res.body != NULL),
              "response '%s': malformed but no reason or res not left empty", c->name);
    } else {
        char headers[1024] = "";
        size_t o = 0;
        for (size_t i = 0; i < res.num_headers; i++)
            o += (size_t)snprintf(headers + o, sizeof(headers) - o, "%s: %s\n", res.headers[i].name,
                                  res.headers[i].value);
        CHECK(!(res.status != c->want_status || strcmp(headers, c->want_headers) != 0 ||
                res.body_len != c->want_body_len || memcmp(res.body, c->want_body, res.body_len) != 0),
              "response '%s': got %d\n%s[%zu bytes]\nwant %d\n%s[%zu bytes]", c->name, res.status, headers,
              res.body_len, c->want_status, c->want_headers, c->want_body_len);
    }
    nl_apigw_response_dispose(&res);
}

/* Function URL events: the same request data, with the URL's id and maybe a signer. */
typedef struct url_case {
    event_case_t ev;
    const char *url_id;
    const nl_apigw_iam_t *iam;
} url_case_t;

static const url_case_t url_cases[] = {
    {.ev = {.name = "function URL, signed: the URL's requestContext and the signer",
            .version = 2,
            .method = "GET",
            .path = "/acme/widget.js",
            .query = "v=1",
            .headers = {H("Host", "anything.example.test"), H("User-Agent", "ua/1")},
            .num_headers = 2,
            .checks =
                {{"requestContext/domainName", "\"abcdefghij0123456789abcdefghij01.lambda-url.eu-west-1.on.aws\""},
                 {"requestContext/domainPrefix", "\"abcdefghij0123456789abcdefghij01\""},
                 {"requestContext/apiId", "\"abcdefghij0123456789abcdefghij01\""},
                 {"requestContext/accountId", "\"123456789012\""},
                 {"requestContext/authentication", "null"},
                 {"requestContext/authorizer/iam",
                  "{\"accessKey\":\"ASIAEDGE\",\"accountId\":\"111122223333\",\"callerId\":\"AROAEDGE:i-0abc\","
                  "\"cognitoIdentity\":null,\"principalOrgId\":null,\"userArn\":\"arn:aws:sts::111122223333:assumed-"
                  "role/nearjs-edge-us-east-1/i-0abc\",\"userId\":\"AROAEDGE:i-0abc\"}"},
                 {"requestContext/routeKey", "\"$default\""},
                 {"requestContext/stage", "\"$default\""},
                 {"requestContext/http/path", "\"/acme/widget.js\""},
                 {"headers/host", "\"anything.example.test\""},
                 {"pathParameters", "null"},
                 {"stageVariables", "null"}}},
     .url_id = "abcdefghij0123456789abcdefghij01",
     .iam = &edge_role},
    {.ev = {.name = "function URL, unsigned: anonymous, no authorizer",
            .version = 2,
            .method = "POST",
            .path = "/",
            .headers = {H("Content-Type", "text/plain")},
            .num_headers = 1,
            .body = "hi",
            .body_len = 2,
            .checks = {{"requestContext/accountId", "\"anonymous\""},
                       {"requestContext/authorizer", ABSENT},
                       {"requestContext/domainPrefix", "\"u1\""},
                       {"body", "\"hi\""},
                       {"isBase64Encoded", "false"}}},
     .url_id = "u1"},
};

int main(void)
{
    /* wrong use first */
    nl_apigw_request_t bad = {.version = 3};
    char *out = NULL;
    size_t len;
    CHECK(!(nl_apigw_event(&bad, &out, &len) != CM_EINVAL || out != NULL), "version 3 accepted");
    nl_apigw_request_t url_v1 = {.version = 1, .url_id = "u1"};
    CHECK(!(nl_apigw_event(&url_v1, &out, &len) != CM_EINVAL || out != NULL),
          "a function URL event in payload 1.0 accepted (function URLs speak 2.0 only)");
    nl_apigw_response_t res;
    nl_apigw_response_init(&res);
    char why[64];
    CHECK(!(nl_apigw_response_map(3, "{}", 2, &res, why, sizeof(why)) != CM_EINVAL), "response version 3 accepted");
    for (size_t i = 0; i < sizeof(event_cases) / sizeof(event_cases[0]); i++)
        run_event_case(&event_cases[i], NULL, NULL);
    for (size_t i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++)
        run_event_case(&url_cases[i].ev, url_cases[i].url_id, url_cases[i].iam);
    for (size_t i = 0; i < sizeof(response_cases) / sizeof(response_cases[0]); i++)
        run_response_case(&response_cases[i]);
    char id[17];
    nl_apigw_request_id(id);
    CHECK(!(strlen(id) != 16), "request id '%s' is not 16 characters", id);
    return check_done("local_apigw");
}
