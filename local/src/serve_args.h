/*
 * Parsed and checked arguments of the serving verbs, start-api and start-lambda: where to listen, the
 * function (from flags, a SAM template, or both: flags win) and its environment.
 */
#ifndef NEARJS_LOCAL_SERVE_ARGS_H
#define NEARJS_LOCAL_SERVE_ARGS_H

#include "local/env.h"

#include <stdio.h>

typedef enum { NL__VERB_API, NL__VERB_LAMBDA } nl__verb_t;

typedef struct nl__serve_args {
    nl__verb_t verb;
    const char *verb_name;
    const char *host;
    unsigned port;
    int payload; /* 1 or 2 */
    unsigned workers;
    const char *domain, *cert, *key; /* --domain mode (or --function-url over TLS), else NULL */
    /* --function-url: Lambda's function URL instead of API Gateway (any Host, the URL's event and
     * errors); with --iam, AuthType AWS_IAM: each request must carry a valid SigV4 signature of iam_key */
    int function_url;
    char *url_id;               /* the <url-id> of <url-id>.lambda-url.<region>.on.aws */
    char *iam_key, *iam_secret; /* --iam KEY_ID:SECRET[:TOKEN], or NULL (AuthType NONE) */
    char *iam_token;            /* the session token of temporary credentials, or NULL */
    char *iam_principal;        /* who those keys are (requestContext.authorizer.iam.userArn) */
    char *bootstrap;            /* absolute path */
    char *task_root;
    char *name;
    char *handler;
    double timeout_s;
    unsigned memory_mb;
    char *template_path; /* the template read, or NULL */
    nl_env_t user_env;
    int quiet;
} nl__serve_args_t;

/* Parses argv (argv[0] = the verb). Returns -1 when the server should start, else the exit code to end
 * with (after printing --help or one line on stderr). Dispose a in every case. */
int nl__serve_args_parse(nl__serve_args_t *a, nl__verb_t verb, int argc, char **argv);
void nl__serve_args_dispose(nl__serve_args_t *a);
void nl__serve_usage(nl__verb_t verb, FILE *f);

#endif
