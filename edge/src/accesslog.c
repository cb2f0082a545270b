/*
 * The access log: one line per finished request, plain (space-separated, quoted where a field may
 * hold spaces) or JSON (through jansson, so any byte a client sends stays valid JSON). Each line is
 * formatted in full and written with one fwrite on a line-buffered stream, so that lines of
 * different workers never interleave mid-line.
 */
#include "accesslog.h"
#include "conninfo.h"
#include "common/buf.h"
#include "common/log.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static json_t *jstr(const char *p, size_t len)
{
    /* jansson refuses invalid UTF-8; a client's junk path must not lose the line */
    json_t *s = json_stringn(p, len);
    return s != NULL ? s : json_string("(invalid utf-8)");
}

void edge__access_log(edge_gen_t *g, const edge_logline_t *l)
{
    if (g->access_log == NULL)
        return;
    h2o_req_t *req = l->req;
    char ts[CM_TIMESTAMP_SIZE], client[64];
    cm_timestamp(ts, cm_epoch_ms());
    edge__client_addr(req, client, sizeof(client));
    const char *sni = edge__sni(req);
    size_t plen = req->path.len > 2048 ? 2048 : req->path.len;
    if (g->conf.access_log_json) {
        json_t *o = json_object();
        json_object_set_new(o, "time", json_string(ts));
        json_object_set_new(o, "client", json_string(client));
        json_object_set_new(o, "sni", sni != NULL ? jstr(sni, strlen(sni)) : json_null());
        json_object_set_new(o, "host", jstr(req->authority.base, req->authority.len));
        json_object_set_new(o, "method", jstr(req->method.base, req->method.len));
        json_object_set_new(o, "path", jstr(req->path.base, plen));
        json_object_set_new(o, "status", json_integer(l->status));
        json_object_set_new(o, "bytes", json_integer((json_int_t)l->bytes));
        json_object_set_new(o, "upstream", l->upstream != NULL ? json_string(l->upstream) : json_null());
        json_object_set_new(o, "upstream_ms", json_real((double)l->upstream_us / 1000.0));
        json_object_set_new(o, "total_ms", json_real((double)l->total_us / 1000.0));
        char *line = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (line != NULL) {
            fprintf(g->access_log, "%s\n", line);
            free(line);
        }
        return;
    }
    cm_buf_t b;
    cm_buf_init(&b, 8192);
    cm_buf_appendf(&b, "%s %s %s %.*s \"%.*s %.*s\" %d %zu %s %.3f %.3f\n", ts, client, sni != NULL ? sni : "-",
                   (int)(req->authority.len > 255 ? 255 : req->authority.len), req->authority.base,
                   (int)(req->method.len > 32 ? 32 : req->method.len), req->method.base, (int)plen, req->path.base,
                   l->status, l->bytes, l->upstream != NULL ? l->upstream : "-", (double)l->upstream_us / 1000.0,
                   (double)l->total_us / 1000.0);
    if (b.base != NULL)
        fwrite(b.base, 1, b.len, g->access_log);
    cm_buf_dispose(&b);
}
