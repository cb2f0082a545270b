/*
 * common/error.h: the error codes of the tree, in one table (libuv's UV_ERRNO_MAP convention).
 *
 * A code is 0 (success) or negative. Codes with an errno equivalent are that errno negated (CM_ENOMEM is
 * -ENOMEM), so a code from a system call passes through as -errno. Codes without one live in ranges of
 * their own below CM_ERR_PART_BASE, one range per part, so they never collide with an errno value (Linux
 * errno values are below 200) nor with each other. A code passes between parts unchanged.
 *
 * runtime/ is an installed library that does not link common/: its public header <nearjs/runtime.h> keeps
 * its LRT_E* names and lrt_strerror, with the values and texts of this table (runtime/test/test_response.c
 * checks that they agree).
 *
 * Part ranges (a part's own codes are added to CM_ERRNO_MAP inside its range):
 *     common/   -4001 .. -4099
 *     function/ -4101 .. -4199
 *     local/    -4201 .. -4299
 *     runtime/  -4301 .. -4399
 *     edge/     -4401 .. -4499
 * Thread-safe: everything here is constant.
 */
#ifndef NEARJS_COMMON_ERROR_H
#define NEARJS_COMMON_ERROR_H

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The first part-specific code is below this; every errno equivalent is above it. */
#define CM_ERR_PART_BASE (-4000)
/* Each part's range holds this many codes, starting just below CM_ERR_PART_BASE - part * CM_ERR_PART_SPAN. */
#define CM_ERR_PART_SPAN 100

/* X(name, value, message): every code of the tree. */
#define CM_ERRNO_MAP(X)                                                                                                \
    X(ENOMEM, -ENOMEM, "out of memory")                                                                                \
    X(ETOOBIG, -E2BIG, "larger than its cap")                                                                          \
    X(EINVAL, -EINVAL, "invalid argument")                                                                             \
    X(ENOENT, -ENOENT, "no such object in the store")                                                                  \
    X(EIO, -EIO, "file not readable")                                                                                  \
    X(EBUSY, -EBUSY, "busy: an invocation is already queued or running")                                               \
    X(ETLS, -4001, "TLS setup refused")                                                                                \
    X(EBADPATH, -4101, "path is not /<account>/<file>.js")                                                             \
    X(EBADEVENT, -4102, "event is not an API Gateway (1.0, 2.0) or function URL request")                              \
    X(ENOTMODIFIED, -4103, "object unchanged since the version held")                                                  \
    X(ESTORE, -4104, "content store unreachable or failing")                                                           \
    X(ESCHEME, -4105, "unsupported or malformed store URL (file:///abs/path or s3://bucket/prefix)")                   \
    X(ECONTENT, -4106, "content in the store is invalid")                                                              \
    X(EZLIB, -4107, "compression failed")                                                                              \
    X(ECRYPTO, -4108, "hashing failed")                                                                                \
    X(ESTORECONFIG, -4109, "store configuration incomplete (AWS_REGION)")                                              \
    X(ENOCURL, -4110, "libcurl.so.4 could not be loaded (the S3 store needs it: install libcurl4 or package it)")      \
    X(ERESPTOOBIG, -4301, "response larger than Lambda allows")                                                        \
    X(ESTATE, -4302, "call not allowed in this state of the response")                                                 \
    X(ETRANSPORT, -4303, "Runtime API unreachable")                                                                    \
    X(EPROTOCOL, -4304, "Runtime API answered something unexpected")                                                   \
    X(EENVIRON, -4305, "environment incomplete")                                                                       \
    X(ESYS, -4201, "system call failed (see errno)")                                                                   \
    X(ECONFIG, -4202, "invalid configuration")

typedef enum cm_errno {
#define CM__ERRNO_ENUM(name, value, text) CM_##name = value,
    CM_ERRNO_MAP(CM__ERRNO_ENUM)
#undef CM__ERRNO_ENUM
} cm_errno_t;

/* Returns a static description of a code of CM_ERRNO_MAP ("success" for 0, "unknown error" otherwise). */
const char *cm_strerror(int err);
/* Returns the code's name without prefix ("ENOMEM"; "OK" for 0, "UNKNOWN" otherwise). Static. */
const char *cm_err_name(int err);

#ifdef __cplusplus
}
#endif

#endif
