/* MgClient: the connection to mediagated, the choice of bus, dispatching for apps on their own
 * loop, and the bus-wide signal subscriptions, reported to the handlers request.c wires. */
#include "client.h"

#include <poll.h>

#include "bus-errors.h"
#include "mediagate-names.h"

#define MATCH_TRACK_ENDED                                               \
        "type='signal',sender='" MG_BUS_NAME "',interface='" MG_IFACE_TRACK "',member='Ended'," \
        "path_namespace='" MG_TRACK_PATH_PREFIX "'"
#define MATCH_TRACK_PROPERTIES                                          \
        "type='signal',sender='" MG_BUS_NAME "',interface='org.freedesktop.DBus.Properties'," \
        "member='PropertiesChanged',path_namespace='" MG_TRACK_PATH_PREFIX "',arg0='" MG_IFACE_TRACK "'"
#define MATCH_DAEMON_OWNER                                              \
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus'," \
        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" MG_BUS_NAME "'"

static int client_new_internal(sd_bus *bus, MgClient **ret) {
        MgClient *c;
        int r;

        /* So that sd_bus_error_get_errno() knows our error names. */
        r = mediagate_error_map_register();
        if (r < 0)
                return r;

        c = calloc(1, sizeof(MgClient));
        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->bus = sd_bus_ref(bus);
        *ret = c;
        return 0;
}

int mg_client_new(MgClient **ret, MgBusType type) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        const char *e;
        int r;

        if (!ret)
                return -EINVAL;

        if (type == MG_BUS_DEFAULT) {
                e = getenv("MEDIAGATE_BUS");
                if (isempty(e) || streq(e, "system"))
                        type = MG_BUS_SYSTEM;
                else if (streq(e, "session"))
                        type = MG_BUS_SESSION;
                else
                        return -EINVAL;
        }

        switch (type) {
        case MG_BUS_SYSTEM:
                r = sd_bus_open_system_with_description(&bus, "libmediagate");
                break;
        case MG_BUS_SESSION:
                r = sd_bus_open_user_with_description(&bus, "libmediagate");
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;

        return client_new_internal(bus, ret);
}

int mg_client_new_from_bus(MgClient **ret, sd_bus *bus) {
        if (!ret || !bus)
                return -EINVAL;
        return client_new_internal(bus, ret);
}

MgClient *mg_client_ref(MgClient *c) {
        if (c)
                c->n_ref++;
        return c;
}

MgClient *mg_client_unref(MgClient *c) {
        if (!c || --c->n_ref > 0)
                return NULL;

        /* Requests and tracks hold references on the client, so both lists are empty here. */
        sd_bus_slot_unref(c->track_ended_slot);
        sd_bus_slot_unref(c->track_properties_slot);
        sd_bus_slot_unref(c->owner_slot);
        sd_bus_slot_unref(c->devices_changed_slot);
        /* Flush so that fire-and-forget calls (Stop of a dropped track, Close of a dropped
         * request) still reach the daemon. */
        (void) sd_bus_flush(c->bus);
        sd_bus_unref(c->bus);
        free(c);
        return NULL;
}

sd_bus *mg_client_get_bus(MgClient *c) {
        return c ? c->bus : NULL;
}

int mg_client_attach_event(MgClient *c, sd_event *event, int64_t priority) {
        if (!c)
                return -EINVAL;
        return sd_bus_attach_event(c->bus, event, priority);
}

int mg_client_get_fd(MgClient *c) {
        if (!c)
                return -EINVAL;
        return sd_bus_get_fd(c->bus);
}

int mg_client_get_events(MgClient *c) {
        if (!c)
                return -EINVAL;
        return sd_bus_get_events(c->bus);
}

int mg_client_get_timeout(MgClient *c, uint64_t *ret_usec) {
        if (!c || !ret_usec)
                return -EINVAL;
        return sd_bus_get_timeout(c->bus, ret_usec);
}

int mg_client_process(MgClient *c) {
        int r;

        if (!c)
                return -EINVAL;
        mg_client_ref(c); /* a callback may drop the app's last reference */
        r = sd_bus_process(c->bus, NULL);
        mg_client_unref(c);
        return r;
}

static int on_track_ended(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        MgClient *c = userdata;
        const char *reason;
        int r;

        r = sd_bus_message_read(m, "s", &reason);
        if (r < 0)
                return 0; /* malformed: ignore the signal, the socket still tells the truth */
        c->handlers->track_ended(c, sd_bus_message_get_path(m), reason);
        return 0;
}

static int on_track_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        MgClient *c = userdata;
        int r;

        r = sd_bus_message_skip(m, "s");
        if (r < 0)
                return 0;
        c->handlers->track_properties_changed(c, sd_bus_message_get_path(m), m);
        return 0;
}

static int on_daemon_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        MgClient *c = userdata;
        const char *name, *old_owner, *new_owner;
        int r;

        r = sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner);
        if (r < 0 || !streq(name, MG_BUS_NAME) || isempty(old_owner))
                return 0;

        mg_client_ref(c); /* the handlers' callbacks may drop the app's last reference */
        c->handlers->daemon_vanished(c);
        mg_client_unref(c);
        return 0;
}

int client_watch(MgClient *c, const ClientHandlers *handlers, MgError *err) {
        int r;

        if (c->watching)
                return 0;
        c->handlers = handlers;

        r = sd_bus_add_match(c->bus, &c->track_ended_slot, MATCH_TRACK_ENDED, on_track_ended, c);
        if (r < 0)
                goto fail;
        r = sd_bus_add_match(c->bus, &c->track_properties_slot, MATCH_TRACK_PROPERTIES,
                             on_track_properties_changed, c);
        if (r < 0)
                goto fail;
        r = sd_bus_add_match(c->bus, &c->owner_slot, MATCH_DAEMON_OWNER, on_daemon_owner_changed, c);
        if (r < 0)
                goto fail;
        c->watching = true;
        return 0;

fail:
        c->track_ended_slot = sd_bus_slot_unref(c->track_ended_slot);
        c->track_properties_slot = sd_bus_slot_unref(c->track_properties_slot);
        c->owner_slot = sd_bus_slot_unref(c->owner_slot);
        return error_set_errno(err, r, "Failed to subscribe to mediagated's signals");
}

static int on_devices_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        MgClient *c = userdata;

        if (c->devices_changed) {
                mg_client_ref(c);
                c->devices_changed(c, c->devices_changed_userdata);
                mg_client_unref(c);
        }
        return 0;
}

int mg_client_set_devices_changed_callback(MgClient *c, MgDevicesChangedCallback callback, void *userdata) {
        int r;

        if (!c)
                return -EINVAL;
        if (!callback) {
                c->devices_changed_slot = sd_bus_slot_unref(c->devices_changed_slot);
                c->devices_changed = NULL;
                c->devices_changed_userdata = NULL;
                return 0;
        }
        if (!c->devices_changed_slot) {
                r = sd_bus_match_signal(c->bus, &c->devices_changed_slot, MG_BUS_NAME, MG_OBJECT_PATH,
                                        MG_IFACE_MANAGER, "DevicesChanged", on_devices_changed, c);
                if (r < 0)
                        return r;
        }
        c->devices_changed = callback;
        c->devices_changed_userdata = userdata;
        return 0;
}
