/*
 * nearjs-edge: command line. Either a YAML file (-c FILE, --test-config) or the one-line mode
 * (--listen --cert --key --upstream ...). Exit codes: 0 ok (or config valid), 1 runtime failure,
 * 2 usage or configuration error.
 */
#include "config.h"
#include "server.h"
#include "common/log.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: nearjs-edge -c FILE [--test-config]\n"
    "       nearjs-edge --listen ADDR:PORT --cert FILE --key FILE --upstream https://NAME[:PORT]\n"
    "                   [--connect-to HOST:PORT] [--ca FILE] [--insecure] [--threads N]\n"
    "                   [--plain ADDR:PORT] [--redirect] [--admin ADDR:PORT] [--access-log FILE|-] [--json-log]\n"
    "\n"
    "TLS proxy: terminates TLS (1.2/1.3, ALPN h2 and http/1.1) and forwards each request over TLS\n"
    "with SNI and Host set to the upstream's NAME; /healthz is answered locally.\n"
    "SIGHUP reloads the config file (certificates too); SIGTERM drains and exits.\n"
    "\n"
    "exit codes: 0 ok (--test-config: the file is valid), 1 runtime failure, 2 usage or config error\n";

/* The command line kept for reloads (the one-line mode re-reads its certificates on SIGHUP). */
static int g_argc;
static char **g_argv;

static int dup_into(char **dst, const char *s)
{
    free(*dst);
    *dst = strdup(s);
    return *dst != NULL ? 0 : CM_ENOMEM;
}

static int parse_args(int argc, char **argv, edge_config_t *c, const char **config_path, int *test_only, char *err,
                      size_t errlen)
{
    enum {
        O_LISTEN = 256,
        O_CERT,
        O_KEY,
        O_UPSTREAM,
        O_CONNECT,
        O_CA,
        O_INSECURE,
        O_THREADS,
        O_TEST,
        O_PLAIN,
        O_REDIRECT,
        O_ADMIN,
        O_LOG,
        O_JSON
    };
    static const struct option opts[] = {{"listen", 1, NULL, O_LISTEN},
                                         {"cert", 1, NULL, O_CERT},
                                         {"key", 1, NULL, O_KEY},
                                         {"upstream", 1, NULL, O_UPSTREAM},
                                         {"connect-to", 1, NULL, O_CONNECT},
                                         {"ca", 1, NULL, O_CA},
                                         {"insecure", 0, NULL, O_INSECURE},
                                         {"threads", 1, NULL, O_THREADS},
                                         {"test-config", 0, NULL, O_TEST},
                                         {"plain", 1, NULL, O_PLAIN},
                                         {"redirect", 0, NULL, O_REDIRECT},
                                         {"admin", 1, NULL, O_ADMIN},
                                         {"access-log", 1, NULL, O_LOG},
                                         {"json-log", 0, NULL, O_JSON},
                                         {"help", 0, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    edge_listener_conf_t *tls = &c->listeners[0];
    edge_upstream_conf_t *up = &c->upstreams[0];
    const char *cert = NULL, *key = NULL, *listen = NULL, *upstream = NULL, *connect = NULL, *ca = NULL;
    const char *plain = NULL, *admin = NULL;
    int insecure = 0, redirect = 0, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            *config_path = optarg;
            break;
        case O_LISTEN:
            listen = optarg;
            break;
        case O_CERT:
            cert = optarg;
            break;
        case O_KEY:
            key = optarg;
            break;
        case O_UPSTREAM:
            upstream = optarg;
            break;
        case O_CONNECT:
            connect = optarg;
            break;
        case O_CA:
            ca = optarg;
            break;
        case O_INSECURE:
            insecure = 1;
            break;
        case O_THREADS: {
            char *end;
            unsigned long n = strtoul(optarg, &end, 10);
            if (*end != '\0' || n == 0 || n > 256) {
                snprintf(err, errlen, "--threads '%.32s': must be 1-256", optarg);
                return CM_EINVAL;
            }
            c->threads = (unsigned)n;
            break;
        }
        case O_TEST:
            *test_only = 1;
            break;
        case O_PLAIN:
            plain = optarg;
            break;
        case O_REDIRECT:
            redirect = 1;
            break;
        case O_ADMIN:
            admin = optarg;
            break;
        case O_LOG:
            if (dup_into(&c->access_log, optarg) != 0)
                return CM_ENOMEM;
            break;
        case O_JSON:
            c->access_log_json = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            exit(0);
        default:
            snprintf(err, errlen, "unknown option; see --help");
            return CM_EINVAL;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%.64s'; see --help", argv[optind]);
        return CM_EINVAL;
    }
    if (*config_path != NULL)
        return 0;
    if (listen == NULL || cert == NULL || key == NULL || upstream == NULL) {
        snprintf(err, errlen, "give -c FILE, or --listen, --cert, --key and --upstream; see --help");
        return CM_EINVAL;
    }
    int rc;
    if ((rc = edge_config_parse_hostport(listen, &tls->host, &tls->port, err, errlen)) != 0)
        return rc;
    tls->kind = EDGE_LISTEN_TLS;
    c->num_listeners = 1;
    if ((tls->certs[0].cert_file = strdup(cert)) == NULL || (tls->certs[0].key_file = strdup(key)) == NULL)
        return CM_ENOMEM;
    tls->num_certs = 1;
    if (plain != NULL) {
        edge_listener_conf_t *l = &c->listeners[c->num_listeners++];
        l->kind = EDGE_LISTEN_PLAIN;
        l->plain_action = redirect ? EDGE_PLAIN_REDIRECT : EDGE_PLAIN_DENY;
        if ((rc = edge_config_parse_hostport(plain, &l->host, &l->port, err, errlen)) != 0)
            return rc;
    }
    if (admin != NULL) {
        edge_listener_conf_t *l = &c->listeners[c->num_listeners++];
        l->kind = EDGE_LISTEN_ADMIN;
        if ((rc = edge_config_parse_hostport(admin, &l->host, &l->port, err, errlen)) != 0)
            return rc;
    }
    if ((rc = edge_config_upstream_defaults(up)) != 0)
        return rc;
    c->num_upstreams = 1;
    if ((rc = edge_config_parse_upstream_url(upstream, up, err, errlen)) != 0)
        return rc;
    if (connect != NULL &&
        (rc = edge_config_parse_hostport(connect, &up->connect_host, &up->connect_port, err, errlen)) != 0)
        return rc;
    if (ca != NULL && dup_into(&up->ca_file, ca) != 0)
        return CM_ENOMEM;
    up->insecure = insecure;
    return 0;
}

/* Builds a config from the saved command line (and its file, if any). */
static int load_config(edge_config_t *c, char *err, size_t errlen)
{
    const char *path = NULL;
    int test_only = 0;
    int rc = parse_args(g_argc, g_argv, c, &path, &test_only, err, errlen);
    if (rc == 0 && path != NULL)
        rc = edge_config_load_yaml(path, c, err, errlen);
    if (rc == 0)
        rc = edge_config_check(c, err, errlen);
    return rc;
}

int main(int argc, char **argv)
{
    g_argc = argc;
    g_argv = argv;
    char err[EDGE_ERR_SIZE];
    edge_config_t conf;
    edge_config_init(&conf);
    const char *path = NULL;
    int test_only = 0;
    if (parse_args(argc, argv, &conf, &path, &test_only, err, sizeof(err)) != 0) {
        fprintf(stderr, "nearjs-edge: %s\n", err);
        edge_config_dispose(&conf);
        return 2;
    }
    edge_config_dispose(&conf);
    edge_config_init(&conf);
    if (load_config(&conf, err, sizeof(err)) != 0) {
        fprintf(stderr, "nearjs-edge: config %s\n", err);
        edge_config_dispose(&conf);
        return 2;
    }
    if (test_only) {
        printf("nearjs-edge: config %s is valid\n", path != NULL ? path : "(command line)");
        edge_config_dispose(&conf);
        return 0;
    }
    int rc = edge_server_run(&conf, load_config);
    edge_config_dispose(&conf);
    return rc;
}
