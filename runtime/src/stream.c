/*
 * Streamed responses (Lambda-Runtime-Function-Response-Mode: streaming). The handler pushes bytes;
 * libcurl pulls them through a read callback. The two meet in res->body: lrt_stream_write() appends
 * and drives curl until the read callback has taken everything, and the callback pauses the upload
 * whenever it runs dry, so each write leaves the process as soon as it is made.
 * An error after the stream began travels as the trailers Lambda-Runtime-Function-Error-Type and
 * Lambda-Runtime-Function-Error-Body (base64 of the error JSON), as Lambda expects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "internal.h"

static size_t on_read(char *out, size_t size, size_t n, void *user)
{
    lrt_response_t *res = user;
    size_t room = size * n, left = res->body.len - res->stream_taken;

    if (left == 0) {
        if (res->stream_state != LRT__STREAM_OPEN)
            return 0; /* end of body: curl sends the last chunk and the trailers */
        res->stream_paused = 1;
        return CURL_READFUNC_PAUSE;
    }
    if (left > room)
        left = room;
    memcpy(out, res->body.data + res->stream_taken, left);
    res->stream_taken += left;
    return left;
}

static int on_trailers(struct curl_slist **list, void *user)
{
    lrt_response_t *res = user;
    if (res->error_type == NULL)
        return CURL_TRAILERFUNC_OK;

    char *json = lrt__response_error_json(res);
    if (json == NULL)
        return CURL_TRAILERFUNC_ABORT;
    size_t len = strlen(json);
    char *line = malloc(sizeof("Lambda-Runtime-Function-Error-Body: ") + 4 * (len / 3 + 1) + 1);
    char type[300];
    int ok = line != NULL;
    if (ok) {
        int n = snprintf(line, 64, "Lambda-Runtime-Function-Error-Body: ");
        EVP_EncodeBlock((unsigned char *)line + n, (const unsigned char *)json, (int)len);
        snprintf(type, sizeof(type), "Lambda-Runtime-Function-Error-Type: %s", lrt__response_error_type(res));
        struct curl_slist *l = curl_slist_append(*list, type);
        ok = l != NULL;
        if (ok)
            *list = l;
        ok = ok && (l = curl_slist_append(*list, line)) != NULL;
        if (ok)
            *list = l;
    }
    free(line);
    free(json);
    return ok ? CURL_TRAILERFUNC_OK : CURL_TRAILERFUNC_ABORT;
}

int lrt_stream_begin(lrt_response_t *res, const char *content_type)
{
    if (res->kind != LRT__RES_EMPTY || res->error_type != NULL || res->client == NULL)
        return LRT_ESTATE;
    lrt__client_t *c = res->client;
    char url[1024], type[512];
    snprintf(url, sizeof(url), "%s/invocation/%s/response", c->base, res->request_id);
    snprintf(type, sizeof(type), "Content-Type: %s", content_type ? content_type : "application/octet-stream");

    struct curl_slist *h = NULL, *l;
    const char *lines[] = {type, "Lambda-Runtime-Function-Response-Mode: streaming", "Transfer-Encoding: chunked",
                           "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
                           "Expect:"};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if ((l = curl_slist_append(h, lines[i])) == NULL) {
            curl_slist_free_all(h);
            return LRT_ENOMEM;
        }
        h = l;
    }
    res->stream_headers = h;
    res->kind = LRT__RES_STREAM;
    res->stream_state = LRT__STREAM_OPEN;
    res->body.limit = LRT_MAX_STREAM;

    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, res);
    curl_easy_setopt(e, CURLOPT_TRAILERFUNCTION, on_trailers);
    curl_easy_setopt(e, CURLOPT_TRAILERDATA, res);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 0L); /* a stream lasts as long as the handler writes */
    c->status = 0;
    c->error[0] = '\0';
    lrt__buf_clear(&c->body);
    curl_multi_add_handle(c->multi, e);
    if (lrt__client_step(c, 0) == 0 && c->error[0] != '\0') {
        res->stream_state = LRT__STREAM_BROKEN;
        return LRT_ETRANSPORT;
    }
    return 0;
}

/* Drives curl until the read callback has taken every byte written so far, or the transfer ended. */
static int drain(lrt_response_t *res)
{
    lrt__client_t *c = res->client;
    while (res->stream_taken < res->body.len || res->stream_state == LRT__STREAM_FINISHED) {
        if (res->stream_paused) {
            res->stream_paused = 0;
            curl_easy_pause(c->easy, CURLPAUSE_CONT);
        }
        if (lrt__client_step(c, 100) == 0) {
            if (res->stream_state == LRT__STREAM_FINISHED)
                return 0;
            res->stream_state = LRT__STREAM_BROKEN;
            if (c->error[0] == '\0')
                lrt__client_fail(c, "connection closed during the stream");
            return LRT_ETRANSPORT;
        }
    }
    /* Everything was taken: drop it so the buffer holds only what is still to send. */
    lrt__buf_clear(&res->body);
    res->stream_taken = 0;
    return 0;
}

int lrt_stream_write(lrt_response_t *res, const void *data, size_t len)
{
    if (res->kind != LRT__RES_STREAM || res->stream_state != LRT__STREAM_OPEN)
        return res->stream_state == LRT__STREAM_BROKEN ? LRT_ETRANSPORT : LRT_ESTATE;
    if (len > LRT_MAX_STREAM - res->stream_total) {
        if (res->error_type == NULL)
            lrt__response_too_large(res, res->stream_total + len, LRT_MAX_STREAM);
        return LRT_ETOOBIG;
    }
    int err = lrt__buf_append(&res->body, data, len);
    if (err != 0)
        return err;
    res->stream_total += len;
    return drain(res);
}

int lrt__stream_finish(lrt_response_t *res)
{
    lrt__client_t *c = res->client;
    int ret = 0;
    if (res->stream_state == LRT__STREAM_OPEN) {
        res->stream_state = LRT__STREAM_FINISHED;
        ret = drain(res);
    } else {
        ret = LRT_ETRANSPORT;
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE && msg->data.result != CURLE_OK) {
            if (c->error[0] == '\0')
                lrt__client_fail(c, "%s", curl_easy_strerror(msg->data.result));
            ret = LRT_ETRANSPORT;
        }
    if (ret == 0)
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
    curl_multi_remove_handle(c->multi, c->easy);
    /* Back to the buffered defaults for the next call. */
    curl_easy_setopt(c->easy, CURLOPT_READFUNCTION, NULL);
    curl_easy_setopt(c->easy, CURLOPT_READDATA, NULL);
    curl_easy_setopt(c->easy, CURLOPT_TRAILERFUNCTION, NULL);
    curl_easy_setopt(c->easy, CURLOPT_TRAILERDATA, NULL);
    return ret;
}
