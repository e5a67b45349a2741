/* mediactl's shared declarations: the global options every command sees, the command table
 * entries, and the printing helpers of output.c. */
#pragma once

#include <getopt.h>
#include <json-c/json.h>
#include <libintl.h>
#include <stdbool.h>
#include <stdio.h>

#include "mediagate.h"
#include "util.h"

typedef struct Context {
        MgBusType bus; /* MG_BUS_DEFAULT: $MEDIAGATE_BUS, else the system bus */
        bool json;     /* --json in either form */
} Context;

/* Exit codes: 0 success, 1 the operation failed, 2 the command line was wrong. */
#define EXIT_USAGE 2

/* What people read in the agents and the tray is translated (po/, the "mediagate" domain);
 * what scripts read (listings, JSON, decisions) is not. */
#define GETTEXT_DOMAIN "mediagate"
#define _(s) gettext(s)
#define N_(s) (s)
/* Set up the translations: the installed catalogs, or those beside an uninstalled mediactl. */
void i18n_init(void);

/* ---- options.c: the options every command takes, as systemd's tools spell them ---- */

typedef enum JsonMode {
        JSON_OFF,
        JSON_PRETTY, /* --json, --json=pretty: indented */
        JSON_SHORT,  /* --json=short: one line */
} JsonMode;

/* How output looks, for the whole run: set while the command line is read. */
typedef struct OutputSettings {
        JsonMode json;
        bool legend; /* table headers and the "No ..." of an empty listing; --no-legend clears it */
        bool pager;  /* page long listings on a terminal; --no-pager clears it */
} OutputSettings;

extern OutputSettings output_settings;

enum {
        ARG_OUTPUT_JSON = 0x1000,
        ARG_OUTPUT_NO_LEGEND,
        ARG_OUTPUT_NO_PAGER,
};

/* In every command's getopt table. */
#define OUTPUT_OPTIONS                                                          \
        { "json", optional_argument, NULL, ARG_OUTPUT_JSON },                   \
        { "no-legend", no_argument, NULL, ARG_OUTPUT_NO_LEGEND },               \
        { "no-pager", no_argument, NULL, ARG_OUTPUT_NO_PAGER }

/* The help lines of OUTPUT_OPTIONS. */
#define OUTPUT_OPTIONS_HELP                                                     \
        "  --json[=pretty|short]  Print JSON (indented, or each object on one line)\n" \
        "  --no-legend      Print no table headers and no \"No ...\" for an empty list\n" \
        "  --no-pager       Do not pipe long output into a pager\n"

/* Apply one of OUTPUT_OPTIONS: 1 when c was one, 0 when it is not; a bad --json= value is said
 * and gives -EINVAL. */
int parse_output_option(Context *ctx, int c, const char *arg);

/* A verb's command line: --help, the output options when it prints (--json, --no-legend,
 * --no-pager), its own options, and a number of operands. */
typedef struct VerbSyntax {
        const char *name;              /* as typed: "get" */
        void (*help)(void);
        bool output;                   /* takes the output options */
        bool options_first;            /* options end at the first operand ("+" in getopt) */
        const struct option *options;  /* its own, ended by {}; NULL: none */
        /* One of its own options: 0 to go on, -EINVAL (said) or -ENOMEM. */
        int (*on_option)(int c, const char *arg, void *userdata);
        unsigned min_operands, max_operands;
        const char *operands; /* what they are, for the usage error: "one file name" */
} VerbSyntax;

/* Read argv as s says, its options going to s->on_option with userdata. 1 to go on (optind at the
 * first operand), 0 after --help, -EINVAL for a wrong command line (said), -ENOMEM. */
int parse_verb(Context *ctx, const VerbSyntax *s, int argc, char *argv[], void *userdata);
/* The exit code for a parse_verb() result that ends the command (r <= 0). */
int parse_verb_exit(int r);
/* A command without arguments or options of its own, as parse_verb(). */
int parse_no_arguments(Context *ctx, const char *verb, int argc, char *argv[], void (*help)(void));

/* ---- explain.c ---- */

/* Which bus the words name (context_connect() sets it). */
void explain_set_bus(bool session);
/* A connection that could not be made, in plain words; returns EXIT_FAILURE. */
int print_connect_error(int r);
/* When name is an error of reaching mediagated (not running, no answer, the connection lost,
 * an older daemon), say so plainly with the next step and return true. */
bool explain_error(const char *name, const char *message);

/* ---- desktop-entry.c ---- */

typedef struct AppInfo {
        char *name;       /* the entry's Name= in the user's language, else the program's file name */
        char *icon;       /* Icon=: a theme icon name or a path; NULL: none */
        char *desktop_id; /* "org.example.App.desktop"; NULL: no entry */
} AppInfo;

void app_info_done(AppInfo *info);
/* The desktop entry of an app id (sanitized). 1 found, 0 not found (ret holds a name made from
 * the app id), -ENOMEM. */
int app_info_lookup(const char *app_id, AppInfo *ret);

/* ---- event-loop.c ---- */

/* A new event loop with SIGINT and SIGTERM blocked and handed to on_signal(userdata), and client's
 * connection attached. Prints the error and returns a negative errno on failure. */
int event_loop_new(MgClient *client, sd_event_signal_handler_t on_signal, void *userdata, sd_event **ret);

/* ---- pager.c ---- */

/* From here on, stdout goes through $MEDIACTL_PAGER, $PAGER or less, when it is a terminal and
 * the pager is wanted; the pager is waited for at exit. */
void pager_open(void);

/* Connect as the global options say; prints the error and returns a negative errno on failure. */
int context_connect(const Context *ctx, MgClient **ret);

/* Commands: argv[0] is the command's name; they return an exit code. */
int verb_devices(Context *ctx, int argc, char *argv[]);
int verb_get(Context *ctx, int argc, char *argv[]);
int verb_permission(Context *ctx, int argc, char *argv[]);
int verb_snapshot(Context *ctx, int argc, char *argv[]);
int verb_record(Context *ctx, int argc, char *argv[]);
int verb_agent(Context *ctx, int argc, char *argv[]);
int verb_monitor(Context *ctx, int argc, char *argv[]);
int verb_status(Context *ctx, int argc, char *argv[]);
int verb_mute(Context *ctx, int argc, char *argv[]);
int verb_indicator(Context *ctx, int argc, char *argv[]);
int verb_stop(Context *ctx, int argc, char *argv[]);
int verb_answer(Context *ctx, int argc, char *argv[]);

/* ---- media.c: getUserMedia from the command line (get, snapshot, record) ---- */

typedef struct MediaArgs {
        const char *video;  /* --video: JSON text (true, false or MediaTrackConstraints); NULL: not asked */
        const char *audio;  /* --audio: likewise */
        const char *origin; /* --origin (trusted brokers only); NULL: none */
        const char *reason; /* --reason, shown in the prompt; NULL: none */
} MediaArgs;

/* In the order of MediaArgs' fields (media_option() relies on it). */
enum {
        ARG_MEDIA_VIDEO = 0x1100,
        ARG_MEDIA_AUDIO,
        ARG_MEDIA_ORIGIN,
        ARG_MEDIA_REASON,
};

/* The options of a request, in the getopt table of get and record (snapshot takes all but --audio). */
#define MEDIA_OPTIONS                                                           \
        { "video", required_argument, NULL, ARG_MEDIA_VIDEO },                  \
        { "audio", required_argument, NULL, ARG_MEDIA_AUDIO },                  \
        { "origin", required_argument, NULL, ARG_MEDIA_ORIGIN },                \
        { "reason", required_argument, NULL, ARG_MEDIA_REASON }

/* Apply one of MEDIA_OPTIONS to the MediaArgs userdata (a VerbSyntax.on_option). */
int media_option(int c, const char *arg, void *userdata);

/* Build {"video": ..., "audio": ...} from the arguments, request it and wait for the decision.
 * On failure err says why (a SyntaxError for an argument that is not one JSON value). */
int media_request(MgClient *client, const MediaArgs *args, MgRequest **ret, MgError *err);
/* The request's first track of a kind ("audio", "video"), or NULL. */
MgTrack *media_request_find_track(const MgRequest *req, const char *kind);
/* getSettings() as JavaScript spells it, and a track as {kind, label, device_id, ..., settings}. */
json_object *track_settings_to_json(const MgTrack *t);
json_object *track_to_json(const MgTrack *t);
/* "video: LABEL" and one indented "name  value" line per setting. */
void print_track(const MgTrack *t, FILE *f);
/* A getUserMedia failure: the usual line on stderr, and with json also
 * {"error", "message", "constraint"} on stdout. Returns EXIT_FAILURE. */
int print_media_error(const MgError *err, int r, bool json);

/* ---- admin.c: calls to the Admin interface ---- */

typedef enum OptionType {
        OPTION_STRING,
        OPTION_U32,
        OPTION_U64,
        OPTION_BOOL,
        OPTION_STRV,
} OptionType;

/* One key of an a{sv} of options; only those with set are sent. */
typedef struct BusOption {
        const char *key;
        OptionType type;
        bool set;
        const char *string;
        uint32_t u32;
        uint64_t u64;
        bool boolean;
        char **strv;
} BusOption;

int admin_new_call(MgClient *client, const char *member, sd_bus_message **ret);
/* For the entries of bus_dict_read() (bus-dict.h) that mediactl reads leniently, as the API asks
 * of readers: the result of a bus_read_*_variant() call as the entry's return value, where a
 * value of another type than expected (-ENXIO, nothing read) is skipped. */
static inline int read_known_variant(int r) {
        return r == -ENXIO ? 0 : r < 0 ? r : 1;
}
int append_options(sd_bus_message *m, const BusOption *options, size_t n);
/* Call with interactive authorization allowed; prints the error and returns it on failure. */
int admin_call(MgClient *client, sd_bus_message *m, sd_bus_message **ret_reply);
/* An a{sv} whose values are strings, as KEY, VALUE pairs; with strv_key, that key's "as" value
 * into *ret_strv. Other shapes are skipped. */
int read_string_dict(sd_bus_message *m, const char *strv_key, char ***ret_pairs, char ***ret_strv);
json_object *strv_to_json(char *const *l);
/* 0 for "camera" or "microphone"; otherwise says so and returns -EINVAL. */
int parse_kind(const char *s, bool allow_all);
int verb_grants(Context *ctx, int argc, char *argv[]);
int verb_history(Context *ctx, int argc, char *argv[]);
int verb_policy(Context *ctx, int argc, char *argv[]);
/* history.c: --since as CLOCK_REALTIME µs ("2h" ago, "today", "2024-05-01 12:30", "@SECONDS"). */
int parse_since(const char *s, uint64_t now_realtime_usec, uint64_t *ret);

/* ---- state.c: the Manager's indicator properties (status, monitor, indicator) ---- */

typedef struct StateClient {
        char *app_id, *origin, *kind, *unique_name; /* kind: "camera" or "microphone" */
        bool accessible, live; /* both false: its tracks ended, listed while the indicator holds */
        /* from ClientDetails, when the daemon has it */
        char *process;        /* NULL: unknown */
        uint32_t pid, uid;    /* pid 0: unknown */
        bool have_uid;
        uint64_t since_usec;  /* CLOCK_REALTIME; 0: unknown */
} StateClient;

typedef struct IndicatorState {
        bool known; /* read from a running daemon */
        bool camera_accessible, camera_live, camera_muted;
        bool microphone_accessible, microphone_live, microphone_muted;
        StateClient *clients;
        size_t n_clients;
} IndicatorState;

void indicator_state_clear(IndicatorState *s);
/* Apply an a{sv} of Manager properties (GetAll's reply, PropertiesChanged's changed ones);
 * unknown names are skipped. The names applied are appended to *changed when it is given. */
int indicator_state_update(IndicatorState *s, sd_bus_message *m, char ***changed);
/* Every property, with GetAll. On failure s is unchanged and e says why. */
int indicator_state_read(sd_bus *bus, IndicatorState *s, sd_bus_error *e);
/* "off", "accessible" or "live". */
const char *indicator_kind_state(bool accessible, bool live);
/* The same for an app: "accessible", "live", or "ended" for an entry the indicator still holds. */
const char *state_client_state(const StateClient *c);
/* The user name of c's uid, else the number; "" when unknown. */
char *state_client_user(const StateClient *c);
json_object *indicator_state_to_json(const IndicatorState *s);
/* "camera: live  microphone: off  apps: host:/usr/bin/foo (camera, live)" and a newline. */
void indicator_state_print_line(const IndicatorState *s, FILE *f);

/* ---- pixels.c: video frames (YUYV, NV12) for files ---- */

/* Bytes a frame of this format occupies in its slot; 0 for a format mediactl cannot read. */
size_t video_frame_min_size(const MgStreamFormat *f);
/* width * height * 3 bytes of RGB (BT.601 limited range). -EOPNOTSUPP for another format,
 * -EBADMSG for a frame shorter than its format says. */
int video_frame_to_rgb(const MgStreamFormat *f, const uint8_t *data, size_t bytes, uint8_t *rgb);
/* Y4M's chroma name for the planar form ("422" for YUYV, "420" for NV12), NULL if none. */
const char *video_y4m_chroma(const MgStreamFormat *f);
/* Size of the planar frame (Y, then U, then V plane; chroma widths and heights rounded up). */
size_t video_planar_size(const MgStreamFormat *f);
int video_frame_to_planar(const MgStreamFormat *f, const uint8_t *data, size_t bytes, uint8_t *out);
/* A frame rate as Y4M's F<num>:<den> (30:1, 30000:1001, 15:2); 0:0 when unknown. */
void frame_rate_to_fraction(double fps, uint32_t *ret_num, uint32_t *ret_den);

/* ---- output.c ---- */

/* "mediactl: <ErrorName>: <message>" on stderr; returns EXIT_FAILURE. */
int print_error(const MgError *err, int r);
/* The same for local failures named after the errno ("System.Error.ENOENT"). */
int print_errno(int r, const char *context);
/* Pretty JSON and a newline on stdout; consumes o. Returns an exit code. */
int print_json(json_object *o);
/* Compact JSON on one line on stdout, flushed (for streams of events); consumes o. Returns 0 or
 * a negative errno. */
int print_json_line(json_object *o);
/* Fill err for a failure mediactl finds itself; returns error (a negative errno). */
int set_error(MgError *err, int error, const char *name, const char *format, ...) _printf_(4, 5);
/* The same, named after the errno ("System.Error.ETIMEDOUT"), as print_errno() names it. */
int set_error_errno(MgError *err, int error, const char *format, ...) _printf_(3, 4);
/* A failed D-Bus call to mediagated, named as libmediagate names errors; returns EXIT_FAILURE. */
int print_bus_error(const sd_bus_error *e, int r);
/* json_object_object_add()/json_object_array_add() that take value in every case (NULL counts
 * as out of memory) and return 0 or -ENOMEM. */
int json_add(json_object *o, const char *key, json_object *value);
int json_add_string(json_object *o, const char *key, const char *value);
int json_append(json_object *array, json_object *value);
/* A copy fit for a terminal, as sanitize.h makes it: valid UTF-8 without control characters
 * (escape sequences go, line breaks become spaces) and without bidirectional or invisible format
 * characters. Strings from devices and other programs go through it before they are printed. */
char *terminal_safe(const char *s);
json_object *capability_to_json(const MgCapability *cap);
/* s with &, < and > as entities, for the markup of notification bodies and tray tooltips: what
 * other programs named is shown as text. */
void fput_markup_escaped(FILE *f, const char *s);

/* "2024-05-01 12:00:01.234" in local time, or with iso "2024-05-01T12:00:01.234+0200". */
void format_realtime(uint64_t realtime_usec, bool iso, char *buf, size_t size);

/* A text table: the widths follow the widest cell; control characters are shown as '?'. */
typedef struct Table Table;
Table *table_new(size_t n_columns, const char *const *headers);
Table *table_free(Table *t);
int table_add_row(Table *t, const char *const *cells);
int table_print(Table *t, FILE *f);

/* The end of a listing command: with json the array (taken), else the table, or empty_text when
 * there are no rows. Returns the exit status. */
int print_listing(bool json, json_object *array, Table *t, size_t n_rows, const char *empty_text);

DEFINE_CLEANUP_FUNC(MgClient, mg_client_unref);
DEFINE_CLEANUP_FUNC(MgDeviceList, mg_device_list_free);
DEFINE_CLEANUP_FUNC(Table, table_free);
DEFINE_CLEANUP_FUNC(MgRequest, mg_request_unref);
DEFINE_CLEANUP_FUNC(MgTrack, mg_track_unref);
DEFINE_CLEANUP_FUNC(MgStream, mg_stream_free);
DEFINE_CLEANUP_FUNC(MgConstraints, mg_constraints_free);
DEFINE_CLEANUP_FUNC(json_object, json_object_put);
