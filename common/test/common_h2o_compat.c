/* The libh2o 2.2.5 workarounds, each shown first to still be needed (so that this test notices the day a
 * libh2o upgrade fixes one: then h2o_compat.c must change), then shown to work: the evloop's epoll
 * descriptor; the queues (the free is seen here: this test is linked with -Wl,--wrap=free, so every free()
 * of h2o_compat.c passes through __wrap_free below, while libh2o's own frees do not; LeakSanitizer also
 * reports a missing one in the asan tree); the SNI of a real TLS handshake over a socketpair (the server side
 * in an h2o loop, the client OpenSSL); and GOAWAY ENHANCE_YOUR_CALM written through the private layout of
 * h2o_http2_conn_t on a real HTTP/2 connection, read back as frames by a client speaking raw bytes. */
#include "common/h2o_compat.h"
#include "check.h"

#include <h2o/http2.h>

#include <dirent.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* --wrap=free (common/CMakeLists.txt): counts the frees of one watched pointer. */
void __real_free(void *p);
void __wrap_free(void *p);
static void *watched;
static int watched_frees;
void __wrap_free(void *p)
{
    if (p != NULL && p == watched)
        watched_frees++;
    __real_free(p);
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

static void evloop_cases(void)
{
    int before = count_fds();
    h2o_loop_t *loop = h2o_evloop_create();
    int fd = cm_h2o_evloop_fd(loop);
    CHECK(fd >= 0, "cm_h2o_evloop_fd found no epoll descriptor in a new loop");
    h2o_evloop_destroy(loop);
    CHECK(fd < 0 || fcntl(fd, F_GETFD) != -1, "libh2o's destroy closed the epoll fd: the workaround is now wrong");
    if (fd >= 0)
        close(fd);
    CHECK(count_fds() == before, "descriptors: %d, want %d", count_fds(), before);

    /* 100 loops, as 100 of the edge's SIGHUPs make */
    for (int i = 0; i < 100; i++)
        cm_h2o_evloop_destroy(h2o_evloop_create());
    CHECK(count_fds() == before, "after 100 loops: %d descriptors, want %d", count_fds(), before);

    cm_h2o_evloop_destroy(NULL);
    /* a descriptor that is no epoll instance is never taken for one */
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    struct {
        h2o_evloop_t super;
        int ep;
    } fake = {.ep = p[0]};
    CHECK(cm_h2o_evloop_fd(&fake.super) == -1, "a pipe was taken for an epoll descriptor");
    close(p[0]);
    close(p[1]);
}

/* contexts and queues disposed of: their pipes closed, and (checked by LeakSanitizer) their memory freed */
static void queue_cases(void)
{
    int before = count_fds();
    h2o_globalconf_t conf;
    h2o_config_init(&conf);
    h2o_config_register_host(&conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    for (int i = 0; i < 3; i++) {
        h2o_loop_t *loop = h2o_evloop_create();
        h2o_context_t ctx;
        h2o_context_init(&ctx, loop, &conf);
        h2o_multithread_queue_t *q = h2o_multithread_create_queue(loop);
        watched = q, watched_frees = 0;
        cm_h2o_queue_destroy(q);
        CHECK(watched_frees == 1, "cm_h2o_queue_destroy freed the queue %d times, want 1", watched_frees);
        watched = ctx.queue, watched_frees = 0;
        cm_h2o_context_dispose(&ctx);
        CHECK(watched_frees == 1, "cm_h2o_context_dispose freed the context's queue %d times, want 1", watched_frees);
        watched = NULL;
        h2o_evloop_run(loop, 0);
        cm_h2o_evloop_destroy(loop);
    }
    h2o_config_dispose(&conf);
    CHECK(count_fds() == before, "after 3 contexts: %d descriptors, want %d", count_fds(), before);
}

static SSL_CTX *server_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"test", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_sign(x, key, EVP_sha256());
    SSL_CTX_use_certificate(ctx, x);
    SSL_CTX_use_PrivateKey(ctx, key);
    X509_free(x);
    EVP_PKEY_free(key);
    return ctx;
}

struct seen {
    int done;
    const char *err;
    char sni[64];
    int sni_null;
};

static void on_handshake(h2o_socket_t *sock, const char *err)
{
    struct seen *s = sock->data;
    s->done = 1;
    s->err = err;
    const char *sni = err == NULL ? cm_h2o_sni(sock) : NULL;
    s->sni_null = sni == NULL;
    snprintf(s->sni, sizeof(s->sni), "%s", sni != NULL ? sni : "");
}

struct sni_case {
    const char *send; /* the client's SNI, NULL: none */
    const char *want; /* NULL: cm_h2o_sni returns NULL */
};

static void sni_cases(void)
{
    static const struct sni_case cases[] = {
        {"us-east-1.example.com", "us-east-1.example.com"},
        {NULL, NULL},
        {"a.b", "a.b"},
    };
    SSL_CTX *sctx = server_ctx(), *cctx = SSL_CTX_new(TLS_client_method());
    for (size_t i = 0; i < NCASES(cases); i++) {
        const struct sni_case *c = &cases[i];
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
        fcntl(sv[1], F_SETFL, O_NONBLOCK);
        h2o_loop_t *loop = h2o_evloop_create();
        h2o_socket_t *sock = h2o_evloop_socket_create(loop, sv[0], 0);
        struct seen s = {0};
        sock->data = &s;
        CHECK(cm_h2o_sni(sock) == NULL, "row %zu: an SNI before any TLS", i);
        h2o_socket_ssl_handshake(sock, sctx, NULL, on_handshake);
        SSL *ssl = SSL_new(cctx);
        SSL_set_fd(ssl, sv[1]);
        if (c->send != NULL)
            SSL_set_tlsext_host_name(ssl, c->send);
        int crc = 0;
        for (int round = 0; round < 200 && !(s.done && crc == 1); round++) {
            if (crc != 1)
                crc = SSL_connect(ssl);
            h2o_evloop_run(loop, 5);
        }
        CHECK(s.done && s.err == NULL && crc == 1, "row %zu: handshake: done %d err %s client %d", i, s.done,
              s.err ? s.err : "-", crc);
        CHECK(c->want == NULL ? s.sni_null : !s.sni_null && strcmp(s.sni, c->want) == 0,
              "row %zu: SNI '%s' (null %d), want %s", i, s.sni, s.sni_null, c->want ? c->want : "NULL");
        SSL_free(ssl);
        close(sv[1]);
        h2o_socket_close(sock);
        h2o_evloop_run(loop, 0);
        cm_h2o_evloop_destroy(loop);
    }
    CHECK(cm_h2o_sni(NULL) == NULL, "cm_h2o_sni(NULL)");
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
}

/* GOAWAY: a handler calls cm_h2o_http2_goaway_calm twice on a live HTTP/2 connection's request. */
static struct {
    int calls, first, second;
} calm;

static int on_req_calm(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    calm.calls++;
    calm.first = cm_h2o_http2_goaway_calm(req, "calm down");
    calm.second = cm_h2o_http2_goaway_calm(req, "again");
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_send_inline(req, H2O_STRLIT("ok"));
    return 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void goaway_cases(void)
{
    h2o_req_t h1 = {.version = 0x101};
    CHECK(cm_h2o_http2_goaway_calm(&h1, "x") == 0, "an HTTP/1.1 request got a GOAWAY");

    h2o_globalconf_t conf;
    h2o_config_init(&conf);
    h2o_hostconf_t *host = h2o_config_register_host(&conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_create_handler(h2o_config_register_path(host, "/", 0), sizeof(h2o_handler_t))->on_req = on_req_calm;
    h2o_loop_t *loop = h2o_evloop_create();
    h2o_context_t ctx;
    h2o_context_init(&ctx, loop, &conf);
    h2o_accept_ctx_t actx = {.ctx = &ctx, .hosts = conf.hosts};
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    h2o_http2_accept(&actx, h2o_evloop_socket_create(loop, sv[0], 0), (struct timeval){0});

    /* the preface, an empty SETTINGS, and HEADERS on stream 1 (END_STREAM|END_HEADERS): GET https / with
     * :authority "a", in HPACK's static table and one literal */
    static const unsigned char hello[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                         "\x00\x00\x00\x04\x00\x00\x00\x00\x00"
                                         "\x00\x00\x06\x01\x05\x00\x00\x00\x01\x82\x87\x84\x41\x01\x61";
    CHECK(write(sv[1], hello, sizeof(hello) - 1) == (ssize_t)(sizeof(hello) - 1), "write the client's bytes");
    unsigned char in[16384];
    size_t len = 0, off = 0;
    int goaways = 0;
    uint32_t last_id = 0, code = 0;
    char debug[64] = "";
    for (int round = 0; round < 200 && goaways == 0; round++) {
        h2o_evloop_run(loop, 5);
        ssize_t n = read(sv[1], in + len, sizeof(in) - len);
        if (n > 0)
            len += (size_t)n;
        while (len - off >= 9) { /* whole frames: 24-bit length, type, flags, stream id */
            size_t flen = (size_t)in[off] << 16 | (size_t)in[off + 1] << 8 | in[off + 2];
            if (len - off < 9 + flen)
                break;
            const unsigned char *payload = in + off + 9;
            if (in[off + 3] == 0x7 && flen >= 8) { /* GOAWAY */
                goaways++;
                last_id = be32(payload) & 0x7fffffffu;
                code = be32(payload + 4);
                snprintf(debug, sizeof(debug), "%.*s", (int)(flen - 8), (const char *)payload + 8);
            }
            off += 9 + flen;
        }
    }
    CHECK(calm.calls == 1, "the handler ran %d times, want 1", calm.calls);
    CHECK(calm.first == 1 && calm.second == 0, "goaway_calm returned %d then %d, want 1 then 0", calm.first,
          calm.second);
    CHECK(goaways == 1, "%d GOAWAY frames, want 1", goaways);
    CHECK(last_id == 1 && code == H2O_HTTP2_ERROR_ENHANCE_YOUR_CALM * -1 && strcmp(debug, "calm down") == 0,
          "GOAWAY last-stream-id %u, error %u, debug '%s'; want 1, %d (ENHANCE_YOUR_CALM), 'calm down'", last_id, code,
          debug, -H2O_HTTP2_ERROR_ENHANCE_YOUR_CALM);
    close(sv[1]);
    for (int i = 0; i < 10; i++)
        h2o_evloop_run(loop, 1);
    cm_h2o_context_dispose(&ctx);
    cm_h2o_evloop_destroy(loop);
    h2o_config_dispose(&conf);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as the servers: a peer gone is an error return, not a signal */
    evloop_cases();
    queue_cases();
    sni_cases();
    goaway_cases();
    return check_done("common_h2o_compat");
}
