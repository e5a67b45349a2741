/* The same flow on the app's own sd_event loop: the request answers through a callback, every
 * track's stream is an I/O source, and nothing blocks.
 *
 *     capture-async ['{"audio":true,"video":true}' [FRAMES_PER_TRACK]] */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mediagate.h>

#define MAX_TRACKS 4

typedef struct Capture {
        sd_event *event;
        MgTrack *track;
        MgStream *stream;
        sd_event_source *source;
        int frames;
} Capture;

static Capture captures[MAX_TRACKS];
static size_t n_captures;
static int frames_wanted = 30;

static void done(sd_event *e, int code) {
        sd_event_exit(e, code);
}

static bool all_done(void) {
        for (size_t i = 0; i < n_captures; i++)
                if (captures[i].stream && captures[i].frames < frames_wanted)
                        return false;
        return true;
}

/* The control socket is readable: drain what is there without waiting. */
static int on_stream(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Capture *c = userdata;
        MgFrame frame;
        int r;

        for (;;) {
                r = mg_stream_next_frame(c->stream, 0, &frame);
                if (r == -EAGAIN)
                        return 0;
                if (r == MG_STREAM_ENDED) {
                        printf("%s ended: %s\n", mg_track_get_kind(c->track), mg_stream_get_ended_reason(c->stream));
                        c->source = sd_event_source_disable_unref(c->source);
                        c->stream = mg_stream_free(c->stream);
                        if (all_done())
                                done(c->event, 0);
                        return 0;
                }
                if (r < 0) {
                        fprintf(stderr, "capture-async: %s stream: %s\n", mg_track_get_kind(c->track), strerror(-r));
                        done(c->event, 1);
                        return 0;
                }
                if (++c->frames <= frames_wanted)
                        printf("%s frame %" PRIu64 ": %" PRIu32 " bytes\n", mg_track_get_kind(c->track),
                               frame.sequence, frame.bytes);
                if (all_done()) {
                        done(c->event, 0);
                        return 0;
                }
        }
}

static void on_ended(MgTrack *t, const char *reason, void *userdata) {
        printf("%s track ended by the daemon: %s\n", mg_track_get_kind(t), reason);
}

static void on_decided(MgRequest *request, int result, const MgError *error, void *userdata) {
        sd_event *e = userdata;
        MgError err = MG_ERROR_INIT;
        int r;

        if (result < 0) {
                fprintf(stderr, "capture-async: getUserMedia: %s: %s\n", error->name, error->message);
                done(e, 1);
                return;
        }

        for (size_t i = 0; i < mg_request_get_n_tracks(request) && n_captures < MAX_TRACKS; i++) {
                Capture *c = &captures[n_captures];

                c->event = e;
                c->track = mg_track_ref(mg_request_get_track(request, i));
                (void) mg_track_set_ended_callback(c->track, on_ended, NULL);
                r = mg_track_open(c->track, &c->stream, &err);
                if (r < 0) {
                        fprintf(stderr, "capture-async: open: %s: %s\n", err.name, err.message);
                        mg_error_clear(&err);
                        done(e, 1);
                        return;
                }
                r = sd_event_add_io(e, &c->source, mg_stream_get_fd(c->stream), EPOLLIN, on_stream, c);
                if (r < 0) {
                        fprintf(stderr, "capture-async: %s\n", strerror(-r));
                        done(e, 1);
                        return;
                }
                n_captures++;
                printf("%s: \"%s\"\n", mg_track_get_kind(c->track), mg_track_get_label(c->track));
        }
}

int main(int argc, char *argv[]) {
        const char *json = argc > 1 ? argv[1] : "{\"audio\":true,\"video\":true}";
        MgError err = MG_ERROR_INIT;
        MgClient *client = NULL;
        MgConstraints *constraints = NULL;
        MgRequest *request = NULL;
        sd_event *e = NULL;
        int r, ret = EXIT_FAILURE;

        if (argc > 2)
                frames_wanted = atoi(argv[2]);

        r = sd_event_default(&e);
        if (r >= 0) {
                sigset_t mask;

                sigemptyset(&mask);
                sigaddset(&mask, SIGINT);
                sigaddset(&mask, SIGTERM);
                sigprocmask(SIG_BLOCK, &mask, NULL);
                r = sd_event_add_signal(e, NULL, SIGINT, NULL, NULL);
        }
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = mg_client_new(&client, MG_BUS_DEFAULT);
        if (r >= 0)
                r = mg_client_attach_event(client, e, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                fprintf(stderr, "capture-async: setup: %s\n", strerror(-r));
                goto finish;
        }

        r = mg_constraints_new_from_json(&constraints, json, &err);
        if (r >= 0)
                r = mg_client_get_user_media(client, constraints, NULL, &request, &err);
        if (r < 0) {
                fprintf(stderr, "capture-async: getUserMedia: %s: %s\n", err.name, err.message);
                goto finish;
        }
        /* Before the loop runs again, so that the answer cannot slip by. */
        (void) mg_request_set_callback(request, on_decided, e);

        r = sd_event_loop(e);
        ret = r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;

finish:
        for (size_t i = 0; i < n_captures; i++) {
                sd_event_source_disable_unref(captures[i].source);
                mg_stream_free(captures[i].stream);
                (void) mg_track_stop(captures[i].track, NULL);
                mg_track_unref(captures[i].track);
        }
        mg_request_unref(request);
        mg_constraints_free(constraints);
        mg_client_unref(client);
        sd_event_unref(e);
        mg_error_clear(&err);
        return ret;
}
