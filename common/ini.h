/* A small parser for the INI-style files of mediagate (mediagated.conf, synthetic device
 * files, policy.d): "[Section]" headers, "Key=Value" lines, "#" and ";" comments, blank
 * lines. Pure: text in, callbacks out. Errors name the file and the line. */
#pragma once

#include <stddef.h>

/* Called for each section header (key == NULL, value == NULL) and each assignment.
 * section is NULL for assignments before the first header. Return a negative errno to
 * stop parsing (the handler has then reported the problem itself), 0 to go on. */
typedef int (*ini_handler_t)(const char *filename, unsigned line, const char *section,
                             const char *key, const char *value, void *userdata);

/* Reports a syntax error; filename and line identify the place. */
typedef void (*ini_error_t)(const char *filename, unsigned line, const char *message,
                            void *userdata);

/* Parse text (need not be NUL-terminated; NUL bytes inside are a syntax error).
 * Returns 0, -EINVAL on a syntax error (after calling on_error), or the handler's error.
 * Lines longer than INI_LINE_MAX are a syntax error. */
#define INI_LINE_MAX 4096
int ini_parse_text(const char *text, size_t size, const char *filename, ini_handler_t handler,
                   ini_error_t on_error, void *userdata);

/* Read a whole file (at most max_size bytes, else -EFBIG) and parse it. */
int ini_parse_file(const char *path, size_t max_size, ini_handler_t handler, ini_error_t on_error,
                   void *userdata);

/* Read a whole regular file into a NUL-terminated buffer. -EFBIG past max_size. */
int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size);
