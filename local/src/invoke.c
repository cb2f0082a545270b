/*
 * `nearjs-local invoke`: one runtime process, one Runtime API worker, one event.
 *
 * Phases: INIT (spawned, waiting for the first GET /next; 10 s limit) -> RUNNING (event handed over;
 * --timeout limit) -> DONE (result known; wait briefly for the runtime to come back to /next, as Lambda
 * freezes it there) -> STOPPING (SIGTERM, then SIGKILL after a grace) -> the runtime is reaped, the
 * REPORT line needs its rusage -> output, exit. A crash or timeout in INIT/RUNNING decides the result
 * itself. The loop runs until `finished`.
 */
#include "invoke.h"
#include "invoke_args.h"
#include "ids.h"
#include "local/env.h"
#include "common/error.h"
#include "local/rapi.h"
#include "local/report.h"
#include "local/sandbox.h"
#include "common/buf.h"
#include "common/env.h"
#include "common/h2o_compat.h"
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define INIT_LIMIT_MS 10000
#define LINGER_MS 1000 /* after the result, how long the runtime may take to come back to /next */
#define GRACE_MS 500   /* between SIGTERM and SIGKILL */

enum { PH_INIT, PH_RUNNING, PH_DONE, PH_STOPPING };

typedef struct invoke {
    nl__invoke_args_t args;
    h2o_loop_t *loop;
    nl_rapi_worker_t *worker;
    nl_signals_t *signals;
    nl_sandbox_t sandbox;
    int spawned;
    int phase;
    int finished;
    int exit_code;
    char request_id[NL_REQUEST_ID_SIZE];
    int started; /* START printed */
    uint64_t spawn_ns, init_ns, start_ns, end_ns;
    int has_init;
    /* the outcome */
    int have_result;
    int failed;
    char *output; /* what goes to stdout */
    size_t output_len;
    cm_buf_t stream; /* a streamed response, collected */
    /* timers */
    h2o_timeout_t init_to, run_to, linger_to, grace_to;
    h2o_timeout_entry_t init_e, run_e, linger_e, grace_e;
    nl_rapi_config_t rapi_cfg;
    nl_rapi_callbacks_t rapi_cb;
} invoke_t;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    cm_buf_t b;
    cm_buf_init(&b, 8192);
    va_list ap;
    va_start(ap, fmt);
    cm_buf_vappendf(&b, fmt, ap);
    va_end(ap);
    cm_log(stderr, "nearjs-local", "%s", b.base != NULL ? b.base : "");
    cm_buf_dispose(&b);
}

/* Writes a Lambda platform line (START/END/REPORT) as is, in one write. */
static void platform_line(const char *line)
{
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

static void print_start(invoke_t *iv)
{
    if (iv->started)
        return;
    iv->started = 1;
    char line[128];
    snprintf(line, sizeof(line), "START RequestId: %s Version: $LATEST", iv->request_id);
    platform_line(line);
}

static void set_result(invoke_t *iv, int failed, char *output, size_t len)
{
    if (iv->have_result) {
        free(output);
        return;
    }
    iv->have_result = 1;
    iv->failed = failed;
    iv->output = output;
    iv->output_len = output != NULL ? len : 0;
    iv->end_ns = cm_mono_ns();
}

static void unlink_timer(h2o_timeout_entry_t *e)
{
    if (h2o_timeout_is_linked(e))
        h2o_timeout_unlink(e);
}

static void stop_runtime(invoke_t *iv)
{
    if (iv->phase == PH_STOPPING)
        return;
    iv->phase = PH_STOPPING;
    unlink_timer(&iv->linger_e);
    nl_sandbox_kill(&iv->sandbox, SIGTERM);
    h2o_timeout_link(iv->loop, &iv->grace_to, &iv->grace_e);
}

/* The runtime has been reaped: decide what is left to decide, print, finish. */
static void conclude(invoke_t *iv)
{
    unlink_timer(&iv->init_e);
    unlink_timer(&iv->run_e);
    unlink_timer(&iv->linger_e);
    unlink_timer(&iv->grace_e);
    if (!iv->has_init) {
        iv->has_init = 1;
        iv->init_ns = cm_mono_ns() - iv->spawn_ns;
    }
    if (!iv->have_result) {
        /* it died before answering: Lambda's Runtime.ExitError */
        nl_rapi_worker_abandon(iv->worker);
        char *doc = nl_exit_error_json(iv->request_id, iv->sandbox.status);
        char why[96];
        nl_exit_text(iv->sandbox.status, why, sizeof(why));
        logf_("runtime exited before answering (%s)", why);
        set_result(iv, 1, doc, doc != NULL ? strlen(doc) : 0);
    }
    print_start(iv);
    char line[512];
    snprintf(line, sizeof(line), "END RequestId: %s", iv->request_id);
    platform_line(line);
    nl_report_t r = {.request_id = iv->request_id,
                     .duration_ns = iv->start_ns != 0 && iv->end_ns > iv->start_ns ? iv->end_ns - iv->start_ns : 0,
                     .memory_mb = iv->args.memory_mb,
                     .max_rss_kb = (uint64_t)iv->sandbox.usage.ru_maxrss,
                     .has_init = 1,
                     .init_ns = iv->init_ns};
    nl_report_format(line, sizeof(line), &r);
    platform_line(line);
    if (iv->output != NULL && iv->output_len != 0) {
        fwrite(iv->output, 1, iv->output_len, stdout);
        fflush(stdout);
    }
    iv->exit_code = iv->failed ? NL_EXIT_FUNCTION : NL_EXIT_OK;
    iv->finished = 1;
}

static void on_signal(nl_signals_t *sig, int signo, void *user)
{
    (void)sig;
    invoke_t *iv = user;
    if (signo != SIGCHLD) {
        char buf[32];
        logf_("%s: stopping the runtime", nl_signal_text(signo, buf, sizeof(buf)));
        nl_sandbox_dispose(&iv->sandbox);
        iv->exit_code = NL_EXIT_INTERRUPTED;
        iv->finished = 1;
        return;
    }
    if (iv->finished || !nl_sandbox_poll(&iv->sandbox))
        return;
    /* the leader is gone; whatever it started goes with it, as Lambda tears the sandbox down */
    nl_sandbox_kill(&iv->sandbox, SIGKILL);
    conclude(iv);
}

static void on_init_timeout(h2o_timeout_entry_t *e)
{
    invoke_t *iv = H2O_STRUCT_FROM_MEMBER(invoke_t, init_e, e);
    char ts[CM_TIMESTAMP_SIZE];
    cm_timestamp(ts, cm_epoch_ms());
    fprintf(stderr, "%s %s Task timed out after %.2f seconds (init phase)\n", ts, iv->request_id,
            INIT_LIMIT_MS / 1000.0);
    char *doc = nl_timeout_error_json(iv->request_id, INIT_LIMIT_MS / 1000.0);
    set_result(iv, 1, doc, doc != NULL ? strlen(doc) : 0);
    iv->phase = PH_STOPPING;
    nl_sandbox_kill(&iv->sandbox, SIGKILL);
}

static void on_run_timeout(h2o_timeout_entry_t *e)
{
    invoke_t *iv = H2O_STRUCT_FROM_MEMBER(invoke_t, run_e, e);
    char ts[CM_TIMESTAMP_SIZE];
    cm_timestamp(ts, cm_epoch_ms());
    fprintf(stderr, "%s %s Task timed out after %.2f seconds\n", ts, iv->request_id, iv->args.timeout_s);
    fflush(stderr);
    nl_rapi_worker_abandon(iv->worker);
    char *doc = nl_timeout_error_json(iv->request_id, iv->args.timeout_s);
    set_result(iv, 1, doc, doc != NULL ? strlen(doc) : 0);
    /* Lambda does not ask a timed-out runtime to stop: it is killed */
    iv->phase = PH_STOPPING;
    nl_sandbox_kill(&iv->sandbox, SIGKILL);
}

static void on_linger_timeout(h2o_timeout_entry_t *e)
{
    stop_runtime(H2O_STRUCT_FROM_MEMBER(invoke_t, linger_e, e));
}

static void on_grace_timeout(h2o_timeout_entry_t *e)
{
    invoke_t *iv = H2O_STRUCT_FROM_MEMBER(invoke_t, grace_e, e);
    nl_sandbox_kill(&iv->sandbox, SIGKILL);
}

static void rapi_on_idle(nl_rapi_worker_t *w, int first, void *user)
{
    invoke_t *iv = user;
    if (!first) {
        /* back on /next after answering: the invocation is over, the sandbox can go */
        if (iv->phase == PH_DONE)
            stop_runtime(iv);
        return;
    }
    if (iv->phase != PH_INIT)
        return;
    iv->has_init = 1;
    iv->init_ns = cm_mono_ns() - iv->spawn_ns;
    unlink_timer(&iv->init_e);
    nl_rapi_event_t ev = {.request_id = iv->request_id,
                          .payload = iv->args.event,
                          .payload_len = iv->args.event_len,
                          .deadline_ms = cm_epoch_ms() + (uint64_t)(iv->args.timeout_s * 1000)};
    char id[NL_REQUEST_ID_SIZE];
    int rc = nl_rapi_worker_invoke(w, &ev, id);
    if (rc != 0) {
        logf_("cannot queue the event: %s", cm_strerror(rc));
        set_result(iv, 1, NULL, 0);
        stop_runtime(iv);
    }
}

static void rapi_on_start(nl_rapi_worker_t *w, const char *request_id, void *user)
{
    (void)w;
    (void)request_id;
    invoke_t *iv = user;
    iv->phase = PH_RUNNING;
    iv->start_ns = cm_mono_ns();
    print_start(iv);
    h2o_timeout_link(iv->loop, &iv->run_to, &iv->run_e);
}

static void rapi_on_stream(nl_rapi_worker_t *w, const char *request_id, const char *bytes, size_t len, void *user)
{
    (void)w;
    (void)request_id;
    invoke_t *iv = user;
    /* the worker enforces the stream cap; ours is the same, so this cannot fail short of memory */
    cm_buf_append(&iv->stream, bytes, len);
}

static void rapi_on_result(nl_rapi_worker_t *w, const nl_rapi_result_t *res, void *user)
{
    (void)w;
    invoke_t *iv = user;
    if (res->outcome == NL_RAPI_RESPONSE) {
        size_t len;
        char *out;
        if (res->streamed) {
            out = cm_buf_detach(&iv->stream, &len);
        } else {
            out = malloc(res->body_len + 1);
            len = res->body_len;
            if (out != NULL)
                memcpy(out, res->body, len);
        }
        set_result(iv, 0, out, len);
    } else {
        char *doc = nl_error_json(res->error_type, res->body, res->body_len);
        if (res->outcome == NL_RAPI_INIT_ERROR)
            logf_("init error reported by the runtime (%s)", res->error_type != NULL ? res->error_type : "no type");
        set_result(iv, 1, doc, doc != NULL ? strlen(doc) : 0);
    }
    unlink_timer(&iv->run_e);
    unlink_timer(&iv->init_e);
    /* after an init error the runtime normally exits by itself; after a response it comes back to /next.
     * Either way it gets LINGER_MS to do so (and to flush its logs) before it is stopped */
    iv->phase = PH_DONE;
    h2o_timeout_link(iv->loop, &iv->linger_to, &iv->linger_e);
}

static void rapi_on_log(nl_rapi_worker_t *w, const char *line, void *user)
{
    (void)w;
    (void)user;
    logf_("%s", line);
}

int nl__invoke_main(int argc, char **argv)
{
    invoke_t iv;
    memset(&iv, 0, sizeof(iv));
    int rc = nl__invoke_args_parse(&iv.args, argc, argv);
    if (rc >= 0) {
        nl__invoke_args_dispose(&iv.args);
        return rc;
    }
    iv.exit_code = NL_EXIT_INTERNAL;
    cm_buf_init(&iv.stream, NL_RAPI_MAX_STREAM);
    nl_rapi_new_request_id(iv.request_id);
    const char *region = cm_env_region();
    if (region == NULL)
        region = "us-east-1";

    iv.loop = h2o_evloop_create();
    h2o_timeout_init(iv.loop, &iv.init_to, INIT_LIMIT_MS);
    h2o_timeout_init(iv.loop, &iv.run_to, (uint64_t)(iv.args.timeout_s * 1000));
    h2o_timeout_init(iv.loop, &iv.linger_to, LINGER_MS);
    h2o_timeout_init(iv.loop, &iv.grace_to, GRACE_MS);
    iv.init_e.cb = on_init_timeout;
    iv.run_e.cb = on_run_timeout;
    iv.linger_e.cb = on_linger_timeout;
    iv.grace_e.cb = on_grace_timeout;

    iv.rapi_cfg = (nl_rapi_config_t){.function_name = iv.args.name, .region = region};
    iv.rapi_cb = (nl_rapi_callbacks_t){.on_idle = rapi_on_idle,
                                       .on_start = rapi_on_start,
                                       .on_stream = rapi_on_stream,
                                       .on_result = rapi_on_result,
                                       .on_log = rapi_on_log};
    nl_env_t env;
    nl_env_init(&env);
    char **envp = NULL;
    if ((rc = nl_signals_new(iv.loop, on_signal, &iv, &iv.signals)) != 0) {
        logf_("cannot watch signals: %s: %s", cm_strerror(rc), strerror(errno));
        goto done;
    }
    if ((rc = nl_rapi_worker_new(iv.loop, &iv.rapi_cfg, &iv.rapi_cb, &iv, &iv.worker)) != 0) {
        logf_("cannot serve the Runtime API on 127.0.0.1: %s: %s", cm_strerror(rc), strerror(errno));
        goto done;
    }
    char stream_name[NL__LOG_STREAM_SIZE];
    nl__log_stream_name(stream_name, cm_epoch_ms(), "$LATEST");
    nl_lambda_env_t le = {.runtime_api = nl_rapi_worker_address(iv.worker),
                          .handler = iv.args.handler,
                          .task_root = iv.args.task_root,
                          .function_name = iv.args.name,
                          .region = region,
                          .memory_mb = iv.args.memory_mb,
                          .log_stream = stream_name};
    if ((rc = nl_lambda_env_fill(&env, &le, &iv.args.user_env, (const char *(*)(const char *))getenv)) != 0 ||
        (envp = nl_env_environ(&env)) == NULL) {
        logf_("cannot build the runtime's environment: %s", cm_strerror(rc != 0 ? rc : CM_ENOMEM));
        goto done;
    }
    iv.spawn_ns = cm_mono_ns();
    if (nl_sandbox_spawn(&iv.sandbox, iv.args.bootstrap, iv.args.task_root, envp) != 0) {
        fprintf(stderr, "nearjs-local: invoke: bootstrap '%.200s': cannot start it: %s\n", iv.args.bootstrap,
                strerror(errno));
        iv.exit_code = NL_EXIT_USAGE;
        goto done;
    }
    iv.spawned = 1;
    iv.phase = PH_INIT;
    h2o_timeout_link(iv.loop, &iv.init_to, &iv.init_e);
    while (!iv.finished)
        h2o_evloop_run(iv.loop, INT32_MAX);

done:
    if (iv.spawned)
        nl_sandbox_dispose(&iv.sandbox);
    unlink_timer(&iv.init_e);
    unlink_timer(&iv.run_e);
    unlink_timer(&iv.linger_e);
    unlink_timer(&iv.grace_e);
    nl_rapi_worker_free(iv.worker);
    nl_signals_free(iv.signals);
    /* let the loop dispose of the sockets just closed before it is destroyed */
    h2o_evloop_run(iv.loop, 0);
    h2o_timeout_dispose(iv.loop, &iv.init_to);
    h2o_timeout_dispose(iv.loop, &iv.run_to);
    h2o_timeout_dispose(iv.loop, &iv.linger_to);
    h2o_timeout_dispose(iv.loop, &iv.grace_to);
    cm_h2o_evloop_destroy(iv.loop);
    nl_env_free_environ(envp);
    nl_env_dispose(&env);
    free(iv.output);
    cm_buf_dispose(&iv.stream);
    nl__invoke_args_dispose(&iv.args);
    return iv.exit_code;
}
