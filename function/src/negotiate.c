/*
 * negotiate.c: Accept-Encoding and If-None-Match, parsed in place over (ptr, len) without allocating.
 * Both are lists (RFC 9110 5.6.1): elements separated by commas with optional whitespace; empty
 * elements are allowed and skipped.
 */
#include <string.h>
#include <strings.h>
#include "function/negotiate.h"

static int ows(char c)
{
    return c == ' ' || c == '\t';
}

static int tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Parses a qvalue (RFC 9110 12.4.2) of n bytes into thousandths; -1 when malformed. */
static int qvalue(const char *s, size_t n)
{
    if (n == 0 || (s[0] != '0' && s[0] != '1'))
        return -1;
    int q = (s[0] - '0') * 1000;
    if (n == 1)
        return q;
    if (s[1] != '.' || n > 5)
        return -1;
    int scale = 100;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        q += (s[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

/*
 * Parses one element "coding *( OWS ; OWS q=qvalue )" of n bytes (OWS already trimmed). Sets the coding
 * span and returns its weight in thousandths (1000 without q), or 0 when malformed.
 */
static int element(const char *s, size_t n, const char **coding, size_t *clen)
{
    size_t i = 0;
    while (i < n && tchar((unsigned char)s[i]))
        i++;
    *coding = s;
    *clen = i;
    if (i == 0)
        return 0;
    int q = 1000;
    while (i < n) {
        while (i < n && ows(s[i]))
            i++;
        if (i == n)
            break;
        if (s[i] != ';')
            return 0;
        i++;
        while (i < n && ows(s[i]))
            i++;
        if (n - i < 2 || (s[i] != 'q' && s[i] != 'Q') || s[i + 1] != '=')
            return 0;
        i += 2;
        size_t start = i;
        while (i < n && !ows(s[i]) && s[i] != ';')
            i++;
        q = qvalue(s + start, i - start);
        if (q < 0)
            return 0;
    }
    return q;
}

/* Case-insensitive comparison of an n-byte span with a literal (content-codings ignore case). */
#define NAME_IS(p, n, lit) ((n) == sizeof(lit) - 1 && strncasecmp((p), (lit), (n)) == 0)

int fn_accepts_gzip(const char *value, size_t len)
{
    int q_gzip = -1, q_star = -1, q_identity = -1;
    size_t i = 0;
    while (i < len) {
        while (i < len && (ows(value[i]) || value[i] == ','))
            i++;
        size_t start = i;
        while (i < len && value[i] != ',')
            i++;
        size_t end = i;
        while (end > start && ows(value[end - 1]))
            end--;
        if (end == start)
            continue;
        const char *coding;
        size_t clen;
        int q = element(value + start, end - start, &coding, &clen);
        /* The first mention of a coding decides it; later repeats are ignored. */
        if ((NAME_IS(coding, clen, "gzip") || NAME_IS(coding, clen, "x-gzip")) && q_gzip < 0)
            q_gzip = q;
        else if (NAME_IS(coding, clen, "*") && q_star < 0)
            q_star = q;
        else if (NAME_IS(coding, clen, "identity") && q_identity < 0)
            q_identity = q;
    }
    if (q_gzip < 0)
        q_gzip = q_star < 0 ? 0 : q_star;
    /* identity is always acceptable but unranked unless named; a client ranking it above gzip gets it. */
    return q_gzip > 0 && q_gzip >= q_identity;
}

int fn_if_none_match(const char *value, size_t len, const char *etag)
{
    size_t elen = strlen(etag);
    if (elen < 2 || etag[0] != '"' || etag[elen - 1] != '"')
        return 0;
    size_t i = 0;
    int seen = 0;
    while (i < len) {
        while (i < len && (ows(value[i]) || value[i] == ','))
            i++;
        if (i == len)
            break;
        if (value[i] == '*') {
            /* "*" stands alone (RFC 9110 13.1.2); "*" inside a list is malformed, so matches nothing. */
            size_t j = i + 1;
            while (j < len && ows(value[j]))
                j++;
            return j == len && !seen;
        }
        if (len - i >= 2 && value[i] == 'W' && value[i + 1] == '/')
            i += 2;
        if (i == len || value[i] != '"')
            return 0;
        size_t start = i;
        i++;
        while (i < len && value[i] != '"') {
            unsigned char c = (unsigned char)value[i];
            /* etagc = %x21 / %x23-7E / obs-text: no spaces, no controls, no NUL. */
            if (c < 0x21 || c == 0x7f)
                return 0;
            i++;
        }
        if (i == len)
            return 0;
        i++;
        seen = 1;
        if (i - start == elen && memcmp(value + start, etag, elen) == 0)
            return 1;
        while (i < len && ows(value[i]))
            i++;
        if (i < len && value[i] != ',')
            return 0;
    }
    return 0;
}
