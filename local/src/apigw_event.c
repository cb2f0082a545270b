/*
 * HTTP request -> API Gateway proxy event (payload 2.0 and 1.0), see local/apigw.h.
 *
 * Headers are grouped by lowercase name in order of first arrival, so a repeated header keeps its
 * values in the order they came; every string goes through jansson (bytes that are not UTF-8 in
 * headers or the query are replaced, never passed on raw).
 */
#include "local/apigw.h"
#include "common/error.h"
#include "ids.h"
#include "utf8.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The account and API ids a local gateway reports, as SAM CLI's. */
#define ACCOUNT_ID "123456789012"
#define API_ID "1234567890"

void nl_apigw_request_id(char out[17])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[16];
    nl__random(raw, sizeof(raw));
    for (size_t i = 0; i < 16; i++)
        out[i] = alphabet[raw[i] & 63];
    out[16] = '\0';
}

static json_t *text(const char *p, size_t n)
{
    return nl__json_text(p != NULL ? p : "", p != NULL ? n : 0);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes p[0..n) into out (room for n bytes); a '%' not followed by two hex digits stays as it
 * is. '+' stays '+': the gateway does not treat it as a space. Returns the decoded length. */
static size_t percent_decode(const char *p, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (p[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)p[i + 1])) >= 0 &&
            (lo = hexval((unsigned char)p[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = p[i];
        }
    }
    return o;
}

/* One name with its values, in arrival order. */
typedef struct group {
    char *key;      /* lowercase (headers) or decoded (query) name; owned */
    json_t *first;  /* the name as first seen (1.0 headers keep it) */
    json_t *values; /* array of strings */
} group_t;

typedef struct groups {
    group_t *items;
    size_t count;
} groups_t;

static void groups_dispose(groups_t *g)
{
    for (size_t i = 0; i < g->count; i++) {
        free(g->items[i].key);
        json_decref(g->items[i].first);
        json_decref(g->items[i].values);
    }
    free(g->items);
    g->items = NULL;
    g->count = 0;
}

/* Adds value (a new reference, consumed) under key. Keys become valid UTF-8 first (JSON object keys must be
 * strings) and are compared exactly. Returns 0 or CM_ENOMEM. */
static int groups_add(groups_t *g, const char *key, size_t key_len, const char *orig, size_t orig_len, json_t *value)
{
    json_t *k = text(key, key_len);
    if (value == NULL || k == NULL) {
        json_decref(value);
        json_decref(k);
        return CM_ENOMEM;
    }
    const char *ks = json_string_value(k);
    for (size_t i = 0; i < g->count; i++) {
        if (strcmp(g->items[i].key, ks) == 0) {
            json_decref(k);
            return json_array_append_new(g->items[i].values, value) == 0 ? 0 : CM_ENOMEM;
        }
    }
    group_t *items = realloc(g->items, (g->count + 1) * sizeof(*items));
    if (items == NULL) {
        json_decref(value);
        json_decref(k);
        return CM_ENOMEM;
    }
    g->items = items;
    group_t *it = &items[g->count];
    it->key = strdup(ks);
    json_decref(k);
    it->first = text(orig, orig_len);
    it->values = json_array();
    if (it->key == NULL || it->first == NULL || it->values == NULL || json_array_append_new(it->values, value) != 0) {
        free(it->key);
        json_decref(it->first);
        json_decref(it->values);
        return CM_ENOMEM;
    }
    g->count++;
    return 0;
}

static int is_name(const nl_apigw_header_t *h, const char *lower)
{
    return h->name_len == strlen(lower) && strncasecmp(h->name, lower, h->name_len) == 0;
}

static const nl_apigw_header_t *find_header(const nl_apigw_request_t *req, const char *lower)
{
    for (size_t i = 0; i < req->num_headers; i++) {
        if (is_name(&req->headers[i], lower))
            return &req->headers[i];
    }
    return NULL;
}

static int group_headers(const nl_apigw_request_t *req, groups_t *g, int skip_cookies)
{
    char lower[256];
    for (size_t i = 0; i < req->num_headers; i++) {
        const nl_apigw_header_t *h = &req->headers[i];
        if (skip_cookies && is_name(h, "cookie"))
            continue;
        /* a name longer than any real header is kept whole, only its grouping key is cut */
        size_t n = h->name_len < sizeof(lower) ? h->name_len : sizeof(lower);
        for (size_t k = 0; k < n; k++)
            lower[k] = (char)tolower((unsigned char)h->name[k]);
        int rc = groups_add(g, lower, n, h->name, h->name_len, text(h->value, h->value_len));
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int group_query(const char *q, size_t len, groups_t *g)
{
    if (q == NULL)
        return 0;
    char *buf = malloc(len + 1);
    if (buf == NULL)
        return CM_ENOMEM;
    int rc = 0;
    size_t start = 0;
    while (rc == 0 && start <= len) {
        const char *amp = memchr(q + start, '&', len - start);
        size_t end = amp != NULL ? (size_t)(amp - q) : len;
        if (end > start) {
            const char *eq = memchr(q + start, '=', end - start);
            size_t klen = eq != NULL ? (size_t)(eq - q) - start : end - start;
            size_t kdec = percent_decode(q + start, klen, buf);
            json_t *key = text(buf, kdec);
            size_t vdec = 0;
            if (eq != NULL)
                vdec = percent_decode(eq + 1, end - (size_t)(eq + 1 - q), buf);
            rc = key == NULL ? CM_ENOMEM
                             : groups_add(g, json_string_value(key), json_string_length(key), json_string_value(key),
                                          json_string_length(key), text(buf, vdec));
            json_decref(key);
        }
        start = end + 1;
    }
    free(buf);
    return rc;
}

/* "a,b,c" of a group's values. */
static json_t *joined(const group_t *it)
{
    size_t total = 0, n = json_array_size(it->values);
    for (size_t i = 0; i < n; i++)
        total += json_string_length(json_array_get(it->values, i)) + 1;
    char *s = malloc(total + 1);
    if (s == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(it->values, i);
        if (i > 0)
            s[o++] = ',';
        memcpy(s + o, json_string_value(v), json_string_length(v));
        o += json_string_length(v);
    }
    json_t *out = json_stringn(s, o);
    free(s);
    return out;
}

static json_t *last(const group_t *it)
{
    return json_incref(json_array_get(it->values, json_array_size(it->values) - 1));
}

/* Whether a request body of this Content-Type (and these bytes) goes to the function as text. */
static int body_is_text(const nl_apigw_header_t *ct, const char *body, size_t len)
{
    if (!nl__utf8_valid(body, len))
        return 0;
    if (ct == NULL)
        return 1;
    static const char *const textual[] = {"text/",
                                          "application/json",
                                          "application/javascript",
                                          "application/xml",
                                          "application/x-www-form-urlencoded",
                                          "application/graphql",
                                          "application/x-yaml",
                                          "application/yaml"};
    for (size_t i = 0; i < sizeof(textual) / sizeof(textual[0]); i++) {
        size_t n = strlen(textual[i]);
        if (ct->value_len >= n && strncasecmp(ct->value, textual[i], n) == 0)
            return 1;
    }
    /* structured syntax suffixes: application/ld+json, image/svg+xml */
    const char *semi = memchr(ct->value, ';', ct->value_len);
    size_t type_len = semi != NULL ? (size_t)(semi - ct->value) : ct->value_len;
    while (type_len > 0 && ct->value[type_len - 1] == ' ')
        type_len--;
    return (type_len > 5 && strncasecmp(ct->value + type_len - 5, "+json", 5) == 0) ||
           (type_len > 4 && strncasecmp(ct->value + type_len - 4, "+xml", 4) == 0);
}

static int set_body(json_t *ev, const nl_apigw_request_t *req)
{
    if (req->body == NULL) {
        if (req->version == 1 && json_object_set_new(ev, "body", json_null()) != 0)
            return CM_ENOMEM;
        return json_object_set_new(ev, "isBase64Encoded", json_false()) == 0 ? 0 : CM_ENOMEM;
    }
    if (body_is_text(find_header(req, "content-type"), req->body, req->body_len)) {
        json_t *b = json_stringn(req->body, req->body_len);
        if (b == NULL || json_object_set_new(ev, "body", b) != 0)
            return CM_ENOMEM;
        return json_object_set_new(ev, "isBase64Encoded", json_false()) == 0 ? 0 : CM_ENOMEM;
    }
    if (req->body_len > (size_t)INT32_MAX / 2)
        return CM_ENOMEM;
    unsigned char *b64 = malloc((req->body_len + 2) / 3 * 4 + 1);
    if (b64 == NULL)
        return CM_ENOMEM;
    int n = EVP_EncodeBlock(b64, (const unsigned char *)req->body, (int)req->body_len);
    json_t *b = json_stringn((const char *)b64, (size_t)n);
    free(b64);
    if (b == NULL || json_object_set_new(ev, "body", b) != 0)
        return CM_ENOMEM;
    return json_object_set_new(ev, "isBase64Encoded", json_true()) == 0 ? 0 : CM_ENOMEM;
}

static json_t *cookies_of(const nl_apigw_request_t *req)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < req->num_headers; i++) {
        const nl_apigw_header_t *h = &req->headers[i];
        if (!is_name(h, "cookie"))
            continue;
        size_t start = 0;
        while (start < h->value_len) {
            const char *semi = memchr(h->value + start, ';', h->value_len - start);
            size_t end = semi != NULL ? (size_t)(semi - h->value) : h->value_len;
            size_t s = start, e = end;
            while (s < e && (h->value[s] == ' ' || h->value[s] == '\t'))
                s++;
            while (e > s && (h->value[e - 1] == ' ' || h->value[e - 1] == '\t'))
                e--;
            if (e > s && json_array_append_new(arr, text(h->value + s, e - s)) != 0) {
                json_decref(arr);
                return NULL;
            }
            start = end + 1;
        }
    }
    return arr;
}

static void format_time(char out[32], uint64_t epoch_ms)
{
    time_t t = (time_t)(epoch_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%d/%b/%Y:%H:%M:%S +0000", &tm);
}

/* domainPrefix: the first label of the domain name. */
static json_t *domain_prefix(const char *domain)
{
    const char *dot = strchr(domain, '.');
    return text(domain, dot != NULL ? (size_t)(dot - domain) : strlen(domain));
}

static json_t *str_or_null(const char *s)
{
    return s != NULL ? text(s, strlen(s)) : json_null();
}

/* A function URL's requestContext ("Lambda function URL request and response payloads" in the Lambda
 * developer guide): the URL id where API Gateway has its API id, the URL's own name, the signer in
 * authorizer.iam, and "anonymous" as accountId when nobody signed. */
static json_t *url_context(const nl_apigw_request_t *req, const nl_apigw_header_t *ua, const char *when)
{
    char domain[256];
    snprintf(domain, sizeof(domain), "%s.lambda-url.%s.on.aws", req->url_id,
             req->url_region != NULL ? req->url_region : "us-east-1");
    json_t *ctx = json_pack(
        "{s:o, s:o, s:n, s:o, s:o, s:{s:o, s:o, s:o, s:o, s:o}, s:s, s:s, s:s, s:s, s:I}", "accountId",
        req->iam != NULL && req->url_account != NULL ? text(req->url_account, strlen(req->url_account))
                                                     : json_string("anonymous"),
        "apiId", text(req->url_id, strlen(req->url_id)), "authentication", "domainName", text(domain, strlen(domain)),
        "domainPrefix", text(req->url_id, strlen(req->url_id)), "http", "method", text(req->method, req->method_len),
        "path", text(req->path, req->path_len), "protocol", text(req->protocol, strlen(req->protocol)), "sourceIp",
        text(req->source_ip, strlen(req->source_ip)), "userAgent",
        ua != NULL ? text(ua->value, ua->value_len) : json_string(""), "requestId", req->request_id, "routeKey",
        "$default", "stage", "$default", "time", when, "timeEpoch", (json_int_t)req->epoch_ms);
    if (ctx == NULL || req->iam == NULL)
        return ctx;
    const nl_apigw_iam_t *iam = req->iam;
    json_t *auth =
        json_pack("{s:{s:o, s:o, s:o, s:n, s:n, s:o, s:o}}", "iam", "accessKey", str_or_null(iam->access_key),
                  "accountId", str_or_null(iam->account_id), "callerId", str_or_null(iam->caller_id), "cognitoIdentity",
                  "principalOrgId", "userArn", str_or_null(iam->user_arn), "userId", str_or_null(iam->user_id));
    if (auth == NULL || json_object_set_new(ctx, "authorizer", auth) != 0) {
        json_decref(ctx);
        return NULL;
    }
    return ctx;
}

static json_t *build_v2(const nl_apigw_request_t *req, groups_t *hdrs, groups_t *query)
{
    char when[32];
    format_time(when, req->epoch_ms);
    const nl_apigw_header_t *ua = find_header(req, "user-agent");
    json_t *ev = json_pack("{s:s, s:s, s:o, s:o}", "version", "2.0", "routeKey", "$default", "rawPath",
                           text(req->path, req->path_len), "rawQueryString", text(req->query, req->query_len));
    if (ev == NULL)
        return NULL;
    json_t *cookies = cookies_of(req);
    if (cookies == NULL)
        goto fail;
    if (json_array_size(cookies) > 0)
        json_object_set(ev, "cookies", cookies);
    json_decref(cookies);
    json_t *h = json_object();
    if (h == NULL || json_object_set_new(ev, "headers", h) != 0)
        goto fail;
    for (size_t i = 0; i < hdrs->count; i++) {
        if (json_object_set_new(h, hdrs->items[i].key, joined(&hdrs->items[i])) != 0)
            goto fail;
    }
    if (query->count > 0) {
        json_t *q = json_object();
        if (q == NULL || json_object_set_new(ev, "queryStringParameters", q) != 0)
            goto fail;
        for (size_t i = 0; i < query->count; i++) {
            if (json_object_set_new(q, query->items[i].key, joined(&query->items[i])) != 0)
                goto fail;
        }
    }
    json_t *ctx =
        req->url_id != NULL
            ? url_context(req, ua, when)
            : json_pack(
                  "{s:s, s:s, s:o, s:o, s:{s:o, s:o, s:o, s:o, s:o}, s:s, s:s, s:s, s:s, s:I}", "accountId", ACCOUNT_ID,
                  "apiId", API_ID, "domainName", text(req->domain_name, strlen(req->domain_name)), "domainPrefix",
                  domain_prefix(req->domain_name), "http", "method", text(req->method, req->method_len), "path",
                  text(req->path, req->path_len), "protocol", text(req->protocol, strlen(req->protocol)), "sourceIp",
                  text(req->source_ip, strlen(req->source_ip)), "userAgent",
                  ua != NULL ? text(ua->value, ua->value_len) : json_string(""), "requestId", req->request_id,
                  "routeKey", "$default", "stage", "$default", "time", when, "timeEpoch", (json_int_t)req->epoch_ms);
    if (req->url_id != NULL && (json_object_set_new(ev, "pathParameters", json_null()) != 0 ||
                                json_object_set_new(ev, "stageVariables", json_null()) != 0))
        goto fail;
    if (ctx == NULL || json_object_set_new(ev, "requestContext", ctx) != 0)
        goto fail;
    if (set_body(ev, req) != 0)
        goto fail;
    return ev;
fail:
    json_decref(ev);
    return NULL;
}

/* {name: last value} and {name: [values]} of groups, or two nulls when there are none (1.0's way). */
static int set_pair(json_t *ev, const char *single, const char *multi, const groups_t *g, int use_first_name)
{
    if (g->count == 0) {
        if (json_object_set_new(ev, single, json_null()) != 0 || json_object_set_new(ev, multi, json_null()) != 0)
            return CM_ENOMEM;
        return 0;
    }
    json_t *s = json_object(), *m = json_object();
    if (json_object_set_new(ev, single, s) != 0 || json_object_set_new(ev, multi, m) != 0)
        return CM_ENOMEM;
    for (size_t i = 0; i < g->count; i++) {
        const char *name = use_first_name ? json_string_value(g->items[i].first) : g->items[i].key;
        if (json_object_set_new(s, name, last(&g->items[i])) != 0 || json_object_set(m, name, g->items[i].values) != 0)
            return CM_ENOMEM;
    }
    return 0;
}

static json_t *build_v1(const nl_apigw_request_t *req, groups_t *hdrs, groups_t *query)
{
    char when[32];
    format_time(when, req->epoch_ms);
    const nl_apigw_header_t *ua = find_header(req, "user-agent");
    /* a greedy {proxy+} resource at the root: the whole path is the proxy parameter */
    const char *proxy = req->path;
    size_t proxy_len = req->path_len;
    if (proxy_len > 0 && proxy[0] == '/')
        proxy++, proxy_len--;
    json_t *ev =
        json_pack("{s:s, s:s, s:o, s:o, s:n}", "version", "1.0", "resource", "/{proxy+}", "path",
                  text(req->path, req->path_len), "httpMethod", text(req->method, req->method_len), "stageVariables");
    if (ev == NULL)
        return NULL;
    if (set_pair(ev, "headers", "multiValueHeaders", hdrs, 1) != 0 ||
        set_pair(ev, "queryStringParameters", "multiValueQueryStringParameters", query, 0) != 0)
        goto fail;
    if (json_object_set_new(ev, "pathParameters",
                            proxy_len > 0 ? json_pack("{s:o}", "proxy", text(proxy, proxy_len)) : json_null()) != 0)
        goto fail;
    char ext_id[17];
    nl_apigw_request_id(ext_id);
    json_t *ctx = json_pack(
        "{s:s, s:s, s:o, s:o, s:s, s:o, s:{s:n, s:n, s:n, s:n, s:n, s:n, s:n, s:o, s:n, s:n, s:o, s:n, s:n}, s:o, "
        "s:o, s:s, s:s, s:I, s:s, s:s, s:s}",
        "accountId", ACCOUNT_ID, "apiId", API_ID, "domainName", text(req->domain_name, strlen(req->domain_name)),
        "domainPrefix", domain_prefix(req->domain_name), "extendedRequestId", ext_id, "httpMethod",
        text(req->method, req->method_len), "identity", "accessKey", "accountId", "caller",
        "cognitoAuthenticationProvider", "cognitoAuthenticationType", "cognitoIdentityId", "cognitoIdentityPoolId",
        "sourceIp", text(req->source_ip, strlen(req->source_ip)), "principalOrgId", "user", "userAgent",
        ua != NULL ? text(ua->value, ua->value_len) : json_string(""), "userArn", "apiKey", "path",
        text(req->path, req->path_len), "protocol", text(req->protocol, strlen(req->protocol)), "requestId",
        req->request_id, "requestTime", when, "requestTimeEpoch", (json_int_t)req->epoch_ms, "resourceId", "123456",
        "resourcePath", "/{proxy+}", "stage", "$default");
    if (ctx == NULL || json_object_set_new(ev, "requestContext", ctx) != 0)
        goto fail;
    if (set_body(ev, req) != 0)
        goto fail;
    return ev;
fail:
    json_decref(ev);
    return NULL;
}

int nl_apigw_event(const nl_apigw_request_t *req, char **out, size_t *out_len)
{
    if ((req->version != 1 && req->version != 2) || (req->url_id != NULL && req->version != 2))
        return CM_EINVAL;
    groups_t hdrs = {0}, query = {0};
    int rc = group_headers(req, &hdrs, req->version == 2);
    if (rc == 0)
        rc = group_query(req->query, req->query_len, &query);
    json_t *ev = NULL;
    if (rc == 0) {
        ev = req->version == 2 ? build_v2(req, &hdrs, &query) : build_v1(req, &hdrs, &query);
        rc = ev != NULL ? 0 : CM_ENOMEM;
    }
    groups_dispose(&hdrs);
    groups_dispose(&query);
    if (rc != 0)
        return rc;
    char *s = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    if (s == NULL)
        return CM_ENOMEM;
    *out = s;
    *out_len = strlen(s);
    return 0;
}
