/*
 * Function URL AWS_IAM checks (see furl_auth.h): the request as common/sigv4.h wants it (every header as
 * received, Host from the authority when HTTP/2 carried it as :authority, the hash of the body received),
 * one known key, and the signer as Lambda's event names it.
 */
#include "furl_auth.h"
#include "common/sigv4.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct lookup_ctx {
    const nl__serve_args_t *a;
} lookup_ctx_t;

/* The one principal of --iam: its secret, and its session token when it has one. */
static int lookup(void *ctx, const char *key_id, size_t len, const char **secret, const char **token)
{
    const nl__serve_args_t *a = ((lookup_ctx_t *)ctx)->a;
    if (strlen(a->iam_key) != len || memcmp(a->iam_key, key_id, len) != 0)
        return -1;
    *secret = a->iam_secret;
    *token = a->iam_token;
    return 0;
}

/* The signer's ids as IAM gives them for a role session (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION):
 * the account from the ARN, callerId and userId "<role id>:<session>", the role id made from the key. */
static void fill_signer(const nl__serve_args_t *a, nl__furl_signer_t *s)
{
    memset(s, 0, sizeof(*s));
    const char *arn = a->iam_principal;
    /* arn:partition:service:region:account:resource */
    const char *p = arn;
    for (int i = 0; i < 4 && p != NULL; i++) {
        p = strchr(p, ':');
        if (p != NULL)
            p++;
    }
    const char *end = p != NULL ? strchr(p, ':') : NULL;
    snprintf(s->account, sizeof(s->account), "%.*s", end != NULL ? (int)(end - p) : 0, end != NULL ? p : "");
    const char *session = strrchr(arn, '/');
    snprintf(s->caller, sizeof(s->caller), "AROA%.17s:%.100s", a->iam_key + 4, session != NULL ? session + 1 : "local");
    s->iam = (nl_apigw_iam_t){.access_key = a->iam_key,
                              .account_id = s->account,
                              .caller_id = s->caller,
                              .user_arn = arn,
                              .user_id = s->caller};
}

const char *nl__furl_auth(const nl__serve_args_t *a, const char *region, h2o_req_t *req, time_t now,
                          nl__furl_signer_t *signer, char *buf, size_t size)
{
    cm_sigv4_header_t *hs = h2o_mem_alloc_pool(&req->pool, sizeof(*hs) * (req->headers.size + 1));
    size_t n = 0;
    int has_host = 0;
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        has_host |= h->name->len == 4 && strncasecmp(h->name->base, "host", 4) == 0;
        hs[n++] = (cm_sigv4_header_t){h->name->base, h->name->len, h->value.base, h->value.len};
    }
    if (!has_host && req->input.authority.len > 0)
        hs[n++] = (cm_sigv4_header_t){"host", 4, req->input.authority.base, req->input.authority.len};
    char payload_hash[CM_SIGV4_HEX_LEN + 1];
    cm_sigv4_sha256_hex(req->entity.base != NULL ? req->entity.base : "",
                        req->entity.base != NULL ? req->entity.len : 0, payload_hash);
    size_t path_len = req->input.query_at != SIZE_MAX ? req->input.query_at : req->input.path.len;
    cm_sigv4_request_t sr = {
        .method = req->input.method.base,
        .method_len = req->input.method.len,
        .path = req->input.path.base,
        .path_len = path_len,
        .query = req->input.query_at != SIZE_MAX ? req->input.path.base + req->input.query_at + 1 : "",
        .query_len = req->input.query_at != SIZE_MAX ? req->input.path.len - req->input.query_at - 1 : 0,
        .headers = hs,
        .nheaders = n,
        .payload_hash = payload_hash,
    };
    lookup_ctx_t ctx = {a};
    cm_sigv4_verifier_t v = {.region = region, .service = "lambda", .lookup = lookup, .ctx = &ctx};
    cm_sigv4_verdict_t verdict = CM_SIGV4_MALFORMED;
    int rc = cm_sigv4_verify(&v, &sr, now, &verdict);
    if (rc != 0 && rc != CM_ETOOBIG) {
        snprintf(buf, size, "cannot check the signature: %s", cm_strerror(rc));
        return buf;
    }
    if (verdict != CM_SIGV4_VALID) {
        snprintf(buf, size, "%s (%s)", cm_sigv4_verdict_str(verdict), cm_sigv4_verdict_name(verdict));
        return buf;
    }
    fill_signer(a, signer);
    return NULL;
}
