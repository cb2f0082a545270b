/*
 * edge_signer: the credentials' document parser and refresh schedule (creds.c), and the per-thread signer
 * (sign.c): what it signs verifies with common/sigv4's verifier, the memo returns the same lines only for the
 * same request in the same second under the same credentials, a rotation is picked up, and without valid
 * credentials nothing is signed.
 */
#include "creds.h"
#include "sign.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1796547600 /* 2026-12-06T09:00:00Z */

struct parse_case {
    const char *name, *json;
    int want_err;
    const char *want_key, *want_token;
    time_t want_expires;
};

static void test_parse(void)
{
    static const struct parse_case cases[] = {
        {"IMDS's document",
         "{\"Code\":\"Success\",\"LastUpdated\":\"x\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAX\","
         "\"SecretAccessKey\":\"s/+\",\"Token\":\"t==\",\"Expiration\":\"2026-12-06T09:00:00Z\"}",
         0, "ASIAX", "t==", NOW},
        {"long-term keys", "{\"AccessKeyId\":\"AKIAX\",\"SecretAccessKey\":\"s\"}", 0, "AKIAX", NULL, 0},
        {"not JSON", "AccessKeyId=x", CM_EINVAL, NULL, NULL, 0},
        {"an array", "[]", CM_EINVAL, NULL, NULL, 0},
        {"no secret", "{\"AccessKeyId\":\"AKIAX\"}", CM_EINVAL, NULL, NULL, 0},
        {"empty key id", "{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"s\"}", CM_EINVAL, NULL, NULL, 0},
        {"IMDS's failure code",
         "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\"}", CM_EINVAL, NULL,
         NULL, 0},
        {"expiration not ISO", "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Expiration\":\"tomorrow\"}",
         CM_EINVAL, NULL, NULL, 0},
        {"a token that would split the request",
         "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Token\":\"a\\r\\nx: y\"}", CM_EINVAL, NULL, NULL, 0},
        {"a key id with a '/'", "{\"AccessKeyId\":\"A/B\",\"SecretAccessKey\":\"s\"}", CM_EINVAL, NULL, NULL, 0},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        const struct parse_case *c = &cases[i];
        edge_creds_t *cr = NULL;
        char why[300] = "";
        int err = edge__creds_parse(c->json, strlen(c->json), &cr, why, sizeof(why));
        CHECK(err == c->want_err, "parse %s: err %d want %d (%s)", c->name, err, c->want_err, why);
        if (err == 0 && cr != NULL) {
            CHECK(strcmp(cr->key_id, c->want_key) == 0 &&
                      (c->want_token == NULL ? cr->token == NULL
                                             : cr->token != NULL && strcmp(cr->token, c->want_token) == 0) &&
                      cr->expires == c->want_expires,
                  "parse %s: got %s %s %lld", c->name, cr->key_id, cr->token ? cr->token : "(none)",
                  (long long)cr->expires);
        }
        if (err != 0)
            CHECK(cr == NULL && why[0] != '\0', "parse %s: a failure says why and returns nothing", c->name);
        edge__creds_unref(cr);
    }
}

struct refresh_case {
    const char *name;
    time_t expires_in; /* from NOW; 0: no expiry */
    time_t want_in;
};

static void test_refresh(void)
{
    static const struct refresh_case cases[] = {
        {"no expiry: every 30 min", 0, 30 * 60},
        {"6 h left: every 30 min", 6 * 3600, 30 * 60},
        {"20 min left: 15 min before expiry", 20 * 60, 5 * 60},
        {"within the lead: soon, not in a loop", 10 * 60, EDGE_CREDS_RETRY_S},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        edge_creds_t c = {.expires = cases[i].expires_in != 0 ? NOW + cases[i].expires_in : 0};
        time_t got = edge__creds_next_refresh(&c, NOW) - NOW;
        CHECK(got == cases[i].want_in, "refresh %s: in %lld s, want %lld", cases[i].name, (long long)got,
              (long long)cases[i].want_in);
    }
}

static void publish(edge_creds_src_t *src, const char *key, const char *secret, const char *token, time_t expires)
{
    char json[512], exp[64] = "";
    if (expires != 0) {
        struct tm tm;
        gmtime_r(&expires, &tm);
        strftime(exp, sizeof(exp), ",\"Expiration\":\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
    }
    snprintf(json, sizeof(json), "{\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\",\"Token\":\"%s\"%s}", key, secret,
             token, exp);
    edge_creds_t *c = NULL;
    char why[300];
    CHECK(edge__creds_parse(json, strlen(json), &c, why, sizeof(why)) == 0, "publish: %s", why);
    edge__creds_publish(src, c);
}

struct verify_ctx {
    const char *key, *secret, *token;
};

static int lookup(void *ctx, const char *key_id, size_t len, const char **secret, const char **token)
{
    const struct verify_ctx *v = ctx;
    if (strlen(v->key) != len || memcmp(v->key, key_id, len) != 0)
        return -1;
    *secret = v->secret;
    *token = v->token;
    return 0;
}

/* Verifies a GET of target to host carrying the signer's lines, at now. */
static cm_sigv4_verdict_t verify_lines(const char *lines, const char *target, const char *host, time_t now,
                                       const struct verify_ctx *vc)
{
    cm_sigv4_header_t h[8];
    size_t n = 0;
    h[n++] = (cm_sigv4_header_t){"host", 4, host, strlen(host)};
    for (const char *p = lines; *p != '\0' && n < 8;) {
        const char *colon = strchr(p, ':'), *eol = strstr(p, "\r\n");
        if (colon == NULL || eol == NULL || colon > eol)
            break;
        h[n++] = (cm_sigv4_header_t){p, (size_t)(colon - p), colon + 2, (size_t)(eol - colon - 2)};
        p = eol + 2;
    }
    const char *q = strchr(target, '?');
    cm_sigv4_request_t r = {.method = "GET",
                            .method_len = 3,
                            .path = target,
                            .path_len = q != NULL ? (size_t)(q - target) : strlen(target),
                            .query = q != NULL ? q + 1 : "",
                            .query_len = q != NULL ? strlen(q + 1) : 0,
                            .headers = h,
                            .nheaders = n,
                            .payload_hash = CM_SIGV4_EMPTY_SHA256};
    cm_sigv4_verifier_t v = {.region = "eu-west-1", .service = "lambda", .lookup = lookup, .ctx = (void *)vc};
    cm_sigv4_verdict_t verdict = CM_SIGV4_MALFORMED;
    CHECK(cm_sigv4_verify(&v, &r, now, &verdict) == 0, "verify failed");
    return verdict;
}

static int sign(edge_signer_t *s, edge_creds_src_t *src, const char *target, time_t now, char *copy, size_t cap)
{
    static edge_upstream_conf_t u = {
        .name = "abc.lambda-url.eu-west-1.on.aws", .sign_service = "lambda", .sign_region = "eu-west-1"};
    const cm_buf_t *lines = NULL;
    char why[400];
    int err = edge__sign(s, src, &u, 0, "GET", 3, target, strlen(target), u.name, strlen(u.name), NULL, now, &lines,
                         why, sizeof(why));
    if (err == 0)
        snprintf(copy, cap, "%s", lines->base);
    else
        snprintf(copy, cap, "%s", why);
    return err;
}

static void test_signer(void)
{
    edge_creds_src_t src;
    edge__creds_src_init(&src);
    edge_signer_t s;
    edge__signer_init(&s);
    char a[4096], b[4096], why[400];
    const char *host = "abc.lambda-url.eu-west-1.on.aws";
    time_t now = time(NULL);

    CHECK(sign(&s, &src, "/a.js", now, a, sizeof(a)) == CM_ENOENT && strstr(a, "no valid AWS credentials") != NULL,
          "nothing published: %s", a);
    CHECK(!edge__creds_settled(&src), "not settled before the first fetch");
    edge__creds_failed(&src, "IMDS: connection failure");
    CHECK(edge__creds_settled(&src) && edge__creds_get(&src, now, why, sizeof(why)) == NULL &&
              strcmp(why, "no valid AWS credentials: IMDS: connection failure") == 0,
          "a failed fetch: %s", why);

    publish(&src, "ASIAONE", "secret-1", "token-1", now + 3600);
    struct verify_ctx one = {"ASIAONE", "secret-1", "token-1"}, two = {"ASIATWO", "secret-2", "token-2"};
    CHECK(sign(&s, &src, "/acct/a%20b.js?x=1&y=%2F", now, a, sizeof(a)) == 0, "sign: %s", a);
    CHECK(verify_lines(a, "/acct/a%20b.js?x=1&y=%2F", host, now, &one) == CM_SIGV4_VALID, "signed: %s", a);
    CHECK(strstr(a, "x-amz-security-token: token-1\r\n") != NULL && strstr(a, "x-amz-content-sha256") == NULL,
          "lines: %s", a);
    /* the memo: the same request in the same second, the same lines; anything else, signed anew */
    CHECK(sign(&s, &src, "/acct/a%20b.js?x=1&y=%2F", now, b, sizeof(b)) == 0 && strcmp(a, b) == 0, "memo hit");
    CHECK(sign(&s, &src, "/acct/a%20b.js?x=2&y=%2F", now, b, sizeof(b)) == 0 && strcmp(a, b) != 0, "other query");
    CHECK(sign(&s, &src, "/acct/a%20b.js?x=1&y=%2F", now + 1, b, sizeof(b)) == 0 && strcmp(a, b) != 0 &&
              verify_lines(b, "/acct/a%20b.js?x=1&y=%2F", host, now + 1, &one) == CM_SIGV4_VALID,
          "next second: %s", b);
    /* rotation: the next request signs with the new set, memo or not */
    publish(&src, "ASIATWO", "secret-2", "token-2", now + 3600);
    CHECK(sign(&s, &src, "/acct/a%20b.js?x=1&y=%2F", now, b, sizeof(b)) == 0 && strstr(b, "Credential=ASIATWO/") &&
              verify_lines(b, "/acct/a%20b.js?x=1&y=%2F", host, now, &two) == CM_SIGV4_VALID,
          "rotated: %s", b);
    /* expiring within the margin: refused, not signed with credentials about to be rejected */
    publish(&src, "ASIATHREE", "secret-3", "token-3", now + EDGE_CREDS_MARGIN_S - 1);
    CHECK(sign(&s, &src, "/a.js", now, b, sizeof(b)) == CM_ENOENT && strstr(b, "ASIATHREE expired") != NULL,
          "about to expire: %s", b);
    edge__signer_dispose(&s);
    edge__creds_src_dispose(&src);
}

int main(void)
{
    test_parse();
    test_refresh();
    test_signer();
    return check_done("edge_signer");
}
