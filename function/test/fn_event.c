/* Unit tests of event.c: payload 1.0, 2.0 and function URL events, malformed events, header joining. */
#include <string.h>
#include "check.h"
#include "common/error.h"
#include "function/event.h"

int main(void)
{
    static const struct {
        const char *in;
        int want_err;
        fn_event_kind_t kind;
        fn_method_t method;
        const char *path, *inm, *ae;
    } cases[] = {
        {"", CM_EBADEVENT, 0, 0, "", "", ""},
        {"[]", CM_EBADEVENT, 0, 0, "", "", ""},
        {"{}", CM_EBADEVENT, 0, 0, "", "", ""},
        {"{\"version\":\"2.0\"}", CM_EBADEVENT, FN_EVENT_V2, 0, "", "", ""},
        {"{\"version\":\"2.0\",\"requestContext\":{\"http\":{\"method\":\"GET\"}}}", CM_EBADEVENT, FN_EVENT_V2,
         FN_METHOD_GET, "", "", ""},
        {"{\"version\":\"3.0\",\"httpMethod\":\"GET\",\"path\":\"/a/b.js\"}", CM_EBADEVENT, 0, 0, "", "", ""},
        {"{\"httpMethod\":\"GET\",\"path\":7}", CM_EBADEVENT, FN_EVENT_V1, FN_METHOD_GET, "", "", ""},
        /* 2.0 */
        {"{\"version\":\"2.0\",\"rawPath\":\"/a/b.js\",\"requestContext\":{\"http\":{\"method\":\"GET\"},"
         "\"domainName\":\"api.example.com\"},\"headers\":{\"if-none-match\":\"\\\"x\\\"\","
         "\"accept-encoding\":\"gzip, br\"}}",
         0, FN_EVENT_V2, FN_METHOD_GET, "/a/b.js", "\"x\"", "gzip, br"},
        {"{\"version\":\"2.0\",\"rawPath\":\"/a/%2e.js\",\"requestContext\":{\"http\":{\"method\":\"HEAD\"}}}", 0,
         FN_EVENT_V2, FN_METHOD_HEAD, "/a/%2e.js", "", ""},
        {"{\"version\":\"2.0\",\"rawPath\":\"/a/b.js\",\"requestContext\":{\"http\":{\"method\":\"get\"}}}", 0,
         FN_EVENT_V2, FN_METHOD_OTHER, "/a/b.js", "", ""},
        {"{\"version\":\"2.0\",\"rawPath\":\"/a/b.js\",\"requestContext\":{\"http\":{\"method\":\"DELETE\"}}}", 0,
         FN_EVENT_V2, FN_METHOD_OTHER, "/a/b.js", "", ""},
        /* function URL */
        {"{\"version\":\"2.0\",\"rawPath\":\"/a/b.js\",\"requestContext\":{\"http\":{\"method\":\"OPTIONS\"},"
         "\"domainName\":\"abc.lambda-url.us-east-1.on.aws\"},\"headers\":{\"accept-encoding\":\"gzip\"}}",
         0, FN_EVENT_URL, FN_METHOD_OPTIONS, "/a/b.js", "", "gzip"},
        /* 1.0: multiValueHeaders win, names in any case, values joined */
        {"{\"version\":\"1.0\",\"httpMethod\":\"GET\",\"path\":\"/a/b.js\",\"headers\":{\"Accept-Encoding\":\"br\"},"
         "\"multiValueHeaders\":{\"Accept-Encoding\":[\"br\",\"gzip\"],\"IF-NONE-MATCH\":[\"\\\"1\\\"\",\"W/"
         "\\\"2\\\"\"]}}",
         0, FN_EVENT_V1, FN_METHOD_GET, "/a/b.js", "\"1\", W/\"2\"", "br, gzip"},
        {"{\"httpMethod\":\"HEAD\",\"path\":\"/a/b.js\",\"headers\":{\"accept-encoding\":\"gzip\"}}", 0, FN_EVENT_V1,
         FN_METHOD_HEAD, "/a/b.js", "", "gzip"},
        {"{\"httpMethod\":\"GET\",\"path\":\"/a/b.js\",\"headers\":null,\"multiValueHeaders\":null}", 0, FN_EVENT_V1,
         FN_METHOD_GET, "/a/b.js", "", ""},
        {"{\"httpMethod\":\"GET\",\"path\":\"/a/b.js\",\"headers\":{\"accept-encoding\":5}}", 0, FN_EVENT_V1,
         FN_METHOD_GET, "/a/b.js", "", ""},
    };
    fn_request_t req;
    fn_request_init(&req);
    for (size_t i = 0; i < NCASES(cases); i++) {
        int err = fn_request_parse(&req, cases[i].in, strlen(cases[i].in));
        CHECK(err == cases[i].want_err, "row %zu: got %d want %d", i, err, cases[i].want_err);
        CHECK(req.kind == cases[i].kind, "row %zu: kind %d want %d", i, (int)req.kind, (int)cases[i].kind);
        if (err != 0)
            continue;
        CHECK(req.method == cases[i].method, "row %zu: method %d want %d", i, (int)req.method, (int)cases[i].method);
        CHECK(req.path.len == strlen(cases[i].path) && memcmp(req.path.base, cases[i].path, req.path.len) == 0,
              "row %zu: path", i);
        CHECK(req.if_none_match.len == strlen(cases[i].inm) &&
                  (req.if_none_match.len == 0 || strcmp(req.if_none_match.base, cases[i].inm) == 0),
              "row %zu: If-None-Match '%s'", i, req.if_none_match.base ? req.if_none_match.base : "");
        CHECK(req.accept_encoding.len == strlen(cases[i].ae) &&
                  (req.accept_encoding.len == 0 || strcmp(req.accept_encoding.base, cases[i].ae) == 0),
              "row %zu: Accept-Encoding '%s'", i, req.accept_encoding.base ? req.accept_encoding.base : "");
    }
    /* A NUL inside the path survives parsing (and is refused by the path check, not hidden). */
    const char nul[] =
        "{\"version\":\"2.0\",\"rawPath\":\"/a/b\\u0000.js\",\"requestContext\":{\"http\":{\"method\":\"GET\"}}}";
    CHECK(fn_request_parse(&req, nul, strlen(nul)) == 0 && req.path.len == 8, "NUL in path kept");
    /* An over-long path is kept only up to one byte past the longest valid path. */
    char big[8192];
    int n = snprintf(big, sizeof(big), "{\"httpMethod\":\"GET\",\"path\":\"/%04000d\"}", 0);
    CHECK(fn_request_parse(&req, big, (size_t)n) == 0 && req.path.len == req.path.max, "long path truncated");
    /* An over-long header is refused. */
    static char huge[FN_HEADER_MAX + 200];
    n = snprintf(huge, sizeof(huge),
                 "{\"httpMethod\":\"GET\",\"path\":\"/a/b.js\",\"headers\":{\"accept-encoding\":\"%0*d\"}}",
                 FN_HEADER_MAX + 1, 0);
    CHECK(fn_request_parse(&req, huge, (size_t)n) == CM_ETOOBIG, "header over its cap");
    fn_request_dispose(&req);
    return check_done("fn_event");
}
