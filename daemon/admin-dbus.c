/* org.mediagate.MediaGate1.Admin: the global switches, grants, policy and history. Who may call
 * what is the gate's to decide (bus-gate.c, admin-access.c); these handlers parse and act. */
#include "admin-dbus.h"

#include "admin-access.h"
#include "bus-util.h"
#include "caller.h"
#include "callers.h"
#include "capture.h"
#include "grants.h"
#include "history.h"
#include "history-events.h"
#include "log.h"
#include "origin.h"
#include "track.h"
#include "mediagate-names.h"
#include "mute.h"
#include "policy-reload.h"
#include "util.h"

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

static int parse_kind(const char *s, bool optional, int *ret, sd_bus_error *error) {
        if (optional && !s) {
                *ret = -1;
                return 0;
        }
        *ret = device_kind_from_permission(s);
        if (*ret < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Kind must be 'camera' or 'microphone', not '%.32s'.", strempty(s));
        return 0;
}

void admin_call_done(AdminCall *c) {
        free(c->app_id);
        free(c->origin);
        strv_free(c->devices);
        *c = (AdminCall){};
}

/* ListGrants(a{sv} filter) and GetHistory(a{sv} filter): about one uid (the caller's unless
 * named), or every user with all_users. A sandboxed app that names no app asks about its own. */
static int read_filter_call(sd_bus_message *message, const Caller *caller, AdminCall *c, sd_bus_error *error) {
        _cleanup_free_ char *kind = NULL;
        uint32_t uid = caller->uid;
        bool all_users = false;
        BusOption list_options[] = {
                { "uid", "u", &uid },
                { "app_id", "s", &c->app_id },
                { "kind", "s", &kind },
                { "all_users", "b", &all_users },
                { "origin", "s", &c->origin },
        };
        BusOption history_options[] = {
                { "uid", "u", &uid },
                { "app_id", "s", &c->app_id },
                { "kind", "s", &kind },
                { "all_users", "b", &all_users },
                { "since", "t", &c->since },
        };
        bool history = c->op == ADMIN_OP_GET_HISTORY;
        int r;

        r = bus_parse_options(message, history ? history_options : list_options,
                              history ? ELEMENTSOF(history_options) : ELEMENTSOF(list_options), error);
        if (r < 0)
                return r;
        r = parse_kind(kind, true, &c->kind, error);
        if (r < 0)
                return r;
        if (!c->app_id && caller_is_sandboxed(caller)) {
                c->app_id = strdup(caller->app_id);
                if (!c->app_id)
                        return -ENOMEM;
        }
        c->target = (AdminTarget){ .uid = all_users ? UID_INVALID : uid, .app_id = c->app_id };
        return 0;
}

/* SetGrant(s app_id, s origin, s kind, s decision, a{sv} options) and RevokeGrant(s app_id,
 * s origin, s kind, a{sv} options): about one app of one uid (the caller's unless named). */
static int read_grant_call(sd_bus_message *message, const Caller *caller, AdminCall *c, sd_bus_error *error) {
        const char *app_id, *origin, *kind, *decision = NULL;
        uint32_t uid = caller->uid;
        BusOption set_options[] = {
                { "uid", "u", &uid },
                { "devices", "as", &c->devices },
                { "seconds", "u", &c->seconds },
        };
        bool set = c->op != ADMIN_OP_REVOKE_GRANT;
        int r;

        r = sd_bus_message_read(message, "sss", &app_id, &origin, &kind);
        if (r >= 0 && set)
                r = sd_bus_message_read(message, "s", &decision);
        if (r < 0)
                return r;
        if (!app_id_is_valid(app_id))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "'%.64s' is not an app id.", app_id);
        r = parse_kind(kind, false, &c->kind, error);
        if (r >= 0)
                r = parse_origin_argument(origin, &c->origin, error);
        if (r >= 0)
                r = bus_parse_options(message, set_options, set ? 3 : 2, error);
        if (r < 0)
                return r;
        if (set_options[1].seen && strv_length(c->devices) == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "An empty device list names no device.");
        if (set) {
                c->decision = grant_decision_from_string(decision);
                if (c->decision < 0)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Decision must be 'allow' or 'deny'.");
                if (c->seconds && c->decision != GRANT_ALLOW)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Only an allow can be timed.");
                c->op = c->decision == GRANT_ALLOW ? ADMIN_OP_SET_ALLOW : ADMIN_OP_SET_DENY;
        }
        if (uid == UID_INVALID)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Not a uid.");
        c->app_id = strdup(app_id);
        if (!c->app_id)
                return -ENOMEM;
        c->target = (AdminTarget){ .uid = uid, .app_id = c->app_id };
        return 0;
}

int admin_call_read(sd_bus_message *message, const Caller *caller, AdminCall *ret, sd_bus_error *error) {
        const char *member = sd_bus_message_get_member(message);
        int r;

        *ret = (AdminCall){ .kind = -1 };
        if (streq_ptr(member, "ListGrants"))
                ret->op = ADMIN_OP_LIST_GRANTS;
        else if (streq_ptr(member, "GetHistory"))
                ret->op = ADMIN_OP_GET_HISTORY;
        else if (streq_ptr(member, "SetGrant"))
                ret->op = ADMIN_OP_SET_ALLOW; /* or SET_DENY, once the decision is read */
        else if (streq_ptr(member, "RevokeGrant"))
                ret->op = ADMIN_OP_REVOKE_GRANT;
        else
                return -EINVAL;
        if (ret->op == ADMIN_OP_LIST_GRANTS || ret->op == ADMIN_OP_GET_HISTORY)
                r = read_filter_call(message, caller, ret, error);
        else
                r = read_grant_call(message, caller, ret, error);
        if (r < 0)
                admin_call_done(ret);
        return r;
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
                                          device_kind_to_permission(g->kind), grant_decision_to_string(g->decision));
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

/* The handlers below run only for calls the gate (bus-gate.c) let through, after it applied
 * admin_access() to the same AdminCall. */

static int list_grants_with_caller(Manager *m, sd_bus_message *message, Caller *caller, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(admin_call_done) AdminCall call = {};
        GrantFilter filter;
        int r;

        r = admin_call_read(message, caller, &call, error);
        if (r < 0)
                return r;
        filter = (GrantFilter){
                .uid = call.target.uid == UID_INVALID ? GRANT_UID_INVALID : call.target.uid,
                .app_id = call.app_id,
                .origin = call.origin,
                .kind = call.kind,
        };
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

/* A change of the store that could not be made durable changed nothing: the call fails. */
static int grant_store_error(int r, sd_bus_error *error) {
        if (r == -EINVAL)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid grant.");
        if (r == -EDQUOT)
                return sd_bus_error_set(error, MG_ERROR_LIMITS_EXCEEDED, "Too many stored grants for this user.");
        return sd_bus_error_set_errnof(error, r, "The grant store could not be changed: %s.", strerror(-r));
}

/* A grant change is answered once it ended (grants.h: on disk, or failed having changed
 * nothing); until then this holds the call. */
typedef struct PendingChange {
        Manager *manager;
        sd_bus_message *message;
        uid_t by_uid;
        AdminCall call;
} PendingChange;

static PendingChange *pending_change_free(PendingChange *p) {
        if (!p)
                return NULL;
        sd_bus_message_unref(p->message);
        admin_call_done(&p->call);
        free(p);
        return NULL;
}

/* Takes the call over. */
static PendingChange *pending_change_new(Manager *m, sd_bus_message *message, const Caller *caller, AdminCall *call) {
        PendingChange *p = new0(PendingChange, 1);

        if (!p)
                return NULL;
        *p = (PendingChange){
                .manager = m,
                .message = sd_bus_message_ref(message),
                .by_uid = caller->uid,
                .call = *call,
        };
        *call = (AdminCall){};
        return p;
}

/* "Stop this app now": the stored decisions went (durably), now every live track of the app
 * ends, however it was allowed, and the history says so. */
static int revoke_stored(PendingChange *p, int removed) {
        _cleanup_free_ char *n_grants = NULL, *n_tracks = NULL, *by = NULL;
        AdminCall *call = &p->call;
        TrackKey key = {
                .uid = call->target.uid,
                .app_id = call->app_id,
                .origin = call->origin,
                .kind = call->kind,
                .hardware_ids = call->devices,
        };
        size_t ended;

        ended = tracks_end_for_key(p->manager, &key, TRACK_END_REVOKED);
        if (asprintf(&n_grants, "%i", removed) < 0 || asprintf(&n_tracks, "%zu", ended) < 0 ||
            asprintf(&by, "%u", (unsigned) p->by_uid) < 0)
                return -ENOMEM;
        history_record_key(p->manager, HISTORY_REVOKED, call->target.uid, call->app_id, call->origin, call->kind,
                           NULL, 0, STRV_MAKE("grants", n_grants, "tracks", n_tracks, "by_uid", by));
        log_info("Revoked by uid %u: %s for uid %u, %s, origin %s: %i grant(s), %zu live track(s).",
                 (unsigned) p->by_uid, device_kind_to_permission(call->kind), (unsigned) call->target.uid, call->app_id,
                 call->origin ?: "none", removed, ended);
        return 0;
}

static void on_change_stored(int result, void *userdata) {
        PendingChange *p = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        AdminCall *call = &p->call;

        if (result >= 0 && call->op == ADMIN_OP_REVOKE_GRANT)
                result = revoke_stored(p, result);
        else if (result >= 0)
                log_info("Grant set by uid %u: %s %s for uid %u, %s, origin %s.", (unsigned) p->by_uid,
                         grant_decision_to_string(call->decision), device_kind_to_permission(call->kind),
                         (unsigned) call->target.uid, call->app_id, call->origin ?: "none");
        if (result >= 0)
                (void) sd_bus_reply_method_return(p->message, NULL);
        else {
                grant_store_error(result, &error);
                bus_reply_error(p->message, result, &error);
        }
        pending_change_free(p);
}

/* What starting a change gives: the reply follows from on_change_stored(), or the call fails now. */
static int change_started(PendingChange *p, int r, sd_bus_error *error) {
        if (r >= 0)
                return 1;
        pending_change_free(p); /* on_change_stored() will not run */
        return grant_store_error(r, error);
}

static int set_grant_with_caller(Manager *m, sd_bus_message *message, Caller *caller, sd_bus_error *error) {
        _cleanup_(admin_call_done) AdminCall call = {};
        PendingChange *p;
        uint64_t expires;
        int r;

        r = admin_call_read(message, caller, &call, error);
        if (r < 0)
                return r;
        expires = call.seconds ? grant_store_now(m->grants, CLOCK_BOOTTIME) + call.seconds * 1000000ULL : 0;
        p = pending_change_new(m, message, caller, &call);
        if (!p)
                return -ENOMEM;
        /* Tracks a new deny covers end once it is stored (the store's change callback). */
        r = grant_store_set(m->grants, p->call.target.uid, p->call.app_id, p->call.origin, p->call.kind,
                            p->call.devices, p->call.decision, expires, NULL, on_change_stored, p);
        return change_started(p, r, error);
}

static int method_set_grant(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return manager_with_caller(userdata, message, set_grant_with_caller, error);
}

/* "Stop this app now": the stored decisions go (durably, or the call fails and nothing changed),
 * then every live track of the app ends (revoke_stored()). */
static int revoke_grant_with_caller(Manager *m, sd_bus_message *message, Caller *caller, sd_bus_error *error) {
        _cleanup_(admin_call_done) AdminCall call = {};
        PendingChange *p;
        int r;

        r = admin_call_read(message, caller, &call, error);
        if (r < 0)
                return r;
        p = pending_change_new(m, message, caller, &call);
        if (!p)
                return -ENOMEM;
        r = grant_store_revoke(m->grants, p->call.target.uid, p->call.app_id, p->call.origin, p->call.kind,
                               p->call.devices, on_change_stored, p);
        return change_started(p, r, error);
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
                                          strempty(e->origin), device_kind_to_permission(e->kind),
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
        _cleanup_(admin_call_done) AdminCall call = {};
        HistoryFilter filter = HISTORY_FILTER_ALL;
        int r;

        r = admin_call_read(message, caller, &call, error);
        if (r < 0)
                return r;
        filter.uid = call.target.uid;
        filter.app_id = call.app_id;
        filter.kind = call.kind;
        filter.since_usec = call.since;

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
        int kind, muted, r;

        r = sd_bus_message_read(message, "sb", &kind_name, &muted);
        if (r < 0)
                return r;
        r = parse_kind(kind_name, false, &kind, error);
        if (r < 0)
                return r;
        r = mute_set(m, kind, muted);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

static int method_reload_policy(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = policy_reload(m);
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
