/*
 * function/path.h: the strict request path grammar, checked before any store is touched:
 *     "/" id "/" id ".js"      id = 1*64 ( ALPHA / DIGIT / "_" / "-" )
 * Nothing else passes: no dot segments, no percent-encoding at all, no NUL, no trailing slash, no query.
 */
#ifndef NEARJS_FUNCTION_PATH_H
#define NEARJS_FUNCTION_PATH_H

#include <stddef.h>

#define FN_ID_MAX 64
/* The longest valid path: "/" + 64 + "/" + 64 + ".js". */
#define FN_PATH_MAX (1 + FN_ID_MAX + 1 + FN_ID_MAX + 3)

typedef struct fn_path {
    char account[FN_ID_MAX + 1]; /* NUL-terminated, validated */
    char file[FN_ID_MAX + 1];    /* without ".js" */
} fn_path_t;

/* Returns 1 when the len bytes at id are a valid id (1-64 of [A-Za-z0-9_-]), else 0. */
int fn_id_valid(const char *id, size_t len);

/*
 * Parses len bytes of path (may contain NUL; never read past len). Returns 0 and fills out, or
 * CM_EBADPATH and leaves out unchanged.
 */
int fn_path_parse(const char *path, size_t len, fn_path_t *out);

#endif
