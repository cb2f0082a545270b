/*
 * function/loader.h: the shared loader, prepared once per version so that a changed config costs work
 * in proportion to the config, not to the script. A script is head + config + tail, where head and tail
 * are the loader's bytes around its placeholder; every derived form of a script is made by
 * concatenating per-loader pieces (made once, on first demand) with the config's own piece:
 *   - ETag: SHA-256 of (SHA-256 of the loader, placeholder offset, script-safe config JSON): a function
 *     of the script's bytes, as a strong validator must be (different bytes, different tag);
 *   - identity body: the JSON string literal "<head escaped><config escaped><tail escaped>" (JSON
 *     escaping is per character, and both cuts are at ASCII bytes, so the pieces concatenate);
 *   - gzip body: a gzip member whose deflate stream is head (sync-flushed) + config (sync-flushed) +
 *     tail (final), each piece compressed on its own (pigz's way), CRC-32s joined by crc32_combine.
 * Not thread-safe (one per handler).
 */
#ifndef NEARJS_FUNCTION_LOADER_H
#define NEARJS_FUNCTION_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include "common/buf.h"
#include "function/encode.h"

typedef struct fn_loader {
    cm_buf_t text;            /* the loader's bytes (any content, valid or not) */
    int valid;                /* 1 when text passed fn_loader_check */
    char why[256];            /* why not valid */
    size_t head;              /* placeholder offset; tail starts at head + strlen(FN_PLACEHOLDER) */
    unsigned char digest[32]; /* SHA-256 of text */
    cm_buf_t head_json;       /* JSON literals (quotes included) of head and tail; empty until first asked */
    cm_buf_t tail_json;
    int json_ready;
    cm_buf_t head_gz; /* raw deflate pieces of head (sync-flushed) and tail (final) */
    cm_buf_t tail_gz;
    uint32_t head_crc, tail_crc;
    int gz_ready;
    cm_buf_t tmp; /* the config's piece on its way into an answer body */
} fn_loader_t;

/* Prepares an empty, invalid loader. Allocates nothing. */
void fn_loader_init(fn_loader_t *l);

/* Frees everything; l is empty and invalid afterwards. */
void fn_loader_dispose(fn_loader_t *l);

/*
 * Takes the loader's new bytes: swaps bytes into l (bytes gets the old buffer, to reuse), forgets every
 * derived piece, checks the text (fn_loader_check) and hashes it. Returns 0 (l->valid 1), CM_ECONTENT
 * (l->valid 0, l->why says why), or CM_ECRYPTO (l->valid 0).
 */
int fn_loader_set(fn_loader_t *l, cm_buf_t *bytes);

/*
 * Renders the config's piece: config_json (cleared first) gets len bytes of config JSON made script-safe
 * (fn_json_for_script), etag the script's ETag. Returns 0, CM_EINVAL (loader not valid), CM_ECONTENT (why
 * as fn_json_for_script), CM_ETOOBIG (the script would exceed FN_SCRIPT_MAX), CM_ENOMEM or CM_ECRYPTO.
 */
int fn_loader_render(const fn_loader_t *l, const char *config, size_t len, cm_buf_t *config_json,
                     char etag[FN_ETAG_SIZE], char *why, size_t whylen);

/*
 * Computes into etag the ETag of the script made from this loader around a config piece that
 * fn_loader_render made, under this loader or another one (the piece does not depend on the loader):
 * how a script follows a loader change without re-reading its config. Returns 0, CM_EINVAL (loader not
 * valid), CM_ETOOBIG (the script would exceed FN_SCRIPT_MAX) or CM_ECRYPTO; etag is "" on failure.
 */
int fn_loader_etag(const fn_loader_t *l, const char *config_json, size_t len, char etag[FN_ETAG_SIZE]);

/* Returns the length of the script made from this loader and a config piece of config_len bytes. */
size_t fn_loader_script_len(const fn_loader_t *l, size_t config_len);

/*
 * Appends to out the script (head + config_json + tail) as a JSON string literal. Returns 0, CM_EINVAL,
 * CM_ETOOBIG or CM_ENOMEM; on failure out is unchanged.
 */
int fn_loader_script_json(fn_loader_t *l, const char *config_json, size_t len, cm_buf_t *out);

/*
 * Appends to out the script's gzip encoding as a base64 JSON string literal (gz is a scratch buffer for
 * the gzip bytes, cleared first). Returns 0, CM_EINVAL, CM_ETOOBIG, CM_ENOMEM or CM_EZLIB; on failure
 * out is unchanged.
 */
int fn_loader_gzip_json(fn_loader_t *l, const char *config_json, size_t len, cm_buf_t *gz, cm_buf_t *out);

#endif
