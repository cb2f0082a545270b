/*
 * Parsed and checked arguments of `invoke`.
 */
#ifndef NEARJS_LOCAL_INVOKE_ARGS_H
#define NEARJS_LOCAL_INVOKE_ARGS_H

#include "local/env.h"

#include <stddef.h>

typedef struct nl__invoke_args {
    char *bootstrap;    /* absolute path of the executable */
    char *task_root;    /* LAMBDA_TASK_ROOT */
    char *name;         /* function name */
    char *default_name; /* scratch */
    const char *handler;
    double timeout_s;
    unsigned memory_mb;
    char *event; /* valid JSON */
    size_t event_len;
    nl_env_t user_env; /* from --env-vars */
    int help;
} nl__invoke_args_t;

/* Parses argv (argv[0] = "invoke"), resolves the bootstrap, reads the event and env-vars. Returns -1
 * when the invocation should go ahead, else the exit code to end with (after printing --help or one
 * line on stderr). Dispose a in every case. */
int nl__invoke_args_parse(nl__invoke_args_t *a, int argc, char **argv);
void nl__invoke_args_dispose(nl__invoke_args_t *a);

/* Parses a function timeout: seconds, more than 0 and at most 900. Returns 0 or -1 (*out untouched). */
int nl__parse_seconds(const char *s, double *out);
/* Parses a memory size: MB, 128 to 10240. Returns 0 or -1 (*out untouched). */
int nl__parse_memory(const char *s, unsigned *out);

#endif
