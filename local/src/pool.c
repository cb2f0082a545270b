/*
 * The warm pool (see local/pool.h).
 *
 * An environment (env_t) cycles through STARTING (spawned, waiting for its first GET /next) -> IDLE ->
 * BUSY (a job handed to its Runtime API worker) -> RETURNING (answered; waiting for the runtime to come
 * back to /next) -> IDLE ..., or DYING (killed or exited; waiting to be reaped) -> a new process in the
 * same slot (BACKOFF first after a failed init). Invariants: a job is in exactly one place (the queue,
 * one environment's `job`, or gone); an environment's Runtime API worker is freed only once its process
 * has been reaped, never from inside one of its own callbacks.
 */
#include "local/pool.h"
#include "common/error.h"
#include "local/rapi.h"
#include "local/report.h"
#include "local/sandbox.h"
#include "common/buf.h"
#include "common/log.h"
#include "ids.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INIT_LIMIT_MS 10000
#define BACKOFF_MS 1000
#define DEFAULT_MAX_QUEUE 10000
/* A runtime's partial line is cut here: a line without a newline cannot hold memory without bound. */
#define MAX_LINE 16384

typedef enum { ENV_STARTING, ENV_IDLE, ENV_BUSY, ENV_RETURNING, ENV_DYING, ENV_BACKOFF } env_state_t;

typedef struct env env_t;

struct nl_pool_job {
    h2o_linklist_t link; /* in pool->queue while queued */
    nl_pool_t *pool;
    char *payload;
    size_t len;
    nl_pool_done_cb cb; /* NULL once cancelled */
    void *user;
    env_t *env; /* while running */
};

struct env {
    nl_pool_t *pool;
    unsigned index;
    env_state_t state;
    nl_rapi_worker_t *rapi;
    nl_sandbox_t sandbox;
    int spawned;
    h2o_socket_t *out; /* the runtime's stdout+stderr */
    cm_buf_t line;     /* a partial output line */
    nl_pool_job_t *job;
    int started; /* the job's event went out */
    char request_id[NL_REQUEST_ID_SIZE];
    uint64_t spawn_ns, start_ns;
    int init_failed;
    char *init_error; /* the init error document, when the runtime posted one */
    int timed_out;
    cm_buf_t stream; /* a streamed response being collected */
    cm_buf_t tail;   /* this invocation's log */
    h2o_timeout_entry_t init_e, run_e, backoff_e;
    char stream_name[NL__LOG_STREAM_SIZE];
};

struct nl_pool {
    h2o_loop_t *loop;
    const nl_pool_config_t *cfg;
    nl_rapi_config_t rapi_cfg;
    nl_rapi_callbacks_t rapi_cb;
    env_t *envs;
    h2o_linklist_t queue;
    size_t queued;
    h2o_timeout_t init_to, run_to, backoff_to, now_to;
    h2o_timeout_entry_t dispatch_e;
};

static void notice(nl_pool_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void notice(nl_pool_t *p, const char *fmt, ...)
{
    if (p->cfg->log == NULL)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    p->cfg->log(NL_POOL_LOG_NOTICE, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1, p->cfg->log_user);
}

/* Keeps the last NL_POOL_LOG_TAIL bytes of an invocation's log: the buffer may grow to twice that, then
 * its older half goes. */
static void tail_add(env_t *e, const char *p, size_t n)
{
    if (n > NL_POOL_LOG_TAIL) {
        p += n - NL_POOL_LOG_TAIL;
        n = NL_POOL_LOG_TAIL;
    }
    if (e->tail.len + n > 2 * NL_POOL_LOG_TAIL) {
        size_t keep = NL_POOL_LOG_TAIL - n;
        if (keep > e->tail.len)
            keep = e->tail.len;
        memmove(e->tail.base, e->tail.base + e->tail.len - keep, keep);
        e->tail.len = keep;
    }
    cm_buf_append(&e->tail, p, n);
}

/* A runtime or platform line: to the log callback and, during an invocation, to its tail. */
static void runtime_line(env_t *e, const char *p, size_t n)
{
    nl_pool_t *pool = e->pool;
    if (pool->cfg->log != NULL)
        pool->cfg->log(NL_POOL_LOG_RUNTIME, p, n, pool->cfg->log_user);
    if (e->job != NULL) {
        tail_add(e, p, n);
        tail_add(e, "\n", 1);
    }
}

static void platform_line(env_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void platform_line(env_t *e, const char *fmt, ...)
{
    if (!e->pool->cfg->platform_lines)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0)
        runtime_line(e, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* Splits output into lines; a line longer than MAX_LINE is passed on in pieces. */
static void take_output(env_t *e, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl != NULL ? (size_t)(nl - p) : n;
        if (e->line.len + take > MAX_LINE) {
            size_t room = MAX_LINE - e->line.len;
            cm_buf_append(&e->line, p, room);
            runtime_line(e, e->line.base, e->line.len);
            cm_buf_reset(&e->line);
            p += room;
            n -= room;
            continue;
        }
        cm_buf_append(&e->line, p, take);
        if (nl == NULL)
            return;
        runtime_line(e, e->line.base != NULL ? e->line.base : "", e->line.len);
        cm_buf_reset(&e->line);
        p += take + 1;
        n -= take + 1;
    }
}

static void on_output(h2o_socket_t *sock, const char *err)
{
    env_t *e = sock->data;
    if (sock->input->size > 0) {
        take_output(e, sock->input->bytes, sock->input->size);
        h2o_buffer_consume(&sock->input, sock->input->size);
    }
    if (err != NULL) {
        /* every writer is gone (the runtime and what it started): nothing more will come */
        h2o_socket_read_stop(sock);
    }
}

/* Reads what the runtime wrote before its answer reached us (the pipe and the socket race). */
static void drain_output(env_t *e)
{
    if (e->out == NULL)
        return;
    int fd = h2o_socket_get_fd(e->out);
    char buf[8192];
    ssize_t r;
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        take_output(e, buf, (size_t)r);
}

static void close_output(env_t *e)
{
    if (e->out == NULL)
        return;
    drain_output(e);
    if (e->line.len > 0) {
        runtime_line(e, e->line.base, e->line.len);
        cm_buf_reset(&e->line);
    }
    h2o_socket_read_stop(e->out);
    h2o_socket_close(e->out);
    e->out = NULL;
}

static void unlink_entry(h2o_timeout_entry_t *t)
{
    if (h2o_timeout_is_linked(t))
        h2o_timeout_unlink(t);
}

static void schedule_dispatch(nl_pool_t *p)
{
    if (!h2o_timeout_is_linked(&p->dispatch_e))
        h2o_timeout_link(p->loop, &p->now_to, &p->dispatch_e);
}

static void job_free(nl_pool_job_t *job)
{
    free(job->payload);
    free(job);
}

/* The runtime's peak resident memory (VmHWM) in KB, for the REPORT line; 0 when unknown. */
static uint64_t peak_rss_kb(pid_t pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strstr(buf, "VmHWM:");
    return p != NULL ? strtoull(p + 6, NULL, 10) : 0;
}

/* Ends a job with a result (calls back unless cancelled) and frees it. */
static void finish(env_t *e, nl_pool_job_t *job, nl_pool_status_t status, const char *body, size_t len,
                   const char *error_type)
{
    uint64_t now = cm_mono_ns();
    if (e != NULL && e->pool->cfg->platform_lines) {
        uint64_t dur = e->start_ns != 0 ? now - e->start_ns : 0;
        platform_line(e, "END RequestId: %s", e->request_id);
        char line[512];
        nl_report_t r = {.request_id = e->request_id,
                         .duration_ns = dur,
                         .memory_mb = e->pool->cfg->memory_mb,
                         .max_rss_kb = peak_rss_kb(e->sandbox.pid)};
        nl_report_format(line, sizeof(line), &r);
        runtime_line(e, line, strlen(line));
    }
    if (e != NULL)
        e->job = NULL;
    if (job->cb != NULL) {
        nl_pool_result_t res = {.status = status,
                                .request_id = e != NULL ? e->request_id : "",
                                .body = body != NULL ? body : "",
                                .body_len = body != NULL ? len : 0,
                                .error_type = error_type,
                                .log_tail = e != NULL && e->tail.base != NULL ? e->tail.base : "",
                                .log_tail_len = e != NULL ? e->tail.len : 0,
                                .duration_ns = e != NULL && e->start_ns != 0 ? now - e->start_ns : 0};
        if (res.log_tail_len > NL_POOL_LOG_TAIL) {
            res.log_tail += res.log_tail_len - NL_POOL_LOG_TAIL;
            res.log_tail_len = NL_POOL_LOG_TAIL;
        }
        job->cb(&res, job->user);
    }
    if (e != NULL)
        cm_buf_reset(&e->tail);
    job_free(job);
}

static void kill_env(env_t *e)
{
    if (e->state == ENV_DYING)
        return;
    e->state = ENV_DYING;
    unlink_entry(&e->init_e);
    unlink_entry(&e->run_e);
    /* Lambda does not ask a failed or timed-out runtime to stop: it is killed */
    nl_sandbox_kill(&e->sandbox, SIGKILL);
}

static int spawn_env(env_t *e);

static void dispatch(nl_pool_t *p)
{
    for (unsigned i = 0; i < p->cfg->workers && !h2o_linklist_is_empty(&p->queue); i++) {
        env_t *e = &p->envs[i];
        if (e->state != ENV_IDLE)
            continue;
        nl_pool_job_t *job = H2O_STRUCT_FROM_MEMBER(nl_pool_job_t, link, p->queue.next);
        h2o_linklist_unlink(&job->link);
        p->queued--;
        nl_rapi_new_request_id(e->request_id);
        nl_rapi_event_t ev = {.request_id = e->request_id,
                              .payload = job->payload,
                              .payload_len = job->len,
                              .deadline_ms = cm_epoch_ms() + (uint64_t)(p->cfg->timeout_s * 1000)};
        char id[NL_REQUEST_ID_SIZE];
        e->job = job;
        job->env = e;
        e->started = 0;
        e->start_ns = 0;
        e->timed_out = 0;
        cm_buf_reset(&e->tail);
        cm_buf_reset(&e->stream);
        e->state = ENV_BUSY;
        int rc = nl_rapi_worker_invoke(e->rapi, &ev, id);
        if (rc != 0) {
            /* only memory can fail here: the job waits, first in line, for the next chance */
            notice(p, "worker %u: cannot hand the event over: %s", e->index, cm_strerror(rc));
            e->job = NULL;
            job->env = NULL;
            e->state = ENV_IDLE;
            h2o_linklist_insert(p->queue.next, &job->link);
            p->queued++;
            return;
        }
    }
}

static void on_dispatch(h2o_timeout_entry_t *t)
{
    nl_pool_t *p = H2O_STRUCT_FROM_MEMBER(nl_pool_t, dispatch_e, t);
    dispatch(p);
}

static void rapi_on_idle(nl_rapi_worker_t *w, int first, void *user)
{
    (void)w;
    env_t *e = user;
    if (e->state == ENV_STARTING && first) {
        unlink_entry(&e->init_e);
        notice(e->pool, "worker %u: init %.2f ms (pid %d)", e->index, (double)(cm_mono_ns() - e->spawn_ns) / 1e6,
               (int)e->sandbox.pid);
        e->state = ENV_IDLE;
        dispatch(e->pool);
    } else if (e->state == ENV_RETURNING) {
        e->state = ENV_IDLE;
        dispatch(e->pool);
    }
}

static void rapi_on_start(nl_rapi_worker_t *w, const char *request_id, void *user)
{
    (void)w;
    (void)request_id;
    env_t *e = user;
    if (e->job == NULL)
        return;
    e->started = 1;
    e->start_ns = cm_mono_ns();
    platform_line(e, "START RequestId: %s Version: $LATEST", e->request_id);
    h2o_timeout_link(e->pool->loop, &e->pool->run_to, &e->run_e);
}

static void rapi_on_stream(nl_rapi_worker_t *w, const char *request_id, const char *bytes, size_t len, void *user)
{
    (void)w;
    (void)request_id;
    env_t *e = user;
    /* the worker enforces the same cap, so this fails only short of memory */
    cm_buf_append(&e->stream, bytes, len);
}

static void rapi_on_result(nl_rapi_worker_t *w, const nl_rapi_result_t *res, void *user)
{
    (void)w;
    env_t *e = user;
    if (res->outcome == NL_RAPI_INIT_ERROR) {
        char *doc = nl_error_json(res->error_type, res->body, res->body_len);
        notice(e->pool, "worker %u: init error reported by the runtime (%s)", e->index,
               res->error_type != NULL ? res->error_type : "no type");
        free(e->init_error);
        e->init_error = doc;
        e->init_failed = 1;
        kill_env(e);
        return;
    }
    if (e->job == NULL)
        return;
    unlink_entry(&e->run_e);
    drain_output(e);
    nl_pool_job_t *job = e->job;
    e->state = ENV_RETURNING;
    if (res->outcome == NL_RAPI_RESPONSE) {
        const char *body = res->streamed ? e->stream.base : res->body;
        size_t len = res->streamed ? e->stream.len : res->body_len;
        finish(e, job, NL_POOL_OK, body, len, NULL);
    } else {
        char *doc = nl_error_json(res->error_type, res->body, res->body_len);
        finish(e, job, NL_POOL_ERROR, doc, doc != NULL ? strlen(doc) : 0, res->error_type);
        free(doc);
    }
    cm_buf_dispose(&e->stream);
}

static void rapi_on_log(nl_rapi_worker_t *w, const char *line, void *user)
{
    (void)w;
    env_t *e = user;
    notice(e->pool, "worker %u: %s", e->index, line);
}

static void on_init_timeout(h2o_timeout_entry_t *t)
{
    env_t *e = H2O_STRUCT_FROM_MEMBER(env_t, init_e, t);
    notice(e->pool, "worker %u: init timed out after %.2f seconds: killing it", e->index, INIT_LIMIT_MS / 1000.0);
    e->init_failed = 1;
    kill_env(e);
}

static void on_run_timeout(h2o_timeout_entry_t *t)
{
    env_t *e = H2O_STRUCT_FROM_MEMBER(env_t, run_e, t);
    if (e->job == NULL)
        return;
    char ts[CM_TIMESTAMP_SIZE];
    cm_timestamp(ts, cm_epoch_ms());
    platform_line(e, "%s %s Task timed out after %.2f seconds", ts, e->request_id, e->pool->cfg->timeout_s);
    nl_rapi_worker_abandon(e->rapi);
    nl_pool_job_t *job = e->job;
    char *doc = nl_timeout_error_json(e->request_id, e->pool->cfg->timeout_s);
    notice(e->pool, "worker %u: request %s timed out after %.2f s: replacing the runtime", e->index, e->request_id,
           e->pool->cfg->timeout_s);
    drain_output(e);
    e->timed_out = 1;
    kill_env(e);
    finish(e, job, NL_POOL_TIMEOUT, doc, doc != NULL ? strlen(doc) : 0, "Sandbox.Timedout");
    free(doc);
}

static void on_backoff(h2o_timeout_entry_t *t)
{
    env_t *e = H2O_STRUCT_FROM_MEMBER(env_t, backoff_e, t);
    if (spawn_env(e) != 0) {
        e->state = ENV_BACKOFF;
        h2o_timeout_link(e->pool->loop, &e->pool->backoff_to, &e->backoff_e);
    }
}

/* The process of e has been reaped: settle its job, free its worker, start its successor. */
static void env_exited(env_t *e)
{
    nl_pool_t *p = e->pool;
    unlink_entry(&e->init_e);
    unlink_entry(&e->run_e);
    close_output(e);
    int was_init = e->state == ENV_STARTING || e->init_failed;
    if (e->job != NULL) {
        nl_pool_job_t *job = e->job;
        if (e->started) {
            nl_rapi_worker_abandon(e->rapi);
            char why[96];
            nl_exit_text(e->sandbox.status, why, sizeof(why));
            notice(p, "worker %u: runtime exited during request %s (%s): replacing it", e->index, e->request_id, why);
            char *doc = nl_exit_error_json(e->request_id, e->sandbox.status);
            platform_line(e, "RequestId: %s Error: Runtime exited with error: %s", e->request_id, why);
            finish(e, job, NL_POOL_CRASH, doc, doc != NULL ? strlen(doc) : 0, "Runtime.ExitError");
            free(doc);
        } else {
            /* it never saw the event: another runtime gets it, first in line */
            e->job = NULL;
            job->env = NULL;
            h2o_linklist_insert(p->queue.next, &job->link);
            p->queued++;
        }
    } else if (!e->timed_out && e->state != ENV_DYING) {
        char why[96];
        nl_exit_text(e->sandbox.status, why, sizeof(why));
        notice(p, "worker %u: runtime exited %s (%s): replacing it", e->index, was_init ? "during init" : "while idle",
               why);
    }
    if (was_init && !h2o_linklist_is_empty(&p->queue)) {
        /* the oldest waiting request gets the failed init's error, as the cold start's invocation would */
        nl_pool_job_t *job = H2O_STRUCT_FROM_MEMBER(nl_pool_job_t, link, p->queue.next);
        h2o_linklist_unlink(&job->link);
        p->queued--;
        char *doc = e->init_error;
        e->init_error = NULL;
        if (doc == NULL)
            doc = nl_exit_error_json("", e->sandbox.status);
        finish(NULL, job, NL_POOL_INIT, doc, doc != NULL ? strlen(doc) : 0,
               doc != NULL && strstr(doc, "Runtime.ExitError") ? "Runtime.ExitError" : "Runtime.InitError");
        free(doc);
    }
    free(e->init_error);
    e->init_error = NULL;
    nl_sandbox_dispose(&e->sandbox);
    e->spawned = 0;
    nl_rapi_worker_free(e->rapi);
    e->rapi = NULL;
    cm_buf_dispose(&e->stream);
    if (was_init) {
        e->state = ENV_BACKOFF;
        h2o_timeout_link(p->loop, &p->backoff_to, &e->backoff_e);
    } else if (spawn_env(e) != 0) {
        e->state = ENV_BACKOFF;
        h2o_timeout_link(p->loop, &p->backoff_to, &e->backoff_e);
    }
    schedule_dispatch(p);
}

void nl_pool_on_sigchld(nl_pool_t *p)
{
    for (unsigned i = 0; i < p->cfg->workers; i++) {
        env_t *e = &p->envs[i];
        if (!e->spawned || !nl_sandbox_poll(&e->sandbox))
            continue;
        /* the leader is gone; whatever it started goes with it, as Lambda tears the sandbox down */
        nl_sandbox_kill(&e->sandbox, SIGKILL);
        env_exited(e);
    }
}

/* Starts a runtime in slot e. Returns 0, or CM_ESYS/CM_ENOMEM after logging why (e left not spawned). */
static int spawn_env(env_t *e)
{
    nl_pool_t *p = e->pool;
    const nl_pool_config_t *cfg = p->cfg;
    int rc = nl_rapi_worker_new(p->loop, &p->rapi_cfg, &p->rapi_cb, e, &e->rapi);
    if (rc != 0) {
        notice(p, "worker %u: cannot serve the Runtime API on 127.0.0.1: %s: %s", e->index, cm_strerror(rc),
               strerror(errno));
        return rc;
    }
    nl_env_t env;
    nl_env_init(&env);
    nl__log_stream_name(e->stream_name, cm_epoch_ms(), "$LATEST");
    nl_lambda_env_t le = {.runtime_api = nl_rapi_worker_address(e->rapi),
                          .handler = cfg->handler,
                          .task_root = cfg->task_root,
                          .function_name = cfg->function_name,
                          .region = cfg->region,
                          .memory_mb = cfg->memory_mb,
                          .log_stream = e->stream_name};
    nl_env_t empty;
    nl_env_init(&empty);
    char **envp = NULL;
    int fd = -1;
    rc = nl_lambda_env_fill(&env, &le, cfg->user_env != NULL ? cfg->user_env : &empty,
                            (const char *(*)(const char *))getenv);
    if (rc == 0 && (envp = nl_env_environ(&env)) == NULL)
        rc = CM_ENOMEM;
    if (rc == 0) {
        e->spawn_ns = cm_mono_ns();
        rc = nl_sandbox_spawn_piped(&e->sandbox, cfg->bootstrap, cfg->task_root, envp, &fd);
        if (rc != 0)
            notice(p, "worker %u: cannot start '%.200s': %s", e->index, cfg->bootstrap, strerror(errno));
    } else {
        notice(p, "worker %u: cannot build the runtime's environment: %s", e->index, cm_strerror(rc));
    }
    nl_env_free_environ(envp);
    nl_env_dispose(&env);
    nl_env_dispose(&empty);
    if (rc != 0) {
        nl_rapi_worker_free(e->rapi);
        e->rapi = NULL;
        return rc;
    }
    e->spawned = 1;
    e->init_failed = 0;
    e->timed_out = 0;
    e->out = h2o_evloop_socket_create(p->loop, fd, 0);
    e->out->data = e;
    h2o_socket_read_start(e->out, on_output);
    e->state = ENV_STARTING;
    h2o_timeout_link(p->loop, &p->init_to, &e->init_e);
    return 0;
}

int nl_pool_new(h2o_loop_t *loop, const nl_pool_config_t *cfg, nl_pool_t **out)
{
    if (cfg->workers == 0)
        return CM_EINVAL;
    nl_pool_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return CM_ENOMEM;
    p->envs = calloc(cfg->workers, sizeof(*p->envs));
    if (p->envs == NULL) {
        free(p);
        return CM_ENOMEM;
    }
    p->loop = loop;
    p->cfg = cfg;
    p->rapi_cfg = (nl_rapi_config_t){.function_name = cfg->function_name, .region = cfg->region};
    p->rapi_cb = (nl_rapi_callbacks_t){.on_idle = rapi_on_idle,
                                       .on_start = rapi_on_start,
                                       .on_stream = rapi_on_stream,
                                       .on_result = rapi_on_result,
                                       .on_log = rapi_on_log};
    h2o_linklist_init_anchor(&p->queue);
    h2o_timeout_init(loop, &p->init_to, INIT_LIMIT_MS);
    h2o_timeout_init(loop, &p->run_to, (uint64_t)(cfg->timeout_s * 1000));
    h2o_timeout_init(loop, &p->backoff_to, BACKOFF_MS);
    h2o_timeout_init(loop, &p->now_to, 0);
    p->dispatch_e.cb = on_dispatch;
    for (unsigned i = 0; i < cfg->workers; i++) {
        env_t *e = &p->envs[i];
        e->pool = p;
        e->index = i + 1;
        e->init_e.cb = on_init_timeout;
        e->run_e.cb = on_run_timeout;
        e->backoff_e.cb = on_backoff;
        cm_buf_init(&e->line, MAX_LINE);
        cm_buf_init(&e->stream, NL_RAPI_MAX_STREAM);
        cm_buf_init(&e->tail, 2 * NL_POOL_LOG_TAIL);
    }
    for (unsigned i = 0; i < cfg->workers; i++) {
        int rc = spawn_env(&p->envs[i]);
        if (rc != 0) {
            int saved = errno;
            nl_pool_free(p);
            errno = saved;
            return rc;
        }
    }
    *out = p;
    return 0;
}

void nl_pool_free(nl_pool_t *p)
{
    if (p == NULL)
        return;
    for (unsigned i = 0; i < p->cfg->workers; i++) {
        env_t *e = &p->envs[i];
        if (e->spawned)
            nl_sandbox_dispose(&e->sandbox);
        close_output(e);
        if (e->job != NULL)
            job_free(e->job);
        e->job = NULL;
        unlink_entry(&e->init_e);
        unlink_entry(&e->run_e);
        unlink_entry(&e->backoff_e);
        nl_rapi_worker_free(e->rapi);
        free(e->init_error);
        cm_buf_dispose(&e->line);
        cm_buf_dispose(&e->stream);
        cm_buf_dispose(&e->tail);
    }
    while (!h2o_linklist_is_empty(&p->queue)) {
        nl_pool_job_t *job = H2O_STRUCT_FROM_MEMBER(nl_pool_job_t, link, p->queue.next);
        h2o_linklist_unlink(&job->link);
        job_free(job);
    }
    unlink_entry(&p->dispatch_e);
    h2o_timeout_dispose(p->loop, &p->init_to);
    h2o_timeout_dispose(p->loop, &p->run_to);
    h2o_timeout_dispose(p->loop, &p->backoff_to);
    h2o_timeout_dispose(p->loop, &p->now_to);
    free(p->envs);
    free(p);
}

int nl_pool_submit(nl_pool_t *p, const char *payload, size_t len, nl_pool_done_cb cb, void *user, nl_pool_job_t **out)
{
    size_t max = p->cfg->max_queue != 0 ? p->cfg->max_queue : DEFAULT_MAX_QUEUE;
    if (p->queued >= max)
        return CM_EBUSY;
    nl_pool_job_t *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return CM_ENOMEM;
    job->payload = malloc(len + 1);
    if (job->payload == NULL) {
        free(job);
        return CM_ENOMEM;
    }
    memcpy(job->payload, payload, len);
    job->payload[len] = '\0';
    job->len = len;
    job->pool = p;
    job->cb = cb;
    job->user = user;
    h2o_linklist_insert(&p->queue, &job->link);
    p->queued++;
    if (out != NULL)
        *out = job;
    /* an idle runtime takes it at once: dispatch never calls back (a failed hand-over requeues) */
    dispatch(p);
    return 0;
}

void nl_pool_cancel(nl_pool_job_t *job)
{
    if (job->env == NULL) {
        h2o_linklist_unlink(&job->link);
        job->pool->queued--;
        job_free(job);
        return;
    }
    job->cb = NULL;
}

unsigned nl_pool_warm(const nl_pool_t *p)
{
    unsigned n = 0;
    for (unsigned i = 0; i < p->cfg->workers; i++) {
        env_state_t s = p->envs[i].state;
        n += s == ENV_IDLE || s == ENV_BUSY || s == ENV_RETURNING;
    }
    return n;
}

size_t nl_pool_queued(const nl_pool_t *p)
{
    return p->queued;
}
