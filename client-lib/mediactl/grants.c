/* `mediactl grants [list|set|revoke]`: the stored user decisions (Admin.ListGrants, SetGrant,
 * RevokeGrant), a user's own freely, other users' with org.mediagate.manage. */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>

#include "mediactl.h"

typedef struct GrantArgs {
        BusOption uid, all_users, app_id, origin, kind, seconds, devices;
} GrantArgs;

static void help(void) {
        printf("mediactl grants [list] [--app APP] [--origin ORIGIN] [--kind KIND] [--uid UID|--all-users]\n"
               "mediactl grants set APP KIND allow|deny [--origin ORIGIN] [--seconds N] [--device ID]... [--uid UID]\n"
               "mediactl grants revoke APP KIND [--origin ORIGIN] [--device ID]... [--uid UID]\n\n"
               "Show, store and remove remembered decisions (what \"Always allow\", \"for N minutes\"\n"
               "and \"Always deny\" leave behind). Your own need no authorization; another user's\n"
               "(--uid, --all-users) need the admin's (polkit may ask).\n"
               "APP is the app id as prompts name it (\"org.example.App\", \"host:/usr/bin/prog\");\n"
               "KIND is camera or microphone; ORIGIN a web origin, none when left out.\n\n"
               "  --seconds N      set: an allow that ends after N seconds\n"
               "  --device ID      set, revoke: only these devices (hardware ids, see devices --all)\n"
               OUTPUT_OPTIONS_HELP
               "  -h --help        Show this help\n");
}

static int print_grants(sd_bus_message *reply, bool json) {
        static const char *const headers[] = { "USER", "APP", "ORIGIN", "KIND", "DECISION", "UNTIL", "DEVICES" };
        _cleanup_(json_object_putp) json_object *array = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        size_t n = 0;
        int r;

        array = json_object_new_array();
        t = table_new(ELEMENTSOF(headers), headers);
        if (!array || !t)
                return print_errno(-ENOMEM, "Failed to build the output");
        r = sd_bus_message_enter_container(reply, 'a', "(ussssta{sv})");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'r', "ussssta{sv}")) > 0) {
                _cleanup_strv_free_ char **devices = NULL;
                const char *app_id, *origin, *kind, *decision;
                uint64_t expires;
                uint32_t uid;
                char until[64] = "never", user[16];

                r = sd_bus_message_read(reply, "usssst", &uid, &app_id, &origin, &kind, &decision, &expires);
                if (r >= 0)
                        r = read_string_dict(reply, "devices", NULL, &devices);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        break;
                if (expires > 0)
                        format_realtime(expires, json, until, sizeof until);
                n++;

                if (json) {
                        json_object *o = json_object_new_object();

                        if (!o || json_add(o, "uid", json_object_new_int64(uid)) < 0 ||
                            json_add_string(o, "app_id", app_id) < 0 || json_add_string(o, "origin", origin) < 0 ||
                            json_add_string(o, "kind", kind) < 0 || json_add_string(o, "decision", decision) < 0 ||
                            json_object_object_add(o, "expires_usec", expires ? json_object_new_uint64(expires) : NULL) < 0 ||
                            json_object_object_add(o, "expires", expires ? json_object_new_string(until) : NULL) < 0 ||
                            json_object_object_add(o, "devices", devices ? strv_to_json(devices) : NULL) < 0 ||
                            json_append(array, o) < 0) {
                                json_object_put(o);
                                return print_errno(-ENOMEM, "Failed to build the output");
                        }
                } else {
                        _cleanup_free_ char *device_list = NULL;
                        size_t size = 0;
                        FILE *f = open_memstream(&device_list, &size);

                        if (!f)
                                return print_errno(-ENOMEM, "Failed to build the output");
                        for (char **d = devices; d && *d; d++)
                                fprintf(f, "%s%s", d == devices ? "" : ",", *d);
                        fclose(f);
                        snprintf(user, sizeof user, "%" PRIu32, uid);
                        const char *cells[] = { user, app_id, isempty(origin) ? "-" : origin, kind, decision, until,
                                                isempty(device_list) ? "all" : device_list };
                        if (table_add_row(t, cells) < 0)
                                return print_errno(-ENOMEM, "Failed to build the output");
                }
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return print_errno(r, "Failed to read the grants");

        return print_listing(json, TAKE_PTR(array), t, n, "No grants.");
}

static int grants_list(MgClient *client, GrantArgs *a, bool json) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const BusOption filter[] = { a->uid, a->all_users, a->app_id, a->origin, a->kind };
        int r;

        r = admin_new_call(client, "ListGrants", &m);
        if (r >= 0)
                r = append_options(m, filter, ELEMENTSOF(filter));
        if (r < 0)
                return print_errno(r, "Failed to build ListGrants()");
        if (admin_call(client, m, &reply) < 0)
                return EXIT_FAILURE;
        return print_grants(reply, json);
}

static int grants_change(MgClient *client, GrantArgs *a, bool set, const char *app, const char *kind,
                         const char *decision, bool json) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const BusOption set_options[] = { a->seconds, a->uid, a->devices };
        const BusOption revoke_options[] = { a->uid, a->devices };
        int r;

        r = admin_new_call(client, set ? "SetGrant" : "RevokeGrant", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "sss", app, a->origin.set ? a->origin.string : "", kind);
        if (r >= 0 && set)
                r = sd_bus_message_append(m, "s", decision);
        if (r >= 0)
                r = set ? append_options(m, set_options, ELEMENTSOF(set_options)) :
                          append_options(m, revoke_options, ELEMENTSOF(revoke_options));
        if (r < 0)
                return print_errno(r, "Failed to build the call");
        if (admin_call(client, m, NULL) < 0)
                return EXIT_FAILURE;

        if (json) {
                json_object *o = json_object_new_object();

                if (o && (json_add_string(o, "action", set ? "set" : "revoke") < 0 ||
                          json_add_string(o, "app_id", app) < 0 ||
                          json_add_string(o, "origin", a->origin.set ? a->origin.string : "") < 0 ||
                          json_add_string(o, "kind", kind) < 0 ||
                          (set && json_add_string(o, "decision", decision) < 0))) {
                        json_object_put(o);
                        o = NULL;
                }
                return print_json(o);
        }
        if (set) {
                printf("Stored: %s %s for %s", decision, kind, app);
                if (a->origin.set && !isempty(a->origin.string))
                        printf(" at %s", a->origin.string);
                if (a->seconds.set)
                        printf(" for %" PRIu32 " s", a->seconds.u32);
                printf(".\n");
        } else {
                printf("Revoked what was stored for the %s of %s", kind, app);
                if (a->origin.set && !isempty(a->origin.string))
                        printf(" at %s", a->origin.string);
                printf("; it will ask again.\n");
        }
        return EXIT_SUCCESS;
}

/* The command line of `grants`. */
typedef struct GrantCommand {
        const char *verb;  /* list, set, revoke */
        char **args;       /* after the verb: APP KIND [DECISION] */
        size_t n_args;
        char **devices;    /* --device, owned */
} GrantCommand;

enum { ARG_UID = 0x100, ARG_ALL_USERS, ARG_APP, ARG_ORIGIN, ARG_KIND, ARG_SECONDS, ARG_DEVICE };

typedef struct GrantLine {
        GrantArgs *args;
        GrantCommand *command;
} GrantLine;

static int grant_option(int o, const char *arg, void *userdata) {
        GrantArgs *a = ((GrantLine *) userdata)->args;
        GrantCommand *c = ((GrantLine *) userdata)->command;

        switch (o) {
        case ARG_UID:
                if (safe_atou32(arg, &a->uid.u32) < 0) {
                        fprintf(stderr, "mediactl: --uid takes a user id, not '%s'.\n", arg);
                        return -EINVAL;
                }
                a->uid.set = true;
                return 0;
        case ARG_ALL_USERS:
                a->all_users.set = a->all_users.boolean = true;
                return 0;
        case ARG_APP:
                a->app_id.set = true;
                a->app_id.string = arg;
                return 0;
        case ARG_ORIGIN:
                a->origin.set = true;
                a->origin.string = arg;
                return 0;
        case ARG_KIND:
                if (parse_kind(arg, false) < 0)
                        return -EINVAL;
                a->kind.set = true;
                a->kind.string = arg;
                return 0;
        case ARG_SECONDS:
                if (safe_atou32(arg, &a->seconds.u32) < 0 || a->seconds.u32 == 0) {
                        fprintf(stderr, "mediactl: --seconds takes a positive number, not '%s'.\n", arg);
                        return -EINVAL;
                }
                a->seconds.set = true;
                return 0;
        case ARG_DEVICE:
                if (strv_extend(&c->devices, arg) < 0)
                        return print_errno(-ENOMEM, "Failed to parse the arguments"), -ENOMEM;
                a->devices.set = true;
                a->devices.strv = c->devices;
                return 0;
        default:
                return -EINVAL;
        }
}

/* Options into a and c; 1 to go on, 0 after --help, -EINVAL (said) for a bad option. */
static int parse_grant_options(Context *ctx, int argc, char *argv[], GrantArgs *a, GrantCommand *c) {
        static const struct option options[] = {
                { "uid", required_argument, NULL, ARG_UID },
                { "all-users", no_argument, NULL, ARG_ALL_USERS },
                { "app", required_argument, NULL, ARG_APP },
                { "origin", required_argument, NULL, ARG_ORIGIN },
                { "kind", required_argument, NULL, ARG_KIND },
                { "seconds", required_argument, NULL, ARG_SECONDS },
                { "device", required_argument, NULL, ARG_DEVICE },
                {},
        };
        static const VerbSyntax syntax = {
                .name = "grants", .help = help, .output = true, .options = options, .on_option = grant_option,
                .max_operands = UINT_MAX,
        };
        int r;

        r = parse_verb(ctx, &syntax, argc, argv, &(GrantLine) { a, c });
        if (r <= 0)
                return r;
        c->verb = "list";
        c->args = argv + optind;
        c->n_args = (size_t) (argc - optind);
        if (c->n_args > 0) {
                c->verb = c->args[0];
                c->args++;
                c->n_args--;
        }
        return 1;
}

/* The arguments and options that go with the verb, and only those. */
static bool grant_command_fits(const GrantArgs *a, const GrantCommand *c) {
        bool set = streq(c->verb, "set");

        if (streq(c->verb, "list")) {
                if (c->n_args > 0 || a->seconds.set || a->devices.set) {
                        fprintf(stderr, "mediactl: grants list takes only filters. Try 'mediactl grants --help'.\n");
                        return false;
                }
                if (a->uid.set && a->all_users.set) {
                        fprintf(stderr, "mediactl: --uid and --all-users exclude each other.\n");
                        return false;
                }
                return true;
        }
        if (!set && !streq(c->verb, "revoke")) {
                fprintf(stderr, "mediactl: grants has list, set and revoke, not '%s'.\n", c->verb);
                return false;
        }
        if (c->n_args != (set ? 3u : 2u) || a->all_users.set || a->app_id.set || a->kind.set || (!set && a->seconds.set)) {
                fprintf(stderr, "mediactl: grants %s takes APP KIND%s. Try 'mediactl grants --help'.\n", c->verb,
                        set ? " allow|deny" : "");
                return false;
        }
        if (parse_kind(c->args[1], false) < 0)
                return false;
        if (set && !streq(c->args[2], "allow") && !streq(c->args[2], "deny")) {
                fprintf(stderr, "mediactl: the decision is 'allow' or 'deny', not '%s'.\n", c->args[2]);
                return false;
        }
        if (set && a->seconds.set && streq(c->args[2], "deny")) {
                fprintf(stderr, "mediactl: --seconds limits an allow; a deny lasts until revoked.\n");
                return false;
        }
        return true;
}

int verb_grants(Context *ctx, int argc, char *argv[]) {
        _cleanup_(mg_client_unrefp) MgClient *client = NULL;
        GrantArgs a = {
                .uid = { "uid", OPTION_U32 },
                .all_users = { "all_users", OPTION_BOOL },
                .app_id = { "app_id", OPTION_STRING },
                .origin = { "origin", OPTION_STRING },
                .kind = { "kind", OPTION_STRING },
                .seconds = { "seconds", OPTION_U32 },
                .devices = { "devices", OPTION_STRV },
        };
        GrantCommand c = {};
        bool set;
        int r, ret;

        r = parse_grant_options(ctx, argc, argv, &a, &c);
        if (r <= 0)
                ret = parse_verb_exit(r);
        else if (!grant_command_fits(&a, &c))
                ret = EXIT_USAGE;
        else if (context_connect(ctx, &client) < 0)
                ret = EXIT_FAILURE;
        else if (streq(c.verb, "list"))
                ret = grants_list(client, &a, ctx->json);
        else {
                set = streq(c.verb, "set");
                ret = grants_change(client, &a, set, c.args[0], c.args[1], set ? c.args[2] : NULL, ctx->json);
        }
        strv_free(c.devices);
        return ret;
}
