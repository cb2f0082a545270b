/*
 * Per-thread SigV4 signing of upstream requests (sign.h). The signed headers are host, x-amz-date,
 * x-amz-security-token and x-amz-content-sha256: what Lambda's function URLs (and CloudFront's origin access
 * control in front of them) need, and nothing that a hop may rewrite. The credentials are re-read from the
 * source only when its version moved or the held set is about to expire; the day's key per upstream is
 * derived once per set and day.
 */
#include "sign.h"

#include <stdint.h>
#include <string.h>

#define LINES_MAX (16 * 1024)

void edge__signer_init(edge_signer_t *s)
{
    memset(s, 0, sizeof(*s));
    cm_buf_init(&s->lines, LINES_MAX);
    cm_buf_init(&s->auth, LINES_MAX);
    for (size_t i = 0; i < EDGE_SIGN_MEMO_SLOTS; i++)
        cm_buf_init(&s->memo[i].lines, LINES_MAX);
}

void edge__signer_dispose(edge_signer_t *s)
{
    edge__creds_unref(s->creds);
    s->creds = NULL;
    for (size_t i = 0; i < EDGE_MAX_UPSTREAMS; i++)
        cm_sigv4_key_clear(&s->keys[i]);
    cm_buf_dispose(&s->lines);
    cm_buf_dispose(&s->auth);
    for (size_t i = 0; i < EDGE_SIGN_MEMO_SLOTS; i++)
        cm_buf_dispose(&s->memo[i].lines);
}

/* Writes the memo key of a request ("METHOD TARGET HOST HASH|-") into key; returns its length, or 0 when it does
 * not fit (such a request is signed every time). */
static size_t memo_key(char *key, const char *method, size_t method_len, const char *target, size_t target_len,
                       const char *host, size_t host_len, const char *body_hash)
{
    size_t hl = body_hash != NULL ? CM_SIGV4_HEX_LEN : 1;
    size_t n = method_len + target_len + host_len + hl + 3;
    if (n > EDGE_SIGN_MEMO_KEY_MAX)
        return 0;
    char *p = key;
    memcpy(p, method, method_len);
    p += method_len;
    *p++ = ' ';
    memcpy(p, target, target_len);
    p += target_len;
    *p++ = ' ';
    memcpy(p, host, host_len);
    p += host_len;
    *p++ = ' ';
    memcpy(p, body_hash != NULL ? body_hash : "-", hl);
    return n;
}

static size_t memo_slot(const char *key, size_t n, size_t idx)
{
    uint32_t h = 2166136261u ^ (uint32_t)idx; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)key[i]) * 16777619u;
    return h % EDGE_SIGN_MEMO_SLOTS;
}

/* Makes s->creds the source's current valid set. Returns 0, or CM_ENOENT with why. */
static int current(edge_signer_t *s, edge_creds_src_t *src, time_t now, char *why, size_t whylen)
{
    unsigned v = atomic_load_explicit(&src->version, memory_order_acquire);
    if (s->creds != NULL && v == s->version && edge__creds_valid(s->creds, now))
        return 0;
    edge__creds_unref(s->creds);
    s->creds = edge__creds_get(src, now, why, whylen);
    s->version = v;
    memset(s->key_version, 0, sizeof(s->key_version));
    return s->creds != NULL ? 0 : CM_ENOENT;
}

int edge__sign(edge_signer_t *s, edge_creds_src_t *src, const edge_upstream_conf_t *u, size_t idx, const char *method,
               size_t method_len, const char *target, size_t target_len, const char *host, size_t host_len,
               const char *body_hash, time_t now, const cm_buf_t **lines, char *why, size_t whylen)
{
    int err = current(s, src, now, why, whylen);
    if (err != 0)
        return err;
    edge_creds_t *c = s->creds;
    /* x-amz-date changes once a second: formatted then, not per request */
    if (now != s->date_of) {
        cm_sigv4_amz_date(now, s->date);
        s->date_of = now;
    }
    const char *date = s->date;
    cm_sigv4_key_t *key = &s->keys[idx];
    /* a reload may give this index another region or service; the day turns at midnight UTC */
    if (s->key_version[idx] != s->version + 1 || !cm_sigv4_key_fresh(key, date) ||
        strcmp(key->region, u->sign_region) != 0 || strcmp(key->service, u->sign_service) != 0) {
        err = cm_sigv4_key_derive(key, c->secret, strlen(c->secret), date, u->sign_region, u->sign_service);
        if (err != 0) {
            snprintf(why, whylen, "signing key: %s", cm_strerror(err));
            return err;
        }
        s->key_version[idx] = s->version + 1;
        s->serial = s->serial + 1 != 0 ? s->serial + 1 : 1;
        s->key_serial[idx] = s->serial;
    }
    char mk[EDGE_SIGN_MEMO_KEY_MAX];
    size_t mk_len = memo_key(mk, method, method_len, target, target_len, host, host_len, body_hash);
    edge_sign_memo_t *m = mk_len != 0 ? &s->memo[memo_slot(mk, mk_len, idx)] : NULL;
    if (m != NULL && m->key_serial == s->key_serial[idx] && m->second == now && m->idx == idx && m->key_len == mk_len &&
        memcmp(m->key, mk, mk_len) == 0) {
        *lines = &m->lines;
        return 0;
    }
    const char *q = memchr(target, '?', target_len);
    cm_sigv4_header_t h[4];
    size_t n = 0;
    h[n++] = (cm_sigv4_header_t){"host", 4, host, host_len};
    if (body_hash != NULL)
        h[n++] = (cm_sigv4_header_t){"x-amz-content-sha256", 20, body_hash, CM_SIGV4_HEX_LEN};
    h[n++] = (cm_sigv4_header_t){"x-amz-date", 10, date, CM_SIGV4_AMZ_DATE_LEN};
    if (c->token != NULL)
        h[n++] = (cm_sigv4_header_t){"x-amz-security-token", 20, c->token, strlen(c->token)};
    cm_sigv4_request_t req = {.method = method,
                              .method_len = method_len,
                              .path = target,
                              .path_len = q != NULL ? (size_t)(q - target) : target_len,
                              .query = q != NULL ? q + 1 : "",
                              .query_len = q != NULL ? target_len - (size_t)(q - target) - 1 : 0,
                              .headers = h,
                              .nheaders = n,
                              .payload_hash = body_hash != NULL ? body_hash : CM_SIGV4_EMPTY_SHA256};
    cm_buf_reset(&s->auth);
    cm_buf_reset(&s->lines);
    err = cm_sigv4_sign(&s->auth, &req, key, c->key_id, strlen(c->key_id), date);
    /* plain appends: formatting a 1 KB token through vsnprintf showed as a third of a signature's cost */
    size_t tl = c->token != NULL ? strlen(c->token) : 0;
    if (err == 0)
        err = cm_buf_reserve(&s->lines, 160 + tl + CM_SIGV4_HEX_LEN + s->auth.len);
    if (err == 0) {
        cm_buf_append(&s->lines, "x-amz-date: ", 12);
        cm_buf_append(&s->lines, date, CM_SIGV4_AMZ_DATE_LEN);
        if (c->token != NULL) {
            cm_buf_append(&s->lines, "\r\nx-amz-security-token: ", 24);
            cm_buf_append(&s->lines, c->token, tl);
        }
        if (body_hash != NULL) {
            cm_buf_append(&s->lines, "\r\nx-amz-content-sha256: ", 24);
            cm_buf_append(&s->lines, body_hash, CM_SIGV4_HEX_LEN);
        }
        cm_buf_append(&s->lines, "\r\nauthorization: ", 17);
        cm_buf_append(&s->lines, s->auth.base, s->auth.len);
        cm_buf_append(&s->lines, "\r\n", 2);
    }
    if (err != 0) {
        snprintf(why, whylen, "signing: %s", cm_strerror(err));
        return err;
    }
    *lines = &s->lines;
    if (m != NULL) { /* the slot's buffer keeps its allocation: a hit and a store allocate nothing once warm */
        m->key_serial = 0;
        cm_buf_reset(&m->lines);
        if (cm_buf_append(&m->lines, s->lines.base, s->lines.len) == 0) {
            m->key_serial = s->key_serial[idx];
            m->second = now;
            m->idx = idx;
            m->key_len = mk_len;
            memcpy(m->key, mk, mk_len);
        }
    }
    return 0;
}
