/*
 * render.c: loader + config -> script. The config goes through jansson twice (load to validate, dump
 * to re-encode) so what lands in the script is JSON jansson wrote, never bytes from the store. The dump
 * is ASCII (JSON_ENSURE_ASCII turns U+2028/U+2029 and all non-ASCII into \u escapes) with "/" escaped;
 * then <, > and & become \u003c, \u003e, \u0026. Those three can only occur inside JSON strings, where a
 * \u escape means the same character, so the value is unchanged for JSON.parse and for JavaScript.
 */
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "function/errno.h"
#include "function/render.h"
#include "errno_internal.h"

static void set_why(char *why, size_t whylen, const char *text)
{
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, "%s", text);
}

int fn_json_for_script(const char *json, size_t len, cm_buf_t *out, char *why, size_t whylen)
{
    json_error_t jerr;
    if (json == NULL)
        json = "";
    /* Duplicate keys are refused: which one wins differs between parsers, so it is an authoring error. */
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        if (why != NULL && whylen > 0)
            snprintf(why, whylen, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return FN_ECONTENT;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        set_why(why, whylen, "config is not a JSON object");
        return FN_ECONTENT;
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH);
    json_decref(root);
    if (text == NULL)
        return FN_ENOMEM;
    size_t start = out->len;
    int err = 0;
    size_t run = 0, n = strlen(text);
    for (size_t i = 0; i <= n && err == 0; i++) {
        const char *esc = NULL;
        if (i < n && text[i] == '<')
            esc = "\\u003c";
        else if (i < n && text[i] == '>')
            esc = "\\u003e";
        else if (i < n && text[i] == '&')
            esc = "\\u0026";
        else if (i < n)
            continue;
        err = fn__errno_from_cm(cm_buf_append(out, text + run, i - run));
        if (err == 0 && esc != NULL)
            err = fn__errno_from_cm(cm_buf_append(out, esc, 6));
        run = i + 1;
    }
    free(text);
    if (err != 0) {
        out->len = start;
        if (out->base != NULL)
            out->base[start] = '\0';
    }
    return err;
}

int fn_loader_check(const char *loader, size_t loader_len, size_t *head, char *why, size_t whylen)
{
    /* Empty objects may come as NULL pointers (a buffer never grown): give jansson real strings. */
    if (loader == NULL || loader_len == 0) {
        set_why(why, whylen, "loader.js is empty");
        return FN_ECONTENT;
    }
    /* The loader is sent as a JSON string in the answer, and browsers decode it as UTF-8: check once here. */
    json_t *probe = json_stringn(loader, loader_len);
    if (probe == NULL) {
        set_why(why, whylen, "loader.js is not valid UTF-8");
        return FN_ECONTENT;
    }
    json_decref(probe);
    const char *at = memmem(loader, loader_len, FN_PLACEHOLDER, strlen(FN_PLACEHOLDER));
    if (at == NULL) {
        set_why(why, whylen, "loader.js has no " FN_PLACEHOLDER " placeholder");
        return FN_ECONTENT;
    }
    *head = (size_t)(at - loader);
    return 0;
}

int fn_render(const char *loader, size_t loader_len, const char *config, size_t config_len, cm_buf_t *out, char *why,
              size_t whylen)
{
    cm_buf_reset(out);
    size_t head;
    int err = fn_loader_check(loader, loader_len, &head, why, whylen);
    if (err != 0)
        return err;
    if (config == NULL)
        config = "";
    size_t skip = head + strlen(FN_PLACEHOLDER);
    size_t saved_max = out->max;
    if (out->max > FN_SCRIPT_MAX)
        out->max = FN_SCRIPT_MAX;
    err = fn__errno_from_cm(cm_buf_append(out, loader, head));
    if (err == 0)
        err = fn_json_for_script(config, config_len, out, why, whylen);
    if (err == 0)
        err = fn__errno_from_cm(cm_buf_append(out, loader + skip, loader_len - skip));
    out->max = saved_max;
    if (err != 0)
        cm_buf_reset(out);
    if (err == FN_ETOOBIG)
        set_why(why, whylen, "rendered script larger than its cap");
    return err;
}
