/*
 * What the Runtime API worker (rapi_server.c) and its HTTP connections (rapi_conn.c) share.
 *
 * A connection reads one request at a time: HEAD -> BODY -> (handled) -> WRITING or PARKED (a GET
 * /next waiting for an event) -> back to HEAD when kept alive. The worker decides, from the head, what
 * happens to the body (kept, streamed to the caller, or discarded), and answers once the body is in.
 */
#ifndef NEARJS_LOCAL_RAPI_INTERNAL_H
#define NEARJS_LOCAL_RAPI_INTERNAL_H

#include "local/rapi.h"
#include "common/accept.h"
#include "common/buf.h"
#include "http1.h"
#include "ids.h"
#include "route.h"

/* Bytes of a body we read and throw away (after a rejection or past a cap) before giving up on the
 * connection: reading them lets the client see our answer instead of a reset. */
#define NL__MAX_DISCARD (64 * 1024 * 1024)
/* Input we let pile up while a request is being answered or parked (clients do not pipeline here). */
#define NL__MAX_IDLE_INPUT (1024 * 1024)

typedef enum { NL__CONN_HEAD, NL__CONN_BODY, NL__CONN_HANDLING, NL__CONN_PARKED, NL__CONN_WRITING } nl__conn_state_t;
typedef enum { NL__BODY_DISCARD, NL__BODY_BUFFER, NL__BODY_STREAM } nl__body_mode_t;
/* Runtime states, named as Lambda names them in InvalidStateTransition messages. */
typedef enum { NL__RT_STARTED, NL__RT_READY, NL__RT_RUNNING, NL__RT_RESPONSE_SENT, NL__RT_INIT_ERROR } nl__rt_state_t;

typedef struct nl__conn {
    h2o_linklist_t link; /* in worker->conns */
    nl_rapi_worker_t *worker;
    h2o_socket_t *sock;
    nl__conn_state_t state;
    int keepalive;
    /* the request being read */
    nl__route_t route;
    char method[8];
    char path[201]; /* for log lines; truncated */
    char id[NL__MAX_ID + 1];
    int id_too_long;
    char *error_type;      /* Lambda-Runtime-Function-Error-Type header, owned */
    int bad_response_mode; /* Lambda-Runtime-Function-Response-Mode other than streaming */
    int streaming;         /* the body is a streamed response for the running invocation */
    int chunked;
    uint64_t content_left;
    nl__chunked_t decoder;
    nl__body_mode_t body_mode;
    cm_buf_t body;
    int body_too_big;
    uint64_t body_total;
    /* output: one response (and maybe a 100 Continue before it) */
    int writing;       /* a write is in flight */
    int writing_final; /* ...and it is the response */
    int out_ready;     /* out holds a response not yet handed to the socket */
    int close_after;   /* close once the response is out */
    cm_buf_t out;
} nl__conn_t;

struct nl_rapi_worker {
    h2o_loop_t *loop;
    const nl_rapi_config_t *cfg;
    const nl_rapi_callbacks_t *cb;
    void *user;
    h2o_socket_t *listener;
    cm_acceptor_t acceptor; /* over listener; no pause (the loop has no h2o context to time one) */
    char address[32];
    char arn[256];
    size_t max_response;
    size_t max_stream;
    h2o_linklist_t conns;
    nl__conn_t *parked; /* the GET /next waiting for an event */
    nl__rt_state_t state;
    int seen_next;
    /* the one invocation queued or running */
    int has_inv;
    char inv_id[NL_REQUEST_ID_SIZE];
    char inv_trace[NL__TRACE_ID_SIZE];
    char *inv_payload;
    size_t inv_payload_len;
    uint64_t inv_deadline_ms;
    char *inv_client_context;
    char *inv_cognito;
};

/* rapi_conn.c */
void nl__conn_accept(nl_rapi_worker_t *w, h2o_socket_t *sock);
void nl__conn_close(nl__conn_t *c);
/* Queues a complete response: status line, Content-Type application/json unless extra_headers sets one,
 * extra_headers (each line CRLF-terminated, may be ""), and body. Returns 0 or CM_ENOMEM (the connection
 * is then closed). */
int nl__conn_respond(nl__conn_t *c, int status, const char *extra_headers, const char *body, size_t body_len);

/* rapi_server.c: decisions on a request, called by the connection */
/* The head is in: sets c->body_mode (and may log). */
void nl__worker_on_head(nl_rapi_worker_t *w, nl__conn_t *c, const nl__request_t *req);
/* A piece of a streamed body. */
void nl__worker_on_stream(nl_rapi_worker_t *w, nl__conn_t *c, const char *p, size_t n);
/* The body is in: answer (nl__conn_respond) or park the connection. */
void nl__worker_on_request(nl_rapi_worker_t *w, nl__conn_t *c);
/* The connection goes away. */
void nl__worker_on_close(nl_rapi_worker_t *w, nl__conn_t *c);
/* Logs "runtime api: METHOD PATH: message" through on_log. */
void nl__worker_log(nl_rapi_worker_t *w, const nl__conn_t *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
