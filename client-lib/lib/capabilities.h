/* getCapabilities() as the daemon sends it, read into MgCapability. */
#pragma once

#include <stddef.h>
#include <systemd/sd-bus.h>

#include "mediagate.h"

/* Capabilities: the a{sv} of getCapabilities(), entries of shapes we do not know skipped. */
int bus_read_capabilities(sd_bus_message *m, MgCapability **ret, size_t *ret_n);
void capabilities_free(MgCapability *caps, size_t n);
