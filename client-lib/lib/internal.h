/* libmediagate's private declarations: the object layouts and the helpers the library files
 * share. Nothing here is exported (the version script keeps only mg_*). */
#pragma once

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "bus-dict.h"
#include "mediagate.h"
#include "util.h"

DEFINE_CLEANUP_FUNC(MgClient, mg_client_unref);
DEFINE_CLEANUP_FUNC(MgRequest, mg_request_unref);
DEFINE_CLEANUP_FUNC(MgTrack, mg_track_unref);
DEFINE_CLEANUP_FUNC(MgStream, mg_stream_free);
DEFINE_CLEANUP_FUNC(MgConstraints, mg_constraints_free);
DEFINE_CLEANUP_FUNC(MgDeviceList, mg_device_list_free);
DEFINE_CLEANUP_FUNC(json_object, json_object_put);

/* Intrusive doubly linked lists: the client's pending requests and its tracks. */
#define LIST_FIELDS(t, name) t *name##_next, *name##_prev
#define LIST_PREPEND(name, head, item)                                  \
        do {                                                            \
                (item)->name##_next = (head);                           \
                (item)->name##_prev = NULL;                             \
                if (head)                                               \
                        (head)->name##_prev = (item);                   \
                (head) = (item);                                        \
        } while (false)
#define LIST_REMOVE(name, head, item)                                   \
        do {                                                            \
                if ((item)->name##_next)                                \
                        (item)->name##_next->name##_prev = (item)->name##_prev; \
                if ((item)->name##_prev)                                \
                        (item)->name##_prev->name##_next = (item)->name##_next; \
                else                                                    \
                        (head) = (item)->name##_next;                   \
                (item)->name##_next = (item)->name##_prev = NULL;       \
        } while (false)

/* ---- error.c ---- */

/* Each of these clears err (may be NULL), fills it, and returns the negative errno, so that
 * `return error_set...(err, ...)` reports and fails in one step. */
int error_setf(MgError *err, int error, const char *name, const char *format, ...) _printf_(4, 5);
/* name NULL: "System.Error.E..." for the errno. */
int error_set_errno(MgError *err, int error, const char *context);
/* A D-Bus error: our names become the short spec names. error is the call's return value. */
int error_set_bus(MgError *err, const sd_bus_error *e, int error);
/* The failure a Response carried: results["error"], ["message"], ["constraint"]. */
int error_set_response(MgError *err, const char *name, const char *message, const char *constraint);
/* The daemon sent something malformed. */
int error_set_protocol(MgError *err, const char *format, ...) _printf_(2, 3);
int error_copy(MgError *dst, const MgError *src);
/* errno for a short error name of ours ("NotAllowedError" → -EACCES); -EIO if unknown. */
int error_short_name_to_errno(const char *name);

/* ---- capabilities.c (the a{sv} readers themselves are common/bus-dict.h's) ---- */

/* Capabilities: the a{sv} of getCapabilities(), entries of shapes we do not know skipped. */
int bus_read_capabilities(sd_bus_message *m, MgCapability **ret, size_t *ret_n);
void capabilities_free(MgCapability *caps, size_t n);

/* ---- constraints.c ---- */

struct MgConstraints {
        json_object *root; /* always an object */
};

/* Append the a{sv} for a JSON object (MediaStreamConstraints or MediaTrackConstraints). With
 * m == NULL only validates. Invalid shapes are TypeErrors with the property path in the
 * message. */
int constraints_append_json(sd_bus_message *m, json_object *object, MgError *err);
/* Parse JSON text into an object, strictly (SyntaxError / TypeError). */
int constraints_parse_json(const char *json, json_object **ret, MgError *err);

/* ---- client.c ---- */

struct MgClient {
        unsigned n_ref;
        sd_bus *bus;

        /* Installed before the first GetUserMedia, so that no signal of a new track is missed. */
        bool watching;
        sd_bus_slot *track_ended_slot;
        sd_bus_slot *track_properties_slot;
        sd_bus_slot *owner_slot;

        sd_bus_slot *devices_changed_slot;
        MgDevicesChangedCallback devices_changed;
        void *devices_changed_userdata;

        MgRequest *requests; /* pending, not referenced */
        MgTrack *tracks;     /* every track object alive, not referenced */
};

int client_watch(MgClient *c, MgError *err);

/* ---- request.c ---- */

typedef enum RequestState {
        REQUEST_PENDING, /* waiting for Response */
        REQUEST_LOADING, /* Response said yes; reading the tracks' properties */
        REQUEST_DONE,
} RequestState;

struct MgRequest {
        unsigned n_ref;
        MgClient *client;
        char *path;
        sd_bus_slot *response_slot;
        RequestState state;
        int result;
        MgError error;
        MgTrack **tracks;
        size_t n_tracks;
        size_t n_loading;
        MgRequestCallback callback;
        void *userdata;
        LIST_FIELDS(MgRequest, requests);
};

/* The request is decided: r is 0 or a negative errno described by err. */
void request_finish(MgRequest *req, int r, const MgError *err);
/* A track of a LOADING request has its properties (r == 0) or failed to get them. */
void request_track_loaded(MgRequest *req, int r, const MgError *err);
/* The daemon left the bus: fail the pending request. */
void request_daemon_vanished(MgRequest *req);
/* Is this a valid handle_token ([A-Za-z0-9_]{1,64})? */
bool request_token_is_valid(const char *token);
/* The request path for a unique name and token (api.md). */
int request_path_for(const char *unique_name, const char *token, char **ret);

/* ---- track.c ---- */

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
        MgRequest *loading_request; /* not referenced: the request references us */

        LIST_FIELDS(MgTrack, tracks);
};

int track_new(MgClient *c, const char *path, MgTrack **ret);
/* Read every property of the track (GetAll) asynchronously, then tell req. */
int track_load(MgTrack *t, MgRequest *req);
/* Update from an a{sv} of properties (GetAll reply or PropertiesChanged). */
int track_update_properties(MgTrack *t, sd_bus_message *m, MgError *err);
/* The daemon ended it (Ended signal, or it left the bus: reason "shutdown"). */
void track_mark_ended(MgTrack *t, const char *reason);
MgTrack *client_find_track(MgClient *c, const char *path);
/* Fire-and-forget Track.Stop() for a track path nobody holds. */
void track_send_stop(sd_bus *bus, const char *path);

/* ---- stream.c ---- */

/* Read Track.Open()'s format a{sv} strictly: every key of api.md, as 'u'/'s'. */
int stream_format_parse(sd_bus_message *m, MgStreamFormat *ret, MgError *err);
/* Build a stream from a control socket and a pool the caller hands over (always consumed,
 * also on failure): checks the socket type, the pool's size and its shrink seal, maps it. */
int stream_new(int control_fd, int pool_fd, const MgStreamFormat *format, MgStream **ret, MgError *err);
