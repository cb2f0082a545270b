/*
 * Request ids, trace ids and log stream names (see ids.h).
 */
#include "ids.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void nl__random(void *out, size_t n)
{
    unsigned char *p = out;
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got == n)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)getpid();
    for (; got < n; got++) {
        x ^= x << 13; /* xorshift64 */
        x ^= x >> 7;
        x ^= x << 17;
        p[got] = (unsigned char)x;
    }
}

static void hex(char *out, const unsigned char *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
}

void nl__uuid4(char out[37])
{
    unsigned char b[16];
    nl__random(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    char h[32];
    hex(h, b, 16);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

void nl__trace_id(char out[NL__TRACE_ID_SIZE], uint64_t epoch_s)
{
    unsigned char b[20];
    nl__random(b, sizeof(b));
    char h[40];
    hex(h, b, 20);
    snprintf(out, NL__TRACE_ID_SIZE, "Root=1-%08x-%.24s;Parent=%.16s;Sampled=0", (unsigned)(epoch_s & 0xffffffffu), h,
             h + 24);
}

void nl__log_stream_name(char out[NL__LOG_STREAM_SIZE], uint64_t epoch_ms, const char *version)
{
    time_t secs = (time_t)(epoch_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    unsigned char b[16];
    nl__random(b, sizeof(b));
    char h[33];
    hex(h, b, 16);
    h[32] = '\0';
    /* the modulos only bound the widths for the compiler: real dates are unchanged */
    snprintf(out, NL__LOG_STREAM_SIZE, "%04u/%02u/%02u/[%.8s]%s", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u, version, h);
}
