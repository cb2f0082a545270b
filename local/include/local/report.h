/*
 * The words Lambda uses about an invocation: REPORT lines, why a runtime exited, timeouts, and the
 * error document a caller gets back. Pure formatting; nothing here prints.
 */
#ifndef NEARJS_LOCAL_REPORT_H
#define NEARJS_LOCAL_REPORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nl_report {
    const char *request_id;
    uint64_t duration_ns;
    unsigned memory_mb;
    uint64_t max_rss_kb; /* ru_maxrss of the runtime */
    int has_init;        /* a cold start: add Init Duration */
    uint64_t init_ns;
} nl_report_t;

/* Writes "REPORT RequestId: ID\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t
 * Max Memory Used: 5 MB[\tInit Duration: 3.45 ms]" (no newline) into out. Billed duration is the
 * duration rounded up to the millisecond, at least 1; memory used is rounded up to the MB. Returns the
 * length snprintf would have written. */
int nl_report_format(char *out, size_t size, const nl_report_t *r);

/* Returns Go's (and so Lambda's) name of a signal: "killed", "segmentation fault", ...; for signals
 * without one, "signal N" is written into buf and buf returned. */
const char *nl_signal_text(int signo, char *buf, size_t size);

/* Writes why a runtime ended as Lambda words it from its wait status: "exit status 3",
 * "signal: killed", "signal: aborted (core dumped)". */
void nl_exit_text(int wait_status, char *out, size_t size);

/* Returns the Runtime.ExitError document for a runtime that ended with wait_status during request_id:
 * {"errorType":"Runtime.ExitError","errorMessage":"RequestId: ID Error: Runtime exited with error: exit
 * status 3"} (or "... Error: Runtime exited without providing a reason" for exit status 0). New string,
 * caller frees; NULL when out of memory. */
char *nl_exit_error_json(const char *request_id, int wait_status);

/* Returns the Sandbox.Timedout document: {"errorType":"Sandbox.Timedout","errorMessage":"RequestId: ID
 * Error: Task timed out after 3.00 seconds"}. New string, caller frees; NULL when out of memory. */
char *nl_timeout_error_json(const char *request_id, double seconds);

/* Returns the error document for what a runtime posted as an error: body itself when it is a JSON
 * object (Lambda passes it on untouched), else {"errorMessage": <body as text>, "errorType": <type, or
 * "Unhandled">}, bytes that are not UTF-8 replaced by U+FFFD. New string, caller frees; NULL when out of
 * memory. */
char *nl_error_json(const char *type, const char *body, size_t len);

#ifdef __cplusplus
}
#endif

#endif
