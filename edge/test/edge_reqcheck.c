/* Table-driven tests of the request checks (reqcheck.c): what may go upstream, what gets a 400, and what a
 * plain-HTTP redirect may name. Requests are h2o_req_t values filled with just the fields the checks read. */
#include "reqcheck.h"
#include "check.h"

#include <string.h>

struct req_case {
    const char *method, *path;
    int version;
    const char *host;           /* NULL: no Host */
    const char *hname, *hvalue; /* one extra header (hname "" = an obs-fold line), or NULL */
    const char *want;           /* NULL: valid; else a substring of the cause */
};

struct host_case {
    const char *in;
    int want;
};

int main(void)
{
    static const struct req_case cases[] = {
        {"GET", "/acme/main.js?x=1", 0x101, "fast.example.com", NULL, NULL, NULL},
        {"POST", "/a", 0x200, "fast.example.com", "x-a", "1", NULL},
        {"GET", "/%C3%A9", 0x101, "fast.example.com", NULL, NULL, NULL},
        {"GET", "/x HTTP/1.0", 0x200, "fast.example.com", NULL, NULL, "origin-form"},
        {"GET /smuggle", "/a.js", 0x200, "fast.example.com", NULL, NULL, "method"},
        {"", "/a.js", 0x200, "fast.example.com", NULL, NULL, "method"},
        {"GE\rT", "/a.js", 0x200, "fast.example.com", NULL, NULL, "method"},
        {"GET", "https://evil.example/a.js", 0x200, "fast.example.com", NULL, NULL, "origin-form"},
        {"GET", "acme/main.js", 0x200, "fast.example.com", NULL, NULL, "origin-form"},
        {"GET", "@evil.example/x", 0x101, "fast.example.com", NULL, NULL, "origin-form"},
        {"GET", "*", 0x101, "fast.example.com", NULL, NULL, "origin-form"},
        {"GET", "", 0x200, "fast.example.com", NULL, NULL, "origin-form"},
        {"GET", "/a\tb", 0x101, "fast.example.com", NULL, NULL, "origin-form"},
        {"GET", "/a\x7f", 0x101, "fast.example.com", NULL, NULL, "origin-form"},
        {"GET", "/a.js", 0x101, NULL, NULL, NULL, "without Host"},
        {"GET", "/a.js", 0x100, NULL, NULL, NULL, NULL},
        {"GET", "/a.js", 0x101, "fast.example.com", "", "2", "obs-fold"},
        {"GET", "/a.js", 0x200, "fast.example.com", "x a", "2", "header name"},
        {"GET", "/a.js", 0x200, "fast.example.com", "x-a", "1\r\nx-b: 2", "CR, LF or NUL"},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        const struct req_case *c = &cases[i];
        h2o_req_t req;
        memset(&req, 0, sizeof(req));
        h2o_mem_init_pool(&req.pool);
        req.method = h2o_iovec_init(c->method, strlen(c->method));
        req.path = h2o_iovec_init(c->path, strlen(c->path));
        req.version = c->version;
        if (c->host != NULL)
            req.input.authority = h2o_iovec_init(c->host, strlen(c->host));
        if (c->hname != NULL)
            h2o_add_header_by_str(&req.pool, &req.headers, c->hname, strlen(c->hname), 0, NULL, c->hvalue,
                                  strlen(c->hvalue));
        const char *got = edge__request_invalid(&req);
        if (c->want == NULL)
            CHECK(got == NULL, "case %zu (%s %s): refused: %s", i, c->method, c->path, got);
        else
            CHECK(got != NULL && strstr(got, c->want) != NULL, "case %zu (%s %s): got '%s', want '%s'", i, c->method,
                  c->path, got != NULL ? got : "(valid)", c->want);
        h2o_mem_clear_pool(&req.pool);
    }

    static const struct host_case hosts[] = {
        {"fast.example.com", 1},
        {"fast.example.com:8080", 1},
        {"127.0.0.1", 1},
        {"[::1]", 1},
        {"[::1]:80", 1},
        {"fast.example.com@evil", 0},
        {"a/b", 0},
        {"", 0},
        {":80", 0},
        {"fast.example.com:", 0},
        {"x:8o", 0},
        {"[::1", 0},
        {"[::1]x", 0},
        {"a b", 0},
        {"evil.example#", 0},
    };
    for (size_t i = 0; i < NCASES(hosts); i++) {
        int got = edge__redirect_host_ok(hosts[i].in, strlen(hosts[i].in));
        CHECK(got == hosts[i].want, "host '%s': %d, want %d", hosts[i].in, got, hosts[i].want);
    }
    return check_done("edge_reqcheck");
}
