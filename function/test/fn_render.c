/* Unit tests of render.c: JSON-in-JS escaping (</script>, <!--, U+2028/2029, &) and the loader template. */
#include <jansson.h>
#include <string.h>
#include "check.h"
#include "function/errno.h"
#include "function/render.h"

static void test_escape(void)
{
    static const struct {
        const char *in;
        int want_err;
        const char *want;
    } cases[] = {
        {"", FN_ECONTENT, NULL},
        {"not json", FN_ECONTENT, NULL},
        {"[1,2]", FN_ECONTENT, NULL},
        {"\"str\"", FN_ECONTENT, NULL},
        {"{\"a\":1,\"a\":2}", FN_ECONTENT, NULL},
        {"{\"a\":\"\xff\"}", FN_ECONTENT, NULL},
        {"{\"a\":\"\\u0000\"}", FN_ECONTENT, NULL},
        {"{\"a\":1} trailing", FN_ECONTENT, NULL},
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
            json_t *a = json_loads(cases[i].in, 0, NULL), *b = json_loads(out.base, 0, NULL);
            CHECK(a != NULL && b != NULL && json_equal(a, b), "row %zu: round trip changes the value", i);
            json_decref(a);
            json_decref(b);
        }
        cm_buf_dispose(&out);
    }
}

static void test_render(void)
{
    static const struct {
        const char *loader, *config;
        int want_err;
        const char *want;
    } cases[] = {
        {"no placeholder", "{}", FN_ECONTENT, NULL},
        {"bad \xc0\xaf utf8 " FN_PLACEHOLDER, "{}", FN_ECONTENT, NULL},
        {"x(" FN_PLACEHOLDER ");", "[]", FN_ECONTENT, NULL},
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
    CHECK(fn_render(NULL, 0, "{}", 2, &o, why, sizeof(why)) == FN_ECONTENT && strstr(why, "empty"), "empty loader");
    CHECK(fn_render(FN_PLACEHOLDER, strlen(FN_PLACEHOLDER), NULL, 0, &o, why, sizeof(why)) == FN_ECONTENT,
          "empty config: %s", why);
    cm_buf_dispose(&o);
    /* The output cap holds: a config bigger than the buffer's max fails cleanly. */
    cm_buf_t small;
    cm_buf_init(&small, 8);
    CHECK(fn_render(FN_PLACEHOLDER, strlen(FN_PLACEHOLDER), "{\"long\":\"0123456789\"}", 21, &small, NULL, 0) ==
              FN_ETOOBIG,
          "cap");
    CHECK(small.len == 0, "cap: out left empty");
    cm_buf_dispose(&small);
}

int main(void)
{
    test_escape();
    test_render();
    return check_done("fn_render");
}
