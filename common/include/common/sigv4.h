/*
 * common/sigv4.h: AWS Signature Version 4 (header form, AWS4-HMAC-SHA256), both ways: the edge signs the
 * requests it sends to a Lambda function URL, and the emulator (nearjs-local's function-URL mode) verifies
 * them as Lambda does.
 *
 * The canonical form is the one of every AWS service but S3: the path is normalised (empty and "."
 * segments dropped, ".." resolved, so "//a/./b/../c" is "/a/c") and then URI-encoded once more, as it is on
 * the wire (a '%' becomes "%25": the "double encoding" of the AWS documentation); the query's names and
 * values are percent-decoded, encoded again (RFC 3986 unreserved characters kept, '+' is a literal plus,
 * "%2B") and sorted by name then value; header names are lower-cased and sorted, values trimmed with runs of
 * whitespace made one space, and repeated headers joined with ',' in the order given. This is what
 * botocore's SigV4Auth computes for the same request (tests/edge/sigv4_botocore.py checks it).
 *
 * Strings are (pointer, length) and need not be NUL-terminated unless said. Nothing here keeps a pointer
 * past the call. Thread-safe: no state but the caller's.
 */
#ifndef NEARJS_COMMON_SIGV4_H
#define NEARJS_COMMON_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "common/buf.h"   /* cm_buf_t */
#include "common/error.h" /* CM_E* codes */

#ifdef __cplusplus
extern "C" {
#endif

/* "YYYYMMDDTHHMMSSZ", the form of x-amz-date. */
#define CM_SIGV4_AMZ_DATE_LEN 16
/* Lower-case hex of a SHA-256. */
#define CM_SIGV4_HEX_LEN 64
/* The largest clock difference a verifier accepts, as AWS does: 5 minutes either way. */
#define CM_SIGV4_MAX_SKEW 300
/* Caps on region and service names (AWS's are far shorter). */
#define CM_SIGV4_NAME_MAX 63
/* sha256("") in hex: the payload hash of a request without a body. */
#define CM_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* One header as on the wire: any case, value untrimmed. Borrowed. */
typedef struct cm_sigv4_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} cm_sigv4_header_t;

/* A request as it goes on the wire. All borrowed. */
typedef struct cm_sigv4_request {
    const char *method; /* "GET", upper case as sent */
    size_t method_len;
    const char *path; /* the target up to '?', percent-encoded as sent: "/acct/a%20b.js" */
    size_t path_len;
    const char *query; /* after the '?' (without it), as sent; may be empty */
    size_t query_len;
    const cm_sigv4_header_t *headers; /* signing: exactly the headers to sign (host and x-amz-date among them);
                                         verifying: all of the request's headers */
    size_t nheaders;
    const char *payload_hash; /* NUL-terminated lower-case hex SHA-256 of the body (cm_sigv4_sha256_hex);
                                 CM_SIGV4_EMPTY_SHA256 without one */
} cm_sigv4_request_t;

struct evp_mac_ctx_st; /* OpenSSL's EVP_MAC_CTX, EVP_MD_CTX, EVP_MD */
struct evp_md_ctx_st;
struct evp_md_st;

/* A signing key and its working memory: derived once per secret, day, region and service, then reused for
 * every request of that day (deriving costs four HMACs; signing one SHA-256 and one HMAC, with OpenSSL
 * contexts and buffers kept here, so a signature allocates nothing once warm). Caller-allocated; empty when
 * zeroed (or after cm_sigv4_key_init); cm_sigv4_key_clear frees what it holds. One thread at a time. */
typedef struct cm_sigv4_key {
    char date[9]; /* YYYYMMDD, NUL-terminated */
    char region[CM_SIGV4_NAME_MAX + 1];
    char service[CM_SIGV4_NAME_MAX + 1];
    unsigned char k[32];
    struct evp_mac_ctx_st *mac_ctx; /* HMAC-SHA256 keyed with k; owned */
    struct evp_md_ctx_st *md_ctx;   /* for the canonical request's SHA-256; owned */
    struct evp_md_st *md;           /* SHA-256, fetched once; owned */
    cm_buf_t creq, sts, sh;         /* canonical request, string to sign, SignedHeaders; reused */
} cm_sigv4_key_t;

/* Writes t (UTC) as x-amz-date, "YYYYMMDDTHHMMSSZ", NUL-terminated, into out. Cannot fail for the years
 * 0..9999. */
void cm_sigv4_amz_date(time_t t, char out[CM_SIGV4_AMZ_DATE_LEN + 1]);
/* Parses an x-amz-date ("YYYYMMDDTHHMMSSZ", exactly) into *t. Returns 0 or CM_EINVAL (*t untouched). */
int cm_sigv4_parse_amz_date(const char *s, size_t len, time_t *t);
/* Writes the lower-case hex SHA-256 of p[0..n), NUL-terminated, into out. Cannot fail. */
void cm_sigv4_sha256_hex(const void *p, size_t n, char out[CM_SIGV4_HEX_LEN + 1]);

/* Appends the canonical URI of a path as sent (see above; "" gives "/"). Returns 0, CM_ETOOBIG or CM_ENOMEM
 * (out may then hold part of it). */
int cm_sigv4_canonical_path(cm_buf_t *out, const char *path, size_t len);
/* Appends the canonical query string of a query as sent (without '?'). Same returns. */
int cm_sigv4_canonical_query(cm_buf_t *out, const char *query, size_t len);
/* Appends the canonical request of req, signing all of req->headers, to out, and (if not NULL) the
 * SignedHeaders list ("host;x-amz-date") to signed_headers. Returns 0, CM_EINVAL (a header name empty or
 * with a byte outside HTTP's token set, no method, or a payload_hash that is not 64 hex digits),
 * CM_ETOOBIG or CM_ENOMEM. */
int cm_sigv4_canonical_request(cm_buf_t *out, cm_buf_t *signed_headers, const cm_sigv4_request_t *req);
/* Appends the string to sign of a canonical request made at amz_date (NUL-terminated x-amz-date) for
 * key's scope. Returns 0, CM_ETOOBIG or CM_ENOMEM. */
int cm_sigv4_string_to_sign(cm_buf_t *out, const char *amz_date, const cm_sigv4_key_t *key, const char *creq,
                            size_t creq_len);

/* Makes *key empty (as a zeroed one). Cannot fail. */
void cm_sigv4_key_init(cm_sigv4_key_t *key);
/* Derives the signing key of secret for date (YYYYMMDD, or a whole x-amz-date: its first 8 characters),
 * region and service (NUL-terminated) into *key (empty, or derived before: what it held is freed first).
 * Returns 0, CM_EINVAL (date not 8 digits, a name empty or longer than CM_SIGV4_NAME_MAX) or CM_ECRYPTO
 * (OpenSSL failed); *key is cleared on failure. */
int cm_sigv4_key_derive(cm_sigv4_key_t *key, const char *secret, size_t secret_len, const char *date,
                        const char *region, const char *service);
/* Returns 1 if key was derived for the day of amz_date (or YYYYMMDD), else 0. */
int cm_sigv4_key_fresh(const cm_sigv4_key_t *key, const char *amz_date);
/* Frees what a key holds and wipes its secret material; it is empty afterwards. */
void cm_sigv4_key_clear(cm_sigv4_key_t *key);

/* Signs req (its headers are the signed set: they must include host and x-amz-date equal to amz_date, and
 * x-amz-security-token when the credentials have one) made at amz_date with key (fresh for that day) of
 * key_id, and appends the value of the Authorization header to authorization:
 * "AWS4-HMAC-SHA256 Credential=<key_id>/<date>/<region>/<service>/aws4_request, SignedHeaders=..., Signature=...".
 * Returns 0, CM_EINVAL (as cm_sigv4_canonical_request, or key not of amz_date's day), CM_ECRYPTO, CM_ETOOBIG
 * or CM_ENOMEM; authorization is unchanged on failure. */
int cm_sigv4_sign(cm_buf_t *authorization, const cm_sigv4_request_t *req, cm_sigv4_key_t *key, const char *key_id,
                  size_t key_id_len, const char *amz_date);

/* What cm_sigv4_verify concluded about a request. */
#define CM_SIGV4_VERDICT_MAP(X)                                                                                        \
    X(VALID, "signature valid")                                                                                        \
    X(NO_AUTH, "no Authorization header (unsigned request)")                                                           \
    X(MALFORMED, "Authorization header is not AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...")      \
    X(NO_DATE, "no x-amz-date header, or not YYYYMMDDTHHMMSSZ")                                                        \
    X(SKEW, "x-amz-date more than 5 minutes from now (expired or replayed)")                                           \
    X(SCOPE, "credential scope is not this day, region and service")                                                   \
    X(UNSIGNED_HEADER, "host, x-amz-date, x-amz-security-token or x-amz-content-sha256 present but not signed")        \
    X(MISSING_HEADER, "a header listed in SignedHeaders is not in the request")                                        \
    X(UNKNOWN_KEY, "unknown access key id")                                                                            \
    X(TOKEN, "x-amz-security-token missing or not the one of this key")                                                \
    X(PAYLOAD, "body does not match x-amz-content-sha256")                                                             \
    X(MISMATCH, "signature does not match (request altered, or signed with another secret)")

typedef enum cm_sigv4_verdict {
#define CM__SIGV4_VERDICT_ENUM(name, text) CM_SIGV4_##name,
    CM_SIGV4_VERDICT_MAP(CM__SIGV4_VERDICT_ENUM)
#undef CM__SIGV4_VERDICT_ENUM
} cm_sigv4_verdict_t;

/* Returns a static one-line description of a verdict ("unknown verdict" for a value outside the map). */
const char *cm_sigv4_verdict_str(cm_sigv4_verdict_t v);
/* Returns the verdict's name ("VALID", "SKEW", ...; "UNKNOWN" outside the map). Static. */
const char *cm_sigv4_verdict_name(cm_sigv4_verdict_t v);

/* Finds the secret of an access key id (key_id[0..len), not NUL-terminated). On success stores the secret
 * and, if the key is a temporary one, its session token (else NULL) as NUL-terminated strings that stay
 * valid until cm_sigv4_verify returns, and returns 0; returns non-zero for an unknown key. */
typedef int (*cm_sigv4_lookup_fn)(void *ctx, const char *key_id, size_t len, const char **secret, const char **token);

/* What a verifier accepts. Borrowed; region and service NUL-terminated. */
typedef struct cm_sigv4_verifier {
    const char *region;
    const char *service;
    cm_sigv4_lookup_fn lookup;
    void *ctx;
    long max_skew; /* seconds; 0 means CM_SIGV4_MAX_SKEW */
} cm_sigv4_verifier_t;

/* Checks the Authorization header of req (all of its headers; payload_hash is the hash of the body actually
 * received) as the service v->service in v->region would at time now, and stores the verdict in *verdict:
 * CM_SIGV4_VALID or the first reason it is not. Checks, in order: an Authorization header in the
 * AWS4-HMAC-SHA256 form; x-amz-date and its distance from now; the scope (date of x-amz-date, region,
 * service, aws4_request); host and x-amz-date signed, and x-amz-security-token and x-amz-content-sha256
 * signed when sent; every signed header present; the key known; the session token the key's (required
 * when the key has one, refused when it has none); x-amz-content-sha256, when sent, equal to the body's;
 * then the signature, compared in constant time. Returns 0 (verdict set), CM_EINVAL (v incomplete), CM_ECRYPTO,
 * CM_ETOOBIG (headers too large to canonicalise: *verdict MALFORMED) or CM_ENOMEM. */
int cm_sigv4_verify(const cm_sigv4_verifier_t *v, const cm_sigv4_request_t *req, time_t now,
                    cm_sigv4_verdict_t *verdict);

#ifdef __cplusplus
}
#endif

#endif
