/*
 * function/render.h: the content model's one operation: shared loader + account config -> script.
 * The config JSON is validated by jansson and re-dumped as pure ASCII with <, >, & and / escaped
 * (\u003c, \u003e, \u0026, \/) and U+2028/U+2029 as \u2028/\u2029, so no config can close a
 * <script> element, open an HTML comment, or end a JavaScript line inside a string literal.
 */
#ifndef NEARJS_FUNCTION_RENDER_H
#define NEARJS_FUNCTION_RENDER_H

#include <stddef.h>
#include "common/buf.h"

/* The placeholder in loader.js that the account's config replaces (first occurrence). */
#define FN_PLACEHOLDER "__NEARJS_CONFIG__"
/* Caps: each source object, and the rendered script (Lambda's 6 MB payload must hold it escaped). */
#define FN_OBJECT_MAX (2 * 1024 * 1024)
#define FN_SCRIPT_MAX (3 * 1024 * 1024)

/*
 * Appends to out the config JSON text (len bytes), validated (must be an object; duplicate keys,
 * invalid UTF-8 and numbers no double holds refused) and dumped as script-safe JSON, each number
 * spelled exactly as in the input. Returns 0, CM_ECONTENT (why, if not NULL,
 * receives jansson's message, NUL-terminated, up to whylen bytes), CM_ETOOBIG or CM_ENOMEM. On failure
 * out is unchanged.
 */
int fn_json_for_script(const char *json, size_t len, cm_buf_t *out, char *why, size_t whylen);

/*
 * Checks a loader of loader_len bytes: not empty, valid UTF-8 (it is sent as a JSON string and decoded as
 * UTF-8 by browsers), containing FN_PLACEHOLDER. Returns 0 with *head = the placeholder's offset, or
 * CM_ECONTENT (why as above).
 */
int fn_loader_check(const char *loader, size_t loader_len, size_t *head, char *why, size_t whylen);

/*
 * Renders the script into out (cleared first): the loader (must be UTF-8 and contain FN_PLACEHOLDER)
 * with its first placeholder replaced by fn_json_for_script(config). Returns 0, CM_ECONTENT (why as
 * above), CM_ETOOBIG (over FN_SCRIPT_MAX or out's cap) or CM_ENOMEM.
 */
int fn_render(const char *loader, size_t loader_len, const char *config, size_t config_len, cm_buf_t *out, char *why,
              size_t whylen);

#endif
