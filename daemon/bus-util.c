/* Helpers shared by the bus surfaces: request object paths, error replies, PropertiesChanged. */
#include "bus-util.h"

#include <stdarg.h>

#include "log.h"
#include "util.h"

int bus_sender_to_path_component(const char *unique_name, char **ret) {
        char *s;

        if (!unique_name || unique_name[0] != ':')
                return -EINVAL;
        s = strdup(unique_name + 1);
        if (!s)
                return -ENOMEM;
        for (char *p = s; *p; p++)
                if (*p == '.')
                        *p = '_';
        *ret = s;
        return 0;
}

void bus_reply_error(sd_bus_message *m, int r, const sd_bus_error *error) {
        int k;

        if (error && sd_bus_error_is_set(error))
                k = sd_bus_reply_method_error(m, error);
        else
                k = sd_bus_reply_method_errno(m, r < 0 ? r : -EIO, NULL);
        if (k < 0)
                log_debug_errno(k, "Failed to send error reply: %m");
}

int bus_send_property_changed(sd_bus *bus, const char *destination, const char *path, const char *interface,
                              const char *property, const char *type, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *signal = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_signal(bus, &signal, path, "org.freedesktop.DBus.Properties", "PropertiesChanged");
        if (r < 0)
                return r;
        if (destination) {
                r = sd_bus_message_set_destination(signal, destination);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_append(signal, "s", interface);
        if (r >= 0)
                r = sd_bus_message_open_container(signal, 'a', "{sv}");
        if (r >= 0) {
                va_start(ap, type);
                r = bus_dict_appendv(signal, property, type, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(signal);
        if (r >= 0)
                r = sd_bus_message_append(signal, "as", 0);
        if (r < 0)
                return r;
        return sd_bus_send(bus, signal, NULL);
}
