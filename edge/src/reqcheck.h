/*
 * Request checks (reqcheck.c): what a request must be before anything of it goes upstream.
 */
#ifndef NEARJS_EDGE_REQCHECK_H
#define NEARJS_EDGE_REQCHECK_H

#include <h2o.h>

/* Returns NULL when req may go upstream, else a static one-line cause for a 400: a method that is no token, a
 * target that is not origin-form, HTTP/1.1 without Host, an empty header name (h2o's form of an obs-fold
 * line), a header name that is no token, CR/LF/NUL in a value. */
const char *edge__request_invalid(const h2o_req_t *req);
/* Non-zero when the client named a host (Host or :authority); h2o otherwise fills in the host config's name. */
int edge__request_has_host(const h2o_req_t *req);
/* Non-zero when s is an origin-form request target: '/' then bytes 0x21-0x7e or >= 0x80. */
int edge__origin_form(const char *s, size_t len);
/* Non-zero when s is a Host a redirect may name: a DNS name or IPv4 address, or [IPv6], with an optional
 * numeric :port; nothing else (no userinfo '@', no '/', no spaces). */
int edge__redirect_host_ok(const char *s, size_t len);

#endif
