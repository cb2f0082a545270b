/* The accept loop over real loopback listeners (batch bound, which listener, the pause on EMFILE and the
 * resume 100 ms later, stop), and cm_conn_peer on each address family through a fake connection (the
 * callbacks struct is the true boundary: h2o's own connections fill it the same way). */
#include "common/accept.h"
#include "common/h2o_compat.h"
#include "common/listen.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <unistd.h>

static struct sockaddr_storage fake_addr;
static socklen_t fake_len;

static socklen_t fake_peername(h2o_conn_t *conn, struct sockaddr *sa)
{
    (void)conn;
    memcpy(sa, &fake_addr, sizeof(fake_addr));
    return fake_len;
}

struct peer_case {
    int family; /* AF_INET, AF_INET6, AF_UNIX, 0: no peer (len 0) */
    const char *addr;
    size_t size; /* the caller's buffer */
    int want_rc;
    const char *want;
};

static void peer_cases(void)
{
    static const struct peer_case cases[] = {
        {AF_INET, "192.0.2.1", 64, 0, "192.0.2.1"},
        {AF_INET6, "2001:db8::1", 64, 0, "2001:db8::1"},
        {AF_INET6, "::ffff:198.18.0.7", 64, 0, "::ffff:198.18.0.7"},
        {AF_UNIX, NULL, 64, -1, ""},
        {0, NULL, 64, -1, ""},
        {AF_INET, "198.18.255.255", 8, -1, ""}, /* too small a buffer: nothing half-written */
    };
    static h2o_conn_callbacks_t callbacks = {.get_peername = fake_peername};
    h2o_conn_t conn = {.callbacks = &callbacks};
    for (size_t i = 0; i < NCASES(cases); i++) {
        const struct peer_case *c = &cases[i];
        memset(&fake_addr, 0, sizeof(fake_addr));
        fake_addr.ss_family = (sa_family_t)c->family;
        fake_len = c->family == 0 ? 0 : sizeof(fake_addr);
        if (c->family == AF_INET)
            inet_pton(AF_INET, c->addr, &((struct sockaddr_in *)&fake_addr)->sin_addr);
        else if (c->family == AF_INET6)
            inet_pton(AF_INET6, c->addr, &((struct sockaddr_in6 *)&fake_addr)->sin6_addr);
        char buf[64];
        memset(buf, 'x', sizeof(buf));
        int rc = cm_conn_peer(&conn, buf, c->size);
        CHECK(rc == c->want_rc && strcmp(buf, c->want) == 0, "peer row %zu: rc %d '%s', want %d '%s'", i, rc, buf,
              c->want_rc, c->want);
    }
}

struct counts {
    size_t conns[2];
    size_t pauses;
    int last_err;
};

static void on_conn(cm_acceptor_t *a, size_t index, h2o_socket_t *sock)
{
    struct counts *n = a->data;
    n->conns[index]++;
    h2o_socket_close(sock);
}

static void on_pause(cm_acceptor_t *a, int err)
{
    struct counts *n = a->data;
    n->pauses++;
    n->last_err = err;
}

static int client(unsigned port)
{
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c >= 0 && connect(c, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        close(c);
        return -1;
    }
    return c;
}

/* runs the loop until n->conns[0] reaches want or ms pass */
static void run_until(h2o_loop_t *loop, struct counts *n, size_t want, int ms)
{
    for (int i = 0; i < ms / 10 && n->conns[0] < want; i++)
        h2o_evloop_run(loop, 10);
}

int main(void)
{
    peer_cases();

    h2o_loop_t *loop = h2o_evloop_create();
    h2o_timeout_t pause;
    h2o_timeout_init(loop, &pause, 100);
    int gai;
    h2o_socket_t *listeners[2];
    unsigned ports[2];
    for (int i = 0; i < 2; i++) {
        int fd = cm_listen("127.0.0.1", 0, CM_LISTEN_NUMERIC, 128, &gai);
        ports[i] = cm_listen_port(fd);
        listeners[i] = h2o_evloop_socket_create(loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    }
    struct counts n = {{0, 0}, 0, 0};
    cm_acceptor_t a = {.listeners = listeners,
                       .num_listeners = 2,
                       .pause = &pause,
                       .on_conn = on_conn,
                       .on_pause = on_pause,
                       .data = &n};
    cm_acceptor_start(&a);

    /* a burst of 40 on the first listener, 3 on the second: one wakeup takes one batch from each */
    int clients[43];
    for (int i = 0; i < 43; i++)
        clients[i] = client(ports[i < 40 ? 0 : 1]);
    h2o_evloop_run(loop, 100);
    CHECK(n.conns[0] == CM_ACCEPT_BATCH && n.conns[1] == 3, "one wakeup took %zu and %zu, want %d and 3", n.conns[0],
          n.conns[1], CM_ACCEPT_BATCH);
    run_until(loop, &n, 40, 1000);
    CHECK(n.conns[0] == 40 && n.conns[1] == 3, "burst: %zu and %zu accepted, want 40 and 3", n.conns[0], n.conns[1]);
    for (int i = 0; i < 43; i++)
        close(clients[i]);

    /* out of descriptors: one pause (not a spin), then the connection is taken once one is free */
    struct rlimit old;
    getrlimit(RLIMIT_NOFILE, &old);
    int c = client(ports[0]);
    int filler[64], nfill = 0;
    int top = dup(0);
    close(top);
    struct rlimit low = {(rlim_t)top + 4, old.rlim_max};
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0, "setrlimit: %s", strerror(errno));
    while (nfill < 64 && (filler[nfill] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        nfill++;
    size_t before = n.conns[0];
    for (int i = 0; i < 5; i++)
        h2o_evloop_run(loop, 10);
    CHECK(n.pauses == 1 && n.last_err == EMFILE, "out of descriptors: %zu pause(s) (err %d), want 1 (EMFILE)", n.pauses,
          n.last_err);
    CHECK(n.conns[0] == before, "accepted while out of descriptors");
    while (nfill > 0)
        close(filler[--nfill]);
    setrlimit(RLIMIT_NOFILE, &old);
    run_until(loop, &n, before + 1, 1000);
    CHECK(n.conns[0] == before + 1 && n.pauses == 1, "after the pause: %zu accepted, %zu pauses", n.conns[0] - before,
          n.pauses);
    close(c);

    /* stopped: nothing more is taken, and stop is idempotent */
    cm_acceptor_stop(&a);
    cm_acceptor_stop(&a);
    c = client(ports[1]);
    for (int i = 0; i < 5; i++)
        h2o_evloop_run(loop, 10);
    CHECK(n.conns[1] == 3, "a stopped acceptor took a connection");
    close(c);

    for (int i = 0; i < 2; i++)
        h2o_socket_close(listeners[i]);
    h2o_evloop_run(loop, 0);
    h2o_timeout_dispose(loop, &pause);
    cm_h2o_evloop_destroy(loop);
    return check_done("common_accept");
}
