/*
 * Raw JSON string members: finding one and decoding it (see json_span.h). The scan knows strings only by
 * their quotes and backslashes, as a JSON lexer does, so the text around the found value keeps its tokens
 * whatever it holds: a malformed document stays malformed when the value is cut out.
 */
#include "json_span.h"
#include "utf8.h"

#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static size_t skip_ws(const char *p, size_t len, size_t i)
{
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

/* The offset of the quote closing the string whose contents start at i, or len when it does not close.
 * *escaped says whether the contents have a backslash. */
static size_t string_end(const char *p, size_t len, size_t i, int *escaped)
{
    *escaped = 0;
    while (i < len) {
        const char *q = memchr(p + i, '"', len - i);
        if (q == NULL)
            return len;
        size_t at = (size_t)(q - p), bs = 0;
        while (at - bs > i && p[at - bs - 1] == '\\')
            bs++;
        if (bs != 0)
            *escaped = 1;
        if (bs % 2 == 0)
            return at;
        i = at + 1;
    }
    return len;
}

int nl__json_find_member(const char *doc, size_t len, const char *key, size_t *start, size_t *end)
{
    size_t key_len = strlen(key), i = skip_ws(doc, len, 0);
    if (i >= len || doc[i] != '{')
        return 0;
    int depth = 0, found = 0;
    for (; i < len; i++) {
        char ch = doc[i];
        if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            depth--;
        } else if (ch == '"') {
            int escaped;
            size_t s = i + 1, e = string_end(doc, len, s, &escaped);
            if (e >= len)
                return 0;
            i = e;
            if (depth != 1)
                continue;
            size_t colon = skip_ws(doc, len, e + 1);
            if (colon >= len || doc[colon] != ':')
                continue; /* a value */
            if (escaped)
                return 0; /* a key that might spell key with escapes */
            if (e - s != key_len || memcmp(doc + s, key, key_len) != 0)
                continue;
            size_t v = skip_ws(doc, len, colon + 1);
            if (found || v >= len || doc[v] != '"')
                return 0;
            size_t ve = string_end(doc, len, v + 1, &escaped);
            if (ve >= len)
                return 0;
            *start = v + 1;
            *end = ve;
            found = 1;
            i = ve;
        }
    }
    return found;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t utf8_put(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decodes the escape at p[0] == '\\' (n bytes left) into out. Returns the bytes consumed (> 0), or 0 when
 * jansson would refuse it; *written gets the bytes written. */
static size_t escape(const char *p, size_t n, char *out, size_t *written)
{
    if (n < 2)
        return 0;
    char simple = 0;
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
        simple = p[1];
        break;
    case 'b':
        simple = '\b';
        break;
    case 'f':
        simple = '\f';
        break;
    case 'n':
        simple = '\n';
        break;
    case 'r':
        simple = '\r';
        break;
    case 't':
        simple = '\t';
        break;
    }
    if (simple != 0) {
        *out = simple;
        *written = 1;
        return 2;
    }
    unsigned cp, lo;
    if (p[1] != 'u' || n < 6 || hex4(p + 2, &cp) != 0)
        return 0;
    size_t used = 6;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return 0;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (n < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
            return 0;
        cp = ((cp - 0xd800) << 10) + (lo - 0xdc00) + 0x10000;
        used = 12;
    }
    *written = utf8_put(cp, out);
    return used;
}

/* The bytes copied as they are: ASCII from the space up, but the quote (0x22) and the backslash (0x5c). */
static const uint8_t plain[256] = {[0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1};

#ifndef __SSE2__
/* Whether the 8 bytes of w are all plain (the "has a byte less than n" bit trick: exact as a yes/no). */
static int word_plain(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t quote = w ^ (ones * 0x22), bslash = w ^ (ones * 0x5c);
    uint64_t low = (w - ones * 0x20) & ~w; /* a byte below 0x20 */
    uint64_t q = (quote - ones) & ~quote;  /* a zero byte: there was a quote */
    uint64_t b = (bslash - ones) & ~bslash;
    return ((low | q | b | w) & highs) == 0;
}
#endif

/* Copies the plain bytes at the start of p[0..n) to out and returns how many there were. Whole blocks are
 * stored before they are checked: out may get up to 15 bytes past the returned count, within n. */
static size_t copy_plain(const char *p, size_t n, char *out)
{
    size_t k = 0;
#ifdef __SSE2__
    const __m128i space = _mm_set1_epi8(0x20), quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    for (; k + 16 <= n; k += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + k));
        _mm_storeu_si128((__m128i *)(void *)(out + k), v);
        /* signed compare: bytes from 0x80 up are negative, so they count as below the space too */
        __m128i bad =
            _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)));
        int mask = _mm_movemask_epi8(bad);
        if (mask != 0)
            return k + (size_t)__builtin_ctz((unsigned)mask);
    }
#else
    for (uint64_t w; k + 8 <= n; k += 8) {
        memcpy(&w, p + k, 8);
        if (!word_plain(w))
            break;
        memcpy(out + k, &w, 8);
    }
#endif
    while (k < n && plain[(unsigned char)p[k]]) {
        out[k] = p[k];
        k++;
    }
    return k;
}

int nl__json_unescape(const char *p, size_t n, char *out, size_t *out_len, int *had_escape)
{
    size_t i = 0, o = 0;
    *had_escape = 0;
    while (i < n) {
        /* o <= i always (decoding never grows), so copy_plain's whole blocks stay within out's n bytes */
        size_t run = copy_plain(p + i, n - i, out + o);
        i += run;
        o += run;
        if (i >= n)
            break;
        unsigned char c = (unsigned char)p[i];
        if (c == '\\') {
            size_t w, used = escape(p + i, n - i, out + o, &w);
            if (used == 0)
                return -1;
            *had_escape = 1;
            i += used;
            o += w;
        } else if (c >= 0x80) {
            size_t l = nl__utf8_len((const unsigned char *)p + i, n - i);
            if (l == 0)
                return -1;
            memcpy(out + o, p + i, l);
            i += l;
            o += l;
        } else {
            return -1; /* a control character or a raw quote */
        }
    }
    *out_len = o;
    return 0;
}
