/*
 * apigw-bootstrap: a test function for start-api / start-lambda, steered by the request path of its API
 * Gateway event (rawPath for 2.0, path for 1.0):
 *   /answer        the request body is the answer, verbatim (any answer document a test wants to try)
 *   /binary        answers the request body back, base64 (binary round trip)
 *   /sleep/MS      sleeps MS milliseconds, then answers 200 "slept"
 *   /crash         aborts (SIGABRT) mid-invocation
 *   /fail          a handler error (Test.Failed)
 *   /pid           answers 200 with this runtime's pid as the body
 *   /env/NAME      answers 200 with the value of the variable NAME (or "(unset)")
 *   anything else  200 application/json whose body is the event itself
 * An event without a path (start-lambda) is answered as is, "crash" in it aborts, "fail" fails.
 * It logs one line per invocation ("apigw-bootstrap: PATH") for the log-tail tests.
 */
#include "nearjs/runtime.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void answer(lrt_response_t *res, json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(doc);
    if (s == NULL) {
        lrt_response_fail(res, "Test.NoMemory", "cannot render the answer");
        return;
    }
    lrt_response_set(res, s, strlen(s), "application/json");
    free(s);
}

static void handle(const lrt_invocation_t *inv, lrt_response_t *res, void *user)
{
    (void)user;
    json_t *ev = json_loadb(inv->payload, inv->payload_len, JSON_DECODE_ANY, NULL);
    const char *path = json_string_value(json_object_get(ev, "rawPath"));
    if (path == NULL)
        path = json_string_value(json_object_get(ev, "path"));
    fprintf(stderr, "apigw-bootstrap: %s\n", path != NULL ? path : "(no path)");
    if (path == NULL) {
        json_decref(ev);
        if (memmem(inv->payload, inv->payload_len, "crash", 5) != NULL)
            abort();
        if (memmem(inv->payload, inv->payload_len, "fail", 4) != NULL) {
            lrt_response_fail(res, "Test.Failed", "asked to fail");
            return;
        }
        lrt_response_set(res, inv->payload, inv->payload_len, "application/json");
        return;
    }
    json_t *body = json_object_get(ev, "body");
    if (strcmp(path, "/answer") == 0) {
        const char *b = json_string_value(body);
        lrt_response_set(res, b != NULL ? b : "", b != NULL ? json_string_length(body) : 0, "application/json");
    } else if (strcmp(path, "/binary") == 0) {
        answer(res, json_pack("{s:i, s:{s:s}, s:O?, s:O?}", "statusCode", 200, "headers", "content-type",
                              "application/octet-stream", "body", body, "isBase64Encoded",
                              json_object_get(ev, "isBase64Encoded")));
    } else if (strncmp(path, "/sleep/", 7) == 0) {
        long ms = strtol(path + 7, NULL, 10);
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) != 0) {
        }
        answer(res, json_pack("{s:i, s:s}", "statusCode", 200, "body", "slept"));
    } else if (strcmp(path, "/crash") == 0) {
        abort();
    } else if (strcmp(path, "/fail") == 0) {
        lrt_response_fail(res, "Test.Failed", "asked to fail");
    } else if (strcmp(path, "/pid") == 0) {
        char pid[32];
        snprintf(pid, sizeof(pid), "%d", (int)getpid());
        answer(res, json_pack("{s:i, s:s}", "statusCode", 200, "body", pid));
    } else if (strncmp(path, "/env/", 5) == 0) {
        const char *v = getenv(path + 5);
        answer(res, json_pack("{s:i, s:s}", "statusCode", 200, "body", v != NULL ? v : "(unset)"));
    } else {
        answer(res, json_pack("{s:i, s:{s:s}, s:s%}", "statusCode", 200, "headers", "content-type", "application/json",
                              "body", inv->payload, inv->payload_len));
    }
    json_decref(ev);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    return lrt_main(handle, NULL);
}
