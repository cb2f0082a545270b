/* bench/runtime/floor_client.c: the cheapest Lambda runtime client this machine can run, as a floor.
 *
 * One blocking keep-alive socket to AWS_LAMBDA_RUNTIME_API (host must be a dotted IPv4 address),
 * hand-built HTTP/1.1 requests, and only the response parsing the loop needs: the status line,
 * Content-Length and Lambda-Runtime-Aws-Request-Id. It echoes every event back as its response.
 * No library, no JSON: what is left is what the protocol itself costs.
 *
 * Invariant: buf holds unread bytes [0, len); one response is consumed at a time and shifted out.
 * Exits 0 never (it loops until killed), 1 on any protocol or socket error, with one line on stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define BUF_CAP (6 * 1024 * 1024 + 65536)

static char buf[BUF_CAP];
static size_t len;

static void fail(const char *what)
{
    fprintf(stderr, "floor_client: %s: %s\n", what, errno ? strerror(errno) : "protocol error");
    exit(1);
}

static void send_all(int fd, const struct iovec *iov, int n)
{
    struct iovec v[4];
    memcpy(v, iov, sizeof *iov * (size_t)n);
    struct iovec *p = v;
    while (n > 0) {
        ssize_t w = writev(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            fail("write");
        }
        while (n > 0 && (size_t)w >= p->iov_len) {
            w -= (ssize_t)p->iov_len;
            p++;
            n--;
        }
        if (n > 0) {
            p->iov_base = (char *)p->iov_base + w;
            p->iov_len -= (size_t)w;
        }
    }
}

static void fill(int fd)
{
    if (len == BUF_CAP) {
        errno = 0;
        fail("response too large");
    }
    ssize_t r;
    do
        r = read(fd, buf + len, BUF_CAP - len);
    while (r < 0 && errno == EINTR);
    if (r <= 0) {
        if (r == 0)
            errno = ECONNRESET;
        fail("read");
    }
    len += (size_t)r;
}

/* Reads one response. Returns its status; sets *body and *body_len (pointing into buf, valid until the
 * next call to consume()) and copies the request id header, if any, into id. */
static int read_response(int fd, char **body, size_t *body_len, char *id, size_t id_cap, size_t *total)
{
    char *end;
    while ((end = memmem(buf, len, "\r\n\r\n", 4)) == NULL)
        fill(fd);
    size_t head = (size_t)(end - buf) + 4;
    errno = 0;
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0)
        fail("bad status line");
    int status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    size_t cl = 0;
    id[0] = '\0';
    for (char *l = memmem(buf, head, "\r\n", 2) + 2; l < end;) {
        char *e = memmem(l, (size_t)(end + 2 - l), "\r\n", 2);
        if (strncasecmp(l, "Content-Length:", 15) == 0) {
            cl = strtoul(l + 15, NULL, 10);
        } else if (strncasecmp(l, "Lambda-Runtime-Aws-Request-Id:", 30) == 0) {
            char *v = l + 30;
            while (*v == ' ')
                v++;
            size_t n = (size_t)(e - v);
            if (n >= id_cap)
                fail("request id too long");
            memcpy(id, v, n);
            id[n] = '\0';
        }
        l = e + 2;
    }
    if (cl > BUF_CAP - head)
        fail("body too large");
    while (len < head + cl)
        fill(fd);
    *body = buf + head;
    *body_len = cl;
    *total = head + cl;
    return status;
}

static void consume(size_t n)
{
    memmove(buf, buf + n, len - n);
    len -= n;
}

int main(void)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    errno = 0;
    if (api == NULL)
        fail("AWS_LAMBDA_RUNTIME_API not set");
    char host[64];
    const char *colon = strrchr(api, ':');
    if (colon == NULL || (size_t)(colon - api) >= sizeof host)
        fail("AWS_LAMBDA_RUNTIME_API is not host:port");
    memcpy(host, api, (size_t)(colon - api));
    host[colon - api] = '\0';
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)strtoul(colon + 1, NULL, 10))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        fail("AWS_LAMBDA_RUNTIME_API host is not an IPv4 address");

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        fail("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    char next_req[256];
    int next_len = snprintf(next_req, sizeof next_req,
                            "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n", api);
    for (;;) {
        struct iovec iov[2] = {{next_req, (size_t)next_len}};
        send_all(fd, iov, 1);
        char id[128], *body, rid[8];
        size_t body_len, total;
        int st = read_response(fd, &body, &body_len, id, sizeof id, &total);
        errno = 0;
        if (st != 200 || id[0] == '\0')
            fail("next: unexpected answer");

        /* echo straight from buf: nothing reads into it until the event is sent */
        char head[512];
        int hl = snprintf(head, sizeof head,
                          "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: %s\r\n"
                          "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                          id, api, body_len);
        iov[0] = (struct iovec){head, (size_t)hl};
        iov[1] = (struct iovec){body, body_len};
        send_all(fd, iov, 2);
        consume(total);
        st = read_response(fd, &body, &body_len, rid, sizeof rid, &total);
        errno = 0;
        if (st != 202)
            fail("response: not accepted");
        consume(total);
    }
}
