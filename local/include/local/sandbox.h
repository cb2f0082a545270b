/*
 * The process side of an execution environment: a runtime started in its own process group (so that
 * what it starts dies with it), stdin from /dev/null and stdout joined to our stderr (Lambda sends a
 * function's stdout to its logs, never into the payload). The caller learns of exits through
 * nl_signals (SIGCHLD) and then asks nl_sandbox_poll. Not thread-safe.
 */
#ifndef NEARJS_LOCAL_SANDBOX_H
#define NEARJS_LOCAL_SANDBOX_H

#include <h2o.h>

#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nl_sandbox {
    pid_t pid;           /* also the process group id */
    int exited;          /* the runtime process has been reaped */
    int status;          /* its wait status, once exited */
    struct rusage usage; /* its resource usage, once exited */
} nl_sandbox_t;

/* Starts path (argv[0] = path) with envp in cwd. Returns 0, or CM_ESYS with errno set (path not
 * executable, out of processes...) leaving s untouched. */
int nl_sandbox_spawn(nl_sandbox_t *s, const char *path, const char *cwd, char *const envp[]);
/* As nl_sandbox_spawn, but the runtime's stdout and stderr both go into a new pipe whose read end
 * (non-blocking, close-on-exec; the caller closes it) is stored in *out_fd, so that its log lines can be
 * told apart per invocation. Returns 0, or CM_ESYS with errno set, s and *out_fd untouched. */
int nl_sandbox_spawn_piped(nl_sandbox_t *s, const char *path, const char *cwd, char *const envp[], int *out_fd);
/* Sends sig to the runtime's whole process group; a no-op once the runtime has exited and its group is gone. */
void nl_sandbox_kill(nl_sandbox_t *s, int sig);
/* Reaps the runtime if it has exited. Returns 1 when s->exited (now or before), else 0. */
int nl_sandbox_poll(nl_sandbox_t *s);
/* Kills what is left (SIGKILL to the group) and reaps the runtime, waiting for it. */
void nl_sandbox_dispose(nl_sandbox_t *s);

/* Receives signals as events on an h2o loop, through a signalfd (no handler, no global). */
typedef struct nl_signals nl_signals_t;
typedef void (*nl_signal_cb)(nl_signals_t *sig, int signo, void *user);

/* Blocks SIGCHLD, SIGINT, SIGTERM and SIGHUP in the calling thread and delivers them to cb on loop;
 * ignores SIGPIPE (a runtime closing its connection must not kill us). Returns 0 and *out, or CM_ESYS/
 * CM_ENOMEM. Spawned runtimes get the default mask and dispositions back. */
int nl_signals_new(h2o_loop_t *loop, nl_signal_cb cb, void *user, nl_signals_t **out);
/* Stops watching and restores the signal mask. NULL is a no-op. */
void nl_signals_free(nl_signals_t *sig);

#ifdef __cplusplus
}
#endif

#endif
