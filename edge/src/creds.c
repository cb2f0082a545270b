/*
 * The credentials source (creds.h): the current set behind a mutex, swapped whole by the refresher, plus the
 * parser of IMDS's credentials document (jansson). Readers take a reference, so a set replaced under a
 * request stays valid for that request. Invariant: a published set has a key id and a secret.
 */
#include "creds.h"
#include "common/error.h"

#include <jansson.h>
#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void edge__creds_src_init(edge_creds_src_t *s)
{
    pthread_mutex_init(&s->mutex, NULL);
    s->cur = NULL;
    snprintf(s->why, sizeof(s->why), "the first fetch is under way");
    atomic_init(&s->version, 0);
    atomic_init(&s->settled, 0);
}

void edge__creds_src_dispose(edge_creds_src_t *s)
{
    edge__creds_unref(s->cur);
    s->cur = NULL;
    pthread_mutex_destroy(&s->mutex);
}

static void creds_free(edge_creds_t *c)
{
    if (c->secret != NULL)
        OPENSSL_cleanse(c->secret, strlen(c->secret));
    free(c->key_id);
    free(c->secret);
    free(c->token);
    free(c);
}

void edge__creds_unref(edge_creds_t *c)
{
    if (c != NULL && atomic_fetch_sub(&c->refs, 1) == 1)
        creds_free(c);
}

void edge__creds_publish(edge_creds_src_t *s, edge_creds_t *c)
{
    pthread_mutex_lock(&s->mutex);
    edge_creds_t *old = s->cur;
    s->cur = c;
    s->why[0] = '\0';
    atomic_fetch_add(&s->version, 1);
    atomic_store(&s->settled, 1);
    pthread_mutex_unlock(&s->mutex);
    edge__creds_unref(old);
}

void edge__creds_failed(edge_creds_src_t *s, const char *why)
{
    pthread_mutex_lock(&s->mutex);
    snprintf(s->why, sizeof(s->why), "%s", why);
    atomic_store(&s->settled, 1);
    pthread_mutex_unlock(&s->mutex);
}

int edge__creds_settled(edge_creds_src_t *s)
{
    return atomic_load(&s->settled);
}

int edge__creds_valid(const edge_creds_t *c, time_t now)
{
    return c != NULL && (c->expires == 0 || now + EDGE_CREDS_MARGIN_S < c->expires);
}

edge_creds_t *edge__creds_get(edge_creds_src_t *s, time_t now, char *why, size_t whylen)
{
    pthread_mutex_lock(&s->mutex);
    edge_creds_t *c = s->cur;
    if (edge__creds_valid(c, now)) {
        atomic_fetch_add(&c->refs, 1);
    } else {
        if (c != NULL)
            snprintf(why, whylen, "no valid AWS credentials: those of key %.40s expired%s%s", c->key_id,
                     s->why[0] != '\0' ? " and the refresh failed: " : "", s->why);
        else
            snprintf(why, whylen, "no valid AWS credentials: %s", s->why);
        c = NULL;
    }
    pthread_mutex_unlock(&s->mutex);
    return c;
}

/* A value that goes into a header line: printable ASCII only (no CR/LF to split the request with), and for a
 * key id none of the separators of the Authorization header. */
static int header_safe(const char *s, int key_id)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 32 || c >= 127 || (key_id && (c == '/' || c == ',')))
            return 0;
    }
    return 1;
}

/* "2026-12-06T09:00:00Z" (IMDS's form) into *t. Returns 0 or -1. */
static int parse_expiration(const char *s, time_t *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL || strcmp(end, "Z") != 0)
        return -1;
    time_t r = timegm(&tm);
    if (r == (time_t)-1)
        return -1;
    *t = r;
    return 0;
}

int edge__creds_parse(const char *json, size_t len, edge_creds_t **out, char *why, size_t whylen)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    edge_creds_t *c = NULL;
    int rc = CM_EINVAL;
    if (root == NULL || !json_is_object(root)) {
        snprintf(why, whylen, "credentials are not a JSON object%s%s", root == NULL ? ": " : "",
                 root == NULL ? jerr.text : "");
        goto done;
    }
    const char *code = json_string_value(json_object_get(root, "Code"));
    const char *key = json_string_value(json_object_get(root, "AccessKeyId"));
    const char *secret = json_string_value(json_object_get(root, "SecretAccessKey"));
    const char *token = json_string_value(json_object_get(root, "Token"));
    const char *exp = json_string_value(json_object_get(root, "Expiration"));
    if (code != NULL && strcmp(code, "Success") != 0) {
        snprintf(why, whylen, "credentials document says Code '%.60s'", code);
        goto done;
    }
    if (key == NULL || key[0] == '\0' || secret == NULL || secret[0] == '\0') {
        snprintf(why, whylen, "credentials lack AccessKeyId or SecretAccessKey (strings)");
        goto done;
    }
    if (!header_safe(key, 1) || (token != NULL && !header_safe(token, 0))) {
        snprintf(why, whylen, "credentials' AccessKeyId or Token holds spaces, control or non-ASCII bytes");
        goto done;
    }
    time_t expires = 0;
    if (exp != NULL && parse_expiration(exp, &expires) != 0) {
        snprintf(why, whylen, "credentials' Expiration '%.40s' is not YYYY-MM-DDTHH:MM:SSZ", exp);
        goto done;
    }
    rc = CM_ENOMEM;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto done;
    atomic_init(&c->refs, 1);
    c->key_id = strdup(key);
    c->secret = strdup(secret);
    c->token = token != NULL && token[0] != '\0' ? strdup(token) : NULL;
    c->expires = expires;
    if (c->key_id == NULL || c->secret == NULL || (token != NULL && token[0] != '\0' && c->token == NULL)) {
        snprintf(why, whylen, "out of memory");
        creds_free(c);
        c = NULL;
        goto done;
    }
    rc = 0;
done:
    json_decref(root);
    *out = c;
    return rc;
}

time_t edge__creds_next_refresh(const edge_creds_t *c, time_t now)
{
    if (c->expires == 0)
        return now + EDGE_CREDS_REFRESH_MAX_S;
    time_t at = c->expires - EDGE_CREDS_REFRESH_LEAD_S;
    if (at > now + EDGE_CREDS_REFRESH_MAX_S)
        at = now + EDGE_CREDS_REFRESH_MAX_S;
    /* short-lived ones (or IMDS still handing out the old set close to its end): ask again soon, not in a loop */
    if (at < now + EDGE_CREDS_RETRY_S)
        at = now + EDGE_CREDS_RETRY_S;
    return at;
}
