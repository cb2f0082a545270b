/*
 * Streamed responses (Lambda-Runtime-Function-Response-Mode: streaming). lrt_stream_begin() sends the
 * request head with Transfer-Encoding: chunked; each lrt_stream_write() sends one chunk at once (no
 * buffering: the point of streaming is that bytes leave as they are made); the end sends the last
 * chunk and, after an error, the trailers Lambda-Runtime-Function-Error-Type and
 * Lambda-Runtime-Function-Error-Body (base64 of the error JSON), as Lambda expects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

int lrt_stream_begin(lrt_response_t *res, const char *content_type)
{
    if (res->kind != LRT__RES_EMPTY || res->error_type != NULL || res->client == NULL)
        return LRT_ESTATE;
    lrt__client_t *c = res->client;
    char head[1024];
    int n = snprintf(head, sizeof(head),
                     "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: %s\r\n"
                     "User-Agent: nearjs-runtime/" LRT_VERSION "\r\nContent-Type: %.300s\r\n"
                     "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n"
                     "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n",
                     res->request_id, c->endpoint, content_type ? content_type : "application/octet-stream");
    if (n < 0 || (size_t)n >= sizeof(head) || strpbrk(content_type ? content_type : "", "\r\n") != NULL)
        return LRT_EINVAL;
    res->kind = LRT__RES_STREAM;
    res->stream_state = LRT__STREAM_OPEN;
    struct iovec iov = {head, (size_t)n};
    if (lrt__client_connect(c) != 0 || lrt__client_write(c, &iov, 1) != 0) {
        res->stream_state = LRT__STREAM_BROKEN;
        return LRT_ETRANSPORT;
    }
    return 0;
}

int lrt_stream_write(lrt_response_t *res, const void *data, size_t len)
{
    if (res->kind != LRT__RES_STREAM)
        return LRT_ESTATE;
    if (res->stream_state == LRT__STREAM_BROKEN)
        return LRT_ETRANSPORT;
    if (res->error_type != NULL)
        return LRT_ESTATE; /* the error ends the stream */
    if (len > LRT_MAX_STREAM - res->stream_total) {
        lrt__response_too_large(res, res->stream_total + len, LRT_MAX_STREAM);
        return LRT_ETOOBIG;
    }
    if (len == 0)
        return 0; /* a zero-length chunk would end the body */
    char size[24];
    int n = snprintf(size, sizeof(size), "%zx\r\n", len);
    struct iovec iov[3] = {{size, (size_t)n}, {(void *)data, len}, {"\r\n", 2}};
    if (lrt__client_write(res->client, iov, 3) != 0) {
        res->stream_state = LRT__STREAM_BROKEN;
        return LRT_ETRANSPORT;
    }
    res->stream_total += len;
    return 0;
}

int lrt__stream_finish(lrt_response_t *res)
{
    lrt__client_t *c = res->client;
    if (res->stream_state == LRT__STREAM_BROKEN)
        return LRT_ETRANSPORT;
    char *json = NULL, *trailers = NULL;
    const char *end = "0\r\n\r\n";
    if (res->error_type != NULL) {
        if ((json = lrt__response_error_json(res)) == NULL)
            return LRT_ENOMEM;
        size_t len = strlen(json), size = 4 * ((len + 2) / 3) + 400;
        char *b64 = malloc(4 * ((len + 2) / 3) + 1);
        if (b64 == NULL || (trailers = malloc(size)) == NULL) {
            free(b64);
            free(json);
            return LRT_ENOMEM;
        }
        lrt__base64(b64, json, len);
        snprintf(trailers, size,
                 "0\r\nLambda-Runtime-Function-Error-Type: %s\r\nLambda-Runtime-Function-Error-Body: %s\r\n\r\n",
                 lrt__response_error_type(res), b64);
        free(b64);
        end = trailers;
    }
    struct iovec iov = {(void *)end, strlen(end)};
    int err = lrt__client_write(c, &iov, 1);
    if (err == 0)
        err = lrt__client_read_answer(c, 0);
    free(trailers);
    free(json);
    return err;
}
