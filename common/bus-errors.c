/* mediagate's D-Bus error names and their errno values. */
#include "bus-errors.h"

#include <errno.h>

#include "mediagate-names.h"
#include "util.h"

const sd_bus_error_map mediagate_error_map[] = {
        SD_BUS_ERROR_MAP(MG_ERROR_TYPE, EINVAL),
        SD_BUS_ERROR_MAP(MG_ERROR_NOT_FOUND, ENODEV),
        SD_BUS_ERROR_MAP(MG_ERROR_OVERCONSTRAINED, ERANGE),
        SD_BUS_ERROR_MAP(MG_ERROR_NOT_ALLOWED, EACCES),
        SD_BUS_ERROR_MAP(MG_ERROR_NOT_READABLE, EBUSY),
        SD_BUS_ERROR_MAP(MG_ERROR_ABORT, ECONNABORTED),
        SD_BUS_ERROR_MAP(MG_ERROR_SECURITY, EPERM),
        SD_BUS_ERROR_MAP(MG_ERROR_LIMITS_EXCEEDED, EDQUOT),
        SD_BUS_ERROR_MAP_END,
};

int mediagate_error_map_register(void) {
        static bool registered = false;
        int r;

        if (registered)
                return 0;
        r = sd_bus_error_add_map(mediagate_error_map);
        if (r < 0)
                return r;
        registered = true;
        return 0;
}

const char *mediagate_error_short_name(const char *dbus_name) {
        if (!dbus_name)
                return NULL;
        return startswith(dbus_name, MG_ERROR_PREFIX);
}
