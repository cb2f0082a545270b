/* edge_proxy_core: proxy.c's rules without a live proxy: the request head rewrite (build_head: Host names
 * the upstream, hop-by-hop and client-forged forwarding headers dropped, X-Forwarded-* written, the length cap),
 * the TLS handshake of a new upstream connection (SNI and the verified name are the upstream's, whatever the
 * client sent) and the retry rule (retry.h), table-driven. The client connection is a stand-in whose only
 * callback is get_peername (the outer boundary: no socket); so is the TLS handshake to the upstream, which
 * records what proxy.c asks of it (tests/edge/edge_proxy.sh does it for real against a server checking SNI). */
#include <h2o.h>

#include "../src/upconn.h"

static struct {
    int calls;
    h2o_socket_t *sock;
    SSL_CTX *ctx;
    const char *server_name; /* SNI, and the name h2o verifies the certificate against */
} handshake;

static void stand_in_ssl_handshake(h2o_socket_t *sock, SSL_CTX *ctx, const char *server_name, h2o_socket_cb cb)
{
    (void)cb;
    handshake.calls++;
    handshake.sock = sock;
    handshake.ctx = ctx;
    handshake.server_name = server_name;
}

static edge_upconn_t adopted;
static edge_upconn_t *stand_in_upconn_adopt(edge_worker_t *w, edge_gen_t *g, size_t upstream, h2o_socket_t *sock)
{
    (void)w, (void)g, (void)upstream;
    adopted.sock = sock;
    return &adopted;
}

#define h2o_socket_ssl_handshake stand_in_ssl_handshake
#define edge__upconn_adopt stand_in_upconn_adopt
#include "../src/proxy.c"
#undef h2o_socket_ssl_handshake
#undef edge__upconn_adopt
#include "check.h"

#include <arpa/inet.h>

static socklen_t peername(h2o_conn_t *conn, struct sockaddr *sa)
{
    (void)conn;
    struct sockaddr_in *sin = (struct sockaddr_in *)sa;
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    inet_pton(AF_INET, "198.18.0.7", &sin->sin_addr);
    return sizeof(*sin);
}

struct head_case {
    const char *name;
    const char *method, *path;
    int https;
    const char *authority; /* NULL: the client named no host */
    const char *headers;   /* "name: value\n" lines, in order */
    const char *entity;    /* NULL: none */
    uint16_t port;
    size_t max_header_bytes;
    const char *want; /* NULL: refused (431) */
};

static const struct head_case head_cases[] = {
    {"GET rewritten", "GET", "/s/abc.js?v=1", 1, "cdn.example.com", "user-agent: t\naccept: */*\n", NULL, 443, 8192,
     "GET /s/abc.js?v=1 HTTP/1.1\r\nhost: us-east-1-fast.example.com\r\nuser-agent: t\r\naccept: */*\r\n"
     "x-forwarded-for: 198.18.0.7\r\nx-forwarded-proto: https\r\nx-forwarded-host: cdn.example.com\r\n\r\n"},
    {"plain HTTP, port named", "GET", "/", 0, "cdn.example.com", "", NULL, 8443, 8192,
     "GET / HTTP/1.1\r\nhost: us-east-1-fast.example.com:8443\r\nx-forwarded-for: 198.18.0.7\r\n"
     "x-forwarded-proto: http\r\nx-forwarded-host: cdn.example.com\r\n\r\n"},
    {"no Host from the client", "GET", "/", 1, NULL, "", NULL, 443, 8192,
     "GET / HTTP/1.1\r\nhost: us-east-1-fast.example.com\r\nx-forwarded-for: 198.18.0.7\r\nx-forwarded-proto: "
     "https\r\n\r\n"},
    {"X-Forwarded-For appended, the last one wins", "GET", "/", 1, "a.example",
     "x-forwarded-for: 10.0.0.1\nx-forwarded-for: 203.0.113.9\n", NULL, 443, 8192,
     "GET / HTTP/1.1\r\nhost: us-east-1-fast.example.com\r\nx-forwarded-for: 203.0.113.9, 198.18.0.7\r\n"
     "x-forwarded-proto: https\r\nx-forwarded-host: a.example\r\n\r\n"},
    {"hop-by-hop and forged headers dropped", "GET", "/", 1, "a.example",
     "connection: keep-alive, x-secret\nx-secret: 1\nkeep-alive: 5\nte: trailers\nupgrade: h2c\n"
     "proxy-connection: x\nhost: evil.example\nx-forwarded-proto: http\nx-forwarded-host: evil.example\n"
     "cookie: k=v\n",
     NULL, 443, 8192,
     "GET / HTTP/1.1\r\nhost: us-east-1-fast.example.com\r\ncookie: k=v\r\nx-forwarded-for: 198.18.0.7\r\n"
     "x-forwarded-proto: https\r\nx-forwarded-host: a.example\r\n\r\n"},
    {"POST: our length, not the client's", "POST", "/p", 1, "a.example", "content-length: 99\n", "abc", 443, 8192,
     "POST /p HTTP/1.1\r\nhost: us-east-1-fast.example.com\r\nx-forwarded-for: 198.18.0.7\r\nx-forwarded-proto: "
     "https\r\nx-forwarded-host: a.example\r\ncontent-length: 3\r\n\r\n"},
    {"PUT without a body says 0", "PUT", "/p", 1, "a.example", "", NULL, 443, 8192,
     "PUT /p HTTP/1.1\r\nhost: us-east-1-fast.example.com\r\nx-forwarded-for: 198.18.0.7\r\nx-forwarded-proto: "
     "https\r\nx-forwarded-host: a.example\r\ncontent-length: 0\r\n\r\n"},
    {"headers at the cap", "GET", "/", 1, "a.example", "x-a: 12345\n", NULL, 443, 1 + 3 + 5 + 4,
     "GET / HTTP/1.1\r\nhost: us-east-1-fast.example.com\r\nx-a: 12345\r\nx-forwarded-for: 198.18.0.7\r\n"
     "x-forwarded-proto: https\r\nx-forwarded-host: a.example\r\n\r\n"},
    {"headers over the cap", "GET", "/", 1, "a.example", "x-a: 123456\n", NULL, 443, 1 + 3 + 5 + 4, NULL},
};

static void check_head(const struct head_case *c)
{
    static const h2o_conn_callbacks_t callbacks = {.get_peername = peername};
    h2o_conn_t conn = {.callbacks = &callbacks};
    h2o_req_t req;
    memset(&req, 0, sizeof(req));
    h2o_mem_init_pool(&req.pool);
    req.conn = &conn;
    req.version = 0x101;
    req.method = h2o_iovec_init(c->method, strlen(c->method));
    req.path = h2o_iovec_init(c->path, strlen(c->path));
    req.scheme = c->https ? &H2O_URL_SCHEME_HTTPS : &H2O_URL_SCHEME_HTTP;
    if (c->authority != NULL)
        req.authority = req.input.authority = h2o_iovec_init(c->authority, strlen(c->authority));
    if (c->entity != NULL)
        req.entity = h2o_iovec_init(c->entity, strlen(c->entity));
    for (const char *p = c->headers; *p != '\0';) {
        const char *colon = strchr(p, ':'), *end = strchr(p, '\n');
        h2o_add_header_by_str(&req.pool, &req.headers, p, (size_t)(colon - p), 1, NULL, colon + 2,
                              (size_t)(end - colon - 2));
        p = end + 1;
    }
    static edge_gen_t gen;
    gen.conf.max_header_bytes = c->max_header_bytes;
    edge_upstream_conf_t uconf = {.name = "us-east-1-fast.example.com", .port = c->port};
    edge_upstream_t u = {.conf = &uconf, .index = 3};
    struct fwd f = {.req = &req, .gen = &gen};
    char why[EDGE_ERR_SIZE];
    int r = build_head(&f, &u, why, sizeof(why));
    if (c->want == NULL) {
        CHECK(r == HEAD_TOO_LARGE, "%s: build_head returned %d, want -1", c->name, r);
    } else {
        CHECK(r == 0, "%s: build_head returned %d", c->name, r);
        if (r == 0) {
            CHECK(f.reqbufs[0].len == strlen(c->want) && memcmp(f.reqbufs[0].base, c->want, f.reqbufs[0].len) == 0,
                  "%s: head\n%.*s\nwant\n%s", c->name, (int)f.reqbufs[0].len, f.reqbufs[0].base, c->want);
            size_t want_bufs = c->entity != NULL && c->entity[0] != '\0' ? 2 : 1;
            CHECK(f.num_reqbufs == want_bufs, "%s: %zu buffers, want %zu", c->name, f.num_reqbufs, want_bufs);
            if (want_bufs == 2)
                CHECK(f.reqbufs[1].base == req.entity.base, "%s: the body is not sent as it came", c->name);
            CHECK(f.head_for == 3, "%s: head_for %zu, want 3", c->name, f.head_for);
        }
    }
    h2o_mem_clear_pool(&req.pool);
}

/* A new connection to upstream 1 of two, for a client that asked for another name (Host and SNI): the
 * handshake names upstream 1, with upstream 1's TLS context (its CA, verification on). */
static void check_sni(void)
{
    static edge_gen_t gen;
    edge_upstream_conf_t c0 = {.name = "eu-west-1-fast.example.com", .port = 443};
    edge_upstream_conf_t c1 = {.name = "us-east-1-fast.example.com", .port = 443};
    SSL_CTX *ctx0 = SSL_CTX_new(TLS_client_method()), *ctx1 = SSL_CTX_new(TLS_client_method());
    gen.upstreams[0] = (edge_upstream_t){.conf = &c0, .ssl_ctx = ctx0, .index = 0};
    gen.upstreams[1] = (edge_upstream_t){.conf = &c1, .ssl_ctx = ctx1, .index = 1};
    gen.num_upstreams = 2;
    h2o_req_t req;
    memset(&req, 0, sizeof(req));
    req.authority = req.input.authority = h2o_iovec_init(H2O_STRLIT("cdn.example.com"));
    h2o_socket_t sock;
    memset(&sock, 0, sizeof(sock)); /* sock.ssl NULL: a new connection, TLS not begun */
    struct fwd f = {.req = &req, .gen = &gen, .upstream = 1};
    on_pool_connect(&sock, NULL, &f);
    CHECK(handshake.calls == 1, "sni: %d handshakes begun, want 1", handshake.calls);
    CHECK(handshake.sock == &sock && f.conn == &adopted && sock.data == &f,
          "sni: the handshake is not the pool's socket's");
    CHECK(handshake.server_name != NULL && strcmp(handshake.server_name, c1.name) == 0,
          "sni: server name '%s', want '%s'", handshake.server_name != NULL ? handshake.server_name : "(none)",
          c1.name);
    CHECK(handshake.ctx == ctx1, "sni: not upstream 1's TLS context (its CA and verification)");
    SSL_CTX_free(ctx0);
    SSL_CTX_free(ctx1);
}

static const struct retry_case {
    enum edge_failure failure;
    int idempotent, attempt, stopping;
    int want;
} retry_cases[] = {
    {EDGE_FAILED_CONNECT, 0, 0, 0, 1},            /* nothing was sent: any method */
    {EDGE_FAILED_CONNECT, 1, 0, 0, 1},            /* */
    {EDGE_FAILED_CONNECT, 1, 1, 0, 0},            /* one retry only */
    {EDGE_FAILED_CONNECT, 1, 0, 1, 0},            /* not while stopping */
    {EDGE_FAILED_EXCHANGE, 1, 0, 0, 1},           /* GET/HEAD after sending */
    {EDGE_FAILED_EXCHANGE, 0, 0, 0, 0},           /* POST after sending: the upstream may have acted */
    {EDGE_FAILED_EXCHANGE, 1, 1, 0, 0},           /* */
    {EDGE_FAILED_EXCHANGE, 1, 0, 1, 0},           /* */
    {EDGE_FAILED_FIRST_BYTE_TIMEOUT, 1, 0, 0, 0}, /* a slow gateway is not a dead one */
    {EDGE_FAILED_FIRST_BYTE_TIMEOUT, 0, 0, 0, 0}, /* */
};

int main(void)
{
    for (size_t i = 0; i < NCASES(head_cases); i++)
        check_head(&head_cases[i]);
    check_sni();
    for (size_t i = 0; i < NCASES(retry_cases); i++) {
        const struct retry_case *c = &retry_cases[i];
        int got = edge__may_retry(c->failure, c->idempotent, c->attempt, c->stopping);
        CHECK(got == c->want, "retry row %zu (failure %d, idempotent %d, attempt %d, stopping %d): %d, want %d", i,
              (int)c->failure, c->idempotent, c->attempt, c->stopping, got, c->want);
    }
    return check_done("edge_proxy_core");
}
