/*
 * The Runtime API connection: one keep-alive HTTP/1.1 connection over loopback TCP, no proxy, no
 * Expect: 100-continue. The requests are a handful of fixed shapes, so they are written directly;
 * answers go through http-parser (Debian's libhttp-parser), which owns the framing rules.
 * Why not libcurl: Debian's libcurl pulls ~30 shared libraries (GnuTLS, Kerberos, LDAP, ...) whose
 * loading costs ~5 ms at every cold start; this transport needs only libc (bench/runtime measures both).
 * Transport failures and 5xx answers are retried a bounded number of times with exponential backoff;
 * a kept-alive connection that the server closed meanwhile is reopened once at no cost.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "internal.h"

/* First backoff delay; doubled per attempt: 50, 100, 200, 400, 800 ms for the default 6 attempts. */
#define BACKOFF_FIRST_MS 50
#define DEFAULT_ATTEMPTS 6
/* Lambda's largest synchronous event is 6 MB; leave room for what a local emulator may send. */
#define EVENT_LIMIT (16 * 1024 * 1024)
#define HEADER_LIMIT 8192
#define CONNECT_TIMEOUT_MS 2000
/* Bounds each blocking write, and each wait for the answer to a POST (SO_SNDTIMEO / SO_RCVTIMEO). */
#define IO_TIMEOUT_S 60

static const struct {
    const char *name;
    lrt__hdr_t slot;
} known_headers[] = {
    {"Lambda-Runtime-Aws-Request-Id", LRT__HDR_REQUEST_ID},
    {"Lambda-Runtime-Deadline-Ms", LRT__HDR_DEADLINE},
    {"Lambda-Runtime-Invoked-Function-Arn", LRT__HDR_FUNCTION_ARN},
    {"Lambda-Runtime-Trace-Id", LRT__HDR_TRACE_ID},
    {"Lambda-Runtime-Client-Context", LRT__HDR_CLIENT_CONTEXT},
    {"Lambda-Runtime-Cognito-Identity", LRT__HDR_COGNITO_IDENTITY},
    {"Lambda-Runtime-Aws-Tenant-Id", LRT__HDR_TENANT_ID},
};

int lrt__hdr_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(known_headers) / sizeof(known_headers[0]); i++)
        if (strlen(known_headers[i].name) == len && strncasecmp(known_headers[i].name, name, len) == 0)
            return (int)known_headers[i].slot;
    return -1;
}

void lrt__client_fail(lrt__client_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof(c->error), fmt, ap);
    va_end(ap);
}

/* ---- answer parsing (http-parser callbacks; c is parser.data) ---- */

static void end_header(lrt__client_t *c)
{
    if (c->in_value && c->slot >= 0) {
        lrt__buf_t *v = &c->headers[c->slot];
        while (v->len > 0 && (v->data[v->len - 1] == ' ' || v->data[v->len - 1] == '\t'))
            v->data[--v->len] = '\0';
        c->header_seen[c->slot] = 1;
    }
    c->in_value = 0;
    c->slot = -1;
    lrt__buf_clear(&c->field);
}

static int on_message_begin(http_parser *p)
{
    lrt__client_t *c = p->data;
    c->status = 0;
    lrt__buf_clear(&c->body);
    for (int i = 0; i < LRT__HDR_COUNT; i++) {
        lrt__buf_clear(&c->headers[i]);
        c->header_seen[i] = 0;
    }
    lrt__buf_clear(&c->field);
    c->slot = -1;
    c->in_value = 0;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    lrt__client_t *c = p->data;
    if (c->in_value)
        end_header(c);
    if (lrt__buf_append(&c->field, at, len) != 0)
        lrt__buf_clear(&c->field); /* a name this long is none of ours: ignore it */
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    lrt__client_t *c = p->data;
    if (!c->in_value) {
        c->in_value = 1;
        c->slot = lrt__hdr_lookup(c->field.data ? c->field.data : "", c->field.len);
        if (c->slot >= 0)
            lrt__buf_clear(&c->headers[c->slot]); /* a repeated header: the last one counts */
    }
    if (c->slot >= 0 && lrt__buf_append(&c->headers[c->slot], at, len) != 0) {
        lrt__client_fail(c, "header over %d bytes", HEADER_LIMIT);
        c->too_big = 1;
        return 1;
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    lrt__client_t *c = p->data;
    end_header(c);
    c->status = p->status_code;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    lrt__client_t *c = p->data;
    if (lrt__buf_append(&c->body, at, len) != 0) {
        lrt__client_fail(c, "answer body over %d bytes", EVENT_LIMIT);
        c->too_big = 1;
        return 1;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    lrt__client_t *c = p->data;
    c->complete = 1;
    http_parser_pause(p, 1); /* one answer per request: anything after it is not ours to read now */
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- connection ---- */

int lrt__client_init(lrt__client_t *c, const char *endpoint, unsigned max_attempts)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    lrt__buf_init(&c->body, EVENT_LIMIT);
    lrt__buf_init(&c->field, 256);
    for (int i = 0; i < LRT__HDR_COUNT; i++)
        lrt__buf_init(&c->headers[i], HEADER_LIMIT);
    c->max_attempts = max_attempts ? max_attempts : DEFAULT_ATTEMPTS;

    /* HOST:PORT, or [V6]:PORT */
    const char *colon = endpoint != NULL ? strrchr(endpoint, ':') : NULL;
    if (colon == NULL || colon == endpoint || colon[1] == '\0' || strlen(endpoint) > 255 ||
        strpbrk(endpoint, "/ \t\r\n?#@") != NULL)
        return LRT_EINVAL;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return LRT_EINVAL;
    const char *host = endpoint;
    size_t host_len = (size_t)(colon - endpoint);
    if (host[0] == '[' && host_len >= 2 && host[host_len - 1] == ']') {
        host++;
        host_len -= 2;
    }
    size_t n = strlen(endpoint) + sizeof("http:///2018-06-01/runtime");
    if ((c->endpoint = strdup(endpoint)) == NULL || (c->host = strndup(host, host_len)) == NULL ||
        (c->port = strdup(colon + 1)) == NULL || (c->base = malloc(n)) == NULL) {
        lrt__client_dispose(c);
        return LRT_ENOMEM;
    }
    snprintf(c->base, n, "http://%s/2018-06-01/runtime", endpoint);
    return 0;
}

void lrt__client_close(lrt__client_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

void lrt__client_dispose(lrt__client_t *c)
{
    lrt__client_close(c);
    free(c->endpoint);
    free(c->host);
    free(c->port);
    free(c->base);
    c->endpoint = c->host = c->port = c->base = NULL;
    lrt__buf_dispose(&c->body);
    lrt__buf_dispose(&c->field);
    for (int i = 0; i < LRT__HDR_COUNT; i++)
        lrt__buf_dispose(&c->headers[i]);
}

#define WAIT_READY 1
#define WAIT_TIMEOUT 0
#define WAIT_ERROR (-1)
#define WAIT_SIGTERM (-2)

/* Waits for fd to become ready for events, or for the signal pipe. Returns WAIT_READY, WAIT_TIMEOUT,
 * WAIT_SIGTERM (interruptible and SIGTERM arrived) or WAIT_ERROR. */
static int wait_fd(int fd, short events, int timeout_ms, int interruptible)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = lrt__signal_fd(), .events = POLLIN}};
        int n = poll(p, p[1].fd >= 0 ? 2 : 1, timeout_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return WAIT_ERROR;
        if (n > 0 && p[1].revents) {
            lrt__signal_drain();
            if (interruptible && lrt__terminating)
                return WAIT_SIGTERM;
        }
        if (n == 0)
            return WAIT_TIMEOUT;
        if (p[0].revents)
            return WAIT_READY;
    }
}

int lrt__client_connect(lrt__client_t *c)
{
    if (c->fd >= 0) {
        c->reused = 1;
        return 0;
    }
    c->reused = 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL, *ai;
    int gai = getaddrinfo(c->host, c->port, &hints, &res);
    if (gai != 0) {
        lrt__client_fail(c, "cannot resolve '%s': %s", c->host, gai_strerror(gai));
        return LRT_ETRANSPORT;
    }
    int err = ECONNREFUSED;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc == 0) {
            err = 0;
        } else if (errno != EINPROGRESS) {
            err = errno;
        } else if (wait_fd(fd, POLLOUT, CONNECT_TIMEOUT_MS, 0) != WAIT_READY) {
            err = ETIMEDOUT;
        } else {
            socklen_t len = sizeof(err);
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                err = errno;
        }
        if (err == 0) {
            /* Blocking from here on, with timeouts: an answer to a POST is read without a poll() first,
             * one syscall less per invocation. Only GET /next polls, to watch the signal pipe too. */
            int one = 1;
            struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
            c->fd = fd;
            break;
        }
        close(fd);
    }
    freeaddrinfo(res);
    if (c->fd < 0) {
        lrt__client_fail(c, "connect to %s: %s", c->endpoint, strerror(err));
        return LRT_ETRANSPORT;
    }
    return 0;
}

int lrt__client_write(lrt__client_t *c, const struct iovec *iov_in, int iovcnt)
{
    struct iovec iov[8];
    if (iovcnt > 8)
        iovcnt = 8;
    memcpy(iov, iov_in, sizeof(iov[0]) * (size_t)iovcnt);
    struct iovec *v = iov;
    while (iovcnt > 0) {
        struct msghdr msg = {.msg_iov = v, .msg_iovlen = (size_t)iovcnt};
        ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            lrt__client_fail(c, "write to %s: %s", c->endpoint,
                             errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : strerror(errno));
            lrt__client_close(c);
            return LRT_ETRANSPORT;
        }
        size_t done = (size_t)n;
        while (iovcnt > 0 && done >= v->iov_len) {
            done -= v->iov_len;
            v++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            v->iov_base = (char *)v->iov_base + done;
            v->iov_len -= done;
        }
    }
    return 0;
}

int lrt__client_read_answer(lrt__client_t *c, int interruptible)
{
    char buf[16384];
    http_parser_init(&c->parser, HTTP_RESPONSE);
    c->parser.data = c;
    c->complete = 0;
    c->too_big = 0;
    on_message_begin(&c->parser);
    size_t received = 0;

    while (!c->complete) {
        ssize_t n;
        if (interruptible) {
            /* GET /next may wait for hours. SIGTERM's handler shuts this socket down while it is
             * published here, so the recv() below returns at once, even if the signal came just
             * before it: no poll() per invocation, and no lost wake-up. */
            lrt__idle_fd = c->fd;
            if (lrt__terminating) {
                lrt__idle_fd = -1;
                lrt__client_close(c);
                return LRT__INTERRUPTED;
            }
            n = recv(c->fd, buf, sizeof(buf), 0);
            lrt__idle_fd = -1;
            if (lrt__terminating && n <= 0) {
                lrt__client_close(c);
                return LRT__INTERRUPTED;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                continue; /* SO_RCVTIMEO passed: an idle function keeps waiting */
        } else {
            n = recv(c->fd, buf, sizeof(buf), 0);
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            lrt__client_fail(c, "read from %s: %s", c->endpoint,
                             errno == EAGAIN || errno == EWOULDBLOCK ? "no answer within 60 s" : strerror(errno));
            lrt__client_close(c);
            return LRT_ETRANSPORT;
        }
        /* n == 0 tells the parser about EOF, which completes a close-delimited body */
        size_t used = http_parser_execute(&c->parser, &parser_settings, buf, (size_t)n);
        received += (size_t)n;
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        if (c->complete)
            break;
        if (n == 0) {
            lrt__client_fail(c, "%s closed the connection %s", c->endpoint,
                             received == 0 ? "without answering" : "in the middle of its answer");
            lrt__client_close(c);
            return LRT_ETRANSPORT;
        }
        if (e != HPE_OK || used != (size_t)n) {
            if (!c->too_big)
                lrt__client_fail(c, "malformed answer from %s: %s", c->endpoint, http_errno_description(e));
            lrt__client_close(c);
            return LRT_ETRANSPORT;
        }
    }
    if (!http_should_keep_alive(&c->parser))
        lrt__client_close(c);
    return 0;
}

/* Sleeps for ms, or less when a signal arrives. */
static void backoff(int ms)
{
    struct pollfd p = {.fd = lrt__signal_fd(), .events = POLLIN};
    if (poll(&p, p.fd >= 0 ? 1 : 0, ms) > 0)
        lrt__signal_drain();
}

/* One try: connect if needed, send, read the answer. */
static int exchange(lrt__client_t *c, const char *method, const char *path, const char *extra_headers, const void *body,
                    size_t len, int interruptible)
{
    int err = lrt__client_connect(c);
    if (err != 0)
        return err;
    char head[1024];
    int n;
    if (body != NULL)
        n = snprintf(head, sizeof(head),
                     "%s /2018-06-01/runtime%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: nearjs-runtime/" LRT_VERSION
                     "\r\n%sContent-Length: %zu\r\n\r\n",
                     method, path, c->endpoint, extra_headers ? extra_headers : "", len);
    else
        n = snprintf(head, sizeof(head),
                     "%s /2018-06-01/runtime%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: nearjs-runtime/" LRT_VERSION
                     "\r\n%s\r\n",
                     method, path, c->endpoint, extra_headers ? extra_headers : "");
    if (n < 0 || (size_t)n >= sizeof(head)) {
        lrt__client_fail(c, "request head too long");
        return LRT_EINVAL;
    }
    struct iovec iov[2] = {{head, (size_t)n}, {(void *)body, body ? len : 0}};
    if ((err = lrt__client_write(c, iov, body ? 2 : 1)) != 0)
        return err;
    return lrt__client_read_answer(c, interruptible);
}

int lrt__client_request(lrt__client_t *c, const char *method, const char *path, const char *extra_headers,
                        const void *body, size_t len, int interruptible)
{
    int delay = BACKOFF_FIRST_MS, ret;
    unsigned attempt = 1;
    for (;;) {
        c->error[0] = '\0';
        ret = exchange(c, method, path, extra_headers, body, len, interruptible);
        if (ret == LRT__INTERRUPTED || ret == LRT_EINVAL)
            return ret;
        if (ret == 0 && c->status < 500)
            return 0;
        if (ret != 0 && c->reused) {
            c->reused = 0;
            continue; /* the server closed an idle kept-alive connection: a fresh one is not a retry */
        }
        if (ret == 0) {
            lrt__client_fail(c, "HTTP %ld: %.200s", c->status, c->body.data ? c->body.data : "");
            ret = LRT_ETRANSPORT;
        }
        if (attempt >= c->max_attempts || lrt__terminating)
            break;
        backoff(delay);
        delay *= 2;
        attempt++;
    }
    size_t n = strlen(c->error);
    snprintf(c->error + n, sizeof(c->error) - n, " (after %u attempt%s)", attempt, attempt == 1 ? "" : "s");
    return ret;
}

void lrt__base64(char *out, const void *in, size_t len)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = in;
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        out[o++] = digits[p[i] >> 2];
        out[o++] = digits[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
        out[o++] = digits[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
        out[o++] = digits[p[i + 2] & 63];
    }
    if (i < len) {
        out[o++] = digits[p[i] >> 2];
        if (i + 1 < len) {
            out[o++] = digits[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
            out[o++] = digits[(p[i + 1] & 15) << 2];
        } else {
            out[o++] = digits[(p[i] & 3) << 4];
            out[o++] = '=';
        }
        out[o++] = '=';
    }
    out[o] = '\0';
}
