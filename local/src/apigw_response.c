/*
 * A function's answer -> the HTTP response API Gateway would send (see local/apigw.h).
 *
 * The invariant: either every check passes and res holds the whole response, or res stays empty and
 * `why` says which part of the answer was wrong (the caller logs it next to its 502).
 */
#include "local/apigw.h"
#include "common/error.h"
#include "common/base64.h"
#include "common/buf.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void nl_apigw_response_init(nl_apigw_response_t *res)
{
    memset(res, 0, sizeof(*res));
}

void nl_apigw_response_dispose(nl_apigw_response_t *res)
{
    for (size_t i = 0; i < res->num_headers; i++) {
        free(res->headers[i].name);
        free(res->headers[i].value);
    }
    free(res->headers);
    free(res->body);
    memset(res, 0, sizeof(*res));
}

static int malformed(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int malformed(char *why, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    return CM_EINVAL;
}

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int valid_name(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if (!is_tchar((unsigned char)*s))
            return 0;
    }
    return 1;
}

static int valid_value(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

/* Hop-by-hop and framing headers are the server's business, not the function's. */
static int server_owned(const char *name)
{
    static const char *const owned[] = {"content-length", "transfer-encoding", "connection",
                                        "keep-alive",     "upgrade",           "proxy-connection"};
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
        if (strcasecmp(name, owned[i]) == 0)
            return 1;
    }
    return 0;
}

/* The text of a header value as the gateway renders scalars: strings as they are, numbers and booleans
 * in their JSON spelling. Returns a new string, or NULL for anything else (*bad set) or out of memory. */
static char *scalar_text(json_t *v, int *bad)
{
    *bad = 0;
    if (json_is_string(v))
        return strndup(json_string_value(v), json_string_length(v));
    if (json_is_number(v) || json_is_boolean(v))
        return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    *bad = 1;
    return NULL;
}

static int add_header(nl_apigw_response_t *res, const char *name, const char *value, size_t value_len, char *why,
                      size_t why_size)
{
    if (!valid_name(name))
        return malformed(why, why_size, "header name '%.64s' is not an HTTP token", name);
    if (!valid_value(value, value_len))
        return malformed(why, why_size, "header '%.64s' has a control character in its value", name);
    if (server_owned(name))
        return 0;
    nl_apigw_out_header_t *h = realloc(res->headers, (res->num_headers + 1) * sizeof(*h));
    if (h == NULL)
        return CM_ENOMEM;
    res->headers = h;
    h = &res->headers[res->num_headers];
    h->name = strdup(name);
    h->value = strndup(value, value_len);
    if (h->name == NULL || h->value == NULL) {
        free(h->name);
        free(h->value);
        return CM_ENOMEM;
    }
    res->num_headers++;
    return 0;
}

static int add_json_header(nl_apigw_response_t *res, const char *where, const char *name, json_t *v, char *why,
                           size_t why_size)
{
    if (json_is_null(v))
        return 0;
    int bad;
    char *s = scalar_text(v, &bad);
    if (s == NULL)
        return bad ? malformed(why, why_size, "%s '%.64s' is not a string, number or boolean", where, name) : CM_ENOMEM;
    int rc = add_header(res, name, s, strlen(s), why, why_size);
    free(s);
    return rc;
}

static int has_key_nocase(json_t *obj, const char *name)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        if (strcasecmp(k, name) == 0)
            return 1;
    }
    return 0;
}

static int map_headers(nl_apigw_response_t *res, json_t *doc, char *why, size_t why_size)
{
    json_t *single = json_object_get(doc, "headers");
    json_t *multi = json_object_get(doc, "multiValueHeaders");
    if (single != NULL && !json_is_null(single) && !json_is_object(single))
        return malformed(why, why_size, "headers is not an object");
    if (multi != NULL && !json_is_null(multi) && !json_is_object(multi))
        return malformed(why, why_size, "multiValueHeaders is not an object");
    const char *k;
    json_t *v;
    int rc;
    if (json_is_object(multi)) {
        json_object_foreach(multi, k, v)
        {
            if (json_is_null(v))
                continue;
            if (!json_is_array(v))
                return malformed(why, why_size, "multiValueHeaders '%.64s' is not an array", k);
            size_t i;
            json_t *item;
            json_array_foreach(v, i, item)
            {
                if ((rc = add_json_header(res, "multiValueHeaders", k, item, why, why_size)) != 0)
                    return rc;
            }
        }
    }
    if (json_is_object(single)) {
        json_object_foreach(single, k, v)
        {
            /* the gateway merges the two; a name in both keeps multiValueHeaders' values */
            if (json_is_object(multi) && has_key_nocase(multi, k))
                continue;
            if ((rc = add_json_header(res, "headers", k, v, why, why_size)) != 0)
                return rc;
        }
    }
    return 0;
}

static int map_cookies(nl_apigw_response_t *res, json_t *doc, char *why, size_t why_size)
{
    json_t *cookies = json_object_get(doc, "cookies");
    if (cookies == NULL || json_is_null(cookies))
        return 0;
    if (!json_is_array(cookies))
        return malformed(why, why_size, "cookies is not an array");
    size_t i;
    json_t *c;
    json_array_foreach(cookies, i, c)
    {
        if (!json_is_string(c))
            return malformed(why, why_size, "cookies[%zu] is not a string", i);
        int rc = add_header(res, "set-cookie", json_string_value(c), json_string_length(c), why, why_size);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int map_status(json_t *sc, int *status, char *why, size_t why_size)
{
    long long v = -1;
    if (json_is_integer(sc)) {
        v = json_integer_value(sc);
    } else if (json_is_string(sc)) {
        const char *s = json_string_value(sc);
        char *end;
        v = strtoll(s, &end, 10);
        if (end == s || *end != '\0' || json_string_length(sc) > 3)
            v = -1;
    }
    if (v < 100 || v > 599)
        return malformed(why, why_size, "statusCode is not an HTTP status (100 to 599)");
    *status = (int)v;
    return 0;
}

static int map_body(nl_apigw_response_t *res, json_t *doc, char *why, size_t why_size)
{
    json_t *body = json_object_get(doc, "body");
    json_t *b64 = json_object_get(doc, "isBase64Encoded");
    if (b64 != NULL && !json_is_null(b64) && !json_is_boolean(b64))
        return malformed(why, why_size, "isBase64Encoded is not a boolean");
    if (body == NULL || json_is_null(body)) {
        res->body = strdup("");
        res->body_len = 0;
        return res->body != NULL ? 0 : CM_ENOMEM;
    }
    if (!json_is_string(body))
        return malformed(why, why_size, "body is not a string");
    const char *text = json_string_value(body);
    size_t text_len = json_string_length(body);
    if (json_is_true(b64)) {
        int rc = cm_base64_decode(text, text_len, &res->body, &res->body_len);
        if (rc == CM_EINVAL)
            return malformed(why, why_size, "isBase64Encoded is true but body is not valid base64");
        return rc == 0 ? 0 : CM_ENOMEM;
    }
    res->body_len = json_string_length(body);
    res->body = malloc(res->body_len + 1);
    if (res->body == NULL)
        return CM_ENOMEM;
    memcpy(res->body, json_string_value(body), res->body_len);
    res->body[res->body_len] = '\0';
    return 0;
}

static int map_structured(int version, json_t *doc, nl_apigw_response_t *res, char *why, size_t why_size)
{
    if (version == 1) {
        static const char *const known[] = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"};
        const char *k;
        json_t *v;
        json_object_foreach(doc, k, v)
        {
            size_t i = 0;
            while (i < sizeof(known) / sizeof(known[0]) && strcmp(k, known[i]) != 0)
                i++;
            if (i == sizeof(known) / sizeof(known[0]))
                return malformed(why, why_size,
                                 "unknown key '%.64s' (payload 1.0 allows statusCode, headers, "
                                 "multiValueHeaders, body, isBase64Encoded)",
                                 k);
        }
    }
    int rc = map_status(json_object_get(doc, "statusCode"), &res->status, why, why_size);
    if (rc == 0)
        rc = map_headers(res, doc, why, why_size);
    if (rc == 0 && version == 2)
        rc = map_cookies(res, doc, why, why_size);
    /* No content-type is added: API Gateway documents a default (application/json) only for 2.0's inferred
     * form below, where the answer has no statusCode ("Lambda function response for format 2.0"). An
     * answer with a statusCode says its own headers; a 304 or 204 given a body type it has no body for
     * would overwrite the type of a browser's cached copy. */
    if (rc == 0)
        rc = map_body(res, doc, why, why_size);
    return rc;
}

int nl_apigw_response_map(int version, const char *payload, size_t len, nl_apigw_response_t *res, char *why,
                          size_t why_size)
{
    if (version != 1 && version != 2)
        return malformed(why, why_size, "payload format version %d is not 1.0 or 2.0", version);
    json_error_t jerr;
    json_t *doc = json_loadb(payload, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    int rc;
    if (doc == NULL) {
        rc = malformed(why, why_size, "the answer is not JSON (line %d column %d: %s)", jerr.line, jerr.column,
                       jerr.text);
    } else if (json_is_object(doc) && json_object_get(doc, "statusCode") != NULL) {
        rc = map_structured(version, doc, res, why, why_size);
    } else if (version == 1) {
        rc = malformed(why, why_size, "the answer has no statusCode (payload 1.0 needs an object with one)");
    } else {
        /* 2.0's inferred form: the JSON itself is the body */
        res->status = 200;
        res->body = malloc(len + 1);
        rc = res->body != NULL ? 0 : CM_ENOMEM;
        if (rc == 0) {
            memcpy(res->body, payload, len);
            res->body[len] = '\0';
            res->body_len = len;
            rc = add_header(res, "content-type", "application/json", 16, why, why_size);
        }
    }
    json_decref(doc);
    if (rc != 0)
        nl_apigw_response_dispose(res);
    return rc;
}
