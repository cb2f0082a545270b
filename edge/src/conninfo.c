/*
 * What the edge reads of a client connection: the peer's numeric address (X-Forwarded-For, logs) and the SNI
 * it sent (the access log), through common/ (accept.c, h2o_compat.c). Reads the connection only; keeps no
 * state.
 */
#include "conninfo.h"
#include "common/accept.h"
#include "common/h2o_compat.h"

#include <stdio.h>

void edge__client_addr(h2o_req_t *req, char *buf, size_t size)
{
    if (cm_conn_peer(req->conn, buf, size) != 0)
        snprintf(buf, size, "-");
}

const char *edge__sni(h2o_req_t *req)
{
    return cm_h2o_sni(cm_conn_socket(req->conn));
}
