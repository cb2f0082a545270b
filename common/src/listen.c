/*
 * Listening sockets: resolve, socket, options, bind, listen. The edge binds one socket per worker in a
 * SO_REUSEPORT group after a plain probe; local's servers bind one, often on port 0.
 */
#include "common/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static int listen_addr(const struct addrinfo *ai, unsigned port, int flags, int backlog)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    int one = 1;
    if ((port != 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) ||
        ((flags & CM_LISTEN_REUSEPORT) && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || (!(flags & CM_LISTEN_BIND_ONLY) && listen(fd, backlog) != 0)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int cm_listen(const char *host, unsigned port, int flags, int backlog, int *gai)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    if (flags & CM_LISTEN_NUMERIC)
        hints.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
    struct addrinfo *res = NULL;
    char serv[12];
    snprintf(serv, sizeof(serv), "%u", port);
    *gai = getaddrinfo(host, serv, &hints, &res);
    if (*gai != 0) {
        errno = EINVAL;
        return -1;
    }
    int fd = -1, saved = EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        if ((fd = listen_addr(ai, port, flags, backlog)) < 0)
            saved = errno;
    }
    freeaddrinfo(res);
    if (fd < 0)
        errno = saved;
    return fd;
}

unsigned cm_listen_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}
