/* Tracks: one granted device for one client connection, with its chosen settings, its
 * capture sink and at most one open stream. Owned by the connection that asked. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "constraints.h"
#include "device-id.h"
#include "manager-state.h"

typedef struct CaptureSink CaptureSink;
typedef struct Stream Stream;

typedef enum TrackEndReason {
        TRACK_END_STOPPED,        /* Track.Stop(): no Ended signal */
        TRACK_END_REVOKED,
        TRACK_END_DEVICE_REMOVED,
        TRACK_END_DEVICE_ERROR,
        TRACK_END_POLICY,
        TRACK_END_CLIENT_GONE,    /* the owner left the bus: nobody to tell */
        TRACK_END_SHUTDOWN,
} TrackEndReason;

typedef struct Track {
        unsigned n_ref;
        Manager *manager;
        char *path;
        char *owner;     /* unique name of the owning connection */
        Caller *caller;
        char *origin;    /* normalized, or NULL */

        Device *device;
        DeviceKind kind;
        char device_id[DEVICE_ID_LENGTH + 1];
        char group_id[DEVICE_ID_LENGTH + 1];
        TrackConstraints *constraints;
        SelectedSettings settings;

        CaptureSink *sink;
        Stream *stream;

        bool enabled;
        bool muted;      /* the global privacy switch of the kind */
        bool away;       /* its login session is not in front (sessions.h): muted too */
        uint64_t started_usec; /* CLOCK_MONOTONIC, for the history's duration */
        uint64_t ended_usec;
        bool ended;
} Track;

/* Create a live track: attaches a capture sink (starting the device if needed). -EBUSY when
 * the device is held elsewhere or runs in an incompatible mode (NotReadableError), other
 * errors mean AbortError. */
int track_new(Manager *m, Caller *caller, const char *origin, Device *device, const char *device_id,
              const char *group_id, TrackConstraints *constraints /* taken */,
              const SelectedSettings *settings, Track **ret);
Track *track_ref(Track *t);
Track *track_unref(Track *t);

/* End the track: detach from the device, end the stream with the reason, emit Ended (except
 * for STOPPED and CLIENT_GONE). The object stays on the bus with ReadyState "ended" for its
 * owner until the owner leaves (at most TRACKS_ENDED_MAX per connection). */
void track_end(Track *t, TrackEndReason reason);

/* SetEnabled and the privacy switch: a track gets frames when enabled and not muted; the
 * device is released when none of its tracks does. Both announce the change. */
void track_set_enabled(Track *t, bool enabled);
void track_set_muted(Track *t, bool muted);
/* Whether the track gets no frames for the switch or because its session is not in front:
 * what its Muted property and stream say. */
static inline bool track_is_muted(const Track *t) {
        return t->muted || t->away;
}
/* Mute (away) or unmute each live track as its session is or is not in front. */
void tracks_follow_sessions(Manager *m);

/* Candidate of this track's device for the constraint engine, with the caller's ids. */
ConstraintCandidate track_candidate(const Track *t);

/* The bus surface (track-dbus.c). */
int track_dbus_register(Manager *m);
void track_dbus_emit_ended(Track *t, const char *reason);
void track_dbus_emit_changed(Track *t, const char *property);

/* Every live track of a connection / of a device ends (client gone, device removed). */
void tracks_end_for_owner(Manager *m, const char *owner, TrackEndReason reason);
/* The owner left the bus: its tracks end and go. */
void tracks_drop_owner(Manager *m, const char *owner);
void tracks_end_for_device(Manager *m, Device *d, TrackEndReason reason);
/* Shutdown: every track ends and goes. */
void tracks_drop_all(Manager *m, TrackEndReason reason);
/* Tracks of one app as grants name them: (uid, app id, origin, kind), on the devices listed
 * (hardware ids; NULL: any device). */
typedef struct TrackKey {
        uid_t uid;
        const char *app_id;
        const char *origin; /* NULL: none */
        DeviceKind kind;
        char **hardware_ids;
} TrackKey;
/* End every live track of the key; returns how many ended. */
size_t tracks_end_for_key(Manager *m, const TrackKey *k, TrackEndReason reason);
bool tracks_live_for(Manager *m, const TrackKey *k);
/* End the live tracks (of one key, or all with key NULL) that the decision in force now denies
 * (decision.h). A live track was granted, so only a deny ends it: a rule that prompts does not
 * ask again. Returns how many ended. */
size_t tracks_end_denied(Manager *m, const TrackKey *key, TrackEndReason reason);
/* Live tracks of a connection (owner), or of a uid when owner is NULL. */
unsigned tracks_count_live(Manager *m, const char *owner, uid_t uid);
