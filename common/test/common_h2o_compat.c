/* The libh2o 2.2.5 workarounds, each shown first to still be needed (so that this test notices the day a
 * libh2o upgrade fixes one: then h2o_compat.c must change), then shown to work: the evloop's epoll
 * descriptor, the context's queue (a leak LeakSanitizer reports in the asan tree if the free is missing), and
 * the SNI of a real TLS handshake over a socketpair (the server side in an h2o loop, the client OpenSSL). */
#include "common/h2o_compat.h"
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
        cm_h2o_queue_destroy(q);
        cm_h2o_context_dispose(&ctx);
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

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as the servers: a peer gone is an error return, not a signal */
    evloop_cases();
    queue_cases();
    sni_cases();
    return check_done("common_h2o_compat");
}
