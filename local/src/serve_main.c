/*
 * Entry points of the serving verbs: parse, then run the shared server with the verb's handler.
 */
#include "invoke.h"
#include "serve_args.h"
#include "server.h"
#include "start_api.h"

static int serve_main(nl__verb_t verb, int argc, char **argv)
{
    nl__serve_args_t args;
    int rc = nl__serve_args_parse(&args, verb, argc, argv);
    if (rc < 0)
        rc = nl__server_run(&args, verb == NL__VERB_API ? nl__api_on_req : nl__lambda_on_req,
                            verb == NL__VERB_API ? nl__api_on_too_large : NULL, NULL);
    nl__serve_args_dispose(&args);
    return rc;
}

int nl__start_api_main(int argc, char **argv)
{
    return serve_main(NL__VERB_API, argc, argv);
}

int nl__start_lambda_main(int argc, char **argv)
{
    return serve_main(NL__VERB_LAMBDA, argc, argv);
}
