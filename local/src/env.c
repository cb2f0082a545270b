/*
 * The environment a runtime gets: an ordered key/value set, SAM's env-vars file, Lambda's variables.
 * Invariant: keys are unique; keys[i] and values[i] are owned and non-NULL for i < count.
 */
#include "local/env.h"
#include "common/error.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nl_env_init(nl_env_t *env)
{
    memset(env, 0, sizeof(*env));
}

void nl_env_dispose(nl_env_t *env)
{
    for (size_t i = 0; i < env->count; i++) {
        free(env->keys[i]);
        free(env->values[i]);
    }
    free(env->keys);
    free(env->values);
    nl_env_init(env);
}

const char *nl_env_get(const nl_env_t *env, const char *key)
{
    for (size_t i = 0; i < env->count; i++)
        if (strcmp(env->keys[i], key) == 0)
            return env->values[i];
    return NULL;
}

int nl_env_set(nl_env_t *env, const char *key, const char *value)
{
    if (key[0] == '\0' || strchr(key, '=') != NULL)
        return CM_EINVAL;
    char *v = strdup(value);
    if (v == NULL)
        return CM_ENOMEM;
    for (size_t i = 0; i < env->count; i++) {
        if (strcmp(env->keys[i], key) == 0) {
            free(env->values[i]);
            env->values[i] = v;
            return 0;
        }
    }
    if (env->count == env->alloc) {
        size_t alloc = env->alloc != 0 ? env->alloc * 2 : 16;
        char **k = realloc(env->keys, alloc * sizeof(*k));
        if (k == NULL)
            goto fail;
        env->keys = k;
        char **vs = realloc(env->values, alloc * sizeof(*vs));
        if (vs == NULL)
            goto fail;
        env->values = vs;
        env->alloc = alloc;
    }
    char *k = strdup(key);
    if (k == NULL)
        goto fail;
    env->keys[env->count] = k;
    env->values[env->count] = v;
    env->count++;
    return 0;
fail:
    free(v);
    return CM_ENOMEM;
}

char **nl_env_environ(const nl_env_t *env)
{
    char **envp = calloc(env->count + 1, sizeof(*envp));
    if (envp == NULL)
        return NULL;
    for (size_t i = 0; i < env->count; i++) {
        size_t n = strlen(env->keys[i]) + strlen(env->values[i]) + 2;
        envp[i] = malloc(n);
        if (envp[i] == NULL) {
            nl_env_free_environ(envp);
            return NULL;
        }
        snprintf(envp[i], n, "%s=%s", env->keys[i], env->values[i]);
    }
    return envp;
}

void nl_env_free_environ(char **envp)
{
    if (envp == NULL)
        return;
    for (char **p = envp; *p != NULL; p++)
        free(*p);
    free(envp);
}

/* Sets every key of one section. Returns 0, CM_ECONFIG (err filled) or CM_ENOMEM. */
static int apply_section(nl_env_t *env, const char *section, json_t *obj, char *err, size_t err_size)
{
    if (!json_is_object(obj)) {
        snprintf(err, err_size, "\"%.64s\" must be an object of variables", section);
        return CM_ECONFIG;
    }
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        char *text = NULL;
        if (json_is_string(v))
            text = strdup(json_string_value(v));
        else if (json_is_number(v) || json_is_boolean(v))
            text = json_dumps(v, JSON_ENCODE_ANY);
        else {
            snprintf(err, err_size, "\"%.64s\".\"%.64s\": value must be a string, number or boolean", section, key);
            return CM_ECONFIG;
        }
        if (text == NULL)
            return CM_ENOMEM;
        int rc = nl_env_set(env, key, text);
        free(text);
        if (rc == CM_EINVAL) {
            snprintf(err, err_size, "\"%.64s\".\"%.64s\": not a valid variable name", section, key);
            return CM_ECONFIG;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int nl_env_parse_sam(nl_env_t *env, const char *text, size_t len, const char *function_name, char *err, size_t err_size)
{
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        snprintf(err, err_size, "not valid JSON: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return CM_ECONFIG;
    }
    int rc = 0;
    if (!json_is_object(doc)) {
        snprintf(err, err_size, "must be a JSON object like {\"Parameters\": {\"KEY\": \"VALUE\"}}");
        rc = CM_ECONFIG;
        goto done;
    }
    json_t *params = json_object_get(doc, "Parameters");
    if (params != NULL && (rc = apply_section(env, "Parameters", params, err, err_size)) != 0)
        goto done;
    json_t *own = json_object_get(doc, function_name);
    if (own != NULL && strcmp(function_name, "Parameters") != 0)
        rc = apply_section(env, function_name, own, err, err_size);
done:
    json_decref(doc);
    return rc;
}

int nl_lambda_env_fill(nl_env_t *env, const nl_lambda_env_t *l, const nl_env_t *user,
                       const char *(*parent_get)(const char *name))
{
    char ld[4096], group[512], memory[16];
    snprintf(ld, sizeof(ld), "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:%s:%s/lib:/opt/lib",
             l->task_root, l->task_root);
    snprintf(group, sizeof(group), "/aws/lambda/%s", l->function_name);
    snprintf(memory, sizeof(memory), "%u", l->memory_mb);
    const char *defaults[][2] = {
        {"LANG", "en_US.UTF-8"},
        {"PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"},
        {"LD_LIBRARY_PATH", ld},
        {"TZ", ":UTC"},
    };
    const char *reserved[][2] = {
        {"_HANDLER", l->handler},
        {"AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"},
        {"AWS_LAMBDA_FUNCTION_NAME", l->function_name},
        {"AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"},
        {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory},
        {"AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"},
        {"AWS_LAMBDA_LOG_GROUP_NAME", group},
        {"AWS_LAMBDA_LOG_STREAM_NAME", l->log_stream},
        {"AWS_LAMBDA_RUNTIME_API", l->runtime_api},
        {"AWS_REGION", l->region},
        {"AWS_DEFAULT_REGION", l->region},
        {"LAMBDA_TASK_ROOT", l->task_root},
        {"LAMBDA_RUNTIME_DIR", "/var/runtime"},
    };
    static const char *const creds[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"};
    int rc;
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        if ((rc = nl_env_set(env, defaults[i][0], defaults[i][1])) != 0)
            return rc;
    for (size_t i = 0; user != NULL && i < user->count; i++)
        if ((rc = nl_env_set(env, user->keys[i], user->values[i])) != 0)
            return rc;
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if ((rc = nl_env_set(env, reserved[i][0], reserved[i][1])) != 0)
            return rc;
    for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
        const char *v = parent_get != NULL ? parent_get(creds[i]) : NULL;
        if (v != NULL && (rc = nl_env_set(env, creds[i], v)) != 0)
            return rc;
    }
    return 0;
}
