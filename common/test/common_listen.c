/* cm_listen on loopback: wrong use first (a name with CM_LISTEN_NUMERIC, a port in use), then port 0, a
 * SO_REUSEPORT group, the bind-only probe, and cm_listen_port. */
#include "common/listen.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* 1 when a client can connect to 127.0.0.1:port */
static int connects(unsigned port)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(c, (struct sockaddr *)&sin, sizeof(sin)) == 0;
    close(c);
    return ok;
}

int main(void)
{
    int gai = 0;
    /* wrong use: a name where numbers are required, an unknown name, a garbage port host */
    errno = 0;
    CHECK(cm_listen("localhost", 0, CM_LISTEN_NUMERIC, 16, &gai) == -1 && gai != 0,
          "a name with CM_LISTEN_NUMERIC: gai %d", gai);
    CHECK(cm_listen("no-such-host.invalid", 0, 0, 16, &gai) == -1 && gai != 0, "an unknown name: gai %d", gai);
    CHECK(cm_listen("192.0.2.300", 0, CM_LISTEN_NUMERIC, 16, &gai) == -1 && gai != 0, "an invalid address");

    /* port 0: an ephemeral port, listening, non-blocking and close-on-exec */
    int fd = cm_listen("127.0.0.1", 0, CM_LISTEN_NUMERIC, 16, &gai);
    CHECK(fd >= 0 && gai == 0, "127.0.0.1:0: fd %d gai %d errno %s", fd, gai, strerror(errno));
    unsigned port = fd >= 0 ? cm_listen_port(fd) : 0;
    CHECK(port != 0, "cm_listen_port: 0");
    CHECK(fd >= 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0, "not non-blocking");
    CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "not close-on-exec");
    CHECK(connects(port), "no connection to 127.0.0.1:%u", port);

    /* the same port again: in use, whether a plain bind (the probe) or a listener */
    CHECK(cm_listen("127.0.0.1", port, CM_LISTEN_NUMERIC | CM_LISTEN_BIND_ONLY, 0, &gai) == -1 && errno == EADDRINUSE,
          "the probe on a port in use: errno %s", strerror(errno));
    CHECK(cm_listen("127.0.0.1", port, CM_LISTEN_NUMERIC | CM_LISTEN_REUSEPORT, 16, &gai) == -1 && errno == EADDRINUSE,
          "joining a listener that is no SO_REUSEPORT group: errno %s", strerror(errno));
    close(fd);

    /* a probe binds without listening, and lets go */
    int probe = cm_listen("127.0.0.1", port, CM_LISTEN_NUMERIC | CM_LISTEN_BIND_ONLY, 0, &gai);
    CHECK(probe >= 0, "the probe on a free port: %s", strerror(errno));
    CHECK(!connects(port), "a probe accepted a connection");
    close(probe);

    /* a SO_REUSEPORT group of two on a fixed port (SO_REUSEADDR lets it rebind despite TIME_WAIT) */
    int g1 = cm_listen("127.0.0.1", port, CM_LISTEN_NUMERIC | CM_LISTEN_REUSEPORT, 1024, &gai);
    int g2 = cm_listen("127.0.0.1", port, CM_LISTEN_NUMERIC | CM_LISTEN_REUSEPORT, 1024, &gai);
    CHECK(g1 >= 0 && g2 >= 0, "a SO_REUSEPORT group: %d %d (%s)", g1, g2, strerror(errno));
    CHECK(cm_listen_port(g2) == port, "group port %u, want %u", cm_listen_port(g2), port);
    int one = 0;
    socklen_t len = sizeof(one);
    CHECK(g1 >= 0 && getsockopt(g1, SOL_SOCKET, SO_REUSEADDR, &one, &len) == 0 && one != 0, "no SO_REUSEADDR");
    CHECK(connects(port), "no connection to the group");
    close(g1);
    close(g2);

    /* a name resolved (no CM_LISTEN_NUMERIC), IPv6 loopback where the machine has it */
    fd = cm_listen("localhost", 0, 0, 16, &gai);
    CHECK(fd >= 0, "localhost:0: gai %d errno %s", gai, strerror(errno));
    if (fd >= 0)
        close(fd);
    fd = cm_listen("::1", 0, CM_LISTEN_NUMERIC, 16, &gai);
    if (fd >= 0) {
        CHECK(cm_listen_port(fd) != 0, "::1: no port");
        close(fd);
    }
    CHECK(cm_listen_port(-1) == 0, "cm_listen_port(-1)");
    return check_done("common_listen");
}
