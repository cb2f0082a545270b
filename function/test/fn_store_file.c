/* Unit tests of store.c and store_file.c: URLs, conditional gets, missing objects, edits, racy files, caps;
 * links, folders, FIFOs and devices in an object's place (with openat2 and with the O_NOFOLLOW walk); reads
 * torn by a writer rewriting a file in place (a thread of this test). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "common/error.h"
#include "function/store.h"
#include "../src/store_internal.h"

static char root[256];

static void put(const char *rel, const char *text, int age_s)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    if (age_s > 0) {
        /* Move mtime back: ctime stays now, so the file is still racy for two seconds (tested below). */
        struct timespec ts[2];
        clock_gettime(CLOCK_REALTIME, &ts[0]);
        ts[0].tv_sec -= age_s;
        ts[1] = ts[0];
        utimensat(AT_FDCWD, path, ts, 0);
    }
}

static void test_open(void)
{
    static const struct {
        const char *url;
        int want;
    } cases[] = {
        {"", CM_ESCHEME},
        {"http://x/", CM_ESCHEME},
        {"/abs/without/scheme", CM_ESCHEME},
        {"file://relative/path", CM_ESCHEME},
        {"file://", CM_ESCHEME},
        {"file:///tmp/%2e%2e", CM_ESCHEME},
        {"file:///nonexistent-nearjs-store", CM_ESTORE},
        {"file:///etc/passwd", CM_ESTORE},
        {"file:///tmp", 0},
        {"file:///tmp/", 0},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        fn_store_t *s = (fn_store_t *)&cases; /* must stay untouched on failure */
        int got = fn_store_open(cases[i].url, &s);
        CHECK(got == cases[i].want, "'%s': got %d want %d", cases[i].url, got, cases[i].want);
        if (got == 0) {
            CHECK(strcmp(fn_store_url(s), cases[i].url) == 0, "url kept");
            fn_store_free(s);
        } else {
            CHECK(s == (fn_store_t *)&cases, "'%s': out untouched", cases[i].url);
        }
    }
    CHECK(fn_store_open(NULL, NULL) == CM_ESCHEME, "NULL url");
    fn_store_free(NULL);
}

/* S3 URLs: parsed at open, no network needed; a region is required. */
static void test_open_s3(void)
{
    static const struct {
        const char *url, *region;
        int want;
    } cases[] = {
        {"s3://bucket/prefix", NULL, CM_ESTORECONFIG},
        {"s3://bucket/prefix", "Bad Region", CM_ESTORECONFIG},
        {"s3://", "eu-west-1", CM_ESCHEME},
        {"s3://ab", "eu-west-1", CM_ESCHEME},
        {"s3://Bad_Bucket/x", "eu-west-1", CM_ESCHEME},
        {"s3://bucket/pre fix", "eu-west-1", CM_ESCHEME},
        {"s3://bucket/a/../b", "eu-west-1", CM_ESCHEME},
        {"s3://bucket/%2e", "eu-west-1", CM_ESCHEME},
        {"s3://bucket", "eu-west-1", 0},
        {"s3://bucket/", "eu-west-1", 0},
        {"s3://bucket/content/v1/", "eu-west-1", 0},
        {"s3://my.dotted.bucket/p", "us-east-1", 0},
    };
    unsetenv("AWS_DEFAULT_REGION");
    for (size_t i = 0; i < NCASES(cases); i++) {
        if (cases[i].region != NULL)
            setenv("AWS_REGION", cases[i].region, 1);
        else
            unsetenv("AWS_REGION");
        fn_store_t *s = NULL;
        int got = fn_store_open(cases[i].url, &s);
        CHECK(got == cases[i].want, "'%s' (region %s): got %d want %d", cases[i].url,
              cases[i].region ? cases[i].region : "unset", got, cases[i].want);
        fn_store_free(s);
    }
    unsetenv("AWS_REGION");
}

static void test_get(void)
{
    char url[300];
    snprintf(url, sizeof(url), "file://%s", root);
    fn_store_t *s = NULL;
    CHECK(fn_store_open(url, &s) == 0, "open %s", url);
    if (s == NULL)
        return;
    cm_buf_t body;
    cm_buf_init(&body, 64);
    fn_version_t v1, v2, none = {0};

    CHECK(fn_store_get(s, "missing.js", NULL, &body, &v1) == CM_ENOENT, "missing");
    CHECK(fn_store_get(s, "nodir/x.json", NULL, &body, &v1) == CM_ENOENT, "missing folder");
    CHECK(fn_store_get(s, "sub", NULL, &body, &v1) == CM_ENOENT, "a folder is not an object");

    put("a.json", "{\"v\":1}", 0);
    CHECK(fn_store_get(s, "a.json", NULL, &body, &v1) == 0 && strcmp(body.base, "{\"v\":1}") == 0, "read");
    CHECK(v1.len == 0, "a file changed just now gets no version (racy)");
    CHECK(fn_store_get(s, "a.json", &v1, &body, &v2) == 0, "so it is read again");

    /* An old file: versioned, and a second get with that version is answered unchanged. */
    put("old.json", "{\"v\":2}", 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/old.json", root);
    /* ctime cannot be set back, so wait out the racy window once for this file. */
    sleep(2);
    CHECK(fn_store_get(s, "old.json", NULL, &body, &v1) == 0 && v1.len > 0, "versioned");
    cm_buf_reset(&body);
    cm_buf_append(&body, "keep", 4);
    CHECK(fn_store_get(s, "old.json", &v1, &body, &v2) == CM_ENOTMODIFIED, "unchanged");
    CHECK(strcmp(body.base, "keep") == 0, "unchanged leaves body alone");
    CHECK(fn_store_get(s, "old.json", &none, &body, &v2) == 0 && fn_version_eq(&v1, &v2), "no version: read");
    /* Same size, mtime put back to the old value: ctime still tells. */
    struct stat st;
    stat(path, &st);
    put("old.json", "{\"v\":3}", 0);
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    utimensat(AT_FDCWD, path, ts, 0);
    CHECK(fn_store_get(s, "old.json", &v1, &body, &v2) == 0 && strcmp(body.base, "{\"v\":3}") == 0,
          "same size and mtime, new content: seen");
    /* Deleted: not found, even with a version held. */
    unlink(path);
    CHECK(fn_store_get(s, "old.json", &v1, &body, &v2) == CM_ENOENT, "deleted");

    /* Caps: the body's max bounds the read. */
    put("big.json", "0123456789012345678901234567890123456789012345678901234567890123456789", 0);
    CHECK(fn_store_get(s, "big.json", NULL, &body, &v2) == CM_ETOOBIG && strstr(fn_store_cause(s), "cap") != NULL,
          "over the cap: %s", fn_store_cause(s));

    /* Unreadable: the store failing, with a cause naming the object (root ignores modes: skip then). */
    put("secret.json", "{}", 0);
    snprintf(path, sizeof(path), "%s/secret.json", root);
    chmod(path, 0);
    if (geteuid() != 0) {
        CHECK(fn_store_get(s, "secret.json", NULL, &body, &v2) == CM_ESTORE, "unreadable");
        CHECK(strstr(fn_store_cause(s), "secret.json") != NULL, "cause names it: %s", fn_store_cause(s));
    }
    cm_buf_dispose(&body);
    fn_store_free(s);
}

static void mkpath(const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    mkdir(path, 0755);
}

static void link_at(const char *target, const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    if (symlink(target, path) != 0)
        CHECK(0, "symlink %s: %s", rel, strerror(errno));
}

/* Nothing outside the root, no link followed (inside or out), and nothing but regular files: each a 404
 * whose cause names what is in the way, while plain files around them are served. */
static void test_beneath(int walk_only)
{
    char outside[] = "/tmp/fn-store-out-XXXXXX";
    if (mkdtemp(outside) == NULL)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/leak.json", outside);
    FILE *f = fopen(path, "w");
    fputs("{\"secret\":1}", f);
    fclose(f);
    mkpath("b");
    mkpath("b/accounts");
    mkpath("b/accounts/acme");
    mkpath("b/accounts/acme/dir.json");
    put("b/accounts/acme/ok.json", "{\"ok\":1}", 0);
    put("b/accounts/plain", "x", 0);
    link_at(outside, "b/accounts/evil");
    link_at(path, "b/accounts/acme/abs.json");
    link_at("ok.json", "b/accounts/acme/inside.json");
    link_at("acme", "b/accounts/alias");
    char fifo[512];
    snprintf(fifo, sizeof(fifo), "%s/b/accounts/acme/fifo.json", root);
    CHECK(mkfifo(fifo, 0644) == 0, "mkfifo");
    char url[300];
    snprintf(url, sizeof(url), "file://%s/b", root);
    fn_store_t *s = NULL;
    CHECK(fn_store_open(url, &s) == 0, "open %s", url);
    if (s == NULL)
        return;
    if (walk_only)
        fn__store_file_walk_only(s);
    static const struct {
        const char *key;
        int want;
        const char *cause; /* a piece of the cause, "" for none */
    } cases[] = {
        {"accounts/evil/leak.json", CM_ENOENT, "accounts/evil: a symbolic link"},
        {"accounts/acme/abs.json", CM_ENOENT, "accounts/acme/abs.json: a symbolic link"},
        {"accounts/acme/inside.json", CM_ENOENT, "symbolic link"},
        {"accounts/alias/ok.json", CM_ENOENT, "accounts/alias: a symbolic link"},
        {"accounts/acme/dir.json", CM_ENOENT, "a folder where a file should be"},
        {"accounts/acme/fifo.json", CM_ENOENT, "a FIFO where a file should be"},
        {"accounts/plain/x.json", CM_ENOENT, "accounts/plain: a file where a folder should be"},
        {"accounts/acme/missing.json", CM_ENOENT, ""},
        {"accounts/nobody/x.json", CM_ENOENT, ""},
        {"accounts/acme/ok.json", 0, ""},
    };
    cm_buf_t body;
    cm_buf_init(&body, 1024);
    for (size_t i = 0; i < NCASES(cases); i++) {
        fn_version_t v;
        cm_buf_reset(&body);
        int got = fn_store_get(s, cases[i].key, NULL, &body, &v);
        const char *cause = fn_store_cause(s);
        CHECK(got == cases[i].want, "%s %s: got %d want %d (%s)", walk_only ? "walk" : "openat2", cases[i].key, got,
              cases[i].want, cause);
        CHECK(cases[i].cause[0] == '\0' ? cause[0] == '\0' : strstr(cause, cases[i].cause) != NULL,
              "%s %s: cause '%s', want '%s'", walk_only ? "walk" : "openat2", cases[i].key, cause, cases[i].cause);
        CHECK(body.len == 0 || strstr(body.base, "secret") == NULL, "%s: nothing from outside", cases[i].key);
    }
    CHECK(strcmp(body.base, "{\"ok\":1}") == 0, "the plain file is served");
    /* A device (root only: mknod). */
    char dev[512];
    snprintf(dev, sizeof(dev), "%s/b/accounts/acme/dev.json", root);
    if (mknod(dev, S_IFCHR | 0644, makedev(1, 3)) == 0) {
        fn_version_t v;
        CHECK(fn_store_get(s, "accounts/acme/dev.json", NULL, &body, &v) == CM_ENOENT &&
                  strstr(fn_store_cause(s), "a device") != NULL,
              "a device: %s", fn_store_cause(s));
    }
    cm_buf_dispose(&body);
    fn_store_free(s);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s/b'", outside, root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", outside);
}

/* A writer rewriting a file in place (truncate, then one write), as `cat new >file` or an editor without
 * a temporary file does, alternating two contents, against a reader: every read served must be one of the
 * two whole contents; a read that keeps racing is CM_ESTORE with a cause saying so, never a torn body. */
#define TORN_SIZE (192 * 1024)
/* sizes off page boundaries, as most files are: only states mid-write are page-aligned */
static char content_a[TORN_SIZE + 7], content_b[TORN_SIZE / 2 + 3];
static volatile int writer_stop;

static void *writer(void *arg)
{
    const char *path = arg;
    for (unsigned long i = 0; !writer_stop; i++) {
        int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0)
            break;
        const char *c = i % 2 ? content_b : content_a;
        size_t n = i % 2 ? sizeof(content_b) : sizeof(content_a);
        ssize_t w = write(fd, c, n);
        close(fd);
        if (w != (ssize_t)n)
            break;
        /* a pause between rewrites (longer than the store's 20 ms settling time), so that whole reads exist */
        struct timespec pause = {0, 25 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void test_torn(void)
{
    memset(content_a, 'a', sizeof(content_a));
    memset(content_b, 'b', sizeof(content_b));
    char path[512];
    snprintf(path, sizeof(path), "%s/torn.json", root);
    put("torn.json", "", 0);
    char url[300];
    snprintf(url, sizeof(url), "file://%s", root);
    fn_store_t *s = NULL;
    CHECK(fn_store_open(url, &s) == 0, "open %s", url);
    if (s == NULL)
        return;
    cm_buf_t body;
    cm_buf_init(&body, 1024 * 1024);
    writer_stop = 0;
    pthread_t t;
    if (pthread_create(&t, NULL, writer, path) != 0) {
        CHECK(0, "pthread_create");
        return;
    }
    int whole = 0, busy = 0, torn = 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        fn_version_t v;
        int err = fn_store_get(s, "torn.json", NULL, &body, &v);
        if (err == 0 && ((body.len == sizeof(content_a) && memcmp(body.base, content_a, body.len) == 0) ||
                         (body.len == sizeof(content_b) && memcmp(body.base, content_b, body.len) == 0)))
            whole++;
        else if (err == CM_ESTORE && strstr(fn_store_cause(s), "changed while being read") != NULL)
            busy++;
        else if (torn++ == 0)
            fprintf(stderr, "torn read: err %d, %zu bytes (%s)\n", err, body.len, fn_store_cause(s));
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - start.tv_sec < 3);
    writer_stop = 1;
    pthread_join(t, NULL);
    printf("torn-read test: %d whole, %d refused as changing, %d torn\n", whole, busy, torn);
    CHECK(torn == 0, "%d torn reads served (of %d)", torn, whole + busy + torn);
    CHECK(whole > 0, "no whole read at all in 3 s");
    cm_buf_dispose(&body);
    fn_store_free(s);
}

int main(void)
{
    snprintf(root, sizeof(root), "/tmp/fn-store-XXXXXX");
    if (mkdtemp(root) == NULL)
        return 1;
    char sub[300];
    snprintf(sub, sizeof(sub), "%s/sub", root);
    mkdir(sub, 0755);
    test_open();
    test_open_s3();
    test_get();
    test_beneath(0);
    test_beneath(1);
    test_torn();
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return check_done("fn_store_file");
}
