/*
 * echo-bootstrap: the runtime's example. Answers each invocation with its own event.
 * Set ECHO_REPEAT=N to answer the event N times over (an answer bigger than any event), ECHO_DELAY_MS to make each
 * invocation take that long (a slow handler), ECHO_STREAM=1 to answer through the streaming API instead (in pieces of
 * ECHO_CHUNK bytes), and send an event containing "fail" in it to get a handler error: both exist so the tests and the
 * benchmark can drive every path of the runtime through one small program.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "nearjs/runtime.h"

typedef struct echo_config {
    int stream;
    size_t chunk;
    size_t repeat;
    long delay_ms;
    int fail_init;
} echo_config_t;

static void init(lrt_response_t *err, void *user)
{
    echo_config_t *cfg = user;
    if (cfg->fail_init)
        lrt_response_fail(err, "Runtime.InitError", "echo: ECHO_FAIL_INIT is set");
}

static void handle(const lrt_invocation_t *inv, lrt_response_t *res, void *user)
{
    echo_config_t *cfg = user;
    /* What an X-Ray SDK would read; logged so tests can see the runtime set it for this invocation. */
    const char *trace = getenv("_X_AMZN_TRACE_ID");
    lrt_log(LRT_LOG_DEBUG, "echo: %zu bytes, _X_AMZN_TRACE_ID=%s", inv->payload_len, trace ? trace : "(unset)");
    if (cfg->delay_ms > 0) {
        struct timespec ts = {.tv_sec = cfg->delay_ms / 1000, .tv_nsec = (cfg->delay_ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) != 0) {
            /* a signal (SIGTERM) interrupted the sleep: a handler finishes its work regardless */
        }
    }
    if (memmem(inv->payload, inv->payload_len, "\"crash\"", 7) != NULL)
        raise(SIGABRT);
    if (memmem(inv->payload, inv->payload_len, "\"fail\"", 6) != NULL) {
        lrt_response_fail(res, "Echo.Failed", "the event asked to fail (request %s)", inv->request_id);
        return;
    }
    if (!cfg->stream && cfg->repeat > 1) {
        char *body = malloc(inv->payload_len * cfg->repeat);
        if (body == NULL) {
            lrt_response_fail(res, "Echo.NoMemory", "cannot repeat %zu bytes %zu times", inv->payload_len, cfg->repeat);
            return;
        }
        for (size_t i = 0; i < cfg->repeat; i++)
            memcpy(body + i * inv->payload_len, inv->payload, inv->payload_len);
        lrt_response_set(res, body, inv->payload_len * cfg->repeat, "application/json");
        free(body);
        return;
    }
    if (!cfg->stream) {
        lrt_response_set(res, inv->payload, inv->payload_len, "application/json");
        return;
    }
    if (lrt_stream_begin(res, "application/json") != 0)
        return;
    for (size_t off = 0; off < inv->payload_len; off += cfg->chunk) {
        size_t n = inv->payload_len - off < cfg->chunk ? inv->payload_len - off : cfg->chunk;
        if (lrt_stream_write(res, inv->payload + off, n) != 0)
            return;
    }
    if (memmem(inv->payload, inv->payload_len, "\"fail-midstream\"", 16) != NULL)
        lrt_response_fail(res, "Echo.FailedMidStream", "failed after %zu bytes", inv->payload_len);
}

int main(void)
{
    const char *chunk = getenv("ECHO_CHUNK");
    echo_config_t cfg = {
        .stream = getenv("ECHO_STREAM") != NULL && strcmp(getenv("ECHO_STREAM"), "1") == 0,
        .chunk = chunk != NULL ? strtoul(chunk, NULL, 10) : 4096,
        .repeat = getenv("ECHO_REPEAT") != NULL ? strtoul(getenv("ECHO_REPEAT"), NULL, 10) : 1,
        .delay_ms = getenv("ECHO_DELAY_MS") != NULL ? strtol(getenv("ECHO_DELAY_MS"), NULL, 10) : 0,
        .fail_init = getenv("ECHO_FAIL_INIT") != NULL,
    };
    if (cfg.chunk == 0)
        cfg.chunk = 4096;
    lrt_options_t opts = {.handler = handle, .init = init, .user = &cfg};
    return lrt_run(&opts);
}
