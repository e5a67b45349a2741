/* The whole flow, blocking: ask for media with JavaScript-style constraints, wait for the
 * decision, show the tracks, read a few frames from the first one, stop.
 *
 *     capture ['{"video":{"width":{"min":1280}}}' [FRAMES]]
 *
 * MEDIAGATE_BUS=session talks to a development daemon on the session bus. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mediagate.h>

static int fail(const char *what, int r, const MgError *err) {
        if (err && err->name)
                fprintf(stderr, "capture: %s: %s: %s\n", what, err->name, err->message);
        else
                fprintf(stderr, "capture: %s: %s\n", what, strerror(-r));
        return EXIT_FAILURE;
}

static void print_track(MgTrack *t) {
        const MgTrackSettings *s = mg_track_get_settings(t);

        printf("track %s: %s \"%s\"\n", mg_track_get_path(t), mg_track_get_kind(t), mg_track_get_label(t));
        if (strcmp(mg_track_get_kind(t), "video") == 0)
                printf("  %" PRIu32 "x%" PRIu32 " @ %.2f fps, resizeMode %s, facingMode %s\n", s->width, s->height,
                       s->frame_rate, s->resize_mode, *s->facing_mode ? s->facing_mode : "(none)");
        else
                printf("  %" PRIu32 " Hz, %" PRIu32 " channel(s), %" PRIu32 " bits\n", s->sample_rate,
                       s->channel_count, s->sample_size);
}

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void print_format(const MgStream *stream) {
        const MgStreamFormat *f = mg_stream_get_format(stream);

        if (f->video)
                printf("stream: %s %" PRIu32 "x%" PRIu32 " stride %" PRIu32 ", %" PRIu32 " slots\n", f->fourcc,
                       f->width, f->height, f->stride, f->slots);
        else
                printf("stream: %s %" PRIu32 " Hz x %" PRIu32 ", %" PRIu32 " frames per slot, %" PRIu32 " slots\n",
                       f->sample_format, f->rate, f->channels, f->frames_per_slot, f->slots);
}

/* Read and show n_frames frames, or until the stream ends. Each call releases the frame the
 * previous one returned. */
static int read_frames(MgStream *stream, int n_frames) {
        MgFrame frame;
        int r;

        for (int i = 0; i < n_frames; i++) {
                r = mg_stream_next_frame(stream, 5000, &frame);
                if (r == MG_STREAM_ENDED) {
                        printf("ended: %s\n", mg_stream_get_ended_reason(stream));
                        break;
                }
                if (r < 0)
                        return r;
                printf("frame %" PRIu64 ": %" PRIu32 " bytes, %.1f ms old, %" PRIu64 " dropped%s\n", frame.sequence,
                       frame.bytes, (double) (now_ns() - frame.timestamp_ns) / 1e6, frame.dropped,
                       frame.flags & MG_FRAME_FLAG_BLACK ? " (black)" : "");
        }
        return 0;
}

int main(int argc, char *argv[]) {
        const char *json = argc > 1 ? argv[1] : "{\"video\":true}";
        int n_frames = argc > 2 ? atoi(argv[2]) : 10;
        MgError err = MG_ERROR_INIT;
        MgClient *client = NULL;
        MgConstraints *constraints = NULL;
        MgRequest *request = NULL;
        MgStream *stream = NULL;
        MgTrack *track;
        int r, ret = EXIT_FAILURE;

        r = mg_client_new(&client, MG_BUS_DEFAULT);
        if (r < 0)
                return fail("connect", r, NULL);

        r = mg_constraints_new_from_json(&constraints, json, &err);
        if (r < 0) {
                ret = fail("constraints", r, &err);
                goto finish;
        }

        /* getUserMedia(): errors of the call itself come back here ... */
        r = mg_client_get_user_media(client, constraints,
                                     &(MgRequestOptions) { .reason = "The libmediagate capture example" },
                                     &request, &err);
        if (r < 0) {
                ret = fail("getUserMedia", r, &err);
                goto finish;
        }
        /* ... the decision later, after the user or the policy answered. */
        r = mg_request_wait(request, MG_WAIT_FOREVER, &err);
        if (r < 0) {
                ret = fail("getUserMedia", r, &err);
                if (err.constraint)
                        fprintf(stderr, "capture: failing constraint: '%s'\n", err.constraint);
                goto finish;
        }

        for (size_t i = 0; i < mg_request_get_n_tracks(request); i++)
                print_track(mg_request_get_track(request, i));

        track = mg_request_get_track(request, 0);
        r = mg_track_open(track, &stream, &err);
        if (r < 0) {
                ret = fail("open", r, &err);
                goto finish;
        }
        print_format(stream);

        r = read_frames(stream, n_frames);
        if (r < 0) {
                ret = fail("frame", r, NULL);
                goto finish;
        }

        r = mg_track_stop(track, &err);
        if (r < 0) {
                ret = fail("stop", r, &err);
                goto finish;
        }
        ret = EXIT_SUCCESS;

finish:
        mg_stream_free(stream);
        mg_request_unref(request);
        mg_constraints_free(constraints);
        mg_client_unref(client);
        mg_error_clear(&err);
        return ret;
}
