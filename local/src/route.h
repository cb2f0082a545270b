/*
 * Maps a Runtime API request line to an endpoint and the request id in its path.
 */
#ifndef NEARJS_LOCAL_ROUTE_H
#define NEARJS_LOCAL_ROUTE_H

#include <stddef.h>

typedef enum nl__route {
    NL__ROUTE_NOT_FOUND,  /* 404 */
    NL__ROUTE_BAD_METHOD, /* a known path with the wrong method: 405 */
    NL__ROUTE_NEXT,       /* GET  /2018-06-01/runtime/invocation/next */
    NL__ROUTE_RESPONSE,   /* POST /2018-06-01/runtime/invocation/{id}/response */
    NL__ROUTE_ERROR,      /* POST /2018-06-01/runtime/invocation/{id}/error */
    NL__ROUTE_INIT_ERROR, /* POST /2018-06-01/runtime/init/error */
} nl__route_t;

/* Longest request id we keep from a path; longer ones cannot be ours and are rejected as unknown. */
#define NL__MAX_ID 128

/* Routes (method, path); the query string, if any, is ignored. For RESPONSE and ERROR the id is
 * copied NUL-terminated into id (NL__MAX_ID + 1 bytes), truncated ids being flagged by *id_too_long. */
nl__route_t nl__route(const char *method, size_t method_len, const char *path, size_t path_len, char id[NL__MAX_ID + 1],
                      int *id_too_long);

#endif
