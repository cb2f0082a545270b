/*
 * function/store.h: where content lives, behind one operation: a conditional get. The caller passes
 * the version it holds; the store answers "unchanged" cheaply or returns the bytes and their version.
 * file:///abs/path: a folder of plain files and folders (no links followed); a version is dev, inode,
 * size, mtime and ctime (one stat() per check).
 * s3://bucket/prefix: a version is the object's ETag, checked by GET with If-None-Match (store_s3.c).
 * Several gets can go as one batch (fn_store_get_all): S3 issues them concurrently, so a request that
 * revalidates two objects waits one round trip, not two.
 * Keys are relative paths built from validated ids only (e.g. "accounts/acme/main.json").
 */
#ifndef NEARJS_FUNCTION_STORE_H
#define NEARJS_FUNCTION_STORE_H

#include <stddef.h>
#include "common/buf.h"

/* An opaque version of an object; len 0 means "none" and never equals anything (not even itself). */
#define FN_VERSION_MAX 128
typedef struct fn_version {
    size_t len;
    char tag[FN_VERSION_MAX];
} fn_version_t;

/* Returns 1 when both versions are set and equal, else 0. */
int fn_version_eq(const fn_version_t *a, const fn_version_t *b);

typedef struct fn_store fn_store_t;

/*
 * Opens the store named by url. Returns 0 and a new store in *out (caller frees with fn_store_free),
 * CM_ESCHEME for an unknown scheme or a malformed URL, CM_ESTORE when a folder is missing (not a
 * directory), CM_ESTORECONFIG for S3 without a region, CM_ENOCURL for S3 when libcurl.so.4 cannot be loaded
 * (it is loaded on the first S3 open, never for a folder), or CM_ENOMEM. Does not touch *out on failure.
 * Opening does no I/O for S3: an unreachable bucket shows as CM_ESTORE from fn_store_get.
 */
int fn_store_open(const char *url, fn_store_t **out);

/* Closes the store; NULL is a no-op. */
void fn_store_free(fn_store_t *s);

/* Returns the URL the store was opened with (borrowed, lives as long as the store). */
const char *fn_store_url(const fn_store_t *s);

/*
 * Returns the cause of the last CM_ESTORE or CM_ETOOBIG from fn_store_get (borrowed, overwritten by the next
 * call), e.g. "open accounts/a/b.json: Permission denied". "" when none. fn_store_get_all leaves it
 * unspecified (each of its gets has its own).
 */
const char *fn_store_cause(const fn_store_t *s);

/*
 * Gets the object at key. If have (may be NULL) equals the current version: returns CM_ENOTMODIFIED and
 * touches nothing. Else clears body, fills it with the object's bytes (capped by body->max), sets *now
 * and returns 0. Other returns: CM_ENOENT, CM_ESTORE (see fn_store_cause), CM_ETOOBIG, CM_ENOMEM;
 * on those body and now are unspecified. CM_ENOENT has a cause too when something other than an
 * object is in its place (folder store: a folder, FIFO, device or symbolic link), for the log.
 * A folder store never opens anything outside its folder and follows no symbolic link under it, and
 * never returns a read that a write in place tore (it reads again, then fails with CM_ESTORE).
 * Never stale: the version returned is never newer than the bytes, so a change made while reading is
 * seen on the next call. A version may be withheld (len 0) when it cannot be trusted yet.
 */
int fn_store_get(fn_store_t *s, const char *key, const fn_version_t *have, cm_buf_t *body, fn_version_t *now);

#define FN_STORE_CAUSE_MAX 256
/* Gets a store runs at once in fn_store_get_all (the S3 store's transfer handles); more are done in turns. */
#define FN_STORE_PARALLEL 2

/* One get of a batch: fn_store_get's arguments and its outcome. */
typedef struct fn_store_req {
    const char *key;                /* in: the object's key (borrowed) */
    const fn_version_t *have;       /* in: the version held, or NULL (borrowed) */
    cm_buf_t *body;                 /* in: where the bytes go (borrowed; one buffer per get of a batch) */
    int err;                        /* out: what fn_store_get would return for this get */
    fn_version_t now;               /* out, when err is 0: the version of the bytes in body */
    char cause[FN_STORE_CAUSE_MAX]; /* out: with CM_ESTORE, CM_ETOOBIG (or CM_ENOENT), as fn_store_cause */
} fn_store_req_t;

/*
 * Does the n gets of reqs, each with fn_store_get's contract, and sets each one's err, now and cause; one
 * failing does not stop the others. The S3 store issues them concurrently (FN_STORE_PARALLEL at a time),
 * each bounded by its own timeout, so the batch waits about as long as its slowest get; the folder store
 * does them in order. Cannot fail as a whole: every outcome is in its request.
 */
void fn_store_get_all(fn_store_t *s, fn_store_req_t *reqs, size_t n);

#endif
