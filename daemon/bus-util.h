/* Small conveniences shared by every *-dbus.c file: request object paths, deferred error
 * replies, PropertiesChanged to one connection. Option dictionaries are common/bus-dict.h's. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "bus-dict.h"

/* The bus surfaces read their method options with common/bus-dict.h; these are its names there. */
typedef BusDictField BusOption;
static inline int bus_parse_options(sd_bus_message *m, BusOption *options, size_t n_options,
                                    sd_bus_error *error) {
        return bus_dict_read_fields(m, options, n_options, error);
}
static inline void bus_options_free(BusOption *options, size_t n_options) {
        bus_dict_fields_free(options, n_options);
}

/* The unique name without ':' and with '.' → '_' (request object paths). */
int bus_sender_to_path_component(const char *unique_name, char **ret);

/* Reply to a deferred method call with an error (logs failures to send). */
void bus_reply_error(sd_bus_message *m, int r, const sd_bus_error *error);

/* PropertiesChanged for one property of a simple type ("s", "b", "u"), sent to one connection
 * only (objects that belong to a client are nobody else's business). */
int bus_send_property_changed(sd_bus *bus, const char *destination, const char *path, const char *interface,
                              const char *property, const char *type, ...);
