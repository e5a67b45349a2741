/* `mediactl policy [show|check|reload]`: the admin policy as the files say it (read and judged
 * here with the daemon's own policy module), which rule decides a request and why, and
 * Admin.ReloadPolicy to make the daemon read it again. */
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"
#include "mediactl.h"
#include "mediagate-names.h"
#include "origin.h"
#include "policy.h"

/* The policy directory: --directory, else PolicyDirectory= of the daemon's configuration
 * (--config, else the installed files, read as the daemon reads them), else the default. */
static int policy_directory(const char *directory, const char *config_file, char **ret) {
        _cleanup_free_ char *error = NULL;
        Config c;
        int r;

        if (directory)
                return free_and_strdup(ret, directory);

        config_init(&c);
        r = config_load(&c, config_file, &error);
        if (r < 0) {
                if (error)
                        fprintf(stderr, "mediactl: System.Error.EINVAL: %s\n", error);
                else
                        (void) print_errno(r, config_file ?: "Cannot read the daemon's configuration");
                config_done(&c);
                return r;
        }
        r = free_and_strdup(ret, c.policy_dir ?: DEFAULT_POLICY_DIR);
        config_done(&c);
        return r;
}

/* Load the policy as the daemon would. A missing directory is an empty policy to the daemon
 * (every request then asks the user) but a problem to whoever checks a deployment, so it counts
 * as one: *ret_problems is the number of problems, each printed once to stderr unless quiet
 * (show lists them itself). */
static int load_policy(const char *directory, const char *config_file, bool quiet, char **ret_dir, Policy **ret,
                       size_t *ret_problems) {
        _cleanup_free_ char *dir = NULL;
        struct stat st;
        size_t problems = 0;
        int r;

        r = policy_directory(directory, config_file, &dir);
        if (r < 0)
                return r == -ENOMEM ? print_errno(r, "Failed to find the policy directory"), r : r;
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                fprintf(stderr, "mediactl: error: the policy directory %s %s; mediagated then has no policy and "
                        "asks the user about every request.\n", dir, errno == ENOENT ? "does not exist" : "cannot be read");
                problems++;
        }
        /* The module logs each problem as the daemon would ("mediagated: ..."); we print them
         * ourselves from policy_errors(). */
        log_set_max_level(LOG_EMERG);
        r = policy_load_dir(dir, NULL, ret);
        if (r < 0) {
                fprintf(stderr, "mediactl: error: cannot read the policy directory %s: %s (the daemon denies every "
                        "request then)\n", dir, strerror(-r));
                return r;
        }
        for (char *const *e = policy_errors(*ret); e && *e; e++) {
                if (!quiet)
                        fprintf(stderr, "mediactl: error: %s\n", *e);
                problems++;
        }
        *ret_dir = TAKE_PTR(dir);
        *ret_problems = problems;
        return 0;
}

static json_object *strv_or_empty_to_json(char *const *l) {
        return l ? strv_to_json(l) : json_object_new_array();
}

static int policy_show_json(const char *dir, const Policy *p) {
        _cleanup_free_ char *dump = NULL;
        json_object *o;
        size_t size = 0;
        FILE *f;
        int r;

        f = open_memstream(&dump, &size);
        if (!f)
                return print_errno(-ENOMEM, "Failed to build the output");
        r = policy_dump_once(p, f);
        if (fclose(f) != 0 || r < 0)
                return print_errno(r < 0 ? r : -ENOMEM, "Failed to build the output");

        o = json_object_new_object();
        if (!o || json_add_string(o, "directory", dir) < 0 ||
            json_add(o, "brokers", strv_or_empty_to_json(policy_brokers(p))) < 0 ||
            json_add(o, "rules", json_object_new_int64((int64_t) policy_n_rules(p))) < 0 ||
            json_add(o, "errors", strv_or_empty_to_json(policy_errors(p))) < 0 ||
            json_add_string(o, "text", dump) < 0) {
                json_object_put(o);
                o = NULL;
        }
        return print_json(o);
}

/* Exits 1 when the policy has any problem, as `visudo -c` does, so that it can gate a deployment. */
static int policy_show(const char *directory, const char *config_file, bool json) {
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_free_ char *dir = NULL;
        size_t problems;
        int r, ret;

        /* The dump ends with the problems: no warnings on top of them. */
        if (load_policy(directory, config_file, true, &dir, &p, &problems) < 0)
                return EXIT_FAILURE;
        if (json)
                ret = policy_show_json(dir, p);
        else {
                pager_open();
                printf("# %s\n", dir);
                r = policy_dump_once(p, stdout);
                ret = r < 0 ? print_errno(r, "Failed to write the policy") : EXIT_SUCCESS;
        }
        return problems > 0 ? EXIT_FAILURE : ret;
}

/* What the verdict means for a request, after the precedence of policy.h. */
static const char *verdict_outcome(const PolicyVerdict *v) {
        switch (v->decision) {
        case POLICY_DENY:
                return "denied: no prompt, and stored grants do not matter";
        case POLICY_ALLOW:
                return v->locked ? "granted without a prompt, even over a stored \"always deny\" of the user" :
                                   "granted without a prompt, unless the user stored \"always deny\"";
        case POLICY_PROMPT:
                if (v->locked)
                        return "asked every time: stored allows are ignored, a stored deny still denies";
                _fallthrough_;
        default:
                return "the user's stored decision if there is one, else a prompt";
        }
}

/* The command line of `policy`. */
typedef struct PolicyArgs {
        const char *verb;                     /* show, check, reload */
        const char *directory, *config_file;
        const char *app, *origin, *kind, *user, *device; /* check */
} PolicyArgs;

/* The request to judge, from --app, --kind, --origin, --user and --device. *ret_origin keeps the
 * normalized origin q points to. */
static int check_query(const PolicyArgs *a, PolicyQuery *q, char **ret_origin) {
        _cleanup_free_ char *origin = NULL;
        int r;

        *q = (PolicyQuery) {
                .uid = getuid(),
                .app_id = a->app,
                .kind = streq(a->kind, "camera") ? DEVICE_KIND_VIDEO : DEVICE_KIND_AUDIO,
                .hardware_id = a->device,
        };
        if (!isempty(a->origin)) {
                r = origin_normalize(a->origin, &origin);
                if (r < 0) {
                        fprintf(stderr, "mediactl: SecurityError: '%s' is not a valid origin.\n", a->origin);
                        return -EINVAL;
                }
                q->origin = origin;
        }
        if (a->user) {
                uint32_t uid;
                struct passwd *pw;

                if (safe_atou32(a->user, &uid) >= 0)
                        q->uid = uid;
                else if ((pw = getpwnam(a->user)))
                        q->uid = pw->pw_uid;
                else {
                        fprintf(stderr, "mediactl: System.Error.ESRCH: No user '%s'.\n", a->user);
                        return -ESRCH;
                }
        }
        *ret_origin = TAKE_PTR(origin);
        return 0;
}

static int print_verdict_json(const PolicyArgs *a, const PolicyQuery *q, const PolicyVerdict *v, const Policy *p) {
        json_object *o = json_object_new_object();

        if (!o || json_add_string(o, "app_id", a->app) < 0 || json_add_string(o, "origin", q->origin) < 0 ||
            json_add_string(o, "kind", a->kind) < 0 || json_add(o, "uid", json_object_new_int64(q->uid)) < 0 ||
            json_object_object_add(o, "device", a->device ? json_object_new_string(a->device) : NULL) < 0 ||
            json_add_string(o, "decision", policy_decision_to_string(v->decision)) < 0 ||
            json_add(o, "locked", json_object_new_boolean(v->locked)) < 0 ||
            json_object_object_add(o, "file", v->file ? json_object_new_string(v->file) : NULL) < 0 ||
            json_object_object_add(o, "line", v->file ? json_object_new_int64(v->line) : NULL) < 0 ||
            json_add_string(o, "explanation", v->explanation) < 0 ||
            json_add_string(o, "outcome", verdict_outcome(v)) < 0 ||
            json_add(o, "errors", strv_or_empty_to_json(policy_errors(p))) < 0) {
                json_object_put(o);
                o = NULL;
        }
        return print_json(o);
}

static int print_verdict_text(const PolicyArgs *a, const PolicyQuery *q, const PolicyVerdict *v, const char *dir,
                              const Policy *p) {
        printf("Request:   %s%s%s, %s, uid %u%s%s\n", a->app, q->origin ? " at " : "", strempty(q->origin), a->kind,
               (unsigned) q->uid, a->device ? ", device " : "", strempty(a->device));
        printf("Policy:    %s (%zu rule%s)\n", dir, policy_n_rules(p), policy_n_rules(p) == 1 ? "" : "s");
        printf("Decision:  %s%s\n", policy_decision_to_string(v->decision), v->locked ? " (locked)" : "");
        if (v->file)
                printf("Rule:      %s:%u\n", v->file, v->line);
        printf("Why:       %s\n", strempty(v->explanation));
        printf("Outcome:   %s\n", verdict_outcome(v));
        return fflush(stdout) == 0 ? EXIT_SUCCESS : print_errno(-EIO, "Failed to write the output");
}

/* Which rule decides, and what that means. Exits 1 when the policy has any problem, even though
 * the verdict is printed: the daemon judges with the broken files denying. */
static int policy_check(const PolicyArgs *a, bool json) {
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_free_ char *dir = NULL, *origin = NULL;
        PolicyVerdict v = {};
        PolicyQuery q;
        size_t problems;
        int r, ret;

        if (check_query(a, &q, &origin) < 0)
                return EXIT_FAILURE;
        if (load_policy(a->directory, a->config_file, true, &dir, &p, &problems) < 0)
                return EXIT_FAILURE;
        r = policy_evaluate(p, &q, &v);
        if (r == -EINVAL) {
                fprintf(stderr, "mediactl: TypeError: the policy cannot judge this request (uid %u, app '%s'); "
                        "the daemon denies it.\n", (unsigned) q.uid, a->app);
                return EXIT_FAILURE;
        }
        if (r < 0)
                return print_errno(r, "Failed to evaluate the policy");

        ret = json ? print_verdict_json(a, &q, &v, p) : print_verdict_text(a, &q, &v, dir, p);
        /* The problems the explanation does not quote already, each once (JSON lists them all). */
        for (char *const *e = policy_errors(p); !json && e && *e; e++)
                if (!strstr(strempty(v.explanation), *e))
                        fprintf(stderr, "mediactl: error: %s\n", *e);
        policy_verdict_done(&v);
        return problems > 0 ? EXIT_FAILURE : ret;
}

static int policy_reload(Context *ctx) {
        _cleanup_(mg_client_unrefp) MgClient *client = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = context_connect(ctx, &client);
        if (r < 0)
                return EXIT_FAILURE;
        r = admin_new_call(client, "ReloadPolicy", &m);
        if (r < 0)
                return print_errno(r, "Failed to build ReloadPolicy()");
        if (admin_call(client, m, NULL) < 0)
                return EXIT_FAILURE;
        printf("mediagated read the policy again; live tracks it now denies have ended.\n");
        return EXIT_SUCCESS;
}

static void help(void) {
        printf("mediactl policy [show] [--directory DIR | --config FILE] [--json[=pretty|short]]\n"
               "mediactl policy check --app APP --kind KIND [--origin ORIGIN] [--user USER] [--device ID]\n"
               "                      [--directory DIR | --config FILE] [--json[=pretty|short]]\n"
               "mediactl policy reload\n\n"
               "The admin policy (the *.conf files of the policy directory): show prints the brokers,\n"
               "every rule in effect and every problem with its file and line; check tells which rule\n"
               "decides a request and what that means; reload makes mediagated read the files again\n"
               "(needs the admin's authorization). show and check read the files themselves, as they\n"
               "are now on disk, and exit with 1 when any file is broken or the directory is missing,\n"
               "so that they can check a deployment before the reload.\n\n"
               "  --directory DIR  The policy directory (default: PolicyDirectory= of the daemon's\n"
               "                   configuration, else " DEFAULT_POLICY_DIR ")\n"
               "  --config FILE    The daemon's configuration file to take PolicyDirectory= from\n"
               "  --app APP        The app id (\"org.example.App\", \"host:/usr/bin/prog\")\n"
               "  --kind KIND      camera or microphone\n"
               "  --origin ORIGIN  The web origin a browser asks for\n"
               "  --user USER      A user name or uid (default: you)\n"
               "  --device ID      A device's hardware id (see devices --all); default: the kind as a whole\n"
               OUTPUT_OPTIONS_HELP
               "  -h --help        Show this help\n");
}

enum { ARG_DIRECTORY = 0x100, ARG_CONFIG, ARG_APP, ARG_KIND, ARG_ORIGIN, ARG_USER, ARG_DEVICE };

static int policy_option(int c, const char *arg, void *userdata) {
        PolicyArgs *a = userdata;
        const char **fields[] = {
                [ARG_DIRECTORY - ARG_DIRECTORY] = &a->directory, [ARG_CONFIG - ARG_DIRECTORY] = &a->config_file,
                [ARG_APP - ARG_DIRECTORY] = &a->app,             [ARG_KIND - ARG_DIRECTORY] = &a->kind,
                [ARG_ORIGIN - ARG_DIRECTORY] = &a->origin,       [ARG_USER - ARG_DIRECTORY] = &a->user,
                [ARG_DEVICE - ARG_DIRECTORY] = &a->device,
        };

        if (c == ARG_KIND && parse_kind(arg, false) < 0)
                return -EINVAL;
        *fields[c - ARG_DIRECTORY] = arg;
        return 0;
}

/* Options into a; 1 to go on, 0 after --help, -EINVAL (said) for a bad command line. */
static int parse_policy_arguments(Context *ctx, int argc, char *argv[], PolicyArgs *a) {
        static const struct option options[] = {
                { "directory", required_argument, NULL, ARG_DIRECTORY },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "app", required_argument, NULL, ARG_APP },
                { "kind", required_argument, NULL, ARG_KIND },
                { "origin", required_argument, NULL, ARG_ORIGIN },
                { "user", required_argument, NULL, ARG_USER },
                { "device", required_argument, NULL, ARG_DEVICE },
                {},
        };
        static const VerbSyntax syntax = {
                .name = "policy", .help = help, .output = true, .options = options, .on_option = policy_option,
                .max_operands = 1, .operands = "one of show, check, reload",
        };
        int r;

        *a = (PolicyArgs) { .verb = "show" };
        r = parse_verb(ctx, &syntax, argc, argv, a);
        if (r > 0 && optind < argc)
                a->verb = argv[optind];
        return r;
}

/* The options that go with the verb, and only those. */
static bool policy_arguments_fit(const PolicyArgs *a) {
        bool check_options = a->app || a->kind || a->origin || a->user || a->device;

        if (a->directory && a->config_file) {
                fprintf(stderr, "mediactl: --directory and --config exclude each other.\n");
                return false;
        }
        if (streq(a->verb, "check")) {
                if (a->app && a->kind)
                        return true;
                fprintf(stderr, "mediactl: policy check needs --app APP and --kind camera|microphone.\n");
                return false;
        }
        if (check_options) {
                fprintf(stderr, "mediactl: --app, --kind, --origin, --user and --device go with policy check.\n");
                return false;
        }
        if (streq(a->verb, "reload") && (a->directory || a->config_file)) {
                fprintf(stderr, "mediactl: reload reads what the daemon is configured with; no --directory.\n");
                return false;
        }
        if (!streq(a->verb, "show") && !streq(a->verb, "reload")) {
                fprintf(stderr, "mediactl: policy has show, check and reload, not '%s'.\n", a->verb);
                return false;
        }
        return true;
}

int verb_policy(Context *ctx, int argc, char *argv[]) {
        PolicyArgs a;
        int r;

        r = parse_policy_arguments(ctx, argc, argv, &a);
        if (r <= 0)
                return parse_verb_exit(r);
        if (!policy_arguments_fit(&a))
                return EXIT_USAGE;
        if (streq(a.verb, "check"))
                return policy_check(&a, ctx->json);
        if (streq(a.verb, "show"))
                return policy_show(a.directory, a.config_file, ctx->json);
        return policy_reload(ctx);
}
