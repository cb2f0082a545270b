/* Table-driven tests of the HTTP/1.1 head parser and the chunked decoder: whole, trickled byte by
 * byte, malformed and oversized input. */
#include "../src/http1.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct head_case {
    const char *in;
    ssize_t want; /* > 0: complete, its length is strlen(in) - extra; 0 incomplete; < 0 error */
    size_t extra; /* bytes after the head */
    const char *method, *path, *header, *value;
};

struct chunk_case {
    const char *in;
    int want_done;
    int want_err; /* 0 or the negative error */
    const char *want_data;
    const char *want_trailer;
    size_t want_rest; /* bytes left unconsumed */
};

static char data[4096];
static size_t data_len;

static void collect(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    memcpy(data + data_len, p, n);
    data_len += n;
}

static int run_chunked(const struct chunk_case *c, size_t step, int *done, size_t *consumed)
{
    nl__chunked_t d;
    nl__chunked_init(&d);
    data_len = 0;
    size_t len = strlen(c->in), off = 0;
    int rc = 0;
    *done = 0;
    while (off < len && !*done) {
        size_t n = step < len - off ? step : len - off;
        ssize_t r = nl__chunked_feed(&d, c->in + off, n, done, collect, NULL);
        if (r < 0) {
            rc = (int)r;
            break;
        }
        off += (size_t)r;
        if ((size_t)r < n)
            break;
    }
    *consumed = off;
    int ok = rc == c->want_err &&
             (rc != 0 || (*done == c->want_done && data_len == strlen(c->want_data) &&
                          memcmp(data, c->want_data, data_len) == 0 && len - off == c->want_rest &&
                          (c->want_trailer == NULL || (d.trailer.len == strlen(c->want_trailer) &&
                                                       memcmp(d.trailer.base, c->want_trailer, d.trailer.len) == 0))));
    nl__chunked_dispose(&d);
    return ok;
}

int main(void)
{
    static const struct head_case heads[] = {
        {"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n", 1, 0, "GET",
         "/2018-06-01/runtime/invocation/next", "host", "x"},
        {"POST /a HTTP/1.1\r\nContent-Length:  5 \r\n\r\nhello", 1, 5, "POST", "/a", "content-length", "5"},
        {"\r\nGET / HTTP/1.0\nX-A: b\n\n", 1, 0, "GET", "/", "x-a", "b"},
        {"GET / HTTP/1.1\r\nHost: x\r\n", 0, 0, NULL, NULL, NULL, NULL},
        {"GET / HTTP/1.1\r\n", 0, 0, NULL, NULL, NULL, NULL},
        {"GET / HTTP/2.0\r\n\r\n", NL__HTTP_EBAD, 0, NULL, NULL, NULL, NULL},
        {"GET  / HTTP/1.1\r\n\r\n", NL__HTTP_EBAD, 0, NULL, NULL, NULL, NULL},
        {"G(T / HTTP/1.1\r\n\r\n", NL__HTTP_EBAD, 0, NULL, NULL, NULL, NULL},
        {"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", NL__HTTP_EBAD, 0, NULL, NULL, NULL, NULL},
        {"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", NL__HTTP_EBAD, 0, NULL, NULL, NULL, NULL},
        {"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", NL__HTTP_EBAD, 0, NULL, NULL, NULL, NULL},
        {"GET / HTTP/1.1\r\n: novalue\r\n\r\n", NL__HTTP_EBAD, 0, NULL, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        const struct head_case *c = &heads[i];
        nl__request_t req;
        size_t len = strlen(c->in);
        ssize_t r = nl__http_parse_request(c->in, len, &req);
        int ok;
        if (c->want > 0) {
            const nl__header_t *h = nl__http_find(req.headers, req.num_headers, c->header);
            ok = r == (ssize_t)(len - c->extra) && req.method_len == strlen(c->method) &&
                 memcmp(req.method, c->method, req.method_len) == 0 && req.path_len == strlen(c->path) &&
                 memcmp(req.path, c->path, req.path_len) == 0 && h != NULL && h->value_len == strlen(c->value) &&
                 memcmp(h->value, c->value, h->value_len) == 0;
            /* trickled: every proper prefix of the head is incomplete */
            for (size_t k = 0; ok && k < len - c->extra; k++)
                if (nl__http_parse_request(c->in, k, &req) != 0)
                    ok = 0;
        } else {
            ok = r == c->want;
        }
        CHECK(!(!ok), "head case %zu: '%s': got %zd, want %zd", i, c->in, r, c->want);
    }

    /* huge heads are refused, not buffered forever */
    size_t big = NL__HTTP_MAX_HEAD + 100;
    char *huge = malloc(big);
    memcpy(huge, "GET / HTTP/1.1\r\nX: ", 19);
    memset(huge + 19, 'a', big - 19);
    nl__request_t req;
    CHECK(!(nl__http_parse_request(huge, big, &req) != NL__HTTP_ETOOBIG), "huge head not refused");
    free(huge);
    /* too many headers */
    char many[8192] = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < NL__HTTP_MAX_HEADERS + 1; i++)
        strcat(many, "A: b\r\n");
    strcat(many, "\r\n");
    CHECK(!(nl__http_parse_request(many, strlen(many), &req) != NL__HTTP_ETOOBIG), "too many headers not refused");

    uint64_t v;
    CHECK(!(nl__http_parse_length("123", 3, &v) != 0 || v != 123 || nl__http_parse_length("", 0, &v) == 0 ||
            nl__http_parse_length("1a", 2, &v) == 0 || nl__http_parse_length("-1", 2, &v) == 0 ||
            nl__http_parse_length("99999999999999999999", 20, &v) == 0),
          "content-length parsing");

    static const struct chunk_case chunks[] = {
        {"5\r\nhello\r\n0\r\n\r\n", 1, 0, "hello", "\r\n", 0},
        {"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT", 1, 0, "hello world", "\r\n", 4},
        {"A;ext=1\r\n0123456789\r\n0\r\n\r\n", 1, 0, "0123456789", "\r\n", 0},
        {"3\nabc\n0\n\n", 1, 0, "abc", "\n", 0},
        {"2\r\nhi\r\n0\r\nLambda-Runtime-Function-Error-Type: X\r\nB: eA==\r\n\r\n", 1, 0, "hi",
         "Lambda-Runtime-Function-Error-Type: X\r\nB: eA==\r\n\r\n", 0},
        {"5\r\nhel", 0, 0, "hel", NULL, 0},
        {"0\r\nX: y\r\n", 0, 0, "", NULL, 0},
        {"zz\r\n", 0, NL__HTTP_EBAD, "", NULL, 0},
        {"\r\n", 0, NL__HTTP_EBAD, "", NULL, 0},
        {"5\r\nhelloXX", 0, NL__HTTP_EBAD, "", NULL, 0},
        {"1234567890123456\r\n", 0, NL__HTTP_ETOOBIG, "", NULL, 0},
    };
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        const size_t steps[] = {1, 3, 4096};
        for (size_t s = 0; s < 3; s++) {
            int done;
            size_t consumed;
            CHECK(!(!run_chunked(&chunks[i], steps[s], &done, &consumed)),
                  "chunk case %zu (step %zu): '%s': done=%d data='%.*s' consumed=%zu", i, steps[s], chunks[i].in, done,
                  (int)data_len, data, consumed);
        }
    }

    /* trailers beyond the cap are refused */
    nl__chunked_t d;
    nl__chunked_init(&d);
    int done = 0;
    nl__chunked_feed(&d, "0\r\n", 3, &done, collect, NULL);
    char line[1024];
    memset(line, 'a', sizeof(line));
    ssize_t r = 0;
    for (int i = 0; i < 100 && r >= 0; i++)
        r = nl__chunked_feed(&d, line, sizeof(line), &done, collect, NULL);
    CHECK(!(r != NL__HTTP_ETOOBIG), "oversized trailers not refused");
    nl__chunked_dispose(&d);

    nl__header_t th[4];
    size_t n;
    const char block[] = "A: 1\r\nb:2\r\n\r\n";
    CHECK(!(nl__http_parse_headers(block, sizeof(block) - 1, th, 4, &n) != 0 || n != 2 ||
            nl__http_find(th, n, "B") == NULL || nl__http_parse_headers("A: 1\r\n", 6, th, 4, &n) == 0),
          "header block parsing");
    return check_done("local_http1");
}
