/*
 * store_internal.h: what a store backend implements (one file per scheme: store_file.c, store_s3.c).
 * A backend provides get, get_all, or both; store.c makes the missing one from the other.
 * Shared between the files of function/ only.
 */
#ifndef NEARJS_FUNCTION_STORE_INTERNAL_H
#define NEARJS_FUNCTION_STORE_INTERNAL_H

#include "function/store.h"

#define FN__CAUSE_MAX FN_STORE_CAUSE_MAX

typedef struct fn__store_ops {
    /* Same contract as fn_store_get; sets s->cause on CM_ESTORE and CM_ETOOBIG. NULL: get_all of one. */
    int (*get)(fn_store_t *s, const char *key, const fn_version_t *have, cm_buf_t *body, fn_version_t *now);
    /* Same contract as fn_store_get_all (causes cleared by the caller). NULL: get, one after another. */
    void (*get_all)(fn_store_t *s, fn_store_req_t *reqs, size_t n);
    void (*free)(fn_store_t *s);
} fn__store_ops_t;

/* The base every backend's struct starts with. */
struct fn_store {
    const fn__store_ops_t *ops;
    char *url;
    char cause[FN__CAUSE_MAX];
};

/* Opens a folder store at an absolute path (the part of a file:// URL after the scheme). */
int fn__store_file_open(const char *url, const char *path, fn_store_t **out);

/* For tests: makes a folder store resolve keys with its openat(O_NOFOLLOW) walk, as on a kernel without
 * openat2. */
void fn__store_file_walk_only(fn_store_t *s);

/* Opens an S3 store; rest is the URL after "s3://" (bucket[/prefix]). Reads AWS_* and NEARJS_S3_* variables. */
int fn__store_s3_open(const char *url, const char *rest, fn_store_t **out);

#endif
