/*
 * Runtime API routing: exact paths as Lambda serves them, nothing looser.
 */
#include "route.h"

#include <string.h>

#define PREFIX "/2018-06-01/runtime/"

static int is(const char *p, size_t n, const char *s)
{
    return n == strlen(s) && memcmp(p, s, n) == 0;
}

static nl__route_t pick(int method_ok, nl__route_t route)
{
    return method_ok ? route : NL__ROUTE_BAD_METHOD;
}

nl__route_t nl__route(const char *method, size_t method_len, const char *path, size_t path_len, char id[NL__MAX_ID + 1],
                      int *id_too_long)
{
    id[0] = '\0';
    *id_too_long = 0;
    const char *q = memchr(path, '?', path_len);
    if (q != NULL)
        path_len = (size_t)(q - path);
    int get = is(method, method_len, "GET"), post = is(method, method_len, "POST");
    size_t plen = strlen(PREFIX);
    if (path_len < plen || memcmp(path, PREFIX, plen) != 0)
        return NL__ROUTE_NOT_FOUND;
    const char *p = path + plen;
    size_t n = path_len - plen;
    if (is(p, n, "invocation/next"))
        return pick(get, NL__ROUTE_NEXT);
    if (is(p, n, "init/error"))
        return pick(post, NL__ROUTE_INIT_ERROR);
    static const char inv[] = "invocation/";
    if (n <= strlen(inv) || memcmp(p, inv, strlen(inv)) != 0)
        return NL__ROUTE_NOT_FOUND;
    p += strlen(inv);
    n -= strlen(inv);
    const char *slash = memchr(p, '/', n);
    if (slash == NULL || slash == p)
        return NL__ROUTE_NOT_FOUND;
    size_t idlen = (size_t)(slash - p);
    const char *tail = slash + 1;
    size_t tlen = n - idlen - 1;
    nl__route_t r;
    if (is(tail, tlen, "response"))
        r = NL__ROUTE_RESPONSE;
    else if (is(tail, tlen, "error"))
        r = NL__ROUTE_ERROR;
    else
        return NL__ROUTE_NOT_FOUND;
    if (idlen > NL__MAX_ID) {
        idlen = NL__MAX_ID;
        *id_too_long = 1;
    }
    memcpy(id, p, idlen);
    id[idlen] = '\0';
    return pick(post, r);
}
