/*
 * TLS contexts for the servers (edge, nearjs-local start-api --domain): a server SSL_CTX that picks
 * one of several certificate/key pairs by SNI (exact names and "*.example.com" wildcards, taken from
 * each certificate's subjectAltName DNS names, or its CN when it has none), offers ALPN h2 and
 * http/1.1, refuses anything older than TLS 1.2 and resumes sessions by tickets (one per full
 * handshake, keys from a cm_tls_tickets_t); and a client SSL_CTX that verifies its peer
 * against a CA file or the system store.
 *
 * Errors come back as CM_E* codes (common/buf.h) plus a one-line description written into a caller
 * buffer (file, what was wrong, OpenSSL's reason) for the program to print. Contexts are OpenSSL
 * reference-counted objects: once built they are safe to share between threads.
 */
#ifndef NEARJS_COMMON_TLS_H
#define NEARJS_COMMON_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Room for a one-line error description; longer ones are truncated. */
#define CM_TLS_ERR_SIZE 512

/* One certificate chain (PEM, leaf first) and its private key (PEM). Borrowed paths. */
typedef struct cm_tls_pair {
    const char *cert_file;
    const char *key_file;
} cm_tls_pair_t;

/* Session-ticket keys that outlive the contexts using them (so a reload keeps resumption working)
 * and rotate: the newest key seals, the two before it still open; a ticket opened with an older key
 * is replaced by one under the newest. Reference-counted; thread-safe. */
typedef struct cm_tls_tickets cm_tls_tickets_t;

/* A new key ring with one reference whose sealing key is replaced every rotate_secs (0: 3600), so a
 * ticket stays good for two to three periods. Returns 0, CM_ENOMEM, or CM_ETLS (no AES-256-CBC or no
 * random bytes from OpenSSL); *out is untouched on error. */
int cm_tls_tickets_new(unsigned rotate_secs, cm_tls_tickets_t **out);
/* Adds a reference; returns t. NULL is a no-op. */
cm_tls_tickets_t *cm_tls_tickets_ref(cm_tls_tickets_t *t);
/* Drops a reference; the last one wipes the keys and frees. NULL is a no-op. */
void cm_tls_tickets_free(cm_tls_tickets_t *t);
/* Puts a new sealing key in front now (the oldest drops off a full ring), as if the period had ended.
 * NULL is a no-op. */
void cm_tls_tickets_rotate(cm_tls_tickets_t *t);

typedef struct cm_tls_server_opts {
    const cm_tls_pair_t *pairs; /* the first pair is the default when SNI is absent or matches none */
    size_t num_pairs;           /* >= 1 */
    int disable_h2;             /* non-zero: offer only http/1.1 in ALPN */
    int min_tls13;              /* non-zero: TLS 1.3 minimum instead of 1.2 */
    cm_tls_tickets_t *tickets;  /* borrowed (the contexts take references); NULL: OpenSSL's per-context keys */
} cm_tls_server_opts_t;

/* Builds a server context from opts. Returns 0 and stores a new context in *out (release with
 * cm_tls_ctx_free), or CM_EINVAL (bad opts), CM_EIO (a file unreadable), CM_ETLS (OpenSSL refused a
 * certificate, a key, or a key that does not match its certificate) or CM_ENOMEM, with *out untouched
 * and a description in err. Thread-safe. */
int cm_tls_server_new(const cm_tls_server_opts_t *opts, SSL_CTX **out, char err[CM_TLS_ERR_SIZE]);

typedef struct cm_tls_client_opts {
    const char *ca_file; /* PEM bundle to trust; NULL: the system store */
    int insecure;        /* non-zero: no peer verification at all (tests, --insecure) */
} cm_tls_client_opts_t;

/* Builds a client context: TLS 1.2 minimum, peer verified against opts' trust anchors unless
 * insecure. The host name check is the caller's (cm_tls_client_expect_host, or the TLS library
 * on top, e.g. h2o's handshake). Returns as cm_tls_server_new. */
int cm_tls_client_new(const cm_tls_client_opts_t *opts, SSL_CTX **out, char err[CM_TLS_ERR_SIZE]);

/* Sets SNI to name on ssl and makes the handshake fail unless the peer's certificate matches name.
 * Returns 0 or CM_ENOMEM. */
int cm_tls_client_expect_host(SSL *ssl, const char *name);

/* Drops one reference to a context made here (and the per-name contexts it holds). NULL is a no-op. */
void cm_tls_ctx_free(SSL_CTX *ctx);

/* Non-zero when the DNS name `name` (len bytes) matches `pattern`: equal ignoring ASCII case, or
 * pattern "*.rest" and name is exactly one more label followed by ".rest". */
int cm_tls_name_matches(const char *pattern, const char *name, size_t len);

/* The context serving pair i (in cm_tls_server_opts_t order) of a server context made here, or NULL when
 * i is out of range. Borrowed: it lives as long as ctx. Callers may set per-certificate callbacks on it
 * (e.g. OCSP stapling) before the context is shared. */
SSL_CTX *cm_tls_server_pair_ctx(SSL_CTX *ctx, size_t i);

/* Counts the TLS handshakes begun (ClientHellos seen) on a server context made here. Thread-safe. */
unsigned long cm_tls_server_handshakes(SSL_CTX *ctx);

/* Counts the handshakes on a server context made here that resumed a session (TLS 1.3 PSK or a TLS 1.2
 * ticket) instead of a full handshake. Thread-safe. */
unsigned long cm_tls_server_resumed(SSL_CTX *ctx);

#ifdef __cplusplus
}
#endif

#endif
