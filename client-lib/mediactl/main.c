/* mediactl: the command line of mediagate. Global options and the command table; each command
 * group lives in its own file (devices.c, ...). */
#include <getopt.h>
#include <locale.h>
#include <stdlib.h>

#include "mediactl.h"

#ifndef MEDIAGATE_VERSION
#define MEDIAGATE_VERSION "unknown"
#endif

typedef struct Verb {
        const char *name;
        int (*run)(Context *ctx, int argc, char *argv[]);
        const char *summary;
} Verb;

static const Verb verbs[] = {
        { "devices", verb_devices, "List cameras and microphones (EnumerateDevices)" },
        { "get", verb_get, "Ask for media (getUserMedia) and show the chosen settings" },
        { "permission", verb_permission, "Would a request be granted, denied or prompt? (QueryPermission)" },
        { "snapshot", verb_snapshot, "Write one camera frame as a PNG image" },
        { "record", verb_record, "Record camera and microphone to Y4M and WAV files" },
        { "agent", verb_agent, "Answer consent prompts, on the terminal or automatically" },
        { "answer", verb_answer, "Answer the desktop agent's question from a terminal" },
        { "grants", verb_grants, "List, set and revoke remembered decisions" },
        { "history", verb_history, "Show who was asked, granted, denied, and captured when" },
        { "policy", verb_policy, "Show the admin policy, check which rule decides, reload it" },
        { "status", verb_status, "Show the indicator state: accessible, live, muted, the apps" },
        { "stop", verb_stop, "Stop an app that uses the camera or microphone (its tracks end)" },
        { "monitor", verb_monitor, "Watch the indicator state change, one line per change" },
        { "mute", verb_mute, "Turn the privacy switch of cameras or microphones on or off" },
        { "indicator", verb_indicator, "Show the indicator state as a tray icon (StatusNotifierItem)" },
};

int context_connect(const Context *ctx, MgClient **ret) {
        const char *env = getenv("MEDIAGATE_BUS");
        int r;

        explain_set_bus(ctx->bus == MG_BUS_SESSION || (ctx->bus == MG_BUS_DEFAULT && streq_ptr(env, "session")));
        r = mg_client_new(ret, ctx->bus);
        if (r == -EINVAL && ctx->bus == MG_BUS_DEFAULT) {
                fprintf(stderr, "mediactl: MEDIAGATE_BUS must be 'session' or 'system', not '%s'.\n", strempty(env));
                return r;
        }
        if (r < 0)
                return print_connect_error(r), r;
        return 0;
}

static void help(void) {
        printf("mediactl [OPTIONS...] COMMAND ...\n\n"
               "Talk to mediagated, the camera and microphone daemon.\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-12s %s\n", verbs[i].name, verbs[i].summary);
        printf("\nOptions:\n"
               "  --session        Talk to the daemon on the session bus (development, tests)\n"
               "  --system         Talk to the daemon on the system bus (the default)\n"
               OUTPUT_OPTIONS_HELP
               "  -h --help        Show this help\n"
               "  --version        Show the version\n\n"
               "Without --session or --system, MEDIAGATE_BUS=session|system chooses the bus.\n"
               "See 'mediactl COMMAND --help' for a command's options.\n");
}

int main(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_SESSION, ARG_SYSTEM };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "session", no_argument, NULL, ARG_SESSION },
                { "system", no_argument, NULL, ARG_SYSTEM },
                OUTPUT_OPTIONS,
                {},
        };
        Context ctx = { .bus = MG_BUS_DEFAULT };
        int c, r;

        setlocale(LC_ALL, "");
        i18n_init();

        /* '+': stop at the command, whose options are its own. */
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case ARG_VERSION:
                        printf("mediactl %s\n", MEDIAGATE_VERSION);
                        return EXIT_SUCCESS;
                case ARG_SESSION:
                        ctx.bus = MG_BUS_SESSION;
                        break;
                case ARG_SYSTEM:
                        ctx.bus = MG_BUS_SYSTEM;
                        break;
                default:
                        r = parse_output_option(&ctx, c, optarg);
                        if (r > 0)
                                break;
                        if (r == 0)
                                fprintf(stderr, "Try 'mediactl --help'.\n");
                        return EXIT_USAGE;
                }

        if (optind >= argc) {
                fprintf(stderr, "mediactl: missing command. Try 'mediactl --help'.\n");
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(argv[optind], verbs[i].name))
                        return verbs[i].run(&ctx, argc - optind, argv + optind);

        fprintf(stderr, "mediactl: unknown command '%s'. Try 'mediactl --help'.\n", argv[optind]);
        return EXIT_USAGE;
}
