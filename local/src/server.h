/*
 * What start-api and start-lambda share: an h2o HTTP/1.1 + HTTP/2 server (plain, or TLS with the SNI
 * at hand for the custom-domain check), the warm pool behind it, signals, and orderly shutdown.
 * A verb brings only its request handler.
 */
#ifndef NEARJS_LOCAL_SERVER_H
#define NEARJS_LOCAL_SERVER_H

#include <h2o.h>

#include "local/pool.h"
#include "common/accept.h"
#include "common/log.h"
#include "serve_args.h"

typedef struct nl__server nl__server_t;

/* A verb's handler, as h2o's on_req: answers req now or later and returns 0. */
typedef int (*nl__server_on_req)(nl__server_t *srv, h2o_req_t *req);
/* A verb's words for a request whose body went over conf.max_request_entity_size, which h2o refuses before
 * any handler runs: sets req->res's headers (they start empty) and returns the body (borrowed from
 * req->pool or static). Called with req->res.status 413. */
typedef h2o_iovec_t (*nl__server_on_too_large)(nl__server_t *srv, h2o_req_t *req);

struct nl__server {
    const nl__serve_args_t *args;
    h2o_loop_t *loop;
    h2o_globalconf_t conf;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept;
    h2o_socket_t *listener;
    SSL_CTX *ssl;
    nl_pool_t *pool;
    nl_pool_config_t pool_cfg;
    nl__server_on_req on_req;
    nl__server_on_too_large on_too_large; /* NULL: h2o's own text/plain 413 */
    void *verb;                           /* the verb's own state */
    int stop;
    unsigned port;          /* the port actually bound */
    size_t handshaking;     /* TLS connections accepted whose handshake has not ended */
    cm_acceptor_t acceptor; /* over listener; pauses on ctx.hundred_ms_timeout when out of fds */
    cm_ratelimit_t log_accept;
    /* malloc_trim after a burst: requests since the last trim, time of the last one, the check's timer */
    size_t served_since_trim;
    uint64_t last_request_ms;
    h2o_timeout_entry_t trim;
};

/* Runs a server for args until SIGINT/SIGTERM/SIGHUP; on_too_large may be NULL. Returns the exit code
 * (NL_EXIT_*), after printing one line on a failure. */
int nl__server_run(const nl__serve_args_t *args, nl__server_on_req on_req, nl__server_on_too_large on_too_large,
                   void *verb);

/* Writes "TIMESTAMP nearjs-local: message" on stderr. */
void nl__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Returns the SNI the client sent on req's TLS connection, "" when it sent none, NULL on a plain
 * connection. Borrowed for the connection's lifetime. */
const char *nl__server_sni(h2o_req_t *req);

/* Writes the client's address into out ("" when unknown). */
void nl__server_peer(h2o_req_t *req, char *out, size_t size);

/* Answers req at once with status and body (a JSON text, copied), Content-Type application/json,
 * plus one extra header when name is not NULL. */
void nl__server_send(h2o_req_t *req, int status, const char *name, const char *value, const char *body);

/* Builds the server TLS context for --domain mode (tls_server.c). Returns 0 and *out, or -1 with one line
 * in err. */
int nl__server_tls_ctx(const nl__serve_args_t *args, SSL_CTX **out, char *err, size_t err_size);

#endif
