/*
 * What the process environment says about where it runs. Thread-safe as far as getenv is (nothing here
 * writes the environment).
 */
#ifndef NEARJS_COMMON_ENV_H
#define NEARJS_COMMON_ENV_H

#ifdef __cplusplus
extern "C" {
#endif

/* The AWS region as the AWS SDKs find it: AWS_REGION, else AWS_DEFAULT_REGION, each only when set and
 * non-empty. Returns the variable's value (borrowed from the environment: valid until it is changed), or
 * NULL when neither is set; the caller picks its own default or refuses. */
const char *cm_env_region(void);

#ifdef __cplusplus
}
#endif

#endif
