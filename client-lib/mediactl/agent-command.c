/* `mediactl agent`: the command line of the consent agent, which picks its front end (the
 * terminal, desktop notifications, or the same answer every time) and runs it. */
#include <getopt.h>
#include <stdlib.h>

#include "agent.h"

#define DEFAULT_TIMED_MINUTES 10

static const char *const decisions[] = {
        "allow-once", "allow-always", "allow-timed", "deny-once", "deny-always", "dismissed",
};

static bool decision_is_valid(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(decisions); i++)
                if (streq(s, decisions[i]))
                        return true;
        return false;
}

static void help(void) {
        printf("mediactl agent [--auto DECISION [--seconds N] | --notifications [--minutes N]] [--pick DEVICE]...\n"
               "               [--timeout SECONDS] [--json[=pretty|short]]\n\n"
               "Register as the consent agent of this user and answer mediagated's prompts: on the\n"
               "terminal (app, web site, reason, devices; answers once, always, for N minutes, deny,\n"
               "always deny), through the desktop's notifications (--notifications: the app's name\n"
               "and icon from its desktop entry, a device choice when there are several, then Allow\n"
               "once, Deny, Allow for N minutes, Always allow, Always deny; closing it dismisses; a\n"
               "server without buttons says how to answer with 'mediactl answer'), or with the same\n"
               "answer every time (--auto). Runs until SIGINT or SIGTERM (or the end of input when\n"
               "asking on the terminal), then unregisters.\n\n"
               "  --auto DECISION  Answer every prompt: allow-once, allow-always, allow-timed,\n"
               "                   deny-once, deny-always or dismissed\n"
               "  --notifications  Ask through org.freedesktop.Notifications on the session bus\n"
               "  --seconds N      How long allow-timed lasts (1 to 31536000)\n"
               "  --minutes N      How long the notifications' timed allow lasts (default 10)\n"
               "  --timeout SECONDS  Nobody answered after this long: the prompt is dismissed and the\n"
               "                   user told so (default: wait)\n"
               "  --pick DEVICE    Grant only this device (an id or a label from the prompt); may be\n"
               "                   repeated. A kind without a picked device keeps every candidate.\n"
               "  --json[=pretty|short]  One JSON object per line and prompt answered or withdrawn\n"
               "  -h --help        Show this help\n");
}

static int parse_number(const char *option, const char *arg, uint32_t min, uint32_t max, uint32_t *ret) {
        if (safe_atou32(arg, ret) < 0 || *ret < min || *ret > max) {
                fprintf(stderr, "mediactl: %s takes %u to %u, not '%s'.\n", option, min, max, arg);
                return -EINVAL;
        }
        return 0;
}

enum { ARG_AUTO = 0x100, ARG_SECONDS, ARG_PICK, ARG_NOTIFICATIONS, ARG_MINUTES, ARG_TIMEOUT };

/* What the options say, beyond a->options: the front end is chosen from them afterwards. */
typedef struct AgentLine {
        Agent *agent;
        bool notifications, have_seconds;
} AgentLine;

static int agent_option(int c, const char *arg, void *userdata) {
        AgentLine *line = userdata;
        AgentOptions *o = &line->agent->options;
        uint32_t timeout;

        switch (c) {
        case ARG_AUTO:
                if (!decision_is_valid(arg)) {
                        fprintf(stderr, "mediactl: unknown decision '%s'; one of allow-once, allow-always, "
                                "allow-timed, deny-once, deny-always, dismissed.\n", arg);
                        return -EINVAL;
                }
                o->auto_decision = arg;
                return 0;
        case ARG_SECONDS:
                line->have_seconds = true;
                return parse_number("--seconds", arg, 1, ALLOW_TIMED_MAX_SECONDS, &o->seconds);
        case ARG_MINUTES:
                return parse_number("--minutes", arg, 1, ALLOW_TIMED_MAX_SECONDS / 60, &o->minutes);
        case ARG_TIMEOUT:
                if (parse_number("--timeout", arg, 1, 86400, &timeout) < 0)
                        return -EINVAL;
                o->timeout_usec = (uint64_t) timeout * 1000000ULL;
                return 0;
        case ARG_NOTIFICATIONS:
                line->notifications = true;
                return 0;
        case ARG_PICK:
                if (strv_extend(&o->picks, arg) < 0)
                        return print_errno(-ENOMEM, "Failed to parse the arguments"), -ENOMEM;
                return 0;
        default:
                return -EINVAL;
        }
}

/* Options into line; 1 to go on, 0 after --help, -EINVAL (said) otherwise. */
static int parse_agent_options(Context *ctx, int argc, char *argv[], AgentLine *line) {
        static const struct option options[] = {
                { "auto", required_argument, NULL, ARG_AUTO },
                { "seconds", required_argument, NULL, ARG_SECONDS },
                { "pick", required_argument, NULL, ARG_PICK },
                { "notifications", no_argument, NULL, ARG_NOTIFICATIONS },
                { "minutes", required_argument, NULL, ARG_MINUTES },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                {},
        };
        static const VerbSyntax syntax = {
                .name = "agent", .help = help, .output = true, .options = options, .on_option = agent_option,
        };

        return parse_verb(ctx, &syntax, argc, argv, line);
}

/* The front end the options choose, or NULL (said) when they contradict each other. */
static const AgentFrontend *choose_frontend(const Agent *a, bool notifications, bool have_seconds) {
        if (notifications && a->options.auto_decision) {
                fprintf(stderr, "mediactl: --notifications asks the user, --auto does not; choose one.\n");
                return NULL;
        }
        if (streq_ptr(a->options.auto_decision, "allow-timed") != have_seconds) {
                fprintf(stderr, "mediactl: --seconds goes with --auto allow-timed, and only with it.\n");
                return NULL;
        }
        if (a->options.minutes > 0 && !notifications) {
                fprintf(stderr, "mediactl: --minutes sets the timed allow the notifications offer; it goes with "
                        "--notifications.\n");
                return NULL;
        }
        if (a->options.timeout_usec > 0 && a->options.auto_decision) {
                fprintf(stderr, "mediactl: --auto answers at once; --timeout is for asking people.\n");
                return NULL;
        }
        return notifications ? &agent_frontend_notifications :
               a->options.auto_decision ? &agent_frontend_auto : &agent_frontend_terminal;
}

int verb_agent(Context *ctx, int argc, char *argv[]) {
        Agent a = { .ctx = ctx };
        AgentLine line = { .agent = &a };
        int r, ret;

        r = parse_agent_options(ctx, argc, argv, &line);
        if (r <= 0)
                ret = parse_verb_exit(r);
        else if (!(a.frontend = choose_frontend(&a, line.notifications, line.have_seconds)))
                ret = EXIT_USAGE;
        else {
                if (a.options.minutes == 0)
                        a.options.minutes = DEFAULT_TIMED_MINUTES;
                ret = agent_run(&a);
        }
        strv_free(a.options.picks);
        return ret;
}
