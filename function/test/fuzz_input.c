/*
 * libFuzzer target: arbitrary bytes into every parser of the function: the whole handler (event JSON
 * against the demo store), the path grammar, Accept-Encoding, If-None-Match, and a config's re-encoding
 * (fn_json_for_script). The first byte picks the parser. Must never crash, leak or overrun; the handler's
 * answer must always be a JSON object with a status, an accepted path must consist of id characters only,
 * and an accepted config must come out as ASCII without <, > or &, read by jansson as the same value as
 * the input, with every number token as it was in the input.
 * Build: cmake -DNEARJS_FUZZ=ON -DCMAKE_C_COMPILER=clang; run: build/test-bin/fuzz_input -max_total_time=60
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "common/buf.h"
#include "function/handler.h"
#include "function/negotiate.h"
#include "function/path.h"
#include "function/render.h"

static void handler_case(const char *p, size_t n)
{
    /* One handler for the run, as in a warm instance: the cache carries state across inputs. */
    static fn_handler_t *h;
    if (h == NULL && fn_handler_new("file://" FN_DEMO_DIR, NULL, NULL, &h) != 0)
        abort();
    cm_buf_t out;
    cm_buf_init(&out, 6 * 1024 * 1024);
    if (fn_handler_handle(h, p, n, &out) != 0)
        abort();
    json_t *j = json_loadb(out.base, out.len, 0, NULL);
    json_int_t status = json_integer_value(json_object_get(j, "statusCode"));
    if (j == NULL || status < 200 || status > 599 || !json_is_string(json_object_get(j, "body")))
        abort();
    json_decref(j);
    cm_buf_dispose(&out);
}

/* The number tokens of JSON text, outside strings, joined by spaces. */
static void number_tokens(const char *p, size_t n, cm_buf_t *out)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"') {
            for (i++; i < n && p[i] != '"'; i++)
                i += p[i] == '\\';
        } else if (p[i] == '-' || (p[i] >= '0' && p[i] <= '9')) {
            size_t j = i;
            while (j < n && strchr("+-.eE0123456789", p[j]) != NULL && p[j] != '\0')
                j++;
            cm_buf_append(out, p + i, j - i);
            cm_buf_append(out, " ", 1);
            i = j - 1;
        }
    }
}

static void config_case(const char *p, size_t n)
{
    cm_buf_t out, a, b;
    cm_buf_init(&out, 1 << 20);
    if (fn_json_for_script(p, n, &out, NULL, 0) == 0) {
        for (size_t i = 0; i < out.len; i++) {
            if ((unsigned char)out.base[i] >= 0x80 || strchr("<>&", out.base[i]) != NULL || out.base[i] == '\0')
                abort();
        }
        json_t *in = json_loadb(p, n, JSON_DECODE_INT_AS_REAL, NULL);
        json_t *back = json_loadb(out.base, out.len, JSON_DECODE_INT_AS_REAL, NULL);
        if (in == NULL || back == NULL || !json_equal(in, back))
            abort();
        json_decref(in);
        json_decref(back);
        cm_buf_init(&a, 1 << 20);
        cm_buf_init(&b, 1 << 20);
        number_tokens(p, n, &a);
        number_tokens(out.base, out.len, &b);
        if (a.len != b.len || (a.len > 0 && memcmp(a.base, b.base, a.len) != 0))
            abort();
        cm_buf_dispose(&a);
        cm_buf_dispose(&b);
    }
    cm_buf_dispose(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0:
        handler_case(p, n);
        break;
    case 1: {
        fn_path_t path;
        if (fn_path_parse(p, n, &path) == 0 &&
            (!fn_id_valid(path.account, strlen(path.account)) || !fn_id_valid(path.file, strlen(path.file))))
            abort();
        break;
    }
    case 2:
        fn_accepts_gzip(p, n);
        break;
    case 3:
        fn_if_none_match(p, n, "\"0123456789abcdef0123456789abcdef\"");
        break;
    default:
        config_case(p, n);
        break;
    }
    return 0;
}
