/*
 * Server and client SSL_CTX setup shared by the servers. A server context is the default pair's
 * context; it carries (as ex_data) a table of every pair's context and the DNS names each answers
 * for, and its servername callback moves a connection to the matching context. Invariant: the table
 * is owned by the default context alone (freed with its last reference) and holds one reference on
 * every other pair's context; the others point at it without owning it.
 */
#include "common/tls.h"
#include "common/buf.h"
#include "tls_internal.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_NAMES_PER_CERT 64

struct sni_entry {
    SSL_CTX *ctx; /* referenced, except entry 0 which is the owner itself */
    char **names;
    size_t num_names;
};

struct sni_table {
    SSL_CTX *owner;
    struct sni_entry *entries;
    size_t num_entries;
    atomic_ulong hellos;
    const unsigned char *alpn; /* static wire-format list */
    unsigned alpn_len;
};

/* Our order, which the server imposes. AES-128-GCM first, as browsers ask: it is as safe in practice
 * as AES-256, and its SHA-256 (in hardware on current x86 and ARM) runs the handshake's key schedule
 * and transcript hashes at about three times SHA-384's speed. ChaCha20 for clients without AES
 * instructions. TLS 1.2: forward-secret AEAD suites only, ECDSA and RSA certificates alike. */
#define TLS13_SUITES "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"
#define TLS12_CIPHERS                                                                                                  \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:"                         \
    "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"

static const unsigned char alpn_h2_h1[] = "\x02h2\x08http/1.1";
static const unsigned char alpn_h1[] = "\x08http/1.1";

static int table_index = -1;
static pthread_once_t table_index_once = PTHREAD_ONCE_INIT;

static void table_free(struct sni_table *t)
{
    for (size_t i = 0; i < t->num_entries; i++) {
        struct sni_entry *e = &t->entries[i];
        if (i > 0 && e->ctx != NULL)
            SSL_CTX_free(e->ctx);
        for (size_t j = 0; j < e->num_names; j++)
            free(e->names[j]);
        free(e->names);
    }
    free(t->entries);
    free(t);
}

static void table_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)ad, (void)idx, (void)argl, (void)argp;
    struct sni_table *t = ptr;
    /* only the default context owns the table; the per-name contexts merely point at it */
    if (t != NULL && t->owner == parent)
        table_free(t);
}

static void make_table_index(void)
{
    table_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, table_ex_free);
}

static void set_err(char err[CM_TLS_ERR_SIZE], const char *fmt, const char *a, const char *b)
{
    snprintf(err, CM_TLS_ERR_SIZE, fmt, a, b);
}

/* OpenSSL's most recent reason, or a generic phrase when its queue is empty. Clears the queue. */
static const char *ossl_reason(char *buf, size_t size)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0) {
        snprintf(buf, size, "unknown OpenSSL error");
    } else {
        const char *r = ERR_reason_error_string(e);
        snprintf(buf, size, "%s", r != NULL ? r : "unknown OpenSSL error");
    }
    ERR_clear_error();
    return buf;
}

/* Checks that path can be opened so that the user sees errno's reason rather than OpenSSL's. */
static int check_readable(const char *what, const char *path, char err[CM_TLS_ERR_SIZE])
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        char msg[160];
        snprintf(msg, sizeof(msg), "%s '%%.200s' not readable: %%s", what);
        set_err(err, msg, path, strerror(errno));
        return CM_EIO;
    }
    fclose(f);
    return 0;
}

int cm_tls_name_matches(const char *pattern, const char *name, size_t len)
{
    size_t plen = strlen(pattern);
    if (plen >= 2 && pattern[0] == '*' && pattern[1] == '.') {
        /* "*.rest" matches "label.rest" where label is non-empty and holds no dot */
        const char *rest = pattern + 1; /* ".rest" */
        size_t rlen = plen - 1;
        if (len <= rlen)
            return 0;
        size_t label = len - rlen;
        if (memchr(name, '.', label) != NULL)
            return 0;
        return strncasecmp(name + label, rest, rlen) == 0;
    }
    return plen == len && strncasecmp(pattern, name, len) == 0;
}

static int servername_cb(SSL *ssl, int *al, void *arg)
{
    (void)al;
    struct sni_table *t = arg;
    atomic_fetch_add_explicit(&t->hellos, 1, memory_order_relaxed);
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (sni == NULL)
        return SSL_TLSEXT_ERR_OK;
    size_t len = strlen(sni);
    /* exact names win over wildcards, whatever the order of the pairs */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < t->num_entries; i++) {
            struct sni_entry *e = &t->entries[i];
            for (size_t j = 0; j < e->num_names; j++) {
                int wild = e->names[j][0] == '*';
                if (wild != pass || !cm_tls_name_matches(e->names[j], sni, len))
                    continue;
                if (SSL_get_SSL_CTX(ssl) != e->ctx)
                    SSL_set_SSL_CTX(ssl, e->ctx);
                return SSL_TLSEXT_ERR_OK;
            }
        }
    }
    return SSL_TLSEXT_ERR_OK;
}

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in, unsigned inlen,
                   void *arg)
{
    (void)ssl;
    struct sni_table *t = arg;
    unsigned char *sel = NULL;
    /* our preference order (h2 first) decides, as servers should */
    if (SSL_select_next_proto(&sel, outlen, t->alpn, t->alpn_len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* Collects the certificate's DNS names (SAN, else CN) into e. Returns 0, CM_ENOMEM or CM_EINVAL. */
static int collect_names(X509 *x, struct sni_entry *e)
{
    e->names = calloc(MAX_NAMES_PER_CERT, sizeof(*e->names));
    if (e->names == NULL)
        return CM_ENOMEM;
    GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    int n = sans != NULL ? sk_GENERAL_NAME_num(sans) : 0;
    for (int i = 0; i < n && e->num_names < MAX_NAMES_PER_CERT; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        if (g->type != GEN_DNS)
            continue;
        const unsigned char *s = ASN1_STRING_get0_data(g->d.dNSName);
        int slen = ASN1_STRING_length(g->d.dNSName);
        if (slen <= 0 || memchr(s, '\0', (size_t)slen) != NULL)
            continue;
        char *name = strndup((const char *)s, (size_t)slen);
        if (name == NULL) {
            GENERAL_NAMES_free(sans);
            return CM_ENOMEM;
        }
        e->names[e->num_names++] = name;
    }
    GENERAL_NAMES_free(sans);
    if (e->num_names == 0) {
        char cn[256];
        int cnlen = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
        if (cnlen > 0) {
            if ((e->names[0] = strndup(cn, (size_t)cnlen)) == NULL)
                return CM_ENOMEM;
            e->num_names = 1;
        }
    }
    return 0;
}

static SSL_CTX *new_server_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    /* Resumption by stateless tickets only (TLS 1.2 and 1.3), as nginx's default: a server-side session
     * cache costs a locked hash insert per handshake and periodic sweeps over it (seen in profiles), and
     * is per process anyway. Record buffers are kept, not released after each record: under keep-alive
     * that release costs a malloc/free pair per read and per write. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* TLS 1.3 sends two tickets per full handshake by default, for clients that open parallel
     * connections; ours hold one (h2, or a browser's h1 pool resuming from one ticket), and each ticket
     * is a session copy, its encoding and a seal on the handshake's CPU bill. */
    SSL_CTX_set_num_tickets(ctx, 1);
    if (SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) != 1 || SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static int load_pair(SSL_CTX *ctx, const cm_tls_pair_t *p, struct sni_entry *e, char err[CM_TLS_ERR_SIZE])
{
    char reason[200];
    int rc;
    if ((rc = check_readable("certificate file", p->cert_file, err)) != 0 ||
        (rc = check_readable("key file", p->key_file, err)) != 0)
        return rc;
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(ctx, p->cert_file) != 1) {
        set_err(err, "certificate file '%.200s' refused: %s", p->cert_file, ossl_reason(reason, sizeof(reason)));
        return CM_ETLS;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, p->key_file, SSL_FILETYPE_PEM) != 1) {
        set_err(err, "key file '%.200s' refused: %s", p->key_file, ossl_reason(reason, sizeof(reason)));
        return CM_ETLS;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        set_err(err, "key file '%.200s' does not match its certificate: %s", p->key_file,
                ossl_reason(reason, sizeof(reason)));
        return CM_ETLS;
    }
    if ((rc = collect_names(SSL_CTX_get0_certificate(ctx), e)) != 0) {
        set_err(err, "certificate file '%.200s': %s", p->cert_file,
                rc == CM_ENOMEM ? "out of memory" : "invalid input");
        return rc;
    }
    return 0;
}

int cm_tls_server_new(const cm_tls_server_opts_t *opts, SSL_CTX **out, char err[CM_TLS_ERR_SIZE])
{
    err[0] = '\0';
    if (opts == NULL || opts->pairs == NULL || opts->num_pairs == 0) {
        set_err(err, "no certificate given%s%s", "", "");
        return CM_EINVAL;
    }
    pthread_once(&table_index_once, make_table_index);
    if (table_index < 0) {
        set_err(err, "cannot register TLS context data%s%s", "", "");
        return CM_ENOMEM;
    }
    int rc = CM_ENOMEM;
    struct sni_table *t = calloc(1, sizeof(*t));
    if (t == NULL || (t->entries = calloc(opts->num_pairs, sizeof(*t->entries))) == NULL) {
        free(t);
        set_err(err, "%s%s", "out of memory", "");
        return CM_ENOMEM;
    }
    atomic_init(&t->hellos, 0);
    t->alpn = opts->disable_h2 ? alpn_h1 : alpn_h2_h1;
    t->alpn_len = (unsigned)(opts->disable_h2 ? sizeof(alpn_h1) : sizeof(alpn_h2_h1)) - 1;
    for (size_t i = 0; i < opts->num_pairs; i++) {
        SSL_CTX *ctx = new_server_ctx();
        if (ctx == NULL) {
            set_err(err, "%s%s", "out of memory", "");
            goto fail;
        }
        t->entries[i].ctx = ctx;
        t->num_entries = i + 1;
        if (i == 0)
            t->owner = ctx;
        if (opts->min_tls13)
            SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
        SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, t);
        SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
        SSL_CTX_set_tlsext_servername_arg(ctx, t);
        if ((rc = load_pair(ctx, &opts->pairs[i], &t->entries[i], err)) != 0)
            goto fail;
        if (SSL_CTX_set_ex_data(ctx, table_index, t) != 1) {
            rc = CM_ENOMEM;
            goto fail;
        }
        if (opts->tickets != NULL && (rc = cm__tls_tickets_attach(ctx, opts->tickets)) != 0) {
            set_err(err, "%s%s", "out of memory", "");
            goto fail;
        }
    }
    *out = t->owner;
    return 0;
fail:
    if (t->owner != NULL && SSL_CTX_get_ex_data(t->owner, table_index) == t) {
        SSL_CTX_free(t->owner); /* frees the table too */
    } else {
        if (t->owner != NULL)
            SSL_CTX_free(t->owner);
        table_free(t);
    }
    return rc;
}

int cm_tls_client_new(const cm_tls_client_opts_t *opts, SSL_CTX **out, char err[CM_TLS_ERR_SIZE])
{
    char reason[200];
    err[0] = '\0';
    if (opts == NULL) {
        set_err(err, "no client options%s%s", "", "");
        return CM_EINVAL;
    }
    int rc;
    if (opts->ca_file != NULL && (rc = check_readable("ca file", opts->ca_file, err)) != 0)
        return rc;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        set_err(err, "%s%s", "out of memory", "");
        return CM_ENOMEM;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    ERR_clear_error();
    if (opts->insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    } else {
        int ok = opts->ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, opts->ca_file, NULL)
                                       : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) {
            set_err(err, "ca file '%.200s' refused: %s", opts->ca_file != NULL ? opts->ca_file : "(system store)",
                    ossl_reason(reason, sizeof(reason)));
            SSL_CTX_free(ctx);
            return CM_ETLS;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    *out = ctx;
    return 0;
}

int cm_tls_client_expect_host(SSL *ssl, const char *name)
{
    if (SSL_set_tlsext_host_name(ssl, name) != 1 || SSL_set1_host(ssl, name) != 1)
        return CM_ENOMEM;
    return 0;
}

void cm_tls_ctx_free(SSL_CTX *ctx)
{
    if (ctx != NULL)
        SSL_CTX_free(ctx);
}

unsigned long cm_tls_server_handshakes(SSL_CTX *ctx)
{
    if (table_index < 0 || ctx == NULL)
        return 0;
    struct sni_table *t = SSL_CTX_get_ex_data(ctx, table_index);
    return t != NULL ? atomic_load_explicit(&t->hellos, memory_order_relaxed) : 0;
}

unsigned long cm_tls_server_resumed(SSL_CTX *ctx)
{
    /* OpenSSL counts resumptions on the context a connection started on (ours: the default pair's) */
    return ctx != NULL ? (unsigned long)SSL_CTX_sess_hits(ctx) : 0;
}

SSL_CTX *cm_tls_server_pair_ctx(SSL_CTX *ctx, size_t i)
{
    if (table_index < 0 || ctx == NULL)
        return NULL;
    struct sni_table *t = SSL_CTX_get_ex_data(ctx, table_index);
    return t != NULL && t->owner == ctx && i < t->num_entries ? t->entries[i].ctx : NULL;
}
