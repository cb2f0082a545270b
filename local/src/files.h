/*
 * File helpers the verbs share: reading a whole (capped) file, and finding a bootstrap as Lambda's
 * provided runtimes do (an executable, or a folder holding one named "bootstrap").
 */
#ifndef NEARJS_LOCAL_FILES_H
#define NEARJS_LOCAL_FILES_H

#include <stddef.h>

/* Reads a whole file (or stdin for "-") up to max bytes into a new NUL-terminated buffer. Returns 0, or -1
 * with a reason in err (nothing allocated). */
int nl__slurp(const char *path, size_t max, char **out, size_t *len, char *err, size_t err_size);

/* Resolves given (an executable, or a folder with an executable "bootstrap") into new strings: the
 * absolute path of the executable, its task root (its folder) and a default function name (the file's or
 * folder's name). Returns 0, or -1 with one line in err saying what is wrong and what to do (nothing
 * allocated). */
int nl__resolve_bootstrap(const char *given, char **bootstrap, char **task_root, char **default_name, char *err,
                          size_t err_size);

#endif
