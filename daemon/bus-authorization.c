/* Who may use each member of mediagate's interfaces (docs/reliability.md 7). */
#include "bus-authorization.h"

#include "mediagate-names.h"
#include "util.h"

const BusAuthEntry bus_authorization_table[] = {
        /* Manager: anyone may ask; what they get depends on who they are. */
        { MG_IFACE_MANAGER, "EnumerateDevices", BUS_AUTH_PUBLIC, NULL,
          "device information is filtered by the caller's exposure" },
        { MG_IFACE_MANAGER, "GetUserMedia", BUS_AUTH_PUBLIC, NULL,
          "admin policy, polkit (camera/microphone) and the user decide inside the request" },
        { MG_IFACE_MANAGER, "QueryPermission", BUS_AUTH_PUBLIC, NULL, "about the caller itself only" },
        { MG_IFACE_MANAGER, "RegisterAgent", BUS_AUTH_HOST, NULL,
          "an agent serves its own uid only; an app in a sandbox must not answer its own prompts" },
        { MG_IFACE_MANAGER, "UnregisterAgent", BUS_AUTH_HOST, NULL,
          "only the registering connection's own agents" },

        /* Indicator state: public, so that any indicator applet can show it. */
        { MG_IFACE_MANAGER, "CameraAccessible", BUS_AUTH_PUBLIC, NULL, NULL, .property = true },
        { MG_IFACE_MANAGER, "MicrophoneAccessible", BUS_AUTH_PUBLIC, NULL, NULL, .property = true },
        { MG_IFACE_MANAGER, "CameraLive", BUS_AUTH_PUBLIC, NULL, NULL, .property = true },
        { MG_IFACE_MANAGER, "MicrophoneLive", BUS_AUTH_PUBLIC, NULL, NULL, .property = true },
        { MG_IFACE_MANAGER, "CameraMuted", BUS_AUTH_PUBLIC, NULL, NULL, .property = true },
        { MG_IFACE_MANAGER, "MicrophoneMuted", BUS_AUTH_PUBLIC, NULL, NULL, .property = true },
        { MG_IFACE_MANAGER, "Clients", BUS_AUTH_PUBLIC, NULL, "names the apps using devices, as indicators must", .property = true },
        { MG_IFACE_MANAGER, "ClientDetails", BUS_AUTH_PUBLIC, NULL,
          "Clients with pid, uid, process name and start: what the bus driver tells anyone of a unique name",
          .property = true },
        { MG_IFACE_MANAGER, "DevicesChanged", BUS_AUTH_PUBLIC, NULL,
          "broadcast only when the unexposed view changes; else sent to exposed connections alone" },

        /* Admin: the switches, the policy and the device list through polkit. */
        { MG_IFACE_ADMIN, "SetMuted", BUS_AUTH_POLKIT, MG_POLKIT_ACTION_MUTE, NULL },
        { MG_IFACE_ADMIN, "ReloadPolicy", BUS_AUTH_POLKIT, MG_POLKIT_ACTION_MANAGE, NULL },
        { MG_IFACE_ADMIN, "ListDevices", BUS_AUTH_POLKIT, MG_POLKIT_ACTION_MANAGE, "names every client of every device" },
        /* Grants and history: sandboxed apps about their own app only, never raising access; host
         * callers about their own uid freely, but an allow needs org.mediagate.grant; other users
         * need org.mediagate.manage (admin-access.c). */
        { MG_IFACE_ADMIN, "ListGrants", BUS_AUTH_ADMIN, NULL, NULL },
        { MG_IFACE_ADMIN, "SetGrant", BUS_AUTH_ADMIN, NULL, NULL },
        { MG_IFACE_ADMIN, "RevokeGrant", BUS_AUTH_ADMIN, NULL, NULL },
        { MG_IFACE_ADMIN, "GetHistory", BUS_AUTH_ADMIN, NULL, NULL },

        /* Request objects belong to the connection that asked. */
        { MG_IFACE_REQUEST, "Close", BUS_AUTH_OWNER, NULL, NULL },
        { MG_IFACE_REQUEST, "State", BUS_AUTH_OWNER, NULL, NULL, .property = true },
        { MG_IFACE_REQUEST, "Response", BUS_AUTH_OWNER, NULL, "sent to the owner only" },

        /* Track objects belong to the connection that was granted them. */
        { MG_IFACE_TRACK, "Kind", BUS_AUTH_OWNER, NULL, NULL, .property = true },
        { MG_IFACE_TRACK, "DeviceId", BUS_AUTH_OWNER, NULL, NULL, .property = true },
        { MG_IFACE_TRACK, "Label", BUS_AUTH_OWNER, NULL, NULL, .property = true },
        { MG_IFACE_TRACK, "GroupId", BUS_AUTH_OWNER, NULL, NULL, .property = true },
        { MG_IFACE_TRACK, "Settings", BUS_AUTH_OWNER, NULL, NULL, .property = true },
        { MG_IFACE_TRACK, "Capabilities", BUS_AUTH_OWNER, NULL, NULL, .property = true },
        { MG_IFACE_TRACK, "Constraints", BUS_AUTH_OWNER, NULL, NULL, .property = true },
        { MG_IFACE_TRACK, "ReadyState", BUS_AUTH_OWNER, NULL, NULL, .property = true },
        { MG_IFACE_TRACK, "Muted", BUS_AUTH_OWNER, NULL, NULL, .property = true },
        { MG_IFACE_TRACK, "Enabled", BUS_AUTH_OWNER, NULL, NULL, .property = true },
        { MG_IFACE_TRACK, "Open", BUS_AUTH_OWNER, NULL, NULL },
        { MG_IFACE_TRACK, "Stop", BUS_AUTH_OWNER, NULL, NULL },
        { MG_IFACE_TRACK, "SetEnabled", BUS_AUTH_OWNER, NULL, NULL },
        { MG_IFACE_TRACK, "ApplyConstraints", BUS_AUTH_OWNER, NULL, NULL },
        { MG_IFACE_TRACK, "Ended", BUS_AUTH_OWNER, NULL, "sent to the owner only" },

        /* The standard interfaces sd-bus serves beside ours. Properties.Get and GetAll follow the
         * rule of the interface asked about; no property is writable, so Set is not listed. */
        { "org.freedesktop.DBus.Properties", "Get", BUS_AUTH_PROPERTIES, NULL, NULL },
        { "org.freedesktop.DBus.Properties", "GetAll", BUS_AUTH_PROPERTIES, NULL, NULL },
        { "org.freedesktop.DBus.Introspectable", "Introspect", BUS_AUTH_PUBLIC, NULL,
          "objects of other connections are not found, so not shown" },
        { "org.freedesktop.DBus.Peer", "Ping", BUS_AUTH_PUBLIC, NULL, NULL },
        { "org.freedesktop.DBus.Peer", "GetMachineId", BUS_AUTH_PUBLIC, NULL, NULL },
        { "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", BUS_AUTH_PUBLIC, NULL,
          "requests and tracks are not enumerated" },

        /* Testing: served only with --test-controls. */
        { MG_IFACE_TESTING, "AddDevice", BUS_AUTH_TEST_UID, NULL, NULL },
        { MG_IFACE_TESTING, "RemoveDevice", BUS_AUTH_TEST_UID, NULL, NULL },
        { MG_IFACE_TESTING, "SetDeviceState", BUS_AUTH_TEST_UID, NULL, NULL },
};

const size_t bus_authorization_table_size = ELEMENTSOF(bus_authorization_table);

const BusAuthEntry *bus_authorization_lookup(const char *interface, const char *member) {
        if (!interface || !member)
                return NULL;
        for (size_t i = 0; i < bus_authorization_table_size; i++)
                if (streq(bus_authorization_table[i].interface, interface) &&
                    streq(bus_authorization_table[i].member, member))
                        return &bus_authorization_table[i];
        return NULL;
}

const BusAuthEntry *bus_authorization_lookup_properties(const char *interface) {
        if (!interface)
                return NULL;
        for (size_t i = 0; i < bus_authorization_table_size; i++)
                if (bus_authorization_table[i].property && streq(bus_authorization_table[i].interface, interface))
                        return &bus_authorization_table[i];
        return NULL;
}
