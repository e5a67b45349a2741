/* The options every mediactl command takes: --json[=pretty|short], --no-legend and --no-pager,
 * spelled and meant as in systemd's tools. */
#include <getopt.h>
#include <stdlib.h>

#include "mediactl.h"

OutputSettings output_settings = {
        .json = JSON_OFF,
        .legend = true,
        .pager = true,
};

int parse_output_option(Context *ctx, int c, const char *arg) {
        switch (c) {
        case ARG_OUTPUT_JSON:
                if (!arg || streq(arg, "pretty"))
                        output_settings.json = JSON_PRETTY;
                else if (streq(arg, "short"))
                        output_settings.json = JSON_SHORT;
                else {
                        fprintf(stderr, "mediactl: --json takes pretty or short, not '%s'.\n", arg);
                        return -EINVAL;
                }
                ctx->json = true;
                return 1;
        case ARG_OUTPUT_NO_LEGEND:
                output_settings.legend = false;
                return 1;
        case ARG_OUTPUT_NO_PAGER:
                output_settings.pager = false;
                return 1;
        default:
                return 0;
        }
}

int parse_no_arguments(Context *ctx, const char *verb, int argc, char *argv[], void (*help)(void)) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                OUTPUT_OPTIONS,
                {},
        };
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                default:
                        if (parse_output_option(ctx, c, optarg) > 0)
                                break;
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "mediactl: %s takes no arguments, got '%s'.\n", verb, argv[optind]);
                return -EINVAL;
        }
        return 1;
}
