/*
 * Error codes of local/: every fallible function returns 0 or one of these (negative), libuv style.
 */
#ifndef NEARJS_LOCAL_ERRORS_H
#define NEARJS_LOCAL_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

#define NL_ERRNO_MAP(X)                                                                                                \
    X(ENOMEM, -1, "out of memory")                                                                                     \
    X(ESYS, -2, "system call failed (see errno)")                                                                      \
    X(EBUSY, -3, "busy: an invocation is already queued or running")                                                   \
    X(EINVAL, -4, "invalid argument")                                                                                  \
    X(ETOOBIG, -5, "too big")                                                                                          \
    X(ECONFIG, -6, "invalid configuration")

#define NL_ERRNO_ENUM(name, value, text) NL_##name = value,
enum { NL_ERRNO_MAP(NL_ERRNO_ENUM) };
#undef NL_ERRNO_ENUM

/* Returns a static description of an NL_E* code (never NULL). */
const char *nl_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
