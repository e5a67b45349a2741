/* Option dictionaries and other helpers shared by the bus surface. */
#include "bus-util.h"

#include <stdarg.h>

#include "log.h"
#include "util.h"

static int read_option_value(sd_bus_message *m, BusOption *o, sd_bus_error *error) {
        int r;

        if (streq(o->type, "s")) {
                const char *s;

                r = sd_bus_message_read(m, "s", &s);
                if (r < 0)
                        return r;
                return free_and_strdup((char **) o->ret, s);
        }
        if (streq(o->type, "u"))
                return sd_bus_message_read(m, "u", (uint32_t *) o->ret);
        if (streq(o->type, "t"))
                return sd_bus_message_read(m, "t", (uint64_t *) o->ret);
        if (streq(o->type, "b")) {
                int b;

                r = sd_bus_message_read(m, "b", &b);
                if (r < 0)
                        return r;
                *(bool *) o->ret = b;
                return 0;
        }
        if (streq(o->type, "as")) {
                char **l = NULL;

                r = sd_bus_message_read_strv(m, &l);
                if (r < 0)
                        return r;
                strv_free(*(char ***) o->ret);
                *(char ***) o->ret = l;
                return 0;
        }
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unsupported option type");
}

int bus_parse_options(sd_bus_message *m, BusOption *options, size_t n_options, sd_bus_error *error) {
        int r;

        for (size_t i = 0; i < n_options; i++)
                options[i].seen = false;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key, *contents;
                BusOption *o = NULL;

                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n_options; i++)
                        if (streq(options[i].key, key))
                                o = &options[i];
                if (!o)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown option '%.64s'", key);
                if (o->seen)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' given twice", o->key);
                o->seen = true;

                r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r < 0)
                        return r;
                if (!streq(contents, o->type))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' must be of type '%s', not '%.16s'",
                                                 o->key, o->type, contents);
                r = sd_bus_message_enter_container(m, 'v', contents);
                if (r < 0)
                        return r;
                r = read_option_value(m, o, error);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

void bus_options_free(BusOption *options, size_t n_options) {
        for (size_t i = 0; i < n_options; i++) {
                if (streq(options[i].type, "s")) {
                        free(*(char **) options[i].ret);
                        *(char **) options[i].ret = NULL;
                } else if (streq(options[i].type, "as")) {
                        strv_free(*(char ***) options[i].ret);
                        *(char ***) options[i].ret = NULL;
                }
        }
}

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
        if (r >= 0)
                r = sd_bus_message_open_container(signal, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(signal, "s", property);
        if (r >= 0)
                r = sd_bus_message_open_container(signal, 'v', type);
        if (r >= 0) {
                va_start(ap, type);
                r = sd_bus_message_appendv(signal, type, ap);
                va_end(ap);
        }
        for (int i = 0; r >= 0 && i < 3; i++)
                r = sd_bus_message_close_container(signal);
        if (r >= 0)
                r = sd_bus_message_append(signal, "as", 0);
        if (r < 0)
                return r;
        return sd_bus_send(bus, signal, NULL);
}
