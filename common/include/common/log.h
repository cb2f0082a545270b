/*
 * Time stamps and one-line logging for programs (libraries never print: they take a callback and
 * the program routes it here). Lines go to a stdio stream in one fwrite so that lines of a child
 * sharing the same stderr do not interleave mid-line.
 */
#ifndef NEARJS_COMMON_LOG_H
#define NEARJS_COMMON_LOG_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Room for "2026-01-02T03:04:05.678Z" and its NUL. */
#define CM_TIMESTAMP_SIZE 25

/* Wall clock, milliseconds since the epoch. Thread-safe. */
uint64_t cm_epoch_ms(void);
/* Monotonic clock in nanoseconds, for durations. Thread-safe. */
uint64_t cm_mono_ns(void);
/* Writes the UTC time epoch_ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (CM_TIMESTAMP_SIZE bytes). */
void cm_timestamp(char out[CM_TIMESTAMP_SIZE], uint64_t epoch_ms);
/* Writes "TIMESTAMP prog: message\n" to f (a message ending in a newline keeps just the one). */
void cm_log(FILE *f, const char *prog, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A rate limit for one kind of log line: at most one line a second, and that line says how many like it
 * were dropped since the one before (nginx and the kernel's printk_ratelimit do the same), so a fault that
 * repeats per request or per wakeup (a full descriptor table) cannot fill a disk. Zero-initialise it
 * (CM_RATELIMIT_INIT or a calloc'ed struct). Thread-safe (atomics). */
typedef struct cm_ratelimit {
    uint64_t next_ns;         /* monotonic time from which the next line may go out */
    unsigned long suppressed; /* lines dropped since the last one written */
} cm_ratelimit_t;
#define CM_RATELIMIT_INIT                                                                                              \
    {                                                                                                                  \
        0, 0                                                                                                           \
    }
#define CM_RATELIMIT_INTERVAL_NS 1000000000ull

/* Returns 1 when a line may be written at now_ns (monotonic), with *suppressed set to the number of lines
 * dropped since the previous one written (and that count reset); 0 when this line is to be dropped (it is
 * counted). */
int cm_ratelimit_allow(cm_ratelimit_t *r, uint64_t now_ns, unsigned long *suppressed);
/* cm_log through r: writes the line when r allows it, with " (N similar line(s) suppressed)" appended
 * when some were dropped since the last one; drops it otherwise. */
void cm_log_limited(cm_ratelimit_t *r, FILE *f, const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#ifdef __cplusplus
}
#endif

#endif
