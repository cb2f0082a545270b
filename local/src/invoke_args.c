/*
 * Command line, bootstrap, event and env-vars of `invoke`: everything checked before a process starts,
 * each failure one line naming the culprit and exit code 2.
 */
#include "invoke_args.h"
#include "invoke.h"
#include "files.h"
#include "local/env.h"
#include "common/error.h"
#include "local/rapi.h"
#include "common/buf.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void nl__invoke_usage(FILE *f)
{
    fputs("usage: nearjs-local invoke [-e FILE|-] [--env-vars FILE] [--timeout S] [--memory MB] [--name NAME]\n"
          "                           [--handler H] BOOTSTRAP\n"
          "\n"
          "Runs BOOTSTRAP (an executable, or a folder holding one named 'bootstrap') as AWS Lambda's\n"
          "provided.al2023 runtime does, serves it the Runtime API on 127.0.0.1, hands it one event and\n"
          "prints what it answered.\n"
          "\n"
          "  -e, --event FILE    the event (JSON); '-' reads stdin; default {}\n"
          "      --env-vars FILE SAM's variables file: {\"Parameters\": {...}, \"NAME\": {...}}\n"
          "      --timeout S     function timeout in seconds (default 3; init has its own 10 s)\n"
          "      --memory MB     AWS_LAMBDA_FUNCTION_MEMORY_SIZE (default 128)\n"
          "      --name NAME     function name (default: the bootstrap's file or folder name)\n"
          "      --handler H     _HANDLER (default handler)\n"
          "  -h, --help          this text\n"
          "\n"
          "Output: the payload on stdout, byte for byte; on a function error its error JSON instead.\n"
          "stderr: the runtime's stdout and stderr, START/END/REPORT lines, emulator notices.\n"
          "\n"
          "Exit codes:\n"
          "  0    the function answered\n"
          "  1    the function failed: handler error, init error, crash (Runtime.ExitError), timeout\n"
          "       (Sandbox.Timedout), response too large (Function.ResponseSizeTooLarge); error JSON on stdout\n"
          "  2    usage or configuration error: bad flags, missing or non-executable bootstrap, bad event or\n"
          "       env-vars file\n"
          "  3    the emulator itself failed (socket, memory)\n"
          "  130  interrupted (SIGINT, SIGTERM, SIGHUP)\n",
          f);
}

void nl__invoke_args_dispose(nl__invoke_args_t *a)
{
    free(a->bootstrap);
    free(a->task_root);
    free(a->name);
    free(a->event);
    free(a->default_name);
    nl_env_dispose(&a->user_env);
    memset(a, 0, sizeof(*a));
}

int nl__parse_seconds(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 900)
        return -1;
    *out = v;
    return 0;
}

int nl__parse_memory(const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < 128 || v > 10240)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* Finds the executable and the task root. Returns 0 or -1 after printing why. */
static int resolve_bootstrap(nl__invoke_args_t *a, const char *given)
{
    char err[768];
    if (nl__resolve_bootstrap(given, &a->bootstrap, &a->task_root, &a->default_name, err, sizeof(err)) != 0) {
        fprintf(stderr, "nearjs-local: invoke: %s\n", err);
        return -1;
    }
    return 0;
}

int nl__invoke_args_parse(nl__invoke_args_t *a, int argc, char **argv)
{
    memset(a, 0, sizeof(*a));
    nl_env_init(&a->user_env);
    a->timeout_s = 3;
    a->memory_mb = 128;
    a->handler = "handler";
    const char *event_path = NULL, *env_path = NULL, *name = NULL;
    static const struct option opts[] = {
        {"event", required_argument, NULL, 'e'},   {"env-vars", required_argument, NULL, 'V'},
        {"timeout", required_argument, NULL, 't'}, {"memory", required_argument, NULL, 'm'},
        {"name", required_argument, NULL, 'n'},    {"handler", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "+e:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'e':
            event_path = optarg;
            break;
        case 'V':
            env_path = optarg;
            break;
        case 't':
            if (nl__parse_seconds(optarg, &a->timeout_s) != 0) {
                fprintf(stderr, "nearjs-local: invoke: --timeout '%.32s': want seconds, more than 0 and at most 900\n",
                        optarg);
                return NL_EXIT_USAGE;
            }
            break;
        case 'm':
            if (nl__parse_memory(optarg, &a->memory_mb) != 0) {
                fprintf(stderr, "nearjs-local: invoke: --memory '%.32s': want MB, 128 to 10240\n", optarg);
                return NL_EXIT_USAGE;
            }
            break;
        case 'n':
            name = optarg;
            break;
        case 'H':
            a->handler = optarg;
            break;
        case 'h':
            nl__invoke_usage(stdout);
            a->help = 1;
            return NL_EXIT_OK;
        default:
            fprintf(stderr,
                    "nearjs-local: invoke: unknown or incomplete option '%.64s' (see nearjs-local invoke --help)\n",
                    argv[optind - 1]);
            return NL_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr,
                "nearjs-local: invoke: want exactly one BOOTSTRAP, got %d arguments (see nearjs-local invoke "
                "--help)\n",
                argc - optind);
        return NL_EXIT_USAGE;
    }
    if (resolve_bootstrap(a, argv[optind]) != 0)
        return NL_EXIT_USAGE;
    a->name = strdup(name != NULL ? name : a->default_name);
    free(a->default_name);
    a->default_name = NULL;
    if (a->name == NULL)
        return NL_EXIT_INTERNAL;
    if (a->name[0] == '\0' || strlen(a->name) > 140 || strpbrk(a->name, "/:\r\n") != NULL) {
        fprintf(stderr, "nearjs-local: invoke: function name '%.64s': want 1 to 140 characters, without '/' or ':'\n",
                a->name);
        return NL_EXIT_USAGE;
    }

    char err[512];
    if (event_path == NULL) {
        a->event = strdup("{}");
        a->event_len = 2;
    } else if (nl__slurp(event_path, NL_RAPI_MAX_RESPONSE, &a->event, &a->event_len, err, sizeof(err)) != 0) {
        fprintf(stderr, "nearjs-local: invoke: event '%.200s': %s\n", strcmp(event_path, "-") ? event_path : "(stdin)",
                err);
        return NL_EXIT_USAGE;
    } else {
        json_error_t jerr;
        json_t *doc = json_loadb(a->event, a->event_len, JSON_DECODE_ANY, &jerr);
        if (doc == NULL) {
            fprintf(stderr, "nearjs-local: invoke: event '%.200s': not JSON: line %d column %d: %s\n",
                    strcmp(event_path, "-") ? event_path : "(stdin)", jerr.line, jerr.column, jerr.text);
            return NL_EXIT_USAGE;
        }
        json_decref(doc);
    }
    if (env_path != NULL) {
        char *text = NULL;
        size_t len = 0;
        if (nl__slurp(env_path, 1024 * 1024, &text, &len, err, sizeof(err)) != 0) {
            fprintf(stderr, "nearjs-local: invoke: env-vars file '%.200s': %s\n", env_path, err);
            return NL_EXIT_USAGE;
        }
        int rc = nl_env_parse_sam(&a->user_env, text, len, a->name, err, sizeof(err));
        free(text);
        if (rc != 0) {
            fprintf(stderr, "nearjs-local: invoke: env-vars file '%.200s': %s\n", env_path,
                    rc == CM_ECONFIG ? err : cm_strerror(rc));
            return NL_EXIT_USAGE;
        }
    }
    return -1;
}
