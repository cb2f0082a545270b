/*
 * SAM template reading (see local/template.h), through libyaml's document API: the whole file is loaded
 * into libyaml's node tree (which keeps each node's line), then walked for the few keys we need. Keys we
 * do not know are ignored, as `sam local` ignores them; values of the wrong shape are errors naming the
 * file, the line and the key's path.
 */
#include "local/template.h"
#include "common/error.h"
#include "files.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Templates are small; a bigger file is a mistake (or an attack on the parser). */
#define MAX_TEMPLATE (4 * 1024 * 1024)

typedef struct reader {
    const char *path;
    yaml_document_t doc;
    char *err;
} reader_t;

void nl_template_function_init(nl_template_function_t *fn)
{
    memset(fn, 0, sizeof(*fn));
    nl_env_init(&fn->env);
}

void nl_template_function_dispose(nl_template_function_t *fn)
{
    free(fn->logical_id);
    free(fn->handler);
    free(fn->code_dir);
    nl_env_dispose(&fn->env);
    memset(fn, 0, sizeof(*fn));
}

static int fail(reader_t *r, const yaml_node_t *at, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(reader_t *r, const yaml_node_t *at, const char *key, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(r->err, NL_TEMPLATE_ERR_SIZE, "%.200s:%zu: %.120s: %.160s", r->path,
             at != NULL ? at->start_mark.line + 1 : 0, key, msg);
    return CM_ECONFIG;
}

static const char *scalar(const yaml_node_t *n)
{
    return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A tag given in the file (short-form intrinsics: !Ref, !Sub, !GetAtt...) rather than a standard one. */
static int is_intrinsic(const yaml_node_t *n)
{
    if (n->tag != NULL && n->tag[0] == '!')
        return 1;
    /* long form: {"Ref": X} or {"Fn::Sub": X} */
    if (n->type == YAML_MAPPING_NODE && n->data.mapping.pairs.top - n->data.mapping.pairs.start == 1)
        return 1;
    return 0;
}

static yaml_node_t *get(reader_t *r, const yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(&r->doc, p->key));
        if (k != NULL && strcmp(k, key) == 0)
            return yaml_document_get_node(&r->doc, p->value);
    }
    return NULL;
}

static int want_map(reader_t *r, const yaml_node_t *n, const char *key)
{
    if (n != NULL && n->type != YAML_MAPPING_NODE)
        return fail(r, n, key, "want a mapping");
    return 0;
}

static int read_uint(reader_t *r, const yaml_node_t *n, const char *key, unsigned long min, unsigned long max,
                     unsigned long *out)
{
    const char *s = scalar(n);
    if (s == NULL || is_intrinsic(n))
        return fail(r, n, key, "want an integer from %lu to %lu", min, max);
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
        return fail(r, n, key, "want an integer from %lu to %lu, got '%.32s'", min, max, s);
    *out = v;
    return 0;
}

/* Reads the properties of one level (Globals.Function, then the function's own, which win). */
static int read_props(reader_t *r, const yaml_node_t *props, const char *where, const char *dir,
                      nl_template_function_t *fn)
{
    char key[256];
    int rc;
    if (props == NULL)
        return 0;
    snprintf(key, sizeof(key), "%s", where);
    if ((rc = want_map(r, props, key)) != 0)
        return rc;
    yaml_node_t *n;
    if ((n = get(r, props, "Handler")) != NULL) {
        snprintf(key, sizeof(key), "%s.Handler", where);
        if (scalar(n) == NULL || is_intrinsic(n))
            return fail(r, n, key, "want a string");
        free(fn->handler);
        if ((fn->handler = strdup(scalar(n))) == NULL)
            return CM_ENOMEM;
    }
    unsigned long v;
    if ((n = get(r, props, "Timeout")) != NULL) {
        snprintf(key, sizeof(key), "%s.Timeout", where);
        if ((rc = read_uint(r, n, key, 1, 900, &v)) != 0)
            return rc;
        fn->timeout_s = (double)v;
    }
    if ((n = get(r, props, "MemorySize")) != NULL) {
        snprintf(key, sizeof(key), "%s.MemorySize", where);
        if ((rc = read_uint(r, n, key, 128, 10240, &v)) != 0)
            return rc;
        fn->memory_mb = (unsigned)v;
    }
    if ((n = get(r, props, "CodeUri")) != NULL) {
        snprintf(key, sizeof(key), "%s.CodeUri", where);
        const char *s = scalar(n);
        if (s == NULL || is_intrinsic(n) || s[0] == '\0')
            return fail(r, n, key, "want a local path (an S3 location cannot be run locally)");
        if (strncmp(s, "s3://", 5) == 0)
            return fail(r, n, key, "'%.100s' is in S3: point CodeUri at the local build folder", s);
        char path[PATH_MAX];
        int len = s[0] == '/' ? snprintf(path, sizeof(path), "%s", s) : snprintf(path, sizeof(path), "%s/%s", dir, s);
        if (len < 0 || (size_t)len >= sizeof(path))
            return fail(r, n, key, "path too long");
        free(fn->code_dir);
        if ((fn->code_dir = strdup(path)) == NULL)
            return CM_ENOMEM;
    }
    yaml_node_t *envn = get(r, props, "Environment");
    if (envn != NULL) {
        snprintf(key, sizeof(key), "%s.Environment", where);
        if ((rc = want_map(r, envn, key)) != 0)
            return rc;
        yaml_node_t *vars = get(r, envn, "Variables");
        snprintf(key, sizeof(key), "%s.Environment.Variables", where);
        if ((rc = want_map(r, vars, key)) != 0)
            return rc;
        for (yaml_node_pair_t *p = vars != NULL ? vars->data.mapping.pairs.start : NULL;
             vars != NULL && p < vars->data.mapping.pairs.top; p++) {
            yaml_node_t *kn = yaml_document_get_node(&r->doc, p->key);
            yaml_node_t *vn = yaml_document_get_node(&r->doc, p->value);
            const char *k = scalar(kn);
            snprintf(key, sizeof(key), "%s.Environment.Variables.%.64s", where, k != NULL ? k : "?");
            if (k == NULL || k[0] == '\0' || strchr(k, '=') != NULL)
                return fail(r, kn, key, "want a variable name (not empty, no '=')");
            if (is_intrinsic(vn)) {
                fn->skipped_vars++;
                continue;
            }
            if (scalar(vn) == NULL)
                return fail(r, vn, key, "want a string, number or boolean");
            if ((rc = nl_env_set(&fn->env, k, scalar(vn))) != 0)
                return rc;
        }
    }
    return 0;
}

static int is_function_type(const char *type)
{
    return type != NULL &&
           (strcmp(type, "AWS::Serverless::Function") == 0 || strcmp(type, "AWS::Lambda::Function") == 0);
}

static int walk(reader_t *r, const char *want, nl_template_function_t *fn)
{
    yaml_node_t *root = yaml_document_get_root_node(&r->doc);
    if (root == NULL || root->type != YAML_MAPPING_NODE)
        return fail(r, root, "(top)", "want a mapping with Resources");
    yaml_node_t *resources = get(r, root, "Resources");
    if (resources == NULL)
        return fail(r, root, "Resources", "missing: a SAM template lists its functions there");
    int rc = want_map(r, resources, "Resources");
    if (rc != 0)
        return rc;
    yaml_node_t *found = NULL;
    const char *found_id = NULL;
    size_t count = 0;
    for (yaml_node_pair_t *p = resources->data.mapping.pairs.start; p < resources->data.mapping.pairs.top; p++) {
        const char *id = scalar(yaml_document_get_node(&r->doc, p->key));
        yaml_node_t *res = yaml_document_get_node(&r->doc, p->value);
        if (id == NULL || !is_function_type(scalar(get(r, res, "Type"))))
            continue;
        count++;
        if (want != NULL ? strcmp(id, want) == 0 : count == 1) {
            found = res;
            found_id = id;
        }
    }
    if (count == 0)
        return fail(r, resources, "Resources", "no AWS::Serverless::Function in it");
    if (want == NULL && count > 1)
        return fail(r, resources, "Resources", "%zu functions: choose one with --name LOGICAL_ID", count);
    if (found == NULL)
        return fail(r, resources, "Resources", "no function named '%.64s'", want);
    if ((fn->logical_id = strdup(found_id)) == NULL)
        return CM_ENOMEM;
    char dir_buf[PATH_MAX];
    snprintf(dir_buf, sizeof(dir_buf), "%s", r->path);
    const char *dir = dirname(dir_buf);
    yaml_node_t *globals = get(r, root, "Globals");
    if ((rc = want_map(r, globals, "Globals")) != 0)
        return rc;
    if ((rc = read_props(r, get(r, globals, "Function"), "Globals.Function", dir, fn)) != 0)
        return rc;
    char where[128];
    snprintf(where, sizeof(where), "Resources.%.64s.Properties", found_id);
    return read_props(r, get(r, found, "Properties"), where, dir, fn);
}

int nl_template_load(const char *path, const char *want, nl_template_function_t *fn, char err[NL_TEMPLATE_ERR_SIZE])
{
    char *text = NULL;
    size_t len = 0;
    char why[256];
    if (nl__slurp(path, MAX_TEMPLATE, &text, &len, why, sizeof(why)) != 0) {
        snprintf(err, NL_TEMPLATE_ERR_SIZE, "%.200s: %s", path, why);
        return CM_ECONFIG;
    }
    reader_t r = {.path = path, .err = err};
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        free(text);
        return CM_ENOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int rc;
    if (!yaml_parser_load(&parser, &r.doc)) {
        snprintf(err, NL_TEMPLATE_ERR_SIZE, "%.200s:%zu: YAML: %s%s%s", path, parser.problem_mark.line + 1,
                 parser.problem != NULL ? parser.problem : "syntax error", parser.context != NULL ? " " : "",
                 parser.context != NULL ? parser.context : "");
        rc = CM_ECONFIG;
    } else {
        rc = walk(&r, want, fn);
        yaml_document_delete(&r.doc);
    }
    yaml_parser_delete(&parser);
    free(text);
    return rc;
}
