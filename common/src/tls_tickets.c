/*
 * Session-ticket keys shared by server contexts. OpenSSL's own ticket keys are random per SSL_CTX and
 * never change: every reload (a new context) makes every returning client pay a full handshake again,
 * and a key that lives for months protects every session it ever sealed. A key ring fixes both: it
 * outlives the contexts (each holds a reference), its newest key seals new tickets and is replaced every
 * rotate_secs, and the older keys still open the tickets they sealed until they drop off the end.
 *
 * A ticket opened with the newest key is not renewed, as nginx and h2o do: in TLS 1.3 OpenSSL would
 * otherwise seal and send a fresh ticket after every resumed handshake, which is a session copy, its
 * encoding, AES-CBC and HMAC, and one more record write for the client to take in. A ticket sealed by
 * an older key is renewed, so that clients move onto the current key before theirs drops off.
 *
 * Invariant: keys[0] is the newest and the only one that seals; keys[0..num_keys-1] all open. Keys
 * change only under the write lock; sealing and opening hold the read lock while they use a key.
 */
#include "common/buf.h"
#include "common/tls.h"
#include "tls_internal.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICKET_KEYS 3 /* the sealing key and two older ones that still open */
#define DEFAULT_ROTATE_SECS 3600
#define RETRY_SECS 60 /* after the random generator failed to give a new key */

struct ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
};

struct cm_tls_tickets {
    atomic_int refs;
    pthread_rwlock_t lock;
    struct ticket_key keys[TICKET_KEYS];
    size_t num_keys;
    unsigned rotate_secs;
    atomic_llong rotate_at; /* monotonic seconds at which keys[0] stops sealing */
    /* fetched once: the implicit fetch of EVP_aes_256_cbc() costs a locked lookup on every ticket */
    EVP_CIPHER *cipher;
};

static int tickets_index = -1;
static pthread_once_t tickets_index_once = PTHREAD_ONCE_INIT;

static long long mono_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

static int new_key(struct ticket_key *k)
{
    return RAND_bytes(k->name, sizeof(k->name)) == 1 && RAND_priv_bytes(k->aes, sizeof(k->aes)) == 1 &&
           RAND_priv_bytes(k->hmac, sizeof(k->hmac)) == 1;
}

/* Puts a new sealing key in front, the oldest dropping off a full ring. Caller holds the write lock. */
static void rotate_locked(cm_tls_tickets_t *t, long long now)
{
    struct ticket_key k;
    if (!new_key(&k)) {
        atomic_store(&t->rotate_at, now + RETRY_SECS); /* keep sealing with the current key meanwhile */
        return;
    }
    if (t->num_keys == TICKET_KEYS)
        OPENSSL_cleanse(&t->keys[TICKET_KEYS - 1], sizeof(t->keys[0]));
    else
        t->num_keys++;
    memmove(&t->keys[1], &t->keys[0], (t->num_keys - 1) * sizeof(t->keys[0]));
    t->keys[0] = k;
    OPENSSL_cleanse(&k, sizeof(k));
    atomic_store(&t->rotate_at, now + (long long)t->rotate_secs);
}

int cm_tls_tickets_new(unsigned rotate_secs, cm_tls_tickets_t **out)
{
    cm_tls_tickets_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return CM_ENOMEM;
    if (pthread_rwlock_init(&t->lock, NULL) != 0) {
        free(t);
        return CM_ENOMEM;
    }
    atomic_init(&t->refs, 1);
    t->rotate_secs = rotate_secs != 0 ? rotate_secs : DEFAULT_ROTATE_SECS;
    if ((t->cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL)) == NULL || !new_key(&t->keys[0])) {
        EVP_CIPHER_free(t->cipher);
        pthread_rwlock_destroy(&t->lock);
        free(t);
        return CM_ETLS;
    }
    t->num_keys = 1;
    atomic_init(&t->rotate_at, mono_secs() + (long long)t->rotate_secs);
    *out = t;
    return 0;
}

cm_tls_tickets_t *cm_tls_tickets_ref(cm_tls_tickets_t *t)
{
    if (t != NULL)
        atomic_fetch_add(&t->refs, 1);
    return t;
}

void cm_tls_tickets_free(cm_tls_tickets_t *t)
{
    if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    OPENSSL_cleanse(t->keys, sizeof(t->keys));
    EVP_CIPHER_free(t->cipher);
    pthread_rwlock_destroy(&t->lock);
    free(t);
}

void cm_tls_tickets_rotate(cm_tls_tickets_t *t)
{
    if (t == NULL)
        return;
    pthread_rwlock_wrlock(&t->lock);
    rotate_locked(t, mono_secs());
    pthread_rwlock_unlock(&t->lock);
}

static int set_hmac_key(EVP_MAC_CTX *hctx, const struct ticket_key *k)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof(k->hmac)),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    return EVP_MAC_CTX_set_params(hctx, params);
}

/* OpenSSL's ticket hook. Sealing (enc = 1): returns 1 with name, iv, cipher and MAC set up, or -1.
 * Opening: 0 when no key has that name (a full handshake follows), 1 for the sealing key, 2 for an
 * older one (the ticket is renewed), -1 on an internal error. */
static int ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx,
                     int enc)
{
    cm_tls_tickets_t *t = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tickets_index);
    if (t == NULL)
        return -1;
    int rc = -1;
    if (enc) {
        long long now = mono_secs();
        if (now >= atomic_load_explicit(&t->rotate_at, memory_order_relaxed)) {
            pthread_rwlock_wrlock(&t->lock);
            if (now >= atomic_load(&t->rotate_at)) /* another thread may have just rotated */
                rotate_locked(t, now);
            pthread_rwlock_unlock(&t->lock);
        }
        if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1)
            return -1;
        pthread_rwlock_rdlock(&t->lock);
        const struct ticket_key *k = &t->keys[0];
        memcpy(name, k->name, sizeof(k->name));
        if (EVP_EncryptInit_ex(cctx, t->cipher, NULL, k->aes, iv) == 1 && set_hmac_key(hctx, k) == 1)
            rc = 1;
        pthread_rwlock_unlock(&t->lock);
        return rc;
    }
    pthread_rwlock_rdlock(&t->lock);
    rc = 0;
    for (size_t i = 0; i < t->num_keys; i++) {
        const struct ticket_key *k = &t->keys[i];
        if (memcmp(name, k->name, sizeof(k->name)) != 0)
            continue;
        if (set_hmac_key(hctx, k) != 1 || EVP_DecryptInit_ex(cctx, t->cipher, NULL, k->aes, iv) != 1)
            rc = -1;
        else
            rc = i == 0 ? 1 : 2;
        break;
    }
    pthread_rwlock_unlock(&t->lock);
    return rc;
}

static void tickets_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    cm_tls_tickets_free(ptr);
}

static void make_tickets_index(void)
{
    tickets_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, tickets_ex_free);
}

int cm__tls_tickets_attach(SSL_CTX *ctx, cm_tls_tickets_t *t)
{
    pthread_once(&tickets_index_once, make_tickets_index);
    if (tickets_index < 0)
        return CM_ENOMEM;
    if (SSL_CTX_set_ex_data(ctx, tickets_index, cm_tls_tickets_ref(t)) != 1) {
        cm_tls_tickets_free(t);
        return CM_ENOMEM;
    }
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
    return 0;
}
