/*
 * nearjs-local: the sam-local-style emulator. Dispatches verbs; each verb owns its flags and help.
 */
#include "invoke.h"
#include "start_api.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: nearjs-local VERB [OPTIONS]\n"
          "\n"
          "Runs nearjs's Lambda function locally, as AWS Lambda would.\n"
          "\n"
          "Verbs:\n"
          "  invoke BOOTSTRAP   run the bootstrap once on one event, print its answer\n"
          "  start-api          serve the function as API Gateway does (HTTP/1.1, HTTP/2, custom domain TLS)\n"
          "  start-lambda       serve Lambda's Invoke API (for aws lambda invoke --endpoint-url)\n"
          "\n"
          "nearjs-local VERB --help tells each verb's options.\n"
          "\n"
          "Exit codes:\n"
          "  0    success\n"
          "  1    the function failed (handler error, init error, crash, timeout)\n"
          "  2    usage or configuration error\n"
          "  3    the emulator itself failed\n"
          "  130  interrupted\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return NL_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return NL_EXIT_OK;
    }
    if (strcmp(argv[1], "invoke") == 0)
        return nl__invoke_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "start-api") == 0)
        return nl__start_api_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "start-lambda") == 0)
        return nl__start_lambda_main(argc - 1, argv + 1);
    fprintf(stderr,
            "nearjs-local: unknown verb '%.64s' (want invoke, start-api or start-lambda; see nearjs-local --help)\n",
            argv[1]);
    return NL_EXIT_USAGE;
}
