/*
 * function/negotiate.h: the two request headers that choose the answer: Accept-Encoding (RFC 9110
 * 12.5.3, q-values) and If-None-Match (RFC 9110 13.1.2, weak comparison). Pure functions over (ptr, len).
 */
#ifndef NEARJS_FUNCTION_NEGOTIATE_H
#define NEARJS_FUNCTION_NEGOTIATE_H

#include <stddef.h>

/*
 * Returns 1 when an Accept-Encoding value of len bytes lets us answer gzip, else 0: gzip (or x-gzip)
 * with q > 0, or "*" with q > 0 when gzip is not named, and not ranked below an explicit identity.
 * "gzip;q=0" means no. An empty or absent header means identity only. Malformed elements count as q=0.
 */
int fn_accepts_gzip(const char *value, size_t len);

/*
 * Returns 1 when an If-None-Match value of len bytes matches etag (a quoted strong entity-tag such as
 * "\"abc\""), else 0: "*" matches; otherwise any listed entity-tag whose opaque-tag equals etag's,
 * with or without a W/ prefix (weak comparison). A malformed list matches nothing from the error on.
 */
int fn_if_none_match(const char *value, size_t len, const char *etag);

#endif
