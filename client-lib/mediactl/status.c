/* `mediactl status`: what the camera and microphone indicators show now, and which apps use the
 * devices: their process, pid, user and since when (the Manager's ClientDetails). */
#include <inttypes.h>
#include <stdlib.h>

#include "mediactl.h"

static void help(void) {
        printf("mediactl status [--json[=pretty|short]] [--no-legend] [--no-pager]\n\n"
               "Show what the camera and microphone indicators show now: whether any app may use\n"
               "them (accessible) or uses them (live), the privacy switches, and each app with its\n"
               "process, pid, user and since when. An app that stopped a moment ago stays listed as\n"
               "\"ended\" while the indicator still shows its capture (3 seconds at most).\n\n"
               OUTPUT_OPTIONS_HELP
               "  -h --help        Show this help\n");
}

static void print_kind_status(const char *name, bool accessible, bool live, bool muted) {
        printf("%-12s %s%s\n", name,
               live ? "live: capturing for an app" : accessible ? "accessible: an app holds permission, nothing captured now" : "off",
               muted ? " (privacy switch on: muted)" : "");
}

static int add_client_row(Table *t, const StateClient *c) {
        _cleanup_free_ char *user = state_client_user(c);
        char pid[16] = "-", since[64] = "-";

        if (!user)
                return -ENOMEM;
        if (c->pid > 0)
                snprintf(pid, sizeof pid, "%" PRIu32, c->pid);
        if (c->since_usec > 0)
                format_realtime(c->since_usec, false, since, sizeof since);
        const char *cells[] = {
                c->app_id, isempty(c->origin) ? "-" : c->origin, c->kind, state_client_state(c),
                c->process ?: "-", pid, isempty(user) ? "-" : user, since,
        };
        return table_add_row(t, cells);
}

static int print_apps(const IndicatorState *s) {
        static const char *const headers[] = { "APP", "ORIGIN", "KIND", "STATE", "PROCESS", "PID", "USER", "SINCE" };
        _cleanup_(table_freep) Table *t = NULL;
        int r = 0;

        if (s->n_clients == 0) {
                printf("Apps:        none\n");
                return 0;
        }
        t = table_new(ELEMENTSOF(headers), headers);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; r >= 0 && i < s->n_clients; i++)
                r = add_client_row(t, &s->clients[i]);
        if (r < 0)
                return r;
        putchar('\n');
        return table_print(t, stdout);
}

int verb_status(Context *ctx, int argc, char *argv[]) {
        _cleanup_(mg_client_unrefp) MgClient *client = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        IndicatorState s = {};
        int r, ret;

        r = parse_no_arguments(ctx, "status", argc, argv, help);
        if (r <= 0)
                return parse_verb_exit(r);

        r = context_connect(ctx, &client);
        if (r < 0)
                return EXIT_FAILURE;
        r = indicator_state_read(mg_client_get_bus(client), &s, &e);
        if (r < 0)
                return print_bus_error(&e, r);

        if (ctx->json)
                ret = print_json(indicator_state_to_json(&s));
        else {
                pager_open();
                print_kind_status("Camera:", s.camera_accessible, s.camera_live, s.camera_muted);
                print_kind_status("Microphone:", s.microphone_accessible, s.microphone_live, s.microphone_muted);
                r = print_apps(&s);
                ret = r < 0 ? print_errno(r, "Failed to print the apps") : EXIT_SUCCESS;
        }
        indicator_state_clear(&s);
        return ret;
}
