/* Session tickets through real in-memory handshakes (a BIO pair between an OpenSSL client and a server
 * context from cm_tls_server_new): one ticket per full handshake, resumption across a reload (a new
 * context on the same key ring), none across key rings, no new ticket after a resumption under the
 * sealing key, a renewal under an older key, and a ticket refused once its key has rotated off. */
#include "check.h"
#include "common/buf.h"
#include "common/tls.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char cert_path[] = "/tmp/nearjs-tickets-cert-XXXXXX";
static char key_path[] = "/tmp/nearjs-tickets-key-XXXXXX";

/* A throwaway self-signed P-256 certificate in two temporary files. Returns 0 or -1. */
static int write_cert(void)
{
    int rc = -1;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    int cfd = mkstemp(cert_path), kfd = mkstemp(key_path);
    FILE *cf = cfd >= 0 ? fdopen(cfd, "w") : NULL, *kf = kfd >= 0 ? fdopen(kfd, "w") : NULL;
    if (key == NULL || x == NULL || cf == NULL || kf == NULL)
        goto done;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"t.example", -1, -1,
                               0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key);
    if (X509_sign(x, key, EVP_sha256()) > 0 && PEM_write_X509(cf, x) == 1 &&
        PEM_write_PrivateKey(kf, key, NULL, NULL, 0, NULL, NULL) == 1)
        rc = 0;
done:
    if (cf != NULL)
        fclose(cf);
    if (kf != NULL)
        fclose(kf);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

/* The client keeps the newest ticket it got and counts them. */
static SSL_SESSION *last_ticket;
static int tickets_seen;

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    (void)ssl;
    SSL_SESSION_free(last_ticket);
    last_ticket = sess; /* returning 1 keeps the reference */
    tickets_seen++;
    return 1;
}

static SSL_CTX *client_ctx(int max_version)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_max_proto_version(c, max_version);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c, new_session_cb);
    return c;
}

/* One connection: handshake, a byte from server to client (so that the client reads the TLS 1.3
 * tickets sent after the handshake), then both close. Resumes from `resume` when given (borrowed).
 * Returns 1 when the session was resumed, 0 when not, -1 when the exchange failed. */
static int connect_once(SSL_CTX *server, SSL_CTX *client, SSL_SESSION *resume)
{
    SSL *s = SSL_new(server), *c = SSL_new(client);
    int tickets_before = tickets_seen;
    BIO *sb = NULL, *cb = NULL;
    int result = -1;
    if (s == NULL || c == NULL || BIO_new_bio_pair(&sb, 0, &cb, 0) != 1)
        goto done;
    SSL_set_bio(s, sb, sb);
    SSL_set_bio(c, cb, cb);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    if (resume != NULL)
        SSL_set_session(c, resume);
    int sdone = 0, cdone = 0;
    for (int i = 0; i < 20 && !(sdone && cdone); i++) {
        if (!cdone) {
            int r = SSL_do_handshake(c);
            if (r == 1)
                cdone = 1;
            else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ)
                goto done;
        }
        if (!sdone) {
            int r = SSL_do_handshake(s);
            if (r == 1)
                sdone = 1;
            else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ)
                goto done;
        }
    }
    char byte = 'x';
    if (!(sdone && cdone) || SSL_write(s, &byte, 1) != 1 || SSL_read(c, &byte, 1) != 1)
        goto done;
    result = SSL_session_reused(c);
    /* TLS 1.2 renews a ticket inside the resumed session, with no new-session callback: count it here */
    const unsigned char *now_ticket = NULL, *offered = NULL;
    size_t now_len = 0, offered_len = 0;
    if (result == 1 && tickets_before == tickets_seen) {
        SSL_SESSION_get0_ticket(SSL_get_session(c), &now_ticket, &now_len);
        SSL_SESSION_get0_ticket(resume, &offered, &offered_len);
        if (now_len != offered_len || memcmp(now_ticket, offered, now_len) != 0) {
            SSL_SESSION_free(last_ticket);
            last_ticket = SSL_get1_session(c);
            tickets_seen++;
        }
    }
    /* a connection freed without close_notify marks its session unresumable, as an aborted one should */
    SSL_shutdown(c);
    SSL_shutdown(s);
done:
    SSL_free(s);
    SSL_free(c);
    return result;
}

static SSL_CTX *server_ctx(cm_tls_tickets_t *tickets)
{
    cm_tls_pair_t pair = {cert_path, key_path};
    cm_tls_server_opts_t opts = {.pairs = &pair, .num_pairs = 1, .tickets = tickets};
    SSL_CTX *ctx = NULL;
    char err[CM_TLS_ERR_SIZE];
    int rc = cm_tls_server_new(&opts, &ctx, err);
    CHECK(rc == 0, "cm_tls_server_new: %d %s", rc, err);
    return ctx;
}

/* A connection with what it should show: resumed or not, and how many tickets the client got. */
struct step {
    const char *what;
    int server;      /* index into the contexts */
    int resume;      /* offer the newest ticket so far */
    int rotate;      /* rotate ring A this many times first */
    int want_reused; /* 1 resumed, 0 full */
    int want_tickets;
};

static void run_steps(const char *label, int max_version)
{
    cm_tls_tickets_t *ring_a = NULL, *ring_b = NULL;
    CHECK(cm_tls_tickets_new(0, &ring_a) == 0 && cm_tls_tickets_new(0, &ring_b) == 0, "cm_tls_tickets_new");
    /* 0 and 1 share ring A (1 is the context a reload builds), 2 has its own ring */
    SSL_CTX *servers[3] = {server_ctx(ring_a), server_ctx(ring_a), server_ctx(ring_b)};
    /* the contexts hold their own references: the caller's may go at once */
    cm_tls_tickets_free(ring_b);
    SSL_CTX *client = client_ctx(max_version);
    static const struct step steps[] = {
        {"full handshake: one ticket", 0, 0, 0, 0, 1},
        {"after a reload, same keys: resumed, no new ticket", 1, 1, 0, 1, 0},
        {"other keys: full handshake, a new ticket", 2, 1, 0, 0, 1},
        {"back on ring A: that ticket is not ours", 0, 1, 0, 0, 1},
        {"one rotation later: resumed, ticket renewed", 1, 1, 1, 1, 1},
        {"the renewed ticket, sealing key: no new ticket", 0, 1, 0, 1, 0},
        {"three rotations later: its key is gone", 0, 1, 3, 0, 1},
    };
    for (size_t i = 0; i < NCASES(steps); i++) {
        const struct step *st = &steps[i];
        for (int r = 0; r < st->rotate; r++)
            cm_tls_tickets_rotate(ring_a);
        int before = tickets_seen;
        SSL_SESSION *offer = st->resume ? last_ticket : NULL;
        if (offer != NULL)
            SSL_SESSION_up_ref(offer);
        int reused = servers[st->server] != NULL ? connect_once(servers[st->server], client, offer) : -1;
        SSL_SESSION_free(offer);
        CHECK(reused == st->want_reused && tickets_seen - before == st->want_tickets,
              "%s step %zu (%s): resumed %d (want %d), tickets %d (want %d)", label, i, st->what, reused,
              st->want_reused, tickets_seen - before, st->want_tickets);
    }
    /* resumptions per context: 0 had steps 5 (resumed) and 0, 3, 6 (full); 1 had steps 1 and 4 */
    static const unsigned long want_resumed[] = {1, 2, 0};
    for (size_t i = 0; i < NCASES(servers); i++)
        CHECK(cm_tls_server_resumed(servers[i]) == want_resumed[i], "%s context %zu: %lu resumed, want %lu", label, i,
              cm_tls_server_resumed(servers[i]), want_resumed[i]);
    for (size_t i = 0; i < NCASES(servers); i++)
        cm_tls_ctx_free(servers[i]);
    cm_tls_tickets_free(ring_a);
    SSL_CTX_free(client);
    SSL_SESSION_free(last_ticket);
    last_ticket = NULL;
}

int main(void)
{
    if (write_cert() != 0) {
        fprintf(stderr, "cannot write a test certificate\n");
        return 1;
    }
    run_steps("TLS 1.3", TLS1_3_VERSION);
    run_steps("TLS 1.2", TLS1_2_VERSION);
    /* wrong use: NULL is a no-op for ref and free */
    CHECK(cm_tls_tickets_ref(NULL) == NULL, "ref(NULL)");
    cm_tls_tickets_free(NULL);
    unlink(cert_path);
    unlink(key_path);
    return check_done("common_tls_tickets");
}
