/*
 * libFuzzer target: arbitrary bytes into every parser of the function: the whole handler (event JSON
 * against the demo store), the path grammar, Accept-Encoding and If-None-Match. The first byte picks
 * the parser. Must never crash, leak or overrun; the handler's answer must always be a JSON object with
 * a status, and an accepted path must consist of id characters only.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 4) {
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
    default:
        fn_if_none_match(p, n, "\"0123456789abcdef0123456789abcdef\"");
        break;
    }
    return 0;
}
