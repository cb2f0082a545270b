/* errno.c: the texts of FN_ERRNO_MAP, and the mapping of common/'s CM_E* codes onto it. */
#include "common/buf.h"
#include "function/errno.h"
#include "errno_internal.h"

const char *fn_strerror(int err)
{
    switch (err) {
#define FN__ERRNO_TEXT(name, value, text)                                                                              \
    case value:                                                                                                        \
        return text;
        FN_ERRNO_MAP(FN__ERRNO_TEXT)
#undef FN__ERRNO_TEXT
    case 0:
        return "success";
    default:
        return "unknown error";
    }
}

int fn__errno_from_cm(int err)
{
    switch (err) {
    case 0:
        return 0;
    case CM_ENOMEM:
        return FN_ENOMEM;
    case CM_ETOOBIG:
        return FN_ETOOBIG;
    default:
        return FN_EINVAL;
    }
}
