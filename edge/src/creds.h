/*
 * AWS credentials for signing (creds.c, creds_thread.c): the instance role's, from IMDSv2, refreshed in the
 * background well before they expire; never fetched on a request's path. A request reads the current set
 * (edge_creds_t, immutable, refcounted) from the source; the refresher publishes a new set in its place.
 * Test only: credentials_file (config) replaces IMDS by a JSON file, and NEARJS_EDGE_IMDS the address of IMDS.
 */
#ifndef NEARJS_EDGE_CREDS_H
#define NEARJS_EDGE_CREDS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

/* Credentials closer than this to their expiry are not used: a request signed now may arrive later. */
#define EDGE_CREDS_MARGIN_S 60
/* The refresher fetches new credentials this long before the current ones expire (IMDS hands out new ones
 * at least 5 minutes before; the SDKs refresh 5-15 minutes before). */
#define EDGE_CREDS_REFRESH_LEAD_S (15 * 60)
/* ... and at least this often, expiry or not. */
#define EDGE_CREDS_REFRESH_MAX_S (30 * 60)
/* After a failed fetch, the next try. */
#define EDGE_CREDS_RETRY_S 5
/* The environment variable that points the refresher at another IMDS (tests): "http://HOST:PORT". */
#define EDGE_CREDS_IMDS_ENV "NEARJS_EDGE_IMDS"

/* One set of credentials. Immutable once published; strings owned. */
typedef struct edge_creds {
    atomic_int refs;
    char *key_id;
    char *secret;
    char *token;    /* NULL: long-term keys (no x-amz-security-token) */
    time_t expires; /* 0: no expiry given */
} edge_creds_t;

/* Where requests find the current credentials. One per server; thread-safe. */
typedef struct edge_creds_src {
    pthread_mutex_t mutex;
    edge_creds_t *cur;   /* guarded; NULL before the first fetch */
    char why[400];       /* guarded: why the last fetch failed ("" when it did not) */
    atomic_uint version; /* bumped by every publish: a reader holding a set compares it to know it is current */
    atomic_int settled;  /* the first fetch has ended (either way): before, no verdict on an upstream */
} edge_creds_src_t;

void edge__creds_src_init(edge_creds_src_t *s);
void edge__creds_src_dispose(edge_creds_src_t *s);
/* Replaces the current set by c (ownership moves in) and clears the failure reason. */
void edge__creds_publish(edge_creds_src_t *s, edge_creds_t *c);
/* Records why a fetch failed (the current set, if any, stays while it is valid). */
void edge__creds_failed(edge_creds_src_t *s, const char *why);
/* Returns a new reference to the current set when it is valid at now (not within EDGE_CREDS_MARGIN_S of its
 * expiry), else NULL with why (not NULL) set to one line saying why there are none. */
edge_creds_t *edge__creds_get(edge_creds_src_t *s, time_t now, char *why, size_t whylen);
/* Non-zero once the first fetch has ended, successful or not: until then a signing upstream is neither judged
 * down for want of credentials nor sent anything. */
int edge__creds_settled(edge_creds_src_t *s);
/* Non-zero when c is usable at now. */
int edge__creds_valid(const edge_creds_t *c, time_t now);
/* Drops a reference (NULL: no-op); the last frees. Thread-safe. */
void edge__creds_unref(edge_creds_t *c);

/* Parses IMDS's credentials document (also the credentials file's format):
 *     {"AccessKeyId": "...", "SecretAccessKey": "...", "Token": "...", "Expiration": "2026-12-06T09:00:00Z"}
 * ("Token" and "Expiration" optional; "Code", when present, must be "Success"). Returns 0 and a new set with
 * one reference in *out, or CM_EINVAL with why set, or CM_ENOMEM. */
int edge__creds_parse(const char *json, size_t len, edge_creds_t **out, char *why, size_t whylen);

/* When the refresher should fetch next after getting c at now (seconds since the epoch). */
time_t edge__creds_next_refresh(const edge_creds_t *c, time_t now);

#endif
