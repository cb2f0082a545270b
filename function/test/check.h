/* check.h: the tiny harness of function/'s unit tests: CHECK prints the failing row and counts it. */
#ifndef FUNCTION_TEST_CHECK_H
#define FUNCTION_TEST_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            failures++;                                                                                                \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                       \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fputc('\n', stderr);                                                                                       \
        }                                                                                                              \
    } while (0)

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static inline int check_done(const char *name)
{
    if (failures != 0)
        fprintf(stderr, "%s: %d failure(s)\n", name, failures);
    return failures != 0;
}

#endif
