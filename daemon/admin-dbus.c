/* org.mediagate.MediaGate1.Admin: the global switches and, later, grants, policy and history.
 * Privileged members go through polkit (systemd's re-dispatch pattern, polkit.c). */
#include "admin-dbus.h"

#include "bus-authorization.h"
#include "bus-util.h"
#include "caller.h"
#include "callers.h"
#include "capture.h"
#include "grants.h"
#include "history.h"
#include "log.h"
#include "origin.h"
#include "track.h"
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

/* Users act on their own grants and history freely; anything about another uid, or about all of
 * them, needs org.mediagate.manage. Returns 1 to act, 0 when polkit was asked (the handler
 * returns 1 and runs again with the answer), < 0 denied. */
static int authorize_for_uid(Manager *m, sd_bus_message *message, const Caller *caller, uid_t target,
                             sd_bus_error *error) {
        if (target == caller->uid && caller->uid != UID_INVALID)
                return 1;
        return polkit_verify_method(message, MG_POLKIT_ACTION_MANAGE, &m->polkit_registry, error);
}

/* "" means no origin; anything else must be a well-formed, secure origin. */
static int parse_origin_argument(const char *origin, char **ret, sd_bus_error *error) {
        int r;

        *ret = NULL;
        if (isempty(origin))
                return 0;
        r = origin_check(origin, ret);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "'%.64s' is not a secure web origin.",
                                         origin);
        return 0;
}

typedef struct ListContext {
        sd_bus_message *reply;
} ListContext;

static int append_grant(const GrantInfo *g, void *userdata) {
        ListContext *ctx = userdata;
        int r;

        r = sd_bus_message_open_container(ctx->reply, 'r', "ussssta{sv}");
        if (r >= 0)
                r = sd_bus_message_append(ctx->reply, "ussss", (uint32_t) g->uid, g->app_id, strempty(g->origin),
                                          grant_kind_to_string(g->kind), grant_decision_to_string(g->decision));
        if (r >= 0)
                r = sd_bus_message_append(ctx->reply, "t", g->expires_realtime_usec);
        if (r >= 0)
                r = sd_bus_message_open_container(ctx->reply, 'a', "{sv}");
        if (r >= 0 && g->devices) {
                r = sd_bus_message_open_container(ctx->reply, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(ctx->reply, "s", "devices");
                if (r >= 0)
                        r = sd_bus_message_open_container(ctx->reply, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(ctx->reply, (char **) g->devices);
                if (r >= 0)
                        r = sd_bus_message_close_container(ctx->reply);
                if (r >= 0)
                        r = sd_bus_message_close_container(ctx->reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(ctx->reply);
        if (r >= 0)
                r = sd_bus_message_close_container(ctx->reply);
        return r;
}

static int parse_kind_option(const char *s, int *ret, sd_bus_error *error) {
        DeviceKind k;

        *ret = -1;
        if (!s)
                return 0;
        if (parse_kind(s, &k) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Kind must be 'camera' or 'microphone', not '%.32s'.", s);
        *ret = k;
        return 0;
}

static int list_grants_with_caller(Manager *m, sd_bus_message *message, Caller *caller, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *app_id = NULL, *origin = NULL, *kind = NULL;
        uint32_t uid = caller->uid;
        bool all_users = false;
        BusOption options[] = {
                { "uid", "u", &uid },
                { "app_id", "s", &app_id },
                { "origin", "s", &origin },
                { "kind", "s", &kind },
                { "all_users", "b", &all_users },
        };
        GrantFilter filter = GRANT_FILTER_ALL;
        int r;

        r = bus_parse_options(message, options, ELEMENTSOF(options), error);
        if (r < 0)
                return r;
        r = parse_kind_option(kind, &filter.kind, error);
        if (r < 0)
                return r;
        r = authorize_for_uid(m, message, caller, all_users ? GRANT_UID_INVALID : uid, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        filter.uid = all_users ? GRANT_UID_INVALID : uid;
        filter.app_id = app_id;
        filter.origin = origin;
        (void) grant_store_expire(m->grants);

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ussssta{sv})");
        if (r >= 0)
                r = grant_store_list(m->grants, &filter, append_grant, &(ListContext){ reply });
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_grants(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return manager_with_caller(userdata, message, list_grants_with_caller, error);
}

/* SetGrant and RevokeGrant share their first three arguments. */
static int read_grant_key(sd_bus_message *message, const char **ret_app_id, char **ret_origin, DeviceKind *ret_kind,
                          sd_bus_error *error) {
        const char *app_id, *origin, *kind;
        int r;

        r = sd_bus_message_read(message, "sss", &app_id, &origin, &kind);
        if (r < 0)
                return r;
        if (!app_id_is_valid(app_id))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "'%.64s' is not an app id.", app_id);
        if (parse_kind(kind, ret_kind) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Kind must be 'camera' or 'microphone', not '%.32s'.", kind);
        *ret_app_id = app_id;
        return parse_origin_argument(origin, ret_origin, error);
}

/* A grant change is answered once it is on disk, or failed and changed nothing. */
static void reply_when_stored(int result, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *message = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (result >= 0) {
                (void) sd_bus_reply_method_return(message, NULL);
                return;
        }
        if (result == -EDQUOT)
                sd_bus_error_setf(&error, MG_ERROR_LIMITS_EXCEEDED, "A user holds at most %u stored grants.",
                                  GRANTS_PER_UID_MAX);
        else
                sd_bus_error_set_errnof(&error, result, "The grant store could not be written: %m");
        bus_reply_error(message, result, &error);
}

static int store_change_result(sd_bus_message *message, int r, sd_bus_error *error) {
        if (r >= 0)
                return 1; /* the reply follows from reply_when_stored() */
        sd_bus_message_unref(message); /* the reference reply_when_stored() would have dropped */
        if (r == -EINVAL)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid grant.");
        return r;
}

static int set_grant_with_caller(Manager *m, sd_bus_message *message, Caller *caller, sd_bus_error *error) {
        _cleanup_free_ char *origin = NULL;
        _cleanup_strv_free_ char **devices = NULL;
        const char *app_id, *decision;
        uint32_t uid = caller->uid, seconds = 0;
        BusOption options[] = {
                { "seconds", "u", &seconds },
                { "uid", "u", &uid },
                { "devices", "as", &devices },
        };
        DeviceKind kind;
        int d, r;

        r = read_grant_key(message, &app_id, &origin, &kind, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "s", &decision);
        if (r < 0)
                return r;
        d = grant_decision_from_string(decision);
        if (d < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Decision must be 'allow' or 'deny'.");
        r = bus_parse_options(message, options, ELEMENTSOF(options), error);
        if (r < 0)
                return r;
        if (options[2].seen && strv_length(devices) == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "An empty device list grants nothing.");
        if (seconds && d != GRANT_ALLOW)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Only an allow can be timed.");
        if (uid == UID_INVALID)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Not a uid.");
        r = authorize_for_uid(m, message, caller, uid, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        log_info("Grant set by uid %u: %s %s for uid %u, %s, origin %s.", (unsigned) caller->uid, decision,
                 grant_kind_to_string(kind), (unsigned) uid, app_id, origin ?: "none");
        r = grant_store_set(m->grants, uid, app_id, origin, kind, devices, d,
                            seconds ? grant_store_now(m->grants, CLOCK_BOOTTIME) + seconds * 1000000ULL : 0, NULL,
                            reply_when_stored, sd_bus_message_ref(message));
        return store_change_result(message, r, error);
}

static int method_set_grant(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return manager_with_caller(userdata, message, set_grant_with_caller, error);
}

static int revoke_grant_with_caller(Manager *m, sd_bus_message *message, Caller *caller, sd_bus_error *error) {
        _cleanup_free_ char *origin = NULL;
        _cleanup_strv_free_ char **devices = NULL;
        const char *app_id;
        uint32_t uid = caller->uid;
        BusOption options[] = {
                { "uid", "u", &uid },
                { "devices", "as", &devices },
        };
        DeviceKind kind;
        int r;

        r = read_grant_key(message, &app_id, &origin, &kind, error);
        if (r < 0)
                return r;
        r = bus_parse_options(message, options, ELEMENTSOF(options), error);
        if (r < 0)
                return r;
        r = authorize_for_uid(m, message, caller, uid, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        /* Covered live tracks end once it is stored (the store's change callback). */
        log_info("Grants revoked by uid %u: %s for uid %u, %s, origin %s.", (unsigned) caller->uid,
                 grant_kind_to_string(kind), (unsigned) uid, app_id, origin ?: "none");
        r = grant_store_revoke(m->grants, uid, app_id, origin, kind, devices, reply_when_stored,
                               sd_bus_message_ref(message));
        return store_change_result(message, r, error);
}

static int method_revoke_grant(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return manager_with_caller(userdata, message, revoke_grant_with_caller, error);
}

static int append_event(const HistoryEvent *e, void *userdata) {
        ListContext *ctx = userdata;
        int r;

        r = sd_bus_message_open_container(ctx->reply, 'r', "tussssta{sv}");
        if (r >= 0)
                r = sd_bus_message_append(ctx->reply, "tussss", e->time_usec, (uint32_t) e->uid, strempty(e->app_id),
                                          strempty(e->origin), grant_kind_to_string(e->kind),
                                          history_event_type_to_string(e->type));
        if (r >= 0)
                r = sd_bus_message_append(ctx->reply, "t", e->duration_usec);
        if (r >= 0)
                r = sd_bus_message_open_container(ctx->reply, 'a', "{sv}");
        if (r >= 0 && e->device)
                r = sd_bus_message_append(ctx->reply, "{sv}", "device", "s", e->device);
        for (char **x = e->extra; r >= 0 && x && x[0] && x[1]; x += 2)
                r = sd_bus_message_append(ctx->reply, "{sv}", x[0], "s", x[1]);
        if (r >= 0)
                r = sd_bus_message_close_container(ctx->reply);
        if (r >= 0)
                r = sd_bus_message_close_container(ctx->reply);
        return r;
}

static int get_history_with_caller(Manager *m, sd_bus_message *message, Caller *caller, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *app_id = NULL, *kind = NULL;
        uint32_t uid = caller->uid;
        uint64_t since = 0;
        bool all_users = false;
        BusOption options[] = {
                { "since", "t", &since },
                { "uid", "u", &uid },
                { "app_id", "s", &app_id },
                { "kind", "s", &kind },
                { "all_users", "b", &all_users },
        };
        HistoryFilter filter = HISTORY_FILTER_ALL;
        int r;

        r = bus_parse_options(message, options, ELEMENTSOF(options), error);
        if (r < 0)
                return r;
        r = parse_kind_option(kind, &filter.kind, error);
        if (r < 0)
                return r;
        r = authorize_for_uid(m, message, caller, all_users ? UID_INVALID : uid, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        filter.uid = all_users ? UID_INVALID : uid;
        filter.app_id = app_id;
        filter.since_usec = since;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(tussssta{sv})");
        if (r >= 0 && m->history)
                r = history_query(m->history, &filter, append_event, &(ListContext){ reply });
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_history(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return manager_with_caller(userdata, message, get_history_with_caller, error);
}

/* The admin's view of a device: identity, state and who uses it. */
static int append_admin_device(Manager *m, sd_bus_message *reply, Device *d) {
        HashmapIter it = {};
        Track *t;
        int r;

        r = sd_bus_message_open_container(reply, 'r', "ssssa{sv}");
        if (r >= 0)
                r = sd_bus_message_append(reply, "ssss", d->hardware_id, device_kind_to_string(d->kind),
                                          strempty(d->label), capture_device_is_live(d) ? "capturing" : "idle");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}{sv}{sv}", "backend", "s", d->backend, "name", "s",
                                          d->name, "node", "s", strempty(d->node), "group", "s",
                                          strempty(d->group_hardware_id), "facing_mode", "s", strempty(d->facing_mode),
                                          "default", "b", d->is_default);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "clients");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "a(sssu)");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sssu)");
        while (r >= 0 && hashmap_iterate(m->tracks, &it, (void **) &t, NULL))
                if (t->device == d && !t->ended)
                        r = sd_bus_message_append(reply, "(sssu)", t->owner, t->caller->app_id, strempty(t->origin),
                                                  (uint32_t) t->caller->uid);
        for (int i = 0; r >= 0 && i < 5; i++)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int method_list_devices(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        BusOption options[] = {};
        int r;

        r = bus_parse_options(message, options, 0, error);
        if (r < 0)
                return r;
        r = polkit_verify_method(message, MG_POLKIT_ACTION_MANAGE, &m->polkit_registry, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssssa{sv})");
        for (size_t i = 0; r >= 0 && i < device_registry_count(m->registry); i++)
                r = append_admin_device(m, reply, device_registry_get(m->registry, i));
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
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
        SD_BUS_METHOD_WITH_ARGS("ListGrants", SD_BUS_ARGS("a{sv}", filter), SD_BUS_RESULT("a(ussssta{sv})", grants),
                                method_list_grants, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetGrant",
                                SD_BUS_ARGS("s", app_id, "s", origin, "s", kind, "s", decision, "a{sv}", options),
                                SD_BUS_NO_RESULT, method_set_grant, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RevokeGrant", SD_BUS_ARGS("s", app_id, "s", origin, "s", kind, "a{sv}", options),
                                SD_BUS_NO_RESULT, method_revoke_grant, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetHistory", SD_BUS_ARGS("a{sv}", filter),
                                SD_BUS_RESULT("a(tussssta{sv})", events), method_get_history,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListDevices", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("a(ssssa{sv})", devices),
                                method_list_devices, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int admin_dbus_register(Manager *m) {
        return sd_bus_add_object_vtable(m->bus, &m->admin_slot, MG_OBJECT_PATH, MG_IFACE_ADMIN, admin_vtable, m);
}
