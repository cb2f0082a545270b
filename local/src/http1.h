/*
 * The small HTTP/1.1 request parser the Runtime API server needs: request heads and chunked bodies
 * with their trailers. Our own because h2o 2.2.5's HTTP/1 server consumes and drops request trailers
 * (lib/http1.c sets consume_trailer), and streamed responses report errors in trailers.
 * Pure functions over caller buffers: no I/O, no allocation except the trailer buffer's capped growth.
 */
#ifndef NEARJS_LOCAL_HTTP1_H
#define NEARJS_LOCAL_HTTP1_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"

#define NL__HTTP_MAX_HEADERS 64
#define NL__HTTP_MAX_HEAD (64 * 1024)    /* request line plus headers */
#define NL__HTTP_MAX_TRAILER (64 * 1024) /* all trailer lines together */

typedef struct nl__header {
    const char *name;
    size_t name_len;
    const char *value; /* without surrounding whitespace */
    size_t value_len;
} nl__header_t;

typedef struct nl__request {
    const char *method;
    size_t method_len;
    const char *path;
    size_t path_len;
    int minor_version; /* HTTP/1.x */
    nl__header_t headers[NL__HTTP_MAX_HEADERS];
    size_t num_headers;
} nl__request_t;

#define NL__HTTP_INCOMPLETE 0
#define NL__HTTP_EBAD (-1)    /* malformed */
#define NL__HTTP_ETOOBIG (-2) /* over a cap (head size, header count, trailer size) */

/* Parses a request head from buf[0..len). Returns its length in bytes (> 0) when complete,
 * NL__HTTP_INCOMPLETE when more bytes are needed, or a negative NL__HTTP_E*. Pointers stored in req
 * borrow buf. Leading empty lines are skipped, as RFC 9112 section 2.2 allows. */
ssize_t nl__http_parse_request(const char *buf, size_t len, nl__request_t *req);

/* Parses a header block ending with an empty line (as trailers are) from buf[0..len), which must hold
 * the whole block. Returns 0 or a negative NL__HTTP_E*. Pointers borrow buf. */
int nl__http_parse_headers(const char *buf, size_t len, nl__header_t *headers, size_t max, size_t *num);

/* Returns the first header named name (ASCII case-insensitive), or NULL. */
const nl__header_t *nl__http_find(const nl__header_t *headers, size_t num, const char *name);

/* Parses a Content-Length value: decimal digits only. Returns 0 or NL__HTTP_EBAD. */
int nl__http_parse_length(const char *s, size_t len, uint64_t *out);

/* Incremental decoder of a chunked body. */
typedef struct nl__chunked {
    int state;
    uint64_t size;    /* size of the chunk being read / left of it */
    size_t digits;    /* hex digits seen in the size line */
    size_t line_len;  /* bytes of the current extension or trailer line */
    cm_buf_t trailer; /* raw trailer block, ending with the empty line */
} nl__chunked_t;

void nl__chunked_init(nl__chunked_t *d);
void nl__chunked_dispose(nl__chunked_t *d);
/* Feeds in[0..len). Payload pieces go to on_data (which may be called several times). Returns the
 * number of bytes consumed: all of them unless the body ended inside in (the rest belongs to the next
 * request). *done is set to 1 once the last chunk and its trailers have been read; d->trailer then
 * holds the trailer block. Returns a negative NL__HTTP_E* on malformed input or oversized trailers. */
ssize_t nl__chunked_feed(nl__chunked_t *d, const char *in, size_t len, int *done,
                         void (*on_data)(void *ctx, const char *p, size_t n), void *ctx);

#endif
