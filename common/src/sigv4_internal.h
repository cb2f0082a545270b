/* What sigv4_verify.c shares with sigv4.c: the canonical request over a chosen set of headers, and the
 * signature of a canonical request. */
#ifndef NEARJS_COMMON_SIGV4_INTERNAL_H
#define NEARJS_COMMON_SIGV4_INTERNAL_H

#include "common/sigv4.h"

/* As cm_sigv4_canonical_request, but when only is not NULL only the headers named in only[0..only_len) (a
 * SignedHeaders list: lower-case names joined with ';') are signed, and a listed name absent from the
 * request gives CM_ENOENT. */
int cm__sigv4_canonical_request(cm_buf_t *out, cm_buf_t *signed_headers, const cm_sigv4_request_t *req,
                                const char *only, size_t only_len);
/* Writes the hex signature of creq made at amz_date with key into sig. Returns 0, CM_ECRYPTO, CM_ETOOBIG or
 * CM_ENOMEM. */
int cm__sigv4_signature(char sig[CM_SIGV4_HEX_LEN + 1], cm_sigv4_key_t *key, const char *amz_date, const char *creq,
                        size_t creq_len);
/* Returns 1 if s[0..n) equals the NUL-terminated lower-case lit, ignoring ASCII case in s. */
int cm__sigv4_name_is(const char *s, size_t n, const char *lit);

#endif
