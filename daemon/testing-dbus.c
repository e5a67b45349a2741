/* org.mediagate.MediaGate1.Testing: argument parsing and error mapping for the synthetic
 * backend's test controls (only root and the daemon's own uid pass the gate); the backend does
 * the work. */
#include "testing-dbus.h"

#include "log.h"
#include "mediagate-names.h"
#include "util.h"

static int method_add_device(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        SyntheticBackend *backend = userdata;
        _cleanup_free_ char *message = NULL;
        const char *text;
        int r;

        r = sd_bus_message_read(m, "s", &text);
        if (r < 0)
                return r;

        r = synthetic_backend_add_text(backend, text, &message);
        if (r == -EINVAL)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, message ?: "Invalid device section");
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to add the synthetic device: %s",
                                               message ?: strerror(-r));
        return sd_bus_reply_method_return(m, NULL);
}

static int method_remove_device(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        SyntheticBackend *backend = userdata;
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;

        r = synthetic_backend_remove(backend, name);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "No synthetic device '%s'", name);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, NULL);
}

static int method_set_device_state(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        SyntheticBackend *backend = userdata;
        const char *name, *state_name;
        int state, r;

        r = sd_bus_message_read(m, "ss", &name, &state_name);
        if (r < 0)
                return r;
        state = synthetic_state_from_string(state_name);
        if (state < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown device state '%s', expected ok, busy or failing", state_name);

        r = synthetic_backend_set_state(backend, name, (DeviceState) state);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "No synthetic device '%s'", name);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, NULL);
}

/* UNPRIVILEGED: sd-bus's own check would let any CAP_SYS_ADMIN holder in and is skipped
 * entirely on a trusted (user) bus; the gate's BUS_AUTH_TEST_UID is the one rule. */
const sd_bus_vtable testing_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("AddDevice", SD_BUS_ARGS("s", section_text), SD_BUS_NO_RESULT,
                                method_add_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveDevice", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                method_remove_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetDeviceState", SD_BUS_ARGS("s", name, "s", state), SD_BUS_NO_RESULT,
                                method_set_device_state, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int testing_dbus_register(sd_bus *bus, SyntheticBackend *backend, sd_bus_slot **ret_slot) {
        int r;

        if (!bus || !backend || !ret_slot)
                return -EINVAL;
        r = sd_bus_add_object_vtable(bus, ret_slot, MG_OBJECT_PATH, MG_IFACE_TESTING, testing_vtable, backend);
        if (r < 0)
                return log_error_errno(r, "Failed to register the %s interface: %m", MG_IFACE_TESTING);
        return 0;
}
