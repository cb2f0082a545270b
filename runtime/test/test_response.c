/* Unit tests of response.c: the state rules of a handler's answer and the error JSON it produces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "check.h"
#include "../src/internal.h"
#include "common/error.h"

/* Parses the error JSON of res and returns its member, or NULL. */
static char *error_field(const lrt_response_t *res, const char *key)
{
    char *json = lrt__response_error_json(res);
    json_error_t e;
    json_t *o = json_loads(json, 0, &e);
    char *v = NULL;
    if (o != NULL && json_is_string(json_object_get(o, key)))
        v = strdup(json_string_value(json_object_get(o, key)));
    if (o != NULL)
        CHECK(json_is_array(json_object_get(o, "stackTrace")), "stackTrace is an array in %s", json);
    else
        CHECK(0, "error JSON does not parse: %s: %s", json ? json : "(null)", e.text);
    json_decref(o);
    free(json);
    return v;
}

static void test_wrong_use(void)
{
    lrt_response_t res;
    lrt__response_init(&res, NULL, "id");
    CHECK(lrt_stream_begin(&res, NULL) == LRT_ESTATE, "stream without a client is refused");
    CHECK(lrt_stream_write(&res, "x", 1) == LRT_ESTATE, "write before begin is refused");
    CHECK(lrt_response_fail(&res, NULL, "first") == 0, "fail once");
    CHECK(lrt_response_fail(&res, NULL, "second") == LRT_ESTATE, "fail twice is refused");
    CHECK(lrt_response_set(&res, "x", 1, NULL) == LRT_ESTATE, "a body after an error is refused");
    char *msg = error_field(&res, "errorMessage");
    CHECK(msg && strcmp(msg, "first") == 0, "the first error stays: %s", msg);
    free(msg);
    lrt__response_dispose(&res);
}

static void test_too_large(void)
{
    lrt_response_t res;
    lrt__response_init(&res, NULL, "id");
    char *big = malloc(LRT_MAX_RESPONSE + 1);
    memset(big, 'a', LRT_MAX_RESPONSE + 1);
    CHECK(lrt_response_set(&res, big, LRT_MAX_RESPONSE, NULL) == 0, "exactly the limit is fine");
    CHECK(lrt_response_set(&res, big, LRT_MAX_RESPONSE + 1, NULL) == LRT_ETOOBIG, "one byte more is not");
    CHECK(res.kind == LRT__RES_ERROR, "becomes an error");
    char *type = error_field(&res, "errorType");
    char *msg = error_field(&res, "errorMessage");
    CHECK(type && strcmp(type, "Function.ResponseSizeTooLarge") == 0, "type %s", type);
    CHECK(msg && strcmp(msg, "Response payload size (6291557 bytes) exceeded maximum allowed payload size "
                             "(6291556 bytes).") == 0,
          "message %s", msg);
    free(type);
    free(msg);
    free(big);
    lrt__response_dispose(&res);
}

static void test_error_texts(void)
{
    static const struct {
        const char *type;
        const char *message;
        const char *want_type;
        const char *want_message;
    } cases[] = {
        {NULL, "plain", "Runtime.HandlerError", "plain"},
        {"My.Error", "quote \" backslash \\ newline \n tab \t", "My.Error", "quote \" backslash \\ newline \n tab \t"},
        {"My.Error", "</script> \xe2\x80\xa8", "My.Error", "</script> \xe2\x80\xa8"},
        {"My.Error", "latin1 caf\xe9!", "My.Error", "latin1 caf\xef\xbf\xbd!"},
        {"Bad Type\r\nX-Injected: 1", "m", "Runtime.HandlerError", "m"},
        {"", "m", "Runtime.HandlerError", "m"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lrt_response_t res;
        lrt__response_init(&res, NULL, "id");
        lrt_response_fail(&res, cases[i].type, "%s", cases[i].message);
        char *type = error_field(&res, "errorType");
        char *msg = error_field(&res, "errorMessage");
        CHECK(type && strcmp(type, cases[i].want_type) == 0, "case %zu: type %s", i, type);
        CHECK(msg && strcmp(msg, cases[i].want_message) == 0, "case %zu: message %s", i, msg);
        CHECK(strcmp(lrt__response_error_type(&res), cases[i].want_type) == 0, "case %zu: header type", i);
        free(type);
        free(msg);
        lrt__response_dispose(&res);
    }
}

static void test_strerror(void)
{
    CHECK(strcmp(lrt_strerror(0), "success") == 0, "0");
    CHECK(strcmp(lrt_strerror(LRT_ETOOBIG), "response larger than Lambda allows") == 0, "ETOOBIG");
    CHECK(strcmp(lrt_strerror(-999), "unknown error") == 0, "unknown");
}

/* The public LRT_E* are the tree's shared codes (common/error.h): same values, same texts. */
static void test_shared_codes(void)
{
    static const struct {
        int lrt, cm;
    } pairs[] = {{LRT_ENOMEM, CM_ENOMEM},         {LRT_ETOOBIG, CM_ERESPTOOBIG}, {LRT_ESTATE, CM_ESTATE},
                 {LRT_ETRANSPORT, CM_ETRANSPORT}, {LRT_EPROTOCOL, CM_EPROTOCOL}, {LRT_ECONFIG, CM_EENVIRON},
                 {LRT_EINVAL, CM_EINVAL}};
    for (size_t i = 0; i < NCASES(pairs); i++) {
        CHECK(pairs[i].lrt == pairs[i].cm, "LRT code %d differs from the shared %d", pairs[i].lrt, pairs[i].cm);
        CHECK(strcmp(lrt_strerror(pairs[i].lrt), cm_strerror(pairs[i].cm)) == 0, "text of %s: '%s' vs '%s'",
              cm_err_name(pairs[i].cm), lrt_strerror(pairs[i].lrt), cm_strerror(pairs[i].cm));
    }
#define LRT__COUNT(name, value, text) +1
    CHECK(NCASES(pairs) == 0 LRT_ERRNO_MAP(LRT__COUNT), "a code of LRT_ERRNO_MAP is missing here");
#undef LRT__COUNT
}

int main(void)
{
    test_wrong_use();
    test_too_large();
    test_error_texts();
    test_strerror();
    test_shared_codes();
    return check_done("test_response");
}
