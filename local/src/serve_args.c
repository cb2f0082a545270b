/*
 * Command line of start-api and start-lambda. The function comes from a SAM template (-t, or
 * ./template.yaml when no BOOTSTRAP is given), a BOOTSTRAP, or both (flags win over the template, and
 * --env-vars over the template's variables). Everything is checked before any process starts; each
 * failure is one line naming the culprit, exit code 2.
 */
#include "serve_args.h"
#include "files.h"
#include "furl_auth.h"
#include "invoke.h"
#include "invoke_args.h"
#include "common/error.h"
#include "local/template.h"

#include "common/env.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/sha.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void nl__serve_usage(nl__verb_t verb, FILE *f)
{
    if (verb == NL__VERB_API) {
        fputs("usage: nearjs-local start-api [--host H] [--port P] [--payload 2.0|1.0] [--workers N]\n"
              "                              [--domain NAME --cert FILE --key FILE] [--name NAME]\n"
              "                              [--function-url [--iam KEY_ID:SECRET[:TOKEN]] [--cert FILE --key FILE]]\n"
              "                              [--env-vars FILE] [--timeout S] [--memory MB] [--handler H]\n"
              "                              [-t template.yaml | BOOTSTRAP]\n"
              "\n"
              "Serves the function as API Gateway's Lambda proxy integration does: each HTTP/1.1 or HTTP/2\n"
              "request becomes a payload 2.0 (HTTP API) or 1.0 (REST) event, the answer becomes the response.\n"
              "The function runs in N warm runtimes (each initialized once), requests queue when all are busy.\n"
              "\n"
              "  --host H          address to listen on (default 127.0.0.1)\n"
              "  --port P          port (default 3000; 0 picks a free one, printed on stderr)\n"
              "  --payload V       event format: 2.0 (HTTP API, default) or 1.0 (REST API)\n"
              "  --domain NAME     custom domain mode: serve TLS (--cert, --key: PEM files) and answer 403\n"
              "                    ForbiddenException unless both SNI and Host are NAME, as API Gateway does\n"
              "  --function-url    serve as a Lambda function URL instead: any Host, payload 2.0 with the URL's\n"
              "                    requestContext (domainName <url-id>.lambda-url.<AWS_REGION>.on.aws), Lambda's\n"
              "                    errors; TLS when --cert and --key are given\n"
              "  --iam KEY_ID:SECRET[:SESSION_TOKEN]  with --function-url: AuthType AWS_IAM, this key the one\n"
              "                    principal allowed. Each request must be signed with it (SigV4, service lambda,\n"
              "                    this AWS_REGION, at most 5 minutes off; with the token when one is given);\n"
              "                    anything else gets Lambda's 403 AccessDeniedException\n"
              "  --principal ARN   who --iam's key is (default "
              "arn:aws:sts::123456789012:assumed-role/nearjs-edge/local)\n"
              "  --url-id ID       the function URL's id (default: derived from the function name and region)\n",
              f);
    } else {
        fputs("usage: nearjs-local start-lambda [--host H] [--port P] [--workers N] [--name NAME]\n"
              "                                 [--env-vars FILE] [--timeout S] [--memory MB] [--handler H]\n"
              "                                 [-t template.yaml | BOOTSTRAP]\n"
              "\n"
              "Serves Lambda's Invoke API (POST /2015-03-31/functions/NAME/invocations; RequestResponse,\n"
              "Event and DryRun; X-Amz-Log-Type: Tail), so that `aws lambda invoke --endpoint-url\n"
              "http://127.0.0.1:PORT --function-name NAME out.json` works against it.\n"
              "\n"
              "  --host H          address to listen on (default 127.0.0.1)\n"
              "  --port P          port (default 3001; 0 picks a free one, printed on stderr)\n",
              f);
    }
    fputs("  --workers N       warm runtimes (default: the number of cores)\n"
          "  --name NAME       function name (default: the template's logical id, or the bootstrap's name)\n"
          "  -t, --template F  SAM template to read Handler, Timeout, MemorySize, Environment, CodeUri from\n"
          "                    (default ./template.yaml when no BOOTSTRAP is given)\n"
          "  --env-vars FILE   SAM's variables file: {\"Parameters\": {...}, \"NAME\": {...}}; wins over the template\n"
          "  --timeout S       function timeout in seconds (default: the template's, else 3)\n"
          "  --memory MB       AWS_LAMBDA_FUNCTION_MEMORY_SIZE (default: the template's, else 128)\n"
          "  --handler H       _HANDLER (default: the template's, else handler)\n"
          "  -q, --quiet       no START/END/REPORT lines nor runtime output on stderr\n"
          "  -h, --help        this text\n"
          "\n"
          "stderr: 'listening on URL' once bound, one line per runtime init, the runtimes' output, and a line\n"
          "for each failed request saying why. SIGINT or SIGTERM stops the server and its runtimes.\n"
          "\n"
          "Exit codes:\n"
          "  0    stopped by SIGINT or SIGTERM\n"
          "  2    usage or configuration error: bad flags, template, bootstrap, env-vars, certificate\n"
          "  3    the emulator itself failed (cannot listen, no memory)\n",
          f);
}

void nl__serve_args_dispose(nl__serve_args_t *a)
{
    free(a->bootstrap);
    free(a->task_root);
    free(a->name);
    free(a->handler);
    free(a->template_path);
    free(a->url_id);
    free(a->iam_key);
    free(a->iam_secret);
    free(a->iam_token);
    free(a->iam_principal);
    nl_env_dispose(&a->user_env);
    memset(a, 0, sizeof(*a));
}

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* --iam KEY_ID:SECRET[:TOKEN]: AWS access key ids are 16-128 letters and digits; neither a secret nor a
 * session token holds a ':'. */
static int parse_iam(nl__serve_args_t *a, const char *s)
{
    const char *c1 = strchr(s, ':');
    if (c1 == NULL)
        return -1;
    const char *c2 = strchr(c1 + 1, ':');
    size_t klen = (size_t)(c1 - s), slen = c2 != NULL ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
    if (klen < 16 || klen > 128 || slen < 1 || slen > 128 || (c2 != NULL && (c2[1] == '\0' || strchr(c2 + 1, ':'))))
        return -1;
    for (size_t i = 0; i < klen; i++) {
        if (!isalnum((unsigned char)s[i]))
            return -1;
    }
    free(a->iam_key);
    free(a->iam_secret);
    free(a->iam_token);
    a->iam_key = strndup(s, klen);
    a->iam_secret = strndup(c1 + 1, slen);
    a->iam_token = c2 != NULL ? strdup(c2 + 1) : NULL;
    return a->iam_key != NULL && a->iam_secret != NULL && (c2 == NULL || a->iam_token != NULL) ? 0 : -1;
}

/* Lambda's url ids are 32 lowercase letters and digits; ours come from the function name and region, so
 * a restart keeps its name (an edge's configuration names it). */
static int default_url_id(nl__serve_args_t *a)
{
    const char *region = cm_env_region();
    char seed[256];
    snprintf(seed, sizeof(seed), "%s/%s", a->name, region != NULL ? region : "us-east-1");
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)seed, strlen(seed), md);
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    a->url_id = malloc(33);
    if (a->url_id == NULL)
        return -1;
    for (size_t i = 0; i < 32; i++)
        a->url_id[i] = alphabet[md[i] & 31];
    a->url_id[32] = '\0';
    return 0;
}

static int fail(const nl__serve_args_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const nl__serve_args_t *a, const char *fmt, ...)
{
    fprintf(stderr, "nearjs-local: %s: ", a->verb_name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return NL_EXIT_USAGE;
}

int nl__serve_args_parse(nl__serve_args_t *a, nl__verb_t verb, int argc, char **argv)
{
    memset(a, 0, sizeof(*a));
    nl_env_init(&a->user_env);
    a->verb = verb;
    a->verb_name = verb == NL__VERB_API ? "start-api" : "start-lambda";
    a->host = "127.0.0.1";
    a->port = verb == NL__VERB_API ? 3000 : 3001;
    a->payload = 2;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    a->workers = cores > 0 ? (unsigned)cores : 1;
    const char *env_path = NULL, *name = NULL, *handler = NULL, *template_path = NULL, *principal = NULL;
    double timeout = 0;
    unsigned memory = 0;
    static const struct option opts[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"payload", required_argument, NULL, 'P'},
        {"workers", required_argument, NULL, 'w'},
        {"domain", required_argument, NULL, 'D'},
        {"cert", required_argument, NULL, 'C'},
        {"key", required_argument, NULL, 'K'},
        {"name", required_argument, NULL, 'n'},
        {"template", required_argument, NULL, 't'},
        {"env-vars", required_argument, NULL, 'V'},
        {"timeout", required_argument, NULL, 'T'},
        {"memory", required_argument, NULL, 'm'},
        {"handler", required_argument, NULL, 'L'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"function-url", no_argument, NULL, 'F'},
        {"iam", required_argument, NULL, 'I'},
        {"url-id", required_argument, NULL, 'U'},
        {"principal", required_argument, NULL, 'R'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "+t:qh", opts, NULL)) != -1) {
        int api_only =
            ch == 'P' || ch == 'D' || ch == 'C' || ch == 'K' || ch == 'F' || ch == 'I' || ch == 'U' || ch == 'R';
        if (api_only && verb != NL__VERB_API)
            return fail(a, "option '%.64s' is start-api's only (see --help)", argv[optind - 1]);
        switch (ch) {
        case 'H':
            a->host = optarg;
            break;
        case 'p':
            if (parse_uint(optarg, 0, 65535, &a->port) != 0)
                return fail(a, "--port '%.32s': want 0 to 65535", optarg);
            break;
        case 'P':
            if (strcmp(optarg, "2.0") == 0 || strcmp(optarg, "2") == 0)
                a->payload = 2;
            else if (strcmp(optarg, "1.0") == 0 || strcmp(optarg, "1") == 0)
                a->payload = 1;
            else
                return fail(a, "--payload '%.32s': want 2.0 (HTTP API) or 1.0 (REST API)", optarg);
            break;
        case 'w':
            if (parse_uint(optarg, 1, 256, &a->workers) != 0)
                return fail(a, "--workers '%.32s': want 1 to 256", optarg);
            break;
        case 'D':
            a->domain = optarg;
            break;
        case 'C':
            a->cert = optarg;
            break;
        case 'K':
            a->key = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 't':
            template_path = optarg;
            break;
        case 'V':
            env_path = optarg;
            break;
        case 'T':
            if (nl__parse_seconds(optarg, &timeout) != 0)
                return fail(a, "--timeout '%.32s': want seconds, more than 0 and at most 900", optarg);
            break;
        case 'm':
            if (nl__parse_memory(optarg, &memory) != 0)
                return fail(a, "--memory '%.32s': want MB, 128 to 10240", optarg);
            break;
        case 'L':
            handler = optarg;
            break;
        case 'q':
            a->quiet = 1;
            break;
        case 'F':
            a->function_url = 1;
            break;
        case 'I':
            if (parse_iam(a, optarg) != 0)
                return fail(a,
                            "--iam '%.20s...': want KEY_ID:SECRET[:SESSION_TOKEN] (an access key id of 16 to "
                            "128 letters and digits, a secret of 1 to 128 characters, no ':' in either)",
                            optarg);
            break;
        case 'R':
            if (strncmp(optarg, "arn:", 4) != 0 || strlen(optarg) > 512)
                return fail(a, "--principal '%.64s': want an ARN (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION)",
                            optarg);
            principal = optarg;
            break;
        case 'U':
            if (optarg[0] == '\0' || strlen(optarg) > 63 ||
                strspn(optarg, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(optarg))
                return fail(a, "--url-id '%.64s': want 1 to 63 lowercase letters and digits (a DNS label)", optarg);
            free(a->url_id);
            a->url_id = strdup(optarg);
            break;
        case 'h':
            nl__serve_usage(verb, stdout);
            return NL_EXIT_OK;
        default:
            return fail(a, "unknown or incomplete option '%.64s' (see nearjs-local %s --help)", argv[optind - 1],
                        a->verb_name);
        }
    }
    if (argc - optind > 1)
        return fail(a, "want at most one BOOTSTRAP, got %d arguments (see --help)", argc - optind);
    const char *given = optind < argc ? argv[optind] : NULL;
    if (a->function_url) {
        if (a->domain != NULL)
            return fail(a, "--function-url and --domain exclude each other (a function URL answers any Host)");
        if (a->payload != 2)
            return fail(a, "--function-url speaks payload 2.0 only (Lambda's function URLs do): drop --payload 1.0");
        if ((a->cert != NULL) != (a->key != NULL))
            return fail(a, "--cert and --key go together (TLS for the function URL needs both)");
    } else {
        if (a->iam_key != NULL || a->url_id != NULL || principal != NULL)
            return fail(a, "--iam, --principal and --url-id need --function-url");
        if ((a->domain != NULL) != (a->cert != NULL) || (a->domain != NULL) != (a->key != NULL))
            return fail(a, "--domain, --cert and --key go together (custom domain mode needs all three)");
    }
    if (principal != NULL && a->iam_key == NULL)
        return fail(a, "--principal names who signs with --iam's key: give --iam too");
    if (a->iam_key != NULL &&
        (a->iam_principal =
             strdup(principal != NULL ? principal
                                      : "arn:aws:sts::" NL__FURL_ACCOUNT ":assumed-role/nearjs-edge/local")) == NULL)
        return NL_EXIT_INTERNAL;
    if (a->cert != NULL) {
        if (access(a->cert, R_OK) != 0)
            return fail(a, "--cert '%.200s': %s", a->cert, strerror(errno));
        if (access(a->key, R_OK) != 0)
            return fail(a, "--key '%.200s': %s", a->key, strerror(errno));
    }
    if (a->domain != NULL) {
        if (a->domain[0] == '\0' || strlen(a->domain) > 253 || strpbrk(a->domain, ":/ ") != NULL)
            return fail(a, "--domain '%.64s': want a DNS name without port", a->domain);
    }

    struct stat st;
    if (template_path == NULL && given == NULL) {
        if (stat("template.yaml", &st) != 0)
            return fail(a, "no function: give a BOOTSTRAP, or -t template.yaml (none in the current folder)");
        template_path = "template.yaml";
    }
    nl_template_function_t fn;
    nl_template_function_init(&fn);
    char err[NL_TEMPLATE_ERR_SIZE + 256];
    int rc = -1;
    char *default_name = NULL;
    if (template_path != NULL) {
        char terr[NL_TEMPLATE_ERR_SIZE];
        int trc = nl_template_load(template_path, name, &fn, terr);
        if (trc != 0) {
            rc = fail(a, "template %s", trc == CM_ECONFIG ? terr : cm_strerror(trc));
            goto done;
        }
        if (fn.skipped_vars > 0)
            fprintf(stderr,
                    "nearjs-local: %s: template %s: %zu Environment variable(s) use intrinsic functions and are left "
                    "out: set them with --env-vars\n",
                    a->verb_name, template_path, fn.skipped_vars);
        a->template_path = strdup(template_path);
        if (given == NULL) {
            if (fn.code_dir == NULL) {
                rc = fail(a, "template %s: function '%s' has no CodeUri: give its BOOTSTRAP", template_path,
                          fn.logical_id);
                goto done;
            }
            given = fn.code_dir;
        }
    }
    if (nl__resolve_bootstrap(given, &a->bootstrap, &a->task_root, &default_name, err, sizeof(err)) != 0) {
        rc = fail(a, "%s", err);
        goto done;
    }
    a->name = strdup(name != NULL ? name : fn.logical_id != NULL ? fn.logical_id : default_name);
    a->handler = strdup(handler != NULL ? handler : fn.handler != NULL ? fn.handler : "handler");
    a->timeout_s = timeout > 0 ? timeout : fn.timeout_s > 0 ? fn.timeout_s : 3;
    a->memory_mb = memory > 0 ? memory : fn.memory_mb > 0 ? fn.memory_mb : 128;
    if (a->name == NULL || a->handler == NULL) {
        rc = NL_EXIT_INTERNAL;
        goto done;
    }
    if (a->name[0] == '\0' || strlen(a->name) > 140 || strpbrk(a->name, "/:\r\n ") != NULL) {
        rc = fail(a, "function name '%.64s': want 1 to 140 characters, without '/', ':' or spaces", a->name);
        goto done;
    }
    if (a->function_url && a->url_id == NULL && default_url_id(a) != 0) {
        rc = NL_EXIT_INTERNAL;
        goto done;
    }
    for (size_t i = 0; i < fn.env.count; i++) {
        if (nl_env_set(&a->user_env, fn.env.keys[i], fn.env.values[i]) != 0) {
            rc = NL_EXIT_INTERNAL;
            goto done;
        }
    }
    if (env_path != NULL) {
        char *text = NULL;
        size_t len = 0;
        if (nl__slurp(env_path, 1024 * 1024, &text, &len, err, sizeof(err)) != 0) {
            rc = fail(a, "env-vars file '%.200s': %s", env_path, err);
            goto done;
        }
        int erc = nl_env_parse_sam(&a->user_env, text, len, a->name, err, sizeof(err));
        free(text);
        if (erc != 0) {
            rc = fail(a, "env-vars file '%.200s': %s", env_path, erc == CM_ECONFIG ? err : cm_strerror(erc));
            goto done;
        }
    }
done:
    free(default_name);
    nl_template_function_dispose(&fn);
    return rc;
}
