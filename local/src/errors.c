/* The text of each NL_E* code, from the one table in errors.h. */
#include "local/errors.h"

const char *nl_strerror(int err)
{
#define NL_ERRNO_CASE(name, value, text)                                                                               \
    case value:                                                                                                        \
        return text;
    switch (err) {
    case 0:
        return "success";
        NL_ERRNO_MAP(NL_ERRNO_CASE)
    }
#undef NL_ERRNO_CASE
    return "unknown error";
}
