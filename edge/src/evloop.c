/*
 * Disposing of an h2o evloop completely. libh2o 2.2.5's h2o_evloop_destroy frees the loop but never
 * closes its epoll descriptor (lib/common/socket/evloop/epoll.c.h allocates a struct that is the public
 * h2o_evloop_t followed by that int), so each generation's pool clock leaked one descriptor per SIGHUP.
 * The descriptor is found right after the public struct and closed only after checking that it really is
 * an epoll instance, so a libh2o with another layout leaks as before instead of closing a stranger's fd.
 */
#include "evloop.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The layout of 2.2.5's epoll backend: the public loop, then the epoll descriptor. */
struct evloop_epoll {
    h2o_evloop_t super;
    int ep;
};

int edge__evloop_fd(h2o_loop_t *loop)
{
    int fd = ((struct evloop_epoll *)loop)->ep;
    char path[64], target[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = fd >= 0 ? readlink(path, target, sizeof(target) - 1) : -1;
    if (n < 0)
        return -1;
    target[n] = '\0';
    return strcmp(target, "anon_inode:[eventpoll]") == 0 ? fd : -1;
}

void edge__evloop_destroy(h2o_loop_t *loop)
{
    if (loop == NULL)
        return;
    int fd = edge__evloop_fd(loop);
    h2o_evloop_destroy(loop);
    if (fd >= 0)
        close(fd);
}
