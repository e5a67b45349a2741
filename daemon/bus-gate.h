/* The authorization gate: every method call to mediagate's objects passes through it before its
 * handler runs. It finds the member in the authorization table (bus-authorization.h), refuses
 * anything the table does not list, and applies the member's rule: the object's owner, the
 * caller's identity, polkit. Handlers run only for calls the gate let through. */
#pragma once

#include <systemd/sd-bus.h>

#include "manager-state.h"

/* The connection that owns the object of `interface` at `path` (a request or a track), or NULL
 * when there is none (the bus then answers UnknownObject). */
typedef const char *(*bus_gate_owner_t)(const char *interface, const char *path, void *userdata);

/* Install the gate as a filter on m->bus, in front of every object of the daemon. */
int bus_gate_install(Manager *m, bus_gate_owner_t owner_of, void *userdata, sd_bus_slot **ret_slot);
