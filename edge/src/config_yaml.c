/*
 * The YAML config file (libyaml's document API): every key is known, every value typed and ranged,
 * and an error names the file, the line, the key path and the offending value, e.g.
 * "edge.yaml:12: key 'upstreams[0].health.rise': value '0': must be 1-100".
 * Unknown keys are errors, not warnings: a typo must not silently fall back to a default.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

struct ycx {
    const char *path;
    yaml_document_t *doc;
    char *err;
    size_t errlen;
};

static int fail(struct ycx *y, const yaml_node_t *n, const char *key, const char *cause, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct ycx *y, const yaml_node_t *n, const char *key, const char *cause, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, cause);
    vsnprintf(msg, sizeof(msg), cause, ap);
    va_end(ap);
    unsigned line = n != NULL ? (unsigned)n->start_mark.line + 1 : 0;
    if (n != NULL && n->type == YAML_SCALAR_NODE)
        snprintf(y->err, y->errlen, "%s:%u: key '%s': value '%.100s': %s", y->path, line, key,
                 (const char *)n->data.scalar.value, msg);
    else
        snprintf(y->err, y->errlen, "%s:%u: key '%s': %s", y->path, line, key, msg);
    return CM_EINVAL;
}

static int scalar(struct ycx *y, yaml_node_t *n, const char *key, const char **out)
{
    if (n->type != YAML_SCALAR_NODE)
        return fail(y, n, key, "must be a single value");
    *out = (const char *)n->data.scalar.value;
    return 0;
}

static int str(struct ycx *y, yaml_node_t *n, const char *key, char **out)
{
    const char *s = NULL;
    int rc = scalar(y, n, key, &s);
    if (rc != 0)
        return rc;
    if (s[0] == '\0')
        return fail(y, n, key, "must not be empty");
    free(*out);
    if ((*out = strdup(s)) == NULL)
        return CM_ENOMEM;
    return 0;
}

static int num(struct ycx *y, yaml_node_t *n, const char *key, uint64_t min, uint64_t max, uint64_t *out)
{
    const char *s = NULL;
    int rc = scalar(y, n, key, &s);
    if (rc != 0)
        return rc;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < min || v > max)
        return fail(y, n, key, "must be a whole number %llu-%llu", (unsigned long long)min, (unsigned long long)max);
    *out = v;
    return 0;
}

static int boolean(struct ycx *y, yaml_node_t *n, const char *key, int *out)
{
    const char *s = NULL;
    int rc = scalar(y, n, key, &s);
    if (rc != 0)
        return rc;
    if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "on") == 0)
        *out = 1;
    else if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0 || strcmp(s, "off") == 0)
        *out = 0;
    else
        return fail(y, n, key, "must be true or false");
    return 0;
}

/* Iterates a mapping: calls each(y, keyname, value node, path, arg) for every pair. */
typedef int (*pair_cb)(struct ycx *y, const char *k, yaml_node_t *v, const char *path, void *arg);
static int each_pair(struct ycx *y, yaml_node_t *n, const char *path, pair_cb cb, void *arg)
{
    if (n->type != YAML_MAPPING_NODE)
        return fail(y, n, path, "must be a mapping (key: value lines)");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
        if (k->type != YAML_SCALAR_NODE)
            return fail(y, k, path, "keys must be plain names");
        char full[200];
        int n = snprintf(full, sizeof(full), "%s%s%s", path, path[0] != '\0' ? "." : "",
                         (const char *)k->data.scalar.value);
        if (n < 0 || (size_t)n >= sizeof(full))
            return fail(y, k, path, "key path is over 199 characters");
        int rc = cb(y, (const char *)k->data.scalar.value, v, full, arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int unknown(struct ycx *y, yaml_node_t *v, const char *full)
{
    (void)v;
    return fail(y, v, full, "unknown key (see edge/README.md for the schema)");
}

static int on_timeouts(struct ycx *y, const char *k, yaml_node_t *v, const char *full, void *arg)
{
    edge_config_t *c = arg;
    uint64_t *dst = strcmp(k, "connect") == 0      ? &c->connect_timeout_ms
                    : strcmp(k, "first_byte") == 0 ? &c->first_byte_timeout_ms
                    : strcmp(k, "idle") == 0       ? &c->idle_timeout_ms
                    : strcmp(k, "header") == 0     ? &c->header_timeout_ms
                    : strcmp(k, "drain") == 0      ? &c->drain_timeout_ms
                    : strcmp(k, "queue") == 0      ? &c->queue_timeout_ms
                                                   : NULL;
    if (dst == NULL)
        return unknown(y, v, full);
    return num(y, v, full, 10, 3600 * 1000, dst);
}

static int on_limits(struct ycx *y, const char *k, yaml_node_t *v, const char *full, void *arg)
{
    edge_config_t *c = arg;
    size_t *dst = strcmp(k, "header_bytes") == 0     ? &c->max_header_bytes
                  : strcmp(k, "body_bytes") == 0     ? &c->max_body_bytes
                  : strcmp(k, "response_bytes") == 0 ? &c->max_response_bytes
                                                     : NULL;
    if (dst == NULL)
        return unknown(y, v, full);
    uint64_t n = 0; /* set by num() on success; initialised for gcc -O3, which cannot see that */
    int rc = num(y, v, full, 256, (uint64_t)1 << 30, &n);
    if (rc == 0)
        *dst = (size_t)n;
    return rc;
}

static int on_access_log(struct ycx *y, const char *k, yaml_node_t *v, const char *full, void *arg)
{
    edge_config_t *c = arg;
    if (strcmp(k, "path") == 0)
        return str(y, v, full, &c->access_log);
    if (strcmp(k, "format") == 0) {
        const char *s = NULL;
        int rc = scalar(y, v, full, &s);
        if (rc != 0)
            return rc;
        if (strcmp(s, "json") != 0 && strcmp(s, "plain") != 0)
            return fail(y, v, full, "must be plain or json");
        c->access_log_json = strcmp(s, "json") == 0;
        return 0;
    }
    return unknown(y, v, full);
}

static int on_cert(struct ycx *y, const char *k, yaml_node_t *v, const char *full, void *arg)
{
    cm_tls_pair_t *p = arg;
    char *s = NULL;
    int rc;
    if (strcmp(k, "cert") != 0 && strcmp(k, "key") != 0)
        return unknown(y, v, full);
    if ((rc = str(y, v, full, &s)) != 0)
        return rc;
    if (access(s, R_OK) != 0) {
        free(s);
        return fail(y, v, full, "not readable: %s", strerror(errno));
    }
    const char **dst = strcmp(k, "cert") == 0 ? &p->cert_file : &p->key_file;
    free((char *)*dst);
    *dst = s;
    return 0;
}

static int on_listener(struct ycx *y, const char *k, yaml_node_t *v, const char *full, void *arg)
{
    edge_listener_conf_t *l = arg;
    int rc;
    if (strcmp(k, "listen") == 0) {
        const char *s = NULL;
        char e[256];
        if ((rc = scalar(y, v, full, &s)) != 0)
            return rc;
        free(l->host);
        l->host = NULL;
        if (edge_config_parse_hostport(s, &l->host, &l->port, e, sizeof(e)) != 0)
            return fail(y, v, full, "expected ADDR:PORT with a numeric address");
        return 0;
    }
    if (strcmp(k, "tls") == 0) {
        if (v->type != YAML_SEQUENCE_NODE)
            return fail(y, v, full, "must be a list of {cert, key}");
        l->kind = EDGE_LISTEN_TLS;
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
            if (l->num_certs == EDGE_MAX_CERTS)
                return fail(y, v, full, "at most %d certificates", EDGE_MAX_CERTS);
            char ip[220];
            snprintf(ip, sizeof(ip), "%s[%zu]", full, l->num_certs);
            cm_tls_pair_t *p = &l->certs[l->num_certs++];
            yaml_node_t *item = yaml_document_get_node(y->doc, *it);
            if ((rc = each_pair(y, item, ip, on_cert, p)) != 0)
                return rc;
            if (p->cert_file == NULL || p->key_file == NULL)
                return fail(y, item, ip, "needs both cert and key");
        }
        return 0;
    }
    if (strcmp(k, "http2") == 0) {
        int on;
        if ((rc = boolean(y, v, full, &on)) != 0)
            return rc;
        l->disable_h2 = !on;
        return 0;
    }
    if (strcmp(k, "hsts") == 0) {
        /* off by default: once a browser has seen it, the name cannot go back to plain HTTP for max-age */
        return num(y, v, full, 0, 2 * 365 * 24 * 3600ull, &l->hsts_max_age);
    }
    if (strcmp(k, "plain") == 0) {
        const char *s = NULL;
        if ((rc = scalar(y, v, full, &s)) != 0)
            return rc;
        if (strcmp(s, "deny") != 0 && strcmp(s, "redirect") != 0)
            return fail(y, v, full, "must be deny (403) or redirect (301 to https)");
        l->kind = EDGE_LISTEN_PLAIN;
        l->plain_action = strcmp(s, "redirect") == 0 ? EDGE_PLAIN_REDIRECT : EDGE_PLAIN_DENY;
        return 0;
    }
    if (strcmp(k, "admin") == 0) {
        int on;
        if ((rc = boolean(y, v, full, &on)) != 0)
            return rc;
        if (on)
            l->kind = EDGE_LISTEN_ADMIN;
        return 0;
    }
    return unknown(y, v, full);
}

static int on_health(struct ycx *y, const char *k, yaml_node_t *v, const char *full, void *arg)
{
    edge_upstream_conf_t *u = arg;
    uint64_t n;
    int rc;
    if (strcmp(k, "path") == 0) {
        if ((rc = str(y, v, full, &u->health_path)) != 0)
            return rc;
        if (u->health_path[0] != '/' || strpbrk(u->health_path, " \r\n") != NULL)
            return fail(y, v, full, "must start with / and hold no spaces");
        return 0;
    }
    if (strcmp(k, "status") == 0) {
        rc = num(y, v, full, 100, 599, &n);
        u->health_status = (int)n;
        return rc;
    }
    if (strcmp(k, "interval") == 0)
        return num(y, v, full, 100, 3600 * 1000, &u->health_interval_ms);
    if (strcmp(k, "rise") == 0 || strcmp(k, "fall") == 0) {
        rc = num(y, v, full, 1, 100, &n);
        *(strcmp(k, "rise") == 0 ? &u->rise : &u->fall) = (unsigned)n;
        return rc;
    }
    return unknown(y, v, full);
}

/* An AWS name as it goes into a SigV4 scope: lower-case letters, digits and '-' (us-east-1, lambda). */
static int aws_name(struct ycx *y, yaml_node_t *v, const char *full, char **out)
{
    int rc = str(y, v, full, out);
    if (rc != 0)
        return rc;
    if (strlen(*out) > 63 || strspn(*out, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(*out))
        return fail(y, v, full, "must be lower-case letters, digits and '-' (an AWS region or service name)");
    return 0;
}

static int on_sign(struct ycx *y, const char *k, yaml_node_t *v, const char *full, void *arg)
{
    edge_upstream_conf_t *u = arg;
    if (strcmp(k, "service") == 0)
        return aws_name(y, v, full, &u->sign_service);
    if (strcmp(k, "region") == 0)
        return aws_name(y, v, full, &u->sign_region);
    return unknown(y, v, full);
}

static int on_upstream(struct ycx *y, const char *k, yaml_node_t *v, const char *full, void *arg)
{
    edge_upstream_conf_t *u = arg;
    int rc;
    const char *s = NULL;
    char e[256];
    if (strcmp(k, "url") == 0) {
        if ((rc = scalar(y, v, full, &s)) != 0)
            return rc;
        if (edge_config_parse_upstream_url(s, u, e, sizeof(e)) != 0)
            return fail(y, v, full, "expected https://NAME[:PORT]");
        return 0;
    }
    if (strcmp(k, "connect_to") == 0) {
        if ((rc = scalar(y, v, full, &s)) != 0)
            return rc;
        free(u->connect_host);
        u->connect_host = NULL;
        if (edge_config_parse_hostport(s, &u->connect_host, &u->connect_port, e, sizeof(e)) != 0)
            return fail(y, v, full, "expected HOST:PORT");
        return 0;
    }
    if (strcmp(k, "ca") == 0) {
        if ((rc = str(y, v, full, &u->ca_file)) != 0)
            return rc;
        if (access(u->ca_file, R_OK) != 0)
            return fail(y, v, full, "not readable: %s", strerror(errno));
        return 0;
    }
    if (strcmp(k, "insecure") == 0)
        return boolean(y, v, full, &u->insecure);
    if (strcmp(k, "pool_size") == 0) {
        uint64_t n;
        rc = num(y, v, full, 1, 100000, &n);
        u->pool_size = (size_t)n;
        return rc;
    }
    if (strcmp(k, "max_conns") == 0) {
        uint64_t n;
        rc = num(y, v, full, 1, 100000, &n);
        u->max_conns = (size_t)n;
        return rc;
    }
    if (strcmp(k, "queue") == 0) {
        uint64_t n;
        rc = num(y, v, full, 0, 1000000, &n);
        u->queue = (size_t)n;
        return rc;
    }
    if (strcmp(k, "health") == 0)
        return each_pair(y, v, full, on_health, u);
    if (strcmp(k, "sign") == 0) {
        if ((rc = each_pair(y, v, full, on_sign, u)) != 0)
            return rc;
        if (u->sign_service == NULL || u->sign_region == NULL)
            return fail(y, v, full, "needs both service and region (sign: {service: lambda, region: R})");
        return 0;
    }
    return unknown(y, v, full);
}

static int on_top(struct ycx *y, const char *k, yaml_node_t *v, const char *full, void *arg)
{
    edge_config_t *c = arg;
    int rc;
    if (strcmp(k, "threads") == 0) {
        uint64_t n;
        rc = num(y, v, full, 0, 256, &n);
        c->threads = (unsigned)n;
        return rc;
    }
    if (strcmp(k, "user") == 0)
        return str(y, v, full, &c->user);
    if (strcmp(k, "timeouts") == 0)
        return each_pair(y, v, full, on_timeouts, c);
    if (strcmp(k, "limits") == 0)
        return each_pair(y, v, full, on_limits, c);
    if (strcmp(k, "access_log") == 0)
        return each_pair(y, v, full, on_access_log, c);
    if (strcmp(k, "credentials_file") == 0) { /* test only: see edge/README.md, "Signing" */
        if ((rc = str(y, v, full, &c->credentials_file)) != 0)
            return rc;
        if (access(c->credentials_file, R_OK) != 0)
            return fail(y, v, full, "not readable: %s", strerror(errno));
        return 0;
    }
    if (strcmp(k, "listeners") == 0 || strcmp(k, "upstreams") == 0) {
        int is_l = k[0] == 'l';
        if (v->type != YAML_SEQUENCE_NODE)
            return fail(y, v, full, "must be a list");
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
            size_t *count = is_l ? &c->num_listeners : &c->num_upstreams;
            size_t max = is_l ? EDGE_MAX_LISTENERS : EDGE_MAX_UPSTREAMS;
            yaml_node_t *item = yaml_document_get_node(y->doc, *it);
            if (*count == max)
                return fail(y, item, full, "at most %zu entries", max);
            char ip[220];
            snprintf(ip, sizeof(ip), "%s[%zu]", full, *count);
            if (is_l) {
                edge_listener_conf_t *l = &c->listeners[c->num_listeners++];
                if ((rc = each_pair(y, item, ip, on_listener, l)) != 0)
                    return rc;
                if (l->host == NULL)
                    return fail(y, item, ip, "needs listen: ADDR:PORT");
                if (l->kind == EDGE_LISTEN_TLS && l->num_certs == 0)
                    return fail(y, item, ip, "needs tls: (certificates), plain: deny|redirect, or admin: true");
            } else {
                edge_upstream_conf_t *u = &c->upstreams[c->num_upstreams++];
                if ((rc = edge_config_upstream_defaults(u)) != 0)
                    return rc;
                if ((rc = each_pair(y, item, ip, on_upstream, u)) != 0)
                    return rc;
                if (u->name == NULL)
                    return fail(y, item, ip, "needs url: https://NAME[:PORT]");
            }
        }
        return 0;
    }
    return unknown(y, v, full);
}

int edge_config_load_yaml(const char *path, edge_config_t *c, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%.200s: cannot open: %s", path, strerror(errno));
        return CM_EIO;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int rc;
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%.200s:%zu: YAML syntax: %s", path, parser.problem_mark.line + 1,
                 parser.problem != NULL ? parser.problem : "unknown problem");
        yaml_parser_delete(&parser);
        fclose(f);
        return CM_EINVAL;
    }
    struct ycx y = {path, &doc, err, errlen};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root == NULL) {
        snprintf(err, errlen, "%.200s: empty file", path);
        rc = CM_EINVAL;
    } else {
        rc = each_pair(&y, root, "", on_top, c);
    }
    if (rc == 0) {
        free(c->path);
        c->path = strdup(path);
        /* cross-field rules, reported against the file */
        char e[EDGE_ERR_SIZE - 220];
        if (edge_config_check(c, e, sizeof(e)) != 0) {
            snprintf(err, errlen, "%.200s: %s", path, e);
            rc = CM_EINVAL;
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}
