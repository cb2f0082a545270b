/*
 * main.c: build/bin/bootstrap, the function as Lambda runs it: the handler of handler.h on the runtime's
 * loop. The store comes from NEARJS_STORE, by default file://$LAMBDA_TASK_ROOT/content (the content
 * folder packaged next to the bootstrap); a URL the function cannot use fails init, with the URL and
 * the cause in the init error, rather than failing every request.
 */
#include <stdio.h>
#include <stdlib.h>
#include "common/buf.h"
#include "common/env.h"
#include "common/error.h"
#include "function/handler.h"
#include "nearjs/runtime.h"

typedef struct app {
    fn_handler_t *handler;
    cm_buf_t out;
} app_t;

static void log_line(void *ctx, fn_log_level_t level, const char *line)
{
    (void)ctx;
    lrt_log(level == FN_LOG_ERROR ? LRT_LOG_ERROR : level == FN_LOG_WARN ? LRT_LOG_WARN : LRT_LOG_INFO, "%s", line);
}

static void init(lrt_response_t *err, void *user)
{
    app_t *app = user;
    char fallback[4096];
    const char *url = getenv("NEARJS_STORE");
    if (url == NULL || url[0] == '\0') {
        const char *root = getenv("LAMBDA_TASK_ROOT");
        snprintf(fallback, sizeof(fallback), "file://%s/content", root != NULL && root[0] != '\0' ? root : "/var/task");
        url = fallback;
    }
    int rc = fn_handler_new(url, log_line, NULL, &app->handler);
    if (rc != 0)
        lrt_response_fail(err, "Runtime.InitError", "nearjs: store '%.300s'%s: %s%s", url,
                          url == fallback ? " (NEARJS_STORE unset: the default)" : " (NEARJS_STORE)", cm_strerror(rc),
                          rc == CM_ESTORE ? " (not a readable folder)" : "");
    else
        fn_handler_set_region(app->handler, cm_env_region());
}

static void handle(const lrt_invocation_t *inv, lrt_response_t *res, void *user)
{
    app_t *app = user;
    int rc = fn_handler_handle(app->handler, inv->payload, inv->payload_len, &app->out);
    if (rc != 0) {
        lrt_response_fail(res, "Function.Failed", "nearjs: %s", cm_strerror(rc));
        return;
    }
    lrt_response_set(res, app->out.base, app->out.len, "application/json");
}

int main(void)
{
    app_t app = {0};
    cm_buf_init(&app.out, LRT_MAX_RESPONSE);
    lrt_options_t opts = {.handler = handle, .init = init, .user = &app};
    int status = lrt_run(&opts);
    fn_handler_free(app.handler);
    cm_buf_dispose(&app.out);
    return status;
}
