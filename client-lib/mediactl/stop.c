/* `mediactl stop APP [KIND]`: "stop this app now". Every live track of the app (of a kind, or
 * both) ends, through Admin.RevokeGrant for each origin and user it captures for; what was stored
 * for it goes too, so that its next request asks again. */
#include <assert.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>

#include "mediactl.h"
#include "mediagate-names.h"

static void help(void) {
        printf("mediactl stop APP [camera|microphone] [--origin ORIGIN] [--json[=pretty|short]]\n\n"
               "Stop an app that uses the camera or microphone now: its tracks end at once, and what\n"
               "was stored for it (\"always allow\", \"for N minutes\") is forgotten, so that it has to\n"
               "ask again. APP is the app id as `mediactl status` shows it, or the pid shown there.\n"
               "Without a kind, both; without --origin, every origin it captures for. Another user's\n"
               "app needs the admin's authorization (polkit may ask).\n\n"
               "  --origin ORIGIN  Only the tracks of this web origin\n"
               OUTPUT_OPTIONS_HELP
               "  -h --help        Show this help\n");
}

typedef struct StopArgs {
        const char *app, *kind, *origin;
} StopArgs;

/* The app a pid names in the list, or app itself. */
static const char *resolve_app(const IndicatorState *s, const char *app) {
        uint32_t pid;

        if (safe_atou32(app, &pid) < 0)
                return app;
        for (size_t i = 0; i < s->n_clients; i++)
                if (s->clients[i].pid == pid)
                        return s->clients[i].app_id;
        return app;
}

static bool entry_matches(const StateClient *c, const char *app, const StopArgs *a) {
        return streq(c->app_id, app) && (c->accessible || c->live) && (!a->kind || streq(c->kind, a->kind)) &&
               (!a->origin || streq(c->origin, a->origin));
}

/* Whether an earlier entry already covers c's (origin, kind, uid): one RevokeGrant each. */
static bool entry_seen(const IndicatorState *s, size_t i, const char *app, const StopArgs *a) {
        const StateClient *c = &s->clients[i];

        for (size_t j = 0; j < i; j++) {
                const StateClient *o = &s->clients[j];

                if (entry_matches(o, app, a) && streq(o->origin, c->origin) && streq(o->kind, c->kind) &&
                    o->uid == c->uid)
                        return true;
        }
        return false;
}

static int revoke_app(MgClient *client, const char *app, const StateClient *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        BusOption uid = { "uid", OPTION_U32, .set = c->have_uid && c->uid != getuid(), .u32 = c->uid };
        int r;

        r = admin_new_call(client, "RevokeGrant", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "sss", app, c->origin, c->kind);
        if (r >= 0)
                r = append_options(m, &uid, 1);
        if (r < 0)
                return print_errno(r, "Failed to build RevokeGrant()"), r;
        return admin_call(client, m, NULL);
}

static void say_stopped(const char *app, const StateClient *c, json_object *array) {
        _cleanup_free_ char *safe_app = terminal_safe(app), *origin = terminal_safe(c->origin);

        if (array) {
                json_object *o = json_object_new_object();

                if (!o || json_add_string(o, "app_id", app) < 0 || json_add_string(o, "origin", c->origin) < 0 ||
                    json_add_string(o, "kind", c->kind) < 0 ||
                    json_object_object_add(o, "uid", c->have_uid ? json_object_new_int64(c->uid) : NULL) < 0 ||
                    json_append(array, o) < 0)
                        json_object_put(o);
                return;
        }
        printf("Stopped the %s of %s%s%s.\n", c->kind, strempty(safe_app), isempty(origin) ? "" : " for ",
               strempty(origin));
}

static int stop_app(Context *ctx, const StopArgs *a) {
        _cleanup_(mg_client_unrefp) MgClient *client = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(json_object_putp) json_object *array = NULL;
        IndicatorState s = {};
        const char *app;
        size_t n = 0;
        int r, ret = EXIT_SUCCESS;

        if (context_connect(ctx, &client) < 0)
                return EXIT_FAILURE;
        r = indicator_state_read(mg_client_get_bus(client), &s, &e);
        if (r < 0)
                return print_bus_error(&e, r);
        if (ctx->json && !(array = json_object_new_array())) {
                indicator_state_clear(&s);
                return print_errno(-ENOMEM, "Failed to build the output");
        }
        app = resolve_app(&s, a->app);
        for (size_t i = 0; i < s.n_clients && ret == EXIT_SUCCESS; i++) {
                const StateClient *c = &s.clients[i];

                if (!entry_matches(c, app, a) || entry_seen(&s, i, app, a))
                        continue;
                if (revoke_app(client, app, c) < 0)
                        ret = EXIT_FAILURE;
                else {
                        say_stopped(app, c, array);
                        n++;
                }
        }
        if (n == 0 && ret == EXIT_SUCCESS) {
                _cleanup_free_ char *safe = terminal_safe(a->app);

                fprintf(stderr, "mediactl: %s uses no %s now; nothing to stop. See what does: mediactl status\n",
                        strempty(safe), a->kind ?: "camera or microphone");
                ret = EXIT_FAILURE;
        }
        indicator_state_clear(&s);
        if (ret == EXIT_SUCCESS && ctx->json)
                return print_json(TAKE_PTR(array));
        return ret;
}

enum { ARG_ORIGIN = 0x100 };

static int stop_option(int c, const char *arg, void *userdata) {
        StopArgs *a = userdata;

        assert(c == ARG_ORIGIN);
        a->origin = arg;
        return 0;
}

int verb_stop(Context *ctx, int argc, char *argv[]) {
        static const struct option options[] = {
                { "origin", required_argument, NULL, ARG_ORIGIN },
                {},
        };
        static const VerbSyntax syntax = {
                .name = "stop", .help = help, .output = true, .options = options, .on_option = stop_option,
                .min_operands = 1, .max_operands = 2, .operands = "an app and perhaps a kind",
        };
        StopArgs a = {};
        int r;

        r = parse_verb(ctx, &syntax, argc, argv, &a);
        if (r <= 0)
                return parse_verb_exit(r);
        a.app = argv[optind];
        a.kind = argc - optind == 2 ? argv[optind + 1] : NULL;
        if (a.kind && parse_kind(a.kind, true) < 0)
                return EXIT_USAGE;
        return stop_app(ctx, &a);
}
