/* The constraints of getUserMedia() and applyConstraints() as plain C (docs/constraints.md): the
 * constrainable properties, one constraint set, a track's basic and advanced sets, the candidates
 * SelectSettings chooses among and the settings it chooses. Pure: no bus, no devices opened.
 *
 * The engine around it, one concern a file: constraints-parse (reading constraints),
 * constraints-fitness (the fitness distance), constraints-region (crop-and-scale regions),
 * constraints-select (SelectSettings), constraints-settings (what getSettings() and
 * getCapabilities() show), and constraints-bus, the only one that knows sd_bus_message. */
#pragma once

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/device.h"

/* Limits on what a client may send; anything beyond is a TypeError. */
#define CONSTRAINTS_MAX_DICT_ENTRIES 256U
#define CONSTRAINTS_MAX_ADVANCED_SETS 64U
#define CONSTRAINTS_MAX_LIST_ENTRIES 64U
#define CONSTRAINTS_MAX_STRING_BYTES 1024U

/* Aspect ratios compare with this tolerance, after rounding to 10 decimals. */
#define CONSTRAINTS_ASPECT_TOLERANCE 1e-9

/* The slowest rate frame decimation offers (crop-and-scale candidates); native modes slower than
 * this are offered only at their own rate. A rate of 0 is never offered. This is also the lower
 * bound of the frameRate capability. */
#define CONSTRAINTS_MIN_DECIMATED_FRAME_RATE 1.0

/* The constrainable properties that may select a device, in the fixed order docs/constraints.md
 * names the failing constraint in. */
typedef enum ConstraintId {
        CONSTRAINT_DEVICE_ID,
        CONSTRAINT_GROUP_ID,
        CONSTRAINT_FACING_MODE,
        CONSTRAINT_RESIZE_MODE,
        CONSTRAINT_WIDTH,
        CONSTRAINT_HEIGHT,
        CONSTRAINT_ASPECT_RATIO,
        CONSTRAINT_FRAME_RATE,
        CONSTRAINT_SAMPLE_RATE,
        CONSTRAINT_SAMPLE_SIZE,
        CONSTRAINT_ECHO_CANCELLATION,
        CONSTRAINT_AUTO_GAIN_CONTROL,
        CONSTRAINT_NOISE_SUPPRESSION,
        CONSTRAINT_LATENCY,
        CONSTRAINT_CHANNEL_COUNT,
        _CONSTRAINT_MAX,
} ConstraintId;

typedef enum ConstraintType {
        CONSTRAINT_TYPE_WHOLE,   /* WebIDL [Clamp] unsigned long */
        CONSTRAINT_TYPE_DOUBLE,
        CONSTRAINT_TYPE_STRING,  /* DOMString or sequence<DOMString> */
        CONSTRAINT_TYPE_BOOLEAN,
} ConstraintType;

typedef struct ConstraintDef {
        const char *name;
        ConstraintType type;
        unsigned kinds; /* 1 << DeviceKind for each kind the property belongs to */
} ConstraintDef;

extern const ConstraintDef constraint_defs[_CONSTRAINT_MAX];

/* The id of a property name, -1 for any other name. */
int constraint_from_string(const char *s);
/* Whether the property belongs to devices of the kind (the other kind's are dropped). */
bool constraint_applies(ConstraintId id, DeviceKind kind);
/* Whether name is a property of the kind that the W3C specs define but that may not select a
 * device (brightness, zoom, ...): requiring one is a TypeError, an ideal of one is ignored. */
bool constraint_is_unselectable(const char *name, DeviceKind kind);

/* The members of a constraint given as a dictionary. */
typedef enum RangeMember {
        RANGE_MIN,
        RANGE_MAX,
        RANGE_EXACT,
        RANGE_IDEAL,
        _RANGE_MAX,
} RangeMember;

const char *range_member_to_string(RangeMember m); /* "min", "max", "exact", "ideal" */
int range_member_from_string(const char *s);       /* -1 for any other name */

/* One constraint as the client gave it. A bare value is kept in `ideal` (basic set) or `exact`
 * (advanced set) with `bare` set, so that it is appended back in the same shape. */
typedef struct Constraint {
        bool present;
        bool bare;
        /* Rule 4: a boolean for a non-boolean property asks whether the settings have the
         * property; exact_bool/ideal_bool hold the wanted answer. */
        bool existence;
        bool has_min, has_max, has_exact, has_ideal;
        double min, max, exact, ideal;    /* numeric constraints */
        char **exact_strv, **ideal_strv;  /* string constraints: never empty when set */
        bool exact_is_list, ideal_is_list; /* the client sent 'as' rather than 's' */
        bool exact_bool, ideal_bool;      /* boolean constraints and existence */
} Constraint;

/* Whether the constraint has required parts (min, max or exact). */
bool constraint_is_required(const Constraint *c);

typedef struct ConstraintSet {
        Constraint c[_CONSTRAINT_MAX];
} ConstraintSet;

void constraint_set_done(ConstraintSet *set);

/* One MediaTrackConstraints: the basic set and the advanced sets, for one kind of device. */
typedef struct TrackConstraints {
        DeviceKind kind;
        ConstraintSet basic;
        ConstraintSet *advanced;
        size_t n_advanced;
} TrackConstraints;

TrackConstraints *track_constraints_free(TrackConstraints *c);
static inline void track_constraints_freep(TrackConstraints **c) {
        if (*c)
                track_constraints_free(*c);
}
/* A TrackConstraints with nothing in it (for `video: true`). */
int track_constraints_new_empty(DeviceKind kind, TrackConstraints **ret);
DeviceKind track_constraints_get_kind(const TrackConstraints *c);

typedef struct MediaStreamConstraints {
        bool audio; /* audio requested */
        bool video;
        TrackConstraints *audio_constraints; /* NULL when requested as plain `true` or not requested */
        TrackConstraints *video_constraints;
} MediaStreamConstraints;

MediaStreamConstraints *media_stream_constraints_free(MediaStreamConstraints *c);
static inline void media_stream_constraints_freep(MediaStreamConstraints **c) {
        if (*c)
                media_stream_constraints_free(*c);
}

/* One candidate device with the ids this caller sees (ids are per caller, computed elsewhere). */
typedef struct ConstraintCandidate {
        const Device *device;
        const char *device_id;
        const char *group_id;
} ConstraintCandidate;

typedef struct SelectedSettings {
        size_t candidate; /* index into the candidates array */
        DeviceKind kind;
        /* video */
        size_t mode;         /* index of the native mode in device->modes the point comes from */
        bool crop_and_scale; /* resizeMode: false = "none" */
        uint32_t width, height;
        double frame_rate;
        double aspect_ratio; /* width / height rounded to 10 decimals */
        /* audio */
        uint32_t sample_rate, sample_size, channel_count;
        double latency;
        bool echo_cancellation, auto_gain_control, noise_suppression;
} SelectedSettings;

/* Aspect ratios: rounded to 10 decimals, compared with CONSTRAINTS_ASPECT_TOLERANCE. Inline:
 * the region scans call them for every row. */
static inline double aspect_ratio_round(double v) {
        return round(v * 1e10) / 1e10;
}
static inline double aspect_ratio_of(int64_t w, int64_t h) {
        return aspect_ratio_round((double) w / (double) h);
}
static inline bool aspect_at_least(double aspect, double lo) {
        return aspect >= lo - CONSTRAINTS_ASPECT_TOLERANCE;
}
static inline bool aspect_at_most(double aspect, double hi) {
        return aspect <= hi + CONSTRAINTS_ASPECT_TOLERANCE;
}
