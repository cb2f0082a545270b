/* edge__evloop_destroy returns the loop's epoll descriptor, which libh2o 2.2.5's h2o_evloop_destroy leaks
 * (one per generation, so one per SIGHUP). First the library's own destroy is shown to leak, so that this
 * test notices the day a libh2o update fixes it (and edge__evloop_fd must then stop finding a stale fd). */
#include "evloop.h"
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

int main(void)
{
    int before = count_fds();
    h2o_loop_t *loop = h2o_evloop_create();
    int fd = edge__evloop_fd(loop);
    CHECK(fd >= 0, "edge__evloop_fd found no epoll descriptor in a new loop");
    h2o_evloop_destroy(loop);
    CHECK(fd < 0 || fcntl(fd, F_GETFD) != -1, "libh2o's destroy closed the epoll fd: the workaround is now wrong");
    if (fd >= 0)
        close(fd);
    CHECK(count_fds() == before, "descriptors: %d, want %d", count_fds(), before);

    /* 100 generations' pool clocks, as 100 SIGHUPs make */
    for (int i = 0; i < 100; i++)
        edge__evloop_destroy(h2o_evloop_create());
    CHECK(count_fds() == before, "after 100 loops: %d descriptors, want %d", count_fds(), before);

    edge__evloop_destroy(NULL);
    /* a descriptor that is no epoll instance is never taken for one */
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    struct {
        h2o_evloop_t super;
        int ep;
    } fake = {.ep = p[0]};
    CHECK(edge__evloop_fd(&fake.super) == -1, "a pipe was taken for an epoll descriptor");
    close(p[0]);
    close(p[1]);
    return check_done("edge_evloop");
}
