/* errno.c: the texts of FN_ERRNO_MAP. */
#include "function/errno.h"

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
