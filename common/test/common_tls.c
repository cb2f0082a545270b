/* Table-driven tests of SNI name matching and of the contexts' wrong-use and unreadable-file errors. */
#include "common/buf.h"
#include "check.h"
#include "common/tls.h"

#include <stdio.h>
#include <string.h>

struct match_case {
    const char *pattern;
    const char *name;
    int want;
};

struct server_case {
    const char *cert;
    const char *key;
    size_t num_pairs;
    int want_err;
    const char *want_in_msg;
};

int main(void)
{
    static const struct match_case matches[] = {
        {"example.com", "example.com", 1},
        {"example.com", "EXAMPLE.com", 1},
        {"example.com", "example.co", 0},
        {"example.com", "www.example.com", 0},
        {"*.example.com", "www.example.com", 1},
        {"*.example.com", "WWW.Example.COM", 1},
        {"*.example.com", "example.com", 0},
        {"*.example.com", ".example.com", 0},
        {"*.example.com", "a.b.example.com", 0},
        {"*.example.com", "wwwexample.com", 0},
        {"*", "anything", 0},
        {"", "", 1},
    };
    for (size_t i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
        const struct match_case *c = &matches[i];
        int got = cm_tls_name_matches(c->pattern, c->name, strlen(c->name));
        CHECK(!(got != c->want), "match case %zu: '%s' vs '%s': got %d, want %d", i, c->pattern, c->name, got, c->want);
    }

    static const struct server_case servers[] = {
        {"/nonexistent/cert.pem", "/nonexistent/key.pem", 1, CM_EIO, "certificate file '/nonexistent/cert.pem'"},
        {"/dev/null", "/nonexistent/key.pem", 1, CM_EIO, "key file '/nonexistent/key.pem' not readable"},
        {"/dev/null", "/dev/null", 1, CM_ETLS, "certificate file '/dev/null' refused"},
        {"/dev/null", "/dev/null", 0, CM_EINVAL, "no certificate"},
    };
    for (size_t i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
        const struct server_case *c = &servers[i];
        cm_tls_pair_t pair = {c->cert, c->key};
        cm_tls_server_opts_t opts = {.pairs = &pair, .num_pairs = c->num_pairs};
        SSL_CTX *ctx = NULL;
        char err[CM_TLS_ERR_SIZE];
        int rc = cm_tls_server_new(&opts, &ctx, err);
        CHECK(!(rc != c->want_err || ctx != NULL || strstr(err, c->want_in_msg) == NULL),
              "server case %zu: got %d '%s', want %d containing '%s'", i, rc, err, c->want_err, c->want_in_msg);
        cm_tls_ctx_free(ctx);
    }

    SSL_CTX *client = NULL;
    char err[CM_TLS_ERR_SIZE];
    cm_tls_client_opts_t copts = {.ca_file = "/nonexistent/ca.pem"};
    CHECK(!(cm_tls_client_new(&copts, &client, err) != CM_EIO || strstr(err, "ca file") == NULL),
          "client case missing ca: '%s'", err);
    copts.ca_file = NULL;
    CHECK(!(cm_tls_client_new(&copts, &client, err) != 0 || SSL_CTX_get_verify_mode(client) != SSL_VERIFY_PEER),
          "client case system store: '%s'", err);
    /* wrong use: no context, or one not made by cm_tls_server_new (pairs are reached in edge_ocsp) */
    CHECK(!(cm_tls_server_pair_ctx(NULL, 0) != NULL || cm_tls_server_pair_ctx(client, 0) != NULL),
          "pair ctx case: a context without pairs answered");
    cm_tls_ctx_free(client);
    cm_tls_ctx_free(NULL);
    return check_done("common_tls");
}
