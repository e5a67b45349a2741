/* Track lifecycles: creation on a granted request, the stream a client opens, and the end
 * of a track for every reason (stop, revoke, device gone, client gone). */
#include "track.h"

#include <sys/random.h>

#include "caller.h"
#include "capture.h"
#include "decision.h"
#include "history-events.h"
#include "log.h"
#include "mediagate-names.h"
#include "mediagate-wire.h"
#include "sessions.h"
#include "stream.h"
#include "util.h"

static int random_track_path(char **ret) {
        uint8_t id[16]; /* 128 random bits: paths cannot be guessed */
        char hex[sizeof id * 2 + 1];

        if (getrandom(id, sizeof id, 0) != sizeof id)
                return -EIO;
        for (size_t i = 0; i < sizeof id; i++)
                snprintf(hex + 2 * i, 3, "%02x", id[i]);
        return asprintf(ret, MG_TRACK_PATH_PREFIX "/%s", hex) < 0 ? -ENOMEM : 0;
}

static void sink_request_from_settings(const SelectedSettings *s, CaptureSinkRequest *ret) {
        *ret = (CaptureSinkRequest){
                .mode = s->mode,
                .width = s->width,
                .height = s->height,
                .frame_rate = s->frame_rate,
                .sample_rate = s->sample_rate,
                .channels = s->channel_count,
        };
}

int track_new(Manager *m, Caller *caller, const char *origin, Device *device, const char *device_id,
              const char *group_id, TrackConstraints *constraints, const SelectedSettings *settings,
              Track **ret) {
        _cleanup_(track_constraints_freep) TrackConstraints *c = constraints;
        CaptureSinkRequest req;
        Track *t;
        int r;

        t = calloc(1, sizeof(Track));
        if (!t)
                return -ENOMEM;
        t->n_ref = 1;
        t->manager = m;
        t->kind = device->kind;
        t->device = device_ref(device);
        t->caller = caller_ref(caller);
        t->enabled = true;
        t->muted = m->muted[device->kind];
        t->away = !sessions_in_front(m->sessions, caller->unique_name, caller->uid);
        t->settings = *settings;
        snprintf(t->device_id, sizeof t->device_id, "%s", device_id);
        snprintf(t->group_id, sizeof t->group_id, "%s", group_id);
        t->constraints = TAKE_PTR(c);
        r = random_track_path(&t->path);
        if (r < 0)
                goto fail;
        r = free_and_strdup(&t->owner, caller->unique_name);
        if (r < 0)
                goto fail;
        r = free_and_strdup(&t->origin, origin);
        if (r < 0)
                goto fail;

        /* In the table (the bus finds tracks there) before the device starts, so that the
         * indicator names the client in the same change that turns Live on. */
        r = hashmap_put(m->tracks, t->path, t);
        if (r < 0)
                goto fail;
        sink_request_from_settings(settings, &req);
        r = capture_sink_new(device, &req, &t->sink);
        if (r < 0) {
                hashmap_remove(m->tracks, t->path);
                manager_tracks_changed(m);
                goto fail;
        }
        /* A track born under the privacy switch, or away from the front, starts muted: the
         * device is released soon. */
        if (track_is_muted(t))
                capture_sink_set_active(t->sink, false);
        t->started_usec = now_usec(CLOCK_MONOTONIC);
        history_record(m, HISTORY_STARTED, caller, origin, t->kind, device->hardware_id, 0, NULL);
        manager_tracks_changed(m);
        *ret = t;
        return 0;

fail:
        t->ended = true;
        track_unref(t);
        return r;
}

Track *track_ref(Track *t) {
        if (t)
                t->n_ref++;
        return t;
}

Track *track_unref(Track *t) {
        if (!t || --t->n_ref > 0)
                return NULL;
        capture_sink_free(t->sink);
        stream_free(t->stream);
        track_constraints_free(t->constraints);
        device_unref(t->device);
        caller_unref(t->caller);
        free(t->path);
        free(t->owner);
        free(t->origin);
        free(t);
        return NULL;
}

/* Remove a track from the table (and so from the bus) and drop the table's reference. */
static void track_forget(Manager *m, Track *t) {
        hashmap_remove(m->tracks, t->path);
        track_unref(t);
}

/* An ended track keeps answering ReadyState for its owner; a connection keeps at most
 * TRACKS_ENDED_MAX of them, so that a client cannot make the daemon hoard dead objects. */
#define TRACKS_ENDED_MAX 32
static void drop_excess_ended(Manager *m, const char *owner) {
        for (;;) {
                HashmapIter it = {};
                Track *t, *oldest = NULL;
                unsigned n = 0;

                while (hashmap_iterate(m->tracks, &it, (void **) &t, NULL))
                        if (t->ended && streq(t->owner, owner)) {
                                n++;
                                if (!oldest || t->ended_usec < oldest->ended_usec)
                                        oldest = t;
                        }
                if (n <= TRACKS_ENDED_MAX)
                        return;
                track_forget(m, oldest);
        }
}

static uint32_t wire_reason(TrackEndReason reason) {
        switch (reason) {
        case TRACK_END_REVOKED:
                return MG_ENDED_REVOKED;
        case TRACK_END_DEVICE_REMOVED:
                return MG_ENDED_DEVICE_REMOVED;
        case TRACK_END_DEVICE_ERROR:
                return MG_ENDED_DEVICE_ERROR;
        case TRACK_END_POLICY:
                return MG_ENDED_POLICY;
        case TRACK_END_SHUTDOWN:
                return MG_ENDED_SHUTDOWN;
        default:
                return MG_ENDED_STOPPED;
        }
}

void track_end(Track *t, TrackEndReason reason) {
        Manager *m = t->manager;

        if (t->ended)
                return;
        t->ended = true;
        t->ended_usec = now_usec(CLOCK_MONOTONIC);
        track_ref(t);

        /* Stop the frames first: after ENDED the pool is never written again. */
        t->sink = capture_sink_free(t->sink);
        if (t->stream) {
                stream_end(t->stream, wire_reason(reason));
                t->stream = stream_free(t->stream);
        }
        log_info("Track %s (%s on %s) ended: %s.", t->path, t->caller->app_id, t->device->name,
                 mg_ended_reason_to_string(wire_reason(reason)));
        history_record(m, HISTORY_STOPPED, t->caller, t->origin, t->kind, t->device->hardware_id,
                       now_usec(CLOCK_MONOTONIC) - t->started_usec,
                       STRV_MAKE("reason", (char *) mg_ended_reason_to_string(wire_reason(reason))));

        switch (reason) {
        case TRACK_END_REVOKED:
        case TRACK_END_DEVICE_REMOVED:
        case TRACK_END_DEVICE_ERROR:
        case TRACK_END_POLICY:
                track_dbus_emit_changed(t, "ReadyState");
                track_dbus_emit_ended(t, mg_ended_reason_to_string(wire_reason(reason)));
                break;
        default:
                break;
        }

        /* The object stays, with ReadyState "ended", until its owner leaves the bus; only the
         * oldest ended tracks of a connection go when it keeps too many. */
        manager_tracks_changed(m);
        drop_excess_ended(m, t->owner);
        track_unref(t);
}

static void apply_activity(Track *t) {
        capture_sink_set_active(t->sink, t->enabled && !track_is_muted(t));
}

void track_set_enabled(Track *t, bool enabled) {
        if (t->ended || t->enabled == enabled)
                return;
        t->enabled = enabled;
        apply_activity(t);
        if (t->stream)
                stream_set_enabled(t->stream, enabled);
        track_dbus_emit_changed(t, "Enabled");
        manager_tracks_changed(t->manager);
}

/* Set one of the reasons to mute; the stream, the device and the bus follow what they add up to. */
static void set_mute_reason(Track *t, bool *reason, bool value) {
        bool was = track_is_muted(t);

        if (t->ended || *reason == value)
                return;
        *reason = value;
        if (was == track_is_muted(t))
                return;
        if (t->stream)
                stream_set_muted(t->stream, track_is_muted(t));
        apply_activity(t);
        track_dbus_emit_changed(t, "Muted");
        manager_tracks_changed(t->manager);
}

void track_set_muted(Track *t, bool muted) {
        set_mute_reason(t, &t->muted, muted);
}

void tracks_follow_sessions(Manager *m) {
        HashmapIter it = {};
        Track *t;

        /* Muting changes no table: each track can be set as it comes. */
        while (hashmap_iterate(m->tracks, &it, (void **) &t, NULL))
                if (!t->ended)
                        set_mute_reason(t, &t->away, !sessions_in_front(m->sessions, t->owner, t->caller->uid));
}

ConstraintCandidate track_candidate(const Track *t) {
        return (ConstraintCandidate){ .device = t->device, .device_id = t->device_id, .group_id = t->group_id };
}

/* Ending tracks changes the table: collect first, then end. Returns how many live tracks ended. */
static size_t end_matching(Manager *m, bool (*match)(Track *t, const void *arg), const void *arg,
                           TrackEndReason reason) {
        HashmapIter it = {};
        Track *t, **list = NULL;
        size_t n = 0, alloc = 0;

        while (hashmap_iterate(m->tracks, &it, (void **) &t, NULL)) {
                if (t->ended || !match(t, arg))
                        continue;
                if (n == alloc) {
                        Track **grown = realloc(list, (alloc = alloc ? alloc * 2 : 8) * sizeof(Track *));

                        if (!grown) {
                                log_oom();
                                break;
                        }
                        list = grown;
                }
                list[n++] = track_ref(t);
        }
        for (size_t i = 0; i < n; i++) {
                track_end(list[i], reason);
                track_unref(list[i]);
        }
        free(list);
        return n;
}

static bool match_owner(Track *t, const void *owner) {
        return streq(t->owner, owner);
}

static bool match_device(Track *t, const void *device) {
        return t->device == device;
}

static bool match_any(Track *t, const void *unused) {
        return true;
}

static bool match_key(Track *t, const void *arg) {
        const TrackKey *k = arg;

        return t->caller->uid == k->uid && t->kind == k->kind && streq(t->caller->app_id, k->app_id) &&
               streq_ptr(t->origin, k->origin) &&
               (!k->hardware_ids || strv_contains(k->hardware_ids, t->device->hardware_id));
}

size_t tracks_end_for_key(Manager *m, const TrackKey *k, TrackEndReason reason) {
        return end_matching(m, match_key, k, reason);
}

void tracks_end_for_owner(Manager *m, const char *owner, TrackEndReason reason) {
        end_matching(m, match_owner, owner, reason);
}

void tracks_drop_owner(Manager *m, const char *owner) {
        HashmapIter it = {};
        Track *t;

        tracks_end_for_owner(m, owner, TRACK_END_CLIENT_GONE);
        while (hashmap_iterate(m->tracks, &it, (void **) &t, NULL))
                if (streq(t->owner, owner))
                        track_forget(m, t); /* removing the current entry is allowed */
}

void tracks_drop_all(Manager *m, TrackEndReason reason) {
        Track *t;

        end_matching(m, match_any, NULL, reason);
        while ((t = hashmap_steal_first(m->tracks)))
                track_unref(t);
}

void tracks_end_for_device(Manager *m, Device *d, TrackEndReason reason) {
        end_matching(m, match_device, d, reason);
}

bool tracks_live_for(Manager *m, const TrackKey *k) {
        HashmapIter it = {};
        Track *t;

        while (hashmap_iterate(m->tracks, &it, (void **) &t, NULL))
                if (!t->ended && match_key(t, k))
                        return true;
        return false;
}

unsigned tracks_count_live(Manager *m, const char *owner, uid_t uid) {
        HashmapIter it = {};
        unsigned n = 0;
        Track *t;

        while (hashmap_iterate(m->tracks, &it, (void **) &t, NULL))
                if (!t->ended && (owner ? streq(t->owner, owner) : t->caller->uid == uid))
                        n++;
        return n;
}

size_t tracks_end_denied(Manager *m, const TrackKey *key, TrackEndReason reason) {
        HashmapIter it = {};
        Track *t, **ending;
        size_t n = 0;

        ending = calloc(hashmap_size(m->tracks) + 1, sizeof(Track *));
        if (!ending)
                return log_oom(), 0;
        while (hashmap_iterate(m->tracks, &it, (void **) &t, NULL)) {
                AccessDecision d;

                if (t->ended || (key && (t->kind != key->kind || t->caller->uid != key->uid ||
                                         !streq(t->caller->app_id, key->app_id) || !streq_ptr(t->origin, key->origin))))
                        continue;
                access_decide(m->policy, m->grants,
                              &(AccessQuery){ .subject = t->caller, .origin = t->origin, .kind = t->kind,
                                              .hardware_id = t->device->hardware_id, .polkit = POLKIT_ANSWER_YES },
                              now_usec(CLOCK_BOOTTIME), &d);
                if (d.outcome == POLICY_DENY)
                        ending[n++] = track_ref(t);
                access_decision_done(&d);
        }
        for (size_t i = 0; i < n; i++) {
                if (reason == TRACK_END_REVOKED)
                        history_record(m, HISTORY_REVOKED, ending[i]->caller, ending[i]->origin, ending[i]->kind,
                                       ending[i]->device->hardware_id, 0, NULL);
                track_end(ending[i], reason);
                track_unref(ending[i]);
        }
        free(ending);
        return n;
}
