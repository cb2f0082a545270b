/* Table-driven tests of the env set, SAM's env-vars parsing and Lambda's variables. */
#include "local/env.h"
#include "check.h"
#include "common/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct case_ {
    const char *doc;
    const char *fn;
    int want_rc;
    const char *want_err; /* substring of the message */
    const char *key, *want_value;
};

static const char *fake_parent(const char *name)
{
    return strcmp(name, "AWS_SESSION_TOKEN") == 0 ? "tok" : NULL;
}

int main(void)
{
    static const struct case_ cases[] = {
        {"{\"Parameters\":{\"A\":\"1\"}}", "f", 0, NULL, "A", "1"},
        {"{\"Parameters\":{\"A\":\"1\"},\"f\":{\"A\":\"2\"}}", "f", 0, NULL, "A", "2"},
        {"{\"f\":{\"A\":\"2\"},\"Parameters\":{\"A\":\"1\"}}", "f", 0, NULL, "A", "2"},
        {"{\"Parameters\":{\"A\":\"1\"},\"g\":{\"A\":\"2\"}}", "f", 0, NULL, "A", "1"},
        {"{\"f\":{\"N\":12.5,\"I\":-3,\"B\":false}}", "f", 0, NULL, "N", "12.5"},
        {"{\"f\":{\"N\":12.5,\"I\":-3,\"B\":false}}", "f", 0, NULL, "I", "-3"},
        {"{\"f\":{\"N\":12.5,\"I\":-3,\"B\":false}}", "f", 0, NULL, "B", "false"},
        {"{}", "f", 0, NULL, "A", NULL},
        {"", "f", CM_ECONFIG, "not valid JSON", NULL, NULL},
        {"[]", "f", CM_ECONFIG, "must be a JSON object", NULL, NULL},
        {"{\"Parameters\":\"x\"}", "f", CM_ECONFIG, "\"Parameters\" must be an object", NULL, NULL},
        {"{\"f\":{\"A\":null}}", "f", CM_ECONFIG, "\"f\".\"A\": value must be a string", NULL, NULL},
        {"{\"f\":{\"A\":[1]}}", "f", CM_ECONFIG, "\"f\".\"A\": value must be", NULL, NULL},
        {"{\"f\":{\"A=B\":\"1\"}}", "f", CM_ECONFIG, "not a valid variable name", NULL, NULL},
        {"{\"f\":{\"\":\"1\"}}", "f", CM_ECONFIG, "not a valid variable name", NULL, NULL},
        {"{\"f\":{\"A\":\"1\",\"A\":\"2\"}}", "f", CM_ECONFIG, "duplicate", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct case_ *c = &cases[i];
        nl_env_t env;
        nl_env_init(&env);
        char err[256] = "";
        int rc = nl_env_parse_sam(&env, c->doc, strlen(c->doc), c->fn, err, sizeof(err));
        const char *got = c->key != NULL ? nl_env_get(&env, c->key) : NULL;
        int ok = rc == c->want_rc && (c->want_err == NULL || strstr(err, c->want_err) != NULL) &&
                 (c->key == NULL ||
                  (got == NULL ? c->want_value == NULL : c->want_value != NULL && strcmp(got, c->want_value) == 0));
        CHECK(!(!ok), "case %zu: '%s': rc=%d err='%s' %s='%s'", i, c->doc, rc, err, c->key ? c->key : "",
              got ? got : "(null)");
        nl_env_dispose(&env);
    }

    /* Lambda's variables: reserved ones win over the user's, the four defaults do not */
    nl_env_t user, env;
    nl_env_init(&user);
    nl_env_init(&env);
    nl_env_set(&user, "TZ", "Europe/Paris");
    nl_env_set(&user, "AWS_REGION", "mars-1");
    nl_env_set(&user, "MINE", "yes");
    nl_lambda_env_t l = {.runtime_api = "127.0.0.1:9",
                         .handler = "h",
                         .task_root = "/t",
                         .function_name = "fn",
                         .region = "eu-west-1",
                         .memory_mb = 512,
                         .log_stream = "s"};
    static const char *const want[][2] = {
        {"TZ", "Europe/Paris"},
        {"AWS_REGION", "eu-west-1"},
        {"MINE", "yes"},
        {"AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9"},
        {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"},
        {"AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/fn"},
        {"LD_LIBRARY_PATH", "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/t:/t/lib:/opt/lib"},
        {"AWS_SESSION_TOKEN", "tok"},
        {"AWS_ACCESS_KEY_ID", NULL},
    };
    CHECK(nl_lambda_env_fill(&env, &l, &user, fake_parent) == 0, "nl_lambda_env_fill failed");
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *got = nl_env_get(&env, want[i][0]);
        CHECK(!(got == NULL ? want[i][1] != NULL : want[i][1] == NULL || strcmp(got, want[i][1]) != 0),
              "lambda env %s: got '%s', want '%s'", want[i][0], got ? got : "(null)",
              want[i][1] ? want[i][1] : "(null)");
    }
    char **envp = nl_env_environ(&env);
    int found = 0;
    for (char **p = envp; p != NULL && *p != NULL; p++)
        found += strcmp(*p, "MINE=yes") == 0;
    CHECK(!(found != 1), "environ: MINE=yes found %d times", found);
    nl_env_free_environ(envp);
    CHECK(nl_env_set(&env, "A=B", "x") == CM_EINVAL, "nl_env_set accepted the name 'A=B'");
    nl_env_dispose(&env);
    nl_env_dispose(&user);
    return check_done("local_env");
}
