/*
 * The standard reason phrase of each HTTP status code (RFC 9110 section 15, plus 429 from RFC 6585), for
 * servers writing an HTTP/1.1 status line. Pure lookup: thread-safe, no allocation.
 */
#ifndef NEARJS_COMMON_HTTP_H
#define NEARJS_COMMON_HTTP_H

#ifdef __cplusplus
extern "C" {
#endif

/* Returns the reason phrase of status (a static string, e.g. "Method Not Allowed" for 405); for a code
 * without a registered phrase, the phrase of its class ("OK" for 2xx, "Bad Request" for 4xx, ...), and
 * "" only outside 100..599. A phrase is never needed by clients (RFC 9112 section 4), but an empty one
 * reads as a broken server in logs and tools. */
const char *cm_http_reason(int status);

#ifdef __cplusplus
}
#endif

#endif
