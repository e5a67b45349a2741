/* `mediactl mute camera|microphone on|off`: the global privacy switch (Admin.SetMuted), with
 * polkit allowed to ask for a password. */
#include <getopt.h>
#include <stdlib.h>

#include "mediactl.h"
#include "mediagate-names.h"

static void help(void) {
        printf("mediactl mute camera|microphone on|off\n\n"
               "Flip the global privacy switch of a kind: while it is on, every track of that kind is\n"
               "muted (no frames) and the devices are released; off resumes them. The switch stays\n"
               "as set across restarts of mediagated. polkit may ask for authentication.\n\n"
               "  -h --help        Show this help\n");
}

int verb_mute(Context *ctx, int argc, char *argv[]) {
        static const VerbSyntax syntax = {
                .name = "mute", .help = help, .min_operands = 2, .max_operands = 2, .operands = "a kind and on or off",
        };
        _cleanup_(mg_client_unrefp) MgClient *client = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *kind;
        sd_bus *bus;
        int r, muted;

        r = parse_verb(ctx, &syntax, argc, argv, NULL);
        if (r <= 0)
                return parse_verb_exit(r);
        kind = argv[optind];
        if (!streq(kind, "camera") && !streq(kind, "microphone")) {
                fprintf(stderr, "mediactl: the kind is 'camera' or 'microphone', not '%s'.\n", kind);
                return EXIT_USAGE;
        }
        muted = parse_boolean(argv[optind + 1]);
        if (muted < 0) {
                fprintf(stderr, "mediactl: say 'on' or 'off', not '%s'.\n", argv[optind + 1]);
                return EXIT_USAGE;
        }

        r = context_connect(ctx, &client);
        if (r < 0)
                return EXIT_FAILURE;
        bus = mg_client_get_bus(client);
        /* A terminal user can answer polkit's password question through their agent. */
        (void) sd_bus_set_allow_interactive_authorization(bus, true);
        r = sd_bus_call_method(bus, MG_BUS_NAME, MG_OBJECT_PATH, MG_IFACE_ADMIN, "SetMuted", &e, NULL, "sb", kind,
                               muted);
        if (r < 0)
                return print_bus_error(&e, r);

        if (ctx->json) {
                json_object *o = json_object_new_object();

                if (o && (json_add_string(o, "kind", kind) < 0 ||
                          json_add(o, "muted", json_object_new_boolean(muted)) < 0)) {
                        json_object_put(o);
                        o = NULL;
                }
                return print_json(o);
        }
        printf("The %s is %s.\n", kind, muted ? "muted: no application receives anything from it" : "no longer muted");
        return EXIT_SUCCESS;
}
