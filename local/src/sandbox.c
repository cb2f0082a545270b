/*
 * Runtime processes (posix_spawn, own process group) and signal delivery through a signalfd.
 */
#include "local/sandbox.h"
#include "common/error.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* Spawns with stdout (and stderr, when out_fd >= 0) going to out_fd, else stdout joined to our stderr. */
static int spawn(nl_sandbox_t *s, const char *path, const char *cwd, char *const envp[], int out_fd)
{
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&fa);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGCHLD);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGHUP);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (out_fd >= 0) {
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
        posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    } else {
        posix_spawn_file_actions_adddup2(&fa, 2, 1);
    }
    posix_spawn_file_actions_addchdir_np(&fa, cwd);
    char *argv[] = {(char *)path, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        errno = rc;
        return CM_ESYS;
    }
    memset(s, 0, sizeof(*s));
    s->pid = pid;
    return 0;
}

int nl_sandbox_spawn(nl_sandbox_t *s, const char *path, const char *cwd, char *const envp[])
{
    return spawn(s, path, cwd, envp, -1);
}

int nl_sandbox_spawn_piped(nl_sandbox_t *s, const char *path, const char *cwd, char *const envp[], int *out_fd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return CM_ESYS;
    /* the child gets its end through dup2, which clears close-on-exec on the copy */
    int rc = spawn(s, path, cwd, envp, fds[1]);
    int saved = errno;
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        errno = saved;
        return rc;
    }
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    *out_fd = fds[0];
    return 0;
}

void nl_sandbox_kill(nl_sandbox_t *s, int sig)
{
    if (s->pid <= 0)
        return;
    /* the group outlives its leader while children of the runtime remain: kill it even after exit,
     * the pid cannot be reused as a group id while the group has members */
    if (kill(-s->pid, sig) != 0 && !s->exited)
        kill(s->pid, sig);
}

int nl_sandbox_poll(nl_sandbox_t *s)
{
    if (s->exited || s->pid <= 0)
        return s->exited;
    int status;
    struct rusage ru;
    pid_t r;
    do {
        r = wait4(s->pid, &status, WNOHANG, &ru);
    } while (r < 0 && errno == EINTR);
    if (r == s->pid) {
        s->exited = 1;
        s->status = status;
        s->usage = ru;
    }
    return s->exited;
}

void nl_sandbox_dispose(nl_sandbox_t *s)
{
    if (s->pid <= 0)
        return;
    nl_sandbox_kill(s, SIGKILL);
    if (!s->exited) {
        int status;
        struct rusage ru;
        while (wait4(s->pid, &status, 0, &ru) < 0 && errno == EINTR)
            ;
        s->exited = 1;
        s->status = status;
        s->usage = ru;
    }
    s->pid = 0;
}

struct nl_signals {
    h2o_socket_t *sock;
    nl_signal_cb cb;
    void *user;
    sigset_t old_mask;
    struct sigaction old_pipe;
};

static void on_signal_read(h2o_socket_t *sock, const char *err)
{
    nl_signals_t *sig = sock->data;
    if (err != NULL)
        return;
    /* h2o read whole siginfo records into the buffer (signalfd never returns partial ones) */
    while (sock->input->size >= sizeof(struct signalfd_siginfo)) {
        struct signalfd_siginfo info;
        memcpy(&info, sock->input->bytes, sizeof(info));
        h2o_buffer_consume(&sock->input, sizeof(info));
        sig->cb(sig, (int)info.ssi_signo, sig->user);
    }
}

int nl_signals_new(h2o_loop_t *loop, nl_signal_cb cb, void *user, nl_signals_t **out)
{
    nl_signals_t *sig = calloc(1, sizeof(*sig));
    if (sig == NULL)
        return CM_ENOMEM;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, &sig->old_mask) != 0) {
        free(sig);
        return CM_ESYS;
    }
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        sigprocmask(SIG_SETMASK, &sig->old_mask, NULL);
        free(sig);
        errno = saved;
        return CM_ESYS;
    }
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigaction(SIGPIPE, &ign, &sig->old_pipe);
    sig->cb = cb;
    sig->user = user;
    sig->sock = h2o_evloop_socket_create(loop, fd, 0);
    sig->sock->data = sig;
    h2o_socket_read_start(sig->sock, on_signal_read);
    *out = sig;
    return 0;
}

void nl_signals_free(nl_signals_t *sig)
{
    if (sig == NULL)
        return;
    h2o_socket_close(sig->sock);
    sigaction(SIGPIPE, &sig->old_pipe, NULL);
    sigprocmask(SIG_SETMASK, &sig->old_mask, NULL);
    free(sig);
}
