/* The indicator state as the Manager publishes it (CameraAccessible, ..., Clients), read and
 * kept up to date from PropertiesChanged; shared by status, monitor and indicator. */
#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>

#include "bus-dict.h"
#include "mediactl.h"
#include "mediagate-names.h"

static void clients_free(StateClient *clients, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(clients[i].app_id);
                free(clients[i].origin);
                free(clients[i].kind);
                free(clients[i].unique_name);
                free(clients[i].process);
        }
        free(clients);
}

void indicator_state_clear(IndicatorState *s) {
        clients_free(s->clients, s->n_clients);
        *s = (IndicatorState) {};
}

/* One entry of ClientDetails' a{sv}: the keys we know in their types; the rest is skipped. */
static int client_detail_entry(sd_bus_message *m, const char *key, void *userdata) {
        StateClient *c = userdata;
        int r;

        if (streq(key, "pid"))
                return read_known_variant(bus_read_typed_variant(m, "u", &c->pid));
        if (streq(key, "since"))
                return read_known_variant(bus_read_typed_variant(m, "t", &c->since_usec));
        if (streq(key, "process"))
                return read_known_variant(bus_read_string_variant(m, &c->process));
        if (streq(key, "uid")) {
                r = read_known_variant(bus_read_typed_variant(m, "u", &c->uid));
                c->have_uid = c->have_uid || r > 0;
                return r;
        }
        return 0;
}

/* Clients (a(ssssbb)) or, with details, ClientDetails (a(ssssbba{sv})), in its variant. */
static int read_clients(sd_bus_message *m, bool details, StateClient **ret, size_t *ret_n) {
        const char *type = details ? "(ssssbba{sv})" : "(ssssbb)", *inner = details ? "ssssbba{sv}" : "ssssbb";
        StateClient *clients = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'v', details ? "a(ssssbba{sv})" : "a(ssssbb)");
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', type);
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'r', inner)) > 0) {
                const char *app_id, *origin, *kind, *unique_name;
                StateClient *grown = realloc(clients, (n + 1) * sizeof(StateClient)), *c;
                int accessible, live;

                if (!grown) {
                        r = -ENOMEM;
                        break;
                }
                clients = grown;
                c = &clients[n++];
                *c = (StateClient) {};
                r = sd_bus_message_read(m, "ssssbb", &app_id, &origin, &kind, &unique_name, &accessible, &live);
                if (r < 0)
                        break;
                *c = (StateClient) {
                        .app_id = strdup(app_id),
                        .origin = strdup(origin),
                        .kind = strdup(kind),
                        .unique_name = strdup(unique_name),
                        .accessible = accessible,
                        .live = live,
                };
                if (!c->app_id || !c->origin || !c->kind || !c->unique_name) {
                        r = -ENOMEM;
                        break;
                }
                if (details)
                        r = bus_dict_read(m, client_detail_entry, c, NULL);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0) {
                clients_free(clients, n);
                return r;
        }
        *ret = clients;
        *ret_n = n;
        return 0;
}

/* The list of apps: ClientDetails when the message has it (a daemon that knows it sends both),
 * else Clients. */
typedef struct ClientLists {
        StateClient *plain, *detailed;
        size_t n_plain, n_detailed;
        bool have_plain, have_detailed;
} ClientLists;

typedef struct PropertiesRead {
        IndicatorState *state;
        ClientLists lists;
        char ***changed; /* the names read, when not NULL */
} PropertiesRead;

static int read_clients_property(sd_bus_message *m, ClientLists *lists, bool details) {
        StateClient **list = details ? &lists->detailed : &lists->plain;
        size_t *n = details ? &lists->n_detailed : &lists->n_plain;

        clients_free(*list, *n);
        *list = NULL;
        *n = 0;
        *(details ? &lists->have_detailed : &lists->have_plain) = true;
        return read_clients(m, details, list, n);
}

/* One Manager property; a name added later, or in a type we do not expect, is skipped. */
static int property_entry(sd_bus_message *m, const char *name, void *userdata) {
        static const struct {
                const char *name;
                size_t offset;
        } booleans[] = {
                { "CameraAccessible", offsetof(IndicatorState, camera_accessible) },
                { "CameraLive", offsetof(IndicatorState, camera_live) },
                { "CameraMuted", offsetof(IndicatorState, camera_muted) },
                { "MicrophoneAccessible", offsetof(IndicatorState, microphone_accessible) },
                { "MicrophoneLive", offsetof(IndicatorState, microphone_live) },
                { "MicrophoneMuted", offsetof(IndicatorState, microphone_muted) },
        };
        PropertiesRead *pr = userdata;
        const char *contents;
        int r = 0, b;

        for (size_t i = 0; i < ELEMENTSOF(booleans) && r == 0; i++)
                if (streq(name, booleans[i].name)) {
                        r = read_known_variant(bus_read_typed_variant(m, "b", &b));
                        if (r > 0)
                                *(bool *) ((uint8_t *) pr->state + booleans[i].offset) = b;
                }
        if (r == 0 && sd_bus_message_peek_type(m, NULL, &contents) > 0) {
                if (streq(name, "ClientDetails") && streq(contents, "a(ssssbba{sv})"))
                        r = read_clients_property(m, &pr->lists, true) ?: 1;
                else if (streq(name, "Clients") && streq(contents, "a(ssssbb)"))
                        r = read_clients_property(m, &pr->lists, false) ?: 1;
        }
        if (r > 0 && pr->changed && strv_extend(pr->changed, name) < 0)
                return -ENOMEM;
        return r;
}

int indicator_state_update(IndicatorState *s, sd_bus_message *m, char ***changed) {
        PropertiesRead pr = { .state = s, .changed = changed };
        ClientLists lists;
        int r;

        r = bus_dict_read(m, property_entry, &pr, NULL);
        lists = pr.lists;
        if (r >= 0 && (lists.have_detailed || lists.have_plain)) {
                clients_free(s->clients, s->n_clients);
                if (lists.have_detailed) {
                        s->clients = TAKE_PTR(lists.detailed);
                        s->n_clients = lists.n_detailed;
                        lists.n_detailed = 0;
                } else {
                        s->clients = TAKE_PTR(lists.plain);
                        s->n_clients = lists.n_plain;
                        lists.n_plain = 0;
                }
        }
        clients_free(lists.plain, lists.n_plain);
        clients_free(lists.detailed, lists.n_detailed);
        return r;
}

int indicator_state_read(sd_bus *bus, IndicatorState *s, sd_bus_error *e) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        IndicatorState fresh = {};
        int r;

        r = sd_bus_call_method(bus, MG_BUS_NAME, MG_OBJECT_PATH, "org.freedesktop.DBus.Properties", "GetAll", e, &reply,
                               "s", MG_IFACE_MANAGER);
        if (r < 0)
                return r;
        r = indicator_state_update(&fresh, reply, NULL);
        if (r < 0) {
                indicator_state_clear(&fresh);
                return sd_bus_error_set_errnof(e, r, "Failed to read the indicator state: %s", strerror(-r));
        }
        indicator_state_clear(s);
        *s = fresh;
        s->known = true;
        return 0;
}

const char *indicator_kind_state(bool accessible, bool live) {
        return live ? "live" : accessible ? "accessible" : "off";
}

const char *state_client_state(const StateClient *c) {
        return c->accessible || c->live ? indicator_kind_state(c->accessible, c->live) : "ended";
}

char *state_client_user(const StateClient *c) {
        struct passwd *pw;
        char *s;

        if (!c->have_uid)
                return strdup("");
        pw = getpwuid(c->uid);
        if (pw)
                return terminal_safe(pw->pw_name);
        return asprintf(&s, "%" PRIu32, c->uid) < 0 ? NULL : s;
}

static json_object *client_to_json(const StateClient *c) {
        _cleanup_free_ char *user = state_client_user(c);
        json_object *e = json_object_new_object();
        char since[64];

        if (c->since_usec > 0)
                format_realtime(c->since_usec, true, since, sizeof since);
        if (!e || !user || json_add_string(e, "app_id", c->app_id) < 0 || json_add_string(e, "origin", c->origin) < 0 ||
            json_add_string(e, "kind", c->kind) < 0 || json_add_string(e, "unique_name", c->unique_name) < 0 ||
            json_add(e, "accessible", json_object_new_boolean(c->accessible)) < 0 ||
            json_add(e, "live", json_object_new_boolean(c->live)) < 0 ||
            json_add_string(e, "state", state_client_state(c)) < 0 ||
            json_object_object_add(e, "pid", c->pid > 0 ? json_object_new_int64(c->pid) : NULL) < 0 ||
            json_object_object_add(e, "process", c->process ? json_object_new_string(c->process) : NULL) < 0 ||
            json_object_object_add(e, "uid", c->have_uid ? json_object_new_int64(c->uid) : NULL) < 0 ||
            json_object_object_add(e, "user", c->have_uid ? json_object_new_string(user) : NULL) < 0 ||
            json_object_object_add(e, "since_usec", c->since_usec ? json_object_new_uint64(c->since_usec) : NULL) < 0 ||
            json_object_object_add(e, "since", c->since_usec ? json_object_new_string(since) : NULL) < 0) {
                json_object_put(e);
                return NULL;
        }
        return e;
}

static json_object *kind_to_json(bool accessible, bool live, bool muted) {
        json_object *o = json_object_new_object();

        if (o && (json_add_string(o, "state", indicator_kind_state(accessible, live)) < 0 ||
                  json_add(o, "accessible", json_object_new_boolean(accessible)) < 0 ||
                  json_add(o, "live", json_object_new_boolean(live)) < 0 ||
                  json_add(o, "muted", json_object_new_boolean(muted)) < 0)) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

json_object *indicator_state_to_json(const IndicatorState *s) {
        json_object *o = json_object_new_object(), *clients = json_object_new_array();

        for (size_t i = 0; o && clients && i < s->n_clients; i++)
                if (json_append(clients, client_to_json(&s->clients[i])) < 0) {
                        json_object_put(clients);
                        clients = NULL;
                }
        if (!o || !clients ||
            json_add(o, "camera", kind_to_json(s->camera_accessible, s->camera_live, s->camera_muted)) < 0 ||
            json_add(o, "microphone", kind_to_json(s->microphone_accessible, s->microphone_live, s->microphone_muted)) < 0 ||
            json_add(o, "clients", TAKE_PTR(clients)) < 0) {
                json_object_put(clients);
                json_object_put(o);
                return NULL;
        }
        return o;
}

void indicator_state_print_line(const IndicatorState *s, FILE *f) {
        fprintf(f, "camera: %s%s  microphone: %s%s  apps:", indicator_kind_state(s->camera_accessible, s->camera_live),
                s->camera_muted ? " (muted)" : "", indicator_kind_state(s->microphone_accessible, s->microphone_live),
                s->microphone_muted ? " (muted)" : "");
        if (s->n_clients == 0)
                fputs(" none", f);
        for (size_t i = 0; i < s->n_clients; i++) {
                const StateClient *c = &s->clients[i];
                _cleanup_free_ char *app = terminal_safe(c->app_id), *origin = terminal_safe(c->origin);

                fprintf(f, "%s %s%s%s (%s, %s)", i == 0 ? "" : ",", strempty(app), isempty(origin) ? "" : " for ",
                        strempty(origin), c->kind, state_client_state(c));
        }
        fputc('\n', f);
}
