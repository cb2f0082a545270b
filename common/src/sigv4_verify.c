/*
 * SigV4 verification, as an AWS service does it for a request signed in the Authorization header: parse the
 * header, check the time and the scope, rebuild the canonical request over the headers the client says it
 * signed, and compare signatures in constant time. The verdict names the first check that failed, so a
 * 403 can be logged with its reason while the client gets no more than AWS would tell it.
 */
#include "common/sigv4.h"
#include "sigv4_internal.h"

#include <openssl/crypto.h>

#include <string.h>

const char *cm_sigv4_verdict_str(cm_sigv4_verdict_t v)
{
#define CM__SIGV4_VERDICT_TEXT(name, text)                                                                             \
    case CM_SIGV4_##name:                                                                                              \
        return text;
    switch (v) {
        CM_SIGV4_VERDICT_MAP(CM__SIGV4_VERDICT_TEXT)
    }
#undef CM__SIGV4_VERDICT_TEXT
    return "unknown verdict";
}

const char *cm_sigv4_verdict_name(cm_sigv4_verdict_t v)
{
#define CM__SIGV4_VERDICT_NAME(name, text)                                                                             \
    case CM_SIGV4_##name:                                                                                              \
        return #name;
    switch (v) {
        CM_SIGV4_VERDICT_MAP(CM__SIGV4_VERDICT_NAME)
    }
#undef CM__SIGV4_VERDICT_NAME
    return "UNKNOWN";
}

typedef struct span {
    const char *p;
    size_t n;
} span_t;

struct auth {
    span_t key_id, date, region, service, terminator, signed_headers, signature;
};

/* Finds the first header called name (lower case) and stores its value, without surrounding whitespace
 * (HTTP's optional whitespace, which a parser may or may not have removed), in *out. Returns 1, or 0. */
static int find(const cm_sigv4_request_t *req, const char *name, span_t *out)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        const cm_sigv4_header_t *h = &req->headers[i];
        if (!cm__sigv4_name_is(h->name, h->name_len, name))
            continue;
        size_t a = 0, b = h->value_len;
        while (a < b && (h->value[a] == ' ' || h->value[a] == '\t'))
            a++;
        while (b > a && (h->value[b - 1] == ' ' || h->value[b - 1] == '\t'))
            b--;
        *out = (span_t){h->value + a, b - a};
        return 1;
    }
    return 0;
}

static int span_is(span_t s, const char *lit)
{
    return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/* Splits "AWS4-HMAC-SHA256 Credential=K/D/R/S/aws4_request, SignedHeaders=a;b, Signature=hex" into *a.
 * Returns 0 or -1. */
static int parse_auth(const char *s, size_t n, struct auth *a)
{
    static const char alg[] = "AWS4-HMAC-SHA256";
    memset(a, 0, sizeof(*a));
    if (n <= sizeof(alg) - 1 || memcmp(s, alg, sizeof(alg) - 1) != 0 || s[sizeof(alg) - 1] != ' ')
        return -1;
    span_t cred = {NULL, 0};
    for (size_t i = sizeof(alg) - 1; i < n;) {
        while (i < n && (s[i] == ' ' || s[i] == ','))
            i++;
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        size_t end = j;
        while (end > i && s[end - 1] == ' ')
            end--;
        span_t item = {s + i, end - i}, *into = NULL;
        size_t skip = 0;
        if (item.n > 11 && memcmp(item.p, "Credential=", 11) == 0) {
            into = &cred, skip = 11;
        } else if (item.n > 14 && memcmp(item.p, "SignedHeaders=", 14) == 0) {
            into = &a->signed_headers, skip = 14;
        } else if (item.n > 10 && memcmp(item.p, "Signature=", 10) == 0) {
            into = &a->signature, skip = 10;
        } else if (item.n != 0) {
            return -1;
        }
        if (into != NULL) {
            if (into->p != NULL)
                return -1; /* twice */
            *into = (span_t){item.p + skip, item.n - skip};
        }
        i = j;
    }
    if (cred.p == NULL || a->signed_headers.p == NULL || a->signature.p == NULL || a->signature.n != CM_SIGV4_HEX_LEN)
        return -1;
    /* The key id is everything before the last four '/'-separated fields. */
    span_t *fields[4] = {&a->date, &a->region, &a->service, &a->terminator};
    size_t end = cred.n;
    for (int f = 3; f >= 0; f--) {
        size_t k = end;
        while (k > 0 && cred.p[k - 1] != '/')
            k--;
        if (k == 0)
            return -1;
        *fields[f] = (span_t){cred.p + k, end - k};
        end = k - 1;
    }
    a->key_id = (span_t){cred.p, end};
    return a->key_id.n == 0 ? -1 : 0;
}

int cm_sigv4_verify(const cm_sigv4_verifier_t *v, const cm_sigv4_request_t *req, time_t now,
                    cm_sigv4_verdict_t *verdict)
{
    if (v == NULL || v->region == NULL || v->service == NULL || v->lookup == NULL)
        return CM_EINVAL;
    cm_buf_t creq;
    cm_buf_init(&creq, 256 * 1024);
    cm_sigv4_key_t key;
    memset(&key, 0, sizeof(key));
    int err = 0;
    struct auth a;
    span_t h, date, tok, sha;
    if (!find(req, "authorization", &h)) {
        *verdict = CM_SIGV4_NO_AUTH;
        goto done;
    }
    if (parse_auth(h.p, h.n, &a) != 0) {
        *verdict = CM_SIGV4_MALFORMED;
        goto done;
    }
    time_t t;
    char amz_date[CM_SIGV4_AMZ_DATE_LEN + 1];
    if (!find(req, "x-amz-date", &date) || cm_sigv4_parse_amz_date(date.p, date.n, &t) != 0) {
        *verdict = CM_SIGV4_NO_DATE;
        goto done;
    }
    memcpy(amz_date, date.p, CM_SIGV4_AMZ_DATE_LEN);
    amz_date[CM_SIGV4_AMZ_DATE_LEN] = '\0';
    long skew = v->max_skew > 0 ? v->max_skew : CM_SIGV4_MAX_SKEW;
    if (t > now + skew || t < now - skew) {
        *verdict = CM_SIGV4_SKEW;
        goto done;
    }
    if (a.date.n != 8 || memcmp(a.date.p, amz_date, 8) != 0 || !span_is(a.region, v->region) ||
        !span_is(a.service, v->service) || !span_is(a.terminator, "aws4_request")) {
        *verdict = CM_SIGV4_SCOPE;
        goto done;
    }
    /* Unsigned, these could be swapped by anyone on the path: the target host, the time (a replay made
     * fresh), the token (another session's) or the body's hash. */
    static const char *const must[] = {"host", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"};
    for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
        int required = i < 2 || find(req, must[i], &tok);
        size_t len = strlen(must[i]);
        int present = 0;
        for (size_t k = 0; k < a.signed_headers.n && !present;) {
            size_t j = k;
            while (j < a.signed_headers.n && a.signed_headers.p[j] != ';')
                j++;
            present = j - k == len && memcmp(a.signed_headers.p + k, must[i], len) == 0;
            k = j + 1;
        }
        if (required && !present) {
            *verdict = CM_SIGV4_UNSIGNED_HEADER;
            goto done;
        }
    }
    const char *secret = NULL, *token = NULL;
    if (v->lookup(v->ctx, a.key_id.p, a.key_id.n, &secret, &token) != 0 || secret == NULL) {
        *verdict = CM_SIGV4_UNKNOWN_KEY;
        goto done;
    }
    int has_tok = find(req, "x-amz-security-token", &tok);
    if ((token == NULL) == has_tok ||
        (has_tok && (tok.n != strlen(token) || CRYPTO_memcmp(tok.p, token, tok.n) != 0))) {
        *verdict = CM_SIGV4_TOKEN;
        goto done;
    }
    if (find(req, "x-amz-content-sha256", &sha) &&
        (sha.n != CM_SIGV4_HEX_LEN || memcmp(sha.p, req->payload_hash, CM_SIGV4_HEX_LEN) != 0)) {
        *verdict = CM_SIGV4_PAYLOAD;
        goto done;
    }
    err = cm__sigv4_canonical_request(&creq, NULL, req, a.signed_headers.p, a.signed_headers.n);
    if (err == CM_ENOENT || err == CM_EINVAL || err == CM_ETOOBIG) {
        *verdict = err == CM_ENOENT ? CM_SIGV4_MISSING_HEADER : CM_SIGV4_MALFORMED;
        err = err == CM_ETOOBIG ? err : 0;
        goto done;
    }
    if (err != 0)
        goto done;
    err = cm_sigv4_key_derive(&key, secret, strlen(secret), amz_date, v->region, v->service);
    char sig[CM_SIGV4_HEX_LEN + 1];
    if (err == 0)
        err = cm__sigv4_signature(sig, &key, amz_date, creq.base, creq.len);
    if (err != 0)
        goto done;
    *verdict = CRYPTO_memcmp(sig, a.signature.p, CM_SIGV4_HEX_LEN) == 0 ? CM_SIGV4_VALID : CM_SIGV4_MISMATCH;
done:
    cm_sigv4_key_clear(&key);
    cm_buf_dispose(&creq);
    return err;
}
