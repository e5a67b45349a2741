/* The org.mediagate.MediaGate1.Testing bus surface (only with --test-controls): plug, unplug
 * and break synthetic devices from tests. */
#pragma once

#include <systemd/sd-bus.h>

#include "devices/synthetic.h"

/* Serve the interface on MG_OBJECT_PATH for as long as *ret_slot lives. Callers other than
 * the daemon's own uid and root get AccessDenied. */
int testing_dbus_register(sd_bus *bus, SyntheticBackend *backend, sd_bus_slot **ret_slot);
