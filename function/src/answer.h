/*
 * answer.h: builds the response JSON Lambda hands back to API Gateway or the function URL, in the shape
 * of the event's version. Internal to function/.
 */
#ifndef FUNCTION_ANSWER_H
#define FUNCTION_ANSWER_H

#include <stddef.h>
#include "function/buf.h"
#include "function/event.h"

typedef struct fn__header {
    const char *name;
    const char *value;
} fn__header_t;

/*
 * Clears out and writes the answer: statusCode, headers (2.0, function URL) or multiValueHeaders (1.0),
 * body and isBase64Encoded. body must be valid UTF-8 (it is: validated scripts, base64, fixed texts) and
 * is not checked again, which keeps a warm answer free of a second pass over the script.
 * Returns 0, FN_ENOMEM or FN_ETOOBIG (does not fit out).
 */
int fn__answer(fn_buf_t *out, fn_event_kind_t kind, int status, const fn__header_t *headers, size_t nheaders,
               const char *body, size_t len, int base64);

#endif
