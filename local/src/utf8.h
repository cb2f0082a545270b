/*
 * UTF-8 checks for text that must become a JSON string: jansson refuses invalid UTF-8, and Lambda and
 * API Gateway replace what is not UTF-8 rather than drop the whole text.
 */
#ifndef NEARJS_LOCAL_UTF8_H
#define NEARJS_LOCAL_UTF8_H

#include <jansson.h>
#include <stddef.h>

/* Returns the length (1-4) of the valid UTF-8 sequence at p (n > 0 bytes available), or 0. */
size_t nl__utf8_len(const unsigned char *p, size_t n);
/* Returns 1 when p[0..n) is valid UTF-8 without NUL bytes, else 0. */
int nl__utf8_valid(const char *p, size_t n);
/* Returns a new JSON string of p[0..n), each byte that is not UTF-8 replaced by U+FFFD; NULL when out of
 * memory. */
json_t *nl__json_text(const char *p, size_t n);

#endif
