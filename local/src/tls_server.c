/*
 * The TLS context of --domain mode (and of --function-url with --cert): common/'s server context (ALPN h2 + http/1.1,
 * TLS 1.2 minimum) with the one certificate given. The SNI and Host checks are the handler's (start_api.c): a wrong
 * name must get API Gateway's 403, not a failed handshake.
 */
#include "server.h"
#include "common/tls.h"

#include <stdio.h>

int nl__server_tls_ctx(const nl__serve_args_t *args, SSL_CTX **out, char *err, size_t err_size)
{
    cm_tls_pair_t pair = {.cert_file = args->cert, .key_file = args->key};
    cm_tls_server_opts_t opts = {.pairs = &pair, .num_pairs = 1};
    char why[CM_TLS_ERR_SIZE];
    if (cm_tls_server_new(&opts, out, why) != 0) {
        snprintf(err, err_size, "--cert/--key: %s", why);
        return -1;
    }
    return 0;
}
