/*
 * SigV4 signing: the canonical request (path, query, headers), the string to sign, the signing key and the
 * Authorization header. See common/sigv4.h for the canonical form. HMAC-SHA256 and SHA-256 are OpenSSL's.
 * Every append goes to a capped cm_buf_t, so a huge request fails with CM_ETOOBIG instead of growing us.
 */
#include "common/sigv4.h"
#include "sigv4_internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char hexdig[] = "0123456789abcdef";
static const char HEXDIG[] = "0123456789ABCDEF";

/* A few-KiB request gives a canonical request of about its size; these caps only stop the absurd. */
#define SCRATCH_MAX (256 * 1024)

static void hex(char *out, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[p[i] >> 4];
        out[2 * i + 1] = hexdig[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int cm__sigv4_name_is(const char *s, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n && lit[i] != '\0'; i++)
        if (lower((unsigned char)s[i]) != lit[i])
            return 0;
    return i == n && lit[i] == '\0';
}

void cm_sigv4_amz_date(time_t t, char out[CM_SIGV4_AMZ_DATE_LEN + 1])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, CM_SIGV4_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

int cm_sigv4_parse_amz_date(const char *s, size_t len, time_t *t)
{
    if (len != CM_SIGV4_AMZ_DATE_LEN || s[8] != 'T' || s[15] != 'Z')
        return CM_EINVAL;
    int v[6];
    static const int at[6] = {0, 4, 6, 9, 11, 13}, width[6] = {4, 2, 2, 2, 2, 2};
    for (int f = 0; f < 6; f++) {
        v[f] = 0;
        for (int i = 0; i < width[f]; i++) {
            char c = s[at[f] + i];
            if (c < '0' || c > '9')
                return CM_EINVAL;
            v[f] = v[f] * 10 + (c - '0');
        }
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
        return CM_EINVAL;
    struct tm tm = {
        .tm_year = v[0] - 1900, .tm_mon = v[1] - 1, .tm_mday = v[2], .tm_hour = v[3], .tm_min = v[4], .tm_sec = v[5]};
    time_t r = timegm(&tm);
    if (r == (time_t)-1)
        return CM_EINVAL;
    *t = r;
    return 0;
}

void cm_sigv4_sha256_hex(const void *p, size_t n, char out[CM_SIGV4_HEX_LEN + 1])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(p, n, md);
    hex(out, md, sizeof(md));
}

/* Appends p[0..n) URI-encoded: unreserved bytes as they are, '/' too when keep_slash, the rest %XX. */
static int encode(cm_buf_t *out, const char *p, size_t n, int keep_slash)
{
    int err = cm_buf_reserve(out, n);
    for (size_t i = 0; i < n && err == 0; i++) {
        unsigned char c = (unsigned char)p[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            err = cm_buf_append(out, &p[i], 1);
        } else {
            char e[3] = {'%', HEXDIG[c >> 4], HEXDIG[c & 15]};
            err = cm_buf_append(out, e, 3);
        }
    }
    return err;
}

int cm_sigv4_canonical_path(cm_buf_t *out, const char *path, size_t len)
{
    size_t root = out->len;
    int err = cm_buf_append(out, "/", 1);
    /* Segments are resolved on the raw (still encoded) path, as AWS does: "%2E" is not ".". Output holds
     * "/seg/seg/" while going; ".." cuts back to the '/' before the last segment, never past the root. */
    for (size_t i = 0; i < len && err == 0;) {
        size_t j = i;
        while (j < len && path[j] != '/')
            j++;
        size_t n = j - i;
        if (n == 2 && path[i] == '.' && path[i + 1] == '.') {
            if (out->len > root + 1) {
                out->len--; /* the '/' after the last segment */
                while (out->base[out->len - 1] != '/')
                    out->len--;
                out->base[out->len] = '\0';
            }
        } else if (n != 0 && !(n == 1 && path[i] == '.')) {
            err = encode(out, path + i, n, 0);
            if (err == 0)
                err = cm_buf_append(out, "/", 1);
        }
        i = j + 1;
    }
    if (err != 0)
        return err;
    /* A trailing '/' stays only where the path had one ("/a/" but "/a/." is "/a"). */
    if (out->len > root + 1 && path[len - 1] != '/') {
        out->len--;
        out->base[out->len] = '\0';
    }
    return 0;
}

/* Percent-decodes p[0..n) into out ('+' stays '+'; a '%' not followed by two hex digits stays literal). */
static int decode(cm_buf_t *out, const char *p, size_t n)
{
    int err = cm_buf_reserve(out, n);
    for (size_t i = 0; i < n && err == 0; i++) {
        char c = p[i];
        int hi = c == '%' && i + 2 < n ? hexval(p[i + 1]) : -1;
        int lo = hi >= 0 ? hexval(p[i + 2]) : -1;
        if (lo >= 0) {
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        err = cm_buf_append(out, &c, 1);
    }
    return err;
}

struct pair {
    size_t key, key_len, val, val_len; /* offsets into the encoded buffer */
};

static int pair_cmp_base(const char *base, const struct pair *a, const struct pair *b)
{
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(base + a->key, base + b->key, n);
    if (c != 0)
        return c;
    if (a->key_len != b->key_len)
        return a->key_len < b->key_len ? -1 : 1;
    n = a->val_len < b->val_len ? a->val_len : b->val_len;
    c = memcmp(base + a->val, base + b->val, n);
    if (c != 0)
        return c;
    return a->val_len == b->val_len ? 0 : (a->val_len < b->val_len ? -1 : 1);
}

/* Insertion sort: a query has a handful of pairs, and qsort would need the buffer in a global (not
 * thread-safe). Worst case stays bounded by the caps on the query's size. */
static void sort_pairs(const char *base, struct pair *p, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct pair x = p[i];
        size_t j = i;
        while (j > 0 && pair_cmp_base(base, &p[j - 1], &x) > 0) {
            p[j] = p[j - 1];
            j--;
        }
        p[j] = x;
    }
}

int cm_sigv4_canonical_query(cm_buf_t *out, const char *query, size_t len)
{
    size_t npairs = 1;
    for (size_t i = 0; i < len; i++)
        npairs += query[i] == '&';
    struct pair *pairs = NULL;
    cm_buf_t enc, tmp;
    cm_buf_init(&enc, SCRATCH_MAX);
    cm_buf_init(&tmp, SCRATCH_MAX);
    int err = 0;
    size_t n = 0;
    if (len == 0)
        goto done;
    pairs = malloc(npairs * sizeof(*pairs));
    if (pairs == NULL) {
        err = CM_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < len; i++) {
        size_t j = i;
        while (j < len && query[j] != '&')
            j++;
        if (j == i) /* "a=1&&b=2": an empty pair is no pair */
            continue;
        size_t eq = i;
        while (eq < j && query[eq] != '=')
            eq++;
        struct pair *p = &pairs[n];
        cm_buf_reset(&tmp);
        if ((err = decode(&tmp, query + i, eq - i)) != 0)
            goto done;
        p->key = enc.len;
        if ((err = encode(&enc, tmp.base, tmp.len, 0)) != 0)
            goto done;
        p->key_len = enc.len - p->key;
        cm_buf_reset(&tmp);
        if (eq < j && (err = decode(&tmp, query + eq + 1, j - eq - 1)) != 0)
            goto done;
        p->val = enc.len;
        if ((err = encode(&enc, tmp.base, tmp.len, 0)) != 0)
            goto done;
        p->val_len = enc.len - p->val;
        n++;
        i = j;
    }
    sort_pairs(enc.base, pairs, n);
    for (size_t i = 0; i < n && err == 0; i++) {
        if (i > 0)
            err = cm_buf_append(out, "&", 1);
        if (err == 0)
            err = cm_buf_append(out, enc.base + pairs[i].key, pairs[i].key_len);
        if (err == 0)
            err = cm_buf_append(out, "=", 1);
        if (err == 0)
            err = cm_buf_append(out, enc.base + pairs[i].val, pairs[i].val_len);
    }
done:
    free(pairs);
    cm_buf_dispose(&enc);
    cm_buf_dispose(&tmp);
    return err;
}

/* A header name is an HTTP token: visible ASCII but separators. */
static int valid_name(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 32 || c >= 127 || strchr("\"(),/:;<=>?@[\\]{}", c) != NULL)
            return 0;
    }
    return 1;
}

static int hdr_cmp(const cm_sigv4_header_t *a, const cm_sigv4_header_t *b)
{
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    for (size_t i = 0; i < n; i++) {
        int d = lower((unsigned char)a->name[i]) - lower((unsigned char)b->name[i]);
        if (d != 0)
            return d;
    }
    return a->name_len == b->name_len ? 0 : (a->name_len < b->name_len ? -1 : 1);
}

/* Is the lower-cased name[0..n) one of the ';'-separated names of only[0..only_len)? */
static int listed(const char *only, size_t only_len, const char *name, size_t n)
{
    for (size_t i = 0; i < only_len;) {
        size_t j = i;
        while (j < only_len && only[j] != ';')
            j++;
        if (j - i == n) {
            size_t k = 0;
            while (k < n && lower((unsigned char)name[k]) == only[i + k])
                k++;
            if (k == n)
                return 1;
        }
        i = j + 1;
    }
    return 0;
}

/* Appends a header value trimmed, each run of whitespace made one space. */
static int append_trimmed(cm_buf_t *out, const char *v, size_t n)
{
    /* the common case, a value with no byte <= ' ' at all (a token, a date, a hash), goes in one append: the
     * per-byte loop below was a tenth of a signature with a 1 KB session token */
    size_t k = 0;
    while (k < n && (unsigned char)v[k] > ' ')
        k++;
    if (k == n)
        return cm_buf_append(out, v, n);
    size_t i = 0;
    int err = 0;
    while (i < n && is_space((unsigned char)v[i]))
        i++;
    while (n > i && is_space((unsigned char)v[n - 1]))
        n--;
    while (i < n && err == 0) {
        size_t j = i;
        while (j < n && !is_space((unsigned char)v[j]))
            j++;
        err = cm_buf_append(out, v + i, j - i);
        if (j < n && err == 0)
            err = cm_buf_append(out, " ", 1);
        while (j < n && is_space((unsigned char)v[j]))
            j++;
        i = j;
    }
    return err;
}

/* Appends name[0..n) lower-cased, straight into the reserved room (cm_buf_reserve's contract). */
static int append_lower(cm_buf_t *out, const char *name, size_t n)
{
    int err = cm_buf_reserve(out, n);
    if (err != 0)
        return err;
    for (size_t k = 0; k < n; k++)
        out->base[out->len + k] = (char)lower((unsigned char)name[k]);
    out->len += n;
    out->base[out->len] = '\0';
    return 0;
}

static int valid_hash(const char *h)
{
    if (h == NULL)
        return 0;
    for (int i = 0; i < CM_SIGV4_HEX_LEN; i++)
        if (hexval(h[i]) < 0 || (h[i] >= 'A' && h[i] <= 'F'))
            return 0;
    return h[CM_SIGV4_HEX_LEN] == '\0';
}

int cm__sigv4_canonical_request(cm_buf_t *out, cm_buf_t *signed_headers, const cm_sigv4_request_t *req,
                                const char *only, size_t only_len)
{
    if (req->method_len == 0 || !valid_hash(req->payload_hash))
        return CM_EINVAL;
    cm_sigv4_header_t few[16], *h = few; /* a signer's handful of headers needs no allocation */
    size_t n = 0, out_len = out->len, sh_len = signed_headers != NULL ? signed_headers->len : 0;
    int err = 0;
    if (req->nheaders > sizeof(few) / sizeof(few[0])) {
        h = malloc(req->nheaders * sizeof(*h));
        if (h == NULL)
            return CM_ENOMEM;
    }
    for (size_t i = 0; i < req->nheaders; i++) {
        const cm_sigv4_header_t *x = &req->headers[i];
        if (only != NULL && !listed(only, only_len, x->name, x->name_len))
            continue;
        if (!valid_name(x->name, x->name_len)) {
            err = CM_EINVAL;
            goto fail;
        }
        /* Insertion keeps repeated names in the order given (their values join in that order). */
        size_t j = n;
        while (j > 0 && hdr_cmp(&h[j - 1], x) > 0) {
            h[j] = h[j - 1];
            j--;
        }
        h[j] = *x;
        n++;
    }
    if (only != NULL) { /* every listed name must be there */
        for (size_t i = 0; i < only_len;) {
            size_t j = i;
            while (j < only_len && only[j] != ';')
                j++;
            int found = 0;
            for (size_t k = 0; k < n && !found; k++)
                found = h[k].name_len == j - i && listed(only + i, j - i, h[k].name, h[k].name_len);
            if (!found) {
                err = CM_ENOENT;
                goto fail;
            }
            i = j + 1;
        }
    }
    if ((err = cm_buf_append(out, req->method, req->method_len)) != 0 || (err = cm_buf_append(out, "\n", 1)) != 0 ||
        (err = cm_sigv4_canonical_path(out, req->path, req->path_len)) != 0 ||
        (err = cm_buf_append(out, "\n", 1)) != 0 ||
        (err = cm_sigv4_canonical_query(out, req->query, req->query_len)) != 0 ||
        (err = cm_buf_append(out, "\n", 1)) != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        int first = i == 0 || hdr_cmp(&h[i - 1], &h[i]) != 0;
        int last = i + 1 == n || hdr_cmp(&h[i], &h[i + 1]) != 0;
        if (first) {
            if ((err = append_lower(out, h[i].name, h[i].name_len)) != 0 || (err = cm_buf_append(out, ":", 1)) != 0)
                goto fail;
        } else if ((err = cm_buf_append(out, ",", 1)) != 0) {
            goto fail;
        }
        if ((err = append_trimmed(out, h[i].value, h[i].value_len)) != 0 ||
            (last && (err = cm_buf_append(out, "\n", 1)) != 0))
            goto fail;
    }
    if ((err = cm_buf_append(out, "\n", 1)) != 0)
        goto fail;
    /* The SignedHeaders list goes into the canonical request and, when asked, to the caller. */
    size_t list_at = out->len;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && hdr_cmp(&h[i - 1], &h[i]) == 0)
            continue;
        if (i > 0 && (err = cm_buf_append(out, ";", 1)) != 0)
            goto fail;
        if ((err = append_lower(out, h[i].name, h[i].name_len)) != 0)
            goto fail;
    }
    if (signed_headers != NULL && (err = cm_buf_append(signed_headers, out->base + list_at, out->len - list_at)) != 0)
        goto fail;
    if ((err = cm_buf_append(out, "\n", 1)) != 0 ||
        (err = cm_buf_append(out, req->payload_hash, CM_SIGV4_HEX_LEN)) != 0)
        goto fail;
    if (h != few)
        free(h);
    return 0;
fail:
    if (h != few)
        free(h);
    out->len = out_len;
    if (out->base != NULL)
        out->base[out_len] = '\0';
    if (signed_headers != NULL) {
        signed_headers->len = sh_len;
        if (signed_headers->base != NULL)
            signed_headers->base[sh_len] = '\0';
    }
    return err;
}

int cm_sigv4_canonical_request(cm_buf_t *out, cm_buf_t *signed_headers, const cm_sigv4_request_t *req)
{
    return cm__sigv4_canonical_request(out, signed_headers, req, NULL, 0);
}

/* Appends the NUL-terminated strings of parts, in order; all or nothing. */
static int append_all(cm_buf_t *out, const char *const *parts, size_t n)
{
    size_t total = 0, at = out->len;
    for (size_t i = 0; i < n; i++)
        total += strlen(parts[i]);
    int err = cm_buf_reserve(out, total);
    for (size_t i = 0; i < n && err == 0; i++)
        err = cm_buf_append(out, parts[i], strlen(parts[i]));
    if (err != 0 && out->base != NULL) {
        out->len = at;
        out->base[at] = '\0';
    }
    return err;
}

/* The hex SHA-256 of p[0..n) with the key's reusable digest context (no fetch, no allocation). */
static int digest_hex(cm_sigv4_key_t *key, const void *p, size_t n, char out[CM_SIGV4_HEX_LEN + 1])
{
    unsigned char md[32];
    unsigned int len = 0;
    if (EVP_DigestInit_ex(key->md_ctx, key->md, NULL) != 1 || EVP_DigestUpdate(key->md_ctx, p, n) != 1 ||
        EVP_DigestFinal_ex(key->md_ctx, md, &len) != 1 || len != 32)
        return CM_ECRYPTO;
    hex(out, md, sizeof(md));
    return 0;
}

int cm_sigv4_string_to_sign(cm_buf_t *out, const char *amz_date, const cm_sigv4_key_t *key, const char *creq,
                            size_t creq_len)
{
    char h[CM_SIGV4_HEX_LEN + 1];
    cm_sigv4_sha256_hex(creq, creq_len, h);
    const char *parts[] = {"AWS4-HMAC-SHA256\n", amz_date, "\n",         key->date,         "/",
                           key->region,          "/",      key->service, "/aws4_request\n", h};
    return append_all(out, parts, sizeof(parts) / sizeof(parts[0]));
}

static int hmac(unsigned char out[32], const void *key, size_t key_len, const void *msg, size_t msg_len)
{
    unsigned int n = 0;
    if (HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &n) == NULL || n != 32)
        return CM_ECRYPTO;
    return 0;
}

static int valid_scope_name(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    return n > 0 && n <= CM_SIGV4_NAME_MAX && strchr(s, '/') == NULL;
}

void cm_sigv4_key_init(cm_sigv4_key_t *key)
{
    memset(key, 0, sizeof(*key));
}

void cm_sigv4_key_clear(cm_sigv4_key_t *key)
{
    EVP_MAC_CTX_free(key->mac_ctx);
    EVP_MD_CTX_free(key->md_ctx);
    EVP_MD_free(key->md);
    cm_buf_dispose(&key->creq);
    cm_buf_dispose(&key->sts);
    cm_buf_dispose(&key->sh);
    OPENSSL_cleanse(key, sizeof(*key));
}

/* The key's OpenSSL contexts: HMAC keyed with k (re-initialised per signature without the key schedule) and a
 * SHA-256 digest context, both fetched once. OpenSSL 3's one-shot HMAC() and SHA256() fetch their algorithm
 * and allocate a context on every call: most of a signature's cost before this. */
static int key_contexts(cm_sigv4_key_t *key)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    key->mac_ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac);
    key->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    key->md_ctx = EVP_MD_CTX_new();
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
    if (key->mac_ctx == NULL || key->md == NULL || key->md_ctx == NULL ||
        EVP_MAC_init(key->mac_ctx, key->k, sizeof(key->k), params) != 1)
        return CM_ECRYPTO;
    cm_buf_init(&key->creq, SCRATCH_MAX);
    cm_buf_init(&key->sts, SCRATCH_MAX);
    cm_buf_init(&key->sh, SCRATCH_MAX);
    return 0;
}

int cm_sigv4_key_derive(cm_sigv4_key_t *key, const char *secret, size_t secret_len, const char *date,
                        const char *region, const char *service)
{
    cm_sigv4_key_clear(key);
    if (date == NULL || !valid_scope_name(region) || !valid_scope_name(service))
        return CM_EINVAL;
    for (int i = 0; i < 8; i++)
        if (date[i] < '0' || date[i] > '9')
            return CM_EINVAL;
    if (secret_len > 1024)
        return CM_EINVAL;
    unsigned char k1[32], k2[32];
    char seed[4 + 1024];
    memcpy(seed, "AWS4", 4);
    memcpy(seed + 4, secret, secret_len);
    int err = hmac(k1, seed, 4 + secret_len, date, 8);
    if (err == 0)
        err = hmac(k2, k1, 32, region, strlen(region));
    if (err == 0)
        err = hmac(k1, k2, 32, service, strlen(service));
    if (err == 0)
        err = hmac(key->k, k1, 32, "aws4_request", 12);
    OPENSSL_cleanse(seed, sizeof(seed));
    OPENSSL_cleanse(k1, sizeof(k1));
    OPENSSL_cleanse(k2, sizeof(k2));
    if (err == 0)
        err = key_contexts(key);
    if (err != 0) {
        cm_sigv4_key_clear(key);
        return err;
    }
    memcpy(key->date, date, 8);
    key->date[8] = '\0';
    memcpy(key->region, region, strlen(region) + 1);
    memcpy(key->service, service, strlen(service) + 1);
    return 0;
}

int cm_sigv4_key_fresh(const cm_sigv4_key_t *key, const char *amz_date)
{
    return key->date[0] != '\0' && memcmp(key->date, amz_date, 8) == 0;
}

int cm__sigv4_signature(char sig[CM_SIGV4_HEX_LEN + 1], cm_sigv4_key_t *key, const char *amz_date, const char *creq,
                        size_t creq_len)
{
    char h[CM_SIGV4_HEX_LEN + 1];
    unsigned char mac[32];
    size_t len = 0;
    cm_buf_reset(&key->sts);
    int err = digest_hex(key, creq, creq_len, h);
    if (err == 0) {
        const char *parts[] = {"AWS4-HMAC-SHA256\n", amz_date, "\n",         key->date,         "/",
                               key->region,          "/",      key->service, "/aws4_request\n", h};
        err = append_all(&key->sts, parts, sizeof(parts) / sizeof(parts[0]));
    }
    /* a NULL key re-initialises the HMAC with the key set at derivation */
    if (err == 0 && (EVP_MAC_init(key->mac_ctx, NULL, 0, NULL) != 1 ||
                     EVP_MAC_update(key->mac_ctx, (const unsigned char *)key->sts.base, key->sts.len) != 1 ||
                     EVP_MAC_final(key->mac_ctx, mac, &len, sizeof(mac)) != 1 || len != 32))
        err = CM_ECRYPTO;
    if (err == 0)
        hex(sig, mac, sizeof(mac));
    return err;
}

int cm_sigv4_sign(cm_buf_t *authorization, const cm_sigv4_request_t *req, cm_sigv4_key_t *key, const char *key_id,
                  size_t key_id_len, const char *amz_date)
{
    if (!cm_sigv4_key_fresh(key, amz_date))
        return CM_EINVAL;
    cm_buf_reset(&key->creq);
    cm_buf_reset(&key->sh);
    char sig[CM_SIGV4_HEX_LEN + 1];
    int err = cm__sigv4_canonical_request(&key->creq, &key->sh, req, NULL, 0);
    if (err == 0)
        err = cm__sigv4_signature(sig, key, amz_date, key->creq.base, key->creq.len);
    if (err != 0)
        return err;
    size_t at = authorization->len;
    err = cm_buf_append(authorization, "AWS4-HMAC-SHA256 Credential=", 28);
    if (err == 0)
        err = cm_buf_append(authorization, key_id, key_id_len);
    if (err == 0) {
        const char *parts[] = {
            "/",          key->date,      "/", key->region, "/", key->service, "/aws4_request, SignedHeaders=",
            key->sh.base, ", Signature=", sig};
        err = append_all(authorization, parts, sizeof(parts) / sizeof(parts[0]));
    }
    if (err != 0 && authorization->base != NULL) {
        authorization->len = at;
        authorization->base[at] = '\0';
    }
    return err;
}
