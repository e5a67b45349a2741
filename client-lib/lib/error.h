/* The library's errors: MgError filled from an errno, a D-Bus error, a Response's failure or a
 * malformed message, each returning the negative errno so that reporting and failing is one step. */
#pragma once

#include <systemd/sd-bus.h>

#include "mediagate.h"
#include "util.h"

/* The DOMException name of a malformed constraints JSON (the others are the daemon's, in
 * mediagate-names.h). */
#define ERROR_NAME_SYNTAX "SyntaxError"

/* Each of these clears err (may be NULL), fills it, and returns the negative errno, so that
 * `return error_set...(err, ...)` reports and fails in one step. */
int error_setf(MgError *err, int error, const char *name, const char *format, ...) _printf_(4, 5);
/* name NULL: "System.Error.E..." for the errno. */
int error_set_errno(MgError *err, int error, const char *context);
/* A D-Bus error: our names become the short spec names. error is the call's return value. */
int error_set_bus(MgError *err, const sd_bus_error *e, int error);
/* The failure a Response carried: results["error"], ["message"], ["constraint"]. */
int error_set_response(MgError *err, const char *name, const char *message, const char *constraint);
/* The daemon sent something malformed. */
int error_set_protocol(MgError *err, const char *format, ...) _printf_(2, 3);
int error_copy(MgError *dst, const MgError *src);
/* errno for a short error name of ours ("NotAllowedError" → -EACCES); -EIO if unknown. */
int error_short_name_to_errno(const char *name);
