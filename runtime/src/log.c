/*
 * lrt_log(): one log entry per line on stderr, in Lambda's two formats. Plain text is
 * "TIME\tREQUEST_ID\tLEVEL\tmessage" (newlines become \r so CloudWatch keeps one event); JSON, chosen
 * by AWS_LAMBDA_LOG_FORMAT=JSON, is {"timestamp","level","requestId","message"} built by jansson.
 * The request id is process state, set by the loop around each handler call: a log call has no
 * context argument, as in every Lambda runtime.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <jansson.h>
#include "internal.h"

#define LOG_MESSAGE_LIMIT (256 * 1024)

static const char *current_request_id;

void lrt__log_set_request_id(const char *request_id)
{
    current_request_id = request_id;
}

static const char *level_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

static lrt_log_level_t min_level(void)
{
    const char *v = getenv("AWS_LAMBDA_LOG_LEVEL");
    if (v != NULL)
        for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++)
            if (strcasecmp(v, level_names[i]) == 0)
                return (lrt_log_level_t)i;
    return LRT_LOG_INFO;
}

static void format_time(char *out, size_t size)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void lrt_log(lrt_log_level_t level, const char *fmt, ...)
{
    if ((int)level < 0 || level > LRT_LOG_FATAL)
        level = LRT_LOG_INFO;
    if (level < min_level())
        return;

    char *raw = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&raw, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    lrt__buf_t msg;
    lrt__buf_init(&msg, LOG_MESSAGE_LIMIT + 4);
    if (lrt__buf_append_utf8(&msg, raw, (size_t)n, LOG_MESSAGE_LIMIT) != 0 || msg.data == NULL) {
        free(raw);
        lrt__buf_dispose(&msg);
        return;
    }
    free(raw);

    char when[40];
    format_time(when, sizeof(when));
    const char *format = getenv("AWS_LAMBDA_LOG_FORMAT");
    if (format != NULL && strcasecmp(format, "JSON") == 0) {
        json_t *o = json_object();
        json_object_set_new(o, "timestamp", json_string(when));
        json_object_set_new(o, "level", json_string(level_names[level]));
        if (current_request_id != NULL)
            json_object_set_new(o, "requestId", json_string(current_request_id));
        json_object_set_new(o, "message", json_stringn(msg.data, msg.len));
        char *line = json_dumps(o, JSON_COMPACT);
        if (line != NULL)
            fprintf(stderr, "%s\n", line);
        free(line);
        json_decref(o);
    } else {
        for (size_t i = 0; i < msg.len; i++)
            if (msg.data[i] == '\n')
                msg.data[i] = '\r';
        fprintf(stderr, "%s\t%s\t%s\t%s\n", when, current_request_id ? current_request_id : "undefined",
                level_names[level], msg.data);
    }
    fflush(stderr);
    lrt__buf_dispose(&msg);
}
