/* Internal to common/'s TLS files: what tls.c needs from tls_tickets.c. */
#ifndef NEARJS_COMMON_TLS_INTERNAL_H
#define NEARJS_COMMON_TLS_INTERNAL_H

#include "common/tls.h"

/* Makes ctx seal and open its session tickets with t's keys; ctx takes a reference on t (dropped when
 * ctx is freed). Returns 0 or CM_ENOMEM. */
int cm__tls_tickets_attach(SSL_CTX *ctx, cm_tls_tickets_t *t);

#endif
