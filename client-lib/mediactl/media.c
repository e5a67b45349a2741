/* getUserMedia from the command line, shared by get, snapshot and record: constraints from the
 * --video/--audio JSON arguments, the request and its wait, and how tracks and settings are shown. */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>

#include "mediactl.h"

/* One JSON value and nothing after it, so that `--video 'true, "audio": true'` cannot smuggle
 * a second member into the dictionary. */
static int parse_json_argument(const char *option, const char *text, json_object **ret, MgError *err) {
        json_tokener *tok;
        json_object *o;
        enum json_tokener_error e;
        size_t consumed;

        tok = json_tokener_new();
        if (!tok)
                return set_error(err, -ENOMEM, "System.Error.ENOMEM", "Out of memory");
        /* With the terminating NUL, so that a bare number or literal ("true", "30") ends. */
        o = json_tokener_parse_ex(tok, text, (int) strlen(text) + 1);
        e = json_tokener_get_error(tok);
        consumed = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);

        if (e == json_tokener_continue)
                return set_error(err, -EINVAL, "SyntaxError", "%s: the JSON value is incomplete", option);
        if (e != json_tokener_success)
                return set_error(err, -EINVAL, "SyntaxError", "%s: %s at offset %zu", option,
                                 json_tokener_error_desc(e), consumed);
        for (const char *p = text + MIN(consumed, strlen(text)); *p; p++)
                if (!strchr(" \t\r\n", *p)) {
                        json_object_put(o);
                        return set_error(err, -EINVAL, "SyntaxError", "%s: unexpected text after the JSON value at offset %zu",
                                         option, (size_t) (p - text));
                }
        /* JSON null parses to NULL; JavaScript rejects it too, but with a TypeError. */
        if (!o)
                return set_error(err, -EINVAL, "TypeError", "%s: null is not a valid value", option);
        *ret = o;
        return 0;
}

static int build_constraints(const MediaArgs *args, MgConstraints **ret, MgError *err) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        const struct {
                const char *name, *option, *text;
        } members[] = {
                { "video", "--video", args->video },
                { "audio", "--audio", args->audio },
        };
        int r;

        root = json_object_new_object();
        if (!root)
                return set_error(err, -ENOMEM, "System.Error.ENOMEM", "Out of memory");
        for (size_t i = 0; i < ELEMENTSOF(members); i++) {
                json_object *value = NULL;

                if (!members[i].text)
                        continue;
                r = parse_json_argument(members[i].option, members[i].text, &value, err);
                if (r < 0)
                        return r;
                if (json_add(root, members[i].name, value) < 0)
                        return set_error(err, -ENOMEM, "System.Error.ENOMEM", "Out of memory");
        }
        /* libmediagate checks the shapes and names what is wrong, as JavaScript would. */
        return mg_constraints_new_from_json(ret, json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN), err);
}

int media_option(int c, const char *arg, void *userdata) {
        MediaArgs *a = userdata;
        /* In the order of ARG_MEDIA_*: each option sets its field. */
        const char **fields[] = { &a->video, &a->audio, &a->origin, &a->reason };

        if (c < ARG_MEDIA_VIDEO || c > ARG_MEDIA_REASON)
                return -EINVAL;
        *fields[c - ARG_MEDIA_VIDEO] = arg;
        return 0;
}

int media_request(MgClient *client, const MediaArgs *args, MgRequest **ret, MgError *err) {
        _cleanup_(mg_constraints_freep) MgConstraints *constraints = NULL;
        _cleanup_(mg_request_unrefp) MgRequest *req = NULL;
        MgRequestOptions options = {
                .origin = args->origin,
                .reason = args->reason,
        };
        int r;

        r = build_constraints(args, &constraints, err);
        if (r < 0)
                return r;
        r = mg_client_get_user_media(client, constraints, &options, &req, err);
        if (r < 0)
                return r;
        /* The user may take as long as they like to answer; Ctrl-C gives up (and the daemon
         * cancels the request when we leave the bus). */
        r = mg_request_wait(req, MG_WAIT_FOREVER, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(req);
        return 0;
}

MgTrack *media_request_find_track(const MgRequest *req, const char *kind) {
        for (size_t i = 0; i < mg_request_get_n_tracks(req); i++) {
                MgTrack *t = mg_request_get_track(req, i);

                if (streq(mg_track_get_kind(t), kind))
                        return t;
        }
        return NULL;
}

/* One row of a settings table: how a value of MgTrackSettings is named and read. */
typedef enum SettingType {
        SETTING_U32,
        SETTING_DOUBLE,
        SETTING_STRING,
        SETTING_BOOLEAN,
} SettingType;

typedef struct Setting {
        const char *name; /* as getSettings() names it */
        SettingType type;
        size_t offset;
} Setting;

static const Setting video_settings[] = {
        { "width", SETTING_U32, offsetof(MgTrackSettings, width) },
        { "height", SETTING_U32, offsetof(MgTrackSettings, height) },
        { "frameRate", SETTING_DOUBLE, offsetof(MgTrackSettings, frame_rate) },
        { "aspectRatio", SETTING_DOUBLE, offsetof(MgTrackSettings, aspect_ratio) },
        { "resizeMode", SETTING_STRING, offsetof(MgTrackSettings, resize_mode) },
        { "facingMode", SETTING_STRING, offsetof(MgTrackSettings, facing_mode) },
        { "deviceId", SETTING_STRING, offsetof(MgTrackSettings, device_id) },
        { "groupId", SETTING_STRING, offsetof(MgTrackSettings, group_id) },
};

static const Setting audio_settings[] = {
        { "sampleRate", SETTING_U32, offsetof(MgTrackSettings, sample_rate) },
        { "sampleSize", SETTING_U32, offsetof(MgTrackSettings, sample_size) },
        { "channelCount", SETTING_U32, offsetof(MgTrackSettings, channel_count) },
        { "latency", SETTING_DOUBLE, offsetof(MgTrackSettings, latency) },
        { "echoCancellation", SETTING_BOOLEAN, offsetof(MgTrackSettings, echo_cancellation) },
        { "autoGainControl", SETTING_BOOLEAN, offsetof(MgTrackSettings, auto_gain_control) },
        { "noiseSuppression", SETTING_BOOLEAN, offsetof(MgTrackSettings, noise_suppression) },
        { "deviceId", SETTING_STRING, offsetof(MgTrackSettings, device_id) },
        { "groupId", SETTING_STRING, offsetof(MgTrackSettings, group_id) },
};

static const Setting *settings_table(const MgTrack *t, size_t *ret_n) {
        if (streq(mg_track_get_kind(t), "video")) {
                *ret_n = ELEMENTSOF(video_settings);
                return video_settings;
        }
        *ret_n = ELEMENTSOF(audio_settings);
        return audio_settings;
}

#define SETTING_FIELD(s, setting, type) (*(const type *) ((const uint8_t *) (s) + (setting)->offset))

json_object *track_settings_to_json(const MgTrack *t) {
        const MgTrackSettings *s = mg_track_get_settings(t);
        const Setting *table;
        json_object *o;
        size_t n;

        o = json_object_new_object();
        if (!o)
                return NULL;
        table = settings_table(t, &n);
        for (size_t i = 0; i < n; i++) {
                const Setting *setting = &table[i];
                json_object *value = NULL;
                int b;

                switch (setting->type) {
                case SETTING_U32:
                        value = json_object_new_int64(SETTING_FIELD(s, setting, uint32_t));
                        break;
                case SETTING_DOUBLE:
                        value = json_object_new_double(SETTING_FIELD(s, setting, double));
                        break;
                case SETTING_STRING:
                        value = json_object_new_string(SETTING_FIELD(s, setting, const char *));
                        break;
                case SETTING_BOOLEAN:
                        b = SETTING_FIELD(s, setting, int);
                        if (b < 0)
                                continue; /* the track does not have it */
                        value = json_object_new_boolean(b);
                        break;
                }
                if (json_add(o, setting->name, value) < 0) {
                        json_object_put(o);
                        return NULL;
                }
        }
        return o;
}

json_object *track_to_json(const MgTrack *t) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (json_add_string(o, "kind", mg_track_get_kind(t)) < 0 ||
            json_add_string(o, "label", mg_track_get_label(t)) < 0 ||
            json_add_string(o, "device_id", mg_track_get_device_id(t)) < 0 ||
            json_add_string(o, "group_id", mg_track_get_group_id(t)) < 0 ||
            json_add(o, "muted", json_object_new_boolean(mg_track_is_muted(t))) < 0 ||
            json_add(o, "settings", track_settings_to_json(t)) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

void print_track(const MgTrack *t, FILE *f) {
        const MgTrackSettings *s = mg_track_get_settings(t);
        _cleanup_free_ char *label = terminal_safe(mg_track_get_label(t));
        const Setting *table;
        size_t n;

        fprintf(f, "%s: %s%s\n", mg_track_get_kind(t), strempty(label), mg_track_is_muted(t) ? " (muted)" : "");
        table = settings_table(t, &n);
        for (size_t i = 0; i < n; i++) {
                const Setting *setting = &table[i];
                int b;

                fprintf(f, "  %-18s", setting->name);
                switch (setting->type) {
                case SETTING_U32:
                        fprintf(f, "%" PRIu32 "\n", SETTING_FIELD(s, setting, uint32_t));
                        break;
                case SETTING_DOUBLE:
                        fprintf(f, "%.6g\n", SETTING_FIELD(s, setting, double));
                        break;
                case SETTING_STRING: {
                        _cleanup_free_ char *v = terminal_safe(SETTING_FIELD(s, setting, const char *));

                        fprintf(f, "%s\n", isempty(v) ? "-" : v);
                        break;
                }
                case SETTING_BOOLEAN:
                        b = SETTING_FIELD(s, setting, int);
                        fprintf(f, "%s\n", b < 0 ? "-" : b ? "yes" : "no");
                        break;
                }
        }
}

int print_media_error(const MgError *err, int r, bool json) {
        if (json) {
                json_object *o = json_object_new_object();

                if (o &&
                    (json_add_string(o, "error", err->name ?: "System.Error") < 0 ||
                     json_add_string(o, "message", err->message) < 0 ||
                     (err->constraint && json_add_string(o, "constraint", err->constraint) < 0))) {
                        json_object_put(o);
                        o = NULL;
                }
                (void) print_json(o);
        }
        (void) print_error(err, r);
        if (err->constraint)
                fprintf(stderr, "mediactl: the failing constraint is %s\n",
                        isempty(err->constraint) ? "not revealed before access is granted" : err->constraint);
        return EXIT_FAILURE;
}
