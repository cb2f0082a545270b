/*
 * nearjs-edge's configuration (config.c, config_yaml.c): the limits, the error codes and the config types.
 * No h2o here: the config and its unit test build without libh2o.
 */
#ifndef NEARJS_EDGE_CONFIG_H
#define NEARJS_EDGE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/tls.h"

#define EDGE_MAX_UPSTREAMS 16
#define EDGE_MAX_LISTENERS 16
#define EDGE_MAX_CERTS 32
#define EDGE_MAX_THREADS 256
#define EDGE_ERR_SIZE 640

/* Error codes of edge/: 0 or a CM_E* code of common/error.h (the one table of the tree). */

enum edge_listener_kind { EDGE_LISTEN_TLS, EDGE_LISTEN_PLAIN, EDGE_LISTEN_ADMIN };
enum edge_plain_action { EDGE_PLAIN_DENY, EDGE_PLAIN_REDIRECT };

typedef struct edge_listener_conf {
    char *host; /* numeric address to bind; owned */
    uint16_t port;
    enum edge_listener_kind kind;
    enum edge_plain_action plain_action;
    cm_tls_pair_t certs[EDGE_MAX_CERTS]; /* paths owned (cast away const on free) */
    size_t num_certs;
    int disable_h2;
    uint64_t hsts_max_age; /* > 0: answers carry Strict-Transport-Security: max-age=N (TLS listeners); 0: off */
} edge_listener_conf_t;

typedef struct edge_upstream_conf {
    char *name;         /* SNI and Host; owned */
    uint16_t port;      /* default 443 */
    char *connect_host; /* NULL: connect to name; owned */
    uint16_t connect_port;
    char *ca_file; /* NULL: system store; owned */
    int insecure;
    char *health_path; /* owned; default "/" */
    int health_status; /* expected status, default 200 */
    uint64_t health_interval_ms;
    unsigned rise, fall;
    size_t pool_size; /* idle connections each worker keeps per upstream (upconn.c) */
    size_t max_conns; /* connections (busy or being made) each worker may have to it; more requests wait */
    size_t queue;     /* requests each worker lets wait for one of them; past that: 503 at once */
    /* sign: {service, region}: every request to it (health checks too) is signed with AWS SigV4 (creds.c,
     * sign.c) with the instance role's credentials. Both NULL: not signed. Owned. */
    char *sign_service;
    char *sign_region;
} edge_upstream_conf_t;

typedef struct edge_config {
    char *path; /* file it came from, or NULL for the one-line mode; owned */
    edge_listener_conf_t listeners[EDGE_MAX_LISTENERS];
    size_t num_listeners;
    edge_upstream_conf_t upstreams[EDGE_MAX_UPSTREAMS];
    size_t num_upstreams;
    unsigned threads; /* 0: one per core */
    char *user;       /* drop privileges to this user after binding; owned, NULL: stay */
    uint64_t connect_timeout_ms, first_byte_timeout_ms, idle_timeout_ms, header_timeout_ms, drain_timeout_ms;
    uint64_t queue_timeout_ms; /* longest wait for an upstream connection under max_conns; then 503 */
    size_t max_header_bytes, max_body_bytes, max_response_bytes;
    char *access_log; /* path, "-" for stdout, NULL for none; owned */
    int access_log_json;
    /* Test only: the AWS credentials for signing come from this JSON file (IMDS's document: AccessKeyId,
     * SecretAccessKey, Token, Expiration), re-read on each refresh, instead of the instance role. Owned. */
    char *credentials_file;
} edge_config_t;

/* Fills c with defaults and no listeners or upstreams. */
void edge_config_init(edge_config_t *c);
/* Frees what c owns; c is then as after edge_config_init. */
void edge_config_dispose(edge_config_t *c);
/* Sets an upstream's defaults (port 443, health GET / expecting 200 every 2 s, rise 2, fall 3). Returns
 * 0 or CM_ENOMEM. */
int edge_config_upstream_defaults(edge_upstream_conf_t *u);
/* Parses "https://NAME[:PORT]" into u (name and port only). Returns 0 or CM_EINVAL with err set. */
int edge_config_parse_upstream_url(const char *url, edge_upstream_conf_t *u, char *err, size_t errlen);
/* Parses "HOST:PORT" (HOST may be [v6], '*' or empty for any) into a new *host and *port. */
int edge_config_parse_hostport(const char *s, char **host, uint16_t *port, char *err, size_t errlen);
/* Checks cross-field rules (>= 1 listener and upstream, certificates on TLS listeners, files readable).
 * Returns 0 or CM_EINVAL with a one-line err. */
int edge_config_check(const edge_config_t *c, char *err, size_t errlen);
/* Loads and validates a YAML file into c (initialized by the caller). Returns 0, or CM_EINVAL /
 * CM_EIO with err = "FILE:LINE: key 'a.b': value 'v': cause". On failure c holds partial data that
 * edge_config_dispose frees. */
int edge_config_load_yaml(const char *path, edge_config_t *c, char *err, size_t errlen);

#endif
