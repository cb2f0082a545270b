/*
 * Clocks, time stamps and the one-line logger programs use for their own stderr lines.
 */
#include "common/log.h"
#include "common/buf.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

uint64_t cm_epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t cm_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

void cm_timestamp(char out[CM_TIMESTAMP_SIZE], uint64_t epoch_ms)
{
    time_t secs = (time_t)(epoch_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    /* room for any int the compiler imagines; real dates always fit CM_TIMESTAMP_SIZE */
    char tmp[96];
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(epoch_ms % 1000));
    size_t n = strnlen(tmp, CM_TIMESTAMP_SIZE - 1);
    memcpy(out, tmp, n);
    out[n] = '\0';
}

static void log_line(FILE *f, const char *prog, unsigned long suppressed, const char *fmt, va_list ap)
{
    char ts[CM_TIMESTAMP_SIZE];
    cm_timestamp(ts, cm_epoch_ms());
    cm_buf_t line;
    cm_buf_init(&line, 64 * 1024);
    /* Truncation of an over-long message is acceptable for a log line: write what fits. */
    if (cm_buf_appendf(&line, "%s %s: ", ts, prog) == 0)
        cm_buf_vappendf(&line, fmt, ap);
    if (line.len != 0 && line.base[line.len - 1] == '\n')
        line.len--;
    if (suppressed != 0)
        cm_buf_appendf(&line, " (%lu similar line(s) suppressed)", suppressed);
    if (line.len == 0 || line.base[line.len - 1] != '\n')
        cm_buf_append(&line, "\n", 1);
    if (line.base != NULL) {
        fwrite(line.base, 1, line.len, f);
        fflush(f);
    }
    cm_buf_dispose(&line);
}

void cm_log(FILE *f, const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(f, prog, 0, fmt, ap);
    va_end(ap);
}

int cm_ratelimit_allow(cm_ratelimit_t *r, uint64_t now_ns, unsigned long *suppressed)
{
    uint64_t next = __atomic_load_n(&r->next_ns, __ATOMIC_ACQUIRE);
    /* one thread wins the slot of this second; the others count themselves as dropped */
    if (now_ns < next || !__atomic_compare_exchange_n(&r->next_ns, &next, now_ns + CM_RATELIMIT_INTERVAL_NS, 0,
                                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        __atomic_add_fetch(&r->suppressed, 1, __ATOMIC_RELAXED);
        return 0;
    }
    *suppressed = __atomic_exchange_n(&r->suppressed, 0, __ATOMIC_ACQ_REL);
    return 1;
}

void cm_log_limited(cm_ratelimit_t *r, FILE *f, const char *prog, const char *fmt, ...)
{
    unsigned long suppressed = 0;
    if (!cm_ratelimit_allow(r, cm_mono_ns(), &suppressed))
        return;
    va_list ap;
    va_start(ap, fmt);
    log_line(f, prog, suppressed, fmt, ap);
    va_end(ap);
}
