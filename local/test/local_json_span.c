/* json_span.c against jansson itself: every string the decoder accepts, jansson accepts (JSON_ALLOW_NUL)
 * with the same bytes, and every one it refuses, jansson refuses; then the member finder's table; then
 * the same strings as answers through nl_apigw_response_map, where the split must not change a thing. */
#include "json_span.h"
#include "local/apigw.h"
#include "local/errors.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) x, sizeof(x) - 1

typedef struct str_case {
    const char *in; /* the bytes between the quotes */
    size_t len;
} str_case_t;

static const str_case_t str_cases[] = {
    /* refused first */
    {S("\\")},
    {S("ab\\")},
    {S("\\x")},
    {S("\\u12")},
    {S("\\u12g4")},
    {S("\\ud83d")},
    {S("\\ud83dx")},
    {S("\\ud83d\\u0041")},
    {S("\\ud83d\\n")},
    {S("\\ude00")},
    {S("a\"b")},
    {S("\x01")},
    {S("tab\there")},
    {S("nl\nhere")},
    {S("\xc0\x80")},
    {S("\xed\xa0\x80")},
    {S("\xf4\x90\x80\x80")},
    {S("\xe2\x82")},
    {S("\x80")},
    {S("\xf8\x88\x80\x80\x80")},
    {S("0123456789abcdef0123456789\x1f")},
    {S("0123456789abcdef0123456789\xff")},
    /* accepted */
    {S("")},
    {S("plain text")},
    {S("\\\"\\\\\\/\\b\\f\\n\\r\\t")},
    {S("\\u0041\\u00e9\\u20AC")},
    {S("\\ud83d\\ude00 \\uD83D\\uDE00")},
    {S("nul \\u0000 inside")},
    {S("del \x7f")},
    {S("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80")},
    {S("0123456789abcdef0123456789abcdef\\n0123456789abcdef")},
    {S("0123456789abcdef\xc3\xa9"
       "0123456789abcdef")},
};

/* Returns 0 when the decoder and jansson agree on in[0..len). */
static int agree(const char *in, size_t len, const char *label)
{
    char *doc = malloc(len + 2), *out = malloc(len + 1);
    doc[0] = '"';
    memcpy(doc + 1, in, len);
    doc[len + 1] = '"';
    json_t *j = json_loadb(doc, len + 2, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    size_t out_len = 0;
    int esc, rc = nl__json_unescape(in, len, out, &out_len, &esc);
    int fail = 0;
    if ((rc == 0) != (j != NULL)) {
        fprintf(stderr, "FAIL %s: '%.*s': decoder %s, jansson %s\n", label, (int)len, in,
                rc == 0 ? "accepts" : "refuses", j != NULL ? "accepts" : "refuses");
        fail = 1;
    } else if (j != NULL && (out_len != json_string_length(j) || memcmp(out, json_string_value(j), out_len) != 0)) {
        fprintf(stderr, "FAIL %s: '%.*s': decoded bytes differ from jansson's\n", label, (int)len, in);
        fail = 1;
    }
    json_decref(j);
    free(doc);
    free(out);
    return fail;
}

/* The same string as an answer's body, structured and bare: the mapping must be what jansson alone gives. */
static int agree_mapped(const char *in, size_t len, const char *label)
{
    static const char *const heads[] = {"{\"statusCode\":200,\"body\":\"", "{\"body\":\""};
    int fail = 0;
    for (int h = 0; h < 2; h++) {
        size_t hl = strlen(heads[h]), dl = hl + len + 2;
        char *doc = malloc(dl);
        memcpy(doc, heads[h], hl);
        memcpy(doc + hl, in, len);
        memcpy(doc + hl + len, "\"}", 2);
        json_t *j = json_loadb(doc, dl, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        nl_apigw_response_t res;
        nl_apigw_response_init(&res);
        char why[256];
        int rc = nl_apigw_response_map(2, doc, dl, &res, why, sizeof(why));
        const char *want = h == 0 ? json_string_value(json_object_get(j, "body")) : doc;
        size_t want_len = h == 0 ? json_string_length(json_object_get(j, "body")) : dl;
        if ((rc == 0) != (j != NULL)) {
            fprintf(stderr, "FAIL %s mapped (%s): '%.*s': rc %d (%s), jansson %s\n", label, heads[h], (int)len, in, rc,
                    why, j != NULL ? "accepts" : "refuses");
            fail = 1;
        } else if (rc == 0 && (res.body_len != want_len || memcmp(res.body, want, want_len) != 0)) {
            fprintf(stderr, "FAIL %s mapped (%s): '%.*s': body differs\n", label, heads[h], (int)len, in);
            fail = 1;
        } else if (rc != 0 && strstr(why, "not JSON") == NULL) {
            fprintf(stderr, "FAIL %s mapped: '%.*s': why '%s'\n", label, (int)len, in, why);
            fail = 1;
        }
        nl_apigw_response_dispose(&res);
        json_decref(j);
        free(doc);
    }
    return fail;
}

typedef struct member_case {
    const char *doc;
    const char *want; /* the raw value between its quotes, or NULL: not found */
} member_case_t;

static const member_case_t member_cases[] = {
    {"[\"body\",\"x\"]", NULL},
    {"\"body\"", NULL},
    {"{\"nested\":{\"body\":\"no\"}}", NULL},
    {"{\"body\":1}", NULL},
    {"{\"body\":null}", NULL},
    {"{\"body\":\"a\",\"body\":\"b\"}", NULL},
    {"{\"bod\\u0079\":\"a\"}", NULL},
    {"{\"k\\\\\":\"v\",\"body\":\"b\"}", NULL},
    {"{\"body\":\"unterminated", NULL},
    {"{\"body\"", NULL},
    {"{\"body\":", NULL},
    {"{\"body\":\"x\"}", "x"},
    {" \n{ \"a\" : 1 , \"body\" : \"he\\\"llo\\\\\" }", "he\\\"llo\\\\"},
    {"{\"nested\":{\"body\":\"no\"},\"body\":\"yes\"}", "yes"},
    {"{\"a\":[\"body\",\":\"],\"body\":\"q\"}", "q"},
    {"{\"a\":\"body\",\"body\":\"z\"}", "z"},
    {"{\"a\":\"x\\\\\",\"body\":\"\"}", ""},
    {"{\"bodyx\":\"1\",\"xbody\":\"2\",\"body\":\"3\"}", "3"},
};

int main(void)
{
    int fails = 0;
    for (size_t i = 0; i < sizeof(str_cases) / sizeof(str_cases[0]); i++) {
        char label[32];
        snprintf(label, sizeof(label), "string %zu", i);
        fails += agree(str_cases[i].in, str_cases[i].len, label);
        fails += agree_mapped(str_cases[i].in, str_cases[i].len, label);
    }
    /* each special piece at each offset around the 16-byte blocks the scan works in */
    static const char *const pieces[] = {"\\n", "\\u00e9", "\xc3\xa9", "\x01", "\"", "\\", "\xff", "\\ud83d\\ude00"};
    for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
        for (size_t at = 0; at < 40; at++) {
            char buf[128], label[48];
            memset(buf, 'a', sizeof(buf));
            size_t pl = strlen(pieces[p]);
            memcpy(buf + at, pieces[p], pl);
            snprintf(label, sizeof(label), "piece %zu at %zu", p, at);
            fails += agree(buf, at + pl + 20, label);
        }
    }
    /* random strings over the bytes that matter (a fixed seed: failures reproduce) */
    static const char alphabet[] = "a\\\"nu0d8cDEe9f\x01\xc3\xa9\xed\xa0\x80\xf0\x9f\x98 /";
    unsigned seed = 12345;
    for (int r = 0; r < 50000; r++) {
        char buf[48], label[32];
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 16) % sizeof(buf);
        for (size_t k = 0; k < len; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[k] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        snprintf(label, sizeof(label), "random %d", r);
        fails += agree(buf, len, label);
        if (r % 10 == 0)
            fails += agree_mapped(buf, len, label);
    }
    for (size_t i = 0; i < sizeof(member_cases) / sizeof(member_cases[0]); i++) {
        const member_case_t *c = &member_cases[i];
        size_t s = 0, e = 0;
        int found = nl__json_find_member(c->doc, strlen(c->doc), "body", &s, &e);
        if (found != (c->want != NULL) ||
            (found && (e - s != strlen(c->want) || memcmp(c->doc + s, c->want, e - s) != 0))) {
            fprintf(stderr, "FAIL member %zu: '%s': found %d '%.*s', want %s\n", i, c->doc, found, (int)(e - s),
                    c->doc + s, c->want != NULL ? c->want : "(none)");
            fails++;
        }
    }
    if (fails != 0) {
        fprintf(stderr, "%d failures\n", fails);
        return 1;
    }
    printf("local_json_span: all passed\n");
    return 0;
}
