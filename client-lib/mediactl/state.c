/* The indicator state as the Manager publishes it (CameraAccessible, ..., Clients), read and
 * kept up to date from PropertiesChanged; shared by status, monitor and indicator. */
#include <stdlib.h>

#include "mediactl.h"
#include "mediagate-names.h"

static void clients_free(StateClient *clients, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(clients[i].app_id);
                free(clients[i].origin);
                free(clients[i].kind);
                free(clients[i].unique_name);
        }
        free(clients);
}

void indicator_state_clear(IndicatorState *s) {
        clients_free(s->clients, s->n_clients);
        *s = (IndicatorState) {};
}

static int read_clients(sd_bus_message *m, StateClient **ret, size_t *ret_n) {
        StateClient *clients = NULL;
        size_t n = 0;
        const char *app_id, *origin, *kind, *unique_name;
        int accessible, live, r;

        r = sd_bus_message_enter_container(m, 'v', "a(ssssbb)");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "(ssssbb)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(ssssbb)", &app_id, &origin, &kind, &unique_name, &accessible, &live)) > 0) {
                StateClient *grown = realloc(clients, (n + 1) * sizeof(StateClient));

                if (!grown) {
                        r = -ENOMEM;
                        break;
                }
                clients = grown;
                clients[n++] = (StateClient) {
                        .app_id = strdup(app_id),
                        .origin = strdup(origin),
                        .kind = strdup(kind),
                        .unique_name = strdup(unique_name),
                        .accessible = accessible,
                        .live = live,
                };
                if (!clients[n - 1].app_id || !clients[n - 1].origin || !clients[n - 1].kind ||
                    !clients[n - 1].unique_name) {
                        r = -ENOMEM;
                        break;
                }
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

int indicator_state_update(IndicatorState *s, sd_bus_message *m, char ***changed) {
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
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name, *contents;
                bool known = false;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ELEMENTSOF(booleans) && !known; i++)
                        if (streq(name, booleans[i].name) && streq(contents, "b")) {
                                int b;

                                r = sd_bus_message_read(m, "v", "b", &b);
                                if (r < 0)
                                        return r;
                                *(bool *) ((uint8_t *) s + booleans[i].offset) = b;
                                known = true;
                        }
                if (!known && streq(name, "Clients") && streq(contents, "a(ssssbb)")) {
                        StateClient *clients;
                        size_t n;

                        r = read_clients(m, &clients, &n);
                        if (r < 0)
                                return r;
                        clients_free(s->clients, s->n_clients);
                        s->clients = clients;
                        s->n_clients = n;
                        known = true;
                }
                if (!known) {
                        /* A property added later, or one in a type we do not expect. */
                        r = sd_bus_message_skip(m, "v");
                        if (r < 0)
                                return r;
                } else if (changed) {
                        r = strv_extend(changed, name);
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
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

        for (size_t i = 0; o && clients && i < s->n_clients; i++) {
                const StateClient *c = &s->clients[i];
                json_object *e = json_object_new_object();

                if (!e || json_add_string(e, "app_id", c->app_id) < 0 || json_add_string(e, "origin", c->origin) < 0 ||
                    json_add_string(e, "kind", c->kind) < 0 || json_add_string(e, "unique_name", c->unique_name) < 0 ||
                    json_add(e, "accessible", json_object_new_boolean(c->accessible)) < 0 ||
                    json_add(e, "live", json_object_new_boolean(c->live)) < 0 || json_append(clients, e) < 0) {
                        json_object_put(e);
                        json_object_put(clients);
                        clients = NULL;
                }
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
                        strempty(origin), c->kind, indicator_kind_state(c->accessible, c->live));
        }
        fputc('\n', f);
}
