/* The constraint engine: parses getUserMedia()/applyConstraints() constraints out of a bus
 * message and runs SelectSettings over candidate devices (constraints.md). Pure: no bus, no devices opened. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

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

typedef struct TrackConstraints TrackConstraints; /* one MediaTrackConstraints: basic set + advanced sets */

typedef struct MediaStreamConstraints {
        bool audio; /* audio requested */
        bool video;
        TrackConstraints *audio_constraints; /* NULL when requested as plain `true` or not requested */
        TrackConstraints *video_constraints;
} MediaStreamConstraints;

/* Parse GetUserMedia's first argument. m is positioned at the a{sv}; on success it is consumed.
 * Returns 0, or -EINVAL for a TypeError with *ret_message set to a human readable reason
 * (e.g. "constraint 'width' has wrong type 's'", "nothing requested", "nesting too deep"),
 * -ENOMEM, or another negative errno if reading the message fails. Unknown top-level keys are
 * ignored; nothing requested at all ({}, both false, only unknown keys) is a TypeError. */
int media_stream_constraints_parse(sd_bus_message *m, MediaStreamConstraints **ret, char **ret_message);
MediaStreamConstraints *media_stream_constraints_free(MediaStreamConstraints *c);
static inline void media_stream_constraints_freep(MediaStreamConstraints **c) {
        if (*c)
                media_stream_constraints_free(*c);
}

/* Parse one MediaTrackConstraints a{sv} for `kind` (Track.ApplyConstraints). Same errors. */
int track_constraints_parse(sd_bus_message *m, DeviceKind kind, TrackConstraints **ret, char **ret_message);
TrackConstraints *track_constraints_free(TrackConstraints *c);
static inline void track_constraints_freep(TrackConstraints **c) {
        if (*c)
                track_constraints_free(*c);
}
/* A TrackConstraints with nothing in it (for `video: true`). */
int track_constraints_new_empty(DeviceKind kind, TrackConstraints **ret);
DeviceKind track_constraints_get_kind(const TrackConstraints *c);

/* Append the constraints as an a{sv} in the same shape the client sent, normalized: whole
 * numbers as 'u' after clamping, doubles as 'd', strings 's', lists 'as', booleans 'b', ranges
 * as a{sv} with min/max/exact/ideal, advanced as aa{sv}. Dropped names (unknown, other kind,
 * empty lists) do not appear. This is the Track "Constraints" property. */
int track_constraints_append(sd_bus_message *m, const TrackConstraints *c);

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

/* SelectSettings. Returns 0 and fills *ret; -ENODEV when no candidate of the constraints' kind
 * exists (NotFoundError); -ERANGE when no setting satisfies the required constraints
 * (OverconstrainedError), with *ret_constraint set to the failing constraint name per
 * constraints.md (a static string, "" if none). Candidates should be in enumeration order;
 * candidates of the other kind are ignored.
 *
 * Microphones: echoCancellation, autoGainControl and noiseSuppression are offered as false,
 * and also as true where the device can; without a constraint the result is false (the
 * device's plain capture), as the tie-break by offer order gives. */
int select_settings(const TrackConstraints *c, const ConstraintCandidate *candidates, size_t n,
                    SelectedSettings *ret, const char **ret_constraint);

/* The fitness distance of one settings point against the basic set (for tests and ranking). */
double fitness_distance(const TrackConstraints *c, const ConstraintCandidate *cand, const SelectedSettings *s);
double fitness_distance_numeric(double actual, double ideal); /* rule 7 */

/* Track "Settings" property (getSettings()), as a{sv}:
 *   video: width u, height u, frameRate d, aspectRatio d, resizeMode s, facingMode s (may be
 *          ""), deviceId s, groupId s;
 *   audio: sampleRate u, sampleSize u, channelCount u, latency d, echoCancellation b,
 *          autoGainControl b, noiseSuppression b, deviceId s, groupId s. */
int selected_settings_append(sd_bus_message *m, const SelectedSettings *s, const ConstraintCandidate *cand);

/* getCapabilities() as a{sv}, with these exact signatures:
 *   video: width (uu) (1, largest native width); height (uu) (1, largest native height);
 *          frameRate (dd) (min(CONSTRAINTS_MIN_DECIMATED_FRAME_RATE, slowest native rate),
 *          fastest native rate); aspectRatio (dd) (1 / largest height, largest width / 1),
 *          rounded to 10 decimals; the four are left out for a camera without modes;
 *          facingMode as ([] or [the device's]); resizeMode as ["none", "crop-and-scale"];
 *          deviceId s; groupId s.
 *   audio: sampleRate (uu), sampleSize (uu), channelCount (uu): (smallest, largest) native
 *          value, each left out when the device lists none (sampleSize: 16 when unlisted);
 *          latency (dd) (latency, latency); echoCancellation, autoGainControl,
 *          noiseSuppression ab: [false] or [true, false]; deviceId s; groupId s. */
int device_capabilities_append(sd_bus_message *m, const ConstraintCandidate *cand);
