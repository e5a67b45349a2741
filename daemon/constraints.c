/* The constrainable properties and the lifetime of parsed constraints (constraints.h). */
#include "constraints.h"

#include <assert.h>

#include "util.h"

#define KIND_AUDIO (1U << DEVICE_KIND_AUDIO)
#define KIND_VIDEO (1U << DEVICE_KIND_VIDEO)
#define KIND_ANY (KIND_AUDIO | KIND_VIDEO)

const ConstraintDef constraint_defs[_CONSTRAINT_MAX] = {
        [CONSTRAINT_DEVICE_ID] = { "deviceId", CONSTRAINT_TYPE_STRING, KIND_ANY },
        [CONSTRAINT_GROUP_ID] = { "groupId", CONSTRAINT_TYPE_STRING, KIND_ANY },
        [CONSTRAINT_FACING_MODE] = { "facingMode", CONSTRAINT_TYPE_STRING, KIND_VIDEO },
        [CONSTRAINT_RESIZE_MODE] = { "resizeMode", CONSTRAINT_TYPE_STRING, KIND_VIDEO },
        [CONSTRAINT_WIDTH] = { "width", CONSTRAINT_TYPE_WHOLE, KIND_VIDEO },
        [CONSTRAINT_HEIGHT] = { "height", CONSTRAINT_TYPE_WHOLE, KIND_VIDEO },
        [CONSTRAINT_ASPECT_RATIO] = { "aspectRatio", CONSTRAINT_TYPE_DOUBLE, KIND_VIDEO },
        [CONSTRAINT_FRAME_RATE] = { "frameRate", CONSTRAINT_TYPE_DOUBLE, KIND_VIDEO },
        [CONSTRAINT_SAMPLE_RATE] = { "sampleRate", CONSTRAINT_TYPE_WHOLE, KIND_AUDIO },
        [CONSTRAINT_SAMPLE_SIZE] = { "sampleSize", CONSTRAINT_TYPE_WHOLE, KIND_AUDIO },
        [CONSTRAINT_ECHO_CANCELLATION] = { "echoCancellation", CONSTRAINT_TYPE_BOOLEAN, KIND_AUDIO },
        [CONSTRAINT_AUTO_GAIN_CONTROL] = { "autoGainControl", CONSTRAINT_TYPE_BOOLEAN, KIND_AUDIO },
        [CONSTRAINT_NOISE_SUPPRESSION] = { "noiseSuppression", CONSTRAINT_TYPE_BOOLEAN, KIND_AUDIO },
        [CONSTRAINT_LATENCY] = { "latency", CONSTRAINT_TYPE_DOUBLE, KIND_AUDIO },
        [CONSTRAINT_CHANNEL_COUNT] = { "channelCount", CONSTRAINT_TYPE_WHOLE, KIND_AUDIO },
};

/* Constrainable properties that the W3C specs (Media Capture and Streams, Image Capture, Screen
 * Capture, the extensions) define but that may not select a device. Requiring one is a
 * TypeError; an ideal of one is ignored, as is any unknown name. */
static const struct {
        const char *name;
        unsigned kinds;
} unselectable_constraints[] = {
        { "backgroundBlur", KIND_VIDEO },
        { "backgroundSegmentationMask", KIND_VIDEO },
        { "brightness", KIND_VIDEO },
        { "colorTemperature", KIND_VIDEO },
        { "contrast", KIND_VIDEO },
        { "cursor", KIND_VIDEO },
        { "displaySurface", KIND_VIDEO },
        { "exposureCompensation", KIND_VIDEO },
        { "exposureMode", KIND_VIDEO },
        { "exposureTime", KIND_VIDEO },
        { "eyeGazeCorrection", KIND_VIDEO },
        { "faceFraming", KIND_VIDEO },
        { "focusDistance", KIND_VIDEO },
        { "focusMode", KIND_VIDEO },
        { "iso", KIND_VIDEO },
        { "lightingCorrection", KIND_VIDEO },
        { "logicalSurface", KIND_VIDEO },
        { "pan", KIND_VIDEO },
        { "pointsOfInterest", KIND_VIDEO },
        { "restrictOwnAudio", KIND_AUDIO },
        { "saturation", KIND_VIDEO },
        { "screenPixelRatio", KIND_VIDEO },
        { "sharpness", KIND_VIDEO },
        { "suppressLocalAudioPlayback", KIND_AUDIO },
        { "tilt", KIND_VIDEO },
        { "torch", KIND_VIDEO },
        { "voiceIsolation", KIND_AUDIO },
        { "whiteBalanceMode", KIND_VIDEO },
        { "zoom", KIND_VIDEO },
};

bool constraint_applies(ConstraintId id, DeviceKind kind) {
        return constraint_defs[id].kinds & (1U << kind);
}

int constraint_from_string(const char *s) {
        for (int i = 0; i < _CONSTRAINT_MAX; i++)
                if (streq(constraint_defs[i].name, s))
                        return i;
        return -1;
}

bool constraint_is_unselectable(const char *name, DeviceKind kind) {
        for (size_t i = 0; i < ELEMENTSOF(unselectable_constraints); i++)
                if (streq(unselectable_constraints[i].name, name))
                        return unselectable_constraints[i].kinds & (1U << kind);
        return false;
}

static const char *const range_members[_RANGE_MAX] = {
        [RANGE_MIN] = "min",
        [RANGE_MAX] = "max",
        [RANGE_EXACT] = "exact",
        [RANGE_IDEAL] = "ideal",
};

const char *range_member_to_string(RangeMember m) {
        if ((unsigned) m >= _RANGE_MAX)
                return NULL;
        return range_members[m];
}

int range_member_from_string(const char *s) {
        for (int i = 0; i < _RANGE_MAX; i++)
                if (streq(range_members[i], s))
                        return i;
        return -1;
}

bool constraint_is_required(const Constraint *c) {
        return c->present && (c->has_min || c->has_max || c->has_exact);
}

static void constraint_done(Constraint *c) {
        strv_free(c->exact_strv);
        strv_free(c->ideal_strv);
        *c = (Constraint) {};
}

void constraint_set_done(ConstraintSet *set) {
        for (size_t i = 0; i < _CONSTRAINT_MAX; i++)
                constraint_done(&set->c[i]);
}

TrackConstraints *track_constraints_free(TrackConstraints *c) {
        if (!c)
                return NULL;
        constraint_set_done(&c->basic);
        for (size_t i = 0; i < c->n_advanced; i++)
                constraint_set_done(&c->advanced[i]);
        free(c->advanced);
        free(c);
        return NULL;
}

int track_constraints_new_empty(DeviceKind kind, TrackConstraints **ret) {
        TrackConstraints *c;

        assert(kind >= 0 && kind < _DEVICE_KIND_MAX);
        assert(ret);

        c = calloc(1, sizeof(TrackConstraints));
        if (!c)
                return -ENOMEM;
        c->kind = kind;
        *ret = c;
        return 0;
}

DeviceKind track_constraints_get_kind(const TrackConstraints *c) {
        return c->kind;
}

MediaStreamConstraints *media_stream_constraints_free(MediaStreamConstraints *c) {
        if (!c)
                return NULL;
        track_constraints_free(c->audio_constraints);
        track_constraints_free(c->video_constraints);
        free(c);
        return NULL;
}
