/* Unit tests of store.c and store_file.c: URLs, conditional gets, missing objects, edits, racy files, caps. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "function/errno.h"
#include "function/store.h"

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
        {"", FN_ESCHEME},
        {"http://x/", FN_ESCHEME},
        {"/abs/without/scheme", FN_ESCHEME},
        {"file://relative/path", FN_ESCHEME},
        {"file://", FN_ESCHEME},
        {"file:///tmp/%2e%2e", FN_ESCHEME},
        {"file:///nonexistent-nearjs-store", FN_ESTORE},
        {"file:///etc/passwd", FN_ESTORE},
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
    CHECK(fn_store_open(NULL, NULL) == FN_ESCHEME, "NULL url");
    fn_store_free(NULL);
}

/* S3 URLs: parsed at open, no network needed; a region is required. */
static void test_open_s3(void)
{
    static const struct {
        const char *url, *region;
        int want;
    } cases[] = {
        {"s3://bucket/prefix", NULL, FN_ECONFIG},
        {"s3://bucket/prefix", "Bad Region", FN_ECONFIG},
        {"s3://", "eu-west-1", FN_ESCHEME},
        {"s3://ab", "eu-west-1", FN_ESCHEME},
        {"s3://Bad_Bucket/x", "eu-west-1", FN_ESCHEME},
        {"s3://bucket/pre fix", "eu-west-1", FN_ESCHEME},
        {"s3://bucket/a/../b", "eu-west-1", FN_ESCHEME},
        {"s3://bucket/%2e", "eu-west-1", FN_ESCHEME},
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

    CHECK(fn_store_get(s, "missing.js", NULL, &body, &v1) == FN_ENOTFOUND, "missing");
    CHECK(fn_store_get(s, "nodir/x.json", NULL, &body, &v1) == FN_ENOTFOUND, "missing folder");
    CHECK(fn_store_get(s, "sub", NULL, &body, &v1) == FN_ENOTFOUND, "a folder is not an object");

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
    CHECK(fn_store_get(s, "old.json", &v1, &body, &v2) == FN_ENOTMODIFIED, "unchanged");
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
    CHECK(fn_store_get(s, "old.json", &v1, &body, &v2) == FN_ENOTFOUND, "deleted");

    /* Caps: the body's max bounds the read. */
    put("big.json", "0123456789012345678901234567890123456789012345678901234567890123456789", 0);
    CHECK(fn_store_get(s, "big.json", NULL, &body, &v2) == FN_ETOOBIG && strstr(fn_store_cause(s), "cap") != NULL,
          "over the cap: %s", fn_store_cause(s));

    /* Unreadable: the store failing, with a cause naming the object (root ignores modes: skip then). */
    put("secret.json", "{}", 0);
    snprintf(path, sizeof(path), "%s/secret.json", root);
    chmod(path, 0);
    if (geteuid() != 0) {
        CHECK(fn_store_get(s, "secret.json", NULL, &body, &v2) == FN_ESTORE, "unreadable");
        CHECK(strstr(fn_store_cause(s), "secret.json") != NULL, "cause names it: %s", fn_store_cause(s));
    }
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
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return check_done("fn_store_file");
}
