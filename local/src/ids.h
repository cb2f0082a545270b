/*
 * Identifiers Lambda hands out: request ids (UUID v4), X-Ray trace ids, log stream names.
 * Random bytes come from getrandom(2); on the (never seen) failure they fall back to a weaker mix of
 * the clock and pid, since an emulator's ids need to be unique, not secret.
 */
#ifndef NEARJS_LOCAL_IDS_H
#define NEARJS_LOCAL_IDS_H

#include <stddef.h>
#include <stdint.h>

/* Fills n random bytes. */
void nl__random(void *out, size_t n);
/* Writes a random UUID v4 in lowercase, 36 characters and a NUL. */
void nl__uuid4(char out[37]);
/* Room for "Root=1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx;Parent=xxxxxxxxxxxxxxxx;Sampled=0" and a NUL. */
#define NL__TRACE_ID_SIZE 80
/* Writes a new X-Ray trace header value whose Root carries epoch_s, as Lambda's does. */
void nl__trace_id(char out[NL__TRACE_ID_SIZE], uint64_t epoch_s);
/* Room for "YYYY/MM/DD/[$LATEST]" plus 32 hex digits and a NUL. */
#define NL__LOG_STREAM_SIZE 64
/* Writes a log stream name as Lambda makes them: "2026/01/02/[$LATEST]<32 hex digits>". */
void nl__log_stream_name(char out[NL__LOG_STREAM_SIZE], uint64_t epoch_ms, const char *version);

#endif
