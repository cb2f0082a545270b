/*
 * fn_bench.c: handler CPU per request, in process: fn_handler_handle() on built payload 2.0 events,
 * timed with CLOCK_THREAD_CPUTIME_ID around the call only (content edits between calls are not
 * counted). Rows: store (folder, s3) x script (2 KB, 100 KB, 100 KB of which half is config) x
 * encoding (identity, gzip) x state:
 *   warm     the same script again (nothing changed in the store);
 *   config   the account's config changed before every request (the customer's edit);
 *   loader   the shared loader changed before every request (a deploy; every account re-renders).
 * Content is pseudo-minified JavaScript from a fixed PRNG seed (gzip ratio near real minified JS) and a
 * config with strings that need escaping (</script>, &, U+2028, non-ASCII).
 * The S3 rows need moto: -e http://127.0.0.1:PORT (objects are PUT there unsigned, path-style); with -l
 * MOTO_LOG the requests moto logged during the warm rows are counted per request. -r RELAY_ENDPOINT: the
 * handler reads through that endpoint instead (a relay adding a known latency: tests/function/delay_relay.py),
 * while the bench still writes to -e directly; a warm row's wall time over the delay is its round trips.
 * Usage: fn_bench -d DIR [-e S3_ENDPOINT [-r RELAY_ENDPOINT] [-l MOTO_LOG]] [-n WARM_N] [-c CHANGED_N] [-o
 * ROW_SUBSTRING] Prints one line per row: store script enc state median_us p99_us renders/req gzips/req wall_us
 * [s3_req/req].
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "common/buf.h"
#include "common/error.h"
#include "function/handler.h"

#define BUCKET "nearjs-bench"

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Appends pseudo-minified JavaScript to b until it holds n bytes (a vocabulary of names, like real code). */
static void gen_js(cm_buf_t *b, size_t n)
{
    static const char *kw[] = {"function ", "var ",    "return ", "if(",      "else ", "for(var ",
                               "this.",     "typeof ", "new ",    "null",     "true",  "false",
                               "document.", "window.", ".length", "prototype"};
    char names[64][8];
    for (int i = 0; i < 64; i++) {
        int len = 1 + (int)(next_rand() % 5);
        for (int j = 0; j < len; j++)
            names[i][j] = (char)("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ_$"[next_rand() % 38]);
        names[i][len] = '\0';
    }
    static const char *punct[] = {"(", ")", "{", "}", ";", ",", "=", "==", "+", "-", "*", "?", ":", ".", "&&", "||"};
    cm_buf_reset(b);
    while (b->len < n) {
        char tok[32];
        uint64_t r = next_rand() % 100;
        if (r < 35)
            snprintf(tok, sizeof(tok), "%s", names[next_rand() % 64]);
        else if (r < 50)
            snprintf(tok, sizeof(tok), "%s", kw[next_rand() % 16]);
        else if (r < 60)
            snprintf(tok, sizeof(tok), "%u", (unsigned)(next_rand() % 4096));
        else if (r < 64)
            snprintf(tok, sizeof(tok), "\"%s-%s\"", names[next_rand() % 64], names[next_rand() % 64]);
        else
            snprintf(tok, sizeof(tok), "%s", punct[next_rand() % 16]);
        cm_buf_append(b, tok, strlen(tok));
    }
    b->len = n;
    b->base[n] = '\0';
}

/* A loader of n bytes: JavaScript around the placeholder. */
static void gen_loader(cm_buf_t *b, size_t n, int variant)
{
    cm_buf_t js;
    cm_buf_init(&js, 64u << 20);
    gen_js(&js, n > 64 ? n - 64 : 1);
    size_t half = js.len / 2;
    cm_buf_reset(b);
    char head[64];
    snprintf(head, sizeof(head), "/*v%d*/", variant);
    cm_buf_append(b, head, strlen(head));
    cm_buf_append(b, js.base, half);
    cm_buf_append(b, ";start(__NEARJS_CONFIG__);", 26);
    cm_buf_append(b, js.base + half, js.len - half);
    cm_buf_dispose(&js);
}

/* A config object of about n bytes whose strings need escaping. */
static void gen_config(cm_buf_t *b, size_t n, int variant)
{
    cm_buf_reset(b);
    char item[256];
    snprintf(item, sizeof(item), "{\"account\":\"bench\",\"variant\":%d,\"items\":[", variant);
    cm_buf_append(b, item, strlen(item));
    for (int i = 0; b->len + 140 < n; i++) {
        snprintf(item, sizeof(item),
                 "%s{\"id\":%d,\"title\":\"Item %d </script> & caf\xc3\xa9 \xe2\x80\xa8\",\"price\":%d.%02d,"
                 "\"url\":\"https://shop.example.com/p/%d\",\"tags\":[\"a\",\"b%d\"]}",
                 i ? "," : "", i, i, (int)(next_rand() % 500), (int)(next_rand() % 100), i, i % 7);
        cm_buf_append(b, item, strlen(item));
    }
    cm_buf_append(b, "]}", 2);
}

static int write_file(const char *dir, const char *rel, const cm_buf_t *b)
{
    char path[1024], tmp[1100];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (f == NULL || fwrite(b->base, 1, b->len, f) != b->len || fclose(f) != 0) {
        fprintf(stderr, "fn_bench: write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    return rename(tmp, path);
}

/* Keeps the first bytes of an answer, for the error message. */
static size_t keep(char *p, size_t size, size_t n, void *data)
{
    char *msg = data;
    size_t have = strlen(msg);
    if (have < 511)
        snprintf(msg + have, 512 - have, "%.*s", (int)(size * n), p);
    return size * n;
}

/* PUTs body (NULL: create the bucket) to moto, unsigned and path-style. */
static int s3_put(CURL *c, const char *endpoint, const char *key, const cm_buf_t *body)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s/%s%s%s", endpoint, BUCKET, key ? "/" : "", key ? key : "");
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    char msg[512] = "";
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, msg);
    FILE *f = fmemopen(body ? body->base : "", body ? body->len : 0, "rb");
    curl_easy_setopt(c, CURLOPT_READDATA, f);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(body ? body->len : 0));
    /* Signed like the handler's GETs when credentials are set (moto refuses unsigned writes then). */
    const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    const char *token = getenv("AWS_SESSION_TOKEN");
    struct curl_slist *hdrs = NULL;
    char userpwd[256], tok[512];
    if (id != NULL && secret != NULL) {
        snprintf(userpwd, sizeof(userpwd), "%s:%s", id, secret);
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
        curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
        hdrs = curl_slist_append(hdrs, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
        if (token != NULL) {
            snprintf(tok, sizeof(tok), "x-amz-security-token: %s", token);
            hdrs = curl_slist_append(hdrs, tok);
        }
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    }
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    fclose(f);
    if (rc != CURLE_OK || status != 200) {
        fprintf(stderr, "fn_bench: PUT %s: %s, HTTP %ld: %s\n", url, curl_easy_strerror(rc), status, msg);
        return -1;
    }
    return 0;
}

typedef struct store {
    const char *name;
    const char *dir;      /* folder store */
    const char *endpoint; /* s3 store */
    CURL *curl;
} store_t;

static int put(store_t *s, const char *key, const cm_buf_t *b)
{
    return s->endpoint ? s3_put(s->curl, s->endpoint, key, b) : write_file(s->dir, key, b);
}

static double now_us(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long lines_of(const char *path)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (f == NULL)
        return -1;
    long n = 0;
    int ch;
    while ((ch = getc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

typedef struct script {
    const char *name;
    size_t loader, config;
} script_t;

int main(int argc, char **argv)
{
    const char *dir = NULL, *endpoint = NULL, *relay = NULL, *motolog = NULL, *only = NULL;
    int warm_n = 2000, changed_n = 300, opt;
    while ((opt = getopt(argc, argv, "d:e:r:l:n:c:o:")) != -1) {
        if (opt == 'd')
            dir = optarg;
        else if (opt == 'e')
            endpoint = optarg;
        else if (opt == 'r')
            relay = optarg;
        else if (opt == 'l')
            motolog = optarg;
        else if (opt == 'n')
            warm_n = (int)strtol(optarg, NULL, 10);
        else if (opt == 'o')
            only = optarg;
        else if (opt == 'c')
            changed_n = (int)strtol(optarg, NULL, 10);
        else
            return 2;
    }
    if (dir == NULL || warm_n < 10 || changed_n < 10) {
        fputs("usage: fn_bench -d DIR [-e S3_ENDPOINT [-r RELAY_ENDPOINT] [-l MOTO_LOG]] [-n WARM_N] [-c CHANGED_N] "
              "[-o ROW_SUBSTRING]\n",
              stderr);
        return 2;
    }
    static const script_t scripts[] = {
        {"2k", 1536, 512},
        {"100k", 98 * 1024, 4 * 1024},
        {"100k-bigcfg", 52 * 1024, 50 * 1024},
    };
    static const char *states[] = {"warm", "config", "loader"};
    store_t stores[2] = {{"folder", dir, NULL, NULL}, {"s3", NULL, endpoint, NULL}};
    int nstores = endpoint ? 2 : 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (endpoint) {
        /* The handler's S3 store reads its endpoint from the environment, as the bootstrap's does. */
        setenv("NEARJS_S3_ENDPOINT", relay != NULL ? relay : endpoint, 1);
        stores[1].curl = curl_easy_init();
        if (s3_put(stores[1].curl, endpoint, NULL, NULL) != 0)
            return 1;
    }
    char path[2048];
    snprintf(path, sizeof(path), "%s/accounts", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/accounts/bench", dir);
    mkdir(path, 0755);

    cm_buf_t loader[2], config[2][3], out;
    cm_buf_init(&out, 8u << 20);
    for (int s = 0; s < 3; s++)
        for (int v = 0; v < 2; v++) {
            cm_buf_init(&config[v][s], 8u << 20);
            gen_config(&config[v][s], scripts[s].config, v);
        }
    for (int v = 0; v < 2; v++)
        cm_buf_init(&loader[v], 8u << 20);
    double *samples = calloc((size_t)(warm_n > changed_n ? warm_n : changed_n), sizeof(double));
    double *walls = calloc((size_t)(warm_n > changed_n ? warm_n : changed_n), sizeof(double));

    printf("# store script enc state median_us p99_us renders/req gzips/req wall_median_us s3_req/req\n");
    for (int si = 0; si < nstores; si++) {
        store_t *st = &stores[si];
        for (int s = 0; s < 3; s++) {
            for (int v = 0; v < 2; v++)
                gen_loader(&loader[v], scripts[s].loader, v);
            /* One loader per script size: a store per size keeps rows independent. */
            char sub[1100], url[1200];
            if (strlen(dir) > 900)
                return 2;
            snprintf(sub, sizeof(sub), "%s/%s", dir, scripts[s].name);
            if (!st->endpoint) {
                mkdir(sub, 0755);
                snprintf(path, sizeof(path), "%s/accounts", sub);
                mkdir(path, 0755);
                snprintf(path, sizeof(path), "%s/accounts/bench", sub);
                mkdir(path, 0755);
                snprintf(url, sizeof(url), "file://%s", sub);
            } else {
                snprintf(url, sizeof(url), "s3://%s/%s", BUCKET, scripts[s].name);
            }
            store_t sst = *st;
            sst.dir = sub;
            char kl[128], kc[128];
            snprintf(kl, sizeof(kl), "%sloader.js", st->endpoint ? scripts[s].name : "");
            snprintf(kc, sizeof(kc), "%saccounts/bench/main.json", st->endpoint ? scripts[s].name : "");
            if (st->endpoint) {
                /* key under the prefix */
                snprintf(kl, sizeof(kl), "%s/loader.js", scripts[s].name);
                snprintf(kc, sizeof(kc), "%s/accounts/bench/main.json", scripts[s].name);
            }
            if (put(&sst, kl, &loader[0]) != 0 || put(&sst, kc, &config[0][s]) != 0)
                return 1;
            /* Folder versions are withheld for 2 s after a change (racy files): let the content settle. */
            if (!st->endpoint)
                usleep(2100 * 1000);
            for (int enc = 0; enc < 2; enc++) {
                for (int state = 0; state < 3; state++) {
                    char row[128];
                    snprintf(row, sizeof(row), "%s %s %s %s", st->name, scripts[s].name, enc ? "gzip" : "identity",
                             states[state]);
                    if (only != NULL && strstr(row, only) == NULL)
                        continue;
                    fn_handler_t *h = NULL;
                    int err = fn_handler_new(url, NULL, NULL, &h);
                    if (err != 0) {
                        fprintf(stderr, "fn_bench: open %s: %s\n", url, cm_strerror(err));
                        return 1;
                    }
                    char event[512];
                    snprintf(event, sizeof(event),
                             "{\"version\":\"2.0\",\"rawPath\":\"/bench/main.js\",\"rawQueryString\":\"\","
                             "\"headers\":{%s},\"requestContext\":{\"http\":{\"method\":\"GET\",\"path\":"
                             "\"/bench/main.js\"},\"domainName\":\"fast.example.com\"},\"isBase64Encoded\":false}",
                             enc ? "\"accept-encoding\":\"gzip, deflate, br\"" : "");
                    /* First request: primes the cache (and the connection to S3). */
                    fn_handler_handle(h, event, strlen(event), &out);
                    if (strstr(out.base, "\"statusCode\":200") == NULL) {
                        fprintf(stderr, "fn_bench: %s %s: %.300s\n", st->name, scripts[s].name, out.base);
                        return 1;
                    }
                    int n = state == 0 ? warm_n : changed_n;
                    fn_stats_t before, after;
                    fn_handler_stats(h, &before);
                    long log0 = state == 0 && st->endpoint ? (usleep(300000), lines_of(motolog)) : -1;
                    int flip = 1;
                    for (int i = 0; i < n; i++) {
                        if (state == 1 && put(&sst, kc, &config[flip][s]) != 0)
                            return 1;
                        if (state == 2 && put(&sst, kl, &loader[flip]) != 0)
                            return 1;
                        flip ^= 1;
                        double w0 = now_us(CLOCK_MONOTONIC), c0 = now_us(CLOCK_THREAD_CPUTIME_ID);
                        err = fn_handler_handle(h, event, strlen(event), &out);
                        samples[i] = now_us(CLOCK_THREAD_CPUTIME_ID) - c0;
                        walls[i] = now_us(CLOCK_MONOTONIC) - w0;
                        if (err != 0 || strncmp(out.base, "{\"statusCode\":200", 17) != 0) {
                            fprintf(stderr, "fn_bench: %s %s: %.300s\n", st->name, scripts[s].name, out.base);
                            return 1;
                        }
                    }
                    long log1 = log0 >= 0 ? (usleep(300000), lines_of(motolog)) : -1;
                    fn_handler_stats(h, &after);
                    qsort(samples, (size_t)n, sizeof(double), cmp_double);
                    qsort(walls, (size_t)n, sizeof(double), cmp_double);
                    char s3req[32] = "-";
                    if (log0 >= 0 && log1 >= 0)
                        snprintf(s3req, sizeof(s3req), "%.2f", (double)(log1 - log0) / n);
                    printf("%s %.1f %.1f %.2f %.2f %.1f %s\n", row, samples[n / 2], samples[n * 99 / 100],
                           (double)(after.renders - before.renders) / n, (double)(after.gzips - before.gzips) / n,
                           walls[n / 2], s3req);
                    fflush(stdout);
                    fn_handler_free(h);
                    /* Back to variant 0, old enough again, for the next row. */
                    if (state > 0) {
                        if (put(&sst, kl, &loader[0]) != 0 || put(&sst, kc, &config[0][s]) != 0)
                            return 1;
                        if (!st->endpoint)
                            usleep(2100 * 1000);
                    }
                }
            }
        }
    }
    /* The answer sizes, for the README: gzip ratio of each script. */
    free(samples);
    free(walls);
    cm_buf_dispose(&out);
    for (int v = 0; v < 2; v++) {
        cm_buf_dispose(&loader[v]);
        for (int s = 0; s < 3; s++)
            cm_buf_dispose(&config[v][s]);
    }
    if (stores[1].curl)
        curl_easy_cleanup(stores[1].curl);
    curl_global_cleanup();
    return 0;
}
