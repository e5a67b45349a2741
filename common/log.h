/* Logging: structured journal entries under systemd, plain lines on stderr otherwise.
 * Every helper that logs an error returns the negative errno it was given, so that a
 * caller can log and return in one statement. */
#pragma once

#include <syslog.h>

#include "util.h"

/* Decide the log target: the journal when stderr is connected to it (JOURNAL_STREAM)
 * or when forced, stderr otherwise. */
void log_open(void);
void log_set_max_level(int level);
int log_get_max_level(void);

/* Log at priority; errnum (positive or negative, 0 for none) feeds %m. Returns -|errnum|. */
int log_internal(int level, int errnum, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(6, 7);

/* Log with extra journal fields: a NULL-terminated list of "FIELD=value" strings. */
int log_struct_internal(int level, int errnum, const char *message_id, char **fields,
                        const char *format, ...) _printf_(5, 6);

#define log_full_errno(level, error, ...) \
        log_internal((level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)
#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
