/*
 * UTF-8 validation and repair for JSON strings (see utf8.h).
 */
#include "utf8.h"
#include "common/buf.h"

size_t nl__utf8_len(const unsigned char *p, size_t n)
{
    if (p[0] < 0x80)
        return 1;
    size_t len;
    unsigned min;
    unsigned cp;
    if ((p[0] & 0xe0) == 0xc0) {
        len = 2, min = 0x80, cp = p[0] & 0x1f;
    } else if ((p[0] & 0xf0) == 0xe0) {
        len = 3, min = 0x800, cp = p[0] & 0x0f;
    } else if ((p[0] & 0xf8) == 0xf0) {
        len = 4, min = 0x10000, cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

int nl__utf8_valid(const char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        if (p[i] == '\0')
            return 0;
        size_t l = nl__utf8_len((const unsigned char *)p + i, n - i);
        if (l == 0)
            return 0;
        i += l;
    }
    return 1;
}

json_t *nl__json_text(const char *p, size_t n)
{
    if (nl__utf8_valid(p, n))
        return json_stringn(p, n);
    cm_buf_t text;
    cm_buf_init(&text, n * 3 + 1);
    for (size_t i = 0; i < n;) {
        size_t l = nl__utf8_len((const unsigned char *)p + i, n - i);
        if (l == 0 || p[i] == '\0') {
            /* NUL is valid JSON (\u0000) but many runtimes choke on it: keep it, it is UTF-8 */
            if (l == 0)
                cm_buf_append(&text, "\xef\xbf\xbd", 3);
            else
                cm_buf_append(&text, p + i, 1);
            i++;
        } else {
            cm_buf_append(&text, p + i, l);
            i += l;
        }
    }
    json_t *s = json_stringn(text.base != NULL ? text.base : "", text.len);
    cm_buf_dispose(&text);
    return s;
}
