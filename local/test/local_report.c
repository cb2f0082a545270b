/* Table-driven tests of Lambda's wording: REPORT lines, exit reasons, error documents. */
#include "local/report.h"
#include "check.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* wait statuses as the kernel encodes them */
#define EXITED(code) ((code) << 8)
#define SIGNALED(sig) (sig)
#define CORE 0x80

int main(void)
{
    static const struct {
        nl_report_t in;
        const char *want;
    } reports[] = {
        {{"id", 1234567, 128, 5000, 1, 3450000},
         "REPORT RequestId: id\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 5 MB"
         "\tInit Duration: 3.45 ms"},
        {{"id", 0, 256, 1024, 0, 0},
         "REPORT RequestId: id\tDuration: 0.00 ms\tBilled Duration: 1 ms\tMemory Size: 256 MB\tMax Memory Used: 1 MB"},
        {{"id", 2000000, 128, 1025, 0, 0},
         "REPORT RequestId: id\tDuration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 2 MB"},
    };
    for (size_t i = 0; i < sizeof(reports) / sizeof(reports[0]); i++) {
        char out[512];
        nl_report_format(out, sizeof(out), &reports[i].in);
        CHECK(!(strcmp(out, reports[i].want) != 0), "report %zu: got '%s'\n want '%s'", i, out, reports[i].want);
    }

    const struct {
        int status;
        const char *want;
    } exits[] = {
        {EXITED(3), "exit status 3"},
        {EXITED(0), "exit status 0"},
        {SIGNALED(SIGKILL), "signal: killed"},
        {SIGNALED(SIGSEGV), "signal: segmentation fault"},
        {SIGNALED(SIGABRT) | CORE, "signal: aborted (core dumped)"},
        {SIGNALED(SIGTERM), "signal: terminated"},
        {SIGNALED(SIGBUS), "signal: bus error"},
        {SIGNALED(SIGRTMIN + 1), NULL},
    };
    for (size_t i = 0; i < sizeof(exits) / sizeof(exits[0]); i++) {
        char out[96], want[96];
        if (exits[i].want != NULL)
            snprintf(want, sizeof(want), "%s", exits[i].want);
        else
            snprintf(want, sizeof(want), "signal: signal %d", SIGRTMIN + 1);
        nl_exit_text(exits[i].status, out, sizeof(out));
        CHECK(!(strcmp(out, want) != 0), "exit %zu: got '%s', want '%s'", i, out, want);
    }

    struct {
        char *got;
        const char *want;
    } strs[] = {
        {nl_exit_error_json("r1", EXITED(3)),
         "{\"errorType\":\"Runtime.ExitError\",\"errorMessage\":\"RequestId: r1 Error: Runtime exited with error: exit "
         "status 3\"}"},
        {nl_exit_error_json("r1", EXITED(0)), "{\"errorType\":\"Runtime.ExitError\",\"errorMessage\":\"RequestId: r1 "
                                              "Error: Runtime exited without providing "
                                              "a reason\"}"},
        {nl_exit_error_json("r1", SIGNALED(SIGKILL)),
         "{\"errorType\":\"Runtime.ExitError\",\"errorMessage\":\"RequestId: r1 Error: Runtime exited with error: "
         "signal: killed\"}"},
        {nl_timeout_error_json("r2", 3),
         "{\"errorType\":\"Sandbox.Timedout\",\"errorMessage\":\"RequestId: r2 Error: Task timed out after 3.00 "
         "seconds\"}"},
        {nl_error_json("T", "{\"errorType\":\"X\"}", 17), "{\"errorType\":\"X\"}"},
        {nl_error_json("T", "plain text", 10), "{\"errorMessage\":\"plain text\",\"errorType\":\"T\"}"},
        {nl_error_json(NULL, "[1]", 3), "{\"errorMessage\":\"[1]\",\"errorType\":\"Unhandled\"}"},
        {nl_error_json("T", "", 0), "{\"errorMessage\":\"\",\"errorType\":\"T\"}"},
        {nl_error_json("T",
                       "a\xff"
                       "b",
                       3),
         "{\"errorMessage\":\"a\xef\xbf\xbd"
         "b\",\"errorType\":\"T\"}"},
        {nl_error_json("T", "a\0b", 3), "{\"errorMessage\":\"a\\u0000b\",\"errorType\":\"T\"}"},
    };
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        CHECK(!(strs[i].got == NULL || strcmp(strs[i].got, strs[i].want) != 0), "doc %zu: got '%s'\n want '%s'", i,
              strs[i].got ? strs[i].got : "(null)", strs[i].want);
        free(strs[i].got);
    }
    return check_done("local_report");
}
