/* Helpers for the bus surface: strict parsing of a{sv} option dictionaries and small
 * conveniences shared by every *-dbus.c file. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* One accepted key of an options dictionary. `type` is "s", "u", "t", "b" or "as"; `ret` points to a
 * char* (owned copy, freed by the caller), uint32_t, uint64_t, bool (int-sized "b" is converted) or
 * char**. */
typedef struct BusOption {
        const char *key;
        const char *type;
        void *ret;
        bool seen; /* set by bus_parse_options */
} BusOption;

/* Read an a{sv} at the current position of m. Unknown keys, duplicate keys and values of the
 * wrong type are InvalidArgs errors with a message naming the key. Returns 0 or a negative
 * errno (with *error set for invalid input). */
int bus_parse_options(sd_bus_message *m, BusOption *options, size_t n_options, sd_bus_error *error);
void bus_options_free(BusOption *options, size_t n_options);

/* The unique name without ':' and with '.' → '_' (request object paths). */
int bus_sender_to_path_component(const char *unique_name, char **ret);

/* Reply to a deferred method call with an error (logs failures to send). */
void bus_reply_error(sd_bus_message *m, int r, const sd_bus_error *error);

/* PropertiesChanged for one property of a simple type ("s", "b", "u"), sent to one connection
 * only (objects that belong to a client are nobody else's business). */
int bus_send_property_changed(sd_bus *bus, const char *destination, const char *path, const char *interface,
                              const char *property, const char *type, ...);
