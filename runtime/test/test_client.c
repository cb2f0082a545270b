/*
 * Unit tests of client.c and loop.c's parsing: Runtime API answers fed through a socketpair whole,
 * trickled one byte at a time (by a child process), malformed and oversized; header lookup; base64;
 * turning /next's headers into an lrt_invocation_t. Includes the sources to reach their statics.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "../src/loop.c"

/* Feeds wire to a client over a socketpair (trickled: one byte per write from a child process) and
 * reads one answer. Returns lrt__client_read_answer()'s result; the client keeps what it parsed. */
static int feed(lrt__client_t *c, const char *wire, size_t len, int trickle)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return -100;
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        for (size_t i = 0; i < len;) {
            size_t n = trickle ? 1 : len - i;
            ssize_t w = write(sv[1], wire + i, n);
            if (w <= 0)
                _exit(1);
            i += (size_t)w;
        }
        close(sv[1]);
        _exit(0);
    }
    close(sv[1]);
    lrt__client_close(c);
    c->fd = sv[0];
    int ret = lrt__client_read_answer(c, 0);
    lrt__client_close(c);
    int status;
    waitpid(pid, &status, 0);
    return ret;
}

static void test_answers(void)
{
    static const struct {
        const char *name;
        const char *wire;
        int want_ret;
        long want_status;
        const char *want_body;
        const char *want_request_id;
    } cases[] = {
        {"content-length", "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: abc\r\nContent-Length: 5\r\n\r\nhello", 0,
         200, "hello", "abc"},
        {"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n", 0, 200,
         "hello", NULL},
        {"close-delimited", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello", 0, 200, "hello", NULL},
        {"header case and spaces",
         "HTTP/1.1 200 OK\r\nlambda-runtime-aws-request-id:   id-1  \r\nContent-Length: 0\r\n\r\n", 0, 200, "", "id-1"},
        {"repeated header: last wins",
         "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: a\r\nLambda-Runtime-Aws-Request-Id: b\r\n"
         "Content-Length: 0\r\n\r\n",
         0, 200, "", "b"},
        {"status 500", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\n{}", 0, 500, "{}", NULL},
        {"status 202", "HTTP/1.1 202 Accepted\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}", 0, 202,
         "{\"status\":\"OK\"}", NULL},
        {"closed early", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel", LRT_ETRANSPORT, 0, NULL, NULL},
        {"closed before answering", "", LRT_ETRANSPORT, 0, NULL, NULL},
        {"garbage", "SMTP ready\r\n\r\n", LRT_ETRANSPORT, 0, NULL, NULL},
        {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", LRT_ETRANSPORT, 0, NULL,
         NULL},
        {"NUL in header", "HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 0\r\n\r\n", LRT_ETRANSPORT, 0, NULL, NULL},
    };
    for (int trickle = 0; trickle <= 1; trickle++) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            lrt__client_t c;
            lrt__client_init(&c, "127.0.0.1:9", 1);
            size_t len = strlen(cases[i].wire);
            if (strcmp(cases[i].name, "NUL in header") == 0)
                len = 46;
            int ret = feed(&c, cases[i].wire, len, trickle);
            CHECK(ret == cases[i].want_ret, "%s (trickle %d): ret %d, want %d (%s)", cases[i].name, trickle, ret,
                  cases[i].want_ret, c.error);
            if (ret == 0) {
                CHECK(c.status == cases[i].want_status, "%s: status %ld", cases[i].name, c.status);
                CHECK(strcmp(c.body.data ? c.body.data : "", cases[i].want_body) == 0, "%s: body '%s'", cases[i].name,
                      c.body.data);
                const char *id = c.header_seen[LRT__HDR_REQUEST_ID] ? c.headers[LRT__HDR_REQUEST_ID].data : NULL;
                CHECK((id == NULL && cases[i].want_request_id == NULL) ||
                          (id != NULL && cases[i].want_request_id != NULL && strcmp(id, cases[i].want_request_id) == 0),
                      "%s: request id '%s'", cases[i].name, id ? id : "(none)");
            }
            lrt__client_dispose(&c);
        }
    }
}

static void test_oversized(void)
{
    lrt__client_t c;
    lrt__client_init(&c, "127.0.0.1:9", 1);
    char head[128];
    size_t body = 16 * 1024 * 1024 + 1;
    int n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", body);
    char *wire = malloc((size_t)n + body);
    memcpy(wire, head, (size_t)n);
    memset(wire + n, 'x', body);
    CHECK(feed(&c, wire, (size_t)n + body, 0) == LRT_ETRANSPORT, "a body over the limit is refused");
    CHECK(strstr(c.error, "answer body over") != NULL, "and says why: %s", c.error);
    free(wire);

    char big_header[8192 + 200];
    n = snprintf(big_header, sizeof(big_header), "HTTP/1.1 200 OK\r\nLambda-Runtime-Trace-Id: ");
    memset(big_header + n, 'a', 8192 + 10);
    memcpy(big_header + n + 8192 + 10, "\r\n\r\n", 4);
    CHECK(feed(&c, big_header, (size_t)n + 8192 + 14, 0) == LRT_ETRANSPORT, "a header over the limit");
    lrt__client_dispose(&c);
}

static void test_endpoints(void)
{
    static const struct {
        const char *endpoint;
        int want;
        const char *host;
        const char *port;
    } cases[] = {
        {"127.0.0.1:9001", 0, "127.0.0.1", "9001"},
        {"localhost:1", 0, "localhost", "1"},
        {"[::1]:9001", 0, "::1", "9001"},
        {"127.0.0.1", LRT_EINVAL, NULL, NULL},
        {"127.0.0.1:", LRT_EINVAL, NULL, NULL},
        {":9001", LRT_EINVAL, NULL, NULL},
        {"http://127.0.0.1:9001", LRT_EINVAL, NULL, NULL},
        {"127.0.0.1:90a1", LRT_EINVAL, NULL, NULL},
        {"host name:1", LRT_EINVAL, NULL, NULL},
        {"", LRT_EINVAL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lrt__client_t c;
        int ret = lrt__client_init(&c, cases[i].endpoint, 0);
        CHECK(ret == cases[i].want, "endpoint '%s': %d", cases[i].endpoint, ret);
        if (ret == 0)
            CHECK(strcmp(c.host, cases[i].host) == 0 && strcmp(c.port, cases[i].port) == 0, "endpoint '%s': %s %s",
                  cases[i].endpoint, c.host, c.port);
        lrt__client_dispose(&c);
    }
}

static void test_base64(void)
{
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {{"", ""},
                 {"f", "Zg=="},
                 {"fo", "Zm8="},
                 {"foo", "Zm9v"},
                 {"foob", "Zm9vYg=="},
                 {"fooba", "Zm9vYmE="},
                 {"foobar", "Zm9vYmFy"},
                 {"\xff\xfe\xfd", "//79"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[32];
        lrt__base64(out, cases[i].in, strlen(cases[i].in));
        CHECK(strcmp(out, cases[i].want) == 0, "base64('%s') = '%s', want '%s'", cases[i].in, out, cases[i].want);
    }
}

static void test_fill_invocation(void)
{
    static const struct {
        const char *request_id;
        const char *deadline;
        int want;
        int64_t want_deadline;
    } cases[] = {
        {"8476a536-e9f4-11e8-9739-2dfe598c3fcd", "1542409706888", 0, 1542409706888},
        {"id", NULL, 0, 0},
        {"id", "not a number", 0, 0},
        {"id", "-5", 0, 0},
        {"id", "123abc", 0, 0},
        {NULL, "1", LRT_EPROTOCOL, 0},
        {"", "1", LRT_EPROTOCOL, 0},
        {"../../init/error", "1", LRT_EPROTOCOL, 0},
        {"a b", "1", LRT_EPROTOCOL, 0},
        {"id?x=1", "1", LRT_EPROTOCOL, 0},
        {"%2e%2e", "1", LRT_EPROTOCOL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        event_t ev;
        memset(&ev, 0, sizeof(ev));
        lrt__buf_init(&ev.body, 100);
        for (int h = 0; h < LRT__HDR_COUNT; h++)
            lrt__buf_init(&ev.headers[h], 100);
        if (cases[i].request_id) {
            lrt__buf_append(&ev.headers[LRT__HDR_REQUEST_ID], cases[i].request_id, strlen(cases[i].request_id));
            ev.seen[LRT__HDR_REQUEST_ID] = 1;
        }
        if (cases[i].deadline) {
            lrt__buf_append(&ev.headers[LRT__HDR_DEADLINE], cases[i].deadline, strlen(cases[i].deadline));
            ev.seen[LRT__HDR_DEADLINE] = 1;
        }
        lrt_invocation_t inv;
        int ret = fill_invocation(&inv, &ev);
        CHECK(ret == cases[i].want, "request id '%s': %d", cases[i].request_id ? cases[i].request_id : "(none)", ret);
        if (ret == 0) {
            CHECK(inv.deadline_ms == cases[i].want_deadline, "deadline '%s': %lld", cases[i].deadline,
                  (long long)inv.deadline_ms);
            CHECK(inv.payload != NULL && inv.payload_len == 0, "an empty payload is \"\", not NULL");
            CHECK(inv.trace_id == NULL && inv.client_context == NULL, "absent optional headers are NULL");
            CHECK(lrt_remaining_ms(&inv) == (inv.deadline_ms ? lrt_remaining_ms(&inv) : INT64_MAX), "remaining");
        }
        lrt__buf_dispose(&ev.body);
        for (int h = 0; h < LRT__HDR_COUNT; h++)
            lrt__buf_dispose(&ev.headers[h]);
    }
}

int main(void)
{
    test_answers();
    test_oversized();
    test_endpoints();
    test_base64();
    test_fill_invocation();
    return check_done("test_client");
}
