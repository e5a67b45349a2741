/* What getSettings() and getCapabilities() show, as plain C dictionaries (constraints-settings.h). */
#include "constraints-settings.h"

#include <assert.h>
#include <math.h>

#include "util.h"

static SettingsEntry *add(SettingsDict *d, const char *key, SettingsEntryType type) {
        SettingsEntry *e;

        assert(d->n < SETTINGS_DICT_MAX);
        e = &d->entries[d->n++];
        *e = (SettingsEntry) { .key = key, .type = type };
        return e;
}

static void add_u32(SettingsDict *d, const char *key, uint32_t v) {
        add(d, key, SETTINGS_U32)->u32 = v;
}

static void add_double(SettingsDict *d, const char *key, double v) {
        add(d, key, SETTINGS_DOUBLE)->number = v;
}

static void add_string(SettingsDict *d, const char *key, const char *v) {
        add(d, key, SETTINGS_STRING)->string = v;
}

static void add_boolean(SettingsDict *d, const char *key, bool v) {
        add(d, key, SETTINGS_BOOLEAN)->boolean = v;
}

static void add_range_u32(SettingsDict *d, const char *key, uint32_t min, uint32_t max) {
        SettingsEntry *e = add(d, key, SETTINGS_RANGE_U32);

        e->range_u32.min = min;
        e->range_u32.max = max;
}

static void add_range_double(SettingsDict *d, const char *key, double min, double max) {
        SettingsEntry *e = add(d, key, SETTINGS_RANGE_DOUBLE);

        e->range_double.min = min;
        e->range_double.max = max;
}

/* Up to two strings (a NULL or empty one ends the list early). */
static void add_strings(SettingsDict *d, const char *key, const char *a, const char *b) {
        SettingsEntry *e = add(d, key, SETTINGS_STRINGS);

        if (isempty(a))
                return;
        e->strings.strings[e->strings.n++] = a;
        if (isempty(b))
                return;
        e->strings.strings[e->strings.n++] = b;
}

/* A boolean capability: [true, false] where the client may switch it on and off, [false] where
 * the device cannot do it (the spec's rules for boolean capabilities, in the order browsers
 * report them). */
static void add_boolean_capability(SettingsDict *d, const char *key, bool capable) {
        SettingsEntry *e = add(d, key, SETTINGS_BOOLEANS);

        if (capable)
                e->booleans.values[e->booleans.n++] = true;
        e->booleans.values[e->booleans.n++] = false;
}

/* The smallest and largest of a device's values, nothing when it lists none. */
static void add_range_of(SettingsDict *d, const char *key, const uint32_t *values, size_t n) {
        uint32_t lo = UINT32_MAX, hi = 0;

        if (n == 0)
                return;
        for (size_t i = 0; i < n; i++) {
                lo = MIN(lo, values[i]);
                hi = MAX(hi, values[i]);
        }
        add_range_u32(d, key, lo, hi);
}

static void add_ids(SettingsDict *d, const ConstraintCandidate *cand) {
        add_string(d, "deviceId", strempty(cand->device_id));
        add_string(d, "groupId", strempty(cand->group_id));
}

void selected_settings_describe(const SelectedSettings *s, const ConstraintCandidate *cand, SettingsDict *ret) {
        assert(s);
        assert(cand && cand->device);
        assert(ret);

        *ret = (SettingsDict) {};
        if (s->kind == DEVICE_KIND_VIDEO) {
                add_u32(ret, "width", s->width);
                add_u32(ret, "height", s->height);
                add_double(ret, "frameRate", s->frame_rate);
                add_double(ret, "aspectRatio", s->aspect_ratio);
                add_string(ret, "resizeMode", s->crop_and_scale ? "crop-and-scale" : "none");
                add_string(ret, "facingMode", strempty(cand->device->facing_mode));
        } else {
                add_u32(ret, "sampleRate", s->sample_rate);
                add_u32(ret, "sampleSize", s->sample_size);
                add_u32(ret, "channelCount", s->channel_count);
                add_double(ret, "latency", s->latency);
                add_boolean(ret, "echoCancellation", s->echo_cancellation);
                add_boolean(ret, "autoGainControl", s->auto_gain_control);
                add_boolean(ret, "noiseSuppression", s->noise_suppression);
        }
        add_ids(ret, cand);
}

static void describe_camera(const Device *d, SettingsDict *ret) {
        uint32_t max_w = 0, max_h = 0;
        double min_f = INFINITY, max_f = 0;

        for (size_t i = 0; i < d->n_modes; i++) {
                if (d->modes[i].width == 0 || d->modes[i].height == 0 || !(d->modes[i].frame_rate > 0))
                        continue;
                max_w = MAX(max_w, d->modes[i].width);
                max_h = MAX(max_h, d->modes[i].height);
                min_f = MIN(min_f, d->modes[i].frame_rate);
                max_f = MAX(max_f, d->modes[i].frame_rate);
        }
        if (max_w > 0) {
                add_range_u32(ret, "width", 1U, max_w);
                add_range_u32(ret, "height", 1U, max_h);
                add_range_double(ret, "frameRate", MIN(CONSTRAINTS_MIN_DECIMATED_FRAME_RATE, min_f), max_f);
                add_range_double(ret, "aspectRatio", aspect_ratio_round(1.0 / max_h), (double) max_w);
        }
        add_strings(ret, "facingMode", d->facing_mode, NULL);
        add_strings(ret, "resizeMode", "none", "crop-and-scale");
}

static void describe_microphone(const Device *d, SettingsDict *ret) {
        const AudioCapabilities *a = &d->audio;
        static const uint32_t default_sizes[] = { 16 };

        add_range_of(ret, "sampleRate", a->sample_rates, a->n_sample_rates);
        add_range_of(ret, "sampleSize", a->n_sample_sizes > 0 ? a->sample_sizes : default_sizes,
                     a->n_sample_sizes > 0 ? a->n_sample_sizes : 1);
        add_range_of(ret, "channelCount", a->channel_counts, a->n_channel_counts);
        add_range_double(ret, "latency", a->latency, a->latency);
        add_boolean_capability(ret, "echoCancellation", a->echo_cancellation);
        add_boolean_capability(ret, "autoGainControl", a->auto_gain_control);
        add_boolean_capability(ret, "noiseSuppression", a->noise_suppression);
}

void device_capabilities_describe(const ConstraintCandidate *cand, SettingsDict *ret) {
        assert(cand && cand->device);
        assert(ret);

        *ret = (SettingsDict) {};
        if (cand->device->kind == DEVICE_KIND_VIDEO)
                describe_camera(cand->device, ret);
        else
                describe_microphone(cand->device, ret);
        add_ids(ret, cand);
}
