/* Table-driven tests of SAM template reading: broken templates first (each error must name the file's
 * line and the key), then good ones. */
#include "common/error.h"
#include "check.h"
#include "local/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct tcase {
    const char *name;
    const char *yaml;
    const char *want_fn; /* --name, or NULL */
    int want_rc;
    const char *want_err; /* substring of the error (after the file name) */
    const char *id, *handler;
    double timeout;
    unsigned memory;
    const char *code_suffix; /* the end of code_dir, or NULL for none */
    const char *env;         /* "K=V;K=V;" in order */
    size_t skipped;
} tcase_t;

#define FN_HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"

static const tcase_t cases[] = {
    {"bad yaml", "Resources: [\n", NULL, CM_ECONFIG, ":2: YAML:", NULL, NULL, 0, 0, NULL, NULL, 0},
    {"no resources", "Globals: {}\n", NULL, CM_ECONFIG, ":1: Resources: missing", NULL, NULL, 0, 0, NULL, NULL, 0},
    {"no function", "Resources:\n  B:\n    Type: AWS::S3::Bucket\n", NULL, CM_ECONFIG,
     ":2: Resources: no AWS::Serverless::Function", NULL, NULL, 0, 0, NULL, NULL, 0},
    {"two functions need --name",
     "Resources:\n  A:\n    Type: AWS::Serverless::Function\n  B:\n    Type: AWS::Serverless::Function\n", NULL,
     CM_ECONFIG, "2 functions: choose one with --name", NULL, NULL, 0, 0, NULL, NULL, 0},
    {"unknown --name", FN_HEAD "      Handler: h\n", "Other", CM_ECONFIG, "no function named 'Other'", NULL, NULL, 0, 0,
     NULL, NULL, 0},
    {"timeout not a number", FN_HEAD "      Timeout: soon\n", NULL, CM_ECONFIG,
     ":5: Resources.Fn.Properties.Timeout: want an integer from 1 to 900, got 'soon'", NULL, NULL, 0, 0, NULL, NULL, 0},
    {"timeout too big", FN_HEAD "      Timeout: 901\n", NULL, CM_ECONFIG, ":5: Resources.Fn.Properties.Timeout", NULL,
     NULL, 0, 0, NULL, NULL, 0},
    {"memory too small", FN_HEAD "      MemorySize: 64\n", NULL, CM_ECONFIG,
     ":5: Resources.Fn.Properties.MemorySize: want an integer from 128 to 10240", NULL, NULL, 0, 0, NULL, NULL, 0},
    {"handler a list", FN_HEAD "      Handler: [a, b]\n", NULL, CM_ECONFIG,
     ":5: Resources.Fn.Properties.Handler: want a string", NULL, NULL, 0, 0, NULL, NULL, 0},
    {"codeuri in s3", FN_HEAD "      CodeUri: s3://bucket/key.zip\n", NULL, CM_ECONFIG,
     "CodeUri: 's3://bucket/key.zip' is in S3", NULL, NULL, 0, 0, NULL, NULL, 0},
    {"variables a list", FN_HEAD "      Environment:\n        Variables: [a]\n", NULL, CM_ECONFIG,
     ":6: Resources.Fn.Properties.Environment.Variables: want a mapping", NULL, NULL, 0, 0, NULL, NULL, 0},
    {"variable value a list", FN_HEAD "      Environment:\n        Variables:\n          A: [1, 2]\n", NULL, CM_ECONFIG,
     ":7: Resources.Fn.Properties.Environment.Variables.A: want a string", NULL, NULL, 0, 0, NULL, NULL, 0},
    {"globals timeout bad", "Globals:\n  Function:\n    Timeout: -1\n" FN_HEAD "      Handler: h\n", NULL, CM_ECONFIG,
     ":3: Globals.Function.Timeout", NULL, NULL, 0, 0, NULL, NULL, 0},
    /* good */
    {"minimal", FN_HEAD "      CodeUri: build/\n", NULL, 0, NULL, "Fn", NULL, 0, 0, "/build/", "", 0},
    {"globals and overrides",
     "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n"
     "Globals:\n  Function:\n    Timeout: 10\n    MemorySize: 256\n    Environment:\n      Variables:\n"
     "        A: global\n        B: global\n"
     "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n  Render:\n    Type: AWS::Serverless::Function\n"
     "    Properties:\n      Handler: render.handler\n      Runtime: provided.al2023\n      Timeout: 5\n"
     "      CodeUri: /opt/fn\n      Environment:\n        Variables:\n          B: own\n          C: 3\n"
     "          D: !Ref Bucket\n          E:\n            Fn::Sub: x\n",
     NULL, 0, NULL, "Render", "render.handler", 5, 256, "/opt/fn", "A=global;B=own;C=3;", 2},
    {"choose by name",
     "Resources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: a\n"
     "  B:\n    Type: AWS::Lambda::Function\n    Properties:\n      Handler: b\n",
     "B", 0, NULL, "B", "b", 0, 0, NULL, "", 0},
};

static void run(const tcase_t *c, const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/template.yaml", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "template '%s': cannot write %s", c->name, path);
    if (f == NULL)
        return;
    fputs(c->yaml, f);
    fclose(f);
    nl_template_function_t fn;
    nl_template_function_init(&fn);
    char err[NL_TEMPLATE_ERR_SIZE] = "";
    int rc = nl_template_load(path, c->want_fn, &fn, err);
    if (rc != c->want_rc) {
        CHECK(rc == c->want_rc, "template '%s': rc %d (%s), want %d", c->name, rc, err, c->want_rc);
    } else if (rc != 0) {
        CHECK(!(strncmp(err, path, strlen(path)) != 0 || strstr(err, c->want_err) == NULL),
              "template '%s': error '%s'\n  want it to start with '%s' and hold '%s'", c->name, err, path, c->want_err);
    } else {
        char env[512] = "";
        size_t o = 0;
        for (size_t i = 0; i < fn.env.count; i++)
            o += (size_t)snprintf(env + o, sizeof(env) - o, "%s=%s;", fn.env.keys[i], fn.env.values[i]);
        size_t cl = fn.code_dir != NULL ? strlen(fn.code_dir) : 0;
        int code_ok = c->code_suffix == NULL
                          ? fn.code_dir == NULL
                          : fn.code_dir != NULL && cl >= strlen(c->code_suffix) &&
                                strcmp(fn.code_dir + cl - strlen(c->code_suffix), c->code_suffix) == 0;
        CHECK(!(strcmp(fn.logical_id, c->id) != 0 ||
                (c->handler == NULL ? fn.handler != NULL : fn.handler == NULL || strcmp(fn.handler, c->handler) != 0) ||
                fn.timeout_s != c->timeout || fn.memory_mb != c->memory || !code_ok || strcmp(env, c->env) != 0 ||
                fn.skipped_vars != c->skipped),
              "template '%s': got id=%s handler=%s timeout=%g memory=%u code=%s env=%s skipped=%zu\n"
              "  want id=%s handler=%s timeout=%g memory=%u code=*%s env=%s skipped=%zu",
              c->name, fn.logical_id, fn.handler ? fn.handler : "(none)", fn.timeout_s, fn.memory_mb,
              fn.code_dir ? fn.code_dir : "(none)", env, fn.skipped_vars, c->id, c->handler ? c->handler : "(none)",
              c->timeout, c->memory, c->code_suffix ? c->code_suffix : "", c->env, c->skipped);
    }
    nl_template_function_dispose(&fn);
    unlink(path);
}

int main(void)
{
    char dir[] = "/tmp/nl-template-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    /* wrong use first: a file that is not there */
    nl_template_function_t fn;
    nl_template_function_init(&fn);
    char err[NL_TEMPLATE_ERR_SIZE];
    CHECK(!(nl_template_load("/nonexistent/template.yaml", NULL, &fn, err) != CM_ECONFIG ||
            strstr(err, "/nonexistent/template.yaml: No such file") == NULL),
          "missing file: '%s'", err);
    nl_template_function_dispose(&fn);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run(&cases[i], dir);
    rmdir(dir);
    return check_done("local_template");
}
