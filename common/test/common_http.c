/* common_http: every status a part of nearjs sends has its RFC 9110 phrase; unknown codes get their
 * class's phrase, and only codes outside 100..599 get none. */
#include "common/http.h"
#include "check.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
    static const struct {
        int status;
        const char *want;
    } cases[] = {
        /* wrong use first: not a status */
        {0, ""},
        {-1, ""},
        {99, ""},
        {600, ""},
        {200, "OK"},
        {204, "No Content"},
        {304, "Not Modified"},
        {400, "Bad Request"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {413, "Content Too Large"},
        {429, "Too Many Requests"},
        {500, "Internal Server Error"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
        /* unregistered codes: their class */
        {299, "OK"},
        {499, "Bad Request"},
        {599, "Internal Server Error"},
        {150, "Continue"},
        {399, "Multiple Choices"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = cm_http_reason(cases[i].status);
        CHECK(!(got == NULL || strcmp(got, cases[i].want) != 0), "row %zu: cm_http_reason(%d) = '%s', want '%s'", i,
              cases[i].status, got != NULL ? got : "(null)", cases[i].want);
    }
    /* every code of 100..599 has a phrase */
    for (int s = 100; s <= 599; s++) {
        CHECK(!(cm_http_reason(s)[0] == '\0'), "%d has no phrase", s);
    }
    return check_done("common_http");
}
