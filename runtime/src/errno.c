/* The text of each lrt_errno_t, from the one table in the public header. */
#include "nearjs/runtime.h"

const char *lrt_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define LRT__ERRNO_TEXT(name, value, text)                                                                             \
    case value:                                                                                                        \
        return text;
        LRT_ERRNO_MAP(LRT__ERRNO_TEXT)
#undef LRT__ERRNO_TEXT
    default:
        return "unknown error";
    }
}
