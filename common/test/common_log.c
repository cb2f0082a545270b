/* The log rate limit: one line a second per limiter, the next one carrying the count of those dropped;
 * and the line cm_log_limited writes (through a memory stream). */
#include "common/log.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

struct step {
    uint64_t now_ms;
    int want_allowed;
    unsigned long want_suppressed; /* when allowed */
};

int main(void)
{
    static const struct step steps[] = {
        {1000, 1, 0}, {1000, 0, 0}, {1500, 0, 0}, {1999, 0, 0}, {2000, 1, 3},
        {2001, 0, 0}, {5000, 1, 1}, {6000, 1, 0}, {6999, 0, 0}, {7000, 1, 1},
    };
    cm_ratelimit_t r = CM_RATELIMIT_INIT;
    for (size_t i = 0; i < NCASES(steps); i++) {
        unsigned long suppressed = 999;
        int got = cm_ratelimit_allow(&r, steps[i].now_ms * 1000000ull, &suppressed);
        CHECK(got == steps[i].want_allowed, "step %zu (t=%llu ms): allowed %d, want %d", i,
              (unsigned long long)steps[i].now_ms, got, steps[i].want_allowed);
        if (got && steps[i].want_allowed)
            CHECK(suppressed == steps[i].want_suppressed, "step %zu: suppressed %lu, want %lu", i, suppressed,
                  steps[i].want_suppressed);
    }

    /* 10,000 lines in a burst come out as one */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cm_ratelimit_t burst = CM_RATELIMIT_INIT;
    for (int i = 0; i < 10000; i++)
        cm_log_limited(&burst, f, "prog", "accept failed: %s", "Too many open files");
    fclose(f);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    CHECK(lines == 1, "burst of 10000: %zu lines written, want 1:\n%s", lines, text);
    CHECK(strstr(text, "prog: accept failed: Too many open files\n") != NULL, "line: %s", text);
    free(text);

    /* the next allowed line names how many were dropped */
    text = NULL;
    f = open_memstream(&text, &len);
    burst.next_ns = 0;
    cm_log_limited(&burst, f, "prog", "again\n");
    fclose(f);
    CHECK(strstr(text, "prog: again (9999 similar line(s) suppressed)\n") != NULL, "count line: %s", text);
    free(text);
    return check_done("common_log");
}
