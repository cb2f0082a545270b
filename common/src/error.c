/* The texts and names of CM_ERRNO_MAP, from the one table in common/error.h. */
#include "common/error.h"

const char *cm_strerror(int err)
{
#define CM__ERRNO_TEXT(name, value, text)                                                                              \
    case value:                                                                                                        \
        return text;
    switch (err) {
    case 0:
        return "success";
        CM_ERRNO_MAP(CM__ERRNO_TEXT)
    }
#undef CM__ERRNO_TEXT
    return "unknown error";
}

const char *cm_err_name(int err)
{
#define CM__ERRNO_NAME(name, value, text)                                                                              \
    case value:                                                                                                        \
        return #name;
    switch (err) {
    case 0:
        return "OK";
        CM_ERRNO_MAP(CM__ERRNO_NAME)
    }
#undef CM__ERRNO_NAME
    return "UNKNOWN";
}
