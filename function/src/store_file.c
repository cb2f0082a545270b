/*
 * store_file.c: the folder store (file:///abs/path). An object is the file <root>/<key>.
 * Version = dev, inode, size, mtime and ctime (ns): an edit in place changes mtime and ctime, a
 * replacement by rename changes the inode, and ctime cannot be set back by tools (cp -p, rsync -t).
 * Racy files: a filesystem stamps times from a coarse clock, so two edits within one tick can leave
 * equal times; a file whose ctime is within FN__RACY_NS of now gets no version (len 0), so it is
 * re-read on every request until it is old enough to be trusted (git's "racy git" rule).
 * The version comes from fstat() of the open file before reading: the bytes are never older than it.
 *
 * Invariants:
 * - Nothing outside the root is opened: the key is resolved beneath the root with no symbolic link
 *   followed (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS; where openat2 is missing or refused by a
 *   seccomp filter, one openat(O_NOFOLLOW) per component). A store holds plain files and folders, as S3
 *   does: a link, even one that stays inside, is no object (404, logged).
 * - Only regular files are read (opened O_NONBLOCK, so a FIFO never blocks); a folder, FIFO or device in
 *   an object's place is no object (404, logged).
 * - No torn read is returned: the file's fstat() before and after the read must agree (size, times,
 *   identity) and the bytes read must be its size; an empty file changed just now counts as being
 *   written (a truncate-then-write caught between the two), and a page-aligned file modified less than
 *   FN__SETTLE_NS ago is read again once that time is up (a write() sets mtime as it starts, and a writer
 *   descheduled mid-copy leaves a short, page-aligned file that holds still). A read that keeps failing this is retried
 * a few times, then the store is failing for this request (503). A writer that pauses longer than that between its own
 * write() calls cannot be told from a finished one: stores must be written by rename.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "common/error.h"
#include "store_internal.h"

#define FN__RACY_NS (2LL * 1000000000LL)
/* A file modified less than this long ago, with a size at a page boundary, may be in the middle of a
 * write() from offset 0: mtime is set as the write starts and the size grows a page (folio) at a time, so a
 * writer descheduled mid-copy leaves a page-aligned short file that holds still. Other sizes are not waited
 * for, so a file just put in place by rename (any size) costs no wait but one time in 4096. */
#define FN__SETTLE_NS (20LL * 1000000LL)
#define FN__PAGE 4096
/* Reads of a file that changed under them (or was still settling), before the request gets a 503. */
#define FN__READ_ATTEMPTS 4

typedef struct file_store {
    fn_store_t base;
    /* The folder's path, resolved on every call (not an fd held open), so a folder swapped by rename
     * (an atomic deploy) is seen on the next request. */
    char *root;
    int no_openat2; /* openat2 answered ENOSYS or EPERM once: walk the components instead */
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

static long long now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return ns_of(&now);
}

static int is_racy(const struct stat *st)
{
    return now_ns() - ns_of(&st->st_ctim) < FN__RACY_NS;
}

/* How long until a file that may be mid-write has settled: 0 when it has, when its size is not at a page
 * boundary, or when mtime is in the future (which waiting would not change). */
static long long settle_left_ns(const struct stat *st)
{
    if (st->st_size == 0 || st->st_size % FN__PAGE != 0)
        return 0;
    long long age = now_ns() - ns_of(&st->st_mtim);
    return age >= 0 && age < FN__SETTLE_NS ? FN__SETTLE_NS - age : 0;
}

static void version_of(const struct stat *st, fn_version_t *v)
{
    v->len = 0;
    v->tag[0] = '\0';
    if (is_racy(st))
        return;
    int n = snprintf(v->tag, sizeof(v->tag), "%llx:%llx:%llx:%llx:%llx", (unsigned long long)st->st_dev,
                     (unsigned long long)st->st_ino, (unsigned long long)st->st_size,
                     (unsigned long long)ns_of(&st->st_mtim), (unsigned long long)ns_of(&st->st_ctim));
    if (n > 0 && (size_t)n < sizeof(v->tag))
        v->len = (size_t)n;
}

/* Maps a failed open/stat errno: missing means 404; anything else is the store failing. */
static int fail(fn_store_t *s, const char *op, const char *key, int err)
{
    if (err == ENOENT || err == ENOTDIR)
        return CM_ENOENT;
    set_cause(s, op, key, err);
    return CM_ESTORE;
}

/* Something is in the object's place that is not one: 404, with a cause for the log. */
static int not_an_object(fn_store_t *s, const char *key, const char *what)
{
    snprintf(s->cause, sizeof(s->cause), "%.128s: %s where a file should be (not served)", key, what);
    return CM_ENOENT;
}

static const char *kind_of(mode_t mode)
{
    if (S_ISLNK(mode))
        return "a symbolic link (a store holds plain files and folders only)";
    if (S_ISDIR(mode))
        return "a folder";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

/* After an open failed with ELOOP or ENOTDIR: which component of key under root is in the way. Sets the
 * cause and returns CM_ENOENT when one is a link or not a folder, else the plain mapping of err. */
static int classify(fn_store_t *s, int root, const char *key, int err)
{
    char part[512];
    size_t n = strlen(key);
    if (n >= sizeof(part))
        return fail(s, "open", key, err);
    memcpy(part, key, n + 1);
    for (char *slash = part;; slash++) {
        slash = strchr(slash, '/');
        if (slash != NULL)
            *slash = '\0';
        struct stat st;
        if (fstatat(root, part, &st, AT_SYMLINK_NOFOLLOW) != 0)
            break;
        if (S_ISLNK(st.st_mode))
            return not_an_object(s, part, kind_of(st.st_mode));
        if (slash == NULL)
            break;
        if (!S_ISDIR(st.st_mode)) {
            snprintf(s->cause, sizeof(s->cause), "%.128s: %s where a folder should be (not served)", part,
                     S_ISREG(st.st_mode) ? "a file" : kind_of(st.st_mode));
            return CM_ENOENT;
        }
        *slash = '/';
    }
    return fail(s, "open", key, err);
}

/* openat() of each component with O_NOFOLLOW: the walk for kernels without openat2 (before 5.6). */
static int open_walk(int root, const char *key, int flags)
{
    char part[512];
    size_t n = strlen(key);
    if (n >= sizeof(part)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(part, key, n + 1);
    int dir = root;
    char *name = part;
    for (char *slash; (slash = strchr(name, '/')) != NULL; name = slash + 1) {
        *slash = '\0';
        int next = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        if (dir != root)
            close(dir);
        if (next < 0) {
            errno = saved;
            return -1;
        }
        dir = next;
    }
    int fd = openat(dir, name, flags | O_NOFOLLOW);
    int saved = errno;
    if (dir != root)
        close(dir);
    errno = saved;
    return fd;
}

/* Opens key for reading beneath the root, following no link. Returns an fd, or FN_E* after setting the
 * cause where there is one to log. */
static int open_beneath(file_store_t *fs, const char *key)
{
    fn_store_t *s = &fs->base;
    int root = open(fs->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
        set_cause(s, "open", fs->root, errno);
        return CM_ESTORE;
    }
    const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    int fd = -1;
    if (!fs->no_openat2) {
        struct open_how how = {
            .flags = (unsigned long long)flags,
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        fd = (int)syscall(SYS_openat2, root, key, &how, sizeof(how));
        /* ENOSYS: a kernel before 5.6; EPERM: a seccomp filter that does not know it. */
        if (fd < 0 && (errno == ENOSYS || errno == EPERM))
            fs->no_openat2 = 1;
    }
    if (fs->no_openat2)
        fd = open_walk(root, key, flags);
    int err = 0;
    if (fd < 0)
        err = errno == ELOOP || errno == ENOTDIR || errno == EXDEV ? classify(s, root, key, errno)
                                                                   : fail(s, "open", key, errno);
    close(root);
    return fd >= 0 ? fd : err;
}

/* Reads fd to EOF into body (cleared first), capped by body->max. */
static int read_all(fn_store_t *s, const char *key, int fd, cm_buf_t *body)
{
    cm_buf_reset(body);
    /* Read to EOF, not to st_size: a file growing meanwhile is caught by the cap, never truncated silently. */
    for (;;) {
        int err = cm_buf_reserve(body, 64 * 1024 < body->max - body->len ? 64 * 1024 : body->max - body->len);
        if (err != 0)
            return err;
        size_t room = body->alloc - body->len - 1;
        if (room == 0) {
            char probe;
            ssize_t r = read(fd, &probe, 1);
            if (r > 0) {
                snprintf(s->cause, sizeof(s->cause), "%s: grew over the %zu-byte cap", key, body->max);
                return CM_ETOOBIG;
            }
            return r < 0 ? fail(s, "read", key, errno) : 0;
        }
        ssize_t r = read(fd, body->base + body->len, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return fail(s, "read", key, errno);
        if (r == 0)
            return 0;
        body->len += (size_t)r;
        body->base[body->len] = '\0';
    }
}

static int same_state(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           ns_of(&a->st_mtim) == ns_of(&b->st_mtim) && ns_of(&a->st_ctim) == ns_of(&b->st_ctim);
}

/* One read of key. Returns 0 with *wait_ns > 0 when the read cannot be trusted (the file changed during it,
 * or was modified so recently that a write may still be under way): read again after that long. */
static int read_once(file_store_t *fs, const char *key, cm_buf_t *body, fn_version_t *now, long long *wait_ns)
{
    fn_store_t *s = &fs->base;
    *wait_ns = 0;
    int fd = open_beneath(fs, key);
    if (fd < 0)
        return fd;
    struct stat before, after;
    int err = 0;
    if (fstat(fd, &before) != 0) {
        err = fail(s, "fstat", key, errno);
    } else if (!S_ISREG(before.st_mode)) {
        err = not_an_object(s, key, kind_of(before.st_mode));
    } else if ((unsigned long long)before.st_size > body->max) {
        snprintf(s->cause, sizeof(s->cause), "%s: %lld bytes, over the %zu-byte cap", key, (long long)before.st_size,
                 body->max);
        err = CM_ETOOBIG;
    } else {
        err = read_all(s, key, fd, body);
        if (err == 0 && fstat(fd, &after) != 0)
            err = fail(s, "fstat", key, errno);
    }
    close(fd);
    if (err != 0)
        return err;
    /* An empty file changed just now: most likely truncated by a writer that has not written yet. */
    int raced = !same_state(&before, &after) || body->len != (size_t)before.st_size ||
                (before.st_size == 0 && is_racy(&before));
    *wait_ns = settle_left_ns(&after);
    if (raced && *wait_ns < 1000000)
        *wait_ns = 1000000;
    version_of(&before, now);
    return 0;
}

static int file_get(fn_store_t *s, const char *key, const fn_version_t *have, cm_buf_t *body, fn_version_t *now)
{
    file_store_t *fs = (file_store_t *)s;
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s", fs->root, key);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        set_cause(s, "path", key, ENAMETOOLONG);
        return CM_ESTORE;
    }
    if (have != NULL && have->len > 0) {
        /* The warm path: one stat(), no open, no read. A version is only ever made by open_beneath's reads,
         * and a link in the path leads to another inode than the one it names: no match, so a full get. */
        struct stat st;
        fn_version_t cur;
        /* A failed stat goes the full way, which tells a missing object from a missing store. */
        if (stat(path, &st) == 0) {
            version_of(&st, &cur);
            if (S_ISREG(st.st_mode) && fn_version_eq(have, &cur))
                return CM_ENOTMODIFIED;
        }
    }
    for (int attempt = 1;; attempt++) {
        long long wait_ns;
        int err = read_once(fs, key, body, now, &wait_ns);
        if (err != 0 || wait_ns == 0)
            return err;
        if (attempt == FN__READ_ATTEMPTS) {
            snprintf(s->cause, sizeof(s->cause),
                     "%s: changed while being read, %d times in a row (written in place? write a temporary "
                     "file and rename it over)",
                     key, FN__READ_ATTEMPTS);
            return CM_ESTORE;
        }
        struct timespec pause = {0, (long)wait_ns};
        nanosleep(&pause, NULL);
    }
}

void fn__store_file_walk_only(fn_store_t *s)
{
    ((file_store_t *)s)->no_openat2 = 1;
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
        return CM_ESCHEME;
    file_store_t *fs = calloc(1, sizeof(*fs));
    if (fs == NULL)
        return CM_ENOMEM;
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
        err = CM_ENOMEM;
    else if (stat(fs->root, &st) != 0 || !S_ISDIR(st.st_mode))
        err = CM_ESTORE;
    if (err != 0) {
        free(fs->root);
        free(fs->base.url);
        free(fs);
        return err;
    }
    *out = &fs->base;
    return 0;
}
