/*
 * The part of a SAM template (template.yaml) an emulator needs: one function's Handler, Timeout,
 * MemorySize, Environment.Variables and CodeUri, with Globals.Function as defaults. Read with libyaml;
 * every problem is reported as "FILE:LINE: KEY: what is wrong". Not thread-safe; one owner.
 */
#ifndef NEARJS_LOCAL_TEMPLATE_H
#define NEARJS_LOCAL_TEMPLATE_H

#include "local/env.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Room for an error line from nl_template_load. */
#define NL_TEMPLATE_ERR_SIZE 512

typedef struct nl_template_function {
    char *logical_id; /* the resource's name in Resources */
    char *handler;    /* NULL when the template sets none */
    double timeout_s; /* 0 when unset */
    unsigned memory_mb;
    char *code_dir;      /* CodeUri resolved against the template's folder (absolute when the path is); NULL if unset */
    nl_env_t env;        /* Environment.Variables: Globals first, the function's own win */
    size_t skipped_vars; /* variables left out because their value is an intrinsic function (!Ref...) */
} nl_template_function_t;

void nl_template_function_init(nl_template_function_t *fn);
void nl_template_function_dispose(nl_template_function_t *fn);

/* Reads the template at path and fills fn with the function named want (a logical id), or with the only
 * function (AWS::Serverless::Function or AWS::Lambda::Function) when want is NULL. Returns 0, or
 * CM_ECONFIG with one line in err (the file, the line, the key and what is wrong: unreadable file, YAML
 * syntax, no or several functions, a value of the wrong type), CM_ENOMEM. fn must be fresh; on error it
 * may hold part of the values (dispose it in every case). */
int nl_template_load(const char *path, const char *want, nl_template_function_t *fn, char err[NL_TEMPLATE_ERR_SIZE]);

#ifdef __cplusplus
}
#endif

#endif
