/*
 * Standard base64 (RFC 4648 section 4, with '=' padding) decoding, strict: whitespace or any byte
 * outside the alphabet is an error rather than skipped, so a corrupted header is reported, not guessed.
 */
#ifndef NEARJS_COMMON_BASE64_H
#define NEARJS_COMMON_BASE64_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Decodes src[0..len) into a new NUL-terminated buffer (caller frees) and stores its length in *out_len.
 * Returns 0, CM_EINVAL (bad alphabet, length or padding; *out untouched) or CM_ENOMEM. */
int cm_base64_decode(const char *src, size_t len, char **out, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif
