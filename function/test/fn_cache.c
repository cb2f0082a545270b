/* Unit tests of cache.c: find, claim (reuse, free slot, LRU eviction), drop, and the byte cap. */
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "function/cache.h"

static fn_cache_t cache;

int main(void)
{
    fn_cache_init(&cache, 1000);
    CHECK(fn_cache_find(&cache, "a/b") == NULL, "empty cache finds nothing");
    fn_cache_entry_t *e = fn_cache_claim(&cache, "a/b");
    CHECK(e != NULL && strcmp(e->key, "a/b") == 0 && e->config.len == 0, "claim keys an empty slot");
    cm_buf_append(&e->config_json, "script", 6);
    e->config.len = 3;
    memcpy(e->config.tag, "v:1", 3);
    CHECK(fn_cache_find(&cache, "a/b") == e, "found");
    CHECK(fn_cache_claim(&cache, "a/b") == e && e->config_json.len == 0 && e->config.len == 0,
          "re-claim empties in place");
    fn_cache_drop(&cache, e);
    CHECK(fn_cache_find(&cache, "a/b") == NULL && e->config_json.base == NULL, "drop frees");

    /* Fill every slot; the least recently used goes first. */
    char key[32];
    for (int i = 0; i < FN_CACHE_ENTRIES; i++) {
        snprintf(key, sizeof(key), "k/%d", i);
        fn_cache_claim(&cache, key);
    }
    fn_cache_find(&cache, "k/0"); /* now k/1 is the oldest */
    e = fn_cache_claim(&cache, "new/one");
    CHECK(fn_cache_find(&cache, "k/1") == NULL && fn_cache_find(&cache, "k/0") != NULL, "LRU evicted");
    CHECK(fn_cache_find(&cache, "new/one") == e, "the new key lives");

    /* Byte cap: bodies over max_bytes evict older entries, never the one kept. */
    fn_cache_entry_t *x = fn_cache_claim(&cache, "big/x");
    char blob[600];
    memset(blob, 'x', sizeof(blob));
    cm_buf_append(&x->config_json, blob, sizeof(blob));
    fn_cache_trim(&cache, x);
    fn_cache_entry_t *y = fn_cache_claim(&cache, "big/y");
    cm_buf_append(&y->config_json, blob, sizeof(blob));
    fn_cache_trim(&cache, y);
    CHECK(fn_cache_find(&cache, "big/y") == y && fn_cache_find(&cache, "big/x") == NULL, "over the cap: x evicted");
    fn_cache_entry_t *z = fn_cache_claim(&cache, "big/z");
    cm_buf_append(&z->config_json, blob, sizeof(blob));
    cm_buf_append(&z->config_json, blob, sizeof(blob));
    fn_cache_trim(&cache, z);
    CHECK(fn_cache_find(&cache, "big/z") == z, "the kept entry survives even alone over the cap");
    fn_cache_dispose(&cache);
    return check_done("fn_cache");
}
