/*
 * The upstream answer's framing (answer.c): a pure parser over bytes, no socket, no request. proxy.c feeds it
 * what the upstream connection has read; it says where the head ends, how the body is framed (length,
 * chunked, until close, none), which body bytes are the answer's and whether the connection may be kept.
 * Interim 1xx answers are skipped (101 is final); the head is capped at EDGE_MAX_ANSWER_HEAD_BYTES whether it
 * arrives in one read or trickles in.
 */
#ifndef NEARJS_EDGE_ANSWER_H
#define NEARJS_EDGE_ANSWER_H

#include <stddef.h>

#define EDGE_MAX_ANSWER_HEADERS 100
#define EDGE_MAX_ANSWER_HEAD_BYTES (64 * 1024)

enum edge_body_kind { EDGE_BODY_NONE, EDGE_BODY_LENGTH, EDGE_BODY_CHUNKED, EDGE_BODY_UNTIL_CLOSE };

/* One header of the answer's head, pointing into the bytes given to edge__answer_head (picohttpparser's
 * struct phr_header, whose layout libh2o 2.2.5 exports without a header). */
typedef struct edge_answer_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} edge_answer_header_t;

typedef struct edge_answer {
    int is_head; /* in: the request was HEAD (no body whatever the head says) */
    /* out of edge__answer_head; reason points into its bytes */
    int status;
    int minor_version;
    const char *reason;
    size_t reason_len;
    int keepalive; /* the connection may carry another exchange (cleared by edge__answer_body too) */
    enum edge_body_kind body_kind;
    size_t remaining; /* EDGE_BODY_LENGTH: body bytes still to come */
    struct {          /* picohttpparser's struct phr_chunked_decoder */
        size_t bytes_left_in_chunk;
        char consume_trailer;
        char hex_count;
        char state;
    } chunked;
    const char *error; /* static one-line cause once a call returned -1 */
} edge_answer_t;

/* Starts a in for one answer; is_head: the request was HEAD. */
void edge__answer_init(edge_answer_t *a, int is_head);
/* Parses the answer's head from buf[0..len) into a and headers (*num_headers: in, the room, at most
 * EDGE_MAX_ANSWER_HEADERS is useful; out, the count). Returns 1 when it is complete: *consumed is its length
 * (interim 1xx answers before it included); a->reason and headers point into buf. 0 when more bytes are needed:
 * *consumed bytes (whole interim answers) may be dropped first. -1 when the answer is invalid or its head too large:
 * a->error says why. */
int edge__answer_head(edge_answer_t *a, const char *buf, size_t len, edge_answer_header_t *headers, size_t *num_headers,
                      size_t *consumed);
/* Takes body bytes from buf[0..len) (after the head). A chunked body is decoded in place. Returns 1 when the
 * answer is complete, 0 when more is needed, -1 on invalid chunked encoding (a->error). On 0 and 1, *body_len
 * bytes at buf are the answer's body, and *consumed bytes of buf are used up; bytes left after a complete
 * answer clear a->keepalive (the stream is out of step). */
int edge__answer_body(edge_answer_t *a, char *buf, size_t len, size_t *body_len, size_t *consumed);
/* Non-zero when the connection's close completes the answer (its body runs until close). */
int edge__answer_ends_at_close(const edge_answer_t *a);

#endif
