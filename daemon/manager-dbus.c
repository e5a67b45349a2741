/* org.mediagate.MediaGate1.Manager: argument parsing, authorization and replies. The
 * decisions live in the modules these handlers call. */
#include "manager-dbus.h"

#include "bus-util.h"
#include "caller.h"
#include "callers.h"
#include "consent.h"
#include "constraints-bus.h"
#include "decision.h"
#include "device-id.h"
#include "exposure.h"
#include "grants.h"
#include "indicator.h"
#include "policy.h"
#include "polkit.h"
#include "request.h"
#include "log.h"
#include "mediagate-names.h"
#include "origin.h"
#include "util.h"

/* Whom a call is for. Only trusted brokers (the admin policy's [Brokers]) may assert an `origin`
 * (a web page) or an `app_id` (the app they act for); anybody else passing either is refused
 * with SecurityError, and an origin must be a secure context. On success *ret_subject is the
 * caller itself or, with app_id, the app the broker acts for; *ret_origin the normalized origin
 * or NULL. */
static int resolve_subject(Manager *m, Caller *caller, const char *origin, const char *app_id,
                           Caller **ret_subject, char **ret_origin, sd_bus_error *error) {
        _cleanup_(caller_unrefp) Caller *subject = NULL;
        _cleanup_free_ char *normalized = NULL;
        int r;

        if ((origin || app_id) && !policy_is_broker(m->policy, caller->app_id))
                return sd_bus_error_setf(error, MG_ERROR_SECURITY, "Only a trusted broker may pass %s.",
                                         origin ? "an origin" : "an app id");
        if (origin) {
                r = origin_check(origin, &normalized);
                if (r == -ENOMEM)
                        return r;
                if (r == -EPERM)
                        return sd_bus_error_set(error, MG_ERROR_SECURITY, "The origin is not a secure context.");
                if (r < 0)
                        return sd_bus_error_set(error, MG_ERROR_SECURITY, "The origin is malformed.");
        }
        if (app_id) {
                r = caller_new_brokered(caller, app_id, &subject);
                if (r == -EINVAL)
                        return sd_bus_error_setf(error, MG_ERROR_SECURITY, "'%.64s' is not an app id.", app_id);
                if (r < 0)
                        return r;
        } else
                subject = caller_ref(caller);
        *ret_subject = TAKE_PTR(subject);
        *ret_origin = TAKE_PTR(normalized);
        return 0;
}

static int append_exposed_device(Manager *m, sd_bus_message *reply, Device *d, const Caller *caller,
                                 const char *origin) {
        char device_id[DEVICE_ID_LENGTH + 1], group_id[DEVICE_ID_LENGTH + 1];
        ConstraintCandidate cand = { .device = d, .device_id = device_id, .group_id = group_id };
        int r;

        device_id_compute(&m->device_id_secret, caller->app_id, origin, d->hardware_id, device_id);
        group_id_compute(&m->device_id_secret, caller->app_id, origin, d->group_hardware_id ?: d->hardware_id,
                         group_id);
        r = sd_bus_message_open_container(reply, 'r', "sssa{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "sss", device_id, device_kind_to_string(d->kind), strempty(d->label));
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}", "group_id", "s", group_id);
        if (r >= 0 && d->kind == DEVICE_KIND_VIDEO)
                r = sd_bus_message_append(reply, "{sv}", "facing_mode", "s", strempty(d->facing_mode));
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "capabilities");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "a{sv}");
        if (r >= 0)
                r = device_capabilities_append(reply, &cand);
        for (int i = 0; r >= 0 && i < 4; i++)
                r = sd_bus_message_close_container(reply);
        return r;
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
        _cleanup_free_ char *origin_option = NULL, *app_id_option = NULL, *origin = NULL;
        _cleanup_(caller_unrefp) Caller *subject = NULL;
        BusOption options[] = {
                { "origin", "s", &origin_option },
                { "app_id", "s", &app_id_option },
        };
        bool broker;
        int r;

        r = bus_parse_options(message, options, ELEMENTSOF(options), error);
        if (r < 0)
                return r;
        r = resolve_subject(m, caller, origin_option, app_id_option, &subject, &origin, error);
        if (r < 0)
                return r;
        /* A trusted broker asking for itself sees every device: it must publish them before any
         * app of its own asks (e.g. as PipeWire nodes), and it acts only through consent. */
        broker = !origin && !app_id_option && policy_is_broker(m->policy, caller->app_id);

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssa{sv})");
        if (r < 0)
                return r;

        /* The registry keeps microphones before cameras and the default of each kind first. */
        for (DeviceKind kind = 0; kind < _DEVICE_KIND_MAX; kind++) {
                bool exposed = broker || exposure_holds(m, subject, origin, kind);

                for (size_t i = 0; i < device_registry_count(m->registry); i++) {
                        Device *d = device_registry_get(m->registry, i);

                        if (d->kind != kind)
                                continue;
                        if (exposed) {
                                r = append_exposed_device(m, reply, d, subject, origin);
                                if (r < 0)
                                        return r;
                                continue;
                        }
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

/* permissions.query(): what a request would meet now, without asking the user. The admin
 * policy and stored decisions first; polkit (asked without interaction) can still turn a
 * "granted" or "prompt" into "denied". */
static const char *permission_state(Manager *m, const Caller *subject, const char *origin, DeviceKind kind) {
        AccessDecision d;
        PolicyDecision outcome;

        access_decide(m->policy, m->grants,
                      &(AccessQuery){ .subject = subject, .origin = origin, .kind = kind,
                                      .polkit = POLKIT_ANSWER_UNKNOWN },
                      now_usec(CLOCK_BOOTTIME), &d);
        outcome = d.outcome;
        access_decision_done(&d);
        if (outcome == POLICY_DENY)
                return "denied";
        if (outcome == POLICY_ALLOW || exposure_holds(m, subject, origin, kind))
                return "granted";
        return "prompt";
}

typedef struct PermissionQuery {
        sd_bus_message *message;
        const char *state;
        PolkitQuery *polkit;
} PermissionQuery;

static void on_permission_polkit(int allowed, void *userdata) {
        PermissionQuery *q = userdata;
        int r;

        r = sd_bus_reply_method_return(q->message, "s", allowed > 0 ? q->state : "denied");
        if (r < 0)
                log_debug_errno(r, "Failed to answer QueryPermission: %m");
        polkit_query_unref(q->polkit);
        sd_bus_message_unref(q->message);
        free(q);
}

static int query_permission_with_caller(Manager *m, sd_bus_message *message, Caller *caller, sd_bus_error *error) {
        _cleanup_free_ char *origin_option = NULL, *app_id_option = NULL, *origin = NULL;
        _cleanup_(caller_unrefp) Caller *subject = NULL;
        BusOption options[] = {
                { "origin", "s", &origin_option },
                { "app_id", "s", &app_id_option },
        };
        const char *name, *state;
        PermissionQuery *q;
        int kind, r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        kind = device_kind_from_permission(name);
        if (kind < 0)
                return sd_bus_error_setf(error, MG_ERROR_TYPE, "Unknown permission '%.32s'.", name);
        r = bus_parse_options(message, options, ELEMENTSOF(options), error);
        if (r < 0)
                return r;
        r = resolve_subject(m, caller, origin_option, app_id_option, &subject, &origin, error);
        if (r < 0)
                return r;
        state = permission_state(m, subject, origin, kind);
        if (streq(state, "denied"))
                return sd_bus_reply_method_return(message, "s", state);

        q = new0(PermissionQuery, 1);
        if (!q)
                return -ENOMEM;
        q->message = sd_bus_message_ref(message);
        q->state = state;
        r = polkit_check(m->polkit, caller->unique_name,
                         kind == DEVICE_KIND_VIDEO ? MG_POLKIT_ACTION_CAMERA : MG_POLKIT_ACTION_MICROPHONE, false,
                         on_permission_polkit, q, &q->polkit);
        if (r < 0) {
                sd_bus_message_unref(q->message);
                free(q);
                return sd_bus_reply_method_return(message, "s", "denied");
        }
        return 1; /* answered when polkit has */
}

static int method_query_permission(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return manager_with_caller(userdata, message, query_permission_with_caller, error);
}

static bool handle_token_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > 64)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '_'))
                        return false;
        return true;
}

/* GetUserMedia, once the caller is known: the constraints (a TypeError before anything else), the
 * options, whom the request is for; the request object answers later with its Response. */
static int get_user_media_with_caller(Manager *m, sd_bus_message *message, Caller *caller,
                                      sd_bus_error *error) {
        _cleanup_(media_stream_constraints_freep) MediaStreamConstraints *constraints = NULL;
        _cleanup_free_ char *type_error = NULL, *token = NULL, *origin_option = NULL, *reason = NULL,
                            *origin = NULL, *app_id_option = NULL;
        _cleanup_(caller_unrefp) Caller *subject = NULL;
        BusOption options[] = {
                { "handle_token", "s", &token },
                { "origin", "s", &origin_option },
                { "reason", "s", &reason },
                { "app_id", "s", &app_id_option },
        };
        Request *request;
        int r;

        r = media_stream_constraints_parse(message, &constraints, &type_error);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, MG_ERROR_TYPE, "%s", strempty(type_error));
        if (r < 0)
                return r;
        r = bus_parse_options(message, options, ELEMENTSOF(options), error);
        if (r < 0)
                return r;
        if (token && !handle_token_valid(token))
                return sd_bus_error_set(error, MG_ERROR_TYPE,
                                        "handle_token must be 1 to 64 characters of [A-Za-z0-9_].");
        r = resolve_subject(m, caller, origin_option, app_id_option, &subject, &origin, error);
        if (r < 0)
                return r;

        r = request_new(m, subject, TAKE_PTR(constraints), origin, reason, token, &request);
        if (r < 0)
                return r;
        switch (r) {
        case REQUEST_REFUSED_PENDING:
                return sd_bus_error_set(error, MG_ERROR_LIMITS_EXCEEDED, "Too many pending requests.");
        case REQUEST_REFUSED_TRACKS:
                return sd_bus_error_set(error, MG_ERROR_LIMITS_EXCEEDED, "Too many live tracks.");
        case REQUEST_REFUSED_TOKEN:
                return sd_bus_error_set(error, MG_ERROR_TYPE, "A request with this handle_token is pending.");
        default:
                break;
        }
        return sd_bus_reply_method_return(message, "o", request_get_path(request));
}

static int method_get_user_media(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return manager_with_caller(userdata, message, get_user_media_with_caller, error);
}

static int register_agent_with_caller(Manager *m, sd_bus_message *message, Caller *caller, sd_bus_error *error) {
        const char *path;
        BusOption options[] = {};
        int r;

        r = sd_bus_message_read(message, "o", &path);
        if (r < 0)
                return r;
        r = bus_parse_options(message, options, 0, error);
        if (r < 0)
                return r;
        r = consent_register_agent(m, caller, path, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

static int method_register_agent(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return manager_with_caller(userdata, message, register_agent_with_caller, error);
}

static int unregister_agent_with_caller(Manager *m, sd_bus_message *message, Caller *caller,
                                        sd_bus_error *error) {
        const char *path;
        int r;

        r = sd_bus_message_read(message, "o", &path);
        if (r < 0)
                return r;
        r = consent_unregister_agent(m, caller, path, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

static int method_unregister_agent(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return manager_with_caller(userdata, message, unregister_agent_with_caller, error);
}

/* One getter per indicator property, each saying plainly what it reads. */
#define DEFINE_INDICATOR_GETTER(function, value)                                                            \
        static int function(sd_bus *bus, const char *path, const char *interface, const char *property,    \
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {                  \
                Manager *m = userdata;                                                                      \
                return sd_bus_message_append(reply, "b", (int) (value));                                    \
        }
DEFINE_INDICATOR_GETTER(property_get_camera_accessible, indicator_get_accessible(m->indicator, DEVICE_KIND_VIDEO))
DEFINE_INDICATOR_GETTER(property_get_microphone_accessible, indicator_get_accessible(m->indicator, DEVICE_KIND_AUDIO))
DEFINE_INDICATOR_GETTER(property_get_camera_live, indicator_get_live(m->indicator, DEVICE_KIND_VIDEO))
DEFINE_INDICATOR_GETTER(property_get_microphone_live, indicator_get_live(m->indicator, DEVICE_KIND_AUDIO))
DEFINE_INDICATOR_GETTER(property_get_camera_muted, m->muted[DEVICE_KIND_VIDEO])
DEFINE_INDICATOR_GETTER(property_get_microphone_muted, m->muted[DEVICE_KIND_AUDIO])

static int property_get_clients(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return indicator_append_clients(m->indicator, reply);
}

static int property_get_client_details(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return indicator_append_client_details(m->indicator, reply);
}

const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("CameraAccessible", "b", property_get_camera_accessible, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MicrophoneAccessible", "b", property_get_microphone_accessible, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CameraLive", "b", property_get_camera_live, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MicrophoneLive", "b", property_get_microphone_live, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CameraMuted", "b", property_get_camera_muted, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MicrophoneMuted", "b", property_get_microphone_muted, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Clients", "a(ssssbb)", property_get_clients, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ClientDetails", "a(ssssbba{sv})", property_get_client_details, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("EnumerateDevices",
                                SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("a(sssa{sv})", devices),
                                method_enumerate_devices, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetUserMedia",
                                SD_BUS_ARGS("a{sv}", constraints, "a{sv}", options),
                                SD_BUS_RESULT("o", handle),
                                method_get_user_media, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("QueryPermission",
                                SD_BUS_ARGS("s", name, "a{sv}", options),
                                SD_BUS_RESULT("s", state),
                                method_query_permission, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RegisterAgent",
                                SD_BUS_ARGS("o", path, "a{sv}", options),
                                SD_BUS_NO_RESULT,
                                method_register_agent, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("UnregisterAgent",
                                SD_BUS_ARGS("o", path),
                                SD_BUS_NO_RESULT,
                                method_unregister_agent, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL("DevicesChanged", NULL, 0),
        SD_BUS_VTABLE_END,
};

int manager_dbus_register(Manager *m) {
        return sd_bus_add_object_vtable(m->bus, &m->manager_slot, MG_OBJECT_PATH, MG_IFACE_MANAGER,
                                        manager_vtable, m);
}
