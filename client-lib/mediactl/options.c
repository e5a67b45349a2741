/* The options every mediactl command takes: --json[=pretty|short], --no-legend and --no-pager,
 * spelled and meant as in systemd's tools. */
#include <assert.h>
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

/* Room for --help, the output options and a verb's own. */
#define VERB_OPTIONS_MAX 24

static size_t verb_options(const VerbSyntax *s, struct option options[static VERB_OPTIONS_MAX]) {
        static const struct option output[] = { OUTPUT_OPTIONS };
        size_t n = 0;

        options[n++] = (struct option) { "help", no_argument, NULL, 'h' };
        if (s->output)
                for (size_t i = 0; i < ELEMENTSOF(output); i++)
                        options[n++] = output[i];
        for (const struct option *o = s->options; o && o->name; o++) {
                assert(n < VERB_OPTIONS_MAX - 1);
                options[n++] = *o;
        }
        options[n] = (struct option) {};
        return n;
}

static bool verb_operands_fit(const VerbSyntax *s, int argc, char *argv[]) {
        unsigned n = (unsigned) (argc - optind);

        if (n >= s->min_operands && n <= s->max_operands)
                return true;
        if (s->max_operands == 0)
                fprintf(stderr, "mediactl: %s takes no arguments, got '%s'.\n", s->name, argv[optind]);
        else
                fprintf(stderr, "mediactl: %s takes %s. Try 'mediactl %s --help'.\n", s->name, s->operands, s->name);
        return false;
}

int parse_verb(Context *ctx, const VerbSyntax *s, int argc, char *argv[], void *userdata) {
        struct option options[VERB_OPTIONS_MAX];
        int c, r;

        (void) verb_options(s, options);
        optind = 0; /* restart getopt for the verb's own command line */
        while ((c = getopt_long(argc, argv, s->options_first ? "+h" : "h", options, NULL)) >= 0) {
                if (c == 'h') {
                        s->help();
                        return 0;
                }
                r = parse_output_option(ctx, c, optarg);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                if (c == '?' || !s->on_option)
                        return -EINVAL; /* getopt said what was wrong */
                r = s->on_option(c, optarg, userdata);
                if (r < 0)
                        return r;
        }
        return verb_operands_fit(s, argc, argv) ? 1 : -EINVAL;
}

int parse_verb_exit(int r) {
        if (r == 0)
                return EXIT_SUCCESS;
        return r == -EINVAL ? EXIT_USAGE : EXIT_FAILURE;
}

int parse_no_arguments(Context *ctx, const char *verb, int argc, char *argv[], void (*help)(void)) {
        return parse_verb(ctx, &(VerbSyntax) { .name = verb, .help = help, .output = true }, argc, argv, NULL);
}
