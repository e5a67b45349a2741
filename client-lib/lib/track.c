/* MediaStreamTrack: the Track object's properties as the app sees them, kept current from
 * PropertiesChanged and Ended, and its methods Stop, SetEnabled and ApplyConstraints. */
#include "track.h"

#include <math.h>

#include "capabilities.h"
#include "client.h"
#include "constraints.h"
#include "mediagate-names.h"

#define DBUS_PROPERTIES "org.freedesktop.DBus.Properties"

static void settings_point_strings(MgTrack *t) {
        t->settings.resize_mode = strempty(t->settings_resize_mode);
        t->settings.facing_mode = strempty(t->settings_facing_mode);
        t->settings.device_id = strempty(t->settings_device_id);
        t->settings.group_id = strempty(t->settings_group_id);
}

static void settings_reset(MgTrack *t) {
        free(t->settings_resize_mode);
        free(t->settings_facing_mode);
        free(t->settings_device_id);
        free(t->settings_group_id);
        t->settings_resize_mode = t->settings_facing_mode = t->settings_device_id = t->settings_group_id = NULL;
        t->settings = (MgTrackSettings) {
                .echo_cancellation = -1,
                .auto_gain_control = -1,
                .noise_suppression = -1,
        };
        settings_point_strings(t);
}

int track_new(MgClient *c, const char *path, MgTrack **ret) {
        MgTrack *t;

        t = calloc(1, sizeof(MgTrack));
        if (!t)
                return -ENOMEM;
        t->path = strdup(path);
        if (!t->path) {
                free(t);
                return -ENOMEM;
        }
        t->n_ref = 1;
        t->client = mg_client_ref(c);
        t->enabled = true;
        settings_reset(t);
        LIST_PREPEND(tracks, c->tracks, t);
        *ret = t;
        return 0;
}

void track_send_stop(sd_bus *bus, const char *path) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        /* Fire and forget: the track may be gone already, and nobody waits for the answer. */
        if (sd_bus_message_new_method_call(bus, &m, MG_BUS_NAME, path, MG_IFACE_TRACK, "Stop") < 0)
                return;
        if (sd_bus_message_set_expect_reply(m, 0) < 0)
                return;
        (void) sd_bus_send(bus, m, NULL);
}

MgTrack *mg_track_ref(MgTrack *t) {
        if (t)
                t->n_ref++;
        return t;
}

MgTrack *mg_track_unref(MgTrack *t) {
        if (!t || --t->n_ref > 0)
                return NULL;

        /* Nobody can stop it any more: do it now instead of when the connection closes. */
        if (!t->ended && !t->stopped)
                track_send_stop(t->client->bus, t->path);
        sd_bus_slot_unref(t->load_slot);
        LIST_REMOVE(tracks, t->client->tracks, t);
        free(t->path);
        free(t->kind);
        free(t->device_id);
        free(t->label);
        free(t->group_id);
        settings_reset(t);
        capabilities_free(t->capabilities, t->n_capabilities);
        free(t->ended_reason);
        mg_client_unref(t->client);
        free(t);
        return NULL;
}

static uint32_t number_to_u32(double v) {
        if (!(v > 0))
                return 0;
        if (v >= (double) UINT32_MAX)
                return UINT32_MAX;
        return (uint32_t) lround(v);
}

/* The Settings being read: a fresh copy, so that a malformed dictionary leaves the old
 * settings untouched. */
typedef struct SettingsRead {
        MgTrackSettings s;
        char *resize_mode, *facing_mode, *device_id, *group_id;
} SettingsRead;

static const struct {
        const char *key;
        size_t offset;
} settings_u32_keys[] = {
        { "width", offsetof(MgTrackSettings, width) },
        { "height", offsetof(MgTrackSettings, height) },
        { "sampleRate", offsetof(MgTrackSettings, sample_rate) },
        { "sampleSize", offsetof(MgTrackSettings, sample_size) },
        { "channelCount", offsetof(MgTrackSettings, channel_count) },
}, settings_double_keys[] = {
        { "frameRate", offsetof(MgTrackSettings, frame_rate) },
        { "aspectRatio", offsetof(MgTrackSettings, aspect_ratio) },
        { "latency", offsetof(MgTrackSettings, latency) },
}, settings_bool_keys[] = {
        { "echoCancellation", offsetof(MgTrackSettings, echo_cancellation) },
        { "autoGainControl", offsetof(MgTrackSettings, auto_gain_control) },
        { "noiseSuppression", offsetof(MgTrackSettings, noise_suppression) },
};

static int read_setting(sd_bus_message *m, const char *key, void *userdata) {
        SettingsRead *sr = userdata;
        uint8_t *base = (uint8_t *) &sr->s;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(settings_u32_keys); i++)
                if (streq(key, settings_u32_keys[i].key)) {
                        uint32_t u;
                        double v;

                        r = bus_read_number_variant(m, &v, NULL);
                        if (r < 0)
                                return r;
                        u = number_to_u32(v);
                        memcpy(base + settings_u32_keys[i].offset, &u, sizeof(u));
                        return 1;
                }
        for (size_t i = 0; i < ELEMENTSOF(settings_double_keys); i++)
                if (streq(key, settings_double_keys[i].key)) {
                        double v;

                        r = bus_read_number_variant(m, &v, NULL);
                        if (r < 0)
                                return r;
                        memcpy(base + settings_double_keys[i].offset, &v, sizeof(v));
                        return 1;
                }
        for (size_t i = 0; i < ELEMENTSOF(settings_bool_keys); i++)
                if (streq(key, settings_bool_keys[i].key)) {
                        int b;

                        r = bus_read_typed_variant(m, "b", &b);
                        if (r < 0)
                                return r;
                        b = !!b;
                        memcpy(base + settings_bool_keys[i].offset, &b, sizeof(b));
                        return 1;
                }

        if (streq(key, "resizeMode"))
                r = bus_read_string_variant(m, &sr->resize_mode);
        else if (streq(key, "facingMode"))
                r = bus_read_string_variant(m, &sr->facing_mode);
        else if (streq(key, "deviceId"))
                r = bus_read_string_variant(m, &sr->device_id);
        else if (streq(key, "groupId"))
                r = bus_read_string_variant(m, &sr->group_id);
        else
                return 0;
        return r < 0 ? r : 1;
}

/* Settings a{sv} (in a variant at the current position), as getSettings() gives them. */
static int settings_read(MgTrack *t, sd_bus_message *m, MgError *err) {
        SettingsRead sr = {
                .s = {
                        .echo_cancellation = -1,
                        .auto_gain_control = -1,
                        .noise_suppression = -1,
                },
        };
        const char *key;
        int r;

        r = sd_bus_message_enter_container(m, 'v', "a{sv}");
        if (r == -ENXIO)
                return error_set_protocol(err, "track Settings is not an a{sv}");
        if (r < 0)
                return error_set_protocol(err, "cannot read track Settings: %s", strerror(-r));
        r = bus_dict_read(m, read_setting, &sr, &key);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0) {
                free(sr.resize_mode);
                free(sr.facing_mode);
                free(sr.device_id);
                free(sr.group_id);
                if (r == -ENOMEM && key)
                        return error_set_errno(err, r, NULL);
                if (key)
                        return error_set_protocol(err, "track setting '%s' has the wrong type", key);
                return error_set_protocol(err, "cannot read track Settings: %s", strerror(-r));
        }

        settings_reset(t);
        t->settings = sr.s;
        t->settings_resize_mode = sr.resize_mode;
        t->settings_facing_mode = sr.facing_mode;
        t->settings_device_id = sr.device_id;
        t->settings_group_id = sr.group_id;
        settings_point_strings(t);
        return 0;
}

static int read_bool_property(sd_bus_message *m, bool *ret) {
        int b, r;

        r = bus_read_typed_variant(m, "b", &b);
        if (r < 0)
                return r;
        *ret = b;
        return 0;
}

static int read_capabilities_property(MgTrack *t, sd_bus_message *m) {
        MgCapability *caps = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'v', "a{sv}");
        if (r < 0)
                return r;
        r = bus_read_capabilities(m, &caps, &n);
        if (r < 0)
                return r;
        capabilities_free(t->capabilities, t->n_capabilities);
        t->capabilities = caps;
        t->n_capabilities = n;
        return sd_bus_message_exit_container(m);
}

/* Reading the properties of a track: Settings reports its own errors into err. */
typedef struct PropertiesRead {
        MgTrack *track;
        MgError *err;
        bool err_set;
} PropertiesRead;

static int read_property(sd_bus_message *m, const char *key, void *userdata) {
        PropertiesRead *pr = userdata;
        MgTrack *t = pr->track;
        int r;

        if (streq(key, "Kind"))
                r = bus_read_string_variant(m, &t->kind);
        else if (streq(key, "DeviceId"))
                r = bus_read_string_variant(m, &t->device_id);
        else if (streq(key, "Label"))
                r = bus_read_string_variant(m, &t->label);
        else if (streq(key, "GroupId"))
                r = bus_read_string_variant(m, &t->group_id);
        else if (streq(key, "Muted"))
                r = read_bool_property(m, &t->muted);
        else if (streq(key, "Enabled"))
                r = read_bool_property(m, &t->enabled);
        else if (streq(key, "ReadyState")) {
                const char *state;

                r = bus_read_typed_variant(m, "s", &state);
                /* Ended (with its reason) may arrive after this; the callback waits for it. */
                if (r >= 0 && streq(state, "ended"))
                        t->ended = true;
        } else if (streq(key, "Settings")) {
                r = settings_read(t, m, pr->err);
                pr->err_set = r < 0;
        } else if (streq(key, "Capabilities"))
                r = read_capabilities_property(t, m);
        else
                return 0;
        return r < 0 ? r : 1;
}

int track_update_properties(MgTrack *t, sd_bus_message *m, MgError *err) {
        PropertiesRead pr = { .track = t, .err = err };
        const char *key;
        int r;

        r = bus_dict_read(m, read_property, &pr, &key);
        if (r >= 0)
                return 0;
        if (pr.err_set)
                return r;
        if (r == -ENOMEM && key)
                return error_set_errno(err, r, NULL);
        if (key)
                return error_set_protocol(err, "track property '%s' is malformed", key);
        return error_set_protocol(err, "cannot read track properties: %s", strerror(-r));
}

static int on_get_all(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(mg_error_clear) MgError e = MG_ERROR_INIT;
        MgTrack *t = userdata;
        track_loaded_t loaded = t->loaded;
        void *loaded_userdata = t->loaded_userdata;
        int r;

        t->load_slot = sd_bus_slot_unref(t->load_slot);
        t->loaded = NULL;
        t->loaded_userdata = NULL;

        if (sd_bus_message_is_method_error(m, NULL))
                r = error_set_bus(&e, sd_bus_message_get_error(m), -sd_bus_message_get_errno(m));
        else
                r = track_update_properties(t, m, &e);
        if (r >= 0 && isempty(t->kind))
                r = error_set_protocol(&e, "track %s has no Kind", t->path);

        /* May drop the last reference to t when the request fails. */
        if (loaded)
                loaded(t, r, &e, loaded_userdata);
        return 0;
}

int track_load(MgTrack *t, track_loaded_t loaded, void *userdata) {
        int r;

        r = sd_bus_call_method_async(t->client->bus, &t->load_slot, MG_BUS_NAME, t->path, DBUS_PROPERTIES,
                                     "GetAll", on_get_all, t, "s", MG_IFACE_TRACK);
        if (r < 0)
                return r;
        t->loaded = loaded;
        t->loaded_userdata = userdata;
        return 0;
}

void track_cancel_load(MgTrack *t, void *userdata) {
        if (!t->loaded || t->loaded_userdata != userdata)
                return;
        t->load_slot = sd_bus_slot_unref(t->load_slot);
        t->loaded = NULL;
        t->loaded_userdata = NULL;
}

void track_mark_ended(MgTrack *t, const char *reason) {
        if (t->ended_notified)
                return;
        t->ended = true;
        t->ended_notified = true;
        if (t->stopped)
                return; /* stop() fires no `ended` */
        free(t->ended_reason);
        t->ended_reason = strdup(reason);

        if (t->ended_callback) {
                mg_track_ref(t);
                t->ended_callback(t, t->ended_reason ?: reason, t->ended_userdata);
                mg_track_unref(t);
        }
}

void tracks_mark_ended(MgClient *c, const char *reason) {
        /* Callbacks may drop tracks, so look for the next one from the start. */
        for (;;) {
                MgTrack *t;

                for (t = c->tracks; t && t->ended; t = t->tracks_next)
                        ;
                if (!t)
                        break;
                track_mark_ended(t, reason);
        }
}

static MgTrack *track_find(MgClient *c, const char *path) {
        for (MgTrack *t = c->tracks; t; t = t->tracks_next)
                if (streq(t->path, path))
                        return t;
        return NULL;
}

void track_on_ended_signal(MgClient *c, const char *path, const char *reason) {
        MgTrack *t = track_find(c, path);

        if (t)
                track_mark_ended(t, reason);
}

void track_on_properties_signal(MgClient *c, const char *path, sd_bus_message *m) {
        MgTrack *t = track_find(c, path);

        if (t)
                (void) track_update_properties(t, m, NULL);
}

const char *mg_track_get_path(const MgTrack *t) {
        return t ? t->path : "";
}

const char *mg_track_get_kind(const MgTrack *t) {
        return t ? strempty(t->kind) : "";
}

const char *mg_track_get_device_id(const MgTrack *t) {
        return t ? strempty(t->device_id) : "";
}

const char *mg_track_get_label(const MgTrack *t) {
        return t ? strempty(t->label) : "";
}

const char *mg_track_get_group_id(const MgTrack *t) {
        return t ? strempty(t->group_id) : "";
}

const MgTrackSettings *mg_track_get_settings(const MgTrack *t) {
        return t ? &t->settings : NULL;
}

size_t mg_track_get_n_capabilities(const MgTrack *t) {
        return t ? t->n_capabilities : 0;
}

const MgCapability *mg_track_get_capability(const MgTrack *t, size_t i) {
        if (!t || i >= t->n_capabilities)
                return NULL;
        return t->capabilities + i;
}

bool mg_track_is_muted(const MgTrack *t) {
        return t && t->muted;
}

bool mg_track_is_enabled(const MgTrack *t) {
        return t && t->enabled;
}

bool mg_track_is_ended(const MgTrack *t) {
        return t && (t->ended || t->stopped);
}

const char *mg_track_get_ended_reason(const MgTrack *t) {
        if (!t || t->stopped || !t->ended_notified)
                return NULL;
        return t->ended_reason ?: "unknown";
}

int mg_track_set_ended_callback(MgTrack *t, MgTrackEndedCallback callback, void *userdata) {
        if (!t)
                return -EINVAL;
        t->ended_callback = callback;
        t->ended_userdata = userdata;
        return 0;
}

static int track_call(MgTrack *t, sd_bus_message *m, MgError *err) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call(t->client->bus, m, 0, &error, NULL);
        if (r < 0)
                return error_set_bus(err, &error, r);
        mg_error_clear(err);
        return 0;
}

static int track_new_call(MgTrack *t, const char *method, sd_bus_message **ret, MgError *err) {
        int r;

        r = sd_bus_message_new_method_call(t->client->bus, ret, MG_BUS_NAME, t->path, MG_IFACE_TRACK, method);
        if (r < 0)
                return error_set_errno(err, r, "Failed to build the track method call");
        return 0;
}

int mg_track_stop(MgTrack *t, MgError *err) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (!t)
                return error_set_errno(err, -EINVAL, NULL);
        /* Ended by the daemon, or stopped before: nothing left to release. */
        if (t->stopped || t->ended) {
                t->stopped = true;
                mg_error_clear(err);
                return 0;
        }
        r = sd_bus_call_method(t->client->bus, MG_BUS_NAME, t->path, MG_IFACE_TRACK, "Stop", &error, NULL, "");
        /* UnknownObject: the daemon dropped it already; stopped is what the app wanted. */
        if (r < 0 && !sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_OBJECT))
                return error_set_bus(err, &error, r);
        t->stopped = true;
        t->ended = true;
        mg_error_clear(err);
        return 0;
}

int mg_track_set_enabled(MgTrack *t, bool enabled, MgError *err) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (!t)
                return error_set_errno(err, -EINVAL, NULL);
        r = track_new_call(t, "SetEnabled", &m, err);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "b", (int) enabled);
        if (r < 0)
                return error_set_errno(err, r, "Failed to build SetEnabled()");
        r = track_call(t, m, err);
        if (r < 0)
                return r;
        t->enabled = enabled;
        return 0;
}

int mg_track_apply_constraints(MgTrack *t, const char *json, MgError *err) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_object_putp) json_object *object = NULL;
        int r;

        if (!t)
                return error_set_errno(err, -EINVAL, NULL);
        r = constraints_parse_json(json, &object, err);
        if (r < 0)
                return r;
        r = constraints_append_json(NULL, object, err);
        if (r < 0)
                return r;

        r = track_new_call(t, "ApplyConstraints", &m, err);
        if (r < 0)
                return r;
        r = constraints_append_json(m, object, err);
        if (r < 0)
                return r;
        r = track_call(t, m, err);
        if (r < 0)
                return r;

        /* The new settings, without waiting for PropertiesChanged. */
        r = sd_bus_call_method(t->client->bus, MG_BUS_NAME, t->path, DBUS_PROPERTIES, "Get", &error, &reply, "ss",
                               MG_IFACE_TRACK, "Settings");
        if (r < 0)
                return error_set_bus(err, &error, r);
        return settings_read(t, reply, err);
}
