/*
 * path.c: the request path grammar of path.h. A whitelist, byte by byte: anything outside it (".",
 * "%", NUL, non-ASCII, a second "/") fails, so no decoding step can later turn it into something else.
 */
#include <string.h>
#include "common/error.h"
#include "function/path.h"

static int id_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int fn_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > FN_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!id_char((unsigned char)id[i]))
            return 0;
    return 1;
}

int fn_path_parse(const char *path, size_t len, fn_path_t *out)
{
    if (len < 6 || len > FN_PATH_MAX || path[0] != '/')
        return CM_EBADPATH;
    const char *slash = memchr(path + 1, '/', len - 1);
    if (slash == NULL)
        return CM_EBADPATH;
    size_t alen = (size_t)(slash - (path + 1));
    const char *file = slash + 1;
    size_t rest = len - (size_t)(file - path);
    if (rest < 4 || memcmp(file + rest - 3, ".js", 3) != 0)
        return CM_EBADPATH;
    size_t flen = rest - 3;
    if (!fn_id_valid(path + 1, alen) || !fn_id_valid(file, flen))
        return CM_EBADPATH;
    memcpy(out->account, path + 1, alen);
    out->account[alen] = '\0';
    memcpy(out->file, file, flen);
    out->file[flen] = '\0';
    return 0;
}
