/* `mediactl snapshot FILE.png`: one frame of a camera, converted to RGB and written as PNG with
 * libpng. */
#include <getopt.h>
#include <inttypes.h>
#include <png.h>
#include <stdlib.h>

#include "mediactl.h"

#define SNAPSHOT_TIMEOUT_MS 10000

static int write_png(const char *path, const uint8_t *rgb, uint32_t width, uint32_t height, MgError *err) {
        png_image image = {
                .version = PNG_IMAGE_VERSION,
                .width = width,
                .height = height,
                .format = PNG_FORMAT_RGB,
        };
        _cleanup_fclose_ FILE *f = NULL;
        int ok;

        f = fopen(path, "we");
        if (!f)
                return set_error_errno(err, -errno, "Failed to create %s: %m", path);
        ok = png_image_write_to_stdio(&image, f, 0, rgb, 0, NULL);
        if (ok && fflush(f) == 0 && !ferror(f))
                return 0;
        (void) unlink(path);
        if (!ok) {
                int r = set_error_errno(err, -EIO, "Failed to write %s: %s", path, image.message);

                png_image_free(&image);
                return r;
        }
        return set_error_errno(err, -EIO, "Failed to write %s", path);
}

/* The first frame, or why none came. */
static int wait_for_frame(MgStream *stream, MgFrame *ret, MgError *err) {
        int r;

        r = mg_stream_next_frame(stream, SNAPSHOT_TIMEOUT_MS, ret);
        if (r == MG_STREAM_FRAME)
                return 0;
        if (r == MG_STREAM_ENDED)
                return set_error_errno(err, -ENODATA, "The track ended (%s) before a frame arrived",
                                 strempty(mg_stream_get_ended_reason(stream)));
        if (r == -EAGAIN && mg_stream_is_muted(stream))
                return set_error_errno(err, -ETIMEDOUT,
                                 "No frame: the camera is muted (the privacy switch is on: mediactl mute camera off)");
        if (r == -EAGAIN)
                return set_error_errno(err, -ETIMEDOUT, "No frame within %d s",
                                 SNAPSHOT_TIMEOUT_MS / 1000);
        return set_error_errno(err, r, "Failed to read the stream: %s", strerror(-r));
}

static void help(void) {
        printf("mediactl snapshot FILE.png [--video JSON] [--origin ORIGIN] [--reason TEXT] [--json[=pretty|short]]\n\n"
               "Ask for a camera, take one frame and write it as a PNG image.\n\n"
               "  --video JSON     Camera constraints, as in JavaScript (default: true)\n"
               "  --origin ORIGIN  Ask on behalf of a web origin (trusted brokers only)\n"
               "  --reason TEXT    Why, shown to the user in the prompt\n"
               OUTPUT_OPTIONS_HELP
               "  -h --help        Show this help\n");
}

/* Options into args and *ret_path; 1 to go on, 0 after --help, -EINVAL (said) otherwise. */
static int parse_snapshot_arguments(Context *ctx, int argc, char *argv[], MediaArgs *args, const char **ret_path) {
        static const struct option options[] = {
                { "video", required_argument, NULL, ARG_MEDIA_VIDEO },
                { "origin", required_argument, NULL, ARG_MEDIA_ORIGIN },
                { "reason", required_argument, NULL, ARG_MEDIA_REASON },
                {},
        };
        static const VerbSyntax syntax = {
                .name = "snapshot", .help = help, .output = true, .options = options, .on_option = media_option,
                .min_operands = 1, .max_operands = 1, .operands = "one file name",
        };
        int r;

        r = parse_verb(ctx, &syntax, argc, argv, args);
        if (r > 0)
                *ret_path = argv[optind];
        return r;
}

static int print_snapshot(const Context *ctx, MgTrack *track, const MgStreamFormat *format, const MgFrame *frame,
                          const char *path) {
        if (ctx->json) {
                json_object *o = json_object_new_object();

                if (o && (json_add_string(o, "file", path) < 0 ||
                          json_add(o, "width", json_object_new_int64(format->width)) < 0 ||
                          json_add(o, "height", json_object_new_int64(format->height)) < 0 ||
                          json_add_string(o, "fourcc", format->fourcc) < 0 ||
                          json_add(o, "sequence", json_object_new_uint64(frame->sequence)) < 0 ||
                          json_add(o, "timestamp_ns", json_object_new_uint64(frame->timestamp_ns)) < 0 ||
                          json_add(o, "track", track_to_json(track)) < 0)) {
                        json_object_put(o);
                        o = NULL;
                }
                return print_json(o);
        }

        _cleanup_free_ char *label = terminal_safe(mg_track_get_label(track));

        printf("mediactl snapshot: frame %" PRIu64 " of %s, %" PRIu32 "x%" PRIu32 " %s, written to %s\n",
               frame->sequence, strempty(label), format->width, format->height, format->fourcc, path);
        return fflush(stdout) == 0 ? EXIT_SUCCESS : print_errno(-EIO, "Failed to write the output");
}

/* The first frame of the track, as RGB into path. Returns an exit code. */
static int take_snapshot(const Context *ctx, MgTrack *track, const char *path) {
        _cleanup_(mg_stream_freep) MgStream *stream = NULL;
        _cleanup_(mg_error_clear) MgError err = MG_ERROR_INIT;
        _cleanup_free_ uint8_t *rgb = NULL;
        const MgStreamFormat *format;
        MgFrame frame;
        int r;

        r = mg_track_open(track, &stream, &err);
        if (r >= 0)
                r = wait_for_frame(stream, &frame, &err);
        if (r < 0)
                return print_error(&err, r);
        format = mg_stream_get_format(stream);
        rgb = malloc((size_t) format->width * format->height * 3);
        if (!rgb)
                return print_errno(-ENOMEM, "Failed to convert the frame");
        r = video_frame_to_rgb(format, frame.data, frame.bytes, rgb);
        if (r < 0)
                return print_errno(r, r == -EOPNOTSUPP ? "Cannot convert this pixel format" : "The frame is too short");
        r = write_png(path, rgb, format->width, format->height, &err);
        if (r < 0)
                return print_error(&err, r);
        return print_snapshot(ctx, track, format, &frame, path);
}

int verb_snapshot(Context *ctx, int argc, char *argv[]) {
        _cleanup_(mg_client_unrefp) MgClient *client = NULL;
        _cleanup_(mg_request_unrefp) MgRequest *req = NULL;
        _cleanup_(mg_error_clear) MgError err = MG_ERROR_INIT;
        MediaArgs args = { .video = "true" };
        const char *path;
        MgTrack *track;
        int r, ret;

        r = parse_snapshot_arguments(ctx, argc, argv, &args, &path);
        if (r <= 0)
                return parse_verb_exit(r);

        r = context_connect(ctx, &client);
        if (r < 0)
                return EXIT_FAILURE;
        r = media_request(client, &args, &req, &err);
        if (r < 0)
                return print_media_error(&err, r, ctx->json);
        track = media_request_find_track(req, "video");
        if (track)
                ret = take_snapshot(ctx, track, path);
        else {
                /* --video false: the daemon said TypeError already; this only guards the rest. */
                fprintf(stderr, "mediactl: System.Error.ENODEV: No camera track was granted.\n");
                ret = EXIT_FAILURE;
        }
        for (size_t i = 0; i < mg_request_get_n_tracks(req); i++)
                (void) mg_track_stop(mg_request_get_track(req, i), NULL);
        return ret;
}
