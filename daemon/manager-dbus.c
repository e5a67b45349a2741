/* org.mediagate.MediaGate1.Manager: argument parsing, authorization and replies. The
 * decisions live in the modules these handlers call. */
#include "manager-dbus.h"

#include "brokers.h"
#include "bus-util.h"
#include "caller.h"
#include "callers.h"
#include "exposure.h"
#include "log.h"
#include "mediagate-names.h"
#include "origin.h"
#include "util.h"

/* The `origin` option: only trusted brokers may assert one, and it must be a secure context.
 * On success *ret_origin is the normalized origin or NULL when none was given. */
static int check_origin_option(Manager *m, const Caller *caller, const char *origin, char **ret_origin,
                               sd_bus_error *error) {
        int r;

        *ret_origin = NULL;
        if (!origin)
                return 0;
        if (!brokers_contains(m->brokers, caller->app_id))
                return sd_bus_error_setf(error, MG_ERROR_SECURITY,
                                         "Only a trusted broker may pass an origin.");
        r = origin_check(origin, ret_origin);
        if (r == -ENOMEM)
                return r;
        if (r == -EPERM)
                return sd_bus_error_setf(error, MG_ERROR_SECURITY,
                                         "The origin is not a secure context.");
        if (r < 0)
                return sd_bus_error_setf(error, MG_ERROR_SECURITY, "The origin is malformed.");
        return 0;
}

static int append_hidden_device(sd_bus_message *reply, Device *d) {
        int r;

        r = sd_bus_message_open_container(reply, 'r', "sssa{sv}");
        if (r < 0)
                return r;
        /* Without exposure: the kind only, every other field empty. */
        r = sd_bus_message_append(reply, "sss", "", device_kind_to_string(d->kind), "");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}", "group_id", "s", "");
        if (r < 0)
                return r;
        if (d->kind == DEVICE_KIND_VIDEO) {
                r = sd_bus_message_append(reply, "{sv}", "facing_mode", "s", "");
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int enumerate_devices_with_caller(Manager *m, sd_bus_message *message, Caller *caller,
                                         sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *origin_option = NULL, *origin = NULL;
        BusOption options[] = {
                { "origin", "s", &origin_option },
        };
        int r;

        r = bus_parse_options(message, options, ELEMENTSOF(options), error);
        if (r < 0)
                return r;
        r = check_origin_option(m, caller, origin_option, &origin, error);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssa{sv})");
        if (r < 0)
                return r;

        /* The registry keeps microphones before cameras and the default of each kind first. */
        for (DeviceKind kind = 0; kind < _DEVICE_KIND_MAX; kind++) {
                bool exposed = exposure_holds(m, caller, origin, kind);

                for (size_t i = 0; i < device_registry_count(m->registry); i++) {
                        Device *d = device_registry_get(m->registry, i);

                        if (d->kind != kind)
                                continue;
                        if (exposed) /* exposure_holds() cannot be true before grants exist */
                                return -EOPNOTSUPP;
                        r = append_hidden_device(reply, d);
                        if (r < 0)
                                return r;
                        break; /* at most one entry per kind */
                }
        }

        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_enumerate_devices(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return manager_with_caller(userdata, message, enumerate_devices_with_caller, error);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("EnumerateDevices",
                                SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("a(sssa{sv})", devices),
                                method_enumerate_devices, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int manager_dbus_register(Manager *m) {
        return sd_bus_add_object_vtable(m->bus, &m->manager_slot, MG_OBJECT_PATH, MG_IFACE_MANAGER,
                                        manager_vtable, m);
}
