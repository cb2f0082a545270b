/*
 * errno_internal.h: the boundary between common/'s error codes and function/'s. A cm_ call's code never
 * leaves function/ as such: it goes through fn__errno_from_cm first. Shared between the files of function/ only.
 */
#ifndef NEARJS_FUNCTION_ERRNO_INTERNAL_H
#define NEARJS_FUNCTION_ERRNO_INTERNAL_H

#include "function/errno.h"

/* Returns the FN_E* code for a CM_E* code (0 for 0; FN_EINVAL for a code function/ does not expect). Thread-safe. */
int fn__errno_from_cm(int err);

#endif
