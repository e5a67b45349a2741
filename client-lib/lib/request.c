/* getUserMedia(): Manager.GetUserMedia, the Request object's Response, and waiting for it
 * either blocking or through a callback on the app's loop. */
#include "request.h"

#include <time.h>

#include "client.h"
#include "constraints.h"
#include "mediagate-names.h"
#include "track.h"

#define HANDLE_TOKEN_MAX 64

bool request_token_is_valid(const char *token) {
        size_t n = 0;

        if (!token)
                return false;
        for (const char *p = token; *p; p++, n++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
                        return false;
        return n >= 1 && n <= HANDLE_TOKEN_MAX;
}

int request_path_for(const char *unique_name, const char *token, char **ret) {
        _cleanup_free_ char *sender = NULL;
        char *path;

        if (!unique_name || unique_name[0] != ':' || !unique_name[1] || !request_token_is_valid(token))
                return -EINVAL;
        sender = strdup(unique_name + 1);
        if (!sender)
                return -ENOMEM;
        for (char *p = sender; *p; p++)
                if (*p == '.')
                        *p = '_';
        if (asprintf(&path, MG_REQUEST_PATH_PREFIX "/%s/%s", sender, token) < 0)
                return -ENOMEM;
        *ret = path;
        return 0;
}

/* Give up the tracks of a request that failed or was dropped; the last reference of a live
 * track stops it on the daemon. */
static void request_release_tracks(MgRequest *req) {
        MgTrack **tracks = req->tracks;
        size_t n = req->n_tracks;

        req->tracks = NULL;
        req->n_tracks = req->n_loading = 0;
        for (size_t i = 0; i < n; i++) {
                track_cancel_load(tracks[i], req);
                mg_track_unref(tracks[i]);
        }
        free(tracks);
}

void request_finish(MgRequest *req, int r, const MgError *err) {
        if (req->state == REQUEST_DONE)
                return;

        req->response_slot = sd_bus_slot_unref(req->response_slot);
        req->state = REQUEST_DONE;
        LIST_REMOVE(requests, req->client->requests, req);
        if (r < 0) {
                if (err && err->error < 0)
                        (void) error_copy(&req->error, err);
                else
                        (void) error_set_errno(&req->error, r, "The request failed");
                req->result = req->error.error < 0 ? req->error.error : r;
                request_release_tracks(req);
        } else
                req->result = 0;

        if (req->callback) {
                mg_request_ref(req); /* the callback may drop the app's reference */
                req->callback(req, req->result, &req->error, req->userdata);
                mg_request_unref(req);
        }
}

/* A track of a LOADING request has its properties (r == 0) or failed to get them. */
static void request_track_loaded(MgTrack *t, int r, const MgError *err, void *userdata) {
        MgRequest *req = userdata;

        if (req->state != REQUEST_LOADING)
                return;
        if (r < 0) {
                request_finish(req, r, err);
                return;
        }
        if (--req->n_loading == 0)
                request_finish(req, 0, NULL);
}

/* The daemon left the bus: fail the pending request. */
static void request_daemon_vanished(MgRequest *req) {
        _cleanup_(mg_error_clear) MgError e = MG_ERROR_INIT;

        (void) error_setf(&e, -ECONNABORTED, MG_ERROR_NAME_ABORT, "mediagated left the bus before answering.");
        request_finish(req, e.error, &e);
}

/* mediagated left the bus: every pending request fails, then every track ends. */
static void on_daemon_vanished(MgClient *c) {
        while (c->requests)
                request_daemon_vanished(c->requests);
        tracks_mark_ended(c, "shutdown");
}

/* The client's signals, routed here and to the tracks once a request starts watching. */
static const ClientHandlers client_handlers = {
        .track_ended = track_on_ended_signal,
        .track_properties_changed = track_on_properties_signal,
        .daemon_vanished = on_daemon_vanished,
};

/* What a Response's results carry: tracks (ao) on success, error, message and constraint on
 * failure. */
typedef struct ResponseResults {
        char ***tracks;
        char **error, **message, **constraint;
} ResponseResults;

static int read_track_paths(sd_bus_message *m, char ***tracks) {
        const char *path;
        int r;

        r = sd_bus_message_enter_container(m, 'v', "ao");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "o");
        while (r >= 0) {
                r = sd_bus_message_read_basic(m, 'o', &path);
                if (r <= 0)
                        break;
                r = strv_extend(tracks, path);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r;
}

static int read_response_result(sd_bus_message *m, const char *key, void *userdata) {
        ResponseResults *results = userdata;
        int r;

        if (streq(key, "tracks"))
                r = read_track_paths(m, results->tracks);
        else if (streq(key, "error"))
                r = bus_read_string_variant(m, results->error);
        else if (streq(key, "message"))
                r = bus_read_string_variant(m, results->message);
        else if (streq(key, "constraint"))
                r = bus_read_string_variant(m, results->constraint);
        else
                return 0;
        return r < 0 ? r : 1;
}

/* Response(u response, a{sv} results). */
static int read_response(sd_bus_message *m, uint32_t *ret_response, char ***ret_tracks, char **ret_error,
                         char **ret_message, char **ret_constraint, MgError *err) {
        ResponseResults results = {
                .tracks = ret_tracks,
                .error = ret_error,
                .message = ret_message,
                .constraint = ret_constraint,
        };
        const char *key;
        int r;

        r = sd_bus_message_read(m, "u", ret_response);
        if (r < 0)
                return error_set_protocol(err, "cannot read the Response signal: %s", strerror(-r));
        r = bus_dict_read(m, read_response_result, &results, &key);
        if (r >= 0)
                return 0;
        if (r == -ENOMEM && key)
                return error_set_errno(err, r, NULL);
        if (key)
                return error_set_protocol(err, "Response result '%s' is malformed", key);
        return error_set_protocol(err, "cannot read the Response results: %s", strerror(-r));
}

/* The request was dropped while pending: only make sure that tracks granted after all do not
 * stay open on the daemon, then remove this match. */
static bool track_path_is_valid(const char *path);

static void orphan_on_response(sd_bus_message *m, char **tracks) {
        sd_bus *bus = sd_bus_message_get_bus(m);

        for (char **p = tracks; p && *p; p++)
                if (track_path_is_valid(*p))
                        track_send_stop(bus, *p);
        /* The slot is floating: dropping the bus's reference disconnects it. */
        sd_bus_slot_unref(sd_bus_get_current_slot(bus));
}

static bool track_path_is_valid(const char *path) {
        const char *id = startswith(path, MG_TRACK_PATH_PREFIX "/");

        return id && *id && !strchr(id, '/');
}

/* A Response that is not a success: the error it names, or the spec's for its code. */
static int response_failure(uint32_t response, const char *name, const char *message, const char *constraint,
                            MgError *e) {
        if (isempty(name))
                name = response == MG_RESPONSE_DENIED ? MG_ERROR_NAME_NOT_ALLOWED : MG_ERROR_NAME_ABORT;
        return error_set_response(e, name, message ?: "The request failed.", constraint);
}

/* A successful Response's track paths become the request's tracks. On failure every track the
 * daemon granted is stopped: those not made yet here, the others when the request lets go. */
static int request_take_tracks(MgRequest *req, char **tracks, MgError *e) {
        size_t n = strv_length(tracks);
        int r;

        for (size_t i = 0; i < n; i++)
                if (!track_path_is_valid(tracks[i]))
                        return error_set_protocol(e, "Response names '%s', not a track object", tracks[i]);
        if (n == 0)
                return error_set_protocol(e, "Response succeeded without tracks");

        req->tracks = calloc(n, sizeof(MgTrack *));
        if (!req->tracks) {
                for (size_t i = 0; i < n; i++)
                        track_send_stop(req->client->bus, tracks[i]);
                return error_set_errno(e, -ENOMEM, NULL);
        }
        req->state = REQUEST_LOADING;
        for (size_t i = 0; i < n; i++) {
                MgTrack *t;

                r = track_new(req->client, tracks[i], &t);
                if (r < 0) {
                        for (size_t j = i; j < n; j++)
                                track_send_stop(req->client->bus, tracks[j]);
                        return error_set_errno(e, r, "Failed to set up the tracks");
                }
                req->tracks[req->n_tracks++] = t;
        }
        return 0;
}

/* Every track object exists before the first GetAll goes out, so that a failure of one stops
 * all of them. */
static int request_load_tracks(MgRequest *req, MgError *e) {
        int r;

        for (size_t i = 0; i < req->n_tracks && req->state == REQUEST_LOADING; i++) {
                r = track_load(req->tracks[i], request_track_loaded, req);
                if (r < 0)
                        return error_set_errno(e, r, "Failed to read the track properties");
                req->n_loading++;
        }
        return 0;
}

static int request_on_response(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(mg_error_clear) MgError e = MG_ERROR_INIT;
        _cleanup_strv_free_ char **tracks = NULL;
        _cleanup_free_ char *name = NULL, *message = NULL, *constraint = NULL;
        MgRequest *req = userdata;
        uint32_t response = 0;
        int r;

        r = read_response(m, &response, &tracks, &name, &message, &constraint, &e);
        if (!req) {
                orphan_on_response(m, tracks);
                return 0;
        }
        if (req->state != REQUEST_PENDING)
                return 0;

        mg_request_ref(req);
        req->response_slot = sd_bus_slot_unref(req->response_slot); /* Response comes once */

        if (r < 0) {
                /* Whatever it granted, we cannot tell: stop what we can name. */
                for (char **p = tracks; p && *p; p++)
                        if (track_path_is_valid(*p))
                                track_send_stop(sd_bus_message_get_bus(m), *p);
        } else if (response != MG_RESPONSE_SUCCESS)
                r = response_failure(response, name, message, constraint, &e);
        else {
                r = request_take_tracks(req, tracks, &e);
                if (r >= 0)
                        r = request_load_tracks(req, &e);
        }
        if (r < 0)
                request_finish(req, r, &e);

        mg_request_unref(req);
        return 0;
}

static int request_subscribe(MgRequest *req) {
        sd_bus_slot_unref(req->response_slot);
        req->response_slot = NULL;
        return sd_bus_match_signal(req->client->bus, &req->response_slot, MG_BUS_NAME, req->path,
                                   MG_IFACE_REQUEST, "Response", request_on_response, req);
}

static int append_options(sd_bus_message *m, const char *token, const MgRequestOptions *options) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "{sv}", "handle_token", "s", token);
        if (r < 0)
                return r;
        if (options && options->origin) {
                r = sd_bus_message_append(m, "{sv}", "origin", "s", options->origin);
                if (r < 0)
                        return r;
        }
        if (options && options->reason) {
                r = sd_bus_message_append(m, "{sv}", "reason", "s", options->reason);
                if (r < 0)
                        return r;
        }
        if (options && options->app_id) {
                r = sd_bus_message_append(m, "{sv}", "app_id", "s", options->app_id);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

/* A request object for token, subscribed to its Response before anything is sent (the daemon
 * may answer before the call returns); not yet in the client's list. */
static int request_new(MgClient *c, const char *token, MgRequest **ret, MgError *err) {
        _cleanup_(mg_request_unrefp) MgRequest *req = NULL;
        const char *unique_name;
        int r;

        r = sd_bus_get_unique_name(c->bus, &unique_name);
        if (r < 0)
                return error_set_errno(err, r, "Failed to get the bus connection's unique name");

        req = calloc(1, sizeof(MgRequest));
        if (!req)
                return error_set_errno(err, -ENOMEM, NULL);
        req->n_ref = 1;
        req->client = mg_client_ref(c);
        req->state = REQUEST_DONE; /* until it is in the client's list */
        r = request_path_for(unique_name, token, &req->path);
        if (r < 0)
                return error_set_errno(err, r, "Failed to compute the request path");

        r = request_subscribe(req);
        if (r < 0)
                return error_set_errno(err, r, "Failed to subscribe to the request's Response");

        *ret = TAKE_PTR(req);
        return 0;
}

/* A daemon that did not honour handle_token: follow the path it gave. A Response sent before
 * this point would be lost, which is why docs/dbus-api.md fixes the path. */
static int request_follow_path(MgRequest *req, const char *handle, MgError *err) {
        char *copy;
        int r;

        if (streq(handle, req->path))
                return 0;
        copy = strdup(handle);
        if (!copy)
                return error_set_errno(err, -ENOMEM, "Failed to subscribe to the request's Response");
        free(req->path);
        req->path = copy;
        r = request_subscribe(req);
        if (r < 0)
                return error_set_errno(err, r, "Failed to subscribe to the request's Response");
        return 0;
}

/* GetUserMedia itself: the request is pending from the moment the call is sent. */
static int request_send(MgRequest *req, const MgConstraints *constraints, const char *token,
                        const MgRequestOptions *options, MgError *err) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        MgClient *c = req->client;
        const char *handle;
        int r;

        r = sd_bus_message_new_method_call(c->bus, &m, MG_BUS_NAME, MG_OBJECT_PATH, MG_IFACE_MANAGER, "GetUserMedia");
        if (r < 0)
                return error_set_errno(err, r, "Failed to build GetUserMedia()");
        r = constraints_append_json(m, constraints->root, err);
        if (r < 0)
                return r;
        r = append_options(m, token, options);
        if (r < 0)
                return error_set_errno(err, r, "Failed to build GetUserMedia()");

        req->state = REQUEST_PENDING;
        LIST_PREPEND(requests, c->requests, req);

        r = sd_bus_call(c->bus, m, 0, &error, &reply);
        if (r < 0) {
                r = error_set_bus(err, &error, r);
                request_finish(req, r, err);
                return r;
        }
        r = sd_bus_message_read(reply, "o", &handle);
        if (r < 0)
                r = error_set_protocol(err, "cannot read the GetUserMedia() reply: %s", strerror(-r));
        else
                r = request_follow_path(req, handle, err);
        if (r < 0) {
                request_finish(req, r, err);
                return r;
        }
        return 0;
}

int mg_client_get_user_media(
                MgClient *c,
                const MgConstraints *constraints,
                const MgRequestOptions *options,
                MgRequest **ret,
                MgError *err) {

        /* Tokens only need to be unique on this connection; the path includes its unique name. */
        static unsigned long long token_counter = 0;
        _cleanup_(mg_request_unrefp) MgRequest *req = NULL;
        char generated[HANDLE_TOKEN_MAX + 1];
        const char *token;
        int r;

        if (!c || !constraints || !ret)
                return error_setf(err, -EINVAL, MG_ERROR_NAME_TYPE, "Missing client, constraints or result pointer.");

        if (options && options->handle_token) {
                token = options->handle_token;
                if (!request_token_is_valid(token))
                        return error_setf(err, -EINVAL, MG_ERROR_NAME_TYPE,
                                          "handle_token must be 1 to 64 of [A-Za-z0-9_].");
        } else {
                (void) snprintf(generated, sizeof(generated), "libmediagate_%d_%llu", (int) getpid(), ++token_counter);
                token = generated;
        }

        /* Validate before anything reaches the bus. */
        r = constraints_append_json(NULL, constraints->root, err);
        if (r < 0)
                return r;

        r = client_watch(c, &client_handlers, err);
        if (r < 0)
                return r;
        r = request_new(c, token, &req, err);
        if (r < 0)
                return r;
        r = request_send(req, constraints, token, options, err);
        if (r < 0)
                return r;

        mg_error_clear(err);
        *ret = TAKE_PTR(req);
        return 0;
}

MgRequest *mg_request_ref(MgRequest *r) {
        if (r)
                r->n_ref++;
        return r;
}

/* Dropped while pending: withdraw it on the daemon (Close) and leave the Response match behind,
 * without the request, so that tracks granted before the Close arrived are stopped. */
static void request_abandon(MgRequest *req) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus *bus = req->client->bus;

        if (sd_bus_message_new_method_call(bus, &m, MG_BUS_NAME, req->path, MG_IFACE_REQUEST, "Close") >= 0 &&
            sd_bus_message_set_expect_reply(m, 0) >= 0)
                (void) sd_bus_send(bus, m, NULL);

        if (req->response_slot) {
                /* Floating, the bus keeps it; should that fail, dropping it just loses the
                 * safety net. */
                sd_bus_slot_set_userdata(req->response_slot, NULL);
                (void) sd_bus_slot_set_floating(req->response_slot, 1);
                req->response_slot = sd_bus_slot_unref(req->response_slot);
        }
}

MgRequest *mg_request_unref(MgRequest *req) {
        if (!req || --req->n_ref > 0)
                return NULL;

        if (req->state == REQUEST_PENDING)
                request_abandon(req);
        if (req->state != REQUEST_DONE)
                LIST_REMOVE(requests, req->client->requests, req);
        req->response_slot = sd_bus_slot_unref(req->response_slot);
        request_release_tracks(req);
        mg_error_clear(&req->error);
        free(req->path);
        mg_client_unref(req->client);
        free(req);
        return NULL;
}

int mg_request_set_callback(MgRequest *r, MgRequestCallback callback, void *userdata) {
        if (!r)
                return -EINVAL;
        r->callback = callback;
        r->userdata = userdata;
        return 0;
}

bool mg_request_is_done(const MgRequest *r) {
        return r && r->state == REQUEST_DONE;
}

int mg_request_get_result(const MgRequest *r, MgError *err) {
        if (!r)
                return error_set_errno(err, -EINVAL, NULL);
        if (r->state != REQUEST_DONE)
                return -EAGAIN;
        if (r->result < 0) {
                (void) error_copy(err, &r->error);
                return r->result;
        }
        mg_error_clear(err);
        return 0;
}

const char *mg_request_get_path(const MgRequest *r) {
        return r ? strempty(r->path) : "";
}

size_t mg_request_get_n_tracks(const MgRequest *r) {
        return r && r->state == REQUEST_DONE && r->result == 0 ? r->n_tracks : 0;
}

MgTrack *mg_request_get_track(const MgRequest *r, size_t i) {
        if (i >= mg_request_get_n_tracks(r))
                return NULL;
        return r->tracks[i];
}

static uint64_t now_monotonic_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

int mg_request_wait(MgRequest *req, uint64_t timeout_usec, MgError *err) {
        _cleanup_(mg_request_unrefp) MgRequest *ref = NULL;
        uint64_t deadline = UINT64_MAX;
        int r;

        if (!req)
                return error_set_errno(err, -EINVAL, NULL);
        ref = mg_request_ref(req); /* a callback may drop the app's reference */

        if (timeout_usec != MG_WAIT_FOREVER) {
                uint64_t now = now_monotonic_usec();

                deadline = timeout_usec > UINT64_MAX - now ? UINT64_MAX : now + timeout_usec;
        }

        while (req->state != REQUEST_DONE) {
                uint64_t now;

                r = sd_bus_process(req->client->bus, NULL);
                if (r < 0) {
                        /* The connection is gone (or we were called from inside a dispatch): the
                         * request cannot be answered any more. */
                        _cleanup_(mg_error_clear) MgError e = MG_ERROR_INIT;

                        if (r == -EBUSY)
                                return error_setf(err, r, "System.Error.EBUSY",
                                                  "mg_request_wait() called from inside a bus callback.");
                        r = error_set_errno(&e, r, "Lost the bus connection");
                        request_finish(req, r, &e);
                        break;
                }
                if (r > 0)
                        continue;

                now = now_monotonic_usec();
                if (now >= deadline)
                        return error_setf(err, -ETIMEDOUT, "System.Error.ETIMEDOUT",
                                          "The request is still pending.");
                r = sd_bus_wait(req->client->bus, deadline == UINT64_MAX ? UINT64_MAX : deadline - now);
                if (r < 0 && r != -EINTR) {
                        _cleanup_(mg_error_clear) MgError e = MG_ERROR_INIT;

                        r = error_set_errno(&e, r, "Failed to wait on the bus");
                        request_finish(req, r, &e);
                        break;
                }
        }

        return mg_request_get_result(req, err);
}

int mg_request_close(MgRequest *req, MgError *err) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (!req)
                return error_set_errno(err, -EINVAL, NULL);
        if (req->state != REQUEST_PENDING) {
                mg_error_clear(err);
                return 0;
        }
        r = sd_bus_call_method(req->client->bus, MG_BUS_NAME, req->path, MG_IFACE_REQUEST, "Close", &error, NULL, "");
        /* Gone already: its Response is on the way. */
        if (r < 0 && !sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_METHOD))
                return error_set_bus(err, &error, r);
        mg_error_clear(err);
        return 0;
}
