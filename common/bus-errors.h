/* The one table mapping mediagate's D-Bus error names to errno values, shared by the daemon
 * and libmediagate (sd_bus_error_add_map), and the short names the spec uses. */
#pragma once

#include <systemd/sd-bus.h>

extern const sd_bus_error_map mediagate_error_map[];

/* Register the table with sd-bus (once per process; safe to call again). */
int mediagate_error_map_register(void);

/* "TypeError" for "org.mediagate.MediaGate1.Error.TypeError"; NULL for names not ours. */
const char *mediagate_error_short_name(const char *dbus_name);
