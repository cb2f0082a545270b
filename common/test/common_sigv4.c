/*
 * Table-driven tests of common/sigv4: known answers from AWS's published SigV4 test suite (its requests and
 * expected signatures typed in as data: key AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1, service
 * "service"), canonical paths and queries with bytes that need encoding, and every verdict of the verifier.
 * botocore's signer is compared in common/test/sigv4_botocore.py.
 */
#include "common/sigv4.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUITE_KEY "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_DATE "20150830T123600Z"
#define SUITE_TOKEN                                                                                                    \
    "AQoDYXdzEPT//////////"                                                                                            \
    "wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwth"                     \
    "Ax7mSEI/qkPpKPi/"                                                                                                 \
    "kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAk"                \
    "iY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
#define UNRESERVED "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define VANILLA "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"

#define MAXH 8

/* headers: "Name:value\n" lines besides Host and X-Amz-Date (which every case has). */
struct suite_case {
    const char *name, *method, *target, *headers, *body, *want_signed, *want_sig;
};

static const struct suite_case suite[] = {
    {"get-vanilla", "GET", "/", "", "", "host;x-amz-date", VANILLA},
    {"get-relative", "GET", "/example/..", "", "", "host;x-amz-date", VANILLA},
    {"get-relative-relative", "GET", "/example1/example2/../..", "", "", "host;x-amz-date", VANILLA},
    {"get-slash", "GET", "//", "", "", "host;x-amz-date", VANILLA},
    {"get-slash-dot-slash", "GET", "/./", "", "", "host;x-amz-date", VANILLA},
    {"get-unreserved", "GET", "/" UNRESERVED, "", "", "host;x-amz-date",
     "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
    {"get-utf8", "GET", "/\xe1\x88\xb4", "", "", "host;x-amz-date",
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
    {"get-space", "GET", "/example space/", "", "", "host;x-amz-date",
     "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
    {"get-vanilla-empty-query-key", "GET", "/?Param1=value1", "", "", "host;x-amz-date",
     "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
    {"get-vanilla-query-order-key-case", "GET", "/?Param2=value2&Param1=value1", "", "", "host;x-amz-date",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    {"get-vanilla-query-unreserved", "GET", "/?" UNRESERVED "=" UNRESERVED, "", "", "host;x-amz-date",
     "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
    {"get-vanilla-utf8-query", "GET", "/?\xe1\x88\xb4=bar", "", "", "host;x-amz-date",
     "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
    /* the same, percent-encoded on the wire: the query is decoded before it is encoded again */
    {"get-vanilla-utf8-query (encoded)", "GET", "/?%E1%88%B4=bar", "", "", "host;x-amz-date",
     "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
    {"get-header-key-duplicate", "GET", "/", "My-Header1:value2\nMy-Header1:value2\nMy-Header1:value1\n", "",
     "host;my-header1;x-amz-date", "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
    {"get-header-value-order", "GET", "/",
     "My-Header1:value4\nMy-Header1:value1\nMy-Header1:value3\nMy-Header1:value2\n", "", "host;my-header1;x-amz-date",
     "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
    {"get-header-value-trim", "GET", "/", "My-Header1: value1\nMy-Header2: \"a   b   c\"\n", "",
     "host;my-header1;my-header2;x-amz-date", "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
    {"post-vanilla", "POST", "/", "", "", "host;x-amz-date",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    {"post-header-key-sort", "POST", "/", "My-Header1:value1\n", "", "host;my-header1;x-amz-date",
     "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
    {"post-header-value-case", "POST", "/", "My-Header1:VALUE1\n", "", "host;my-header1;x-amz-date",
     "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
    {"post-sts-header-before", "POST", "/", "X-Amz-Security-Token:" SUITE_TOKEN "\n", "",
     "host;x-amz-date;x-amz-security-token", "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
    {"post-vanilla-query", "POST", "/?Param1=value1", "", "", "host;x-amz-date",
     "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
    /* "@#$%^" = "" and "+" = "/,?><`\";:\\|][{}", percent-encoded on the wire */
    {"post-vanilla-query-nonunreserved", "POST", "/?%40%23%24%25%5E=&%2B=%2F%2C%3F%3E%3C%60%22%3B%3A%5C%7C%5D%5B%7B%7D",
     "", "", "host;x-amz-date", "66c82657c86e26fb25238d0e69f011edc4c6df5ae71119d7cb98ed9b87393c1e"},
    {"post-x-www-form-urlencoded", "POST", "/", "Content-Type:application/x-www-form-urlencoded\n", "Param1=value1",
     "content-type;host;x-amz-date", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
    {"post-x-www-form-urlencoded-parameters", "POST", "/",
     "Content-Type:application/x-www-form-urlencoded; charset=utf8\n", "Param1=value1", "content-type;host;x-amz-date",
     "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"},
};

/* Splits "Name:value\n..." into h[] after Host and X-Amz-Date; returns the count. */
static size_t headers(cm_sigv4_header_t *h, const char *lines, const char *date)
{
    size_t n = 0;
    h[n++] = (cm_sigv4_header_t){"Host", 4, "example.amazonaws.com", 21};
    h[n++] = (cm_sigv4_header_t){"X-Amz-Date", 10, date, strlen(date)};
    for (const char *p = lines; *p != '\0' && n < MAXH;) {
        const char *colon = strchr(p, ':'), *eol = strchr(p, '\n');
        h[n++] = (cm_sigv4_header_t){p, (size_t)(colon - p), colon + 1, (size_t)(eol - colon - 1)};
        p = eol + 1;
    }
    return n;
}

static void request(cm_sigv4_request_t *r, const char *method, const char *target, cm_sigv4_header_t *h, size_t nh,
                    const char *hash)
{
    const char *q = strchr(target, '?');
    *r = (cm_sigv4_request_t){.method = method,
                              .method_len = strlen(method),
                              .path = target,
                              .path_len = q != NULL ? (size_t)(q - target) : strlen(target),
                              .query = q != NULL ? q + 1 : "",
                              .query_len = q != NULL ? strlen(q + 1) : 0,
                              .headers = h,
                              .nheaders = nh,
                              .payload_hash = hash};
}

static void test_suite(void)
{
    cm_sigv4_key_t key;
    cm_sigv4_key_init(&key);
    CHECK(cm_sigv4_key_derive(&key, SUITE_SECRET, strlen(SUITE_SECRET), SUITE_DATE, "us-east-1", "service") == 0,
          "key derive");
    for (size_t i = 0; i < NCASES(suite); i++) {
        const struct suite_case *c = &suite[i];
        cm_sigv4_header_t h[MAXH];
        char hash[CM_SIGV4_HEX_LEN + 1];
        cm_sigv4_sha256_hex(c->body, strlen(c->body), hash);
        cm_sigv4_request_t r;
        request(&r, c->method, c->target, h, headers(h, c->headers, SUITE_DATE), hash);
        cm_buf_t auth;
        cm_buf_init(&auth, 4096);
        char want[512];
        snprintf(want, sizeof(want),
                 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=%s, "
                 "Signature=%s",
                 c->want_signed, c->want_sig);
        int err = cm_sigv4_sign(&auth, &r, &key, SUITE_KEY, strlen(SUITE_KEY), SUITE_DATE);
        CHECK(err == 0 && strcmp(auth.base, want) == 0, "suite %s: err=%d\n got %s\nwant %s", c->name, err,
              auth.base ? auth.base : "", want);
        cm_buf_dispose(&auth);
    }
    /* The string to sign of get-vanilla, as published. */
    cm_sigv4_header_t h[MAXH];
    cm_sigv4_request_t r;
    request(&r, "GET", "/", h, headers(h, "", SUITE_DATE), CM_SIGV4_EMPTY_SHA256);
    cm_buf_t creq, sts;
    cm_buf_init(&creq, 4096);
    cm_buf_init(&sts, 4096);
    CHECK(cm_sigv4_canonical_request(&creq, NULL, &r) == 0 &&
              strcmp(creq.base, "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-"
                                "date\n" CM_SIGV4_EMPTY_SHA256) == 0,
          "get-vanilla canonical request:\n%s", creq.base);
    CHECK(cm_sigv4_string_to_sign(&sts, SUITE_DATE, &key, creq.base, creq.len) == 0 &&
              strcmp(sts.base, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                               "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63") == 0,
          "get-vanilla string to sign:\n%s", sts.base);
    cm_buf_dispose(&creq);
    cm_buf_dispose(&sts);
    cm_sigv4_key_clear(&key);
}

struct canon_case {
    const char *in, *want;
};

static void test_canonical(void)
{
    static const struct canon_case paths[] = {
        {"", "/"},
        {"/", "/"},
        {"//a//b//", "/a/b/"},
        {"/a/./b/../c", "/a/c"},
        {"/a/b/..", "/a"},
        {"/../../x", "/x"},
        {"/acct/a%20b.js", "/acct/a%2520b.js"}, /* encoded again: a '%' on the wire is "%25" */
        {"/%2E%2E/x", "/%252E%252E/x"},         /* an encoded dot is not a dot segment */
        {"/a+b=c;d,e", "/a%2Bb%3Dc%3Bd%2Ce"},
        {"/\xc3\xa9t\xc3\xa9", "/%C3%A9t%C3%A9"},
        {"/" UNRESERVED "/", "/" UNRESERVED "/"},
        {"/a b\tc", "/a%20b%09c"},
    };
    for (size_t i = 0; i < NCASES(paths); i++) {
        cm_buf_t b;
        cm_buf_init(&b, 1024);
        int err = cm_sigv4_canonical_path(&b, paths[i].in, strlen(paths[i].in));
        CHECK(err == 0 && strcmp(b.base, paths[i].want) == 0, "path '%s': err=%d got '%s' want '%s'", paths[i].in, err,
              b.base ? b.base : "", paths[i].want);
        cm_buf_dispose(&b);
    }
    static const struct canon_case queries[] = {
        {"", ""},
        {"b=2&a=1&&a=0", "a=0&a=1&b=2"},
        {"flag", "flag="},
        {"k=a+b", "k=a%2Bb"},           /* '+' is a plus, not a space */
        {"k=a b", "k=a%20b"},           /* a raw space is encoded */
        {"x=a%20b%2fc", "x=a%20b%2Fc"}, /* hex made upper case */
        {"a=%zz&b=%4", "a=%25zz&b=%254"},
        {"a=1=2", "a=1%3D2"},
        {"a=b&A=a", "A=a&a=b"},       /* byte order: upper case first */
        {"a=b&a=a&a=", "a=&a=a&a=b"}, /* repeated names sort by value */
        {"%E1%88%B4=\xe1\x88\xb4", "%E1%88%B4=%E1%88%B4"},
        {"a-b=1&a=2", "a=2&a-b=1"}, /* sorted by encoded name: "a" before "a-b" */
    };
    for (size_t i = 0; i < NCASES(queries); i++) {
        cm_buf_t b;
        cm_buf_init(&b, 1024);
        int err = cm_sigv4_canonical_query(&b, queries[i].in, strlen(queries[i].in));
        CHECK(err == 0 && strcmp(b.base ? b.base : "", queries[i].want) == 0, "query '%s': err=%d got '%s' want '%s'",
              queries[i].in, err, b.base ? b.base : "", queries[i].want);
        cm_buf_dispose(&b);
    }
    /* Caps hold: a query that encodes past the buffer's cap fails, and says so. */
    cm_buf_t small;
    cm_buf_init(&small, 8);
    CHECK(cm_sigv4_canonical_query(&small, "a=%20%20%20%20", 14) == CM_ETOOBIG, "cap on the canonical query");
    cm_buf_dispose(&small);
    /* Wrong use: no method, a bad payload hash, a header name with a space. */
    cm_sigv4_header_t bad = {"My Header", 9, "x", 1};
    cm_sigv4_request_t r;
    cm_buf_t b;
    cm_buf_init(&b, 4096);
    request(&r, "", "/", NULL, 0, CM_SIGV4_EMPTY_SHA256);
    CHECK(cm_sigv4_canonical_request(&b, NULL, &r) == CM_EINVAL, "empty method");
    request(&r, "GET", "/", NULL, 0, "E3B0");
    CHECK(cm_sigv4_canonical_request(&b, NULL, &r) == CM_EINVAL, "short payload hash");
    request(&r, "GET", "/", &bad, 1, CM_SIGV4_EMPTY_SHA256);
    CHECK(cm_sigv4_canonical_request(&b, NULL, &r) == CM_EINVAL && b.len == 0, "bad header name");
    cm_buf_dispose(&b);
    cm_sigv4_key_t key;
    cm_sigv4_key_init(&key);
    CHECK(cm_sigv4_key_derive(&key, "s", 1, "2015083", "us-east-1", "lambda") == CM_EINVAL, "short date");
    CHECK(cm_sigv4_key_derive(&key, "s", 1, "20150830", "us/east", "lambda") == CM_EINVAL, "'/' in region");
    CHECK(cm_sigv4_key_derive(&key, "s", 1, "20150830", "us-east-1", "") == CM_EINVAL, "empty service");
    CHECK(cm_sigv4_key_derive(&key, "s", 1, "20150830", "us-east-1", "lambda") == 0 &&
              cm_sigv4_key_fresh(&key, "20150830T235959Z") && !cm_sigv4_key_fresh(&key, "20150831T000000Z"),
          "key freshness is per day");
    cm_buf_init(&b, 4096);
    request(&r, "GET", "/", NULL, 0, CM_SIGV4_EMPTY_SHA256);
    CHECK(cm_sigv4_sign(&b, &r, &key, "K", 1, "20150831T000000Z") == CM_EINVAL && b.len == 0,
          "signing with yesterday's key");
    cm_buf_dispose(&b);
    cm_sigv4_key_clear(&key);
}

static void test_dates(void)
{
    char d[CM_SIGV4_AMZ_DATE_LEN + 1];
    cm_sigv4_amz_date(1440938160, d);
    CHECK(strcmp(d, SUITE_DATE) == 0, "amz_date: %s", d);
    time_t t = 0;
    CHECK(cm_sigv4_parse_amz_date(SUITE_DATE, 16, &t) == 0 && t == 1440938160, "parse: %lld", (long long)t);
    static const char *const bad[] = {"20150830T123600",  "20150830 123600Z", "2015083aT123600Z",
                                      "20151330T123600Z", "20150830T243600Z", "20150830T123600z"};
    for (size_t i = 0; i < NCASES(bad); i++)
        CHECK(cm_sigv4_parse_amz_date(bad[i], strlen(bad[i]), &t) == CM_EINVAL, "parse accepted '%s'", bad[i]);
}

/* The verifier: one request signed as the edge signs (host, x-amz-content-sha256, x-amz-date,
 * x-amz-security-token), then changed one way per row. */
#define T0 1440938160
#define VKEY "AKIAEDGE"
#define VSECRET "edge-secret"
#define VTOKEN "edge-token"
#define BODY "{\"k\":1}"

enum change {
    NONE,
    NO_AUTH,
    GARBAGE_AUTH,
    LATE,
    EARLY,
    LATE_EDGE,
    OTHER_REGION,
    OTHER_SERVICE,
    OTHER_KEY,
    OTHER_SECRET,
    NO_TOKEN_SENT,
    OTHER_TOKEN,
    KEY_WITHOUT_TOKEN,
    DATE_UNSIGNED,
    TOKEN_UNSIGNED,
    EXTRA_SIGNED,
    PATH,
    QUERY,
    HOST,
    BODY_CHANGED,
    DATE_CHANGED,
    NO_DATE,
    LOWER_CASE_NAMES,
    UNSIGNED_EXTRA_HEADER,
};

struct verify_case {
    const char *name;
    enum change change;
    cm_sigv4_verdict_t want;
};

struct creds {
    const char *key, *secret, *token;
};

static int lookup(void *ctx, const char *key_id, size_t len, const char **secret, const char **token)
{
    const struct creds *c = ctx;
    if (strlen(c->key) != len || memcmp(c->key, key_id, len) != 0)
        return -1;
    *secret = c->secret;
    *token = c->token;
    return 0;
}

static void verify_one(const struct verify_case *c)
{
    char date[CM_SIGV4_AMZ_DATE_LEN + 1], hash[CM_SIGV4_HEX_LEN + 1];
    cm_sigv4_amz_date(T0, date);
    cm_sigv4_sha256_hex(BODY, strlen(BODY), hash);
    const char *secret = c->change == OTHER_SECRET ? "another" : VSECRET;
    cm_sigv4_header_t h[MAXH] = {
        {"host", 4, "abc.lambda-url.eu-west-1.on.aws", 31},
        {"x-amz-content-sha256", 20, hash, CM_SIGV4_HEX_LEN},
        {"x-amz-date", 10, date, CM_SIGV4_AMZ_DATE_LEN},
        {"x-amz-security-token", 20, VTOKEN, strlen(VTOKEN)},
    };
    size_t nh = 4;
    if (c->change == NO_TOKEN_SENT)
        nh = 3;
    if (c->change == DATE_UNSIGNED)
        h[2] = h[3], nh = 3;
    if (c->change == TOKEN_UNSIGNED)
        nh = 3;
    cm_sigv4_key_t key;
    cm_sigv4_key_init(&key);
    cm_sigv4_request_t r;
    request(&r, "POST", "/acct/f.js?a=1&b=x%20y", h, nh, hash);
    cm_buf_t auth;
    cm_buf_init(&auth, 4096);
    int err = cm_sigv4_key_derive(&key, secret, strlen(secret), date, "eu-west-1", "lambda");
    if (err == 0)
        err = cm_sigv4_sign(&auth, &r, &key, VKEY, strlen(VKEY), date);
    CHECK(err == 0, "verify %s: signing failed: %d", c->name, err);
    /* Now the request as it reaches the verifier. */
    char extra[64] = "";
    nh = c->change == NO_TOKEN_SENT ? 3 : 4;
    if (c->change == DATE_UNSIGNED)
        h[2] = (cm_sigv4_header_t){"x-amz-date", 10, date, CM_SIGV4_AMZ_DATE_LEN}, nh = 4;
    h[nh++] = (cm_sigv4_header_t){"Authorization", 13, auth.base, auth.len};
    const char *target = "/acct/f.js?a=1&b=x%20y", *body_hash = hash;
    char other_hash[CM_SIGV4_HEX_LEN + 1], later[CM_SIGV4_AMZ_DATE_LEN + 1];
    time_t now = T0 + 10;
    struct creds cr = {VKEY, VSECRET, VTOKEN};
    cm_sigv4_verifier_t v = {.region = "eu-west-1", .service = "lambda", .lookup = lookup, .ctx = &cr};
    switch (c->change) {
    case NO_AUTH:
        nh--;
        break;
    case GARBAGE_AUTH:
        h[nh - 1].value = "AWS4-HMAC-SHA256 Credential=x", h[nh - 1].value_len = 29;
        break;
    case LATE:
        now = T0 + 301;
        break;
    case EARLY:
        now = T0 - 301;
        break;
    case LATE_EDGE:
        now = T0 + 300;
        break;
    case OTHER_REGION:
        v.region = "us-east-1";
        break;
    case OTHER_SERVICE:
        v.service = "execute-api";
        break;
    case OTHER_KEY:
        cr.key = "AKIAOTHER";
        break;
    case KEY_WITHOUT_TOKEN:
        cr.token = NULL;
        break;
    case OTHER_TOKEN:
        cr.token = "not-edge-token";
        break;
    case EXTRA_SIGNED: {
        /* Claims a header it did not send: "...SignedHeaders=host;x-foo;..." */
        static char forged[1024];
        const char *sh = strstr(auth.base, "SignedHeaders=host;");
        int at = (int)(sh - auth.base) + 19;
        snprintf(forged, sizeof(forged), "%.*sx-foo;%s", at, auth.base, auth.base + at);
        h[nh - 1].value = forged, h[nh - 1].value_len = strlen(forged);
        break;
    }
    case PATH:
        target = "/acct/g.js?a=1&b=x%20y";
        break;
    case QUERY:
        target = "/acct/f.js?a=2&b=x%20y";
        break;
    case HOST:
        h[0].value = "xyz.lambda-url.eu-west-1.on.aws";
        break;
    case BODY_CHANGED:
        cm_sigv4_sha256_hex("{\"k\":2}", 7, other_hash);
        body_hash = other_hash;
        break;
    case DATE_CHANGED:
        cm_sigv4_amz_date(T0 + 5, later);
        h[2].value = later;
        break;
    case NO_DATE:
        h[2].name = "x-amz-datf";
        break;
    case LOWER_CASE_NAMES:
        h[0].name = "HOST", h[2].name = "X-Amz-Date";
        break;
    case UNSIGNED_EXTRA_HEADER:
        snprintf(extra, sizeof(extra), "whatever");
        h[nh++] = (cm_sigv4_header_t){"user-agent", 10, extra, strlen(extra)};
        break;
    default:
        break;
    }
    request(&r, "POST", target, h, nh, body_hash);
    cm_sigv4_verdict_t got = CM_SIGV4_VALID;
    err = cm_sigv4_verify(&v, &r, now, &got);
    CHECK(err == 0 && got == c->want, "verify %s: err=%d got %s want %s", c->name, err, cm_sigv4_verdict_name(got),
          cm_sigv4_verdict_name(c->want));
    cm_buf_dispose(&auth);
    cm_sigv4_key_clear(&key);
}

static void test_verify(void)
{
    static const struct verify_case cases[] = {
        {"as signed", NONE, CM_SIGV4_VALID},
        {"header names in another case", LOWER_CASE_NAMES, CM_SIGV4_VALID},
        {"an unsigned header added on the way", UNSIGNED_EXTRA_HEADER, CM_SIGV4_VALID},
        {"5 minutes late exactly", LATE_EDGE, CM_SIGV4_VALID},
        {"unsigned", NO_AUTH, CM_SIGV4_NO_AUTH},
        {"garbage authorization", GARBAGE_AUTH, CM_SIGV4_MALFORMED},
        {"no x-amz-date", NO_DATE, CM_SIGV4_NO_DATE},
        {"replayed after 5 minutes", LATE, CM_SIGV4_SKEW},
        {"clock 5 minutes ahead", EARLY, CM_SIGV4_SKEW},
        {"other region", OTHER_REGION, CM_SIGV4_SCOPE},
        {"other service", OTHER_SERVICE, CM_SIGV4_SCOPE},
        {"x-amz-date not signed", DATE_UNSIGNED, CM_SIGV4_UNSIGNED_HEADER},
        {"token sent but not signed", TOKEN_UNSIGNED, CM_SIGV4_UNSIGNED_HEADER},
        {"signed header absent", EXTRA_SIGNED, CM_SIGV4_MISSING_HEADER},
        {"unknown key", OTHER_KEY, CM_SIGV4_UNKNOWN_KEY},
        {"token missing", NO_TOKEN_SENT, CM_SIGV4_TOKEN},
        {"another session's token", OTHER_TOKEN, CM_SIGV4_TOKEN},
        {"token for a key without one", KEY_WITHOUT_TOKEN, CM_SIGV4_TOKEN},
        {"body changed", BODY_CHANGED, CM_SIGV4_PAYLOAD},
        {"signed with another secret", OTHER_SECRET, CM_SIGV4_MISMATCH},
        {"path changed", PATH, CM_SIGV4_MISMATCH},
        {"query changed", QUERY, CM_SIGV4_MISMATCH},
        {"host changed", HOST, CM_SIGV4_MISMATCH},
        {"x-amz-date changed", DATE_CHANGED, CM_SIGV4_MISMATCH},
    };
    for (size_t i = 0; i < NCASES(cases); i++)
        verify_one(&cases[i]);
    /* Wrong use: an incomplete verifier. */
    cm_sigv4_verifier_t v = {.region = "eu-west-1", .service = "lambda"};
    cm_sigv4_request_t r;
    request(&r, "GET", "/", NULL, 0, CM_SIGV4_EMPTY_SHA256);
    cm_sigv4_verdict_t got;
    CHECK(cm_sigv4_verify(&v, &r, T0, &got) == CM_EINVAL, "verifier without lookup accepted");
    CHECK(strcmp(cm_sigv4_verdict_name(CM_SIGV4_SKEW), "SKEW") == 0 &&
              strcmp(cm_sigv4_verdict_str((cm_sigv4_verdict_t)99), "unknown verdict") == 0,
          "verdict names");
}

int main(void)
{
    test_suite();
    test_canonical();
    test_dates();
    test_verify();
    return check_done("common_sigv4");
}
