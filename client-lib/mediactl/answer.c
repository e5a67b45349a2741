/* `mediactl answer N ANSWER...`: answer question N of the desktop agent (`mediactl agent
 * --notifications`) from a terminal, for notification services without buttons. The agent
 * serves org.mediagate.mediactl.Agent on the user's session bus. */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>

#include "mediactl.h"

#define ANSWERS_NAME "org.mediagate.mediactl.Agent"
#define ANSWERS_PATH "/org/mediagate/mediactl/agent"
#define ANSWERS_IFACE "org.mediagate.mediactl.Agent"

static void help(void) {
        printf("mediactl answer N once|always|deny|never|timed MINUTES [DEVICE NUMBERS...]\n\n"
               "Answer the desktop agent's question number N (its notification shows the number when\n"
               "the notification service has no buttons): allow once, always, for MINUTES minutes,\n"
               "deny, or always deny; device numbers limit the answer to those devices. The agent\n"
               "(mediactl agent --notifications) runs on this user's session bus.\n\n"
               "  -h --help        Show this help\n");
}

int verb_answer(Context *ctx, int argc, char *argv[]) {
        static const VerbSyntax syntax = {
                .name = "answer", .help = help, .options_first = true, .min_operands = 2, .max_operands = UINT_MAX,
                .operands = "a question number and an answer",
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        uint32_t number;
        FILE *f;
        int r;

        r = parse_verb(ctx, &syntax, argc, argv, NULL);
        if (r <= 0)
                return parse_verb_exit(r);
        if (safe_atou32(argv[optind], &number) < 0) {
                fprintf(stderr, "mediactl: '%s' is no question number. Try 'mediactl answer --help'.\n", argv[optind]);
                return EXIT_USAGE;
        }
        f = open_memstream(&line, &size);
        if (!f)
                return print_errno(-ENOMEM, "Failed to build the answer");
        for (int i = optind + 1; i < argc; i++)
                fprintf(f, "%s%s", i == optind + 1 ? "" : " ", argv[i]);
        if (fclose(f) != 0)
                return print_errno(-ENOMEM, "Failed to build the answer");

        r = sd_bus_open_user(&bus);
        if (r < 0) {
                explain_set_bus(true);
                return print_connect_error(r);
        }
        r = sd_bus_call_method(bus, ANSWERS_NAME, ANSWERS_PATH, ANSWERS_IFACE, "Answer", &e, NULL, "us", number, line);
        if (r >= 0)
                return EXIT_SUCCESS;
        if (sd_bus_error_has_names(&e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                fprintf(stderr, "mediactl: no desktop agent runs for this session (start one: mediactl agent "
                        "--notifications, or systemctl --user start mediagate-agent.service).\n");
        else if (sd_bus_error_has_name(&e, SD_BUS_ERROR_INVALID_ARGS))
                fprintf(stderr, "mediactl: %s\n", strempty(e.message));
        else
                (void) print_bus_error(&e, r);
        return EXIT_FAILURE;
}
