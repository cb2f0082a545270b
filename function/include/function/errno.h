/*
 * function/errno.h: the one table of error codes of the function part (libuv's UV_ERRNO_MAP idiom).
 * Every fn_ function that can fail returns 0 or one of these negative values.
 */
#ifndef NEARJS_FUNCTION_ERRNO_H
#define NEARJS_FUNCTION_ERRNO_H

#define FN_ERRNO_MAP(X)                                                                                                \
    X(NOMEM, -1, "out of memory")                                                                                      \
    X(TOOBIG, -2, "larger than its cap")                                                                               \
    X(INVAL, -3, "invalid argument")                                                                                   \
    X(BADPATH, -4, "path is not /<account>/<file>.js")                                                                 \
    X(BADEVENT, -5, "event is not an API Gateway (1.0, 2.0) or function URL request")                                  \
    X(NOTFOUND, -6, "no such object in the store")                                                                     \
    X(NOTMODIFIED, -7, "object unchanged since the version held")                                                      \
    X(STORE, -8, "content store unreachable or failing")                                                               \
    X(SCHEME, -9, "unsupported or malformed store URL (file:///abs/path or s3://bucket/prefix)")                       \
    X(CONTENT, -10, "content in the store is invalid")                                                                 \
    X(ZLIB, -11, "compression failed")                                                                                 \
    X(CRYPTO, -12, "hashing failed")                                                                                   \
    X(CONFIG, -13, "store configuration incomplete (AWS_REGION)")                                                      \
    X(NOCURL, -14, "libcurl.so.4 could not be loaded (the S3 store needs it: install libcurl4 or package it)")

typedef enum fn_errno {
#define FN__ERRNO_ENUM(name, value, text) FN_E##name = value,
    FN_ERRNO_MAP(FN__ERRNO_ENUM)
#undef FN__ERRNO_ENUM
} fn_errno_t;

/* Returns a static text for a code of FN_ERRNO_MAP, "unknown error" for anything else. Thread-safe. */
const char *fn_strerror(int err);

#endif
