/* Shape tests of the generated ids (they are random: check the form, and that two differ). */
#include "../src/ids.h"
#include "check.h"

#include <regex.h>
#include <stdio.h>
#include <string.h>

static int matches(const char *re, const char *s)
{
    regex_t r;
    if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
        return 0;
    int ok = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return ok;
}

int main(void)
{
    char a[37], b[37], trace[NL__TRACE_ID_SIZE], stream[NL__LOG_STREAM_SIZE];
    nl__uuid4(a);
    nl__uuid4(b);
    nl__trace_id(trace, 0x5f5e1000);
    nl__log_stream_name(stream, 1767323045000ull, "$LATEST"); /* 2026-01-02 */
    const struct {
        const char *re, *s;
    } cases[] = {
        {"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", a},
        {"^Root=1-5f5e1000-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$", trace},
        {"^2026/01/02/\\[\\$LATEST\\][0-9a-f]{32}$", stream},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK(!(!matches(cases[i].re, cases[i].s)), "case %zu: '%s' does not match %s", i, cases[i].s, cases[i].re);
    }
    CHECK(!(strcmp(a, b) == 0), "two request ids are equal: %s", a);
    return check_done("local_ids");
}
