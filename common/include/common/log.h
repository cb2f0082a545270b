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

#ifdef __cplusplus
}
#endif

#endif
