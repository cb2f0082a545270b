/*
 * A function URL's AuthType AWS_IAM, locally: the request's SigV4 signature checked with common/sigv4.h
 * against the one principal of --iam, as Lambda checks it against the function's resource policy.
 */
#ifndef NEARJS_LOCAL_FURL_AUTH_H
#define NEARJS_LOCAL_FURL_AUTH_H

#include <h2o.h>
#include <time.h>

#include "local/apigw.h"
#include "serve_args.h"

/* The account a local function URL belongs to (and its principals, unless --principal says otherwise). */
#define NL__FURL_ACCOUNT "123456789012"

/* Who signed a request: requestContext.authorizer.iam, with its strings kept here. */
typedef struct nl__furl_signer {
    nl_apigw_iam_t iam;
    char account[16];
    char caller[160];
} nl__furl_signer_t;

/* Checks req as a function URL with AuthType AWS_IAM in region does at time now (seconds): signed with
 * a's --iam key (and its session token, when it has one), scope <day>/region/lambda/aws4_request, at most
 * 5 minutes off, every signed header and the body unchanged. Returns NULL and fills *signer when the
 * request may go on; else why not (one line, in buf or static), for the log: the caller answers 403. */
const char *nl__furl_auth(const nl__serve_args_t *a, const char *region, h2o_req_t *req, time_t now,
                          nl__furl_signer_t *signer, char *buf, size_t size);

#endif
