/*
 * An ordered set of environment variables (KEY -> VALUE, a later set replacing an earlier one), and
 * the two ways local/ fills one: SAM's --env-vars JSON file, and the environment Lambda gives a runtime.
 * Not thread-safe; one owner.
 */
#ifndef NEARJS_LOCAL_ENV_H
#define NEARJS_LOCAL_ENV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nl_env {
    char **keys; /* owned */
    char **values;
    size_t count;
    size_t alloc;
} nl_env_t;

void nl_env_init(nl_env_t *env);
void nl_env_dispose(nl_env_t *env);
/* Sets key (non-empty, no '=') to value, replacing an earlier value in place. Both are copied.
 * Returns 0, CM_EINVAL (bad key) or CM_ENOMEM (env unchanged). */
int nl_env_set(nl_env_t *env, const char *key, const char *value);
/* Returns the value of key (borrowed), or NULL. */
const char *nl_env_get(const nl_env_t *env, const char *key);
/* Returns a new NULL-terminated "KEY=VALUE" array for execve (free with nl_env_free_environ), or NULL. */
char **nl_env_environ(const nl_env_t *env);
void nl_env_free_environ(char **envp);

/* Reads SAM's env-vars document {"Parameters": {...}, "<FunctionName>": {...}} from text and sets into
 * env every key of "Parameters", then every key of function_name's section (which wins). Other
 * functions' sections are ignored. Values must be strings, numbers or booleans (numbers as written in
 * JSON, booleans as "true"/"false"). Returns 0, or CM_ECONFIG with a one-line description of the
 * problem in err (env may then hold some of the keys), or CM_ENOMEM. */
int nl_env_parse_sam(nl_env_t *env, const char *text, size_t len, const char *function_name, char *err,
                     size_t err_size);

/* What a Lambda execution environment is told about itself. Strings are borrowed. */
typedef struct nl_lambda_env {
    const char *runtime_api; /* host:port of the Runtime API */
    const char *handler;     /* _HANDLER */
    const char *task_root;   /* LAMBDA_TASK_ROOT: absolute */
    const char *function_name;
    const char *region; /* AWS_REGION and AWS_DEFAULT_REGION */
    unsigned memory_mb;
    const char *log_stream; /* AWS_LAMBDA_LOG_STREAM_NAME */
} nl_lambda_env_t;

/* Fills env as Lambda's provided.al2023 does: LANG, PATH, LD_LIBRARY_PATH and TZ first, then user (the
 * function's own variables, which may replace those four), then the reserved variables, which users
 * cannot replace (Lambda rejects them in a function's configuration), with credentials taken from
 * parent_get ("AWS_ACCESS_KEY_ID"...; e.g. getenv) when set there. Returns 0 or CM_ENOMEM/CM_EINVAL. */
int nl_lambda_env_fill(nl_env_t *env, const nl_lambda_env_t *lambda, const nl_env_t *user,
                       const char *(*parent_get)(const char *name));

#ifdef __cplusplus
}
#endif

#endif
