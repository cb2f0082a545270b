/*
 * OCSP stapling for listener certificates whose authorityInfoAccess names an OCSP responder. At
 * generation build (edge__ocsp_setup) each such certificate gets a staple slot and a status callback on
 * its SSL context; a thread of its own (edge__ocsp_start) fetches a response for every due slot of the
 * current generation by POSTing an OCSP request over plain HTTP, verifies it against the issuer found in
 * the certificate file's chain, and caches its DER until refreshed (before nextUpdate, at least hourly).
 * Handshakes asking for status (status_request) get a copy of the cached response while it is still
 * valid, nothing otherwise: a failed fetch logs one line and never blocks or fails a handshake.
 * Invariant: a slot belongs to its generation (freed with it); its DER is guarded by its mutex, every
 * other field is written at setup or by the OCSP thread only.
 */
#include "gen.h"
#include "server.h"
#include "common/log.h"

#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OCSP_TIMEOUT_S 5
#define OCSP_MAX_RESPONSE (100 * 1024)
#define OCSP_REFRESH_MS (3600 * 1000ull) /* at least hourly */
#define OCSP_RETRY_MS (60 * 1000ull)     /* after a failed fetch */
#define OCSP_EARLY_S 300                 /* refresh this long before nextUpdate */

struct edge_staple {
    char *cert_file; /* borrowed from the generation's config */
    char *url;       /* owned */
    X509 *leaf, *issuer;
    STACK_OF(X509) * chain; /* the certificate file's chain; owned */
    X509_STORE *store;      /* the issuer as the trust anchor */
    pthread_mutex_t mutex;
    unsigned char *der; /* guarded by mutex; OPENSSL_malloc'd */
    size_t der_len;
    time_t expires;         /* guarded by mutex; staple served while now < expires */
    uint64_t next_fetch_ms; /* OCSP thread only */
};

static void staple_dispose(edge_staple_t *s)
{
    free(s->url);
    X509_free(s->leaf);
    X509_free(s->issuer);
    sk_X509_pop_free(s->chain, X509_free);
    X509_STORE_free(s->store);
    OPENSSL_free(s->der);
    pthread_mutex_destroy(&s->mutex);
}

void edge__ocsp_free(edge_gen_t *g)
{
    for (size_t i = 0; i < g->num_staples; i++)
        staple_dispose(&g->staples[i]);
    free(g->staples);
    g->staples = NULL;
    g->num_staples = 0;
}

static int status_cb(SSL *ssl, void *arg)
{
    edge_staple_t *s = arg;
    int rc = SSL_TLSEXT_ERR_NOACK;
    time_t now = time(NULL);
    pthread_mutex_lock(&s->mutex);
    if (s->der != NULL && now < s->expires) {
        unsigned char *copy = OPENSSL_memdup(s->der, s->der_len);
        /* OpenSSL takes the copy and frees it with the connection */
        if (copy != NULL && SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)s->der_len) == 1)
            rc = SSL_TLSEXT_ERR_OK;
        else
            OPENSSL_free(copy);
    }
    pthread_mutex_unlock(&s->mutex);
    return rc;
}

/* Sets up slot s for the certificate of ctx; returns 1 when it has a responder, 0 when not (or on
 * failure, logged: stapling is best effort, never a reason to refuse a configuration). */
static int staple_init(edge_staple_t *s, SSL_CTX *ctx, const char *cert_file)
{
    memset(s, 0, sizeof(*s));
    X509 *leaf = SSL_CTX_get0_certificate(ctx);
    if (leaf == NULL)
        return 0;
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(leaf);
    if (urls == NULL || sk_OPENSSL_STRING_num(urls) == 0) {
        X509_email_free(urls);
        return 0;
    }
    s->url = strdup(sk_OPENSSL_STRING_value(urls, 0));
    X509_email_free(urls);
    STACK_OF(X509) *chain = NULL;
    SSL_CTX_get0_chain_certs(ctx, &chain);
    X509 *issuer = NULL;
    for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
        if (X509_check_issued(sk_X509_value(chain, i), leaf) == X509_V_OK) {
            issuer = sk_X509_value(chain, i);
            break;
        }
    }
    if (s->url == NULL || issuer == NULL) {
        cm_log(stderr, "nearjs-edge", "OCSP stapling off for certificate '%.200s' (responder '%.200s'): %s", cert_file,
               s->url != NULL ? s->url : "?",
               issuer == NULL ? "its issuer is not in the certificate file (append the chain)" : "out of memory");
        free(s->url);
        return 0;
    }
    s->cert_file = (char *)cert_file;
    X509_up_ref(leaf);
    s->leaf = leaf;
    X509_up_ref(issuer);
    s->issuer = issuer;
    s->chain = X509_chain_up_ref(chain);
    s->store = X509_STORE_new();
    if (s->store != NULL) {
        X509_STORE_add_cert(s->store, issuer);
        /* the issuer may be an intermediate: trust it as the anchor of the responder's chain */
        X509_STORE_set_flags(s->store, X509_V_FLAG_PARTIAL_CHAIN);
    }
    pthread_mutex_init(&s->mutex, NULL);
    SSL_CTX_set_tlsext_status_cb(ctx, status_cb);
    SSL_CTX_set_tlsext_status_arg(ctx, s);
    return 1;
}

int edge__ocsp_setup(edge_gen_t *g, const edge_config_t *conf)
{
    size_t n = 0;
    for (size_t i = 0; i < conf->num_listeners; i++)
        n += g->listener_ssl[i] != NULL ? conf->listeners[i].num_certs : 0;
    if (n == 0)
        return 0;
    g->staples = calloc(n, sizeof(*g->staples));
    if (g->staples == NULL)
        return CM_ENOMEM;
    for (size_t i = 0; i < conf->num_listeners; i++) {
        for (size_t j = 0; g->listener_ssl[i] != NULL && j < conf->listeners[i].num_certs; j++) {
            SSL_CTX *ctx = cm_tls_server_pair_ctx(g->listener_ssl[i], j);
            if (ctx != NULL && staple_init(&g->staples[g->num_staples], ctx, conf->listeners[i].certs[j].cert_file))
                g->num_staples++;
        }
    }
    return 0;
}

static time_t asn1_to_time(const ASN1_GENERALIZEDTIME *t)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return timegm(&tm);
}

static const char *ossl_reason(char *buf, size_t size, const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
    snprintf(buf, size, "%s", r != NULL ? r : fallback);
    ERR_clear_error();
    return buf;
}

/* One fetch for s: on success caches the response and returns 0; else writes the cause into why. */
static int fetch(edge_staple_t *s, uint64_t now_ms, char *why, size_t whylen)
{
    int rc = -1, ssl = 0;
    char *host = NULL, *port = NULL, *path = NULL;
    OCSP_CERTID *id = NULL;
    OCSP_REQUEST *req = NULL;
    BIO *reqbio = NULL, *respbio = NULL;
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *basic = NULL;
    unsigned char *der = NULL;
    ERR_clear_error();
    if (OSSL_HTTP_parse_url(s->url, &ssl, NULL, &host, &port, NULL, &path, NULL, NULL) != 1) {
        snprintf(why, whylen, "responder URL not understood");
        goto fail;
    }
    if (ssl) {
        snprintf(why, whylen, "https responders are not supported (OCSP responders are http://)");
        goto fail;
    }
    if ((id = OCSP_cert_to_id(NULL, s->leaf, s->issuer)) == NULL || (req = OCSP_REQUEST_new()) == NULL) {
        char r[200];
        snprintf(why, whylen, "cannot build the request: %s", ossl_reason(r, sizeof(r), "out of memory"));
        goto fail;
    }
    OCSP_CERTID *reqid = OCSP_CERTID_dup(id);
    if (reqid == NULL || OCSP_request_add0_id(req, reqid) == NULL) {
        OCSP_CERTID_free(reqid);
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    if ((reqbio = ASN1_item_i2d_mem_bio(ASN1_ITEM_rptr(OCSP_REQUEST), (const ASN1_VALUE *)req)) == NULL) {
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    /* proxy "": a direct connection, whatever http_proxy says */
    respbio = OSSL_HTTP_transfer(NULL, host, port, path, 0, "", NULL, NULL, NULL, NULL, NULL, 0, NULL,
                                 "application/ocsp-request", reqbio, "application/ocsp-response", 1, OCSP_MAX_RESPONSE,
                                 OCSP_TIMEOUT_S, 0);
    if (respbio == NULL) {
        ossl_reason(why, whylen, "no answer");
        goto fail;
    }
    if ((resp = d2i_OCSP_RESPONSE_bio(respbio, NULL)) == NULL) {
        snprintf(why, whylen, "the answer is not an OCSP response");
        goto fail;
    }
    int status = OCSP_response_status(resp);
    if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        snprintf(why, whylen, "response status '%s'", OCSP_response_status_str(status));
        goto fail;
    }
    if ((basic = OCSP_response_get1_basic(resp)) == NULL) {
        snprintf(why, whylen, "no basic response");
        goto fail;
    }
    if (s->store == NULL || OCSP_basic_verify(basic, s->chain, s->store, 0) <= 0) {
        char r[200];
        snprintf(why, whylen, "response not signed by the issuer or its responder: %s",
                 ossl_reason(r, sizeof(r), "verification failed"));
        goto fail;
    }
    int cstatus = -1, reason = -1;
    ASN1_GENERALIZEDTIME *thisupd = NULL, *nextupd = NULL;
    if (OCSP_resp_find_status(basic, id, &cstatus, &reason, NULL, &thisupd, &nextupd) != 1) {
        snprintf(why, whylen, "the response does not cover this certificate");
        goto fail;
    }
    if (OCSP_check_validity(thisupd, nextupd, OCSP_EARLY_S, -1) != 1) {
        ERR_clear_error();
        snprintf(why, whylen, "the response is not valid now (thisUpdate/nextUpdate)");
        goto fail;
    }
    if (cstatus != V_OCSP_CERTSTATUS_GOOD) {
        snprintf(why, whylen, "certificate status '%s'", OCSP_cert_status_str(cstatus));
        goto fail;
    }
    int len = i2d_OCSP_RESPONSE(resp, &der);
    if (len <= 0) {
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    time_t now = (time_t)(now_ms / 1000);
    time_t next = asn1_to_time(nextupd);
    time_t expires = next != 0 ? next : now + (time_t)(OCSP_REFRESH_MS / 1000);
    uint64_t refresh = OCSP_REFRESH_MS;
    if (next != 0) {
        /* halfway to nextUpdate, no later than OCSP_EARLY_S before it, at least a minute from now */
        uint64_t left = next > now ? (uint64_t)(next - now) * 1000 : 0;
        if (left / 2 < refresh)
            refresh = left / 2;
        if (refresh < OCSP_RETRY_MS)
            refresh = OCSP_RETRY_MS;
    }
    pthread_mutex_lock(&s->mutex);
    OPENSSL_free(s->der);
    s->der = der;
    s->der_len = (size_t)len;
    s->expires = expires;
    pthread_mutex_unlock(&s->mutex);
    der = NULL;
    s->next_fetch_ms = now_ms + refresh;
    rc = 0;
fail:
    OPENSSL_free(der);
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(resp);
    BIO_free(respbio);
    BIO_free(reqbio);
    OCSP_REQUEST_free(req);
    OCSP_CERTID_free(id);
    OPENSSL_free(host);
    OPENSSL_free(port);
    OPENSSL_free(path);
    ERR_clear_error();
    return rc;
}

static void *ocsp_main(void *arg)
{
    edge_server_t *srv = arg;
    while (!atomic_load(&srv->health_stop)) {
        pthread_mutex_lock(&srv->gen_mutex);
        edge_gen_t *g = edge__gen_ref(srv->gen);
        pthread_mutex_unlock(&srv->gen_mutex);
        for (size_t i = 0; i < g->num_staples && !atomic_load(&srv->health_stop); i++) {
            edge_staple_t *s = &g->staples[i];
            uint64_t now = cm_epoch_ms();
            if (now < s->next_fetch_ms)
                continue;
            char why[300];
            if (fetch(s, now, why, sizeof(why)) != 0) {
                s->next_fetch_ms = now + OCSP_RETRY_MS;
                cm_log(stderr, "nearjs-edge", "OCSP for certificate '%.200s' from responder '%.200s' failed: %s%s",
                       s->cert_file, s->url, why,
                       s->der != NULL ? " (still stapling the previous response while valid)" : " (no staple)");
            }
        }
        edge__gen_unref(g);
        usleep(100 * 1000);
    }
    edge__thread_park(&srv->park);
}

int edge__ocsp_start(edge_server_t *srv, pthread_t *tid)
{
    return pthread_create(tid, NULL, ocsp_main, srv) != 0 ? CM_ENOMEM : 0;
}
