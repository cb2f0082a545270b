/*
 * A fast path around jansson for one big string: jansson lexes strings a byte at a time through several
 * calls (~15 ns a byte), so a function's 100 KB body cost ~2 ms to parse. These functions find the raw
 * bytes of a top-level member's string value and decode them with jansson's own rules (RFC 8259 strings,
 * UTF-8 checked, surrogate pairs, \u0000 allowed as with JSON_ALLOW_NUL); jansson still parses the rest.
 * test/local_json_span.c checks every accept/reject and decoded byte against jansson itself.
 * Pure functions over caller buffers; thread-safe.
 */
#ifndef NEARJS_LOCAL_JSON_SPAN_H
#define NEARJS_LOCAL_JSON_SPAN_H

#include <stddef.h>

/* Looks in doc[0..len), expected to be a JSON object, for the member named key (written without escapes)
 * of the outermost object. Returns 1 when there is exactly one such member, its value is a string, and
 * no other key of the outermost object has an escape (which could spell key differently): *start is the
 * offset of the value's first byte after its opening quote, *end that of its closing quote. Returns 0
 * otherwise (not found, not a string, twice, or doc not shaped as an object): the caller then parses
 * the whole text. Does not validate: doc may still be malformed JSON. */
int nl__json_find_member(const char *doc, size_t len, const char *key, size_t *start, size_t *end);

/* Decodes the contents of a JSON string (the bytes between its quotes, p[0..n)) into out, which must
 * have room for n bytes (decoding never grows the text). Returns 0 and the decoded length in *out_len,
 * or -1 when jansson would refuse the string: a raw control character or quote, an unknown escape, a
 * \u escape that is not 4 hex digits or leaves a surrogate unpaired, invalid UTF-8. *had_escape is set
 * to 1 when p has a backslash (out is then not a plain copy of p). */
int nl__json_unescape(const char *p, size_t n, char *out, size_t *out_len, int *had_escape);

#endif
