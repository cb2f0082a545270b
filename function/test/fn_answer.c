/* Unit tests of answer.c: the answer JSON in each event version's shape, and body literals spliced in whole. */
#include <jansson.h>
#include <string.h>
#include "../src/answer.h"
#include "check.h"
#include "common/error.h"

int main(void)
{
    static const struct {
        const char *body; /* NULL: no body */
        size_t len;
    } bodies[] = {
        {NULL, 0},
        {"", 0},
        {"plain", 5},
        {"q\"uote\\ and\nnewline\t</script>", 30},
        {"caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80", 14},
        {"nul\0inside", 10},
    };
    static const fn__header_t headers[] = {{"ETag", "\"abc\""}, {"Vary", "Accept-Encoding"}};
    static const fn_event_kind_t kinds[] = {FN_EVENT_V1, FN_EVENT_V2, FN_EVENT_URL};
    for (size_t k = 0; k < NCASES(kinds); k++) {
        for (size_t i = 0; i < NCASES(bodies); i++) {
            cm_buf_t lit, out;
            cm_buf_init(&lit, 1 << 16);
            cm_buf_init(&out, 1 << 16);
            if (bodies[i].body != NULL)
                CHECK(fn__json_string(bodies[i].body, bodies[i].len, &lit) == 0, "row %zu: literal", i);
            int err = fn__answer(&out, kinds[k], 200, headers, NCASES(headers), bodies[i].body ? lit.base : NULL,
                                 lit.len, (int)(i & 1));
            CHECK(err == 0, "kind %d row %zu: %s", (int)kinds[k], i, cm_strerror(err));
            json_t *j = json_loadb(out.base, out.len, JSON_ALLOW_NUL, NULL);
            CHECK(j != NULL, "kind %d row %zu: valid JSON: %s", (int)kinds[k], i, out.base);
            json_t *b = json_object_get(j, "body");
            size_t want = bodies[i].body ? bodies[i].len : 0;
            CHECK(json_string_length(b) == want &&
                      memcmp(json_string_value(b), bodies[i].body ? bodies[i].body : "", want) == 0,
                  "kind %d row %zu: body round trip", (int)kinds[k], i);
            CHECK(json_integer_value(json_object_get(j, "statusCode")) == 200, "status");
            CHECK(json_is_boolean(json_object_get(j, "isBase64Encoded")) &&
                      json_is_true(json_object_get(j, "isBase64Encoded")) == (int)(i & 1),
                  "isBase64Encoded");
            if (kinds[k] == FN_EVENT_V1) {
                json_t *mv = json_object_get(j, "multiValueHeaders");
                CHECK(json_object_get(j, "headers") == NULL &&
                          strcmp(json_string_value(json_array_get(json_object_get(mv, "ETag"), 0)), "\"abc\"") == 0,
                      "1.0: multiValueHeaders");
            } else {
                json_t *hd = json_object_get(j, "headers");
                CHECK(json_object_get(j, "multiValueHeaders") == NULL &&
                          strcmp(json_string_value(json_object_get(hd, "Vary")), "Accept-Encoding") == 0,
                      "2.0: headers");
            }
            json_decref(j);
            cm_buf_dispose(&lit);
            cm_buf_dispose(&out);
        }
    }
    /* Invalid UTF-8 cannot become a literal (jansson refuses to dump it): nothing is appended. */
    cm_buf_t bad;
    cm_buf_init(&bad, 100);
    CHECK(fn__json_string("cut \xf0\x9f", 6, &bad) != 0 && bad.len == 0, "invalid UTF-8 refused");
    cm_buf_dispose(&bad);
    /* Base64 literals, written without jansson: jansson reads them back as the encoding of the bytes. */
    static const struct {
        const char *in;
        const char *want;
    } b64[] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"\xff\xfe\xfd\x00?", "//79AD8="}};
    for (size_t i = 0; i < NCASES(b64); i++) {
        cm_buf_t lit;
        cm_buf_init(&lit, 64);
        cm_buf_append(&lit, "x", 1);
        size_t len = i == NCASES(b64) - 1 ? 5 : strlen(b64[i].in);
        CHECK(fn__json_base64(b64[i].in, len, &lit) == 0, "row %zu: base64 literal", i);
        json_t *j = json_loadb(lit.base + 1, lit.len - 1, JSON_DECODE_ANY, NULL);
        CHECK(json_is_string(j) && strcmp(json_string_value(j), b64[i].want) == 0, "row %zu: '%s'", i, lit.base);
        json_decref(j);
        cm_buf_dispose(&lit);
    }
    cm_buf_t tiny;
    cm_buf_init(&tiny, 5);
    CHECK(fn__json_base64("foo", 3, &tiny) == CM_ETOOBIG && tiny.len == 0, "base64 literal respects the cap");
    cm_buf_dispose(&tiny);
    /* An answer that does not fit its buffer fails cleanly. */
    cm_buf_t small;
    cm_buf_init(&small, 40);
    CHECK(fn__answer(&small, FN_EVENT_V2, 200, headers, NCASES(headers), NULL, 0, 0) == CM_ETOOBIG, "cap");
    cm_buf_dispose(&small);
    return check_done("fn_answer");
}
