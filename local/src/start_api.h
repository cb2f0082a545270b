/*
 * The serving verbs' request handlers and entry points.
 */
#ifndef NEARJS_LOCAL_START_API_H
#define NEARJS_LOCAL_START_API_H

#include "server.h"

/* start-api's handler: API Gateway proxy integration. */
int nl__api_on_req(nl__server_t *srv, h2o_req_t *req);
/* start-api's 413 for a body over NL_APIGW_MAX_REQUEST, as the gateway words it (and logged). */
h2o_iovec_t nl__api_on_too_large(nl__server_t *srv, h2o_req_t *req);
/* start-lambda's handler: the Lambda Invoke API. */
int nl__lambda_on_req(nl__server_t *srv, h2o_req_t *req);

/* Runs `nearjs-local start-api ARGS...` / `start-lambda ARGS...` (argv[0] is the verb). Return the exit code. */
int nl__start_api_main(int argc, char **argv);
int nl__start_lambda_main(int argc, char **argv);

#endif
