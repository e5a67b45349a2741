/* `mediactl record`: camera to a Y4M file (YUV4MPEG2, planar 4:2:2 or 4:2:0) and microphone to
 * a WAV file (PCM S16_LE) for N seconds, on an sd_event loop; says what it received. Either file
 * may be "-", standard output, for a pipe into another program: every message then goes to
 * standard error. */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "mediactl.h"

#define WAV_HEADER_SIZE 44
#define RECORD_SECONDS_MAX 86400u
/* The sizes a WAV header says when it goes into a pipe and cannot be corrected at the end: "as
 * long as the stream", which ffmpeg and sox read that way. */
#define WAV_SIZE_STREAMING UINT32_MAX
#define STDOUT_PATH "-"

typedef struct Recorder Recorder;

typedef struct Recording {
        Recorder *recorder;
        const char *kind; /* "video", "audio" */
        const char *path;  /* "-": standard output */
        MgTrack *track;   /* borrowed from the request */
        MgStream *stream;
        sd_event_source *source;
        FILE *file;
        MgStreamFormat format; /* as the file's header says */
        uint8_t *planar;       /* video: one frame in Y4M's layout */
        size_t planar_size;

        uint64_t frames, bytes, dropped, black_frames;
        uint64_t data_bytes; /* audio: bytes in the WAV data chunk */
        bool was_muted;
        char *ended;         /* why the stream ended, NULL while it runs */
        char *failure;       /* why we stopped writing this file, NULL while all is well */
} Recording;

struct Recorder {
        sd_event *event;
        Recording recordings[2];
        size_t n_recordings;
        uint64_t started_usec, stopped_usec;
        const char *stop_reason; /* "time", "signal", "ended", "error" */
};

static void recorder_stop(Recorder *rec, const char *reason) {
        if (rec->stop_reason)
                return;
        rec->stop_reason = reason;
        rec->stopped_usec = now_usec(CLOCK_MONOTONIC);
        (void) sd_event_exit(rec->event, 0);
}

static void recording_fail(Recorder *rec, Recording *r, const char *format, ...) _printf_(3, 4);
static void recording_fail(Recorder *rec, Recording *r, const char *format, ...) {
        va_list ap;

        if (!r->failure) {
                va_start(ap, format);
                if (vasprintf(&r->failure, format, ap) < 0)
                        r->failure = NULL;
                va_end(ap);
        }
        recorder_stop(rec, "error");
}

/* ---- the files ---- */

/* data_bytes WAV_SIZE_STREAMING: a header for a pipe, whose sizes are never corrected. */
static int wav_write_header(FILE *f, const MgStreamFormat *fmt, uint32_t data_bytes) {
        uint8_t h[WAV_HEADER_SIZE];
        uint32_t block_align = fmt->channels * 2;

        memcpy(h, "RIFF", 4);
        mg_wire_put32(h + 4, data_bytes == WAV_SIZE_STREAMING ? WAV_SIZE_STREAMING : 36 + data_bytes);
        memcpy(h + 8, "WAVEfmt ", 8);
        mg_wire_put32(h + 16, 16);                        /* fmt chunk size */
        h[20] = 1, h[21] = 0;                             /* PCM */
        h[22] = (uint8_t) fmt->channels, h[23] = (uint8_t) (fmt->channels >> 8);
        mg_wire_put32(h + 24, fmt->rate);
        mg_wire_put32(h + 28, fmt->rate * block_align);  /* bytes per second */
        h[32] = (uint8_t) block_align, h[33] = (uint8_t) (block_align >> 8);
        h[34] = 16, h[35] = 0;                            /* bits per sample */
        memcpy(h + 36, "data", 4);
        mg_wire_put32(h + 40, data_bytes);

        if (data_bytes != WAV_SIZE_STREAMING && fseek(f, 0, SEEK_SET) < 0)
                return -errno;
        if (fwrite(h, 1, sizeof h, f) != sizeof h)
                return -errno ?: -EIO;
        return 0;
}

static int recording_start_file(Recording *r, const MgTrackSettings *settings) {
        const MgStreamFormat *fmt = &r->format;

        if (streq(r->kind, "video")) {
                const char *chroma = video_y4m_chroma(fmt);
                uint32_t num, den;

                if (!chroma || video_frame_min_size(fmt) == 0)
                        return -EOPNOTSUPP;
                r->planar_size = video_planar_size(fmt);
                r->planar = malloc(r->planar_size);
                if (!r->planar)
                        return -ENOMEM;
                frame_rate_to_fraction(settings->frame_rate, &num, &den);
                if (fprintf(r->file, "YUV4MPEG2 W%" PRIu32 " H%" PRIu32 " F%" PRIu32 ":%" PRIu32 " Ip A1:1 C%s\n",
                            fmt->width, fmt->height, num, den, chroma) < 0)
                        return -EIO;
                return 0;
        }

        if (!streq(fmt->sample_format, "S16_LE") || fmt->channels == 0 || fmt->channels > UINT16_MAX / 2 ||
            fmt->rate == 0)
                return -EOPNOTSUPP;
        /* Sizes 0 for now, patched when the recording ends; a pipe cannot be patched. */
        return wav_write_header(r->file, fmt, streq(r->path, STDOUT_PATH) ? WAV_SIZE_STREAMING : 0);
}

static void recording_write(Recorder *rec, Recording *r, const MgFrame *frame) {
        if (r->failure)
                return;

        if (streq(r->kind, "video")) {
                const MgStreamFormat *now = mg_stream_get_format(r->stream);
                int e;

                if (now->width != r->format.width || now->height != r->format.height ||
                    !streq(now->fourcc, r->format.fourcc))
                        return recording_fail(rec, r, "the format changed to %" PRIu32 "x%" PRIu32 " %s, which one Y4M file cannot hold",
                                              now->width, now->height, now->fourcc);
                e = video_frame_to_planar(&r->format, frame->data, frame->bytes, r->planar);
                if (e < 0)
                        return recording_fail(rec, r, "frame %" PRIu64 " is shorter than its format says", frame->sequence);
                if (fputs("FRAME\n", r->file) == EOF || fwrite(r->planar, 1, r->planar_size, r->file) != r->planar_size)
                        return recording_fail(rec, r, "failed to write %s: %m", r->path);
                return;
        }

        if (frame->bytes % (r->format.channels * 2) != 0)
                return recording_fail(rec, r, "an audio period of %" PRIu32 " bytes is not whole samples", frame->bytes);
        /* A WAV file ends at 4 GiB; stop there rather than write a header that lies. */
        if (r->data_bytes + frame->bytes > UINT32_MAX - 36)
                return recording_fail(rec, r, "%s reached the 4 GiB limit of WAV files", r->path);
        if (fwrite(frame->data, 1, frame->bytes, r->file) != frame->bytes)
                return recording_fail(rec, r, "failed to write %s: %m", r->path);
        r->data_bytes += frame->bytes;
}

static int recording_finish_file(Recording *r) {
        int e = 0;

        if (!r->file)
                return 0;
        if (streq(r->kind, "audio") && !streq(r->path, STDOUT_PATH))
                e = wav_write_header(r->file, &r->format, (uint32_t) r->data_bytes);
        if (fflush(r->file) == EOF || ferror(r->file))
                e = e ?: -EIO;
        if (fclose(r->file) == EOF)
                e = e ?: -errno;
        r->file = NULL;
        return e;
}

/* ---- the loop ---- */

/* The control socket is readable: take every message there is, without waiting. */
static int on_stream(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Recording *r = userdata;
        Recorder *rec = r->recorder;
        MgFrame frame;
        int e;

        for (;;) {
                e = mg_stream_next_frame(r->stream, 0, &frame);
                if (mg_stream_is_muted(r->stream))
                        r->was_muted = true;
                if (e == -EAGAIN)
                        return 0;
                if (e == MG_STREAM_ENDED) {
                        r->ended = strdup(strempty(mg_stream_get_ended_reason(r->stream)));
                        r->source = sd_event_source_disable_unref(r->source);
                        /* One file without the other is not the recording that was asked for. */
                        recorder_stop(rec, "ended");
                        return 0;
                }
                if (e < 0) {
                        r->source = sd_event_source_disable_unref(r->source);
                        recording_fail(rec, r, "the stream failed: %s", strerror(-e));
                        return 0;
                }
                r->frames++;
                r->bytes += frame.bytes;
                r->dropped = frame.dropped;
                if (frame.flags & MG_FRAME_FLAG_BLACK)
                        r->black_frames++;
                recording_write(rec, r, &frame);
                if (rec->stop_reason)
                        return 0;
        }
}

static int on_time(sd_event_source *s, uint64_t usec, void *userdata) {
        recorder_stop(userdata, "time");
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        recorder_stop(userdata, "signal");
        return 0;
}

/* ---- what happened ---- */

static double recording_media_seconds(const Recording *r) {
        const MgTrackSettings *settings = mg_track_get_settings(r->track);

        if (streq(r->kind, "video"))
                return settings->frame_rate > 0 ? (double) r->frames / settings->frame_rate : 0;
        return r->format.rate && r->format.channels ? (double) r->data_bytes / (r->format.rate * r->format.channels * 2.0) : 0;
}

static json_object *recording_to_json(const Recording *r) {
        json_object *o = track_to_json(r->track), *fmt = json_object_new_object();

        if (!o || !fmt)
                goto fail;
        if (streq(r->kind, "video")) {
                if (json_add_string(fmt, "fourcc", r->format.fourcc) < 0 ||
                    json_add(fmt, "width", json_object_new_int64(r->format.width)) < 0 ||
                    json_add(fmt, "height", json_object_new_int64(r->format.height)) < 0 ||
                    json_add_string(fmt, "y4m_chroma", video_y4m_chroma(&r->format)) < 0)
                        goto fail;
        } else if (json_add_string(fmt, "sample_format", r->format.sample_format) < 0 ||
                   json_add(fmt, "rate", json_object_new_int64(r->format.rate)) < 0 ||
                   json_add(fmt, "channels", json_object_new_int64(r->format.channels)) < 0)
                goto fail;
        if (json_add(o, "format", TAKE_PTR(fmt)) < 0 ||
            json_add_string(o, "file", r->path) < 0 ||
            json_add(o, "frames", json_object_new_uint64(r->frames)) < 0 ||
            json_add(o, "bytes", json_object_new_uint64(r->bytes)) < 0 ||
            json_add(o, "dropped", json_object_new_uint64(r->dropped)) < 0 ||
            json_add(o, "black_frames", json_object_new_uint64(r->black_frames)) < 0 ||
            json_add(o, "media_seconds", json_object_new_double(recording_media_seconds(r))) < 0 ||
            json_add(o, "was_muted", json_object_new_boolean(r->was_muted)) < 0 ||
            json_object_object_add(o, "ended", r->ended ? json_object_new_string(r->ended) : NULL) < 0 ||
            json_object_object_add(o, "failure", r->failure ? json_object_new_string(r->failure) : NULL) < 0)
                goto fail;
        return o;

fail:
        json_object_put(fmt);
        json_object_put(o);
        return NULL;
}

static int print_summary_json(const Recorder *rec, uint32_t seconds) {
        json_object *o = json_object_new_object(), *tracks = json_object_new_array();

        for (size_t i = 0; o && tracks && i < rec->n_recordings; i++)
                if (json_append(tracks, recording_to_json(&rec->recordings[i])) < 0) {
                        json_object_put(tracks);
                        tracks = NULL;
                }
        if (!o || !tracks ||
            json_add(o, "seconds_requested", json_object_new_int64(seconds)) < 0 ||
            json_add(o, "seconds_recorded", json_object_new_double((rec->stopped_usec - rec->started_usec) / 1e6)) < 0 ||
            json_add_string(o, "stopped_by", rec->stop_reason) < 0 ||
            json_add(o, "tracks", TAKE_PTR(tracks)) < 0) {
                json_object_put(tracks);
                json_object_put(o);
                o = NULL;
        }
        return print_json(o);
}

static void print_summary_text(const Recorder *rec) {
        double seconds = (rec->stopped_usec - rec->started_usec) / 1e6;

        if (streq(rec->stop_reason, "time"))
                printf("Recorded %.1f s.\n", seconds);
        else if (streq(rec->stop_reason, "signal"))
                printf("Stopped by a signal after %.1f s.\n", seconds);
        else if (streq(rec->stop_reason, "ended"))
                printf("Stopped early after %.1f s: a track ended.\n", seconds);
        else
                printf("Stopped after %.1f s by an error.\n", seconds);

        for (size_t i = 0; i < rec->n_recordings; i++) {
                const Recording *r = &rec->recordings[i];

                if (streq(r->kind, "video"))
                        printf("%s: %" PRIu64 " frames (%.2f s at %.6g fps), %" PRIu64 " bytes received, %" PRIu64
                               " dropped -> %s (%" PRIu32 "x%" PRIu32 ", Y4M C%s)\n",
                               r->kind, r->frames, recording_media_seconds(r), mg_track_get_settings(r->track)->frame_rate,
                               r->bytes, r->dropped, r->path, r->format.width, r->format.height,
                               video_y4m_chroma(&r->format));
                else
                        printf("%s: %" PRIu64 " periods (%.2f s of sound), %" PRIu64 " bytes received, %" PRIu64
                               " dropped -> %s (%" PRIu32 " Hz, %" PRIu32 " channel%s, S16_LE WAV)\n",
                               r->kind, r->frames, recording_media_seconds(r), r->bytes, r->dropped, r->path,
                               r->format.rate, r->format.channels, r->format.channels == 1 ? "" : "s");
                if (r->black_frames > 0)
                        printf("  %" PRIu64 " of them black or silent: the track was disabled.\n", r->black_frames);
                if (r->was_muted)
                        printf("  The %s was muted (privacy switch or device paused): no frames meanwhile.\n",
                               streq(r->kind, "video") ? "camera" : "microphone");
                if (r->ended)
                        printf("  The track ended: %s.\n", r->ended);
                if (r->failure)
                        printf("  Stopped writing: %s.\n", r->failure);
        }
        fflush(stdout);
}

/* ---- the command ---- */

static void help(void) {
        printf("mediactl record --seconds N [--video JSON] [--audio JSON] [--video-out FILE.y4m]\n"
               "                [--audio-out FILE.wav] [--origin ORIGIN] [--reason TEXT] [--json]\n\n"
               "Record a camera to a Y4M file and/or a microphone to a WAV file for N seconds (or\n"
               "until SIGINT or SIGTERM), then print what was received. Each output asks for its\n"
               "kind (--video true, --audio true) unless constraints are given. An output of \"-\" is\n"
               "standard output (mediactl record --seconds 5 --video-out - | ffmpeg -i - ...); every\n"
               "message then goes to standard error.\n\n"
               "  --seconds N          How long to record (1 to %u)\n"
               "  --video JSON         Camera constraints, as in JavaScript\n"
               "  --audio JSON         Microphone constraints\n"
               "  --video-out FILE     Where the camera goes: YUV4MPEG2 (planar 4:2:2 or 4:2:0)\n"
               "  --audio-out FILE     Where the microphone goes: WAV, PCM S16_LE\n"
               "  --origin ORIGIN      Ask on behalf of a web origin (trusted brokers only)\n"
               "  --reason TEXT        Why, shown to the user in the prompt\n"
               "  --json               Print a summary object\n"
               "  -h --help            Show this help\n",
               RECORD_SECONDS_MAX);
}

typedef struct RecordArgs {
        MediaArgs media;
        const char *video_out, *audio_out;
        uint32_t seconds;
        bool json;
} RecordArgs;

/* What the options say together. Returns -1 to go on, or EXIT_USAGE. */
static int record_check_args(RecordArgs *a) {
        if (a->seconds == 0) {
                fprintf(stderr, "mediactl: record needs --seconds N.\n");
                return EXIT_USAGE;
        }
        if (!a->video_out && !a->audio_out) {
                fprintf(stderr, "mediactl: record needs --video-out FILE.y4m and/or --audio-out FILE.wav.\n");
                return EXIT_USAGE;
        }
        if (a->video_out && a->audio_out && streq(a->video_out, STDOUT_PATH) && streq(a->audio_out, STDOUT_PATH)) {
                fprintf(stderr, "mediactl: only one of --video-out and --audio-out can be standard output.\n");
                return EXIT_USAGE;
        }
        /* Asking for a kind without a file for it would prompt the user for nothing. */
        if ((a->media.video && !a->video_out) || (a->media.audio && !a->audio_out)) {
                bool video = a->media.video && !a->video_out;

                fprintf(stderr, "mediactl: --%s needs --%s-out FILE.\n", video ? "video" : "audio", video ? "video" : "audio");
                return EXIT_USAGE;
        }
        if (a->video_out && !a->media.video)
                a->media.video = "true";
        if (a->audio_out && !a->media.audio)
                a->media.audio = "true";
        return -1;
}

enum { ARG_JSON = 0x100, ARG_SECONDS, ARG_VIDEO_OUT, ARG_AUDIO_OUT };

static int record_option(int c, const char *arg, void *userdata) {
        RecordArgs *a = userdata;

        switch (c) {
        case ARG_JSON:
                a->json = true;
                return 0;
        case ARG_SECONDS:
                if (safe_atou32(arg, &a->seconds) < 0 || a->seconds < 1 || a->seconds > RECORD_SECONDS_MAX) {
                        fprintf(stderr, "mediactl: --seconds takes 1 to %u, not '%s'.\n", RECORD_SECONDS_MAX, arg);
                        return -EINVAL;
                }
                return 0;
        case ARG_VIDEO_OUT:
                a->video_out = arg;
                return 0;
        case ARG_AUDIO_OUT:
                a->audio_out = arg;
                return 0;
        default:
                return media_option(c, arg, &a->media);
        }
}

/* The arguments, checked. Returns -1 to go on, or the exit code (help, usage errors). */
static int record_parse_args(Context *ctx, int argc, char *argv[], RecordArgs *a) {
        static const struct option options[] = {
                { "json", no_argument, NULL, ARG_JSON },
                { "seconds", required_argument, NULL, ARG_SECONDS },
                MEDIA_OPTIONS,
                { "video-out", required_argument, NULL, ARG_VIDEO_OUT },
                { "audio-out", required_argument, NULL, ARG_AUDIO_OUT },
                {},
        };
        /* Only a plain --json: what it prints is one summary, never a listing to page. */
        static const VerbSyntax syntax = {
                .name = "record", .help = help, .options = options, .on_option = record_option,
        };
        int r;

        r = parse_verb(ctx, &syntax, argc, argv, a);
        if (r <= 0)
                return parse_verb_exit(r);
        ctx->json = ctx->json || a->json;
        return record_check_args(a);
}

/* With an output on standard output, the media get the original descriptor and everything printed
 * afterwards (tracks, summary, JSON, errors) goes where standard error goes. *ret_media_fd is -1
 * when no output is "-". */
static int record_redirect_stdout(const RecordArgs *a, int *ret_media_fd) {
        int fd;

        *ret_media_fd = -1;
        if (!streq_ptr(a->video_out, STDOUT_PATH) && !streq_ptr(a->audio_out, STDOUT_PATH))
                return 0;
        if (fflush(stdout) == EOF)
                return -errno;
        fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
                int e = -errno;

                close(fd);
                return e;
        }
        *ret_media_fd = fd;
        return 0;
}

static int recorder_setup_loop(Recorder *rec, MgClient *client) {
        /* From here on, Ctrl-C ends the recording with complete files. */
        return event_loop_new(client, on_signal, rec, &rec->event) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int recording_open(Recorder *rec, Recording *r, const char *kind, const char *path, int media_fd, MgTrack *track,
                          MgError *err) {
        int e;

        *r = (Recording) { .recorder = rec, .kind = kind, .path = path, .track = track };
        e = mg_track_open(track, &r->stream, err);
        if (e < 0)
                return e;
        r->format = *mg_stream_get_format(r->stream);
        if (streq(path, STDOUT_PATH)) {
                r->file = fdopen(media_fd, "w");
                if (!r->file)
                        return set_error_errno(err, -errno, "Failed to write to standard output: %m");
        } else {
                r->file = fopen(path, "we");
                if (!r->file)
                        return set_error_errno(err, -errno, "Failed to create %s: %m", path);
        }
        e = recording_start_file(r, mg_track_get_settings(track));
        if (e == -EOPNOTSUPP)
                return set_error_errno(err, e, "Cannot write the %s format of the %s track to a file",
                                       streq(kind, "video") ? r->format.fourcc : r->format.sample_format, kind);
        if (e < 0)
                return set_error_errno(err, e, "Failed to write %s: %s", path, strerror(-e));
        return sd_event_add_io(rec->event, &r->source, mg_stream_get_fd(r->stream), EPOLLIN, on_stream, r);
}

/* One recording per output, each from its track of the request. *media_fd is handed to the
 * recording that writes to standard output. */
static int recorder_open_outputs(Recorder *rec, MgRequest *req, const RecordArgs *a, int *media_fd) {
        _cleanup_(mg_error_clear) MgError err = MG_ERROR_INIT;

        for (size_t i = 0; i < 2; i++) {
                const char *kind = i == 0 ? "video" : "audio", *path = i == 0 ? a->video_out : a->audio_out;
                MgTrack *track;
                int r;

                if (!path)
                        continue;
                track = media_request_find_track(req, kind);
                if (!track)
                        return print_errno(-ENODEV, streq(kind, "video") ? "No camera track was granted" :
                                                                           "No microphone track was granted");
                r = recording_open(rec, &rec->recordings[rec->n_recordings++], kind, path, *media_fd, track, &err);
                if (streq(path, STDOUT_PATH) && rec->recordings[rec->n_recordings - 1].file)
                        *media_fd = -1; /* the FILE owns it now */
                if (r < 0)
                        return print_error(&err, r);
        }
        return EXIT_SUCCESS;
}

static int recorder_run(Recorder *rec, uint32_t seconds) {
        int r;

        rec->started_usec = now_usec(CLOCK_MONOTONIC);
        r = sd_event_add_time_relative(rec->event, NULL, CLOCK_MONOTONIC, (uint64_t) seconds * 1000000u, 1000, on_time, rec);
        if (r < 0)
                return print_errno(r, "Failed to set up the timer");
        r = sd_event_loop(rec->event);
        if (r < 0)
                return print_errno(r, "Event loop failed");
        return EXIT_SUCCESS;
}

/* Complete the files and say what was recorded. */
static int recorder_finish(Recorder *rec, bool json, uint32_t seconds) {
        int ret = EXIT_SUCCESS;

        for (size_t i = 0; i < rec->n_recordings; i++) {
                Recording *rr = &rec->recordings[i];
                int r = recording_finish_file(rr);

                if (r < 0 && !rr->failure && asprintf(&rr->failure, "failed to write %s: %s", rr->path, strerror(-r)) < 0)
                        rr->failure = NULL;
                if (r < 0 || rr->failure)
                        ret = EXIT_FAILURE;
        }
        if (json) {
                if (print_summary_json(rec, seconds) != EXIT_SUCCESS)
                        ret = EXIT_FAILURE;
        } else
                print_summary_text(rec);
        /* A track the daemon ended is a recording cut short: say so in the exit code too. */
        if (streq(rec->stop_reason, "ended"))
                ret = EXIT_FAILURE;
        return ret;
}

static void recording_done(Recording *r) {
        r->source = sd_event_source_disable_unref(r->source);
        r->stream = mg_stream_free(r->stream);
        if (r->file) {
                fclose(r->file);
                r->file = NULL;
        }
        free(r->planar);
        free(r->ended);
        free(r->failure);
}

int verb_record(Context *ctx, int argc, char *argv[]) {
        _cleanup_(mg_client_unrefp) MgClient *client = NULL;
        _cleanup_(mg_request_unrefp) MgRequest *req = NULL;
        _cleanup_(mg_error_clear) MgError err = MG_ERROR_INIT;
        _cleanup_close_ int media_fd = -1;
        Recorder rec = {};
        RecordArgs args = {};
        int r, ret;

        ret = record_parse_args(ctx, argc, argv, &args);
        if (ret >= 0)
                return ret;
        r = record_redirect_stdout(&args, &media_fd);
        if (r < 0)
                return print_errno(r, "Failed to set standard output aside for the recording");

        r = context_connect(ctx, &client);
        if (r < 0)
                return EXIT_FAILURE;
        r = media_request(client, &args.media, &req, &err);
        if (r < 0)
                return print_media_error(&err, r, ctx->json);
        if (!ctx->json)
                for (size_t i = 0; i < mg_request_get_n_tracks(req); i++)
                        print_track(mg_request_get_track(req, i), stdout);

        ret = recorder_setup_loop(&rec, client);
        if (ret == EXIT_SUCCESS)
                ret = recorder_open_outputs(&rec, req, &args, &media_fd);
        if (ret == EXIT_SUCCESS)
                ret = recorder_run(&rec, args.seconds);
        if (ret == EXIT_SUCCESS)
                ret = recorder_finish(&rec, ctx->json, args.seconds);

        for (size_t i = 0; i < rec.n_recordings; i++)
                recording_done(&rec.recordings[i]);
        for (size_t i = 0; i < mg_request_get_n_tracks(req); i++)
                (void) mg_track_stop(mg_request_get_track(req, i), NULL);
        req = mg_request_unref(req);
        client = mg_client_unref(client); /* off the loop before the loop goes */
        sd_event_unref(rec.event);
        return ret;
}
