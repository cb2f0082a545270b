/*
 * The Runtime API connection: one libcurl easy handle, reused for every call so the TCP connection
 * stays open (keep-alive), driven through a multi handle so that a wait can also watch the signal
 * pipe (SIGTERM while blocked in GET /next ends the process at once). No proxy, no Expect: 100-continue.
 * Transport failures and 5xx answers are retried a bounded number of times with exponential backoff.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "internal.h"

/* First backoff delay; doubled per attempt: 50, 100, 200, 400, 800 ms for the default 6 attempts. */
#define BACKOFF_FIRST_MS 50
#define DEFAULT_ATTEMPTS 6
/* Lambda's largest synchronous event is 6 MB; leave room for what a local emulator may send. */
#define EVENT_LIMIT (16 * 1024 * 1024)
#define HEADER_LIMIT 8192

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

static void reset_capture(lrt__client_t *c)
{
    c->status = 0;
    lrt__buf_clear(&c->body);
    for (int i = 0; i < LRT__HDR_COUNT; i++) {
        lrt__buf_clear(&c->headers[i]);
        c->header_seen[i] = 0;
    }
}

static size_t on_header(char *line, size_t size, size_t n, void *user)
{
    lrt__client_t *c = user;
    size_t len = size * n;

    /* A new status line starts a new answer (after 1xx): forget what came before. */
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        reset_capture(c);
        return len;
    }
    const char *colon = memchr(line, ':', len);
    if (colon == NULL)
        return len;
    int slot = lrt__hdr_lookup(line, (size_t)(colon - line));
    if (slot < 0)
        return len;
    const char *v = colon + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    lrt__buf_clear(&c->headers[slot]);
    if (lrt__buf_append(&c->headers[slot], v, (size_t)(end - v)) != 0)
        return 0; /* aborts the transfer: a header this large is not the Runtime API */
    c->header_seen[slot] = 1;
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    lrt__client_t *c = user;
    if (lrt__buf_append(&c->body, data, size * n) != 0) {
        lrt__client_fail(c, "answer body over %d bytes", EVENT_LIMIT);
        return 0;
    }
    return size * n;
}

int lrt__client_init(lrt__client_t *c, const char *endpoint, unsigned max_attempts)
{
    memset(c, 0, sizeof(*c));
    lrt__buf_init(&c->body, EVENT_LIMIT);
    for (int i = 0; i < LRT__HDR_COUNT; i++)
        lrt__buf_init(&c->headers[i], HEADER_LIMIT);
    c->max_attempts = max_attempts ? max_attempts : DEFAULT_ATTEMPTS;

    if (endpoint == NULL || endpoint[0] == '\0' || strchr(endpoint, '/') != NULL || strchr(endpoint, ' ') != NULL)
        return LRT_EINVAL;
    size_t n = strlen(endpoint) + sizeof("http:///2018-06-01/runtime");
    if ((c->endpoint = strdup(endpoint)) == NULL || (c->base = malloc(n)) == NULL)
        goto fail;
    snprintf(c->base, n, "http://%s/2018-06-01/runtime", endpoint);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        goto fail;
    if ((c->multi = curl_multi_init()) == NULL || (c->easy = curl_easy_init()) == NULL)
        goto fail;
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_PROXY, "");    /* the Runtime API is local: never through a proxy */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* we own signal handling */
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "nearjs-runtime/" LRT_VERSION);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->error);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
    return 0;

fail:
    lrt__client_dispose(c);
    return LRT_ENOMEM;
}

void lrt__client_dispose(lrt__client_t *c)
{
    if (c->easy != NULL)
        curl_easy_cleanup(c->easy);
    if (c->multi != NULL) {
        curl_multi_cleanup(c->multi);
        curl_global_cleanup();
    }
    free(c->base);
    free(c->endpoint);
    lrt__buf_dispose(&c->body);
    for (int i = 0; i < LRT__HDR_COUNT; i++)
        lrt__buf_dispose(&c->headers[i]);
    c->easy = NULL;
    c->multi = NULL;
    c->base = c->endpoint = NULL;
}

int lrt__client_step(lrt__client_t *c, int timeout_ms)
{
    int running = 0;
    curl_multi_perform(c->multi, &running);
    if (running) {
        struct curl_waitfd wake = {.fd = lrt__signal_fd(), .events = CURL_WAIT_POLLIN};
        curl_multi_poll(c->multi, &wake, wake.fd >= 0 ? 1 : 0, timeout_ms, NULL);
        if (wake.revents)
            lrt__signal_drain();
        curl_multi_perform(c->multi, &running);
    }
    return running;
}

int lrt__client_perform(lrt__client_t *c, int interruptible)
{
    CURLcode result = CURLE_OK;
    int ret = 0;

    c->error[0] = '\0';
    curl_multi_add_handle(c->multi, c->easy);
    while (lrt__client_step(c, 1000) > 0) {
        if (interruptible && lrt__terminating) {
            ret = LRT__INTERRUPTED;
            goto done;
        }
    }
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == c->easy)
            result = msg->data.result;
    if (result != CURLE_OK) {
        if (c->error[0] == '\0')
            lrt__client_fail(c, "%s", curl_easy_strerror(result));
        ret = LRT_ETRANSPORT;
    } else {
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
    }
done:
    curl_multi_remove_handle(c->multi, c->easy);
    return ret;
}

/* Sleeps for ms, or less when a signal arrives. */
static void backoff(int ms)
{
    struct pollfd p = {.fd = lrt__signal_fd(), .events = POLLIN};
    if (poll(&p, p.fd >= 0 ? 1 : 0, ms) > 0)
        lrt__signal_drain();
}

int lrt__client_request(lrt__client_t *c, const char *path, const void *body, size_t len, struct curl_slist *headers,
                        int interruptible)
{
    char url[1024];
    if ((size_t)snprintf(url, sizeof(url), "%s%s", c->base, path) >= sizeof(url)) {
        lrt__client_fail(c, "request path too long");
        return LRT_EINVAL;
    }
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    if (body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 60000L);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 0L); /* GET /next blocks until there is work */
    }

    int delay = BACKOFF_FIRST_MS, ret = 0;
    unsigned attempt;
    for (attempt = 1;; attempt++) {
        reset_capture(c);
        ret = lrt__client_perform(c, interruptible);
        if (ret == LRT__INTERRUPTED)
            return ret;
        if (ret == 0 && c->status < 500)
            return 0;
        if (ret == 0) {
            lrt__client_fail(c, "HTTP %ld: %.200s", c->status, c->body.data ? c->body.data : "");
            ret = LRT_ETRANSPORT;
        }
        if (attempt >= c->max_attempts || lrt__terminating)
            break;
        backoff(delay);
        delay *= 2;
    }
    size_t n = strlen(c->error);
    snprintf(c->error + n, sizeof(c->error) - n, " (after %u attempt%s)", attempt, attempt == 1 ? "" : "s");
    return ret;
}
