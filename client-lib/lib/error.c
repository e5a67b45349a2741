/* MgError: how failures reach the app, named as the spec names them (the D-Bus error of a
 * method call, or results["error"] of a Response) or after the errno for local failures. */
#include "error.h"

#include <stdarg.h>

#include "bus-errors.h"
#include "mediagate-names.h"

void mg_error_clear(MgError *err) {
        if (!err)
                return;
        free(err->name);
        free(err->message);
        free(err->constraint);
        *err = (MgError) MG_ERROR_INIT;
}

/* Fill err with copies; on allocation failure it still carries the errno, so that the caller
 * learns at least that much. */
static int error_fill(MgError *err, int error, const char *name, const char *message, const char *constraint) {
        if (error >= 0)
                error = -EIO; /* a failure must never read as success */
        if (!err)
                return error;
        mg_error_clear(err);
        err->error = error;
        err->name = strdup(name);
        err->message = strdup(message ?: "");
        if (constraint)
                err->constraint = strdup(constraint);
        return error;
}

int error_setf(MgError *err, int error, const char *name, const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;

        if (!err)
                return error < 0 ? error : -EIO;
        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);
        return error_fill(err, error, name, message, NULL);
}

int error_set_errno(MgError *err, int error, const char *context) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        if (error >= 0)
                error = -EIO;
        if (!err)
                return error;
        /* sd-bus names errno values "System.Error.ENOENT"; use its spelling. */
        (void) sd_bus_error_set_errno(&e, error);
        if (context)
                return error_setf(err, error, e.name ?: "System.Error", "%s: %s", context, strerror(-error));
        return error_fill(err, error, e.name ?: "System.Error", strerror(-error), NULL);
}

int error_set_bus(MgError *err, const sd_bus_error *e, int error) {
        const char *name, *short_name;

        if (!sd_bus_error_is_set(e))
                return error_set_errno(err, error, "D-Bus call failed");
        if (error >= 0)
                error = -sd_bus_error_get_errno(e);
        if (error >= 0)
                error = -EIO;

        name = e->name;
        short_name = mediagate_error_short_name(name);
        if (short_name)
                name = short_name;
        else if (streq(name, SD_BUS_ERROR_ACCESS_DENIED))
                name = "AccessDenied"; /* docs/dbus-api.md lists it by that name */
        return error_fill(err, error, name, e->message, NULL);
}

int mg_error_set_from_bus(MgError *err, const sd_bus_error *e, int r) {
        return error_set_bus(err, e, r);
}

int error_short_name_to_errno(const char *name) {
        for (const sd_bus_error_map *m = mediagate_error_map; m->name; m++) {
                const char *s = mediagate_error_short_name(m->name);

                if (s && streq(s, name))
                        return -m->code;
        }
        return -EIO;
}

int error_set_response(MgError *err, const char *name, const char *message, const char *constraint) {
        /* Only OverconstrainedError carries a constraint; keep NULL for the others so that "no
         * constraint" and "constraint hidden" ("") stay distinct. */
        if (!streq(name, MG_ERROR_NAME_OVERCONSTRAINED))
                constraint = NULL;
        else if (!constraint)
                constraint = "";
        return error_fill(err, error_short_name_to_errno(name), name, message, constraint);
}

int error_set_protocol(MgError *err, const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;

        if (!err)
                return -EPROTO;
        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);
        return error_setf(err, -EPROTO, "System.Error.EPROTO", "Protocol error: %s",
                          message ?: "malformed message from mediagated");
}

int error_copy(MgError *dst, const MgError *src) {
        if (!dst)
                return src->error;
        if (src->error == 0) {
                mg_error_clear(dst);
                return 0;
        }
        return error_fill(dst, src->error, src->name ?: "System.Error", src->message, src->constraint);
}
