/* bench/runtime/driver.c: a minimal Lambda Runtime API server that benchmarks runtime clients.
 *
 * One process, one listening socket on 127.0.0.1, one client process at a time. For each client
 * given with -c it measures, against this same server:
 *   - cold start: spawn (just before fork) -> the first GET .../invocation/next fully received,
 *     K times after one unmeasured priming spawn (page cache); median and p90;
 *   - sequential invocations: R rounds, each a fresh client process given W warm-up then N measured
 *     events; the next event is released as soon as the previous /response is complete and the
 *     client asks for it. inv/s is the median round; latency, pooled over the rounds, runs from the
 *     /next answer leaving this process (write returned) to the /response body complete;
 *   - peak RSS: max ru_maxrss over the client's process tree, from wait4 after SIGTERM (plus VmHWM
 *     read from /proc just before, as a cross-check). Linux counts a forked child's pre-exec RSS in
 *     its ru_maxrss, so the driver's big buffers are MADV_DONTFORK and the children inherit only its
 *     base (at most ~1.3 MB).
 * Clients take turns (cold start k of every client, then round r of every client), so a burst of
 * background load lands on all of them alike.
 * Every /response body must equal its event (byte for byte, or after dropping JSON whitespace);
 * a mismatch, an /error or init/error post, or a client that dies marks the client FAILED, and a
 * failed client takes no further part.
 *
 * Invariants: single-threaded, epoll level-triggered, non-blocking sockets; each connection holds at
 * most one request in its buffer (capped at BUF_CAP); this process is the subreaper of every client it
 * spawns, and reaps the whole process group at the end of each phase, so no client outlives it.
 * Output: one key=value line per client on stdout, progress on stderr.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http_req.h"

#define MAX_CONNS 16
#define MAX_ARGS 32
#define MAX_CLIENTS 8
#define EVENT_CAP 1024

struct client {
    const char *name;
    const char *dir;
    char *argv[MAX_ARGS];
};

struct opts {
    int cold_runs, warmup, invocations, rounds;
    int server_cpu, client_cpu;
    double cold_timeout_s, run_timeout_s;
    const char *log_dir;
    const char *extra_env[4]; /* -e NAME=VALUE: added to every client's environment */
    int nextra;
};

struct server {
    int lfd, ep, port;
    struct conn conns[MAX_CONNS];
    /* the client process of the current phase */
    pid_t pid;
    int pidfd;
    int child_exited;
    long maxrss_kb;
    /* invocation state */
    int next_seen;        /* count of GET /next requests seen in this phase */
    double first_next_at; /* time the first GET /next was complete */
    int inflight;         /* an event was released and its answer is outstanding */
    unsigned long seq;    /* sequence of the current event */
    char req_id[64];
    char event[EVENT_CAP];
    size_t event_len;
    double released_at;
    int done; /* completed invocations in this phase */
    int mismatches, error_posts, init_errors, bad_requests;
    double *lat_us;
    int lat_cap;
    double measure_start, measure_end;
    int warmup;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("driver: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* Zeroed memory that a forked client does not inherit. Linux keeps the pre-exec RSS of a forked
 * child in its ru_maxrss, so the driver's big buffers must stay out of the children, or they would
 * read as the clients' memory. Returns NULL when out of memory; never freed (lives as long as main). */
static void *dontfork_alloc(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (madvise(p, n, MADV_DONTFORK) != 0)
        die("madvise(MADV_DONTFORK): %s", strerror(errno));
    return p;
}

static void pin_to(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        fprintf(stderr, "driver: cannot pin to cpu %d: %s (continuing unpinned)\n", cpu, strerror(errno));
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                /* the peer is slow to read a tiny answer; wait for room rather than buffering */
                struct timespec ts = {0, 100000};
                nanosleep(&ts, NULL);
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- connections ---- */

static void conn_close(struct server *s, struct conn *c)
{
    if (c->fd < 0)
        return;
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->len = 0;
    c->waiting_next = 0;
    c->continued = 0;
}

static void close_all(struct server *s)
{
    for (int i = 0; i < MAX_CONNS; i++)
        conn_close(s, &s->conns[i]);
}

static void accept_conns(struct server *s)
{
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = NULL;
        for (int i = 0; i < MAX_CONNS; i++)
            if (s->conns[i].fd < 0) {
                c = &s->conns[i];
                break;
            }
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->len = 0;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
    }
}

/* ---- the Runtime API ---- */

#define NEXT_PATH "/2018-06-01/runtime/invocation/next"
#define INV_PREFIX "/2018-06-01/runtime/invocation/"
#define INIT_ERROR_PATH "/2018-06-01/runtime/init/error"

static void make_event(struct server *s)
{
    s->seq++;
    snprintf(s->req_id, sizeof s->req_id, "8f5c7d3e-0000-4000-8000-%012lu", s->seq);
    /* ~200 bytes of compact ASCII JSON: a re-serialising client (JSON.stringify, jansson compact)
     * gives back the same bytes. */
    int n = snprintf(s->event, sizeof s->event,
                     "{\"version\":\"2.0\",\"rawPath\":\"/acct/name.js\",\"rawQueryString\":\"v=%lu\","
                     "\"headers\":{\"host\":\"fast.example.com\"},\"requestContext\":{\"requestId\":\"%s\","
                     "\"timeEpoch\":%lu},\"isBase64Encoded\":false}",
                     s->seq, s->req_id, 1700000000000UL + s->seq);
    s->event_len = (size_t)n;
}

static void release_event(struct server *s, struct conn *c)
{
    char head[768];
    long long deadline = (long long)time(NULL) * 1000 + 900000;
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\n"
                     "Content-Type: application/json\r\n"
                     "Lambda-Runtime-Aws-Request-Id: %s\r\n"
                     "Lambda-Runtime-Deadline-Ms: %lld\r\n"
                     "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n"
                     "Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;"
                     "Sampled=0\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n",
                     s->req_id, deadline, s->event_len);
    char out[sizeof head + EVENT_CAP];
    memcpy(out, head, (size_t)n);
    memcpy(out + n, s->event, s->event_len);
    c->waiting_next = 0;
    if (write_all(c->fd, out, (size_t)n + s->event_len) != 0) {
        conn_close(s, c);
        return;
    }
    s->released_at = now_s();
    s->inflight = 1;
    if (s->done == s->warmup && s->measure_start == 0)
        s->measure_start = s->released_at;
}

static void reply(struct server *s, struct conn *c, const char *status, const char *body)
{
    char out[256];
    int n = snprintf(out, sizeof out, "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     status, strlen(body), body);
    if (write_all(c->fd, out, (size_t)n) != 0)
        conn_close(s, c);
}

/* Compares JSON texts ignoring whitespace outside strings. */
static int json_equal_loose(const char *a, size_t an, const char *b, size_t bn)
{
    size_t i = 0, j = 0;
    int in_a = 0, in_b = 0;
    for (;;) {
        while (i < an && !in_a && (a[i] == ' ' || a[i] == '\n' || a[i] == '\r' || a[i] == '\t'))
            i++;
        while (j < bn && !in_b && (b[j] == ' ' || b[j] == '\n' || b[j] == '\r' || b[j] == '\t'))
            j++;
        if (i == an || j == bn)
            return i == an && j == bn;
        if (a[i] != b[j])
            return 0;
        if (a[i] == '"' && (i == 0 || a[i - 1] != '\\'))
            in_a = !in_a;
        if (b[j] == '"' && (j == 0 || b[j - 1] != '\\'))
            in_b = !in_b;
        i++;
        j++;
    }
}

/* Wants events released while more are to come (invocations > 0) or only cold-start detection. */
static void maybe_release(struct server *s, int total)
{
    if (s->inflight || s->done >= total)
        return;
    for (int i = 0; i < MAX_CONNS; i++) {
        struct conn *c = &s->conns[i];
        if (c->fd >= 0 && c->waiting_next) {
            make_event(s);
            release_event(s, c);
            return;
        }
    }
}

static void handle_req(struct server *s, struct conn *c, struct req *r, int total)
{
    double t = now_s();
    int is_get = r->method_len == 3 && memcmp(r->method, "GET", 3) == 0;
    int is_post = r->method_len == 4 && memcmp(r->method, "POST", 4) == 0;
    if (is_get && r->path_len == strlen(NEXT_PATH) && memcmp(r->path, NEXT_PATH, r->path_len) == 0) {
        if (s->next_seen++ == 0)
            s->first_next_at = t;
        c->waiting_next = 1;
        maybe_release(s, total);
        return;
    }
    if (is_post && r->path_len == strlen(INIT_ERROR_PATH) && memcmp(r->path, INIT_ERROR_PATH, r->path_len) == 0) {
        s->init_errors++;
        fprintf(stderr, "driver: init/error: %.*s\n", (int)(r->body_len > 300 ? 300 : r->body_len), r->body);
        reply(s, c, "202 Accepted", "{\"status\":\"OK\"}");
        return;
    }
    size_t pl = strlen(INV_PREFIX);
    if (is_post && r->path_len > pl && memcmp(r->path, INV_PREFIX, pl) == 0) {
        const char *id = r->path + pl;
        const char *slash = memchr(id, '/', r->path_len - pl);
        if (slash != NULL) {
            size_t idl = (size_t)(slash - id);
            size_t kl = r->path_len - pl - idl - 1;
            int is_resp = kl == 8 && memcmp(slash + 1, "response", 8) == 0;
            int is_err = kl == 5 && memcmp(slash + 1, "error", 5) == 0;
            int id_ok = s->inflight && idl == strlen(s->req_id) && memcmp(id, s->req_id, idl) == 0;
            if ((is_resp || is_err) && id_ok) {
                if (is_resp) {
                    int same = (r->body_len == s->event_len && memcmp(r->body, s->event, s->event_len) == 0) ||
                               json_equal_loose(r->body, r->body_len, s->event, s->event_len);
                    if (!same) {
                        if (s->mismatches == 0)
                            fprintf(stderr, "driver: first mismatch: sent %.*s got %.*s\n", (int)s->event_len, s->event,
                                    (int)(r->body_len > 400 ? 400 : r->body_len), r->body);
                        s->mismatches++;
                    }
                } else {
                    if (s->error_posts == 0)
                        fprintf(stderr, "driver: first /error post: %.*s\n",
                                (int)(r->body_len > 300 ? 300 : r->body_len), r->body);
                    s->error_posts++;
                }
                if (s->done >= s->warmup && s->lat_us != NULL && s->done - s->warmup < s->lat_cap)
                    s->lat_us[s->done - s->warmup] = (t - s->released_at) * 1e6;
                s->done++;
                s->measure_end = t;
                s->inflight = 0;
                reply(s, c, "202 Accepted", "{\"status\":\"OK\"}");
                maybe_release(s, total);
                return;
            }
            if (is_resp || is_err) {
                s->bad_requests++;
                reply(s, c, "400 Bad Request",
                      "{\"errorMessage\":\"unknown request id\",\"errorType\":\"InvalidRequestID\"}");
                return;
            }
        }
    }
    s->bad_requests++;
    fprintf(stderr, "driver: unexpected request %.*s %.*s\n", (int)r->method_len, r->method,
            (int)(r->path_len > 200 ? 200 : r->path_len), r->path);
    reply(s, c, "404 Not Found", "{\"errorMessage\":\"not found\"}");
}

static void on_readable(struct server *s, struct conn *c, int total)
{
    for (;;) {
        if (c->len == BUF_CAP) {
            conn_close(s, c);
            return;
        }
        ssize_t n = read(c->fd, c->buf + c->len, BUF_CAP - c->len);
        if (n == 0) {
            conn_close(s, c);
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                conn_close(s, c);
            break;
        }
        c->len += (size_t)n;
        break; /* level-triggered: anything left is read on the next round */
    }
    while (c->fd >= 0 && c->len > 0) {
        struct req r;
        int rc = parse_req(c, &r);
        if (rc < 0) {
            s->bad_requests++;
            reply(s, c, "400 Bad Request", "{\"errorMessage\":\"bad request\"}");
            conn_close(s, c);
            return;
        }
        if (rc == 0) {
            if (r.head_len > 0 && r.expect_continue && !c->continued) {
                c->continued = 1;
                write_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
            }
            return;
        }
        handle_req(s, c, &r, total);
        if (c->fd < 0)
            return;
        if (r.close) {
            conn_close(s, c);
            return;
        }
        memmove(c->buf, c->buf + r.total_len, c->len - r.total_len);
        c->len -= r.total_len;
        c->continued = 0;
    }
}

/* ---- client processes ---- */

static char **client_env(const struct client *cl, int port, const struct opts *o)
{
    static char buf[16][512];
    static char *env[24];
    int n = 0;
    snprintf(buf[n], sizeof buf[n], "AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d", port);
    env[n] = buf[n];
    n++;
    const char *fixed[] = {"_HANDLER=index.handler", "AWS_LAMBDA_FUNCTION_NAME=bench",
                           "AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
                           "AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/bench", "AWS_LAMBDA_LOG_STREAM_NAME=bench",
                           "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1", "TZ=:UTC", "LANG=C.UTF-8",
                           /* npx: never reach a registry, never check for an npm update */
                           "npm_config_offline=true", "npm_config_update_notifier=false", NULL};
    for (int i = 0; fixed[i] != NULL; i++)
        env[n++] = (char *)fixed[i];
    snprintf(buf[1], sizeof buf[1], "LAMBDA_TASK_ROOT=%s", cl->dir);
    env[n++] = buf[1];
    const char *path = getenv("PATH"), *home = getenv("HOME");
    snprintf(buf[2], sizeof buf[2], "PATH=%s", path ? path : "/usr/local/bin:/usr/bin:/bin");
    env[n++] = buf[2];
    snprintf(buf[3], sizeof buf[3], "HOME=%s", home ? home : "/tmp");
    env[n++] = buf[3];
    for (int i = 0; i < o->nextra; i++)
        env[n++] = (char *)o->extra_env[i];
    env[n] = NULL;
    return env;
}

static void spawn(struct server *s, const struct client *cl, const struct opts *o, int port, const char *tag)
{
    char logpath[512];
    snprintf(logpath, sizeof logpath, "%s/runtime-%s.log", o->log_dir, cl->name);
    char **env = client_env(cl, port, o);
    s->child_exited = 0;
    s->pid = fork();
    if (s->pid < 0)
        die("fork: %s", strerror(errno));
    if (s->pid == 0) {
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        pin_to(o->client_cpu);
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dprintf(fd, "---- %s\n", tag);
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        if (chdir(cl->dir) != 0) {
            dprintf(2, "driver: chdir %s: %s\n", cl->dir, strerror(errno));
            _exit(126);
        }
        execvpe(cl->argv[0], cl->argv, env);
        dprintf(2, "driver: exec %s: %s\n", cl->argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(s->pid, s->pid); /* both sides: no race with the first kill */
    s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
    if (s->pidfd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        epoll_ctl(s->ep, EPOLL_CTL_ADD, s->pidfd, &ev);
    }
}

/* Sums and maxes VmHWM (peak RSS of the current image, so without what the forked driver held
 * before exec) over the live processes of process group pgid, in KiB. */
static void group_hwm(pid_t pgid, long *max_kb, long *sum_kb)
{
    *max_kb = *sum_kb = 0;
    DIR *d = opendir("/proc");
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        char path[300], line[512];
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t n = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        line[n] = '\0';
        char *rp = strrchr(line, ')');
        char state;
        int ppid, pgrp;
        if (rp == NULL || sscanf(rp + 1, " %c %d %d", &state, &ppid, &pgrp) != 3 || pgrp != pgid)
            continue;
        snprintf(path, sizeof path, "/proc/%s/status", de->d_name);
        f = fopen(path, "r");
        if (f == NULL)
            continue;
        while (fgets(line, sizeof line, f) != NULL) {
            long kb;
            if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) {
                *sum_kb += kb;
                if (kb > *max_kb)
                    *max_kb = kb;
                break;
            }
        }
        fclose(f);
    }
    closedir(d);
}

/* Ends the client's process group and reaps every process of it (this process is their subreaper).
 * Records the largest ru_maxrss seen. */
static void stop_client(struct server *s)
{
    kill(-s->pid, SIGTERM);
    double deadline = now_s() + 5.0;
    int killed = 0;
    s->maxrss_kb = 0;
    for (;;) {
        int st;
        struct rusage ru;
        pid_t p = wait4(-1, &st, WNOHANG, &ru);
        if (p > 0) {
            if (ru.ru_maxrss > s->maxrss_kb)
                s->maxrss_kb = ru.ru_maxrss;
            continue;
        }
        if (p < 0 && errno == ECHILD)
            break;
        if (!killed && now_s() > deadline) {
            fprintf(stderr, "driver: client ignored SIGTERM for 5 s; sending SIGKILL\n");
            kill(-s->pid, SIGKILL);
            killed = 1;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    if (s->pidfd >= 0) {
        epoll_ctl(s->ep, EPOLL_CTL_DEL, s->pidfd, NULL);
        close(s->pidfd);
        s->pidfd = -1;
    }
    close_all(s);
}

/* Runs the event loop until done() or the deadline; returns 0 on done, -1 on timeout or child exit. */
static int loop_until(struct server *s, int total, double deadline, int (*done)(struct server *, int))
{
    struct epoll_event evs[MAX_CONNS + 2];
    while (!done(s, total)) {
        double left = deadline - now_s();
        if (left <= 0)
            return -1;
        int n = epoll_wait(s->ep, evs, MAX_CONNS + 2, (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == NULL) {
                s->child_exited = 1;
                epoll_ctl(s->ep, EPOLL_CTL_DEL, s->pidfd, NULL);
            } else if (p == (void *)s) {
                accept_conns(s);
            } else {
                on_readable(s, (struct conn *)p, total);
            }
        }
        if (s->child_exited && !done(s, total))
            return -1;
    }
    return 0;
}

static int first_next_done(struct server *s, int total)
{
    (void)total;
    return s->next_seen > 0;
}

static int all_done(struct server *s, int total)
{
    return s->done >= total;
}

static int parked_done(struct server *s, int total)
{
    (void)total;
    for (int i = 0; i < MAX_CONNS; i++)
        if (s->conns[i].fd >= 0 && s->conns[i].waiting_next)
            return 1;
    return 0;
}

static void reset_phase(struct server *s)
{
    s->next_seen = 0;
    s->first_next_at = 0;
    s->inflight = 0;
    s->done = 0;
    s->mismatches = s->error_posts = s->init_errors = s->bad_requests = 0;
    s->measure_start = s->measure_end = 0;
    s->lat_us = NULL;
    s->lat_cap = 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, int n, double p)
{
    if (n == 0)
        return 0;
    int k = (int)(p / 100.0 * n + 0.999999) - 1;
    if (k < 0)
        k = 0;
    if (k >= n)
        k = n - 1;
    return v[k];
}

/* What one client scored over all its phases. */
struct result {
    double cold_ms[256];
    int cold_n;
    double invps[16];
    int rounds;
    double *lat_us; /* rounds * invocations, pooled */
    int lat_n;
    long rss_kb, hwm_max_kb, hwm_sum_kb;
    int mismatches, error_posts, init_errors, bad_requests;
    const char *why; /* set once the client failed: it then takes no further part */
};

/* One cold start: spawn -> first GET /next; k == 0 primes the page cache and is not kept. */
static void cold_one(struct server *s, const struct client *cl, const struct opts *o, int k, struct result *res)
{
    char tag[64];
    reset_phase(s);
    snprintf(tag, sizeof tag, "cold start %d", k);
    double t0 = now_s();
    spawn(s, cl, o, s->port, tag);
    int rc = loop_until(s, 0, t0 + o->cold_timeout_s, first_next_done);
    if (rc == 0 && k > 0 && res->cold_n < 256)
        res->cold_ms[res->cold_n++] = (s->first_next_at - t0) * 1e3;
    stop_client(s);
    if (rc != 0) {
        res->init_errors += s->init_errors;
        res->why = s->init_errors > 0 ? "client posted init/error before its first /next"
                   : s->child_exited  ? "client exited before its first /next"
                                      : "no /next before the timeout";
    }
}

/* One round of warm-up + measured invocations in a fresh client process. */
static void round_one(struct server *s, const struct client *cl, const struct opts *o, struct result *res)
{
    reset_phase(s);
    s->warmup = o->warmup;
    s->lat_us = res->lat_us + res->lat_n;
    s->lat_cap = o->invocations;
    int total = o->warmup + o->invocations;
    double t0 = now_s();
    spawn(s, cl, o, s->port, "invocations");
    int rc = loop_until(s, total, t0 + o->run_timeout_s, all_done);
    if (rc == 0)
        loop_until(s, total, now_s() + 2.0, parked_done); /* let it come back idle to /next */
    res->mismatches += s->mismatches;
    res->error_posts += s->error_posts;
    res->init_errors += s->init_errors;
    res->bad_requests += s->bad_requests;
    int measured = s->done - s->warmup;
    if (measured > 0 && s->measure_end > s->measure_start) {
        res->invps[res->rounds++] = measured / (s->measure_end - s->measure_start);
        res->lat_n += measured;
    }
    int exited = s->child_exited;
    long hmax, hsum;
    group_hwm(s->pid, &hmax, &hsum);
    stop_client(s);
    if (s->maxrss_kb > res->rss_kb)
        res->rss_kb = s->maxrss_kb;
    if (hmax > res->hwm_max_kb)
        res->hwm_max_kb = hmax;
    if (hsum > res->hwm_sum_kb)
        res->hwm_sum_kb = hsum;
    if (rc != 0)
        res->why = exited ? "client exited during the invocations" : "invocations did not finish before the timeout";
    else if (res->mismatches > 0)
        res->why = "response bodies differ from events";
    else if (res->error_posts > 0 || res->init_errors > 0)
        res->why = "client posted errors";
}

/* Prints a client's key=value line. Returns 0 when it passed, 1 when it FAILED. */
static int report(const struct client *cl, struct result *res, size_t event_len)
{
    qsort(res->cold_ms, (size_t)res->cold_n, sizeof(double), cmp_double);
    qsort(res->invps, (size_t)res->rounds, sizeof(double), cmp_double);
    qsort(res->lat_us, (size_t)res->lat_n, sizeof(double), cmp_double);
    int failed = res->why != NULL;
    printf("client=%s status=%s event_bytes=%zu cold_runs=%d cold_median_ms=%.2f cold_p90_ms=%.2f rounds=%d "
           "invocations=%d invps=%.0f invps_min=%.0f invps_max=%.0f p50_us=%.1f p99_us=%.1f peak_rss_mb=%.1f "
           "hwm_max_mb=%.1f hwm_sum_mb=%.1f mismatches=%d error_posts=%d init_errors=%d bad_requests=%d%s%s%s\n",
           cl->name, failed ? "FAILED" : "OK", event_len, res->cold_n, pct(res->cold_ms, res->cold_n, 50),
           pct(res->cold_ms, res->cold_n, 90), res->rounds, res->lat_n, pct(res->invps, res->rounds, 50),
           res->rounds ? res->invps[0] : 0, res->rounds ? res->invps[res->rounds - 1] : 0,
           pct(res->lat_us, res->lat_n, 50), pct(res->lat_us, res->lat_n, 99), res->rss_kb / 1024.0,
           res->hwm_max_kb / 1024.0, res->hwm_sum_kb / 1024.0, res->mismatches, res->error_posts, res->init_errors,
           res->bad_requests, failed ? " why=\"" : "", failed ? res->why : "", failed ? "\"" : "");
    fflush(stdout);
    return failed;
}

static void usage(void)
{
    fputs("usage: driver [-k COLD_RUNS] [-w WARMUP] [-n INVOCATIONS] [-r ROUNDS] [-s SERVER_CPU] [-C CLIENT_CPU] [-l "
          "LOG_DIR]\n"
          "              [-e NAME=VALUE (up to 4, for every client)] -c 'NAME|DIR|PROGRAM ARG...' [-c ...]\n"
          "Serves the Lambda Runtime API on 127.0.0.1 (a free port) and benchmarks each client in turn.\n"
          "Prints one key=value line per client on stdout. Exit: 0 all OK, 1 a client FAILED, 2 usage.\n",
          stderr);
    exit(2);
}

static int parse_int(const char *s, int lo, int hi)
{
    char *e;
    long v = strtol(s, &e, 10);
    if (*s == '\0' || *e != '\0' || v < lo || v > hi)
        usage();
    return (int)v;
}

static int parse_client(char *spec, struct client *cl)
{
    char *a = strchr(spec, '|');
    char *b = a ? strchr(a + 1, '|') : NULL;
    if (b == NULL)
        return -1;
    *a = '\0';
    *b = '\0';
    cl->name = spec;
    cl->dir = a + 1;
    int n = 0;
    for (char *t = b + 1; *t != '\0' && n < MAX_ARGS - 1;) {
        while (*t == ' ')
            *t++ = '\0';
        if (*t == '\0')
            break;
        cl->argv[n++] = t;
        while (*t != '\0' && *t != ' ')
            t++;
    }
    cl->argv[n] = NULL;
    return n > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct opts o = {.cold_runs = 20,
                     .warmup = 100,
                     .invocations = 5000,
                     .rounds = 5,
                     .server_cpu = 0,
                     .client_cpu = 1,
                     .cold_timeout_s = 10,
                     .run_timeout_s = 60,
                     .log_dir = "."};
    struct client clients[MAX_CLIENTS];
    int nclients = 0, opt;
    while ((opt = getopt(argc, argv, "k:w:n:r:s:C:l:c:e:")) != -1) {
        switch (opt) {
        case 'k':
            o.cold_runs = parse_int(optarg, 1, 255);
            break;
        case 'w':
            o.warmup = parse_int(optarg, 0, 1000000);
            break;
        case 'n':
            o.invocations = parse_int(optarg, 1, 1000000);
            break;
        case 'r':
            o.rounds = parse_int(optarg, 1, 16);
            break;
        case 's':
            o.server_cpu = parse_int(optarg, -1, 1023);
            break;
        case 'C':
            o.client_cpu = parse_int(optarg, -1, 1023);
            break;
        case 'l':
            o.log_dir = optarg;
            break;
        case 'e':
            if (o.nextra == 4 || strchr(optarg, '=') == NULL)
                usage();
            o.extra_env[o.nextra++] = optarg;
            break;
        case 'c':
            if (nclients == MAX_CLIENTS || parse_client(optarg, &clients[nclients]) != 0)
                usage();
            nclients++;
            break;
        default:
            usage();
        }
    }
    if (nclients == 0)
        usage();

    signal(SIGPIPE, SIG_IGN);
    pin_to(o.server_cpu);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        die("prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));

    static struct server s;
    s.pidfd = -1;
    for (int i = 0; i < MAX_CONNS; i++) {
        s.conns[i].fd = -1;
        s.conns[i].buf = dontfork_alloc(BUF_CAP);
        if (s.conns[i].buf == NULL)
            die("out of memory");
    }
    s.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(s.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
    if (bind(s.lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s.lfd, 64) != 0)
        die("listen on 127.0.0.1: %s", strerror(errno));
    socklen_t sl = sizeof sa;
    getsockname(s.lfd, (struct sockaddr *)&sa, &sl);
    s.port = ntohs(sa.sin_port);
    s.ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s};
    epoll_ctl(s.ep, EPOLL_CTL_ADD, s.lfd, &ev);
    fprintf(stderr, "driver: Runtime API on 127.0.0.1:%d, driver on cpu %d, clients on cpu %d\n", s.port, o.server_cpu,
            o.client_cpu);

    /* Interleaved, so a burst of background load lands on every client alike. */
    static struct result res[MAX_CLIENTS];
    for (int i = 0; i < nclients; i++) {
        res[i].lat_us = dontfork_alloc((size_t)o.rounds * (size_t)o.invocations * sizeof(double));
        if (res[i].lat_us == NULL)
            die("out of memory");
    }
    fprintf(stderr, "driver: %d cold starts (+1 priming) per client, interleaved ...\n", o.cold_runs);
    for (int k = 0; k <= o.cold_runs; k++)
        for (int i = 0; i < nclients; i++)
            if (res[i].why == NULL)
                cold_one(&s, &clients[i], &o, k, &res[i]);
    for (int r = 0; r < o.rounds; r++) {
        fprintf(stderr, "driver: round %d/%d: %d warm-up + %d measured invocations per client ...\n", r + 1, o.rounds,
                o.warmup, o.invocations);
        for (int i = 0; i < nclients; i++)
            if (res[i].why == NULL)
                round_one(&s, &clients[i], &o, &res[i]);
    }
    int any_failed = 0;
    for (int i = 0; i < nclients; i++)
        any_failed |= report(&clients[i], &res[i], s.event_len);
    return any_failed;
}
