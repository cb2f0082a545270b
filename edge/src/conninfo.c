/*
 * What the edge reads of a client connection: the peer's numeric address (X-Forwarded-For, logs) and the SNI
 * it sent (the access log). Reads the connection only; keeps no state.
 */
#include "conninfo.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>

void edge__client_addr(h2o_req_t *req, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    /* inet_ntop, not getnameinfo (h2o_socket_getnumerichost): this runs for every request (X-Forwarded-For),
     * and getnameinfo's generality showed at ~2% of a keep-alive request's CPU */
    const void *addr = NULL;
    if (len != 0 && ss.ss_family == AF_INET)
        addr = &((struct sockaddr_in *)&ss)->sin_addr;
    else if (len != 0 && ss.ss_family == AF_INET6)
        addr = &((struct sockaddr_in6 *)&ss)->sin6_addr;
    if (addr == NULL || inet_ntop(ss.ss_family, addr, buf, (socklen_t)size) == NULL)
        snprintf(buf, size, "-");
}

/* Private layout of h2o 2.2's struct st_h2o_socket_ssl_t, whose first two members are the SSL_CTX
 * and the SSL. libh2o 2.2 offers no getter for the SNI a client sent, and the access log needs it;
 * the layout is pinned by the version check below (other versions log "-"). */
struct edge_h2o22_socket_ssl {
    SSL_CTX *ssl_ctx;
    SSL *ossl;
};

const char *edge__sni(h2o_req_t *req)
{
#if H2O_VERSION_MAJOR == 2 && H2O_VERSION_MINOR == 2
    if (req->conn->callbacks->get_socket == NULL)
        return NULL;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    if (sock == NULL || sock->ssl == NULL)
        return NULL;
    const struct edge_h2o22_socket_ssl *ssl = (const void *)sock->ssl;
    return ssl->ossl != NULL ? SSL_get_servername(ssl->ossl, TLSEXT_NAMETYPE_host_name) : NULL;
#else
    (void)req;
    return NULL;
#endif
}
