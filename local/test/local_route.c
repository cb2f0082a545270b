/* Table-driven tests of Runtime API routing. */
#include "../src/route.h"
#include "check.h"

#include <stdio.h>
#include <string.h>

struct case_ {
    const char *method, *path;
    nl__route_t want;
    const char *want_id;
    int want_too_long;
};

int main(void)
{
    static const struct case_ cases[] = {
        {"GET", "/2018-06-01/runtime/invocation/next", NL__ROUTE_NEXT, "", 0},
        {"GET", "/2018-06-01/runtime/invocation/next?x=1", NL__ROUTE_NEXT, "", 0},
        {"POST", "/2018-06-01/runtime/invocation/next", NL__ROUTE_BAD_METHOD, "", 0},
        {"POST", "/2018-06-01/runtime/invocation/abc-123/response", NL__ROUTE_RESPONSE, "abc-123", 0},
        {"POST", "/2018-06-01/runtime/invocation/abc/error", NL__ROUTE_ERROR, "abc", 0},
        {"GET", "/2018-06-01/runtime/invocation/abc/error", NL__ROUTE_BAD_METHOD, "abc", 0},
        {"POST", "/2018-06-01/runtime/init/error", NL__ROUTE_INIT_ERROR, "", 0},
        {"GET", "/2018-06-01/runtime/init/error", NL__ROUTE_BAD_METHOD, "", 0},
        {"POST", "/2018-06-01/runtime/invocation//response", NL__ROUTE_NOT_FOUND, "", 0},
        {"POST", "/2018-06-01/runtime/invocation/a/b/response", NL__ROUTE_NOT_FOUND, "", 0},
        {"POST", "/2018-06-01/runtime/invocation/abc/responses", NL__ROUTE_NOT_FOUND, "", 0},
        {"POST", "/2018-06-01/runtime/invocation/abc", NL__ROUTE_NOT_FOUND, "", 0},
        {"GET", "/2018-06-01/runtime/invocation/", NL__ROUTE_NOT_FOUND, "", 0},
        {"GET", "/2019-01-01/runtime/invocation/next", NL__ROUTE_NOT_FOUND, "", 0},
        {"GET", "/", NL__ROUTE_NOT_FOUND, "", 0},
        {"GET", "", NL__ROUTE_NOT_FOUND, "", 0},
        {"POST",
         "/2018-06-01/runtime/invocation/"
         "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
         "012345678901234567890123456789/response",
         NL__ROUTE_RESPONSE,
         "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
         "0123456789012345678901234567",
         1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct case_ *c = &cases[i];
        char id[NL__MAX_ID + 1];
        int too_long;
        nl__route_t r = nl__route(c->method, strlen(c->method), c->path, strlen(c->path), id, &too_long);
        int id_matters = r == NL__ROUTE_RESPONSE || r == NL__ROUTE_ERROR;
        CHECK(!(r != c->want || (id_matters && (strcmp(id, c->want_id) != 0 || too_long != c->want_too_long))),
              "case %zu: %s %s: got route %d id '%s' too_long %d, want %d '%s' %d", i, c->method, c->path, r, id,
              too_long, c->want, c->want_id, c->want_too_long);
    }
    return check_done("local_route");
}
