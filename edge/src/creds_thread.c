/*
 * The credentials refresher: a thread of its own, with its own h2o loop, that keeps srv->creds current while
 * the current generation has an upstream to sign for. From IMDSv2 (the instance role): PUT
 * /latest/api/token, then GET /latest/meta-data/iam/security-credentials/ (the role's name) and
 * .../security-credentials/<role> (the document creds.c parses). Test only: the generation's
 * credentials_file instead, re-read at each refresh, and NEARJS_EDGE_IMDS=http://HOST:PORT for IMDS's address.
 *
 * Why h2o's HTTP/1 client on a loop here rather than libcurl on a thread: the edge ships as a tarball for
 * Amazon Linux (deploy/edge-package.sh) and carries every library the AMI lacks; libcurl is not in that list
 * (deploy/runtime/al2023-ami.txt) and Debian's drags some 30 libraries along, while libh2o is linked already
 * and its client is the one the health checks use. Blocking nothing else: requests never wait on this thread,
 * they read the set it published (creds.h), and health.c marks a signing upstream down while there is none.
 *
 * Schedule: EDGE_CREDS_REFRESH_LEAD_S before expiry, at least every EDGE_CREDS_REFRESH_MAX_S; after a failure
 * every EDGE_CREDS_RETRY_S. Logs: each new set (key id, expiry), and a failed refresh while the current set is
 * still valid (when there is none, the upstream's DOWN line in health.c carries the reason: one line).
 */
#include "creds.h"
#include "server.h"
#include "common/buf.h"
#include "common/h2o_compat.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMDS_DEFAULT_HOST "169.254.169.254"
#define IMDS_TIMEOUT_MS 2000
#define IMDS_MAX_BODY (64 * 1024)
#define IMDS_TOKEN_TTL_S 21600

enum step { STEP_TOKEN, STEP_ROLE, STEP_CREDS };

struct refresher {
    edge_server_t *srv;
    h2o_loop_t *loop;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t getaddr_receiver;
    h2o_timeout_t io_timeout;
    h2o_http1client_ctx_t cctx;
    h2o_http1client_t *client; /* the request in flight, or NULL */
    char host[256];
    uint16_t port;
    enum step step;
    int pending;     /* the next step is to start (from the main loop, not from inside a client callback) */
    int busy;        /* a fetch (of its 3 steps) is under way */
    time_t next;     /* when to fetch next */
    char token[256]; /* IMDSv2 session token */
    char role[256];
    cm_buf_t body;
    char head[1024];
    h2o_iovec_t reqbuf;
    char last_logged[400]; /* the failure last logged, not repeated */
};

static void label(struct refresher *r, char *out, size_t n)
{
    snprintf(out, n, "IMDS http://%s:%u", r->host, r->port);
}

/* Ends a fetch that failed: the reason goes to the source (health.c reports it when no valid set is left), and
 * to the log only while a valid set is still in use (the refresh failing before it expires). */
static void fail(struct refresher *r, const char *why)
{
    r->busy = 0;
    r->pending = 0;
    r->next = time(NULL) + EDGE_CREDS_RETRY_S;
    edge__creds_failed(&r->srv->creds, why);
    char tmp[8];
    edge_creds_t *c = edge__creds_get(&r->srv->creds, time(NULL), tmp, sizeof(tmp));
    if (c != NULL && strcmp(r->last_logged, why) != 0) {
        cm_log(stderr, "nearjs-edge", "credentials: refresh failed, still signing with key %.40s: %s", c->key_id, why);
        snprintf(r->last_logged, sizeof(r->last_logged), "%s", why);
    }
    edge__creds_unref(c);
}

static void got(struct refresher *r, edge_creds_t *c, const char *from)
{
    time_t now = time(NULL);
    r->busy = 0;
    r->next = edge__creds_next_refresh(c, now);
    r->last_logged[0] = '\0';
    char exp[32] = "never";
    if (c->expires != 0) {
        struct tm tm;
        gmtime_r(&c->expires, &tm);
        strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    cm_log(stderr, "nearjs-edge", "credentials: key %.40s from %s, expires %s; next refresh in %lld s", c->key_id, from,
           exp, (long long)(r->next - now));
    edge__creds_publish(&r->srv->creds, c);
}

static void from_file(struct refresher *r, const char *path)
{
    char why[400];
    cm_buf_t b;
    cm_buf_init(&b, IMDS_MAX_BODY);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(why, sizeof(why), "credentials file '%.200s': %s", path, strerror(errno));
        fail(r, why);
        return;
    }
    char chunk[4096];
    int err = 0;
    for (size_t n = fread(chunk, 1, sizeof(chunk), f); err == 0 && n > 0; n = fread(chunk, 1, sizeof(chunk), f))
        err = cm_buf_append(&b, chunk, n);
    fclose(f);
    edge_creds_t *c = NULL;
    char perr[300];
    if (err != 0)
        snprintf(why, sizeof(why), "credentials file '%.200s': %s", path, cm_strerror(err));
    else if (edge__creds_parse(b.base != NULL ? b.base : "", b.len, &c, perr, sizeof(perr)) != 0)
        snprintf(why, sizeof(why), "credentials file '%.150s': %.200s", path, perr);
    cm_buf_dispose(&b);
    if (c == NULL) {
        fail(r, why);
        return;
    }
    char from[300];
    snprintf(from, sizeof(from), "file '%.200s'", path);
    got(r, c, from);
}

static void step_failed(struct refresher *r, const char *what)
{
    static const char *const paths[] = {"PUT /latest/api/token", "GET /latest/meta-data/iam/security-credentials/",
                                        "GET /latest/meta-data/iam/security-credentials/<role>"};
    char l[300], why[400];
    label(r, l, sizeof(l));
    snprintf(why, sizeof(why), "%.220s: %s: %.100s", l, paths[r->step], what); /* bounded: no -Wformat-truncation */
    fail(r, why);
}

/* The answer of a step is complete in r->body. */
static void step_done(struct refresher *r)
{
    char *s = r->body.base != NULL ? r->body.base : "";
    size_t n = r->body.len;
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        n--;
    if (r->step == STEP_TOKEN || r->step == STEP_ROLE) {
        char *dst = r->step == STEP_TOKEN ? r->token : r->role;
        size_t cap = r->step == STEP_TOKEN ? sizeof(r->token) : sizeof(r->role);
        if (r->step == STEP_ROLE) { /* one role per instance profile: the first line */
            char *nl = memchr(s, '\n', n);
            if (nl != NULL)
                n = (size_t)(nl - s);
        }
        if (n == 0 || n >= cap || memchr(s, '\r', n) != NULL || (r->step == STEP_ROLE && memchr(s, '/', n) != NULL)) {
            step_failed(r, r->step == STEP_TOKEN ? "no usable token in the answer"
                                                 : "no role attached to this instance (or not a role name)");
            return;
        }
        memcpy(dst, s, n);
        dst[n] = '\0';
        r->step++;
        r->pending = 1;
        return;
    }
    edge_creds_t *c = NULL;
    char perr[300];
    if (edge__creds_parse(s, r->body.len, &c, perr, sizeof(perr)) != 0) {
        step_failed(r, perr);
        return;
    }
    char l[300], from[600];
    label(r, l, sizeof(l));
    snprintf(from, sizeof(from), "role '%s' (%s)", r->role, l);
    got(r, c, from);
}

static int on_body(h2o_http1client_t *client, const char *errstr)
{
    struct refresher *r = client->data;
    h2o_buffer_t *in = client->sock->input;
    int err = cm_buf_append(&r->body, in->bytes, in->size);
    h2o_buffer_consume(&client->sock->input, in->size);
    if (err != 0) {
        r->client = NULL;
        step_failed(r, "answer larger than 64 KiB");
        return -1;
    }
    if (errstr == NULL)
        return 0;
    r->client = NULL;
    if (errstr == h2o_http1client_error_is_eos)
        step_done(r);
    else
        step_failed(r, errstr);
    return 0;
}

static h2o_http1client_body_cb on_head(h2o_http1client_t *client, const char *errstr, int minor_version, int status,
                                       h2o_iovec_t msg, h2o_header_t *headers, size_t num_headers, int rlen)
{
    (void)minor_version, (void)msg, (void)headers, (void)num_headers, (void)rlen;
    struct refresher *r = client->data;
    if (errstr != NULL && errstr != h2o_http1client_error_is_eos) {
        r->client = NULL;
        step_failed(r, errstr);
        return NULL;
    }
    if (status != 200) {
        char what[64];
        snprintf(what, sizeof(what), "answered %d", status);
        r->client = NULL;
        step_failed(r, what);
        return NULL;
    }
    if (errstr == h2o_http1client_error_is_eos) {
        r->client = NULL;
        step_done(r);
        return NULL;
    }
    return on_body;
}

static h2o_http1client_head_cb on_connect(h2o_http1client_t *client, const char *errstr, h2o_iovec_t **reqbufs,
                                          size_t *reqbufcnt, int *method_is_head)
{
    struct refresher *r = client->data;
    if (errstr != NULL) {
        r->client = NULL;
        step_failed(r, errstr);
        return NULL;
    }
    *reqbufs = &r->reqbuf;
    *reqbufcnt = 1;
    *method_is_head = 0;
    return on_head;
}

static void start_step(struct refresher *r)
{
    r->pending = 0;
    int n;
    if (r->step == STEP_TOKEN)
        n = snprintf(r->head, sizeof(r->head),
                     "PUT /latest/api/token HTTP/1.1\r\nhost: %s\r\nx-aws-ec2-metadata-token-ttl-seconds: %d\r\n"
                     "content-length: 0\r\nconnection: close\r\n\r\n",
                     r->host, IMDS_TOKEN_TTL_S);
    else
        n = snprintf(r->head, sizeof(r->head),
                     "GET /latest/meta-data/iam/security-credentials/%s HTTP/1.1\r\nhost: %s\r\n"
                     "x-aws-ec2-metadata-token: %s\r\nconnection: close\r\n\r\n",
                     r->step == STEP_CREDS ? r->role : "", r->host, r->token);
    if (n <= 0 || (size_t)n >= sizeof(r->head)) {
        step_failed(r, "request too long");
        return;
    }
    r->reqbuf = h2o_iovec_init(r->head, (size_t)n);
    cm_buf_reset(&r->body);
    h2o_http1client_connect(&r->client, r, &r->cctx, h2o_iovec_init(r->host, strlen(r->host)), r->port, 0, on_connect);
}

/* Reads NEARJS_EDGE_IMDS ("http://HOST:PORT" or "HOST:PORT"), else IMDS's link-local address. */
static void imds_address(struct refresher *r)
{
    snprintf(r->host, sizeof(r->host), "%s", IMDS_DEFAULT_HOST);
    r->port = 80;
    const char *e = getenv(EDGE_CREDS_IMDS_ENV);
    if (e == NULL || e[0] == '\0')
        return;
    if (strncmp(e, "http://", 7) == 0)
        e += 7;
    const char *colon = strrchr(e, ':');
    char *end = NULL;
    unsigned long port = colon != NULL ? strtoul(colon + 1, &end, 10) : 80;
    size_t hl = colon != NULL ? (size_t)(colon - e) : strcspn(e, "/");
    if (hl == 0 || hl >= sizeof(r->host) || port == 0 || port > 65535 || (end != NULL && *end != '\0' && *end != '/')) {
        cm_log(stderr, "nearjs-edge", "%s='%.100s' is not http://HOST:PORT: using %s", EDGE_CREDS_IMDS_ENV, e,
               IMDS_DEFAULT_HOST);
        return;
    }
    memcpy(r->host, e, hl);
    r->host[hl] = '\0';
    r->port = (uint16_t)port;
}

static void tick(struct refresher *r)
{
    if (r->pending) {
        start_step(r);
        return;
    }
    if (r->busy || time(NULL) < r->next)
        return;
    pthread_mutex_lock(&r->srv->gen_mutex);
    edge_gen_t *g = edge__gen_ref(r->srv->gen);
    pthread_mutex_unlock(&r->srv->gen_mutex);
    int signs = 0;
    for (size_t i = 0; i < g->num_upstreams; i++)
        signs |= g->upstreams[i].conf->sign_service != NULL;
    if (!signs) {
        r->next = time(NULL) + 1; /* a reload may add one */
    } else if (g->conf.credentials_file != NULL) {
        from_file(r, g->conf.credentials_file);
    } else {
        r->busy = 1;
        r->step = STEP_TOKEN;
        start_step(r);
    }
    edge__gen_unref(g);
}

static void *refresher_main(void *arg)
{
    struct refresher *r = arg;
    while (!atomic_load(&r->srv->health_stop)) {
        h2o_evloop_run(r->loop, 100);
        tick(r);
    }
    if (r->client != NULL)
        h2o_http1client_cancel(r->client);
    edge_server_t *srv = r->srv;
    /* the cancelled request's lookup may still be answered into getaddr_receiver: only then may it go */
    if (cm_h2o_hostinfo_drain(r->loop, &r->getaddr_receiver, IMDS_TIMEOUT_MS) != 0) {
        cm_log(stderr, "nearjs-edge", "credentials: a name lookup still running after %d ms; leaving it to exit",
               IMDS_TIMEOUT_MS);
        edge__thread_park(&srv->park);
    }
    h2o_timeout_dispose(r->loop, &r->io_timeout);
    h2o_multithread_unregister_receiver(r->queue, &r->getaddr_receiver);
    cm_h2o_queue_destroy(r->queue);
    cm_h2o_evloop_destroy(r->loop);
    cm_buf_dispose(&r->body);
    free(r);
    edge__thread_park(&srv->park);
}

int edge__creds_start(edge_server_t *srv, pthread_t *tid)
{
    struct refresher *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return CM_ENOMEM;
    r->srv = srv;
    imds_address(r);
    cm_buf_init(&r->body, IMDS_MAX_BODY);
    r->loop = h2o_evloop_create();
    r->queue = h2o_multithread_create_queue(r->loop);
    h2o_multithread_register_receiver(r->queue, &r->getaddr_receiver, h2o_hostinfo_getaddr_receiver);
    h2o_timeout_init(r->loop, &r->io_timeout, IMDS_TIMEOUT_MS);
    r->cctx = (h2o_http1client_ctx_t){r->loop, &r->getaddr_receiver, &r->io_timeout, NULL, NULL};
    if (pthread_create(tid, NULL, refresher_main, r) != 0) {
        h2o_timeout_dispose(r->loop, &r->io_timeout);
        h2o_multithread_unregister_receiver(r->queue, &r->getaddr_receiver);
        cm_h2o_queue_destroy(r->queue);
        cm_h2o_evloop_destroy(r->loop);
        cm_buf_dispose(&r->body);
        free(r);
        return CM_ENOMEM;
    }
    return 0;
}
