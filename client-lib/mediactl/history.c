/* `mediactl history`: who was asked, granted, denied, and captured when (Admin.GetHistory). */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "mediactl.h"

#define USEC_PER_SEC UINT64_C(1000000)

/* --since: "@SECONDS" (since the epoch), "30s", "10min", "2h", "3d", "1w" (that long ago), "today",
 * "yesterday", or a local "YYYY-MM-DD[ HH:MM[:SS]]" (also with a 'T'). */
int parse_since(const char *s, uint64_t now_realtime_usec, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "s", USEC_PER_SEC }, { "sec", USEC_PER_SEC }, { "m", 60 * USEC_PER_SEC }, { "min", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC }, { "d", 86400 * USEC_PER_SEC }, { "w", 7 * 86400 * USEC_PER_SEC },
        };
        static const char *const formats[] = {
                "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d",
        };
        struct tm tm;
        time_t t;
        char *end;

        if (isempty(s))
                return -EINVAL;
        if (s[0] == '@') {
                uint64_t sec;

                if (safe_atou64(s + 1, &sec) < 0 || sec > UINT64_MAX / USEC_PER_SEC)
                        return -EINVAL;
                *ret = sec * USEC_PER_SEC;
                return 0;
        }
        if (streq(s, "today") || streq(s, "yesterday")) {
                t = (time_t) (now_realtime_usec / USEC_PER_SEC);
                if (!localtime_r(&t, &tm))
                        return -EINVAL;
                tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
                tm.tm_isdst = -1;
                if (streq(s, "yesterday"))
                        tm.tm_mday--;
                t = mktime(&tm);
                if (t == (time_t) -1)
                        return -EINVAL;
                *ret = (uint64_t) t * USEC_PER_SEC;
                return 0;
        }
        if (s[0] >= '0' && s[0] <= '9') {
                unsigned long long n;

                errno = 0;
                n = strtoull(s, &end, 10);
                if (errno == 0 && end != s)
                        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                                if (streq(end, units[i].suffix)) {
                                        uint64_t ago;

                                        if (n > UINT64_MAX / units[i].usec)
                                                return -ERANGE;
                                        ago = n * units[i].usec;
                                        *ret = ago >= now_realtime_usec ? 0 : now_realtime_usec - ago;
                                        return 0;
                                }
        }
        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                tm = (struct tm) { .tm_isdst = -1 };
                end = strptime(s, formats[i], &tm);
                if (end && *end == '\0') {
                        t = mktime(&tm);
                        if (t == (time_t) -1 || t < 0)
                                return -EINVAL;
                        *ret = (uint64_t) t * USEC_PER_SEC;
                        return 0;
                }
        }
        return -EINVAL;
}

static void format_duration(uint64_t usec, char *buf, size_t size) {
        uint64_t sec = usec / USEC_PER_SEC;

        if (usec == 0)
                snprintf(buf, size, "-");
        else if (sec < 60)
                snprintf(buf, size, "%.1fs", (double) usec / USEC_PER_SEC);
        else if (sec < 3600)
                snprintf(buf, size, "%" PRIu64 "min %" PRIu64 "s", sec / 60, sec % 60);
        else
                snprintf(buf, size, "%" PRIu64 "h %" PRIu64 "min", sec / 3600, sec % 3600 / 60);
}

static json_object *pairs_to_json(char *const *pairs) {
        json_object *o = json_object_new_object();

        for (char *const *p = pairs; o && p && p[0] && p[1]; p += 2)
                if (json_add_string(o, p[0], p[1]) < 0) {
                        json_object_put(o);
                        return NULL;
                }
        return o;
}

static int print_history(sd_bus_message *reply, bool json) {
        static const char *const headers[] = { "TIME", "USER", "APP", "ORIGIN", "KIND", "EVENT", "DURATION", "DETAILS" };
        _cleanup_(json_object_putp) json_object *array = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        size_t n = 0;
        int r;

        array = json_object_new_array();
        t = table_new(ELEMENTSOF(headers), headers);
        if (!array || !t)
                return print_errno(-ENOMEM, "Failed to build the output");
        r = sd_bus_message_enter_container(reply, 'a', "(tussssta{sv})");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'r', "tussssta{sv}")) > 0) {
                _cleanup_strv_free_ char **extra = NULL;
                const char *app_id, *origin, *kind, *event;
                uint64_t when, duration;
                uint32_t uid;
                char time_text[64], duration_text[32], user[16];

                r = sd_bus_message_read(reply, "tusssst", &when, &uid, &app_id, &origin, &kind, &event, &duration);
                if (r >= 0)
                        r = read_string_dict(reply, NULL, &extra, NULL);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        break;
                format_realtime(when, json, time_text, sizeof time_text);
                n++;

                if (json) {
                        json_object *o = json_object_new_object();

                        if (!o || json_add_string(o, "time", time_text) < 0 ||
                            json_add(o, "time_usec", json_object_new_uint64(when)) < 0 ||
                            json_add(o, "uid", json_object_new_int64(uid)) < 0 ||
                            json_add_string(o, "app_id", app_id) < 0 || json_add_string(o, "origin", origin) < 0 ||
                            json_add_string(o, "kind", kind) < 0 || json_add_string(o, "event", event) < 0 ||
                            json_add(o, "duration_usec", json_object_new_uint64(duration)) < 0 ||
                            json_add(o, "extra", pairs_to_json(extra)) < 0 || json_append(array, o) < 0) {
                                json_object_put(o);
                                return print_errno(-ENOMEM, "Failed to build the output");
                        }
                } else {
                        _cleanup_free_ char *details = NULL;
                        size_t size = 0;
                        FILE *f = open_memstream(&details, &size);

                        if (!f)
                                return print_errno(-ENOMEM, "Failed to build the output");
                        for (char **p = extra; p && p[0] && p[1]; p += 2)
                                fprintf(f, "%s%s=%s", p == extra ? "" : " ", p[0], p[1]);
                        fclose(f);
                        format_duration(duration, duration_text, sizeof duration_text);
                        snprintf(user, sizeof user, "%" PRIu32, uid);
                        const char *cells[] = { time_text, user, app_id, isempty(origin) ? "-" : origin, kind, event,
                                                duration_text, isempty(details) ? "-" : details };
                        if (table_add_row(t, cells) < 0)
                                return print_errno(-ENOMEM, "Failed to build the output");
                }
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return print_errno(r, "Failed to read the history");

        return print_listing(json, TAKE_PTR(array), t, n, "No events.");
}

static void help(void) {
        printf("mediactl history [--since WHEN] [--app APP] [--kind KIND] [--uid UID|--all-users]\n                 [--json[=pretty|short]] [--no-legend] [--no-pager]\n\n"
               "The access history, oldest first: prompted, granted, denied, started, stopped, revoked.\n"
               "Your own needs no authorization; another user's or everyone's needs the admin's.\n\n"
               "  --since WHEN     From then on: 10min, 2h, 3d (ago), today, yesterday,\n"
               "                   2024-05-01, \"2024-05-01 12:30\", @SECONDS-SINCE-THE-EPOCH\n"
               "  --app APP        Only this app id\n"
               "  --kind KIND      Only camera or microphone\n"
               "  --uid UID        Another user's history\n"
               "  --all-users      Everyone's\n"
               OUTPUT_OPTIONS_HELP
               "  -h --help        Show this help\n");
}

enum { FILTER_SINCE, FILTER_APP, FILTER_KIND, FILTER_UID, FILTER_ALL_USERS, _FILTER_MAX };

/* In the order of FILTER_*: each option sets its filter. */
enum { ARG_SINCE = 0x100, ARG_APP, ARG_KIND, ARG_UID, ARG_ALL_USERS };

static int history_option(int c, const char *arg, void *userdata) {
        BusOption *filter = userdata;

        switch (c) {
        case ARG_SINCE:
                if (parse_since(arg, now_usec(CLOCK_REALTIME), &filter[FILTER_SINCE].u64) < 0) {
                        fprintf(stderr, "mediactl: --since does not understand '%s'. Try 'mediactl history --help'.\n", arg);
                        return -EINVAL;
                }
                break;
        case ARG_APP:
                filter[FILTER_APP].string = arg;
                break;
        case ARG_KIND:
                if (parse_kind(arg, false) < 0)
                        return -EINVAL;
                filter[FILTER_KIND].string = arg;
                break;
        case ARG_UID:
                if (safe_atou32(arg, &filter[FILTER_UID].u32) < 0) {
                        fprintf(stderr, "mediactl: --uid takes a user id, not '%s'.\n", arg);
                        return -EINVAL;
                }
                break;
        case ARG_ALL_USERS:
                filter[FILTER_ALL_USERS].boolean = true;
                break;
        default:
                return -EINVAL;
        }
        filter[c - ARG_SINCE].set = true;
        return 0;
}

/* Options into the GetHistory filter; 1 to go on, 0 after --help, -EINVAL (said) otherwise. */
static int parse_history_arguments(Context *ctx, int argc, char *argv[], BusOption filter[static _FILTER_MAX]) {
        static const struct option options[] = {
                { "since", required_argument, NULL, ARG_SINCE },
                { "app", required_argument, NULL, ARG_APP },
                { "kind", required_argument, NULL, ARG_KIND },
                { "uid", required_argument, NULL, ARG_UID },
                { "all-users", no_argument, NULL, ARG_ALL_USERS },
                {},
        };
        static const VerbSyntax syntax = {
                .name = "history", .help = help, .output = true, .options = options, .on_option = history_option,
        };
        int r;

        r = parse_verb(ctx, &syntax, argc, argv, filter);
        if (r <= 0)
                return r;
        if (filter[FILTER_UID].set && filter[FILTER_ALL_USERS].set) {
                fprintf(stderr, "mediactl: --uid and --all-users exclude each other.\n");
                return -EINVAL;
        }
        return 1;
}

int verb_history(Context *ctx, int argc, char *argv[]) {
        _cleanup_(mg_client_unrefp) MgClient *client = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        BusOption filter[_FILTER_MAX] = {
                [FILTER_SINCE] = { "since", OPTION_U64 },
                [FILTER_APP] = { "app_id", OPTION_STRING },
                [FILTER_KIND] = { "kind", OPTION_STRING },
                [FILTER_UID] = { "uid", OPTION_U32 },
                [FILTER_ALL_USERS] = { "all_users", OPTION_BOOL },
        };
        int r;

        r = parse_history_arguments(ctx, argc, argv, filter);
        if (r <= 0)
                return parse_verb_exit(r);

        r = context_connect(ctx, &client);
        if (r < 0)
                return EXIT_FAILURE;
        r = admin_new_call(client, "GetHistory", &m);
        if (r >= 0)
                r = append_options(m, filter, _FILTER_MAX);
        if (r < 0)
                return print_errno(r, "Failed to build GetHistory()");
        if (admin_call(client, m, &reply) < 0)
                return EXIT_FAILURE;
        return print_history(reply, ctx->json);
}
