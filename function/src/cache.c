/*
 * cache.c: a fixed table of FN_CACHE_ENTRIES slots, searched linearly (a few hundred short string
 * compares cost less than hashing would save at this size). Bodies live in capped cm_buf_t's.
 * Invariant: a slot with key "" holds no bytes and unset versions.
 */
#include <stdio.h>
#include <string.h>
#include "function/cache.h"
#include "function/render.h"

static void empty(fn_cache_entry_t *e)
{
    cm_buf_reset(&e->config_json);
    cm_buf_reset(&e->script_json);
    cm_buf_reset(&e->gzip_json);
    e->loader.len = 0;
    e->config.len = 0;
    e->etag[0] = '\0';
    e->etag_gz[0] = '\0';
}

void fn_cache_init(fn_cache_t *c, size_t max_bytes)
{
    memset(c, 0, sizeof(*c));
    c->max_bytes = max_bytes;
    for (size_t i = 0; i < FN_CACHE_ENTRIES; i++) {
        cm_buf_init(&c->entries[i].config_json, FN_SCRIPT_MAX);
        /* Escaped, a script may grow up to 6 bytes a byte (\u0001): Lambda's 6 MB payload is the real bound. */
        cm_buf_init(&c->entries[i].script_json, FN_CACHE_BODY_MAX);
        /* base64 of gzip: gzip adds at most a few bytes per 16 KB, base64 a third; 3/2 bounds both. */
        cm_buf_init(&c->entries[i].gzip_json, FN_SCRIPT_MAX / 2 * 3);
    }
}

void fn_cache_dispose(fn_cache_t *c)
{
    for (size_t i = 0; i < FN_CACHE_ENTRIES; i++) {
        cm_buf_dispose(&c->entries[i].config_json);
        cm_buf_dispose(&c->entries[i].script_json);
        cm_buf_dispose(&c->entries[i].gzip_json);
        c->entries[i].key[0] = '\0';
    }
}

fn_cache_entry_t *fn_cache_find(fn_cache_t *c, const char *key)
{
    for (size_t i = 0; i < FN_CACHE_ENTRIES; i++) {
        fn_cache_entry_t *e = &c->entries[i];
        if (e->key[0] != '\0' && strcmp(e->key, key) == 0) {
            e->used = ++c->clock;
            return e;
        }
    }
    return NULL;
}

fn_cache_entry_t *fn_cache_claim(fn_cache_t *c, const char *key)
{
    fn_cache_entry_t *e = fn_cache_find(c, key);
    if (e == NULL) {
        /* A free slot if there is one (used 0), else the least recently used. */
        e = &c->entries[0];
        for (size_t i = 1; i < FN_CACHE_ENTRIES && e->key[0] != '\0'; i++)
            if (c->entries[i].key[0] == '\0' || c->entries[i].used < e->used)
                e = &c->entries[i];
    }
    empty(e);
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->used = ++c->clock;
    return e;
}

void fn_cache_drop(fn_cache_t *c, fn_cache_entry_t *e)
{
    (void)c;
    empty(e);
    /* Free the memory too: a dropped account may never come back. */
    cm_buf_dispose(&e->config_json);
    cm_buf_dispose(&e->script_json);
    cm_buf_dispose(&e->gzip_json);
    e->key[0] = '\0';
    e->used = 0;
}

static size_t bytes(const fn_cache_t *c)
{
    size_t n = 0;
    for (size_t i = 0; i < FN_CACHE_ENTRIES; i++)
        n += c->entries[i].config_json.alloc + c->entries[i].script_json.alloc + c->entries[i].gzip_json.alloc;
    return n;
}

void fn_cache_trim(fn_cache_t *c, const fn_cache_entry_t *keep)
{
    while (bytes(c) > c->max_bytes) {
        fn_cache_entry_t *lru = NULL;
        for (size_t i = 0; i < FN_CACHE_ENTRIES; i++) {
            fn_cache_entry_t *e = &c->entries[i];
            if (e != keep && e->key[0] != '\0' && (lru == NULL || e->used < lru->used))
                lru = e;
        }
        if (lru == NULL)
            return;
        fn_cache_drop(c, lru);
    }
}
