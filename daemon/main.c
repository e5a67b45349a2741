/* mediagated: command line, then the Manager does the rest. */
#include <getopt.h>
#include <malloc.h>

#include "log.h"
#include "manager.h"
#include "util.h"

static void help(void) {
        printf("Usage: mediagated [OPTIONS]\n"
               "\n"
               "The media gate: owns cameras and microphones and hands them out with consent.\n"
               "\n"
               "  -h --help              Show this help and exit\n"
               "     --version           Show the version and exit\n"
               "     --system            Serve on the system bus (default)\n"
               "     --session           Serve on the session bus (development, tests)\n"
               "     --config FILE       Read settings from FILE only (default: %s/%s,\n"
               "                         then %s/%s, then the *.conf drop-ins\n"
               "                         of both %s.d directories; see mediagated.conf(5))\n"
               "     --synthetic FILE    Use the synthetic devices described in FILE\n"
               "     --test-controls     Serve the Testing interface (add, remove, break devices)\n"
               "\n"
               "MEDIAGATE_LOG_LEVEL=debug|info|warning|error sets the log level.\n",
               VENDOR_CONFIG_DIR, CONFIG_FILE_NAME, ADMIN_CONFIG_DIR, CONFIG_FILE_NAME, CONFIG_FILE_NAME);
}

enum {
        ARG_VERSION = 0x100,
        ARG_SYSTEM,
        ARG_SESSION,
        ARG_CONFIG,
        ARG_SYNTHETIC,
        ARG_TEST_CONTROLS,
};

/* Returns 1 to go on, 0 to exit successfully, < 0 on a usage error. */
static int parse_argv(int argc, char *argv[], ManagerOptions *o) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "system", no_argument, NULL, ARG_SYSTEM },
                { "session", no_argument, NULL, ARG_SESSION },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "synthetic", required_argument, NULL, ARG_SYNTHETIC },
                { "test-controls", no_argument, NULL, ARG_TEST_CONTROLS },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("mediagated %s\n", MEDIAGATE_VERSION);
                        return 0;
                case ARG_SYSTEM:
                        o->user_bus = false;
                        break;
                case ARG_SESSION:
                        o->user_bus = true;
                        break;
                case ARG_CONFIG:
                        o->config_file = optarg;
                        break;
                case ARG_SYNTHETIC:
                        o->synthetic_file = optarg;
                        break;
                case ARG_TEST_CONTROLS:
                        o->test_controls = true;
                        break;
                default:
                        return -EINVAL; /* getopt printed the reason */
                }

        if (optind < argc) {
                fprintf(stderr, "mediagated: unexpected argument '%s'; see --help.\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        ManagerOptions options = {};
        int r;

        log_open();
        /* Frame buffers are megabytes each and come and go with captures. A fixed threshold keeps
         * them out of the heap (glibc would raise it after the first free), so that an idle
         * daemon gives that memory back. */
        (void) mallopt(M_MMAP_THRESHOLD, 256 * 1024);
        r = parse_argv(argc, argv, &options);
        if (r <= 0)
                return r < 0 ? 2 : 0;

        r = manager_new(&options, &m);
        if (r < 0)
                return 1;
        r = manager_start(m);
        if (r < 0)
                return 1;
        r = manager_run(m);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return 1;
        }
        return 0;
}
