/*
 * What a request must be before any of it goes upstream or into a Location header. h2o 2.2.5 copies an
 * HTTP/2 :method and :path as they came, and its HTTP/1 parser turns a folded header line (obs-fold) into a
 * header with an empty name; the upstream request line is built from these by concatenation, so a ':path' of
 * "/x HTTP/1.0" or a ':method' of "GET /smuggle" would reach the gateway as a different request line, which a
 * lenient upstream may parse its own way. RFC 9112/9110: the method is a token, the target of a request to
 * an origin is origin-form ("/" then visible characters, no SP or CTL), a header name is a token, a value has
 * no CR, LF or NUL, obs-fold is refused with 400, and an HTTP/1.1 request without Host is a 400.
 */
#include "reqcheck.h"

#include <string.h>

/* RFC 9110 5.6.2 tchar */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_token(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_tchar((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

int edge__origin_form(const char *s, size_t len)
{
    if (len == 0 || s[0] != '/')
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

int edge__request_has_host(const h2o_req_t *req)
{
    /* h2o (lib/core/request.c) puts the host config's own name in input.authority when the client sent none */
    return req->input.authority.base != NULL &&
           (req->hostconf == NULL || req->input.authority.base != req->hostconf->authority.hostport.base);
}

const char *edge__request_invalid(const h2o_req_t *req)
{
    if (!is_token(req->method.base, req->method.len))
        return "method is not a token";
    if (!edge__origin_form(req->path.base, req->path.len))
        return "request target is not origin-form ('/' then visible characters)";
    if (req->version == 0x101 && !edge__request_has_host(req))
        return "HTTP/1.1 request without Host";
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        if (h->name->len == 0)
            return "folded header line (obs-fold)";
        if (!is_token(h->name->base, h->name->len))
            return "header name is not a token";
        for (size_t k = 0; k < h->value.len; k++) {
            char c = h->value.base[k];
            if (c == '\r' || c == '\n' || c == '\0')
                return "CR, LF or NUL in a header value";
        }
    }
    return NULL;
}

int edge__redirect_host_ok(const char *s, size_t len)
{
    /* a DNS name or IPv4 address with an optional :port, or an [IPv6] with an optional :port */
    if (len == 0 || len > 261)
        return 0;
    size_t i = 0;
    if (s[0] == '[') {
        for (i = 1; i < len && s[i] != ']'; i++) {
            char c = s[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
                return 0;
        }
        if (i == len)
            return 0;
        i++;
    } else {
        for (; i < len && s[i] != ':'; i++) {
            char c = s[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
                return 0;
        }
        if (i == 0)
            return 0;
    }
    if (i == len)
        return 1;
    if (s[i] != ':' || i + 1 == len)
        return 0;
    for (i++; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    return 1;
}
