/* Table-driven tests of the config parsers: upstream URLs, addresses, and YAML files whose errors
 * must name the line, the key and the value. */
#include "config.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct url_case {
    const char *in;
    int want_err;
    const char *want_name;
    unsigned want_port;
};

struct yaml_case {
    const char *text;
    int want_err;
    const char *want_in_err; /* substring of the error */
};

int main(void)
{
    static const struct url_case urls[] = {
        {"https://us-east-1-fast.example.com", 0, "us-east-1-fast.example.com", 443},
        {"https://gw.example.com:8443", 0, "gw.example.com", 8443},
        {"https://gw.example.com/", 0, "gw.example.com", 443},
        {"http://gw.example.com", CM_EINVAL, NULL, 0},
        {"https://gw.example.com:0", CM_EINVAL, NULL, 0},
        {"https://gw.example.com:99999", CM_EINVAL, NULL, 0},
        {"https://gw.example.com/path", CM_EINVAL, NULL, 0},
        {"https://", CM_EINVAL, NULL, 0},
        {"https://bad_name!", CM_EINVAL, NULL, 0},
    };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        edge_upstream_conf_t u;
        memset(&u, 0, sizeof(u));
        char err[256] = "";
        int rc = edge_config_parse_upstream_url(urls[i].in, &u, err, sizeof(err));
        CHECK(!(rc != urls[i].want_err ||
                (rc == 0 && (strcmp(u.name, urls[i].want_name) != 0 || u.port != urls[i].want_port))),
              "url case %zu '%s': got %d '%s' %s:%u", i, urls[i].in, rc, err, u.name ? u.name : "", u.port);
        free(u.name);
    }

    static const struct yaml_case yamls[] = {
        {"listeners:\n  - listen: 127.0.0.1:8080\n    plain: deny\nupstreams:\n  - url: https://gw.example.com\n", 0,
         NULL},
        {"listeners:\n  - listen: 127.0.0.1:8080\n    plain: maybe\n", CM_EINVAL,
         ":3: key 'listeners[0].plain': value 'maybe'"},
        {"threads: lots\n", CM_EINVAL, ":1: key 'threads': value 'lots': must be a whole number"},
        {"timeoutz:\n  connect: 5\n", CM_EINVAL, ":2: key 'timeoutz': unknown key"},
        {"upstreams:\n  - url: http://x.example.com\n", CM_EINVAL, "key 'upstreams[0].url'"},
        {"upstreams:\n  - url: https://x.example.com\n    health:\n      rise: 0\n", CM_EINVAL,
         ":4: key 'upstreams[0].health.rise': value '0'"},
        {"listeners:\n  - listen: 127.0.0.1:8443\n    tls:\n      - cert: /nonexistent.pem\n", CM_EINVAL,
         "key 'listeners[0].tls[0].cert': value '/nonexistent.pem': not readable"},
        {"listeners: [\n", CM_EINVAL, "YAML syntax"},
        {"listeners:\n  - listen: 127.0.0.1:8080\n    plain: deny\n", CM_EINVAL, "no upstream"},
        {"upstreams:\n  - connect_to: 1.2.3.4:443\n", CM_EINVAL, "needs url"},
        {"listeners:\n  - listen: 127.0.0.1:8080\n    plain: deny\nupstreams:\n  - url: https://x.example.com\n"
         "    sign: {service: lambda, region: eu-west-1}\n",
         0, NULL},
        {"upstreams:\n  - url: https://x.example.com\n    sign: {service: lambda}\n", CM_EINVAL,
         ":3: key 'upstreams[0].sign': needs both service and region"},
        {"upstreams:\n  - url: https://x.example.com\n    sign: {service: lambda, region: EU_West}\n", CM_EINVAL,
         ":3: key 'upstreams[0].sign.region': value 'EU_West': must be lower-case letters"},
        {"upstreams:\n  - url: https://x.example.com\n    sign: {service: lambda, zone: a}\n", CM_EINVAL,
         "key 'upstreams[0].sign.zone': value 'a': unknown key"},
        {"upstreams:\n  - url: https://x.example.com\n    sign: lambda\n", CM_EINVAL,
         "key 'upstreams[0].sign': value 'lambda': must be a mapping"},
        {"credentials_file: /nonexistent.json\n", CM_EINVAL,
         ":1: key 'credentials_file': value '/nonexistent.json': not readable"},
    };
    char path[] = "/tmp/edge_config_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    close(fd);
    for (size_t i = 0; i < sizeof(yamls) / sizeof(yamls[0]); i++) {
        FILE *f = fopen(path, "w");
        fputs(yamls[i].text, f);
        fclose(f);
        edge_config_t c;
        edge_config_init(&c);
        char err[EDGE_ERR_SIZE] = "";
        int rc = edge_config_load_yaml(path, &c, err, sizeof(err));
        CHECK(!(rc != yamls[i].want_err || (yamls[i].want_in_err != NULL && strstr(err, yamls[i].want_in_err) == NULL)),
              "yaml case %zu: got %d '%s', want %d containing '%s'", i, rc, err, yamls[i].want_err,
              yamls[i].want_in_err ? yamls[i].want_in_err : "");
        edge_config_dispose(&c);
    }
    unlink(path);
    return check_done("edge_config");
}
