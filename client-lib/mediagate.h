/* libmediagate: the C client library of mediagated, getUserMedia() for native and sandboxed
 * applications. This header is its documentation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "mediagate-wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The flow, as a web page would write it:
 *
 *     MgClient *client;                         // one connection to mediagated
 *     mg_client_new(&client, MG_BUS_DEFAULT);
 *
 *     MgConstraints *c;                         // {"video":{"width":{"min":1280}},"audio":true}
 *     mg_constraints_new_from_json(&c, "{\"video\":true}", &err);
 *
 *     MgRequest *req;                           // navigator.mediaDevices.getUserMedia(c)
 *     mg_client_get_user_media(client, c, NULL, &req, &err);
 *     mg_request_wait(req, MG_WAIT_FOREVER, &err);   // or mg_request_set_callback()
 *
 *     MgTrack *track = mg_request_get_track(req, 0);
 *     MgStream *stream;                         // frames over a socket and a shared pool
 *     mg_track_open(track, &stream, &err);
 *     MgFrame f;
 *     while (mg_stream_next_frame(stream, -1, &f) > 0)
 *             consume(f.data, f.bytes);         // released by the next call
 *
 * Conventions:
 *  - Every function that can fail returns a negative errno value (0 or positive on success).
 *    Those that talk to the daemon also take an `MgError *` (may be NULL) that receives the
 *    error's name, message and, for OverconstrainedError, the constraint.
 *  - Handles are opaque. Objects with _ref/_unref are reference counted; the others have a
 *    _free function. Every destructor accepts NULL and returns NULL.
 *  - Strings returned by accessors are owned by the object and valid as long as it is, unless
 *    said otherwise. Never NULL: a missing value is "".
 *  - A client and everything obtained from it belong to one thread at a time.
 *  - Callbacks run from inside the bus dispatch: from mg_client_process(), mg_request_wait(),
 *    or the sd_event loop the client is attached to. They may unref the object they are about.
 */

/* ---- Errors ------------------------------------------------------------------------------ */

typedef struct MgError {
        int error;        /* negative errno; 0 while no error is set */
        char *name;       /* (NULL only when memory ran out) the spec's name for errors the daemon decided ("NotAllowedError",
                           * "OverconstrainedError", "TypeError", ..., "AccessDenied"); the
                           * D-Bus error name for other bus errors; "TypeError"/"SyntaxError" for
                           * constraints rejected before sending; "System.Error.E..." (the way
                           * sd-bus names errno values) for local failures, e.g. EPROTO when the
                           * daemon sent something malformed */
        char *message;    /* human readable */
        char *constraint; /* OverconstrainedError of a request: the failing property, "" when
                           * the daemon may not reveal it; NULL otherwise (also for the method
                           * error of mg_track_apply_constraints(), which names it in the
                           * message) */
} MgError;

#define MG_ERROR_INIT { 0, NULL, NULL, NULL }

/* Free the strings and reset to MG_ERROR_INIT. Functions that fill an MgError clear it first. */
void mg_error_clear(MgError *err);

/* For calls an app makes to mediagated itself, on mg_client_get_bus() (members this library does
 * not wrap, such as the Admin interface): fill err from the sd_bus_error of a failed call, naming
 * it the way the library's own functions do (our errors by their short names, "AccessDenied",
 * other D-Bus names as they are, "System.Error.E..." when e is not set). r is the call's return
 * value. Returns the negative errno (never 0). */
int mg_error_set_from_bus(MgError *err, const sd_bus_error *e, int r);

/* ---- Connection -------------------------------------------------------------------------- */

typedef enum MgBusType {
        MG_BUS_DEFAULT, /* $MEDIAGATE_BUS ("system" or "session"), else the system bus */
        MG_BUS_SYSTEM,  /* production: the daemon runs on the system bus */
        MG_BUS_SESSION, /* development, demos and tests */
} MgBusType;

typedef struct MgClient MgClient;

/* Connect to the bus. -EINVAL when $MEDIAGATE_BUS holds anything but "system" or "session". */
int mg_client_new(MgClient **ret, MgBusType bus);
/* Use an existing connection (for apps that already have one); takes a reference on it. */
int mg_client_new_from_bus(MgClient **ret, sd_bus *bus);
MgClient *mg_client_ref(MgClient *c);
MgClient *mg_client_unref(MgClient *c);

/* The connection, for apps that integrate further (not a new reference). */
sd_bus *mg_client_get_bus(MgClient *c);

/* Asynchronous use, either on an sd_event loop ... */
int mg_client_attach_event(MgClient *c, sd_event *event, int64_t priority);
/* ... or on any poll loop: poll mg_client_get_fd() for mg_client_get_events() (POLLIN/POLLOUT)
 * with a timeout of mg_client_get_timeout() (absolute CLOCK_MONOTONIC µs, UINT64_MAX: none),
 * then call mg_client_process() until it returns 0. mg_client_process() dispatches at most one
 * message; it returns > 0 when it did something, 0 when there was nothing to do. */
int mg_client_get_fd(MgClient *c);
int mg_client_get_events(MgClient *c);
int mg_client_get_timeout(MgClient *c, uint64_t *ret_usec);
int mg_client_process(MgClient *c);

/* devicechange: called when a device was added or removed, or a default changed (the
 * Manager's DevicesChanged signal). NULL callback unsubscribes. */
typedef void (*MgDevicesChangedCallback)(MgClient *c, void *userdata);
int mg_client_set_devices_changed_callback(MgClient *c, MgDevicesChangedCallback callback, void *userdata);

/* ---- Devices (enumerateDevices) ---------------------------------------------------------- */

typedef struct MgDeviceList MgDeviceList;
typedef struct MgDevice MgDevice;

/* One entry of getCapabilities(). */
typedef enum MgCapabilityType {
        MG_CAPABILITY_RANGE,    /* min .. max: width, height, frameRate, sampleRate, ... */
        MG_CAPABILITY_STRINGS,  /* facingMode, resizeMode, ... */
        MG_CAPABILITY_BOOLEANS, /* echoCancellation, autoGainControl, noiseSuppression */
} MgCapabilityType;

typedef struct MgCapability {
        const char *name;
        MgCapabilityType type;
        bool integral;      /* RANGE: sent as whole numbers */
        double min, max;    /* RANGE */
        const char *const *strings; /* STRINGS: NULL-terminated */
        size_t n_strings;
        const bool *booleans;       /* BOOLEANS */
        size_t n_booleans;
} MgCapability;

/* Microphones first, then cameras, the system default of each kind first. Without exposure
 * (no permission yet for a kind), at most one device of that kind is listed, with empty
 * id, label and group id and no capabilities. origin: only trusted brokers may pass one;
 * NULL for none. */
int mg_client_enumerate_devices(MgClient *c, const char *origin, MgDeviceList **ret, MgError *err);
/* The same for the app a trusted broker acts for (app_id, NULL for none): the list, ids and
 * exposure are that app's. Others get SecurityError. */
int mg_client_enumerate_devices_for(MgClient *c, const char *origin, const char *app_id, MgDeviceList **ret,
                                    MgError *err);
MgDeviceList *mg_device_list_free(MgDeviceList *l);
size_t mg_device_list_get_count(const MgDeviceList *l);
const MgDevice *mg_device_list_get(const MgDeviceList *l, size_t i); /* NULL when out of range */

const char *mg_device_get_id(const MgDevice *d);
const char *mg_device_get_kind(const MgDevice *d);        /* "audioinput", "videoinput" */
const char *mg_device_get_label(const MgDevice *d);
const char *mg_device_get_group_id(const MgDevice *d);
const char *mg_device_get_facing_mode(const MgDevice *d); /* "" for microphones or unknown */
size_t mg_device_get_n_capabilities(const MgDevice *d);
const MgCapability *mg_device_get_capability(const MgDevice *d, size_t i);
const MgCapability *mg_device_find_capability(const MgDevice *d, const char *name);

/* ---- Constraints (MediaStreamConstraints) ------------------------------------------------ */

/* Constraints are kept in their JavaScript shape and turned into the daemon's a{sv} when sent:
 * booleans 'b', whole numbers 'i' (or 'x'/'t' when outside 32 bits), other numbers 'd', strings
 * 's', lists of strings 'as', objects 'a{sv}', "advanced" 'aa{sv}'. null, NaN, infinities and
 * lists of anything else are a TypeError, found before anything is sent. */
typedef struct MgConstraints MgConstraints;

typedef enum MgMediaKind {
        MG_MEDIA_AUDIO,
        MG_MEDIA_VIDEO,
} MgMediaKind;

/* How a single value constrains: as a bare value (ideal in the basic set, exact inside an
 * advanced set, as in JavaScript), as {ideal: v}, or as {exact: v}. */
typedef enum MgMatch {
        MG_MATCH_BARE,
        MG_MATCH_IDEAL,
        MG_MATCH_EXACT,
} MgMatch;

/* Parse JSON exactly as JavaScript spells it: {"video":{"width":{"min":1280}},"audio":true}. */
int mg_constraints_new_from_json(MgConstraints **ret, const char *json, MgError *err);

/* Or build them. An empty MgConstraints requests nothing (the daemon says TypeError). */
int mg_constraints_new(MgConstraints **ret);
MgConstraints *mg_constraints_free(MgConstraints *c);

/* "video": true or false; drops any constraints set for that kind. */
int mg_constraints_request(MgConstraints *c, MgMediaKind kind, bool requested);

/* The setters below add one property to a kind's constraint set, replacing an earlier value
 * of that name, and thereby request that kind. Whole values go out as 'i', others as 'd'
 * (both accepted for every numeric property). -EINVAL for an empty name, "advanced", or a
 * number that is not finite. */
int mg_constraints_set_number(MgConstraints *c, MgMediaKind kind, const char *name, double value, MgMatch match);
int mg_constraints_set_string(MgConstraints *c, MgMediaKind kind, const char *name, const char *value, MgMatch match);
/* A list means "any of these"; values is NULL-terminated. */
int mg_constraints_set_strings(MgConstraints *c, MgMediaKind kind, const char *name, const char *const *values, MgMatch match);
int mg_constraints_set_boolean(MgConstraints *c, MgMediaKind kind, const char *name, bool value, MgMatch match);

enum {
        MG_RANGE_MIN = 1u << 0,
        MG_RANGE_MAX = 1u << 1,
        MG_RANGE_EXACT = 1u << 2,
        MG_RANGE_IDEAL = 1u << 3,
};
typedef struct MgRange {
        unsigned set; /* MG_RANGE_* of the members that are given; at least one */
        double min, max, exact, ideal;
} MgRange;
/* {"width": {"min": 640, "ideal": 1280}} is
 *     mg_constraints_set_range(c, MG_MEDIA_VIDEO, "width",
 *                              &(MgRange) { .set = MG_RANGE_MIN | MG_RANGE_IDEAL, .min = 640, .ideal = 1280 }); */
int mg_constraints_set_range(MgConstraints *c, MgMediaKind kind, const char *name, const MgRange *range);

/* Append the constraint set of `kind` in `set` (built with the setters above; bare values
 * there mean exact) to the "advanced" list of `kind` in c. -EINVAL when `set` holds a plain
 * boolean for the kind or an "advanced" list itself. */
int mg_constraints_add_advanced(MgConstraints *c, MgMediaKind kind, const MgConstraints *set);

/* The constraints as JSON (compact, JavaScript's shape); free() the result. */
int mg_constraints_to_json(const MgConstraints *c, char **ret);

/* ---- Permissions (navigator.permissions.query) ------------------------------------------- */

typedef enum MgPermissionState {
        MG_PERMISSION_GRANTED, /* the admin policy or a stored user grant allows it, or a track of
                                * the kind is live: a request gets no prompt */
        MG_PERMISSION_DENIED,  /* the admin policy or a stored user decision refuses it */
        MG_PERMISSION_PROMPT,  /* a request would ask the user */
} MgPermissionState;

/* What a request for a kind (MG_MEDIA_VIDEO: "camera", MG_MEDIA_AUDIO: "microphone") would meet
 * now, without asking anyone. origin: trusted brokers only (else SecurityError); NULL for none.
 * polkit is not consulted: a granted request can still be refused by it. */
int mg_client_query_permission(MgClient *c, MgMediaKind kind, const char *origin, MgPermissionState *ret, MgError *err);
/* "granted", "denied", "prompt"; NULL for a value outside the enum. */
const char *mg_permission_state_to_string(MgPermissionState state);

/* ---- getUserMedia ------------------------------------------------------------------------ */

typedef struct MgRequest MgRequest;
typedef struct MgTrack MgTrack;

typedef struct MgRequestOptions {
        const char *origin;       /* web origin; only trusted brokers may pass one. NULL: none */
        const char *reason;       /* shown to the user in the prompt. NULL: none */
        const char *handle_token; /* [A-Za-z0-9_]{1,64}; NULL: a random one */
        const char *app_id;       /* the app a trusted broker asks for (a PipeWire bridge passing
                                   * its consumer's app id); decisions, grants and history then
                                   * belong to it. Others get SecurityError. NULL: none */
} MgRequestOptions;

#define MG_WAIT_FOREVER UINT64_MAX

/* Start a request: subscribe to its Response, then call Manager.GetUserMedia (two short round
 * trips; the wait for the decision happens later, without blocking). Errors the
 * daemon finds at once (TypeError, SecurityError, LimitsExceeded) are returned here; the
 * decision (consent, device opening: NotAllowedError, NotFoundError, OverconstrainedError,
 * NotReadableError, AbortError) arrives later, through mg_request_wait() or the callback.
 * The request may wait for the user as long as it takes. options may be NULL.
 * Dropping the last reference to a pending request closes it (Request.Close()). */
int mg_client_get_user_media(
                MgClient *c,
                const MgConstraints *constraints,
                const MgRequestOptions *options,
                MgRequest **ret,
                MgError *err);

MgRequest *mg_request_ref(MgRequest *r);
MgRequest *mg_request_unref(MgRequest *r);

/* Block, dispatching the bus, until the request is decided or timeout_usec passed
 * (MG_WAIT_FOREVER: no limit). Returns 0 on success (tracks are ready), the request's error
 * when it failed, -ETIMEDOUT when it is still pending (it stays pending; wait again or close
 * it). Also usable after the callback ran: it then returns the result at once. Not from inside
 * a callback of the same connection (-EBUSY): sd-bus does not dispatch recursively. */
int mg_request_wait(MgRequest *r, uint64_t timeout_usec, MgError *err);

/* Asynchronously: called once when the request is decided, from the bus dispatch. result is 0
 * or the negative errno that error describes. Set it right after mg_client_get_user_media(),
 * before dispatching the bus again. */
typedef void (*MgRequestCallback)(MgRequest *r, int result, const MgError *error, void *userdata);
int mg_request_set_callback(MgRequest *r, MgRequestCallback callback, void *userdata);

/* Cancel a pending request; it then fails with AbortError. 0 when it was already decided. */
int mg_request_close(MgRequest *r, MgError *err);

bool mg_request_is_done(const MgRequest *r);
/* 0, or the error of a failed request (into err), or -EAGAIN while it is pending. */
int mg_request_get_result(const MgRequest *r, MgError *err);
const char *mg_request_get_path(const MgRequest *r);
/* The tracks of a successful request, audio first, then video. Borrowed: take a reference
 * with mg_track_ref() to keep a track beyond the request. */
size_t mg_request_get_n_tracks(const MgRequest *r);
MgTrack *mg_request_get_track(const MgRequest *r, size_t i);

/* ---- Tracks (MediaStreamTrack) ----------------------------------------------------------- */

/* getSettings(). Numbers the track does not have are 0, strings "", booleans -1. The strings
 * change when the settings do (after mg_track_apply_constraints() or a change the bus
 * dispatch delivers): copy them to keep them. */
typedef struct MgTrackSettings {
        /* video */
        uint32_t width, height;
        double frame_rate, aspect_ratio;
        const char *resize_mode, *facing_mode;
        /* audio */
        uint32_t sample_rate, sample_size, channel_count;
        double latency;
        int echo_cancellation, auto_gain_control, noise_suppression;
        /* both */
        const char *device_id, *group_id;
} MgTrackSettings;

/* The last reference to a live track stops it (Track.Stop()). */
MgTrack *mg_track_ref(MgTrack *t);
MgTrack *mg_track_unref(MgTrack *t);

const char *mg_track_get_path(const MgTrack *t);
const char *mg_track_get_kind(const MgTrack *t); /* "audio", "video" */
const char *mg_track_get_device_id(const MgTrack *t);
const char *mg_track_get_label(const MgTrack *t);
const char *mg_track_get_group_id(const MgTrack *t);
const MgTrackSettings *mg_track_get_settings(const MgTrack *t);
size_t mg_track_get_n_capabilities(const MgTrack *t);
const MgCapability *mg_track_get_capability(const MgTrack *t, size_t i);

bool mg_track_is_muted(const MgTrack *t);   /* global switch or device paused */
bool mg_track_is_enabled(const MgTrack *t);
bool mg_track_is_ended(const MgTrack *t);   /* readyState == "ended" */
/* Why the daemon ended it: "revoked", "device-removed", "device-error", "policy", or
 * "shutdown" when mediagated left the bus. NULL while live or after mg_track_stop(). */
const char *mg_track_get_ended_reason(const MgTrack *t);

/* The `ended` event: called once when the daemon ends the track (not after mg_track_stop(),
 * as stop() fires no `ended` in the spec). */
typedef void (*MgTrackEndedCallback)(MgTrack *t, const char *reason, void *userdata);
int mg_track_set_ended_callback(MgTrack *t, MgTrackEndedCallback callback, void *userdata);

int mg_track_stop(MgTrack *t, MgError *err);
/* A disabled track gets black frames or silence (MG_FRAME_FLAG_BLACK). */
int mg_track_set_enabled(MgTrack *t, bool enabled, MgError *err);
/* applyConstraints(): json is a MediaTrackConstraints object ({"width":{"max":640}}). On
 * OverconstrainedError the old settings stay in force. Re-reads the settings on success. */
int mg_track_apply_constraints(MgTrack *t, const char *json, MgError *err);

/* ---- Streams (the frames) ---------------------------------------------------------------- */

typedef struct MgStream MgStream;

typedef struct MgStreamFormat {
        bool video;
        /* video */
        char fourcc[5];          /* "YUYV", "NV12" */
        uint32_t width, height, stride, frame_size;
        /* audio: interleaved samples */
        char sample_format[16];  /* "S16_LE" */
        uint32_t rate, channels, frames_per_slot;
        /* the pool (after a pool move: the new pool's) */
        uint32_t slots, slot_size;
        /* the wire format spoken (1, or 2: a pool shared with the device's other streams of
         * this format, which the daemon may replace; the library handles that), and how many
         * slots the app may hold before its frames are dropped */
        uint32_t version, max_held;
} MgStreamFormat;

typedef struct MgFrame {
        const uint8_t *data;   /* into the read-only pool mapping; valid until released */
        uint32_t slot;
        uint32_t bytes;
        uint64_t sequence;     /* of the source; gaps are frames this stream did not get */
        uint64_t timestamp_ns; /* capture time, CLOCK_MONOTONIC */
        uint64_t dropped;      /* frames dropped so far because the app held every slot */
        uint32_t flags;        /* MG_FRAME_FLAG_* */
        bool format_changed;   /* the first frame after a FORMAT change: re-read the format */
} MgFrame;

/* Track.OpenStream() in wire format version 2 (Track.Open(), version 1, from a daemon without
 * it): the control socket and the pool, mapped read-only. One open stream per track; after the
 * stream is freed the track may be opened again. */
int mg_track_open(MgTrack *t, MgStream **ret, MgError *err);
/* Closes the socket (the daemon then stops writing) and unmaps the pool. */
MgStream *mg_stream_free(MgStream *s);

/* For poll()/sd_event_add_io(): readable when a message waits; then call
 * mg_stream_next_frame() with timeout 0. */
int mg_stream_get_fd(const MgStream *s);
/* Updated by FORMAT messages (after mg_track_apply_constraints()). */
const MgStreamFormat *mg_stream_get_format(const MgStream *s);
/* The pool's memfd, read-only and sealed, owned by the stream (do not close it): for handing the
 * frames on without a copy (a PipeWire bridge gives it to its consumers as MemFd buffer data).
 * Slot i starts at i * slot_size. Valid until the stream is freed or its pool is replaced; a frame
 * whose data no longer lies in the pool last seen tells that it was. */
int mg_stream_get_pool_fd(const MgStream *s);
bool mg_stream_is_muted(const MgStream *s);
/* Why the stream ended (a Track.Ended reason, "stopped", "shutdown", or "disconnected" when the
 * socket closed without an ENDED message); NULL while it runs. */
const char *mg_stream_get_ended_reason(const MgStream *s);

enum {
        MG_STREAM_ENDED = 0, /* the track ended; mg_stream_get_ended_reason() says why */
        MG_STREAM_FRAME = 1, /* *ret holds a frame */
};

/* Wait up to timeout_ms (-1: no limit, 0: only what is there) for the next frame, handling
 * MUTED, UNMUTED and FORMAT messages on the way. Returns MG_STREAM_FRAME, MG_STREAM_ENDED (and
 * again on every later call), -EAGAIN when no frame came in time, -EPROTO when the daemon sent
 * something malformed (a slot out of range or already held, more bytes than a slot, a message of
 * the wrong size, file descriptors); the stream is then unusable and every later call fails the
 * same way.
 *
 * Slots: each frame occupies a pool slot until released. By default the frame returned by the
 * previous call is released automatically at the start of this one, so a simple loop cannot
 * leak slots; mg_frame_release() releases earlier. To hold several frames at once (a queue
 * towards an encoder), turn that off with mg_stream_set_auto_release(s, false) and release each
 * frame yourself; while the app holds max_held slots (MgStreamFormat), the daemon drops frames
 * for it and counts them in MgFrame.dropped. A frame stays readable until it is released, also
 * when the daemon moved the stream to another pool meanwhile. */
int mg_stream_next_frame(MgStream *s, int timeout_ms, MgFrame *ret);
/* Give the frame's slot back to the daemon; frame->data is invalid afterwards and the frame is
 * reset. -EINVAL for a slot the app does not hold (released twice). */
int mg_frame_release(MgStream *s, MgFrame *frame);
int mg_stream_set_auto_release(MgStream *s, bool auto_release);

#ifdef __cplusplus
}
#endif
