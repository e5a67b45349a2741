/* The media processing the daemon does on behalf of devices, measured in-process on the daemon's
 * own modules (no bus, no daemon): Motion-JPEG decoding of 1080p frames, both ways the daemon
 * could do it (libjpeg-turbo straight into NV12, as mjpeg.c does; libv4l2's converter into YU12
 * and then NV12, as the V4L2 backend did before), the decoding stage's latency at 1080p30 on an
 * event loop, and noise suppression and gain control per 10 ms of 48 kHz mono.
 *
 *     media-processing [--frames=300] [--seconds=10] [--blocks=3000]
 *
 * The pictures: the synthetic camera's own (colour bars, a moving block, the frame code; a JPEG of
 * about 45 KB) and a busier one (gradients under pseudo-random texture, about 350 KB, what a
 * webcam sends of a detailed scene), both 4:2:2 at quality 85 as webcams send. CPU is the measuring thread's
 * (CLOCK_THREAD_CPUTIME_ID); latency is wall-clock and includes whatever else the machine runs.
 * Measured, never asserted. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libv4l-plugin.h>
#include <libv4lconvert.h>
#include <linux/videodev2.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "audio-processing.h"
#include "common.h"
#include "devices/frame-code.h"
#include "devices/mjpeg-stage.h"
#include "devices/mjpeg.h"
#include "devices/test-pattern.h"
#include "devices/test-signal.h"
#include "devices/v4l2.h"
#include "util.h"

#define W 1920
#define H 1080
#define NV12_SIZE ((size_t) W * H * 3 / 2)

static uint64_t thread_cpu_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* ---- the pictures ---- */

typedef struct Picture {
        const char *name;
        const char *tag; /* in RESULT lines */
        uint8_t *jpeg;
        size_t size;
} Picture;

static int encode(const uint8_t *nv12, Picture *p) {
        _cleanup_(mjpeg_encoder_freep) MjpegEncoder *enc = NULL;
        const uint8_t *jpeg;
        int r;

        r = mjpeg_encoder_new(W, H, 85, &enc);
        if (r < 0)
                return r;
        r = mjpeg_encode_nv12(enc, nv12, &jpeg, &p->size);
        if (r < 0)
                return r;
        p->jpeg = malloc(p->size);
        if (!p->jpeg)
                return -ENOMEM;
        memcpy(p->jpeg, jpeg, p->size);
        return 0;
}

static int make_pictures(Picture pictures[2]) {
        _cleanup_(test_pattern_freep) TestPattern *pattern = NULL;
        _cleanup_free_ uint8_t *busy = malloc(NV12_SIZE);
        uint8_t stamp[FRAME_STAMP_SIZE] = FRAME_STAMP_MAGIC;
        uint32_t state = 1;
        uint8_t *p;
        int r;

        if (!busy)
                return -ENOMEM;
        r = test_pattern_new(PIXEL_FORMAT_NV12, W, H, &pattern);
        if (r < 0)
                return r;
        p = test_pattern_draw(pattern, 100);
        (void) frame_code_draw(PIXEL_FORMAT_NV12, W, H, W, p, NV12_SIZE, stamp);
        pictures[0].name = "the synthetic camera's picture";
        pictures[0].tag = "synthetic";
        r = encode(p, &pictures[0]);
        if (r < 0)
                return r;

        for (size_t y = 0; y < H; y++)
                for (size_t x = 0; x < W; x++) {
                        state = state * 1103515245u + 12345u;
                        busy[y * W + x] = (uint8_t) ((x * 200 / W) + ((state >> 24) % 12));
                }
        for (size_t i = (size_t) W * H; i < NV12_SIZE; i++) {
                state = state * 1103515245u + 12345u;
                busy[i] = (uint8_t) (96 + (i % W) * 64 / W + ((state >> 24) % 16));
        }
        pictures[1].name = "a busy picture";
        pictures[1].tag = "busy";
        return encode(busy, &pictures[1]);
}

/* ---- decoding, both ways ---- */

/* libv4lconvert needs a device to ask what it can do; the conversion itself needs none. A stand-in
 * answers VIDIOC_QUERYCAP for a capture device and refuses the rest. */
static int fake_ioctl(void *priv, int fd, unsigned long request, void *arg) {
        if (request == VIDIOC_QUERYCAP) {
                struct v4l2_capability *cap = arg;

                memset(cap, 0, sizeof(*cap));
                strcpy((char *) cap->driver, "bench");
                cap->capabilities = cap->device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING;
                return 0;
        }
        errno = EINVAL;
        return -1;
}

static const struct libv4l_dev_ops fake_ops = { .ioctl = fake_ioctl };

/* The two ways, one frame each in turn, so that whatever else the machine does weighs on both
 * alike: libjpeg-turbo straight into NV12 (mjpeg.c), and what the V4L2 backend did with
 * libv4l2's emulated YU12 (the decode, then NV12). CPU ns per frame of each in ret[0], ret[1]. */
static int decode_both_ways(const Picture *p, unsigned frames, double ret[2]) {
        _cleanup_(mjpeg_decoder_freep) MjpegDecoder *dec = NULL;
        _cleanup_free_ uint8_t *yu12 = malloc(NV12_SIZE), *nv12 = malloc(NV12_SIZE);
        struct v4l2_format src = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE }, dst;
        struct v4lconvert_data *conv = NULL;
        uint64_t spent[2] = {}, t;
        int fd = -1, r = -EIO;

        if (!yu12 || !nv12 || mjpeg_decoder_new(&dec) < 0)
                return -ENOMEM;
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        conv = v4lconvert_create_with_dev_ops(fd, NULL, &fake_ops);
        if (!conv)
                goto finish;
        src.fmt.pix = (struct v4l2_pix_format) { .width = W, .height = H, .pixelformat = V4L2_PIX_FMT_MJPEG,
                                                  .field = V4L2_FIELD_NONE, .sizeimage = (uint32_t) p->size };
        dst = src;
        dst.fmt.pix.pixelformat = V4L2_PIX_FMT_YUV420;
        dst.fmt.pix.bytesperline = W;
        dst.fmt.pix.sizeimage = (uint32_t) NV12_SIZE;

        for (unsigned i = 0; i < frames; i++) {
                t = thread_cpu_ns();
                if (mjpeg_decode_nv12(dec, p->jpeg, p->size, W, H, nv12, NV12_SIZE) < 0)
                        goto finish;
                spent[0] += thread_cpu_ns() - t;

                t = thread_cpu_ns();
                if (v4lconvert_convert(conv, &src, &dst, p->jpeg, (int) p->size, yu12, (int) NV12_SIZE) < 0 ||
                    v4l2_planar_to_nv12(yu12, NV12_SIZE, W, H, W, false, nv12) < 0)
                        goto finish;
                spent[1] += thread_cpu_ns() - t;
        }
        ret[0] = (double) spent[0] / frames;
        ret[1] = (double) spent[1] / frames;
        r = 0;
finish:
        if (conv)
                v4lconvert_destroy(conv);
        safe_close(fd);
        return r;
}

/* ---- the decoding stage at 1080p30 ---- */

typedef struct StageRun {
        sd_event *event;
        MjpegStage *stage;
        const Picture *picture;
        sd_event_source *timer;
        uint64_t next_usec, sequence, frames;
        Samples latency; /* submit to delivery */
        uint64_t submitted_ns[64];
        uint64_t delivered;
} StageRun;

/* Every frame submitted is delivered, or was dropped or refused by the stage: the run is over. */
static void check_done(StageRun *run) {
        MjpegStageStats stats;

        mjpeg_stage_get_stats(run->stage, &stats);
        if (run->sequence == run->frames && stats.delivered + stats.dropped + stats.failed == run->frames)
                (void) sd_event_exit(run->event, 0);
}

static void on_decoded(const Frame *f, void *userdata) {
        StageRun *run = userdata;

        (void) samples_add(&run->latency, bench_now_ns() - run->submitted_ns[f->sequence % 64]);
        run->delivered++;
        check_done(run);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        StageRun *run = userdata;
        Frame meta = { .sequence = run->sequence };

        run->submitted_ns[run->sequence % 64] = bench_now_ns();
        (void) mjpeg_stage_submit(run->stage, run->picture->jpeg, run->picture->size, &meta);
        run->sequence++;
        if (run->sequence == run->frames) {
                check_done(run);
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }
        run->next_usec += 1000000 / 30;
        (void) sd_event_source_set_time(s, run->next_usec);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int run_stage(const Picture *p, unsigned seconds) {
        StageRun run = { .picture = p, .frames = (uint64_t) seconds * 30 };
        MjpegStageStats stats;
        unsigned tail;
        int r;

        r = sd_event_new(&run.event);
        if (r < 0)
                return r;
        r = mjpeg_stage_new(run.event, "bench-mjpeg", W, H, on_decoded, &run, &run.stage);
        if (r < 0)
                goto finish;
        (void) sd_event_now(run.event, CLOCK_MONOTONIC, &run.next_usec);
        r = sd_event_add_time(run.event, &run.timer, CLOCK_MONOTONIC, run.next_usec, 1, on_tick, &run);
        if (r < 0)
                goto finish;
        r = sd_event_loop(run.event);
        if (r < 0)
                goto finish;

        mjpeg_stage_get_stats(run.stage, &stats);
        printf("  %s: decode CPU %.3f ms a frame; %" PRIu64 " of %" PRIu64 " delivered, %" PRIu64 " dropped\n",
               p->name, ns_to_ms(stats.decode_cpu_ns / MAX(stats.delivered, 1u)), stats.delivered, stats.submitted,
               stats.dropped);
        samples_print(&run.latency, "submitted -> decoded");
        tail = samples_tail_percentile(&run.latency);
        printf("RESULT mjpeg_%s_stage_p50_ms=%.4f\n", p->tag, ns_to_ms(samples_percentile(&run.latency, 50)));
        if (tail > 0)
                printf("RESULT mjpeg_%s_stage_p%u_ms=%.4f\n", p->tag, tail,
                       ns_to_ms(samples_percentile(&run.latency, tail)));
        printf("RESULT mjpeg_%s_stage_dropped=%" PRIu64 "\n", p->tag, stats.dropped);
finish:
        sd_event_source_unref(run.timer);
        mjpeg_stage_free(run.stage);
        sd_event_unref(run.event);
        samples_done(&run.latency);
        return r;
}

/* ---- audio processing ---- */

static void audio_row(const char *name, const char *tag, const AudioProcessingSettings *settings,
                      unsigned blocks) {
        static const TestSignalParams speech_like = {
                .tone_hz = 440, .tone_amplitude = 0.1, .cadence_on_ms = 300, .cadence_off_ms = 300,
                .noise_rms = 0.03, .noise_seed = 1,
        };
        _cleanup_(audio_processor_freep) AudioProcessor *ap = NULL;
        _cleanup_free_ int16_t *x = calloc((size_t) blocks * 480, sizeof(int16_t));
        TestSignal sig;
        uint64_t start;
        const int16_t *out;
        uint32_t n, delay;
        double us;

        if (!x || audio_processor_new(48000, 1, settings, &ap) < 0) {
                printf("  %-40s failed\n", name);
                return;
        }
        test_signal_init(&sig, &speech_like, 48000);
        for (size_t i = 0; i < (size_t) blocks * 480; i++)
                x[i] = (int16_t) lrint(CLAMP(test_signal_next(&sig), -1.0, 32767.0 / 32768) * 32768);

        start = thread_cpu_ns();
        for (unsigned b = 0; b < blocks; b++)
                (void) audio_processor_process(ap, x + (size_t) b * 480, 480, &out, &n, &delay);
        us = (double) (thread_cpu_ns() - start) / blocks / 1000;
        printf("  %-40s %7.1f us   (%.2f%% of a CPU)\n", name, us, us / 100);
        printf("RESULT audio_%s_us_per_10ms=%.2f\n", tag, us);
}

int main(int argc, char *argv[]) {
        unsigned frames = (unsigned) bench_arg_u64(argc, argv, "--frames", 300);
        unsigned seconds = (unsigned) bench_arg_u64(argc, argv, "--seconds", 10);
        unsigned blocks = (unsigned) bench_arg_u64(argc, argv, "--blocks", 3000);
        Picture pictures[2] = {};
        int r;

        setvbuf(stdout, NULL, _IOLBF, 0);

        r = make_pictures(pictures);
        if (r < 0) {
                fprintf(stderr, "media-processing: cannot make the test pictures: %s\n", strerror(-r));
                return 1;
        }

        printf("MJPEG 1920x1080 4:2:2 q85, decode CPU per frame   libjpeg-turbo -> NV12   libv4l2 -> YU12 -> NV12\n");
        for (size_t i = 0; i < ELEMENTSOF(pictures); i++) {
                double ns[2] = {};

                if (decode_both_ways(&pictures[i], frames, ns) < 0)
                        printf("  %-30s failed\n", pictures[i].name);
                else {
                        printf("  %-30s %4zu KB        %7.3f ms                %7.3f ms\n", pictures[i].name,
                               pictures[i].size / 1024, ns[0] / 1e6, ns[1] / 1e6);
                        printf("RESULT mjpeg_%s_turbojpeg_ms=%.4f\n", pictures[i].tag, ns[0] / 1e6);
                        printf("RESULT mjpeg_%s_libv4l2_ms=%.4f\n", pictures[i].tag, ns[1] / 1e6);
                        printf("RESULT mjpeg_%s_kib=%zu\n", pictures[i].tag, pictures[i].size / 1024);
                }
        }

        printf("\nMJPEG 1080p30 decoding stage (libjpeg-turbo on its thread), %u s a picture:\n", seconds);
        for (size_t i = 0; i < ELEMENTSOF(pictures); i++) {
                r = run_stage(&pictures[i], seconds);
                if (r < 0)
                        fprintf(stderr, "media-processing: the decoding stage failed: %s\n", strerror(-r));
        }

        printf("\naudio processing, 48 kHz mono, CPU per 10 ms block (noisy speech-like tone)\n");
        audio_row("noise suppression", "ns", &(AudioProcessingSettings) { .noise_suppression = true }, blocks);
        audio_row("automatic gain control", "agc", &(AudioProcessingSettings) { .auto_gain_control = true }, blocks);
        audio_row("both", "both", &(AudioProcessingSettings) { .noise_suppression = true, .auto_gain_control = true }, blocks);

        for (size_t i = 0; i < ELEMENTSOF(pictures); i++)
                free(pictures[i].jpeg);
        return 0;
}
