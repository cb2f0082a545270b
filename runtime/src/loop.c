/*
 * The invocation loop: GET /next, call the handler, POST its answer; repeat until SIGTERM or until the
 * Runtime API is gone for good. Also the process-wide signal plumbing: SIGTERM sets a flag and writes
 * to a self-pipe that every wait polls, so an idle runtime exits at once and a busy one finishes
 * its invocation first.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>
#include "internal.h"

volatile sig_atomic_t lrt__terminating;
volatile sig_atomic_t lrt__idle_fd = -1;
static int signal_pipe[2] = {-1, -1};

static void on_sigterm(int sig)
{
    (void)sig;
    int saved = errno;
    lrt__terminating = 1;
    int idle = lrt__idle_fd;
    if (idle >= 0)
        shutdown(idle, SHUT_RDWR); /* wakes the recv() of GET /next (async-signal-safe) */
    if (write(signal_pipe[1], "t", 1) < 0) {
        /* pipe full: a wake-up is already pending */
    }
    errno = saved;
}

int lrt__signal_fd(void)
{
    return signal_pipe[0];
}

void lrt__signal_drain(void)
{
    char buf[64];
    while (read(signal_pipe[0], buf, sizeof(buf)) > 0) {
    }
}

static int install_signals(void)
{
    if (signal_pipe[0] < 0 && pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigterm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    /* A Runtime API that closes the connection must not kill us with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int64_t lrt_remaining_ms(const lrt_invocation_t *inv)
{
    if (inv->deadline_ms <= 0)
        return INT64_MAX;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return inv->deadline_ms - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* The loop's own copy of one /next answer: swapped out of the client, since the client's capture
 * buffers are reused by every later call (a streamed response starts one while the handler runs). */
typedef struct event {
    lrt__buf_t body;
    lrt__buf_t headers[LRT__HDR_COUNT];
    int seen[LRT__HDR_COUNT];
} event_t;

static void take_event(event_t *ev, lrt__client_t *c)
{
    lrt__buf_t t = ev->body;
    ev->body = c->body;
    c->body = t;
    for (int i = 0; i < LRT__HDR_COUNT; i++) {
        t = ev->headers[i];
        ev->headers[i] = c->headers[i];
        c->headers[i] = t;
        ev->seen[i] = c->header_seen[i];
    }
}

static const char *header(const event_t *ev, lrt__hdr_t slot)
{
    return ev->seen[slot] ? ev->headers[slot].data : NULL;
}

/* Fills inv from ev. Returns 0, or LRT_EPROTOCOL when the request id is missing or unusable in a path. */
static int fill_invocation(lrt_invocation_t *inv, const event_t *ev)
{
    memset(inv, 0, sizeof(*inv));
    inv->payload = ev->body.data ? ev->body.data : "";
    inv->payload_len = ev->body.len;
    inv->request_id = header(ev, LRT__HDR_REQUEST_ID);
    if (inv->request_id == NULL || inv->request_id[0] == '\0' || strlen(inv->request_id) > 200)
        return LRT_EPROTOCOL;
    for (const char *p = inv->request_id; *p; p++)
        if (*p == '/' || *p == '?' || *p == '#' || *p == '%' || *p <= ' ' || *p > '~')
            return LRT_EPROTOCOL;
    const char *deadline = header(ev, LRT__HDR_DEADLINE);
    if (deadline != NULL) {
        char *end;
        errno = 0;
        long long ms = strtoll(deadline, &end, 10);
        inv->deadline_ms = (errno == 0 && end != deadline && *end == '\0' && ms > 0) ? ms : 0;
    }
    inv->function_arn = header(ev, LRT__HDR_FUNCTION_ARN);
    if (inv->function_arn == NULL)
        inv->function_arn = "";
    inv->trace_id = header(ev, LRT__HDR_TRACE_ID);
    inv->client_context = header(ev, LRT__HDR_CLIENT_CONTEXT);
    inv->cognito_identity = header(ev, LRT__HDR_COGNITO_IDENTITY);
    inv->tenant_id = header(ev, LRT__HDR_TENANT_ID);
    return 0;
}

/* Copies s into out with CR and LF replaced: a header value must stay one line. */
static void header_safe(char *out, size_t size, const char *s)
{
    snprintf(out, size, "%s", s);
    for (char *p = out; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
}

/* POSTs the recorded error to path (".../error" or "/init/error"). Returns a client_request() result. */
static int post_error(lrt__client_t *c, const char *path, const lrt_response_t *res)
{
    char headers[400];
    snprintf(headers, sizeof(headers), "Content-Type: application/json\r\nLambda-Runtime-Function-Error-Type: %s\r\n",
             lrt__response_error_type(res));
    char *json = lrt__response_error_json(res);
    if (json == NULL)
        return LRT_ENOMEM;
    int err = lrt__client_request(c, "POST", path, headers, json, strlen(json), 0);
    free(json);
    return err;
}

static int post_response(lrt__client_t *c, const char *path, const lrt_response_t *res)
{
    char type[400], headers[450];
    header_safe(type, sizeof(type), res->content_type ? res->content_type : "application/json");
    snprintf(headers, sizeof(headers), "Content-Type: %s\r\n", type);
    return lrt__client_request(c, "POST", path, headers, res->body.data ? res->body.data : "", res->body.len, 0);
}

/* Sends the handler's answer for request_id. Returns 0 (sent, or refused by the API: logged), or
 * LRT_ETRANSPORT when the Runtime API could not be reached. */
static int deliver(lrt__client_t *c, const char *request_id, lrt_response_t *res)
{
    char path[300];
    int err;
    if (res->kind == LRT__RES_STREAM) {
        err = lrt__stream_finish(res);
        snprintf(path, sizeof(path), "/invocation/%s/response", request_id);
    } else if (res->kind == LRT__RES_ERROR) {
        snprintf(path, sizeof(path), "/invocation/%s/error", request_id);
        err = post_error(c, path, res);
    } else {
        snprintf(path, sizeof(path), "/invocation/%s/response", request_id);
        err = post_response(c, path, res);
    }
    if (err == LRT_ENOMEM) {
        fprintf(stderr, "nearjs runtime: POST %s%s: out of memory building the request\n", c->base, path);
        return 0;
    }
    if (err != 0 && res->kind == LRT__RES_STREAM) {
        /* A stream cannot be replayed; a server that cut it (e.g. over its size limit) is not dead:
         * the next GET /next finds out. */
        fprintf(stderr, "nearjs runtime: POST %s%s (streaming): %s\n", c->base, path,
                c->error[0] ? c->error : lrt_strerror(err));
        lrt__client_close(c);
        return 0;
    }
    if (err != 0) {
        fprintf(stderr, "nearjs runtime: POST %s%s: %s\n", c->base, path, c->error);
        return LRT_ETRANSPORT;
    }
    if (c->status != 202 && c->status != 200)
        fprintf(stderr, "nearjs runtime: POST %s%s: refused with HTTP %ld: %.300s\n", c->base, path, c->status,
                c->body.data ? c->body.data : "");
    return 0;
}

/*
 * Sets _X_AMZN_TRACE_ID for this invocation (unset without one). setenv() would allocate a new
 * string for every new value and never free the old one (POSIX lets environ keep pointers to them),
 * so a warm instance would grow by each trace id it ever saw; instead one buffer of ours stays in
 * environ through putenv() and is rewritten in place.
 */
static void set_trace_env(const char *trace_id)
{
    static char entry[sizeof("_X_AMZN_TRACE_ID=") + 512];
    static int in_environ;
    const size_t prefix = sizeof("_X_AMZN_TRACE_ID=") - 1;

    if (trace_id == NULL || strlen(trace_id) >= sizeof(entry) - prefix) {
        unsetenv("_X_AMZN_TRACE_ID");
        in_environ = 0;
        if (trace_id != NULL)
            setenv("_X_AMZN_TRACE_ID", trace_id, 1); /* longer than any real trace header: rare */
        return;
    }
    memcpy(entry, "_X_AMZN_TRACE_ID=", prefix);
    memcpy(entry + prefix, trace_id, strlen(trace_id) + 1);
    if (!in_environ) {
        unsetenv("_X_AMZN_TRACE_ID"); /* drop a value inherited from the parent or set by setenv */
        putenv(entry);
        in_environ = 1;
    }
}

static int run_init(lrt__client_t *c, const lrt_options_t *opts)
{
    if (opts->init == NULL)
        return 0;
    lrt_response_t err;
    lrt__response_init(&err, NULL, NULL);
    opts->init(&err, opts->user);
    int failed = err.error_type != NULL;
    if (failed) {
        fprintf(stderr, "nearjs runtime: init failed: %s: %s\n", lrt__response_error_type(&err),
                err.error_message.data ? err.error_message.data : "");
        if (post_error(c, "/init/error", &err) != 0)
            fprintf(stderr, "nearjs runtime: POST %s/init/error: %s\n", c->base, c->error);
    }
    lrt__response_dispose(&err);
    return failed;
}

int lrt_run(const lrt_options_t *opts)
{
    if (opts == NULL || opts->handler == NULL) {
        fprintf(stderr, "nearjs runtime: no handler given to lrt_run()\n");
        return 2;
    }
    const char *endpoint = opts->endpoint ? opts->endpoint : getenv("AWS_LAMBDA_RUNTIME_API");
    if (endpoint == NULL || endpoint[0] == '\0') {
        fprintf(stderr, "nearjs runtime: AWS_LAMBDA_RUNTIME_API is not set: run this bootstrap in AWS Lambda or "
                        "under `nearjs-local invoke`\n");
        return 2;
    }
    lrt__client_t c;
    int err = lrt__client_init(&c, endpoint, opts->max_attempts);
    if (err != 0) {
        fprintf(stderr, "nearjs runtime: Runtime API endpoint '%.100s': %s\n", endpoint,
                err == LRT_EINVAL ? "not HOST:PORT" : lrt_strerror(err));
        lrt__client_dispose(&c);
        return 2;
    }
    if (install_signals() != 0) {
        fprintf(stderr, "nearjs runtime: cannot create the signal pipe: %s\n", strerror(errno));
        lrt__client_dispose(&c);
        return 2;
    }

    int status = 0;
    event_t ev;
    memset(&ev, 0, sizeof(ev));
    /* Same limits as the client's buffers: take_event() swaps them back and forth. */
    lrt__buf_init(&ev.body, c.body.limit);
    for (int i = 0; i < LRT__HDR_COUNT; i++)
        lrt__buf_init(&ev.headers[i], c.headers[i].limit);
    if (run_init(&c, opts)) {
        status = 1;
        goto done;
    }
    while (!lrt__terminating) {
        err = lrt__client_request(&c, "GET", "/invocation/next", NULL, NULL, 0, 1);
        if (err == LRT__INTERRUPTED)
            break;
        if (err != 0) {
            fprintf(stderr, "nearjs runtime: GET %s/invocation/next: %s; exiting\n", c.base, c.error);
            status = 1;
            break;
        }
        if (c.status != 200) {
            fprintf(stderr, "nearjs runtime: GET %s/invocation/next: unexpected HTTP %ld: %.300s; exiting\n", c.base,
                    c.status, c.body.data ? c.body.data : "");
            status = 1;
            break;
        }
        take_event(&ev, &c);
        lrt_invocation_t inv;
        if (fill_invocation(&inv, &ev) != 0) {
            fprintf(stderr,
                    "nearjs runtime: GET %s/invocation/next: answer without a usable "
                    "Lambda-Runtime-Aws-Request-Id; exiting\n",
                    c.base);
            status = 1;
            break;
        }
        set_trace_env(inv.trace_id);
        lrt__log_set_request_id(inv.request_id);

        lrt_response_t res;
        lrt__response_init(&res, &c, inv.request_id);
        opts->handler(&inv, &res, opts->user);
        err = deliver(&c, inv.request_id, &res);
        lrt__response_dispose(&res);
        lrt__log_set_request_id(NULL);
        if (err != 0) {
            status = 1;
            break;
        }
    }
done:
    lrt__buf_dispose(&ev.body);
    for (int i = 0; i < LRT__HDR_COUNT; i++)
        lrt__buf_dispose(&ev.headers[i]);
    lrt__client_dispose(&c);
    return status;
}

int lrt_main(lrt_handler_t handler, void *user)
{
    lrt_options_t opts = {.handler = handler, .user = user};
    return lrt_run(&opts);
}
