/*
 * answer.h: builds the response JSON Lambda hands back to API Gateway or the function URL, in the shape
 * of the event's version. Internal to function/.
 * Bodies come as ready JSON string literals (made by fn__json_string, i.e. by jansson) so that a cached
 * script is escaped once per version, not once per request: jansson needs about 10 ns a byte for that.
 */
#ifndef NEARJS_FUNCTION_ANSWER_H
#define NEARJS_FUNCTION_ANSWER_H

#include <stddef.h>
#include "common/buf.h"
#include "function/event.h"

typedef struct fn__header {
    const char *name;
    const char *value;
} fn__header_t;

/*
 * Appends to out the JSON string literal (quotes included) of len bytes of text, which must be valid
 * UTF-8 (callers pass validated scripts, base64 or fixed texts; it is not checked again).
 * Returns 0, CM_ENOMEM or CM_ETOOBIG; on failure out is unchanged.
 */
int fn__json_string(const char *text, size_t len, cm_buf_t *out);

/*
 * Appends to out the JSON string literal (quotes included) of the base64 (RFC 4648, no line breaks) of
 * len bytes. Written directly, not by jansson: the base64 alphabet (A-Z a-z 0-9 + / =) holds no character
 * JSON escapes, so the literal is the quotes around the encoding, and jansson's ~10 ns a byte is saved.
 * Returns 0, CM_ETOOBIG or CM_ENOMEM; on failure out is unchanged.
 */
int fn__json_base64(const void *in, size_t len, cm_buf_t *out);

/*
 * Clears out and writes the answer: statusCode, headers (2.0, function URL) or multiValueHeaders (1.0),
 * isBase64Encoded, and body: body_json, a literal from fn__json_string (NULL: ""). Returns 0,
 * CM_ENOMEM or CM_ETOOBIG (does not fit out).
 */
int fn__answer(cm_buf_t *out, fn_event_kind_t kind, int status, const fn__header_t *headers, size_t nheaders,
               const char *body_json, size_t body_json_len, int base64);

#endif
