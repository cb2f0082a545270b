/*
 * Signing requests to an upstream with sign: {service, region} (sign.c): the SigV4 header lines a request
 * gets, from the credentials the refresher published (creds.h), with common/sigv4.h. One signer per thread
 * (each worker, the health thread): it keeps its reference on the current credentials and the day's signing
 * key per upstream, so a request costs one SHA-256 of its canonical form and one HMAC, no lock and no fetch.
 */
#ifndef NEARJS_EDGE_SIGN_H
#define NEARJS_EDGE_SIGN_H

#include <stddef.h>
#include <time.h>

#include "common/buf.h"
#include "common/sigv4.h"
#include "config.h"
#include "creds.h"

/* Signatures are a pure function of the request, the credentials and the second: the same request in the same
 * second (a popular script, fetched by many visitors) gets the same lines, so the last few are memoised. */
#define EDGE_SIGN_MEMO_SLOTS 16
#define EDGE_SIGN_MEMO_KEY_MAX 1024
typedef struct edge_sign_memo {
    unsigned key_serial; /* the signing key it was made with (0: empty slot) */
    time_t second;
    size_t idx;
    size_t key_len;
    char key[EDGE_SIGN_MEMO_KEY_MAX]; /* method, target, host, body hash */
    cm_buf_t lines;
} edge_sign_memo_t;

typedef struct edge_signer {
    edge_creds_t *creds;                      /* reference, or NULL */
    unsigned version;                         /* the source's version creds came with */
    cm_sigv4_key_t keys[EDGE_MAX_UPSTREAMS];  /* per upstream index: the day's key of creds */
    unsigned key_version[EDGE_MAX_UPSTREAMS]; /* version + 1 the key was derived for (0: none) */
    unsigned key_serial[EDGE_MAX_UPSTREAMS];  /* which derivation the key is (never 0 once derived) */
    unsigned serial;
    edge_sign_memo_t memo[EDGE_SIGN_MEMO_SLOTS];
    cm_buf_t lines;                       /* the header lines of the last edge__sign, reused */
    char date[CM_SIGV4_AMZ_DATE_LEN + 1]; /* x-amz-date of date_of, formatted once a second */
    time_t date_of;
    cm_buf_t auth;
} edge_signer_t;

void edge__signer_init(edge_signer_t *s);
void edge__signer_dispose(edge_signer_t *s);

/* Signs a request to upstream index idx (conf u, which has sign_service) made at now: method, target (path and
 * query as sent), host (the Host value sent), body_hash (hex SHA-256 of the body; NULL when no body is
 * sent). On success *lines (NUL-terminated, borrowed until the next call on s) holds the header lines to add,
 * each ending "\r\n": x-amz-date, x-amz-security-token (temporary credentials), x-amz-content-sha256 (with a
 * body), authorization; and 0 is returned. Returns CM_ENOENT with why set (one line) when there are no valid
 * credentials (the request must not go), or CM_ENOMEM / CM_ETOOBIG / CM_EINVAL. */
int edge__sign(edge_signer_t *s, edge_creds_src_t *src, const edge_upstream_conf_t *u, size_t idx, const char *method,
               size_t method_len, const char *target, size_t target_len, const char *host, size_t host_len,
               const char *body_hash, time_t now, const cm_buf_t **lines, char *why, size_t whylen);

#endif
