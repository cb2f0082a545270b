/*
 * The `invoke` verb: one runtime, one event, Lambda's log lines, the payload on stdout.
 */
#ifndef NEARJS_LOCAL_INVOKE_H
#define NEARJS_LOCAL_INVOKE_H

#include <stdio.h>

/* Exit codes of nearjs-local (documented in --help). */
#define NL_EXIT_OK 0
#define NL_EXIT_FUNCTION 1 /* the function failed: handler error, init error, crash, timeout */
#define NL_EXIT_USAGE 2    /* bad flags, missing or unusable bootstrap, bad event or env-vars file */
#define NL_EXIT_INTERNAL 3 /* the emulator itself failed (no socket, no memory) */
#define NL_EXIT_INTERRUPTED 130

/* Runs `nearjs-local invoke ARGS...` (argv[0] is "invoke"). Returns the exit code. */
int nl__invoke_main(int argc, char **argv);
/* Prints invoke's usage to f. */
void nl__invoke_usage(FILE *f);

#endif
