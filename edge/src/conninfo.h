/*
 * What the edge reads of a client connection (conninfo.c): its address and its SNI.
 */
#ifndef NEARJS_EDGE_CONNINFO_H
#define NEARJS_EDGE_CONNINFO_H

#include <h2o.h>

/* Writes the client's numeric address into buf (INET6_ADDRSTRLEN+), or "-". */
void edge__client_addr(h2o_req_t *req, char *buf, size_t size);
/* SNI the client sent on this request's connection, or NULL. Borrowed from the connection. */
const char *edge__sni(h2o_req_t *req);

#endif
