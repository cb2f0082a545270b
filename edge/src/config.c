/*
 * The configuration structure: defaults, freeing, the one-line mode's URL and address parsing, and
 * the cross-field checks shared by the one-line mode and the YAML loader. Invariant: every string an
 * edge_config_t points at is owned by it (strdup'd), so a config can be moved into a generation.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void edge_config_init(edge_config_t *c)
{
    memset(c, 0, sizeof(*c));
    c->connect_timeout_ms = 3000;
    /* API Gateway gives up on an integration after 29 s; wait a little longer than that */
    c->first_byte_timeout_ms = 30000;
    c->idle_timeout_ms = 60000;
    c->header_timeout_ms = 10000;
    c->drain_timeout_ms = 10000;
    c->queue_timeout_ms = 10000;
    c->max_header_bytes = 16 * 1024;
    c->max_body_bytes = 1024 * 1024;
    /* Lambda's buffered answers stop at 6 MB; anything past this is not a real answer */
    c->max_response_bytes = 16 * 1024 * 1024;
}

void edge_config_dispose(edge_config_t *c)
{
    free(c->path);
    for (size_t i = 0; i < c->num_listeners; i++) {
        edge_listener_conf_t *l = &c->listeners[i];
        free(l->host);
        for (size_t j = 0; j < l->num_certs; j++) {
            free((char *)l->certs[j].cert_file);
            free((char *)l->certs[j].key_file);
        }
    }
    for (size_t i = 0; i < c->num_upstreams; i++) {
        edge_upstream_conf_t *u = &c->upstreams[i];
        free(u->name);
        free(u->connect_host);
        free(u->ca_file);
        free(u->health_path);
        free(u->sign_service);
        free(u->sign_region);
    }
    free(c->user);
    free(c->access_log);
    free(c->credentials_file);
    edge_config_init(c);
}

int edge_config_upstream_defaults(edge_upstream_conf_t *u)
{
    memset(u, 0, sizeof(*u));
    u->port = 443;
    u->health_status = 200;
    u->health_interval_ms = 2000;
    u->rise = 2;
    u->fall = 3;
    u->pool_size = 256;
    /* API Gateway serves many requests per connection; 2,000 clients need not cost it 2,000 connections */
    u->max_conns = 128;
    u->queue = 8192;
    return (u->health_path = strdup("/")) != NULL ? 0 : CM_ENOMEM;
}

static int parse_port(const char *s, size_t len, uint16_t *port)
{
    if (len == 0 || len > 5)
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

static int valid_dns_name(const char *s, size_t len)
{
    if (len == 0 || len > 253)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '.'))
            return 0;
    }
    return 1;
}

int edge_config_parse_upstream_url(const char *url, edge_upstream_conf_t *u, char *err, size_t errlen)
{
    static const char scheme[] = "https://";
    if (strncmp(url, scheme, sizeof(scheme) - 1) != 0) {
        snprintf(err, errlen, "upstream '%.200s': must start with https:// (the gateway only speaks TLS)", url);
        return CM_EINVAL;
    }
    const char *host = url + sizeof(scheme) - 1;
    size_t hlen = strcspn(host, ":/");
    uint16_t port = 443;
    const char *rest = host + hlen;
    if (*rest == ':') {
        size_t plen = strcspn(rest + 1, "/");
        if (parse_port(rest + 1, plen, &port) != 0) {
            snprintf(err, errlen, "upstream '%.200s': port must be 1-65535", url);
            return CM_EINVAL;
        }
        rest += 1 + plen;
    }
    if (*rest != '\0' && strcmp(rest, "/") != 0) {
        snprintf(err, errlen, "upstream '%.200s': a path is not supported (requests keep theirs)", url);
        return CM_EINVAL;
    }
    if (!valid_dns_name(host, hlen)) {
        snprintf(err, errlen, "upstream '%.200s': host must be a DNS name (it is sent as SNI and Host)", url);
        return CM_EINVAL;
    }
    char *name = strndup(host, hlen);
    if (name == NULL) {
        snprintf(err, errlen, "out of memory");
        return CM_ENOMEM;
    }
    free(u->name);
    u->name = name;
    u->port = port;
    return 0;
}

int edge_config_parse_hostport(const char *s, char **host, uint16_t *port, char *err, size_t errlen)
{
    const char *colon;
    const char *h = s;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':') {
            snprintf(err, errlen, "address '%.200s': expected [IPv6]:PORT", s);
            return CM_EINVAL;
        }
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL) {
            snprintf(err, errlen, "address '%.200s': expected HOST:PORT", s);
            return CM_EINVAL;
        }
        hlen = (size_t)(colon - s);
    }
    if (parse_port(colon + 1, strlen(colon + 1), port) != 0) {
        snprintf(err, errlen, "address '%.200s': port must be 1-65535", s);
        return CM_EINVAL;
    }
    if (hlen == 1 && h[0] == '*')
        hlen = 0;
    if ((*host = strndup(hlen == 0 ? "0.0.0.0" : h, hlen == 0 ? 7 : hlen)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return CM_ENOMEM;
    }
    return 0;
}

static int check_file(const char *what, const char *path, char *err, size_t errlen)
{
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "%s '%.200s' not readable: %s", what, path, strerror(errno));
        return CM_EINVAL;
    }
    return 0;
}

int edge_config_check(const edge_config_t *c, char *err, size_t errlen)
{
    if (c->num_listeners == 0) {
        snprintf(err, errlen, "no listener: give at least one (listeners:, or --listen)");
        return CM_EINVAL;
    }
    if (c->num_upstreams == 0) {
        snprintf(err, errlen, "no upstream: give at least one (upstreams:, or --upstream)");
        return CM_EINVAL;
    }
    for (size_t i = 0; i < c->num_listeners; i++) {
        const edge_listener_conf_t *l = &c->listeners[i];
        if (l->kind == EDGE_LISTEN_TLS && l->num_certs == 0) {
            snprintf(err, errlen, "listener %s:%u: TLS needs at least one certificate and key", l->host, l->port);
            return CM_EINVAL;
        }
        for (size_t j = 0; j < l->num_certs; j++) {
            if (check_file("certificate file", l->certs[j].cert_file, err, errlen) != 0 ||
                check_file("key file", l->certs[j].key_file, err, errlen) != 0)
                return CM_EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (c->listeners[j].port == l->port && strcmp(c->listeners[j].host, l->host) == 0) {
                snprintf(err, errlen, "listener %s:%u given twice", l->host, l->port);
                return CM_EINVAL;
            }
        }
    }
    for (size_t i = 0; i < c->num_upstreams; i++) {
        const edge_upstream_conf_t *u = &c->upstreams[i];
        if (u->ca_file != NULL && check_file("ca file", u->ca_file, err, errlen) != 0)
            return CM_EINVAL;
        if ((u->sign_service == NULL) != (u->sign_region == NULL)) {
            snprintf(err, errlen,
                     "upstream '%s': sign needs both service and region (sign: {service: lambda, region: R})", u->name);
            return CM_EINVAL;
        }
    }
    if (c->credentials_file != NULL && check_file("credentials file", c->credentials_file, err, errlen) != 0)
        return CM_EINVAL;
    return 0;
}
