/*
 * Strict standard base64 decoder: length must be a multiple of 4, '=' only as final padding.
 */
#include "common/base64.h"
#include "common/buf.h"

#include <stdlib.h>

static int value_of(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int cm_base64_decode(const char *src, size_t len, char **out, size_t *out_len)
{
    if (len % 4 != 0)
        return CM_EINVAL;
    size_t pad = 0;
    if (len >= 1 && src[len - 1] == '=')
        pad++;
    if (len >= 2 && src[len - 2] == '=')
        pad++;
    char *dst = malloc(len / 4 * 3 + 1);
    if (dst == NULL)
        return CM_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        for (size_t k = 0; k < 4; k++) {
            size_t at = i + k;
            if (at >= len - pad) {
                v[k] = 0; /* padding, only reachable in the last quantum */
                continue;
            }
            v[k] = value_of((unsigned char)src[at]);
            if (v[k] < 0) {
                free(dst);
                return CM_EINVAL;
            }
        }
        unsigned triple = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        dst[n++] = (char)(triple >> 16);
        dst[n++] = (char)(triple >> 8 & 0xff);
        dst[n++] = (char)(triple & 0xff);
    }
    n -= pad;
    dst[n] = '\0';
    *out = dst;
    *out_len = n;
    return 0;
}
