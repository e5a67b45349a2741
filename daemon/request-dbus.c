/* org.mediagate.MediaGate1.Request: Close, State and the Response signal. Requests are served
 * from the Manager's table; only the connection that asked may see or close one. */
#include "request.h"

#include "log.h"
#include "mediagate-names.h"
#include "util.h"

static int request_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                        void **ret_found, sd_bus_error *error) {
        Manager *m = userdata;
        sd_bus_message *message = sd_bus_get_current_message(bus);
        Request *r = hashmap_get(m->requests, path);

        if (!r)
                return 0;
        if (!message || !streq_ptr(sd_bus_message_get_sender(message), request_get_owner(r)))
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "The request belongs to another connection.");
        *ret_found = r;
        return 1;
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", request_state_to_string(request_get_state(userdata)));
}

static int method_close(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r;

        /* Reply first: the Response signal and the object's end follow. */
        r = sd_bus_reply_method_return(message, NULL);
        request_close(userdata);
        return r;
}

const sd_bus_vtable request_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Close", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_close,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("Response", SD_BUS_ARGS("u", response, "a{sv}", results), 0),
        SD_BUS_VTABLE_END,
};

int request_dbus_register(Manager *m) {
        return sd_bus_add_fallback_vtable(m->bus, &m->request_slot, MG_REQUEST_PATH_PREFIX, MG_IFACE_REQUEST,
                                          request_vtable, request_find, m);
}
