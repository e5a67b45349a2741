/* navigator.permissions.query() for cameras and microphones: Manager.QueryPermission. */
#include "client.h"
#include "mediagate-names.h"

static const char *const permission_states[] = {
        [MG_PERMISSION_GRANTED] = "granted",
        [MG_PERMISSION_DENIED] = "denied",
        [MG_PERMISSION_PROMPT] = "prompt",
};

const char *mg_permission_state_to_string(MgPermissionState state) {
        if ((size_t) state >= ELEMENTSOF(permission_states))
                return NULL;
        return permission_states[state];
}

int mg_client_query_permission(MgClient *c, MgMediaKind kind, const char *origin, MgPermissionState *ret, MgError *err) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *state;
        int r;

        if (!c || !ret || (kind != MG_MEDIA_AUDIO && kind != MG_MEDIA_VIDEO))
                return error_set_errno(err, -EINVAL, NULL);

        r = sd_bus_message_new_method_call(c->bus, &m, MG_BUS_NAME, MG_OBJECT_PATH, MG_IFACE_MANAGER, "QueryPermission");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", device_kind_to_permission(media_kind_to_device_kind(kind)));
        if (r >= 0) {
                if (origin)
                        r = sd_bus_message_append(m, "a{sv}", 1, "origin", "s", origin);
                else
                        r = sd_bus_message_append(m, "a{sv}", 0);
        }
        if (r < 0)
                return error_set_errno(err, r, "Failed to build QueryPermission()");

        r = sd_bus_call(c->bus, m, 0, &error, &reply);
        if (r < 0)
                return error_set_bus(err, &error, r);
        r = sd_bus_message_read(reply, "s", &state);
        if (r < 0)
                return error_set_protocol(err, "cannot read the QueryPermission() reply: %s", strerror(-r));
        for (size_t i = 0; i < ELEMENTSOF(permission_states); i++)
                if (streq(state, permission_states[i])) {
                        mg_error_clear(err);
                        *ret = (MgPermissionState) i;
                        return 0;
                }
        return error_set_protocol(err, "QueryPermission() answered '%s'", state);
}
