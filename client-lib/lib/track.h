/* MgTrack: the Track object's properties as the app sees them, kept current from signals. */
#pragma once

#include "internal.h"

/* A track's properties arrived (r == 0) or could not be read (r < 0, described by err). */
typedef void (*track_loaded_t)(MgTrack *t, int r, const MgError *err, void *userdata);

struct MgTrack {
        unsigned n_ref;
        MgClient *client;
        char *path;
        char *kind, *device_id, *label, *group_id;

        MgTrackSettings settings; /* its strings point into the settings_* fields */
        char *settings_resize_mode, *settings_facing_mode, *settings_device_id, *settings_group_id;
        MgCapability *capabilities;
        size_t n_capabilities;

        bool muted, enabled, ended, stopped, ended_notified;
        char *ended_reason;
        MgTrackEndedCallback ended_callback;
        void *ended_userdata;

        sd_bus_slot *load_slot;   /* GetAll in flight */
        track_loaded_t loaded;    /* whom to tell when it returns */
        void *loaded_userdata;    /* not referenced: the request references us */

        LIST_FIELDS(MgTrack, tracks);
};

int track_new(MgClient *c, const char *path, MgTrack **ret);
/* Read every property of the track (GetAll) asynchronously, then call loaded. */
int track_load(MgTrack *t, track_loaded_t loaded, void *userdata);
/* Forget a load in flight for userdata: loaded will not be called. */
void track_cancel_load(MgTrack *t, void *userdata);
/* Update from an a{sv} of properties (GetAll reply or PropertiesChanged). */
int track_update_properties(MgTrack *t, sd_bus_message *m, MgError *err);
/* The daemon ended it (Ended signal, or it left the bus: reason "shutdown"). */
void track_mark_ended(MgTrack *t, const char *reason);
/* Every track of c not ended yet, ended for reason (mediagated left the bus). */
void tracks_mark_ended(MgClient *c, const char *reason);
/* The client's track signals (ClientHandlers), for the track at path if we have it. */
void track_on_ended_signal(MgClient *c, const char *path, const char *reason);
void track_on_properties_signal(MgClient *c, const char *path, sd_bus_message *m);
/* Fire-and-forget Track.Stop() for a track path nobody holds. */
void track_send_stop(sd_bus *bus, const char *path);
