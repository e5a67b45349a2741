/* org.mediagate.MediaGate1.Admin: the global switches and, later, grants, policy and history.
 * Privileged members go through polkit (systemd's re-dispatch pattern, polkit.c). */
#include "admin-dbus.h"

#include "bus-authorization.h"
#include "log.h"
#include "mediagate-names.h"
#include "mute.h"
#include "polkit.h"
#include "util.h"

static int parse_kind(const char *s, DeviceKind *ret) {
        if (streq(s, "camera"))
                *ret = DEVICE_KIND_VIDEO;
        else if (streq(s, "microphone"))
                *ret = DEVICE_KIND_AUDIO;
        else
                return -EINVAL;
        return 0;
}

static int method_set_muted(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *kind_name;
        DeviceKind kind;
        int muted, r;

        r = sd_bus_message_read(message, "sb", &kind_name, &muted);
        if (r < 0)
                return r;
        if (parse_kind(kind_name, &kind) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Kind must be 'camera' or 'microphone', not '%.32s'.", kind_name);
        r = polkit_verify_method(message, MG_POLKIT_ACTION_MUTE, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back with its answer */

        r = mute_set(m, kind, muted);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

static int method_reload_policy(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = polkit_verify_method(message, MG_POLKIT_ACTION_MANAGE, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;
        r = manager_reload_policy(m);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

const sd_bus_vtable admin_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("SetMuted", SD_BUS_ARGS("s", kind, "b", muted), SD_BUS_NO_RESULT,
                                method_set_muted, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReloadPolicy", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reload_policy,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int admin_dbus_register(Manager *m) {
        return sd_bus_add_object_vtable(m->bus, &m->admin_slot, MG_OBJECT_PATH, MG_IFACE_ADMIN, admin_vtable, m);
}
