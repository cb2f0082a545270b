/* check.h: the tiny harness of the C unit tests: CHECK prints the failing row and counts it;
 * check_done() prints a summary line and gives main() its exit status. */
#ifndef NEARJS_TEST_CHECK_H
#define NEARJS_TEST_CHECK_H

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
    else
        printf("%s: all passed\n", name);
    return failures != 0;
}

#endif
