/* edge_answer: the upstream answer's framing (answer.c), table-driven. Every case runs whole (one read) and
 * trickled (one byte a read, or 1/64th of a large input), as proxy.c drives it: head first (interim answers
 * dropped), then the body, then the close if the bytes run out. */
#include "answer.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

enum outcome { COMPLETE, TRUNCATED, FAILED };
static const char *const outcome_names[] = {"complete", "truncated", "failed"};

struct case_ {
    const char *name;
    int is_head;
    const char *in;
    enum outcome want;
    int status;
    const char *body;       /* COMPLETE: the body taken */
    int keepalive;          /* COMPLETE: whole */
    int keepalive_trickled; /* COMPLETE: trickled (bytes after the answer arrive after it there) */
    size_t headers;         /* COMPLETE: headers parsed */
    const char *error;      /* FAILED: a->error */
};

static const struct case_ cases[] = {
    {"length", 0, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", COMPLETE, 200, "hello", 1, 1, 1, NULL},
    {"length zero", 0, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", COMPLETE, 200, "", 1, 1, 1, NULL},
    {"length, bytes after it", 0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiXX", COMPLETE, 200, "hi", 0, 1, 1,
     NULL},
    {"length, last of two wins", 0, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nContent-Length: 1\r\n\r\nx", COMPLETE, 200,
     "x", 1, 1, 2, NULL},
    {"length invalid", 0, "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nx", FAILED, 0, NULL, 0, 0, 0,
     "invalid content-length in the answer"},
    {"length truncated", 0, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", TRUNCATED, 0, NULL, 0, 0, 0, NULL},
    {"chunked", 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
     COMPLETE, 200, "hello world", 1, 1, 1, NULL},
    {"chunked with trailer", 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
     COMPLETE, 200, "abc", 1, 1, 1, NULL},
    {"chunked, bytes after it", 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\nZZ",
     COMPLETE, 200, "a", 0, 1, 1, NULL},
    {"chunked wins over length", 0,
     "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", COMPLETE, 200,
     "ok", 1, 1, 2, NULL},
    {"chunked invalid", 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", FAILED, 0, NULL, 0, 0, 0,
     "invalid chunked encoding in the answer"},
    {"chunked truncated", 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", TRUNCATED, 0, NULL, 0, 0,
     0, NULL},
    {"until close", 0, "HTTP/1.1 200 OK\r\n\r\nabc", COMPLETE, 200, "abc", 0, 0, 0, NULL},
    {"until close, coding not chunked", 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b", COMPLETE, 200,
     "\x1f\x8b", 0, 0, 1, NULL},
    {"HTTP/1.0 closes", 0, "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", COMPLETE, 200, "x", 0, 0, 1, NULL},
    {"HTTP/1.0 keep-alive", 0, "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx", COMPLETE, 200,
     "x", 1, 1, 2, NULL},
    {"HTTP/1.1 close", 0, "HTTP/1.1 200 OK\r\nConnection: foo, close\r\nContent-Length: 1\r\n\r\nx", COMPLETE, 200, "x",
     0, 0, 2, NULL},
    {"HEAD has no body", 1, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", COMPLETE, 200, "", 1, 1, 1, NULL},
    {"HEAD, chunked named", 1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", COMPLETE, 200, "", 1, 1, 1,
     NULL},
    {"204", 0, "HTTP/1.1 204 No Content\r\n\r\n", COMPLETE, 204, "", 1, 1, 0, NULL},
    {"304 with a length", 0, "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n", COMPLETE, 304, "", 1, 1, 1,
     NULL},
    {"100 then 200", 0, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", COMPLETE, 200,
     "ok", 1, 1, 1, NULL},
    {"103 and 100 then 201", 0,
     "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
     "Content-Length: 0\r\n\r\n",
     COMPLETE, 201, "", 1, 1, 1, NULL},
    {"101 is final", 0, "HTTP/1.1 101 Switching Protocols\r\nContent-Length: 0\r\n\r\n", COMPLETE, 101, "", 1, 1, 1,
     NULL},
    {"interim only", 0, "HTTP/1.1 100 Continue\r\n\r\n", TRUNCATED, 0, NULL, 0, 0, 0, NULL},
    {"head truncated", 0, "HTTP/1.1 200 OK\r\nConte", TRUNCATED, 0, NULL, 0, 0, 0, NULL},
    {"nothing", 0, "", TRUNCATED, 0, NULL, 0, 0, 0, NULL},
    {"invalid status line", 0, "HTTP/1.1 abc\r\n\r\n", FAILED, 0, NULL, 0, 0, 0, "invalid answer head"},
    {"not HTTP", 0, "SSH-2.0-OpenSSH\r\n\r\n", FAILED, 0, NULL, 0, 0, 0, "invalid answer head"},
};

/* Feeds in[0..len) step bytes at a time, then the close. Returns the outcome; body gets the body taken. */
static enum outcome run(edge_answer_t *a, int is_head, const char *in, size_t len, size_t step, char *body,
                        size_t *body_len, size_t *num_headers)
{
    char *buf = malloc(len + 1);
    size_t have = 0, pos = 0;
    int have_head = 0;
    enum outcome out = TRUNCATED;
    edge__answer_init(a, is_head);
    *body_len = 0;
    while (pos < len) {
        size_t n = len - pos < step ? len - pos : step;
        memcpy(buf + have, in + pos, n);
        have += n;
        pos += n;
        size_t used, taken;
        if (!have_head) {
            edge_answer_header_t hs[EDGE_MAX_ANSWER_HEADERS];
            *num_headers = EDGE_MAX_ANSWER_HEADERS;
            int r = edge__answer_head(a, buf, have, hs, num_headers, &used);
            if (r < 0) {
                out = FAILED;
                goto done;
            }
            if (used > have)
                abort();
            memmove(buf, buf + used, have - used);
            have -= used;
            if (r == 0)
                continue;
            have_head = 1;
        }
        int r = edge__answer_body(a, buf, have, &taken, &used);
        if (r < 0) {
            out = FAILED;
            goto done;
        }
        if (taken > have || used > have)
            abort();
        memcpy(body + *body_len, buf, taken);
        *body_len += taken;
        memmove(buf, buf + used, have - used);
        have -= used;
        if (r == 1) {
            out = COMPLETE;
            goto done;
        }
    }
    if (have_head && edge__answer_ends_at_close(a))
        out = COMPLETE;
done:
    free(buf);
    return out;
}

static void check_case(const struct case_ *c, const char *in, size_t len, int trickled)
{
    size_t step = trickled ? (len / 64 > 1 ? len / 64 : 1) : (len > 0 ? len : 1);
    char *body = malloc(len + 1);
    size_t body_len, num_headers = 0;
    edge_answer_t a;
    enum outcome got = run(&a, c->is_head, in, len, step, body, &body_len, &num_headers);
    const char *mode = trickled ? "trickled" : "whole";
    CHECK(got == c->want, "%s (%s): %s, want %s (%s)", c->name, mode, outcome_names[got], outcome_names[c->want],
          got == FAILED ? a.error : "");
    if (got == c->want && got == COMPLETE) {
        int ka = trickled ? c->keepalive_trickled : c->keepalive;
        CHECK(a.status == c->status, "%s (%s): status %d, want %d", c->name, mode, a.status, c->status);
        CHECK(body_len == strlen(c->body) && memcmp(body, c->body, body_len) == 0, "%s (%s): body '%.*s', want '%s'",
              c->name, mode, (int)body_len, body, c->body);
        CHECK(a.keepalive == ka, "%s (%s): keepalive %d, want %d", c->name, mode, a.keepalive, ka);
        CHECK(num_headers == c->headers, "%s (%s): %zu headers, want %zu", c->name, mode, num_headers, c->headers);
    }
    if (got == c->want && got == FAILED)
        CHECK(strcmp(a.error, c->error) == 0, "%s (%s): error '%s', want '%s'", c->name, mode, a.error, c->error);
    free(body);
}

/* A head with one header of value_len bytes: the cap is 64 KiB whether it comes in one read or trickles. */
static void check_big_head(size_t value_len, enum outcome want)
{
    static const char pre[] = "HTTP/1.1 200 OK\r\nX-Big: ", post[] = "\r\nContent-Length: 0\r\n\r\n";
    size_t len = sizeof(pre) - 1 + value_len + sizeof(post) - 1;
    char *in = malloc(len);
    memcpy(in, pre, sizeof(pre) - 1);
    memset(in + sizeof(pre) - 1, 'a', value_len);
    memcpy(in + sizeof(pre) - 1 + value_len, post, sizeof(post) - 1);
    struct case_ c = {"big head", 0, NULL, want, 200, "", 1, 1, 2, "answer head over 64 KiB"};
    check_case(&c, in, len, 0);
    check_case(&c, in, len, 1);
    free(in);
}

/* More headers than the parser has room for: refused, not truncated. */
static void check_many_headers(size_t n, enum outcome want)
{
    size_t len = 0, cap = 64 + n * 8;
    char *in = malloc(cap);
    len += (size_t)snprintf(in, cap, "HTTP/1.1 200 OK\r\n");
    for (size_t i = 0; i < n - 1; i++)
        len += (size_t)snprintf(in + len, cap - len, "X: %zu\r\n", i % 10);
    len += (size_t)snprintf(in + len, cap - len, "Content-Length: 0\r\n\r\n");
    struct case_ c = {"many headers", 0, NULL, want, 200, "", 1, 1, n, "invalid answer head"};
    check_case(&c, in, len, 0);
    free(in);
}

int main(void)
{
    for (size_t i = 0; i < NCASES(cases); i++) {
        check_case(&cases[i], cases[i].in, strlen(cases[i].in), 0);
        check_case(&cases[i], cases[i].in, strlen(cases[i].in), 1);
    }
    check_big_head(60 * 1024, COMPLETE);
    check_big_head(70 * 1024, FAILED);
    check_many_headers(EDGE_MAX_ANSWER_HEADERS, COMPLETE);
    check_many_headers(EDGE_MAX_ANSWER_HEADERS + 1, FAILED);
    return check_done("edge_answer");
}
