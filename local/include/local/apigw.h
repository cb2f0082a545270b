/*
 * API Gateway's Lambda proxy integration, both ways: an HTTP request turned into the event a function
 * receives (HTTP API payload 2.0, or REST payload 1.0), and the function's answer turned back into an
 * HTTP response, with the gateway's rules for what is malformed. Pure data transformations: no I/O, no
 * globals; every function is thread-safe on distinct arguments.
 */
#ifndef NEARJS_LOCAL_APIGW_H
#define NEARJS_LOCAL_APIGW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* API Gateway's cap on a request payload. */
#define NL_APIGW_MAX_REQUEST (10 * 1024 * 1024)

/* One header, as (ptr, len) pairs; borrowed. */
typedef struct nl_apigw_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} nl_apigw_header_t;

/* Who signed a request to a function URL with AuthType AWS_IAM: requestContext.authorizer.iam. Borrowed. */
typedef struct nl_apigw_iam {
    const char *access_key;
    const char *account_id;
    const char *caller_id; /* "AROA...:session" for a role's session */
    const char *user_arn;
    const char *user_id;
} nl_apigw_iam_t;

/* An HTTP request as the gateway saw it. Everything is borrowed. */
typedef struct nl_apigw_request {
    int version; /* payload format: 1 (REST, "1.0") or 2 (HTTP API, "2.0") */
    const char *method;
    size_t method_len;
    const char *path; /* the path as sent, without the query */
    size_t path_len;
    const char *query; /* the raw query string, without '?'; NULL or "" when there is none */
    size_t query_len;
    const nl_apigw_header_t *headers; /* in arrival order, names in any case */
    size_t num_headers;
    const char *body; /* NULL when the request has none */
    size_t body_len;
    const char *source_ip;   /* the client's address */
    const char *protocol;    /* "HTTP/1.1", "HTTP/2.0" */
    const char *domain_name; /* the Host (or :authority) without its port */
    const char *request_id;  /* the gateway's id of this request */
    uint64_t epoch_ms;       /* when the request came in */
    /* A Lambda function URL instead of API Gateway (payload 2.0 only): with url_id set, requestContext
     * takes the function URL's shape: apiId and domainPrefix are url_id, domainName is
     * "<url_id>.lambda-url.<url_region>.on.aws" (domain_name is unused), accountId is the function
     * owner's (url_account) when signed, "anonymous" when not, "authentication" is null, authorizer.iam
     * is iam when set; pathParameters and stageVariables are null at the top level. */
    const char *url_id;
    const char *url_region;
    const char *url_account;
    const nl_apigw_iam_t *iam;
} nl_apigw_request_t;

/* Builds the event for req as the gateway does. 2.0: lowercase header names, repeated headers and query
 * keys joined with ',', cookies in "cookies" (not in headers), rawPath, rawQueryString, requestContext
 * with domainName, http.{method,path,protocol,sourceIp,userAgent}, requestId, time, timeEpoch (a function
 * URL's shape with url_id, see above). 1.0:
 * headers (last value) + multiValueHeaders, queryStringParameters (last value) +
 * multiValueQueryStringParameters, requestContext.identity.sourceIp. Query keys and values are
 * percent-decoded. A body that is not text (a non-text Content-Type, or bytes that are not UTF-8) goes
 * base64 with isBase64Encoded true. Returns 0 and a new NUL-terminated string in *out (caller frees),
 * its length in *out_len; or CM_EINVAL (version not 1 or 2) / CM_ENOMEM, *out untouched. */
int nl_apigw_event(const nl_apigw_request_t *req, char **out, size_t *out_len);

/* One response header; both strings owned by the response. */
typedef struct nl_apigw_out_header {
    char *name;
    char *value;
} nl_apigw_out_header_t;

/* An HTTP response made from a function's answer. */
typedef struct nl_apigw_response {
    int status;
    nl_apigw_out_header_t *headers; /* in the order they are to be sent; Set-Cookie may repeat */
    size_t num_headers;
    char *body; /* NUL-terminated; owned */
    size_t body_len;
} nl_apigw_response_t;

void nl_apigw_response_init(nl_apigw_response_t *res);
void nl_apigw_response_dispose(nl_apigw_response_t *res);

/* Maps a function's answer (payload, len bytes) to res, as the gateway of payload format version does:
 * an object with statusCode gives statusCode, headers, multiValueHeaders, cookies (2.0; one Set-Cookie
 * each), body and isBase64Encoded, and no header the answer did not give (no default content-type);
 * for 2.0 any other JSON value is a 200 application/json response whose body is that JSON (the only
 * default API Gateway documents). Header names and values with control characters, a status outside
 * 100..599, a body that is not a string, bad base64, and for 1.0 keys the gateway does not know, make
 * the answer malformed. Returns 0, or CM_EINVAL (malformed: res is left empty and why holds a one-line
 * reason) or CM_ENOMEM. res must be fresh (nl_apigw_response_init). */
int nl_apigw_response_map(int version, const char *payload, size_t len, nl_apigw_response_t *res, char *why,
                          size_t why_size);

/* Writes an API Gateway style request id (base64url-ish, 16 characters) into out. */
void nl_apigw_request_id(char out[17]);

#ifdef __cplusplus
}
#endif

#endif
