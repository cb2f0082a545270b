/* Unit tests of render.c: JSON-in-JS escaping (</script>, <!--, U+2028/2029, &), numbers exactly as written
 * (checked against jansson's reading of them, on a table and on random numbers), and the loader template. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "common/error.h"
#include "function/render.h"

static void test_escape(void)
{
    static const struct {
        const char *in;
        int want_err;
        const char *want;
    } cases[] = {
        {"", CM_ECONTENT, NULL},
        {"not json", CM_ECONTENT, NULL},
        {"[1,2]", CM_ECONTENT, NULL},
        {"\"str\"", CM_ECONTENT, NULL},
        {"{\"a\":1,\"a\":2}", CM_ECONTENT, NULL},
        {"{\"a\":\"\xff\"}", CM_ECONTENT, NULL},
        {"{\"a\":\"\\u0000\"}", CM_ECONTENT, NULL},
        {"{\"a\":1} trailing", CM_ECONTENT, NULL},
        {"{}", 0, "{}"},
        {"{ \"a\" : [ 1 , true , null ] }", 0, "{\"a\":[1,true,null]}"},
        {"{\"x\":\"</script><script>alert(1)</script>\"}", 0,
         "{\"x\":\"\\u003c\\/script\\u003e\\u003cscript\\u003ealert(1)\\u003c\\/script\\u003e\"}"},
        {"{\"x\":\"<!-- -->\"}", 0, "{\"x\":\"\\u003c!-- --\\u003e\"}"},
        {"{\"x\":\"a & b\"}", 0, "{\"x\":\"a \\u0026 b\"}"},
        {"{\"x\":\"\xe2\x80\xa8|\xe2\x80\xa9\"}", 0, "{\"x\":\"\\u2028|\\u2029\"}"},
        {"{\"x\":\"\\u2028\"}", 0, "{\"x\":\"\\u2028\"}"},
        {"{\"caf\xc3\xa9\":\"\xf0\x9f\x98\x80\"}", 0, "{\"caf\\u00E9\":\"\\uD83D\\uDE00\"}"},
        {"{\"</script>\":1}", 0, "{\"\\u003c\\/script\\u003e\":1}"},
        {"{\"q\":\"\\\"\\\\\"}", 0, "{\"q\":\"\\\"\\\\\"}"},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        cm_buf_t out;
        cm_buf_init(&out, 1 << 20);
        char why[128] = "";
        int err = fn_json_for_script(cases[i].in, strlen(cases[i].in), &out, why, sizeof(why));
        CHECK(err == cases[i].want_err, "row %zu '%s': got %d want %d", i, cases[i].in, err, cases[i].want_err);
        if (err == 0 && cases[i].want != NULL)
            CHECK(out.base != NULL && strcmp(out.base, cases[i].want) == 0, "row %zu: got '%s' want '%s'", i,
                  out.base ? out.base : "(null)", cases[i].want);
        if (err != 0)
            CHECK(out.len == 0 && why[0] != '\0', "row %zu: failure leaves out empty and says why", i);
        /* Whatever came out: pure ASCII, no raw <, >, &, and it parses back to the same value. */
        for (size_t k = 0; k < out.len; k++)
            CHECK((unsigned char)out.base[k] < 0x80 && !strchr("<>&", out.base[k]), "row %zu: byte %zu", i, k);
        if (err == 0) {
            json_t *a = json_loads(cases[i].in, JSON_DECODE_INT_AS_REAL, NULL);
            json_t *b = json_loads(out.base, JSON_DECODE_INT_AS_REAL, NULL);
            CHECK(a != NULL && b != NULL && json_equal(a, b), "row %zu: round trip changes the value", i);
            json_decref(a);
            json_decref(b);
        }
        cm_buf_dispose(&out);
    }
}

/* The same value as jansson reads it, in the same text: in and out parsed by jansson must be equal, and out
 * must be exactly want. */
static void check_numbers(const char *in, const char *want, const char *what)
{
    cm_buf_t out;
    cm_buf_init(&out, 1 << 20);
    char why[128] = "";
    int err = fn_json_for_script(in, strlen(in), &out, why, sizeof(why));
    CHECK(err == 0 && strcmp(out.base, want) == 0, "%s: '%s' -> '%s' (%d %s), want '%s'", what, in,
          out.base ? out.base : "", err, why, want);
    json_t *a = json_loads(in, JSON_DECODE_INT_AS_REAL, NULL), *b = json_loads(out.base, JSON_DECODE_INT_AS_REAL, NULL);
    CHECK(a != NULL && b != NULL && json_equal(a, b), "%s: '%s': jansson reads another value back", what, in);
    json_decref(a);
    json_decref(b);
    cm_buf_dispose(&out);
}

static void test_numbers(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        /* the config: no 17-digit noise */
        {"{\"price\": 417.73, \"ratio\": 0.1}", "{\"price\":417.73,\"ratio\":0.1}"},
        /* integers past 2^53 and past 2^64 stay exact, as do exponents and their spellings */
        {"{\"id\":9007199254740993}", "{\"id\":9007199254740993}"},
        {"{\"id\":18446744073709551617}", "{\"id\":18446744073709551617}"},
        {"{\"n\":-123456789012345678901234567890}", "{\"n\":-123456789012345678901234567890}"},
        {"{\"e\":1e21,\"E\":1E+21,\"m\":2.5e-7,\"z\":0e0}", "{\"e\":1e21,\"E\":1E+21,\"m\":2.5e-7,\"z\":0e0}"},
        {"{\"a\":0,\"b\":-0,\"c\":-0.0,\"d\":1.0,\"e\":100}", "{\"a\":0,\"b\":-0,\"c\":-0.0,\"d\":1.0,\"e\":100}"},
        {"{\"x\":0.30000000000000004,\"y\":1.7976931348623157e308,\"t\":5e-324}",
         "{\"x\":0.30000000000000004,\"y\":1.7976931348623157e308,\"t\":5e-324}"},
        /* numbers in arrays, nested objects, keys in no sorted order, strings that look like numbers */
        {"{ \"z\" : [ 1.10 , -2 , { \"k\" : 3.14159 } ] , \"a\" : \"1.5\" , \"m\" : [ ] , \"-1\" : 7 }",
         "{\"z\":[1.10,-2,{\"k\":3.14159}],\"a\":\"1.5\",\"m\":[],\"-1\":7}"},
        {"{\"s\":\"a\\\"1.5\\\\\",\"n\":2.50}", "{\"s\":\"a\\\"1.5\\\\\",\"n\":2.50}"},
        {"{\"<\":1.25,\"t\":true,\"f\":false,\"u\":null,\"e\":1e5}",
         "{\"\\u003c\":1.25,\"t\":true,\"f\":false,\"u\":null,\"e\":1e5}"},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        char what[32];
        snprintf(what, sizeof(what), "numbers row %zu", i);
        check_numbers(cases[i].in, cases[i].want, what);
    }
    /* jansson's own limit stays the rule: a number no double holds is refused, with jansson's reason */
    cm_buf_t out;
    cm_buf_init(&out, 1024);
    char why[128] = "";
    CHECK(fn_json_for_script("{\"x\":1e400}", 12, &out, why, sizeof(why)) == CM_ECONTENT && out.len == 0 &&
              strstr(why, "overflow") != NULL,
          "1e400: %s", why);
    cm_buf_dispose(&out);
    /* Random numbers in every spelling, many to a config: each comes out as written. */
    srand(20261201);
    char in[16384], want[16384];
    for (int round = 0; round < 200; round++) {
        size_t ni = 0, nw = 0;
        ni += (size_t)snprintf(in + ni, sizeof(in) - ni, "{ \"list\" : [");
        nw += (size_t)snprintf(want + nw, sizeof(want) - nw, "{\"list\":[");
        for (int k = 0; k < 40; k++) {
            char num[64];
            double d = (double)rand() / RAND_MAX * 1e6 - 5e5;
            switch (rand() % 6) {
            case 0:
                snprintf(num, sizeof(num), "%.17g", d);
                break;
            case 1:
                snprintf(num, sizeof(num), "%.2f", d);
                break;
            case 2:
                snprintf(num, sizeof(num), "%d%09d%09d", 1 + rand() % 999, rand() % 1000000000, rand() % 1000000000);
                break;
            case 3:
                snprintf(num, sizeof(num), "%.6e", d * 1e-300 * (rand() % 2));
                break;
            case 4:
                snprintf(num, sizeof(num), "%dE%+d", rand() % 100, rand() % 600 - 300);
                break;
            default:
                snprintf(num, sizeof(num), "%g", d);
                break;
            }
            ni += (size_t)snprintf(in + ni, sizeof(in) - ni, "%s %s", k ? " ," : "", num);
            nw += (size_t)snprintf(want + nw, sizeof(want) - nw, "%s%s", k ? "," : "", num);
        }
        snprintf(in + ni, sizeof(in) - ni, " ] }");
        snprintf(want + nw, sizeof(want) - nw, "]}");
        char what[32];
        snprintf(what, sizeof(what), "random round %d", round);
        check_numbers(in, want, what);
    }
}

static void test_render(void)
{
    static const struct {
        const char *loader, *config;
        int want_err;
        const char *want;
    } cases[] = {
        {"no placeholder", "{}", CM_ECONTENT, NULL},
        {"bad \xc0\xaf utf8 " FN_PLACEHOLDER, "{}", CM_ECONTENT, NULL},
        {"x(" FN_PLACEHOLDER ");", "[]", CM_ECONTENT, NULL},
        {"x(" FN_PLACEHOLDER ");", "{\"a\":1}", 0, "x({\"a\":1});"},
        {FN_PLACEHOLDER, "{}", 0, "{}"},
        {"a " FN_PLACEHOLDER " b " FN_PLACEHOLDER, "{}", 0, "a {} b " FN_PLACEHOLDER},
        {"// caf\xc3\xa9\nrun(" FN_PLACEHOLDER ")", "{\"s\":\"</script>\"}", 0,
         "// caf\xc3\xa9\nrun({\"s\":\"\\u003c\\/script\\u003e\"})"},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        cm_buf_t out;
        cm_buf_init(&out, 1 << 20);
        char why[128] = "";
        int err = fn_render(cases[i].loader, strlen(cases[i].loader), cases[i].config, strlen(cases[i].config), &out,
                            why, sizeof(why));
        CHECK(err == cases[i].want_err, "row %zu: got %d want %d (%s)", i, err, cases[i].want_err, why);
        if (err == 0)
            CHECK(strcmp(out.base, cases[i].want) == 0, "row %zu: got '%s'", i, out.base);
        cm_buf_dispose(&out);
    }
    /* Empty objects, as a never-grown buffer hands them over (NULL, 0). */
    cm_buf_t o;
    cm_buf_init(&o, 100);
    char why[64] = "";
    CHECK(fn_render(NULL, 0, "{}", 2, &o, why, sizeof(why)) == CM_ECONTENT && strstr(why, "empty"), "empty loader");
    CHECK(fn_render(FN_PLACEHOLDER, strlen(FN_PLACEHOLDER), NULL, 0, &o, why, sizeof(why)) == CM_ECONTENT,
          "empty config: %s", why);
    cm_buf_dispose(&o);
    /* The output cap holds: a config bigger than the buffer's max fails cleanly. */
    cm_buf_t small;
    cm_buf_init(&small, 8);
    CHECK(fn_render(FN_PLACEHOLDER, strlen(FN_PLACEHOLDER), "{\"long\":\"0123456789\"}", 21, &small, NULL, 0) ==
              CM_ETOOBIG,
          "cap");
    CHECK(small.len == 0, "cap: out left empty");
    cm_buf_dispose(&small);
}

int main(void)
{
    test_escape();
    test_numbers();
    test_render();
    return check_done("fn_render");
}
