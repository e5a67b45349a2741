/* `mediactl permission [camera|microphone]`: what a request would meet now (QueryPermission),
 * as navigator.permissions.query() tells a web page. */
#include <getopt.h>
#include <stdlib.h>

#include "mediactl.h"

static void help(void) {
        printf("mediactl permission [camera|microphone] [--origin ORIGIN] [--json[=pretty|short]]\n\n"
               "Show whether a request of this caller would be granted without a prompt, denied, or\n"
               "would ask (\"prompt\"). Nobody is asked. Without a kind, both are shown.\n\n"
               "  --origin ORIGIN  Ask for a web origin (trusted brokers only)\n"
               OUTPUT_OPTIONS_HELP
               "  -h --help        Show this help\n");
}

enum { ARG_ORIGIN = 0x100 };

static int permission_option(int c, const char *arg, void *userdata) {
        const char **origin = userdata;

        *origin = arg;
        return 0;
}

int verb_permission(Context *ctx, int argc, char *argv[]) {
        static const struct option options[] = {
                { "origin", required_argument, NULL, ARG_ORIGIN },
                {},
        };
        static const VerbSyntax syntax = {
                .name = "permission", .help = help, .output = true, .options = options,
                .on_option = permission_option, .max_operands = 1, .operands = "one kind at most",
        };
        static const struct {
                const char *name;
                MgMediaKind kind;
        } kinds[] = {
                { "camera", MG_MEDIA_VIDEO },
                { "microphone", MG_MEDIA_AUDIO },
        };
        _cleanup_(mg_client_unrefp) MgClient *client = NULL;
        _cleanup_(mg_error_clear) MgError err = MG_ERROR_INIT;
        _cleanup_(json_object_putp) json_object *o = NULL;
        const char *origin = NULL, *only = NULL;
        int r;

        r = parse_verb(ctx, &syntax, argc, argv, &origin);
        if (r <= 0)
                return parse_verb_exit(r);
        if (optind < argc) {
                only = argv[optind];
                if (!streq(only, "camera") && !streq(only, "microphone")) {
                        fprintf(stderr, "mediactl: the kind is 'camera' or 'microphone', not '%s'.\n", only);
                        return EXIT_USAGE;
                }
        }

        r = context_connect(ctx, &client);
        if (r < 0)
                return EXIT_FAILURE;
        o = json_object_new_object();
        if (!o)
                return print_errno(-ENOMEM, "Failed to build the output");
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                MgPermissionState state;

                if (only && !streq(only, kinds[i].name))
                        continue;
                r = mg_client_query_permission(client, kinds[i].kind, origin, &state, &err);
                if (r < 0)
                        return print_error(&err, r);
                if (ctx->json) {
                        if (json_add_string(o, kinds[i].name, mg_permission_state_to_string(state)) < 0)
                                return print_errno(-ENOMEM, "Failed to build the output");
                } else
                        printf("%-11s %s\n", kinds[i].name, mg_permission_state_to_string(state));
        }
        return ctx->json ? print_json(TAKE_PTR(o)) : EXIT_SUCCESS;
}
