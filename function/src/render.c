/*
 * render.c: loader + config -> script. The config goes through jansson twice (load to validate, dump
 * to re-encode) so what lands in the script is JSON jansson wrote, never bytes from the store, except the
 * numbers: jansson reads every number as a double (JSON_DECODE_INT_AS_REAL, so integers past 2^63 are
 * accepted too) and would print it with 17 digits (417.73 -> 417.73000000000002) or lose digits past 2^53,
 * so each number jansson wrote is replaced by the number token it was read from, in document order
 * (jansson keeps keys in insertion order and duplicates are refused, so the dump's numbers are the
 * source's numbers, one for one). A number token is only [-+.eE0-9], validated by jansson: nothing in it
 * can end a string or a script. The dump is ASCII (JSON_ENSURE_ASCII turns U+2028/U+2029 and all
 * non-ASCII into \u escapes) with "/" escaped; then <, > and & become \u003c, \u003e, \u0026. Those three
 * can only occur inside JSON strings, where a \u escape means the same character, so the value is
 * unchanged for JSON.parse and for JavaScript.
 */
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "common/error.h"
#include "function/render.h"

static void set_why(char *why, size_t whylen, const char *text)
{
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, "%s", text);
}

/* A cursor over JSON text that jansson accepted: finds its number tokens, skipping strings. */
typedef struct numbers {
    const char *p;
    size_t len, at;
} numbers_t;

static int is_number_char(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Moves to the next number token outside strings: returns 1 with [*start, *end) set, or 0 at the end.
 * Outside strings, valid JSON has only structure, whitespace, literals (letters) and numbers, and only a
 * number starts with '-' or a digit. */
static int next_number(numbers_t *n, size_t *start, size_t *end)
{
    while (n->at < n->len) {
        char c = n->p[n->at];
        if (c == '"') {
            for (n->at++; n->at < n->len && n->p[n->at] != '"'; n->at++) {
                if (n->p[n->at] == '\\')
                    n->at++;
            }
            n->at++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            *start = n->at;
            while (n->at < n->len && is_number_char(n->p[n->at]))
                n->at++;
            *end = n->at;
            return 1;
        } else {
            n->at++;
        }
    }
    return 0;
}

/* Appends text[from, to) to out with <, > and & escaped. */
static int append_escaped(cm_buf_t *out, const char *text, size_t from, size_t to)
{
    size_t run = from;
    for (size_t i = from; i < to; i++) {
        const char *esc = text[i] == '<' ? "\\u003c" : text[i] == '>' ? "\\u003e" : text[i] == '&' ? "\\u0026" : NULL;
        if (esc == NULL)
            continue;
        int err = cm_buf_append(out, text + run, i - run);
        if (err == 0)
            err = cm_buf_append(out, esc, 6);
        if (err != 0)
            return err;
        run = i + 1;
    }
    return cm_buf_append(out, text + run, to - run);
}

/* Appends the dump with each of its numbers replaced by the source's token at the same place in order. */
static int append_dump(cm_buf_t *out, const char *dump, const char *src, size_t src_len, char *why, size_t whylen)
{
    numbers_t d = {dump, strlen(dump), 0}, s = {src, src_len, 0};
    size_t done = 0, ds, de, ss, se;
    int err = 0;
    while (err == 0 && next_number(&d, &ds, &de)) {
        if (!next_number(&s, &ss, &se)) {
            set_why(why, whylen, "internal: the numbers of the dump and the source differ");
            return CM_ECONTENT;
        }
        err = append_escaped(out, dump, done, ds);
        if (err == 0)
            err = cm_buf_append(out, src + ss, se - ss);
        done = de;
    }
    if (err == 0 && next_number(&s, &ss, &se)) {
        set_why(why, whylen, "internal: the numbers of the dump and the source differ");
        return CM_ECONTENT;
    }
    return err != 0 ? err : append_escaped(out, dump, done, d.len);
}

int fn_json_for_script(const char *json, size_t len, cm_buf_t *out, char *why, size_t whylen)
{
    json_error_t jerr;
    if (json == NULL)
        json = "";
    /* Duplicate keys are refused: which one wins differs between parsers, so it is an authoring error. */
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
    if (root == NULL) {
        if (why != NULL && whylen > 0)
            snprintf(why, whylen, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return CM_ECONTENT;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        set_why(why, whylen, "config is not a JSON object");
        return CM_ECONTENT;
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH);
    json_decref(root);
    if (text == NULL)
        return CM_ENOMEM;
    size_t start = out->len;
    int err = append_dump(out, text, json, len, why, whylen);
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
        return CM_ECONTENT;
    }
    /* The loader is sent as a JSON string in the answer, and browsers decode it as UTF-8: check once here. */
    json_t *probe = json_stringn(loader, loader_len);
    if (probe == NULL) {
        set_why(why, whylen, "loader.js is not valid UTF-8");
        return CM_ECONTENT;
    }
    json_decref(probe);
    const char *at = memmem(loader, loader_len, FN_PLACEHOLDER, strlen(FN_PLACEHOLDER));
    if (at == NULL) {
        set_why(why, whylen, "loader.js has no " FN_PLACEHOLDER " placeholder");
        return CM_ECONTENT;
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
    err = cm_buf_append(out, loader, head);
    if (err == 0)
        err = fn_json_for_script(config, config_len, out, why, whylen);
    if (err == 0)
        err = cm_buf_append(out, loader + skip, loader_len - skip);
    out->max = saved_max;
    if (err != 0)
        cm_buf_reset(out);
    if (err == CM_ETOOBIG)
        set_why(why, whylen, "rendered script larger than its cap");
    return err;
}
