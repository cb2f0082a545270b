/*
 * libFuzzer target: arbitrary bytes as a Runtime API answer, split at an arbitrary point (two reads),
 * through the client's http-parser callbacks. Must never crash, leak or overrun a capped buffer.
 * Build: cmake -DNEARJS_FUZZ=ON -DCMAKE_C_COMPILER=clang; run: build/test-bin/fuzz_answer -max_total_time=60
 */
#include <stdint.h>
#include <string.h>
#include "../src/client.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lrt__client_t c;
    if (lrt__client_init(&c, "127.0.0.1:9", 1) != 0)
        return 0;
    http_parser_init(&c.parser, HTTP_RESPONSE);
    c.parser.data = &c;
    on_message_begin(&c.parser);
    size_t cut = size > 0 ? data[0] % (size + 1) : 0;
    size_t used = http_parser_execute(&c.parser, &parser_settings, (const char *)data, cut);
    if (used == cut && HTTP_PARSER_ERRNO(&c.parser) == HPE_OK)
        http_parser_execute(&c.parser, &parser_settings, (const char *)data + cut, size - cut);
    lrt__client_dispose(&c);
    return 0;
}
