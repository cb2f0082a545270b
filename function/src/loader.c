/*
 * loader.c: the loader's per-version pieces (see loader.h). Invariant: the pieces (json_ready,
 * gz_ready) always belong to the current text; fn_loader_set drops them before anything else.
 * A valid loader is UTF-8 with the placeholder; config pieces come from jansson (pure ASCII), so
 * every literal written here is jansson's escaping of valid UTF-8, split at ASCII bytes.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include <zlib.h>
#include "answer.h"
#include "common/error.h"
#include "function/loader.h"
#include "function/render.h"

#define PLACEHOLDER_LEN (sizeof(FN_PLACEHOLDER) - 1)

void fn_loader_init(fn_loader_t *l)
{
    memset(l, 0, sizeof(*l));
    cm_buf_init(&l->text, FN_OBJECT_MAX);
    /* Escaped, a byte may take up to 6 (\u0001): Lambda's payload limit is the real bound. */
    cm_buf_init(&l->head_json, 6 * FN_OBJECT_MAX + 2);
    cm_buf_init(&l->tail_json, 6 * FN_OBJECT_MAX + 2);
    cm_buf_init(&l->head_gz, FN_OBJECT_MAX + FN_OBJECT_MAX / 8);
    cm_buf_init(&l->tail_gz, FN_OBJECT_MAX + FN_OBJECT_MAX / 8);
    cm_buf_init(&l->tmp, 6 * FN_SCRIPT_MAX + 2);
}

static void forget_pieces(fn_loader_t *l)
{
    cm_buf_reset(&l->head_json);
    cm_buf_reset(&l->tail_json);
    cm_buf_reset(&l->head_gz);
    cm_buf_reset(&l->tail_gz);
    l->json_ready = 0;
    l->gz_ready = 0;
}

void fn_loader_dispose(fn_loader_t *l)
{
    cm_buf_dispose(&l->text);
    cm_buf_dispose(&l->head_json);
    cm_buf_dispose(&l->tail_json);
    cm_buf_dispose(&l->head_gz);
    cm_buf_dispose(&l->tail_gz);
    cm_buf_dispose(&l->tmp);
    l->valid = 0;
    l->json_ready = 0;
    l->gz_ready = 0;
}

int fn_loader_set(fn_loader_t *l, cm_buf_t *bytes)
{
    forget_pieces(l);
    l->valid = 0;
    l->why[0] = '\0';
    cm_buf_swap(&l->text, bytes);
    int err = fn_loader_check(l->text.base, l->text.len, &l->head, l->why, sizeof(l->why));
    if (err != 0)
        return err;
    unsigned int mdlen = 0;
    if (EVP_Digest(l->text.base, l->text.len, l->digest, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return CM_ECRYPTO;
    l->valid = 1;
    return 0;
}

size_t fn_loader_script_len(const fn_loader_t *l, size_t config_len)
{
    return l->text.len - PLACEHOLDER_LEN + config_len;
}

int fn_loader_etag(const fn_loader_t *l, const char *config_json, size_t len, char etag[FN_ETAG_SIZE])
{
    etag[0] = '\0';
    if (!l->valid)
        return CM_EINVAL;
    if (fn_loader_script_len(l, len) > FN_SCRIPT_MAX)
        return CM_ETOOBIG;
    /* The placeholder offset goes in too: it tells where the config sits in the script. */
    uint64_t head = l->head;
    const fn_span_t parts[] = {
        {l->digest, sizeof(l->digest)},
        {&head, sizeof(head)},
        {config_json != NULL ? config_json : "", len},
    };
    return fn_etagv(parts, sizeof(parts) / sizeof(parts[0]), etag);
}

int fn_loader_render(const fn_loader_t *l, const char *config, size_t len, cm_buf_t *config_json,
                     char etag[FN_ETAG_SIZE], char *why, size_t whylen)
{
    etag[0] = '\0';
    cm_buf_reset(config_json);
    if (!l->valid)
        return CM_EINVAL;
    int err = fn_json_for_script(config != NULL ? config : "", len, config_json, why, whylen);
    if (err == 0)
        err = fn_loader_etag(l, config_json->base, config_json->len, etag);
    if (err == CM_ETOOBIG && why != NULL && whylen > 0)
        snprintf(why, whylen, "rendered script larger than its cap");
    if (err != 0)
        cm_buf_reset(config_json);
    return err;
}

/* Appends a literal's inside (without its quotes). */
static int append_inner(cm_buf_t *out, const cm_buf_t *literal)
{
    return cm_buf_append(out, literal->base + 1, literal->len - 2);
}

int fn_loader_script_json(fn_loader_t *l, const char *config_json, size_t len, cm_buf_t *out)
{
    if (!l->valid)
        return CM_EINVAL;
    if (!l->json_ready) {
        const char *tail = l->text.base + l->head + PLACEHOLDER_LEN;
        int err = fn__json_string(l->text.base, l->head, &l->head_json);
        if (err == 0)
            err = fn__json_string(tail, l->text.len - l->head - PLACEHOLDER_LEN, &l->tail_json);
        if (err != 0) {
            forget_pieces(l);
            return err;
        }
        l->json_ready = 1;
    }
    cm_buf_reset(&l->tmp);
    int err = fn__json_string(config_json != NULL ? config_json : "", len, &l->tmp);
    if (err != 0)
        return err;
    /* One reservation, so the appends below cannot fail and out is never left half written. */
    err = cm_buf_reserve(out, l->head_json.len + l->tmp.len + l->tail_json.len - 4);
    if (err != 0)
        return err;
    /* The head's opening quote opens the literal, the tail's closing quote closes it. */
    cm_buf_append(out, l->head_json.base, l->head_json.len - 1);
    append_inner(out, &l->tmp);
    cm_buf_append(out, l->tail_json.base + 1, l->tail_json.len - 1);
    return 0;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

int fn_loader_gzip_json(fn_loader_t *l, const char *config_json, size_t len, cm_buf_t *gz, cm_buf_t *out)
{
    if (!l->valid)
        return CM_EINVAL;
    const unsigned char *text = (const unsigned char *)l->text.base;
    size_t tail_off = l->head + PLACEHOLDER_LEN, tail_len = l->text.len - tail_off;
    if (!l->gz_ready) {
        int err = fn_deflate_piece(text, l->head, FN_GZIP_LEVEL, 0, &l->head_gz);
        if (err == 0)
            err = fn_deflate_piece(text + tail_off, tail_len, FN_GZIP_LEVEL, 1, &l->tail_gz);
        if (err != 0) {
            forget_pieces(l);
            return err;
        }
        l->head_crc = (uint32_t)crc32(0L, text, (uInt)l->head);
        l->tail_crc = (uint32_t)crc32(0L, text + tail_off, (uInt)tail_len);
        l->gz_ready = 1;
    }
    if (config_json == NULL)
        config_json = "";
    /* RFC 1952 header: deflate, no flags, no mtime (the bytes depend on the content only), OS unknown. */
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    cm_buf_reset(gz);
    int err = cm_buf_append(gz, header, sizeof(header));
    if (err == 0)
        err = cm_buf_append(gz, l->head_gz.base, l->head_gz.len);
    if (err == 0)
        err = fn_deflate_piece(config_json, len, FN_GZIP_LEVEL, 0, gz);
    if (err == 0)
        err = cm_buf_append(gz, l->tail_gz.base, l->tail_gz.len);
    if (err != 0)
        return err;
    uLong crc = crc32_combine(l->head_crc, crc32(0L, (const Bytef *)config_json, (uInt)len), (z_off_t)len);
    crc = crc32_combine(crc, l->tail_crc, (z_off_t)tail_len);
    unsigned char trailer[8];
    put_le32(trailer, (uint32_t)crc);
    put_le32(trailer + 4, (uint32_t)fn_loader_script_len(l, len)); /* ISIZE: the length mod 2^32 */
    err = cm_buf_append(gz, trailer, sizeof(trailer));
    if (err != 0)
        return err;
    return fn__json_base64(gz->base, gz->len, out);
}
