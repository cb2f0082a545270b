/*
 * The Runtime API server against a real client over loopback: exact answers on the wire, wrong uses
 * first (unknown id, second response, bad paths, broken HTTP), then a full invocation, streaming with
 * error trailers, 100-continue, and the payload cap. The client is a blocking socket; the server's
 * loop is turned by hand until a full answer has arrived.
 */
#include "local/rapi.h"
#include "check.h"
#include "common/error.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static h2o_loop_t *loop;
static nl_rapi_worker_t *worker;

/* what the callbacks saw */
static int idle_calls, idle_first, start_calls, result_calls, log_calls;
static char last_type[128], last_body[256], streamed[256];
static nl_rapi_outcome_t last_outcome;

static void on_idle(nl_rapi_worker_t *w, int first, void *u)
{
    (void)w, (void)u;
    idle_calls++;
    idle_first = first;
}
static void on_start(nl_rapi_worker_t *w, const char *id, void *u)
{
    (void)w, (void)id, (void)u;
    start_calls++;
}
static void on_stream(nl_rapi_worker_t *w, const char *id, const char *p, size_t n, void *u)
{
    (void)w, (void)id, (void)u;
    strncat(streamed, p, n < sizeof(streamed) - strlen(streamed) - 1 ? n : sizeof(streamed) - strlen(streamed) - 1);
}
static void on_result(nl_rapi_worker_t *w, const nl_rapi_result_t *r, void *u)
{
    (void)w, (void)u;
    result_calls++;
    last_outcome = r->outcome;
    snprintf(last_type, sizeof(last_type), "%s", r->error_type ? r->error_type : "");
    snprintf(last_body, sizeof(last_body), "%.*s", (int)(r->body_len < 255 ? r->body_len : 255), r->body);
}
static void on_log(nl_rapi_worker_t *w, const char *line, void *u)
{
    (void)w, (void)u, (void)line;
    log_calls++;
}

static int connect_worker(void)
{
    const char *addr = nl_rapi_worker_address(worker);
    long port = strtol(strchr(addr, ':') + 1, NULL, 10);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("connect");
        exit(1);
    }
    return fd;
}

/* Sends req, turns the loop until a complete response (head + Content-Length body) or EOF is in.
 * Returns the raw response (static buffer). */
static const char *exchange(int fd, const char *req, size_t len)
{
    static char buf[1 << 16];
    size_t got = 0;
    if (len != 0 && write(fd, req, len) != (ssize_t)len) {
        perror("write");
        exit(1);
    }
    for (int spins = 0; spins < 500; spins++) {
        h2o_evloop_run(loop, 5);
        ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, MSG_DONTWAIT);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0)
            break;
        buf[got] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end != NULL && strncmp(buf, "HTTP/1.1 100", 12) != 0) {
            char *cl = strstr(buf, "Content-Length: ");
            if (cl != NULL && got >= (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10))
                break;
        } else if (end != NULL) {
            /* a 100 Continue: drop it, wait for the real answer */
            size_t skip = (size_t)(end + 4 - buf);
            memmove(buf, buf + skip, got - skip);
            got -= skip;
            buf[got] = '\0';
            return buf; /* caller sends the body next */
        }
    }
    buf[got] = '\0';
    return buf;
}

static void expect_has(int line, const char *got, const char *want)
{
    CHECK(!(strstr(got, want) == NULL), "line %d: response lacks '%s'; got:\n%s", line, want, got);
}
#define HAS(got, want) expect_has(__LINE__, got, want)

static const char *send_str(int fd, const char *s)
{
    return exchange(fd, s, strlen(s));
}

static const char *post(int fd, const char *path, const char *headers, const char *body)
{
    char req[4096];
    snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %zu\r\n\r\n%s", path, headers,
             strlen(body), body);
    return send_str(fd, req);
}

int main(void)
{
    loop = h2o_evloop_create();
    nl_rapi_config_t cfg = {.function_name = "fn", .region = "eu-west-1", .max_response = 100};
    nl_rapi_callbacks_t cb = {on_idle, on_start, on_stream, on_result, on_log};
    if (nl_rapi_worker_new(loop, &cfg, &cb, NULL, &worker) != 0) {
        fprintf(stderr, "cannot start the worker\n");
        return 1;
    }
    int fd = connect_worker();
    const char *r;

    /* wrong uses first */
    r = send_str(fd, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    HAS(r, "HTTP/1.1 404 Not Found\r\n");
    HAS(r, "{\"errorMessage\":\"Not Found\",\"errorType\":\"NotFound\"}");
    r = post(fd, "/2018-06-01/runtime/invocation/nope/response", "", "x");
    HAS(r, "HTTP/1.1 403 Forbidden\r\n");
    HAS(r, "State transition from Started to InvocationResponse failed for runtime.");
    r = send_str(fd, "PUT /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n");
    HAS(r, "HTTP/1.1 405 ");
    CHECK(!(log_calls != 3), "want one log line per misuse, got %d", log_calls);
    int bad = connect_worker();
    r = send_str(bad, "GARBAGE\r\n\r\n");
    HAS(r, "HTTP/1.1 400 Bad Request\r\n");
    HAS(r, "Connection: close");
    close(bad);
    bad = connect_worker();
    r = send_str(bad, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    HAS(r, "HTTP/1.1 400 ");
    close(bad);

    /* a GET /next parks until an event comes */
    r = send_str(fd, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(!(r[0] != '\0' || idle_calls != 1 || !idle_first),
          "GET /next should park and report idle (first): got '%s', idle %d/%d", r, idle_calls, idle_first);
    char id[NL_REQUEST_ID_SIZE];
    nl_rapi_event_t ev = {.payload = "{\"k\":1}", .payload_len = 7, .deadline_ms = 1234567890123ull};
    CHECK(!(nl_rapi_worker_invoke(worker, &ev, id) != 0 || nl_rapi_worker_invoke(worker, &ev, id) != CM_EBUSY),
          "invoke / busy");
    r = exchange(fd, "", 0);
    HAS(r, "HTTP/1.1 200 OK\r\n");
    HAS(r, "Content-Type: application/json\r\n");
    HAS(r, "Lambda-Runtime-Deadline-Ms: 1234567890123\r\n");
    HAS(r, "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:eu-west-1:123456789012:function:fn\r\n");
    HAS(r, "Lambda-Runtime-Trace-Id: Root=1-");
    HAS(r, "\r\n\r\n{\"k\":1}");
    char want_id[80];
    snprintf(want_id, sizeof(want_id), "Lambda-Runtime-Aws-Request-Id: %s\r\n", id);
    HAS(r, want_id);
    CHECK(start_calls == 1, "on_start called %d times, want 1", start_calls);

    /* while running: a wrong id is 400, init/error is 403 */
    r = post(fd, "/2018-06-01/runtime/invocation/00000000-0000-4000-8000-000000000000/response", "", "x");
    HAS(r, "HTTP/1.1 400 Bad Request\r\n");
    HAS(r, "{\"errorMessage\":\"Invalid request ID\",\"errorType\":\"InvalidRequestID\"}");
    r = post(fd, "/2018-06-01/runtime/init/error", "", "{}");
    HAS(r, "HTTP/1.1 403 ");
    HAS(r, "State transition from Running to InitError");

    /* a streamed response ending with error trailers, trickled in three writes */
    char path[128], head[512];
    snprintf(path, sizeof(path), "/2018-06-01/runtime/invocation/%s/response", id);
    snprintf(head, sizeof(head),
             "POST %s HTTP/1.1\r\nLambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n"
             "Expect: 100-continue\r\n\r\n",
             path);
    r = send_str(fd, head);
    HAS(r, ""); /* the 100 Continue was swallowed by exchange */
    exchange(fd, "3\r\nabc\r\n", 8);
    r = send_str(fd, "0\r\nLambda-Runtime-Function-Error-Type: Boom\r\nLambda-Runtime-Function-Error-Body: "
                     "eyJlcnJvclR5cGUiOiJCb29tIn0=\r\n\r\n");
    HAS(r, "HTTP/1.1 202 Accepted\r\n");
    HAS(r, "{\"status\":\"OK\"}");
    CHECK(!(result_calls != 1 || last_outcome != NL_RAPI_ERROR || strcmp(last_type, "Boom") != 0 ||
            strcmp(last_body, "{\"errorType\":\"Boom\"}") != 0 || strcmp(streamed, "abc") != 0),
          "stream error: results %d outcome %d type '%s' body '%s' streamed '%s'", result_calls, last_outcome,
          last_type, last_body, streamed);
    /* a second answer for the same invocation */
    r = post(fd, path, "", "again");
    HAS(r, "HTTP/1.1 403 Forbidden\r\n");
    HAS(r, "\"errorType\":\"InvalidStateTransition\"");
    HAS(r, "State transition from RuntimeResponseSentState to InvocationResponse failed for runtime. Error: State "
           "transition is not allowed");

    /* next invocation: over the (test's 100-byte) cap */
    r = send_str(fd, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n");
    CHECK(!(idle_calls != 2 || idle_first), "second idle: %d/%d", idle_calls, idle_first);
    nl_rapi_worker_invoke(worker, &ev, id);
    exchange(fd, "", 0);
    snprintf(path, sizeof(path), "/2018-06-01/runtime/invocation/%s/response", id);
    char big[300];
    memset(big, 'a', 101);
    big[101] = '\0';
    r = post(fd, path, "", big);
    HAS(r, "HTTP/1.1 413 Payload Too Large\r\n");
    HAS(r, "{\"errorMessage\":\"Exceeded maximum allowed payload size (100 bytes).\",\"errorType\":"
           "\"RequestEntityTooLarge\"}");
    CHECK(!(result_calls != 2 || last_outcome != NL_RAPI_ERROR ||
            strcmp(last_type, "Function.ResponseSizeTooLarge") != 0 ||
            strstr(last_body, "Response payload size (101 bytes) exceeded maximum allowed payload size (100 bytes).") ==
                NULL),
          "too large: outcome %d type '%s' body '%s'", last_outcome, last_type, last_body);

    /* third: a plain response, exactly at the cap, over keep-alive */
    send_str(fd, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n");
    nl_rapi_worker_invoke(worker, &ev, id);
    exchange(fd, "", 0);
    snprintf(path, sizeof(path), "/2018-06-01/runtime/invocation/%s/response", id);
    big[100] = '\0';
    r = post(fd, path, "", big);
    HAS(r, "HTTP/1.1 202 Accepted\r\n");
    CHECK(!(result_calls != 3 || last_outcome != NL_RAPI_RESPONSE || strlen(last_body) != 100),
          "at the cap: outcome %d body %zu bytes", last_outcome, strlen(last_body));

    close(fd);
    nl_rapi_worker_free(worker);
    h2o_evloop_run(loop, 0);
    h2o_evloop_destroy(loop);
    return check_done("local_rapi");
}
