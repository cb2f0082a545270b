/*
 * HTTP/1.1 request head parsing and chunked body decoding (see http1.h for why not h2o's).
 * Strict where leniency would hide a broken runtime (obs-fold, bad tokens, bad chunk sizes), lenient
 * where curl and other clients differ harmlessly (bare LF line ends, chunk extensions).
 */
#include "http1.h"

#include <string.h>
#include <strings.h>

static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Returns the length of the line at p (without its CRLF or LF) and stores where the next line starts,
 * or -1 when no line end is within end. */
static ssize_t line_at(const char *p, const char *end, const char **next)
{
    const char *lf = memchr(p, '\n', (size_t)(end - p));
    if (lf == NULL)
        return -1;
    *next = lf + 1;
    if (lf > p && lf[-1] == '\r')
        lf--;
    return lf - p;
}

static int parse_header_line(const char *p, size_t n, nl__header_t *h)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    /* no name, or whitespace before the colon (RFC 9112 5.1 says reject), or an obs-fold line */
    if (i == 0 || i == n || p[i] != ':')
        return NL__HTTP_EBAD;
    h->name = p;
    h->name_len = i;
    i++;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    size_t e = n;
    while (e > i && (p[e - 1] == ' ' || p[e - 1] == '\t'))
        e--;
    for (size_t k = i; k < e; k++) {
        unsigned char c = (unsigned char)p[k];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return NL__HTTP_EBAD;
    }
    h->value = p + i;
    h->value_len = e - i;
    return 0;
}

int nl__http_parse_headers(const char *buf, size_t len, nl__header_t *headers, size_t max, size_t *num)
{
    const char *p = buf, *end = buf + len, *next = NULL;
    size_t n = 0;
    for (;;) {
        ssize_t l = line_at(p, end, &next);
        if (l < 0)
            return NL__HTTP_EBAD;
        if (l == 0)
            break;
        if (n == max)
            return NL__HTTP_ETOOBIG;
        if (parse_header_line(p, (size_t)l, &headers[n]) != 0)
            return NL__HTTP_EBAD;
        n++;
        p = next;
    }
    *num = n;
    return 0;
}

ssize_t nl__http_parse_request(const char *buf, size_t len, nl__request_t *req)
{
    const char *start = buf, *end = buf + len;
    while (start < end && (*start == '\r' || *start == '\n'))
        start++;
    /* Parse only once the blank line that ends the head is here: simpler than resuming mid-line. */
    const char *blank = NULL;
    for (const char *q = start; q < end; q++) {
        q = memchr(q, '\n', (size_t)(end - q));
        if (q == NULL)
            break;
        if (q + 1 < end && q[1] == '\n') {
            blank = q + 2;
            break;
        }
        if (q + 2 < end && q[1] == '\r' && q[2] == '\n') {
            blank = q + 3;
            break;
        }
    }
    if (blank == NULL)
        return len > NL__HTTP_MAX_HEAD ? NL__HTTP_ETOOBIG : NL__HTTP_INCOMPLETE;
    if (blank - buf > NL__HTTP_MAX_HEAD)
        return NL__HTTP_ETOOBIG;

    const char *next = NULL;
    ssize_t l = line_at(start, blank, &next);
    if (l < 0)
        return NL__HTTP_EBAD;
    const char *p = start, *le = start + l;
    const char *sp1 = memchr(p, ' ', (size_t)(le - p));
    if (sp1 == NULL || sp1 == p)
        return NL__HTTP_EBAD;
    for (const char *q = p; q < sp1; q++)
        if (!is_tchar((unsigned char)*q))
            return NL__HTTP_EBAD;
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', (size_t)(le - target));
    if (sp2 == NULL || sp2 == target)
        return NL__HTTP_EBAD;
    for (const char *q = target; q < sp2; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q == 0x7f)
            return NL__HTTP_EBAD;
    const char *ver = sp2 + 1;
    if (le - ver != 8 || memcmp(ver, "HTTP/1.", 7) != 0 || (ver[7] != '0' && ver[7] != '1'))
        return NL__HTTP_EBAD;
    req->method = p;
    req->method_len = (size_t)(sp1 - p);
    req->path = target;
    req->path_len = (size_t)(sp2 - target);
    req->minor_version = ver[7] - '0';
    int err =
        nl__http_parse_headers(next, (size_t)(blank - next), req->headers, NL__HTTP_MAX_HEADERS, &req->num_headers);
    if (err != 0)
        return err;
    return blank - buf;
}

const nl__header_t *nl__http_find(const nl__header_t *headers, size_t num, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < num; i++)
        if (headers[i].name_len == n && strncasecmp(headers[i].name, name, n) == 0)
            return &headers[i];
    return NULL;
}

int nl__http_parse_length(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 19) /* 19 digits always fit in 64 bits */
        return NL__HTTP_EBAD;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return NL__HTTP_EBAD;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

enum { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER, CH_DONE };

void nl__chunked_init(nl__chunked_t *d)
{
    memset(d, 0, sizeof(*d));
    d->state = CH_SIZE;
    cm_buf_init(&d->trailer, NL__HTTP_MAX_TRAILER);
}

void nl__chunked_dispose(nl__chunked_t *d)
{
    cm_buf_dispose(&d->trailer);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The size line ended: either data follows or, for the last chunk, the trailers. */
static void end_size_line(nl__chunked_t *d)
{
    d->state = d->size == 0 ? CH_TRAILER : CH_DATA;
    d->line_len = 0;
}

ssize_t nl__chunked_feed(nl__chunked_t *d, const char *in, size_t len, int *done,
                         void (*on_data)(void *ctx, const char *p, size_t n), void *ctx)
{
    size_t i = 0;
    *done = d->state == CH_DONE;
    while (i < len && d->state != CH_DONE) {
        char c = in[i];
        switch (d->state) {
        case CH_SIZE: {
            int v = hexval(c);
            if (v >= 0) {
                /* 15 hex digits are already far beyond any cap we enforce; more is an attack */
                if (++d->digits > 15)
                    return NL__HTTP_ETOOBIG;
                d->size = d->size * 16 + (uint64_t)v;
            } else if (d->digits == 0) {
                return NL__HTTP_EBAD;
            } else if (c == ';' || c == ' ' || c == '\t') {
                d->state = CH_EXT;
            } else if (c == '\r') {
                d->state = CH_SIZE_LF;
            } else if (c == '\n') {
                end_size_line(d);
            } else {
                return NL__HTTP_EBAD;
            }
            i++;
            break;
        }
        case CH_EXT:
            if (c == '\n')
                end_size_line(d);
            else if (++d->line_len > 4096)
                return NL__HTTP_ETOOBIG;
            i++;
            break;
        case CH_SIZE_LF:
            if (c != '\n')
                return NL__HTTP_EBAD;
            end_size_line(d);
            i++;
            break;
        case CH_DATA: {
            size_t n = len - i;
            if (n > d->size)
                n = (size_t)d->size;
            on_data(ctx, in + i, n);
            d->size -= n;
            i += n;
            if (d->size == 0)
                d->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            if (c == '\r')
                d->state = CH_DATA_LF;
            else if (c == '\n')
                d->state = CH_SIZE;
            else
                return NL__HTTP_EBAD;
            d->digits = 0;
            i++;
            break;
        case CH_DATA_LF:
            if (c != '\n')
                return NL__HTTP_EBAD;
            d->state = CH_SIZE;
            d->digits = 0;
            i++;
            break;
        case CH_TRAILER:
            if (cm_buf_append(&d->trailer, &c, 1) != 0)
                return NL__HTTP_ETOOBIG;
            if (c == '\n') {
                /* an empty line (bare or with CR) ends the trailers */
                if (d->line_len == 0 || (d->line_len == 1 && d->trailer.base[d->trailer.len - 2] == '\r'))
                    d->state = CH_DONE;
                d->line_len = 0;
            } else {
                d->line_len++;
            }
            i++;
            break;
        }
    }
    *done = d->state == CH_DONE;
    return (ssize_t)i;
}
