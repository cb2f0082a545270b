/*
 * function/cache.h: the warm instance's memory: per account script, its config piece (loader.h), its ETags
 * and (each made on first demand) the bodies as they go into an answer: the script as a JSON string
 * literal, and its gzip as a base64 JSON string literal; keyed by the versions of the two sources.
 * An entry is used only when both versions still equal the store's current ones, so it is never stale.
 * Bounded: FN_CACHE_ENTRIES entries and max_bytes of bodies; least recently used goes first.
 */
#ifndef NEARJS_FUNCTION_CACHE_H
#define NEARJS_FUNCTION_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include "common/buf.h"
#include "function/encode.h"
#include "function/path.h"
#include "function/store.h"

#define FN_CACHE_ENTRIES 128
#define FN_CACHE_KEY_MAX (FN_ID_MAX * 2 + 2)
/* Cap of a body literal: Lambda's buffered payload limit (6 MB as Lambda counts it). */
#define FN_CACHE_BODY_MAX 6291556

typedef struct fn_cache_entry {
    char key[FN_CACHE_KEY_MAX]; /* "account/file"; "" for a free slot */
    fn_version_t loader;        /* versions of the sources the script was rendered from */
    fn_version_t config;
    cm_buf_t config_json;       /* the config, script-safe: the script is the loader around it (loader.h) */
    char etag[FN_ETAG_SIZE];    /* of the identity representation */
    char etag_gz[FN_ETAG_SIZE]; /* of the gzip representation */
    cm_buf_t script_json;       /* the script as a JSON string literal; empty until first asked */
    cm_buf_t gzip_json;         /* base64 of its gzip as a JSON string literal; empty until first asked */
    uint64_t used;              /* LRU clock value */
} fn_cache_entry_t;

typedef struct fn_cache {
    fn_cache_entry_t entries[FN_CACHE_ENTRIES];
    size_t max_bytes;
    uint64_t clock;
} fn_cache_t;

/* Prepares an empty cache holding at most max_bytes of bodies. Allocates nothing. */
void fn_cache_init(fn_cache_t *c, size_t max_bytes);

/* Frees every entry. */
void fn_cache_dispose(fn_cache_t *c);

/* Returns the entry for key (borrowed, marked as just used), or NULL. */
fn_cache_entry_t *fn_cache_find(fn_cache_t *c, const char *key);

/*
 * Returns a slot for key (borrowed): its existing entry, else a free slot, else the least recently
 * used one; the slot is emptied (bodies cleared, versions unset) and keyed. Never NULL.
 */
fn_cache_entry_t *fn_cache_claim(fn_cache_t *c, const char *key);

/* Empties the entry and frees its slot (after the source disappeared or failed to render). */
void fn_cache_drop(fn_cache_t *c, fn_cache_entry_t *e);

/* Frees least recently used entries other than keep until the bodies fit max_bytes. */
void fn_cache_trim(fn_cache_t *c, const fn_cache_entry_t *keep);

#endif
