/* Access of one consuming app to one source (see access.h). */
#include "access.h"
#include "log.h"
#include "util.h"

struct Access {
        char *app_id;
        AccessState state;
        MgRequest *request;
        MgTrack *track; /* referenced while granted */
        MgError error;
        AccessHandlers handlers;
        void *userdata;
};

static void on_track_ended(MgTrack *t, const char *reason, void *userdata) {
        Access *a = userdata;

        if (a->state != ACCESS_GRANTED)
                return;
        a->state = ACCESS_FAILED;
        mg_error_clear(&a->error);
        a->error.error = -ECONNRESET;
        a->error.name = strdup("Ended");
        if (asprintf(&a->error.message, "the track ended: %s", reason) < 0)
                a->error.message = NULL;
        log_info("Access of %s to %s ended: %s.", a->app_id, mg_track_get_label(t), reason);
        if (a->handlers.ended)
                a->handlers.ended(a, reason, a->userdata);
}

static void on_decided(MgRequest *req, int result, const MgError *error, void *userdata) {
        Access *a = userdata;
        MgTrack *t;

        if (result < 0) {
                a->state = ACCESS_FAILED;
                mg_error_clear(&a->error);
                a->error.error = result;
                a->error.name = strdup(error && error->name ? error->name : "Error");
                a->error.message = strdup(error && error->message ? error->message : strerror(-result));
                log_info("%s was refused: %s: %s", a->app_id, strempty(a->error.name), strempty(a->error.message));
        } else if (!(t = mg_request_get_track(req, 0))) {
                a->state = ACCESS_FAILED;
                a->error.error = -EPROTO;
                a->error.name = strdup("Error");
                a->error.message = strdup("the daemon granted no track");
        } else {
                a->track = mg_track_ref(t);
                (void) mg_track_set_ended_callback(a->track, on_track_ended, a);
                a->state = ACCESS_GRANTED;
                log_info("%s was granted %s.", a->app_id, mg_track_get_label(t));
        }
        if (a->handlers.decided)
                a->handlers.decided(a, a->userdata);
}

int access_start(MgClient *client, const char *app_id, const MgConstraints *constraints, const char *reason,
                 const AccessHandlers *handlers, void *userdata, Access **ret, MgError *err) {
        MgRequestOptions options = { .app_id = app_id, .reason = reason };
        Access *a;
        int r;

        a = new0(Access, 1);
        if (!a)
                return -ENOMEM;
        a->app_id = strdup(app_id);
        if (!a->app_id) {
                free(a);
                return -ENOMEM;
        }
        a->handlers = *handlers;
        a->userdata = userdata;
        a->state = ACCESS_PENDING;
        r = mg_client_get_user_media(client, constraints, &options, &a->request, err);
        if (r < 0) {
                access_free(a);
                return r;
        }
        (void) mg_request_set_callback(a->request, on_decided, a);
        *ret = a;
        return 0;
}

Access *access_free(Access *a) {
        if (!a)
                return NULL;
        if (a->track) {
                (void) mg_track_set_ended_callback(a->track, NULL, NULL);
                (void) mg_track_stop(a->track, NULL);
                mg_track_unref(a->track);
        }
        /* A pending request is closed when its last reference goes. */
        if (a->request)
                (void) mg_request_set_callback(a->request, NULL, NULL);
        mg_request_unref(a->request);
        mg_error_clear(&a->error);
        free(a->app_id);
        free(a);
        return NULL;
}

AccessState access_get_state(const Access *a) {
        return a->state;
}

const char *access_get_app_id(const Access *a) {
        return a->app_id;
}

MgTrack *access_get_track(const Access *a) {
        return a->state == ACCESS_GRANTED ? a->track : NULL;
}

const MgError *access_get_error(const Access *a) {
        return &a->error;
}
