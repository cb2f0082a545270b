/*
 * Lambda's wording for REPORT lines, runtime exits, timeouts and error documents (see report.h).
 * Signal names follow Go's runtime (Lambda's init is written in Go, and prints os.ProcessState).
 */
#include "local/report.h"
#include "utf8.h"
#include "common/buf.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int nl_report_format(char *out, size_t size, const nl_report_t *r)
{
    uint64_t billed_ms = (r->duration_ns + 999999) / 1000000;
    if (billed_ms == 0)
        billed_ms = 1;
    uint64_t used_mb = (r->max_rss_kb + 1023) / 1024;
    int n = snprintf(out, size,
                     "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %llu ms\tMemory Size: %u MB\t"
                     "Max Memory Used: %llu MB",
                     r->request_id, (double)r->duration_ns / 1e6, (unsigned long long)billed_ms, r->memory_mb,
                     (unsigned long long)used_mb);
    if (r->has_init && n >= 0 && (size_t)n < size)
        n += snprintf(out + n, size - (size_t)n, "\tInit Duration: %.2f ms", (double)r->init_ns / 1e6);
    return n;
}

const char *nl_signal_text(int signo, char *buf, size_t size)
{
    switch (signo) {
    case SIGHUP:
        return "hangup";
    case SIGINT:
        return "interrupt";
    case SIGQUIT:
        return "quit";
    case SIGILL:
        return "illegal instruction";
    case SIGTRAP:
        return "trace/breakpoint trap";
    case SIGABRT:
        return "aborted";
    case SIGBUS:
        return "bus error";
    case SIGFPE:
        return "floating point exception";
    case SIGKILL:
        return "killed";
    case SIGUSR1:
        return "user defined signal 1";
    case SIGSEGV:
        return "segmentation fault";
    case SIGUSR2:
        return "user defined signal 2";
    case SIGPIPE:
        return "broken pipe";
    case SIGALRM:
        return "alarm clock";
    case SIGTERM:
        return "terminated";
    case SIGXCPU:
        return "CPU time limit exceeded";
    case SIGXFSZ:
        return "file size limit exceeded";
    case SIGSYS:
        return "bad system call";
    default:
        snprintf(buf, size, "signal %d", signo);
        return buf;
    }
}

void nl_exit_text(int wait_status, char *out, size_t size)
{
    if (WIFEXITED(wait_status)) {
        snprintf(out, size, "exit status %d", WEXITSTATUS(wait_status));
        return;
    }
    if (WIFSIGNALED(wait_status)) {
        char buf[32];
        snprintf(out, size, "signal: %s%s", nl_signal_text(WTERMSIG(wait_status), buf, sizeof(buf)),
                 WCOREDUMP(wait_status) ? " (core dumped)" : "");
        return;
    }
    snprintf(out, size, "unknown status %d", wait_status);
}

static char *error_doc(const char *type, const char *message)
{
    json_t *doc = json_pack("{s:s, s:s}", "errorType", type, "errorMessage", message);
    char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return s;
}

char *nl_exit_error_json(const char *request_id, int wait_status)
{
    char why[96], msg[256];
    if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) {
        snprintf(msg, sizeof(msg), "RequestId: %s Error: Runtime exited without providing a reason", request_id);
    } else {
        nl_exit_text(wait_status, why, sizeof(why));
        snprintf(msg, sizeof(msg), "RequestId: %s Error: Runtime exited with error: %s", request_id, why);
    }
    return error_doc("Runtime.ExitError", msg);
}

char *nl_timeout_error_json(const char *request_id, double seconds)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "RequestId: %s Error: Task timed out after %.2f seconds", request_id, seconds);
    return error_doc("Sandbox.Timedout", msg);
}

char *nl_error_json(const char *type, const char *body, size_t len)
{
    json_t *doc = json_loadb(body, len, 0, NULL);
    int is_object = json_is_object(doc);
    json_decref(doc);
    if (is_object) {
        char *copy = malloc(len + 1);
        if (copy != NULL) {
            memcpy(copy, body, len);
            copy[len] = '\0';
        }
        return copy;
    }
    /* jansson refuses invalid UTF-8: replace each bad byte so the message survives */
    json_t *out = json_pack("{s:o?, s:s}", "errorMessage", nl__json_text(body, len), "errorType",
                            type != NULL && type[0] != '\0' ? type : "Unhandled");
    char *s = out != NULL ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    return s;
}
