/*
 * libFuzzer target: arbitrary bytes as an upstream's answer to the framing parser (answer.c), driven as proxy.c
 * drives it: the first byte picks HEAD or not and the read size, the rest arrives in reads of that size, head
 * first (interim answers dropped), then the body, then the close. Must never crash, overrun or take more bytes
 * than it was given; the body taken never exceeds the input.
 * Build: cmake -DNEARJS_FUZZ=ON -DCMAKE_C_COMPILER=clang; run: build/test-bin/fuzz_edge_answer -max_total_time=60
 */
#include "answer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int is_head = data[0] & 1;
    size_t step = (size_t)(data[0] >> 1) + 1;
    const char *in = (const char *)data + 1;
    size_t len = size - 1, have = 0, pos = 0, body = 0;
    char *buf = malloc(len + 1);
    int have_head = 0, r = 0;
    edge_answer_t a;
    edge__answer_init(&a, is_head);
    while (pos < len) {
        size_t n = len - pos < step ? len - pos : step, used, taken;
        memcpy(buf + have, in + pos, n);
        have += n;
        pos += n;
        if (!have_head) {
            edge_answer_header_t hs[EDGE_MAX_ANSWER_HEADERS];
            size_t num = EDGE_MAX_ANSWER_HEADERS;
            r = edge__answer_head(&a, buf, have, hs, &num, &used);
            if (r < 0)
                break;
            if (used > have || (r == 1 && num > EDGE_MAX_ANSWER_HEADERS))
                abort();
            memmove(buf, buf + used, have - used);
            have -= used;
            if (r == 0)
                continue;
            have_head = 1;
        }
        r = edge__answer_body(&a, buf, have, &taken, &used);
        if (r < 0)
            break;
        if (taken > have || used > have)
            abort();
        body += taken;
        memmove(buf, buf + used, have - used);
        have -= used;
        if (r == 1)
            break;
    }
    if (r < 0 && a.error == NULL)
        abort();
    if (body > len)
        abort();
    free(buf);
    return 0;
}
