/* Synthetic devices in the formats that take conversion: MJPEG cameras (frames encoded and
 * decoded off the event loop, delivered as NV12 in order, the frame code in each picture naming
 * the frame the byte stamp names; raw modes before JPEG ones) and microphones capturing in S24
 * and S32 (converted with dither: a tone below one 16-bit step survives, a normal one comes
 * out as the S16 microphone makes it, within a step). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <time.h>

#include "devices/frame-code.h"
#include "devices/synthetic.h"
#include "util.h"

typedef struct Fixture {
        sd_event *event;
        DeviceRegistry *registry;
        SyntheticBackend *backend;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));

        assert_non_null(f);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(device_registry_new(f->event, &f->registry), 0);
        assert_int_equal(synthetic_backend_new(f->registry, &f->backend), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        synthetic_backend_free(f->backend);
        device_registry_free(f->registry);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

static Device *add(Fixture *f, const char *text, const char *name) {
        _cleanup_free_ char *error = NULL;

        if (synthetic_backend_add_text(f->backend, text, &error) < 0)
                fail_msg("%s", error);
        return device_registry_find(f->registry, SYNTHETIC_BACKEND, name);
}

static uint64_t le64(const uint8_t *p) {
        uint64_t v = 0;

        for (unsigned i = 0; i < 8; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

/* ---- MJPEG cameras ---- */

typedef struct VideoRun {
        pthread_t loop;
        unsigned n, want;
        uint64_t last_ts;
        bool stop_inside; /* stop the device from inside the frame callback */
        bool stopped;
} VideoRun;

static void on_video(Device *d, const Frame *f, void *userdata) {
        VideoRun *v = userdata;
        uint8_t code[FRAME_STAMP_SIZE];

        assert_true(pthread_equal(pthread_self(), v->loop));
        assert_int_equal(f->fourcc, PIXEL_FORMAT_NV12);
        assert_int_equal(f->width, d->format.width);
        assert_int_equal(f->stride, d->format.width);
        assert_int_equal(f->size, (size_t) f->width * f->height * 3 / 2);
        assert_int_equal(f->sequence, v->n);
        assert_true(f->timestamp_ns > v->last_ts);
        v->last_ts = f->timestamp_ns;

        /* The byte stamp, and the frame code under it: the same frame. */
        assert_memory_equal(f->data, FRAME_STAMP_MAGIC, 8);
        assert_int_equal(le64(f->data + 8), f->sequence);
        assert_int_equal(le64(f->data + 16), f->timestamp_ns);
        assert_memory_equal(f->data + 24, "mjpeg-cam", 9);
        assert_int_equal(frame_code_read(PIXEL_FORMAT_NV12, f->width, f->height, f->stride, f->data, f->size, code), 0);
        assert_memory_equal(code, f->data, FRAME_STAMP_SIZE);

        v->n++;
        if (v->stop_inside && v->n == v->want) {
                device_stop(d);
                v->stopped = true;
        }
}

static void on_event(Device *d, DeviceEvent ev, int error, void *userdata) {
        fail_msg("unexpected device event %d: %d", ev, error);
}

static void run_for(sd_event *e, unsigned msec, const VideoRun *v) {
        struct timespec start, now;

        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                clock_gettime(CLOCK_MONOTONIC, &now);
                if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >= msec ||
                    (v && v->n >= v->want))
                        return;
                assert_true(sd_event_run(e, 10 * 1000) >= 0);
        }
}

static void test_mjpeg_camera(void **state) {
        Fixture *f = *state;
        Device *d = add(f, "[mjpeg-cam]\nKind=camera\nFormats=MJPEG\n"
                           "Modes=640x480@30 1280x720@30 640x480@30:YUYV 1280x720@10:YUYV\n", "mjpeg-cam");
        static const struct {
                uint32_t width, height, fourcc;
                double rate;
        } order[] = {
                { 640, 480, PIXEL_FORMAT_YUYV, 30 }, { 1280, 720, PIXEL_FORMAT_YUYV, 10 },
                { 640, 480, PIXEL_FORMAT_NV12, 30 }, { 1280, 720, PIXEL_FORMAT_NV12, 30 },
        };
        VideoRun v = { .loop = pthread_self(), .want = 15 };
        DeviceConsumer consumer = { .frame = on_video, .event = on_event, .userdata = &v };
        CaptureFormat fmt = { .kind = DEVICE_KIND_VIDEO, .width = 640, .height = 480, .fourcc = PIXEL_FORMAT_NV12,
                              .frame_rate = 30 };

        /* Raw modes first, each kind in the file's order. */
        assert_non_null(d);
        assert_int_equal(d->n_modes, ELEMENTSOF(order));
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                assert_int_equal(d->modes[i].width, order[i].width);
                assert_int_equal(d->modes[i].fourcc, order[i].fourcc);
                assert_int_equal(d->modes[i].source_fourcc, i < 2 ? 0 : PIXEL_FORMAT_MJPEG);
                assert_true(d->modes[i].frame_rate == order[i].rate);
        }

        assert_int_equal(device_start(d, &fmt, &consumer), 0);
        run_for(f->event, 10000, &v);
        assert_int_equal(v.n, v.want);
        device_stop(d);
        /* Stopped: nothing more arrives, whatever was on its way. */
        run_for(f->event, 200, NULL);
        assert_int_equal(v.n, v.want);

        /* Stopped from inside a delivery, with more frames coming. */
        v = (VideoRun) { .loop = pthread_self(), .want = 3, .stop_inside = true };
        assert_int_equal(device_start(d, &fmt, &consumer), 0);
        run_for(f->event, 10000, &v);
        assert_true(v.stopped);
        assert_false(d->capturing);
        run_for(f->event, 200, NULL);
        assert_int_equal(v.n, 3);
}

/* The smallest JPEG mode is too small for the frame code: the byte stamp alone. */
static void on_small(Device *d, const Frame *f, void *userdata) {
        unsigned *n = userdata;
        uint8_t code[FRAME_STAMP_SIZE];

        assert_int_equal(le64(f->data + 8), *n);
        assert_int_equal(frame_code_read(PIXEL_FORMAT_NV12, f->width, f->height, f->stride, f->data, f->size, code),
                         -ERANGE);
        (*n)++;
}

static void test_mjpeg_small(void **state) {
        Fixture *f = *state;
        Device *d = add(f, "[tiny]\nKind=camera\nModes=160x120@100:MJPEG\n", "tiny");
        unsigned n = 0;
        DeviceConsumer consumer = { .frame = on_small, .event = on_event, .userdata = &n };
        CaptureFormat fmt = { .kind = DEVICE_KIND_VIDEO, .width = 160, .height = 120, .fourcc = PIXEL_FORMAT_NV12,
                              .frame_rate = 100 };

        assert_int_equal(device_start(d, &fmt, &consumer), 0);
        for (unsigned i = 0; i < 500 && n < 10; i++)
                assert_true(sd_event_run(f->event, 10 * 1000) >= 0);
        assert_true(n >= 10);
        device_stop(d);
}

/* ---- microphones in wide formats ---- */

typedef struct AudioRun {
        int16_t *samples;
        size_t n, want;
} AudioRun;

static void on_audio(Device *d, const Frame *f, void *userdata) {
        AudioRun *a = userdata;
        const uint8_t *p = f->data;

        for (uint32_t i = 0; i < f->n_frames && a->n < a->want; i++, p += 2 * d->format.channels)
                a->samples[a->n++] = (int16_t) (uint16_t) (p[0] | (p[1] << 8));
}

static void capture_audio(Fixture *f, Device *d, AudioRun *a) {
        DeviceConsumer consumer = { .frame = on_audio, .event = on_event, .userdata = a };
        CaptureFormat fmt = { .kind = DEVICE_KIND_AUDIO, .sample_rate = 48000, .channels = 1 };

        assert_int_equal(device_start(d, &fmt, &consumer), 0);
        for (unsigned i = 0; i < 5000 && a->n < a->want; i++)
                assert_true(sd_event_run(f->event, 10 * 1000) >= 0);
        device_stop(d);
        assert_int_equal(a->n, a->want);
}

/* A -100 dBFS tone is a third of a 16-bit step: dithered, it comes through at its own
 * amplitude and without offset (truncation would leave a DC offset of half a step and a
 * distorted square wave; rounding alone, nothing at all). */
static void test_wide_formats_keep_detail(void **state) {
        static const char *const formats[] = { "S24_LE", "S24_3LE", "S32_LE" };
        Fixture *f = *state;

        for (size_t k = 0; k < ELEMENTSOF(formats); k++) {
                _cleanup_free_ char *text = NULL, *name = NULL;
                _cleanup_free_ int16_t *samples = calloc(48000, sizeof(int16_t));
                AudioRun a = { .samples = samples, .want = 48000 };
                double amplitude = 32768 * pow(10, -100.0 / 20), s = 0, c = 0, mean = 0, fitted;
                Device *d;

                assert_non_null(samples);
                assert_true(asprintf(&name, "quiet-%zu", k) > 0);
                assert_true(asprintf(&text, "[%s]\nKind=microphone\nToneHz=1000\nToneLevel=-100\nSampleFormat=%s\n",
                                     name, formats[k]) > 0);
                d = add(f, text, name);
                capture_audio(f, d, &a);
                for (size_t i = 0; i < a.n; i++) {
                        s += samples[i] * sin(2 * M_PI * 1000 * i / 48000.0);
                        c += samples[i] * cos(2 * M_PI * 1000 * i / 48000.0);
                        mean += samples[i];
                }
                fitted = 2 * sqrt(s * s + c * c) / a.n;
                mean /= a.n;
                print_message("%s: a %.3f-step tone comes out at %.3f, mean %+.4f\n", formats[k], amplitude, fitted,
                              mean);
                assert_true(fabs(fitted - amplitude) < 0.05);
                assert_true(fabs(mean) < 0.02);
        }
}

/* At a normal level a wide-format microphone sounds as the S16 one, within a step. */
static void test_wide_format_matches_s16(void **state) {
        Fixture *f = *state;
        _cleanup_free_ int16_t *wide = calloc(4800, sizeof(int16_t)), *plain = calloc(4800, sizeof(int16_t));
        AudioRun a = { .samples = wide, .want = 4800 }, b = { .samples = plain, .want = 4800 };
        unsigned differ = 0;

        assert_non_null(wide);
        assert_non_null(plain);
        capture_audio(f, add(f, "[wide]\nKind=microphone\nToneHz=440\nSampleFormat=S32_LE\n", "wide"), &a);
        capture_audio(f, add(f, "[plain]\nKind=microphone\nToneHz=440\n", "plain"), &b);
        for (size_t i = 0; i < 4800; i++) {
                assert_true(abs(wide[i] - plain[i]) <= 1);
                differ += wide[i] != plain[i];
        }
        /* Not a copy either: the dither is there. */
        assert_true(differ > 100);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_mjpeg_camera, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mjpeg_small, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wide_formats_keep_detail, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wide_format_matches_s16, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
