/*
 * sigv4_tool: common/sigv4 from the command line, for tests in other languages (common/test/sigv4_botocore.py
 * compares it with botocore). Reads one request on stdin:
 *     METHOD TARGET\n  (TARGET = path[?query], as on the wire)
 *     Name: value\n    (any number)
 *     \n
 *     body             (the rest, any bytes)
 * sign KEY_ID SECRET REGION SERVICE: signs with every header given (so x-amz-date must be among them) and
 *     prints the canonical request, a line "----", and the Authorization value.
 * verify KEY_ID SECRET TOKEN|- REGION SERVICE NOW: prints the verdict's name (VALID, MISMATCH, ...).
 * Exit: 0 done (whatever the verdict), 2 usage or unreadable request, 1 the library failed.
 */
#include "common/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADERS 64

struct creds {
    const char *key_id, *secret, *token;
};

static int lookup(void *ctx, const char *key_id, size_t len, const char **secret, const char **token)
{
    const struct creds *c = ctx;
    if (strlen(c->key_id) != len || memcmp(c->key_id, key_id, len) != 0)
        return -1;
    *secret = c->secret;
    *token = c->token;
    return 0;
}

int main(int argc, char **argv)
{
    int sign = argc == 6 && strcmp(argv[1], "sign") == 0, verify = argc == 8 && strcmp(argv[1], "verify") == 0;
    if (!sign && !verify) {
        fprintf(stderr, "usage: sigv4_tool sign KEY_ID SECRET REGION SERVICE < request\n"
                        "       sigv4_tool verify KEY_ID SECRET TOKEN|- REGION SERVICE NOW < request\n");
        return 2;
    }
    cm_buf_t in, out, creq, sh;
    cm_buf_init(&in, 1 << 20);
    cm_buf_init(&out, 1 << 16);
    cm_buf_init(&creq, 1 << 20);
    cm_buf_init(&sh, 1 << 16);
    int rc = 2;
    char chunk[4096];
    for (size_t n = fread(chunk, 1, sizeof(chunk), stdin); n > 0; n = fread(chunk, 1, sizeof(chunk), stdin))
        if (cm_buf_append(&in, chunk, n) != 0)
            goto done;
    if (in.base == NULL)
        goto done;
    cm_sigv4_header_t h[MAX_HEADERS];
    cm_sigv4_request_t req = {0};
    char *p = in.base, *end = in.base + in.len;
    char *eol = memchr(p, '\n', (size_t)(end - p)), *sp = memchr(p, ' ', (size_t)(end - p));
    if (eol == NULL || sp == NULL || sp > eol)
        goto done;
    req.method = p, req.method_len = (size_t)(sp - p);
    char *target = sp + 1, *q = memchr(target, '?', (size_t)(eol - target));
    req.path = target, req.path_len = (size_t)((q != NULL ? q : eol) - target);
    if (q != NULL)
        req.query = q + 1, req.query_len = (size_t)(eol - q - 1);
    p = eol + 1;
    while (p < end && *p != '\n') {
        eol = memchr(p, '\n', (size_t)(end - p));
        char *colon = eol != NULL ? memchr(p, ':', (size_t)(eol - p)) : NULL;
        if (colon == NULL || req.nheaders == MAX_HEADERS)
            goto done;
        h[req.nheaders++] = (cm_sigv4_header_t){p, (size_t)(colon - p), colon + 1, (size_t)(eol - colon - 1)};
        p = eol + 1;
    }
    if (p >= end)
        goto done;
    p++; /* the blank line */
    char hash[CM_SIGV4_HEX_LEN + 1];
    cm_sigv4_sha256_hex(p, (size_t)(end - p), hash);
    req.headers = h;
    req.payload_hash = hash;
    rc = 1;
    if (sign) {
        const cm_sigv4_header_t *date = NULL;
        for (size_t i = 0; i < req.nheaders; i++)
            if (h[i].name_len == 10 && strncasecmp(h[i].name, "x-amz-date", 10) == 0)
                date = &h[i];
        if (date == NULL || date->value_len < CM_SIGV4_AMZ_DATE_LEN + 1) {
            fprintf(stderr, "sigv4_tool: sign needs an x-amz-date header\n");
            rc = 2;
            goto done;
        }
        char amz_date[CM_SIGV4_AMZ_DATE_LEN + 1];
        memcpy(amz_date, date->value + date->value_len - CM_SIGV4_AMZ_DATE_LEN, CM_SIGV4_AMZ_DATE_LEN);
        amz_date[CM_SIGV4_AMZ_DATE_LEN] = '\0';
        cm_sigv4_key_t key;
        cm_sigv4_key_init(&key);
        int err = cm_sigv4_canonical_request(&creq, &sh, &req);
        if (err == 0)
            err = cm_sigv4_key_derive(&key, argv[3], strlen(argv[3]), amz_date, argv[4], argv[5]);
        if (err == 0)
            err = cm_sigv4_sign(&out, &req, &key, argv[2], strlen(argv[2]), amz_date);
        cm_sigv4_key_clear(&key);
        if (err != 0) {
            fprintf(stderr, "sigv4_tool: sign: %s\n", cm_strerror(err));
            goto done;
        }
        printf("%s\n----\n%s\n", creq.base, out.base);
    } else {
        struct creds c = {argv[2], argv[3], strcmp(argv[4], "-") == 0 ? NULL : argv[4]};
        cm_sigv4_verifier_t v = {.region = argv[5], .service = argv[6], .lookup = lookup, .ctx = &c};
        cm_sigv4_verdict_t verdict;
        int err = cm_sigv4_verify(&v, &req, (time_t)strtoll(argv[7], NULL, 10), &verdict);
        if (err != 0) {
            fprintf(stderr, "sigv4_tool: verify: %s\n", cm_strerror(err));
            goto done;
        }
        printf("%s\n", cm_sigv4_verdict_name(verdict));
    }
    rc = 0;
done:
    if (rc == 2)
        fprintf(stderr, "sigv4_tool: request on stdin not 'METHOD TARGET' + header lines + blank line + body\n");
    cm_buf_dispose(&in);
    cm_buf_dispose(&out);
    cm_buf_dispose(&creq);
    cm_buf_dispose(&sh);
    return rc;
}
