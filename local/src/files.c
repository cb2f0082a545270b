/*
 * Whole-file reads and bootstrap lookup (see files.h).
 */
#include "files.h"
#include "common/buf.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int nl__slurp(const char *path, size_t max, char **out, size_t *len, char *err, size_t err_size)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, err_size, "%s", strerror(errno));
        return -1;
    }
    cm_buf_t b;
    cm_buf_init(&b, max);
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        int e = cm_buf_append(&b, chunk, n);
        if (e != 0) {
            snprintf(err, err_size, e == CM_ETOOBIG ? "larger than %zu bytes" : "out of memory", max);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, err_size, "%s", strerror(errno));
        rc = -1;
    }
    if (f != stdin)
        fclose(f);
    if (rc == 0) {
        *out = cm_buf_detach(&b, len);
        if (*out == NULL) {
            snprintf(err, err_size, "out of memory");
            rc = -1;
        }
    }
    cm_buf_dispose(&b);
    return rc;
}

int nl__resolve_bootstrap(const char *given, char **bootstrap, char **task_root, char **default_name, char *err,
                          size_t err_size)
{
    struct stat st;
    if (stat(given, &st) != 0) {
        snprintf(err, err_size,
                 "bootstrap '%.200s': %s (give the path of an executable bootstrap, or of a folder holding one "
                 "named 'bootstrap')",
                 given, strerror(errno));
        return -1;
    }
    char real[PATH_MAX];
    if (realpath(given, real) == NULL) {
        snprintf(err, err_size, "bootstrap '%.200s': %s", given, strerror(errno));
        return -1;
    }
    char path[PATH_MAX + 16], dir[PATH_MAX], base[PATH_MAX];
    snprintf(base, sizeof(base), "%s", real);
    if (S_ISDIR(st.st_mode)) {
        snprintf(path, sizeof(path), "%s/bootstrap", real);
        if (stat(path, &st) != 0) {
            snprintf(err, err_size,
                     "folder '%.200s' holds no 'bootstrap' (%s): put an executable named bootstrap in it, or give "
                     "the executable's path",
                     given, strerror(errno));
            return -1;
        }
        snprintf(dir, sizeof(dir), "%s", real);
    } else {
        snprintf(path, sizeof(path), "%s", real);
        snprintf(dir, sizeof(dir), "%s", real);
        char *d = dirname(dir);
        memmove(dir, d, strlen(d) + 1);
    }
    if (!S_ISREG(st.st_mode) || access(path, X_OK) != 0) {
        snprintf(err, err_size, "bootstrap '%.200s' is not an executable file: chmod +x it", path);
        return -1;
    }
    char *b = strdup(path), *t = strdup(dir), *n = strdup(basename(base));
    if (b == NULL || t == NULL || n == NULL) {
        free(b);
        free(t);
        free(n);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    *bootstrap = b;
    *task_root = t;
    *default_name = n;
    return 0;
}
