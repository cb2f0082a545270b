/*
 * store_file.c: the folder store (file:///abs/path). An object is the file <root>/<key>.
 * Version = dev, inode, size, mtime and ctime (ns): an edit in place changes mtime and ctime, a
 * replacement by rename changes the inode, and ctime cannot be set back by tools (cp -p, rsync -t).
 * Racy files: a filesystem stamps times from a coarse clock, so two edits within one tick can leave
 * equal times; a file whose ctime is within FN__RACY_NS of now gets no version (len 0), so it is
 * re-read on every request until it is old enough to be trusted (git's "racy git" rule).
 * The version comes from fstat() of the open file before reading: the bytes are never older than it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "function/errno.h"
#include "store_internal.h"
#include "errno_internal.h"

#define FN__RACY_NS (2LL * 1000000000LL)

typedef struct file_store {
    fn_store_t base;
    /* The folder's path, resolved on every call (not an fd held open), so a folder swapped by rename
     * (an atomic deploy) is seen on the next request. */
    char *root;
} file_store_t;

static void set_cause(fn_store_t *s, const char *op, const char *key, int err)
{
    char text[128];
    snprintf(s->cause, sizeof(s->cause), "%s %s: %s", op, key, strerror_r(err, text, sizeof(text)));
}

static long long ns_of(const struct timespec *t)
{
    return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static void version_of(const struct stat *st, fn_version_t *v)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long ctime_ns = ns_of(&st->st_ctim);
    v->len = 0;
    v->tag[0] = '\0';
    if (ns_of(&now) - ctime_ns < FN__RACY_NS)
        return;
    int n = snprintf(v->tag, sizeof(v->tag), "%llx:%llx:%llx:%llx:%llx", (unsigned long long)st->st_dev,
                     (unsigned long long)st->st_ino, (unsigned long long)st->st_size,
                     (unsigned long long)ns_of(&st->st_mtim), (unsigned long long)ctime_ns);
    if (n > 0 && (size_t)n < sizeof(v->tag))
        v->len = (size_t)n;
}

/* Maps a failed open/stat errno: missing means 404; anything else is the store failing. */
static int fail(fn_store_t *s, const char *op, const char *key, int err)
{
    if (err == ENOENT || err == ENOTDIR)
        return FN_ENOTFOUND;
    set_cause(s, op, key, err);
    return FN_ESTORE;
}

static int file_get(fn_store_t *s, const char *key, const fn_version_t *have, cm_buf_t *body, fn_version_t *now)
{
    file_store_t *fs = (file_store_t *)s;
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s", fs->root, key);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        set_cause(s, "path", key, ENAMETOOLONG);
        return FN_ESTORE;
    }
    struct stat st;
    if (have != NULL && have->len > 0) {
        /* The warm path: one stat(), no open, no read. */
        if (stat(path, &st) != 0)
            return fail(s, "stat", key, errno);
        fn_version_t cur;
        version_of(&st, &cur);
        if (S_ISREG(st.st_mode) && fn_version_eq(have, &cur))
            return FN_ENOTMODIFIED;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return fail(s, "open", key, errno);
    int err = 0;
    if (fstat(fd, &st) != 0) {
        err = fail(s, "fstat", key, errno);
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        /* A folder or a device where a file should be: no such object, never its bytes. */
        err = FN_ENOTFOUND;
        goto done;
    }
    if ((unsigned long long)st.st_size > body->max) {
        snprintf(s->cause, sizeof(s->cause), "%s: %lld bytes, over the %zu-byte cap", key, (long long)st.st_size,
                 body->max);
        err = FN_ETOOBIG;
        goto done;
    }
    version_of(&st, now);
    cm_buf_reset(body);
    /* Read to EOF, not to st_size: a file growing meanwhile is caught by the cap, never truncated silently. */
    for (;;) {
        err = fn__errno_from_cm(
            cm_buf_reserve(body, 64 * 1024 < body->max - body->len ? 64 * 1024 : body->max - body->len));
        if (err != 0)
            break;
        size_t room = body->alloc - body->len - 1;
        if (room == 0) {
            char probe;
            ssize_t r = read(fd, &probe, 1);
            if (r > 0) {
                snprintf(s->cause, sizeof(s->cause), "%s: grew over the %zu-byte cap", key, body->max);
                err = FN_ETOOBIG;
            } else if (r < 0) {
                err = fail(s, "read", key, errno);
            }
            break;
        }
        ssize_t r = read(fd, body->base + body->len, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = fail(s, "read", key, errno);
            break;
        }
        if (r == 0)
            break;
        body->len += (size_t)r;
        body->base[body->len] = '\0';
    }
done:
    close(fd);
    return err;
}

static void file_free(fn_store_t *s)
{
    file_store_t *fs = (file_store_t *)s;
    free(fs->root);
    free(s->url);
    free(fs);
}

static const fn__store_ops_t file_ops = {file_get, NULL, file_free};

int fn__store_file_open(const char *url, const char *path, fn_store_t **out)
{
    /* Only file:///abs: a host part (file://host/...) or a relative path would be guesswork. */
    if (path[0] != '/' || strchr(path, '%') != NULL)
        return FN_ESCHEME;
    file_store_t *fs = calloc(1, sizeof(*fs));
    if (fs == NULL)
        return FN_ENOMEM;
    fs->base.ops = &file_ops;
    fs->base.url = strdup(url);
    fs->root = strdup(path);
    /* Trailing slashes would double up in "<root>/<key>": harmless, but keep logged paths clean. */
    size_t len = fs->root != NULL ? strlen(fs->root) : 0;
    while (len > 1 && fs->root[len - 1] == '/')
        fs->root[--len] = '\0';
    struct stat st;
    int err = 0;
    if (fs->base.url == NULL || fs->root == NULL)
        err = FN_ENOMEM;
    else if (stat(fs->root, &st) != 0 || !S_ISDIR(st.st_mode))
        err = FN_ESTORE;
    if (err != 0) {
        free(fs->root);
        free(fs->base.url);
        free(fs);
        return err;
    }
    *out = &fs->base;
    return 0;
}
