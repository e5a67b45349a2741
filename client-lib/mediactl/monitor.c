/* `mediactl monitor`: the indicator state, then one timestamped line per PropertiesChanged of the
 * Manager, until SIGINT or SIGTERM. */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "mediactl.h"
#include "mediagate-names.h"

typedef struct Monitor {
        Context *ctx;
        sd_event *event;
        sd_bus *bus;
        IndicatorState state;
        bool daemon_present;
} Monitor;

/* One event: "initial", "changed" (with the names), "daemon-stopped", "daemon-started". */
static int monitor_print(Monitor *m, const char *event, char *const *changed) {
        uint64_t realtime = now_usec(CLOCK_REALTIME), monotonic = now_usec(CLOCK_MONOTONIC);
        char when[64];

        format_realtime(realtime, m->ctx->json, when, sizeof when);
        if (m->ctx->json) {
                json_object *o = json_object_new_object(), *names = json_object_new_array();
                int r = o && names ? 0 : -ENOMEM;

                for (char *const *n = changed; r >= 0 && n && *n; n++)
                        r = json_append(names, json_object_new_string(*n));
                if (r >= 0 && (json_add_string(o, "time", when) < 0 ||
                               json_add(o, "realtime_usec", json_object_new_uint64(realtime)) < 0 ||
                               json_add(o, "monotonic_usec", json_object_new_uint64(monotonic)) < 0 ||
                               json_add_string(o, "event", event) < 0 ||
                               json_add(o, "changed", TAKE_PTR(names)) < 0 ||
                               json_object_object_add(o, "state", m->state.known ? indicator_state_to_json(&m->state) : NULL) < 0))
                        r = -ENOMEM;
                json_object_put(names);
                if (r < 0) {
                        json_object_put(o);
                        o = NULL;
                }
                return print_json_line(o);
        }

        printf("%s  ", when);
        if (streq(event, "daemon-stopped"))
                printf("mediagated left the bus: nothing can capture through it.\n");
        else {
                if (streq(event, "daemon-started"))
                        printf("mediagated started: ");
                indicator_state_print_line(&m->state, stdout);
        }
        return fflush(stdout) == EOF ? -EIO : 0;
}

static int on_properties_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Monitor *m = userdata;
        _cleanup_strv_free_ char **changed = NULL;
        const char *interface;
        int r;

        r = sd_bus_message_read(msg, "s", &interface);
        if (r < 0 || !streq(interface, MG_IFACE_MANAGER))
                return 0;
        r = indicator_state_update(&m->state, msg, &changed);
        if (r >= 0) {
                _cleanup_strv_free_ char **invalidated = NULL;

                r = sd_bus_message_read_strv(msg, &invalidated);
                /* Properties sent without their value: read them all again. */
                if (r >= 0 && invalidated && invalidated[0]) {
                        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                        r = indicator_state_read(m->bus, &m->state, &e);
                        for (char **i = invalidated; r >= 0 && *i; i++)
                                r = strv_extend(&changed, *i);
                }
        }
        if (r < 0) {
                fprintf(stderr, "mediactl: System.Error.EBADMSG: Failed to read a change of the indicator state: %s\n",
                        strerror(-r));
                return 0;
        }
        if (monitor_print(m, "changed", changed) < 0)
                sd_event_exit(m->event, EXIT_FAILURE);
        return 0;
}

static int on_owner_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Monitor *m = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *name, *old_owner, *new_owner;
        int r;

        r = sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner);
        if (r < 0 || !streq(name, MG_BUS_NAME))
                return 0;
        if (!isempty(old_owner) && m->daemon_present) {
                m->daemon_present = false;
                indicator_state_clear(&m->state);
                r = monitor_print(m, "daemon-stopped", NULL);
        }
        if (r >= 0 && !isempty(new_owner)) {
                r = indicator_state_read(m->bus, &m->state, &e);
                if (r < 0)
                        (void) print_bus_error(&e, r);
                else {
                        m->daemon_present = true;
                        r = monitor_print(m, "daemon-started", NULL);
                }
        }
        if (r == -EIO)
                sd_event_exit(m->event, EXIT_FAILURE);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Monitor *m = userdata;

        return sd_event_exit(m->event, EXIT_SUCCESS);
}

static void monitor_help(void) {
        printf("mediactl monitor [--json[=pretty|short]]\n\n"
               "Watch what the camera and microphone indicators show: the state now, then one line\n"
               "per change with a timestamp (accessible, live, muted, the apps), until Ctrl-C.\n\n"
               "  --json           One JSON object per line (either form)\n"
               "  -h --help        Show this help\n");
}

int verb_monitor(Context *ctx, int argc, char *argv[]) {
        _cleanup_(mg_client_unrefp) MgClient *client = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *changed_slot = NULL, *owner_slot = NULL;
        Monitor m = { .ctx = ctx };
        int r, ret = EXIT_FAILURE;

        r = parse_no_arguments(ctx, "monitor", argc, argv, monitor_help);
        if (r <= 0)
                return parse_verb_exit(r);

        r = context_connect(ctx, &client);
        if (r < 0)
                return EXIT_FAILURE;
        m.bus = mg_client_get_bus(client);

        r = event_loop_new(client, on_signal, &m, &m.event);
        if (r < 0)
                goto finish;
        /* Subscribe before reading the state, so that no change falls in between. */
        r = sd_bus_match_signal(m.bus, &changed_slot, MG_BUS_NAME, MG_OBJECT_PATH, "org.freedesktop.DBus.Properties",
                                        "PropertiesChanged", on_properties_changed, &m);
        if (r >= 0)
                r = sd_bus_add_match(m.bus, &owner_slot,
                                     "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" MG_BUS_NAME "'",
                                     on_owner_changed, &m);
        if (r < 0) {
                ret = print_errno(r, "Failed to set up the event loop");
                goto finish;
        }

        r = indicator_state_read(m.bus, &m.state, &e);
        if (r < 0 && !sd_bus_error_has_names(&e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                ret = print_bus_error(&e, r);
                goto finish;
        }
        m.daemon_present = r >= 0;
        r = monitor_print(&m, m.daemon_present ? "initial" : "daemon-stopped", NULL);
        if (r < 0) {
                ret = print_errno(r, "Failed to write the output");
                goto finish;
        }

        r = sd_event_loop(m.event);
        ret = r < 0 ? print_errno(r, "Event loop failed") : r;

finish:
        changed_slot = sd_bus_slot_unref(changed_slot);
        owner_slot = sd_bus_slot_unref(owner_slot);
        client = mg_client_unref(client);
        sd_event_unref(m.event);
        indicator_state_clear(&m.state);
        return ret;
}
