/* The authorization gate, an sd-bus filter in front of every object of the daemon: the table in
 * bus-authorization.c decides, and a call the table does not list never reaches a handler.
 * Rules that need the caller's identity or polkit park the message and put it back in the
 * bus's read queue once the answer is in (sd_bus_enqueue_for_read()), so that it passes
 * through the gate again, now with the answer at hand, as systemd's bus-polkit does. */
#include "bus-gate.h"

#include "admin-access.h"
#include "admin-dbus.h"
#include "bus-authorization.h"
#include "bus-util.h"
#include "caller.h"
#include "callers.h"
#include "log.h"
#include "mediagate-names.h"
#include "polkit.h"
#include "util.h"

#define PROPERTIES_INTERFACE "org.freedesktop.DBus.Properties"

typedef struct BusGate {
        Manager *manager;
        bus_gate_owner_t owner_of;
        void *userdata;
} BusGate;

static bool is_our_object(const char *path) {
        const char *rest = path ? startswith(path, MG_OBJECT_PATH) : NULL;

        return rest && (*rest == '\0' || *rest == '/');
}

/* Answer the call with AccessDenied; the message is consumed. */
static int refuse(sd_bus_message *message, const char *why) {
        int r;

        r = sd_bus_reply_method_errorf(message, SD_BUS_ERROR_ACCESS_DENIED, "%s", why);
        if (r < 0)
                log_debug_errno(r, "Failed to refuse a call of %s: %m", strempty(sd_bus_message_get_sender(message)));
        return 1;
}

static int refuse_with(sd_bus_message *message, int r, const sd_bus_error *error) {
        bus_reply_error(message, r, error);
        return 1;
}

/* Properties.Get(s interface, s property) and GetAll(s interface) are judged by the rule of the
 * property asked about, or of the interface's properties. An interface without properties has
 * nothing to reveal: GetAll of it is public. */
static int find_property_entry(sd_bus_message *message, const BusAuthEntry **ret) {
        static const BusAuthEntry no_properties = { PROPERTIES_INTERFACE, "GetAll", BUS_AUTH_PUBLIC, NULL, NULL };
        const char *interface, *property = NULL;
        int r;

        *ret = NULL;
        if (sd_bus_message_is_method_call(message, PROPERTIES_INTERFACE, "Get"))
                r = sd_bus_message_read(message, "ss", &interface, &property);
        else
                r = sd_bus_message_read(message, "s", &interface);
        if (r < 0)
                return r;
        if (property) {
                const BusAuthEntry *e = bus_authorization_lookup(interface, property);

                *ret = e && e->property ? e : NULL;
        } else {
                *ret = bus_authorization_lookup_properties(interface);
                for (size_t i = 0; i < bus_authorization_table_size && !*ret; i++)
                        if (streq(bus_authorization_table[i].interface, interface))
                                *ret = &no_properties;
        }
        return sd_bus_message_rewind(message, true);
}

static int polkit_rule(BusGate *g, sd_bus_message *message, const char *action) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = polkit_verify_method(g->manager->polkit, message, action, &error);
        if (r < 0)
                return refuse_with(message, r, &error);
        return r == 0 ? 1 : 0; /* 0: parked until polkit answers; 1: authorized, pass */
}

static int admin_rule(BusGate *g, sd_bus_message *message, const Caller *caller) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(admin_call_done) AdminCall call = {};
        const char *action;
        int r;

        r = admin_call_read(message, caller, &call, &error);
        if (r >= 0)
                r = sd_bus_message_rewind(message, true);
        if (r < 0)
                return refuse_with(message, r, &error);
        switch (admin_access(caller, call.op, &call.target, &action)) {
        case ADMIN_ACCESS_ALLOWED:
                return 0;
        case ADMIN_ACCESS_POLKIT:
                return polkit_rule(g, message, action);
        default:
                return refuse(message, caller_is_sandboxed(caller)
                                               ? "A sandboxed application may only list, read the history of "
                                                 "and revoke its own grants."
                                               : "Not allowed.");
        }
}

/* The rules that need to know who calls. */
static int judge_caller(BusGate *g, sd_bus_message *message, const BusAuthEntry *e, const Caller *caller) {
        switch (e->rule) {
        case BUS_AUTH_HOST:
                return caller_is_sandboxed(caller) ? refuse(message, "Not for sandboxed applications.") : 0;
        case BUS_AUTH_POLKIT:
                if (caller_is_sandboxed(caller))
                        return refuse(message, "Not for sandboxed applications.");
                return polkit_rule(g, message, e->action);
        case BUS_AUTH_ADMIN:
                return admin_rule(g, message, caller);
        case BUS_AUTH_TEST_UID:
                if (caller->uid != 0 && caller->uid != geteuid())
                        return refuse(message, "Only root and the daemon's own user may use the test controls.");
                return 0;
        default:
                return refuse(message, "No rule.");
        }
}

/* Identified: the message goes through the gate again, where the caller is now known. */
static int resume_identified(Manager *m, sd_bus_message *message, Caller *caller, sd_bus_error *error) {
        int r;

        r = sd_bus_message_rewind(message, true);
        if (r < 0)
                return r;
        return sd_bus_enqueue_for_read(m->bus, message);
}

static int gate_filter(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        BusGate *g = userdata;
        const char *sender, *path = sd_bus_message_get_path(message);
        const BusAuthEntry *e;
        Caller *caller;
        int r;

        if (!sd_bus_message_is_method_call(message, NULL, NULL) || !is_our_object(path))
                return 0;
        sender = sd_bus_message_get_sender(message);
        if (!sender || sender[0] != ':')
                return refuse(message, "The caller has no unique name.");

        e = bus_authorization_lookup(sd_bus_message_get_interface(message), sd_bus_message_get_member(message));
        if (e && e->rule == BUS_AUTH_PROPERTIES) {
                r = find_property_entry(message, &e);
                if (r < 0)
                        return refuse(message, "Malformed property call.");
        }
        if (!e)
                return refuse(message, "This member is not served to anybody.");

        switch (e->rule) {
        case BUS_AUTH_PUBLIC:
                return 0;
        case BUS_AUTH_OWNER: {
                const char *owner = g->owner_of(e->interface, path, g->userdata);

                /* No such object: the bus answers UnknownObject, as for any path. */
                if (!owner || streq(owner, sender))
                        return 0;
                return refuse(message, "The object belongs to another connection.");
        }
        default:
                break;
        }

        caller = callers_find(g->manager, sender);
        if (caller)
                return judge_caller(g, message, e, caller);
        r = manager_with_caller(g->manager, message, resume_identified, &error);
        if (r < 0)
                return refuse_with(message, r, &error);
        return 1; /* parked until the caller is identified */
}

static void gate_free(void *userdata) {
        free(userdata);
}

int bus_gate_install(Manager *m, bus_gate_owner_t owner_of, void *userdata, sd_bus_slot **ret_slot) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        BusGate *g;
        int r;

        g = new0(BusGate, 1);
        if (!g)
                return -ENOMEM;
        *g = (BusGate){ .manager = m, .owner_of = owner_of, .userdata = userdata };
        r = sd_bus_add_filter(m->bus, &slot, gate_filter, g);
        if (r < 0) {
                free(g);
                return r;
        }
        r = sd_bus_slot_set_destroy_callback(slot, gate_free);
        if (r < 0) {
                free(g);
                return r;
        }
        *ret_slot = TAKE_PTR(slot);
        return 0;
}
