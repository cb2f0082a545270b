/*
 * Command line, bootstrap, event and env-vars of `invoke`: everything checked before a process starts,
 * each failure one line naming the culprit and exit code 2.
 */
#include "invoke_args.h"
#include "invoke.h"
#include "local/env.h"
#include "local/errors.h"
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

/* Reads a whole file (or stdin for "-") up to max bytes. Returns 0, or -1 with a message in err. */
static int slurp(const char *path, size_t max, char **out, size_t *len, char *err, size_t err_size)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, err_size, "%s", strerror(errno));
        return -1;
    }
    cm_buf_t b;
    cm_buf_init(&b, max);
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        int e = cm_buf_append(&b, chunk, n);
        if (e != 0) {
            snprintf(err, err_size, e == CM_ETOOBIG ? "larger than %zu bytes" : "out of memory", max);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, err_size, "%s", strerror(errno));
        rc = -1;
    }
    if (f != stdin)
        fclose(f);
    if (rc == 0) {
        *out = cm_buf_detach(&b, len);
        if (*out == NULL) {
            snprintf(err, err_size, "out of memory");
            rc = -1;
        }
    }
    cm_buf_dispose(&b);
    return rc;
}

static int parse_seconds(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 900)
        return -1;
    *out = v;
    return 0;
}

static int parse_memory(const char *s, unsigned *out)
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
    struct stat st;
    if (stat(given, &st) != 0) {
        fprintf(stderr,
                "nearjs-local: invoke: bootstrap '%.200s': %s (give the path of an executable bootstrap, or of a "
                "folder holding one named 'bootstrap')\n",
                given, strerror(errno));
        return -1;
    }
    char real[PATH_MAX];
    if (realpath(given, real) == NULL) {
        fprintf(stderr, "nearjs-local: invoke: bootstrap '%.200s': %s\n", given, strerror(errno));
        return -1;
    }
    char path[PATH_MAX + 16];
    if (S_ISDIR(st.st_mode)) {
        snprintf(path, sizeof(path), "%s/bootstrap", real);
        if (stat(path, &st) != 0) {
            fprintf(stderr,
                    "nearjs-local: invoke: folder '%.200s' holds no 'bootstrap' (%s): put an executable "
                    "named bootstrap in it, or give the executable's path\n",
                    given, strerror(errno));
            return -1;
        }
        a->task_root = strdup(real);
        a->default_name = strdup(basename(real));
    } else {
        snprintf(path, sizeof(path), "%s", real);
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", real);
        a->task_root = strdup(dirname(dir));
        a->default_name = strdup(basename(real));
    }
    if (!S_ISREG(st.st_mode) || access(path, X_OK) != 0) {
        fprintf(stderr, "nearjs-local: invoke: bootstrap '%.200s' is not an executable file: chmod +x it\n", path);
        return -1;
    }
    a->bootstrap = strdup(path);
    if (a->bootstrap == NULL || a->task_root == NULL || a->default_name == NULL) {
        fprintf(stderr, "nearjs-local: invoke: out of memory\n");
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
            if (parse_seconds(optarg, &a->timeout_s) != 0) {
                fprintf(stderr, "nearjs-local: invoke: --timeout '%.32s': want seconds, more than 0 and at most 900\n",
                        optarg);
                return NL_EXIT_USAGE;
            }
            break;
        case 'm':
            if (parse_memory(optarg, &a->memory_mb) != 0) {
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
    } else if (slurp(event_path, NL_RAPI_MAX_RESPONSE, &a->event, &a->event_len, err, sizeof(err)) != 0) {
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
        if (slurp(env_path, 1024 * 1024, &text, &len, err, sizeof(err)) != 0) {
            fprintf(stderr, "nearjs-local: invoke: env-vars file '%.200s': %s\n", env_path, err);
            return NL_EXIT_USAGE;
        }
        int rc = nl_env_parse_sam(&a->user_env, text, len, a->name, err, sizeof(err));
        free(text);
        if (rc != 0) {
            fprintf(stderr, "nearjs-local: invoke: env-vars file '%.200s': %s\n", env_path,
                    rc == NL_ECONFIG ? err : nl_strerror(rc));
            return NL_EXIT_USAGE;
        }
    }
    return -1;
}
