/* Unit tests for capture.c: one device start for many sinks, the covering-mode rule, -EBUSY when
 * no mode covers everybody, the stop with the last sink, the release of an idle device after the
 * grace period (shortened with capture_set_release_delay()), errors reported from the event loop,
 * and the fan-out of frames into streams. The device is a fake backend of this file on top of the
 * real registry (devices/device.c): its start and stop record what they were asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>

#include "mediagate-wire.h"
#include "capture.h"
#include "devices/device.h"
#include "scale.h"
#include "stream.h"
#include "util.h"

#define YUYV PIXEL_FORMAT_YUYV
#define NV12 PIXEL_FORMAT_NV12

typedef struct FakeState {
        unsigned starts, stops;
        CaptureFormat last_start;
        int fail_start;      /* errno to fail starts with, 0: succeed */
        uint32_t fail_width; /* fail only starts at this width (0: every start) */
} FakeState;

static int fake_start(Device *d, const CaptureFormat *fmt) {
        FakeState *st = d->backend_data;

        if (st->fail_start && (st->fail_width == 0 || st->fail_width == fmt->width))
                return st->fail_start;
        st->starts++;
        st->last_start = *fmt;
        return 0;
}

static void fake_stop(Device *d) {
        FakeState *st = d->backend_data;

        st->stops++;
}

static const DeviceOps fake_ops = {
        .start = fake_start,
        .stop = fake_stop,
};

/* The camera of docs/constraints.md's worked examples. */
static const VideoMode camera_modes[] = {
        { 640, 480, 30, YUYV },
        { 1280, 720, 30, YUYV },
        { 1920, 1080, 15, NV12 },
};

typedef struct Env {
        sd_event *event;
        DeviceRegistry *registry;
        Device *camera, *mic;
        FakeState camera_state, mic_state;
        unsigned n_errors;
        int last_error;
        Device *error_device;
        unsigned n_live_changes;
        bool live;
        CaptureSink *free_on_error[4]; /* the owner's reaction: end the tracks */
} Env;

static Env env;

static void on_capture_error(Device *d, int error, void *userdata) {
        Env *e = userdata;

        e->n_errors++;
        e->last_error = error;
        e->error_device = d;
        for (size_t i = 0; i < ELEMENTSOF(e->free_on_error); i++)
                e->free_on_error[i] = capture_sink_free(e->free_on_error[i]);
}

static void on_live(Device *d, bool live, void *userdata) {
        Env *e = userdata;

        e->n_live_changes++;
        e->live = live;
}

static int setup(void **state) {
        uint32_t rates[] = { 44100, 48000 }, channels[] = { 1, 2 };

        env = (Env) {};
        assert_int_equal(sd_event_new(&env.event), 0);
        assert_int_equal(device_registry_new(env.event, &env.registry), 0);

        env.camera = device_new(DEVICE_KIND_VIDEO, "test", "camera", &fake_ops);
        assert_non_null(env.camera);
        env.camera->backend_data = &env.camera_state;
        env.camera->modes = malloc(sizeof(camera_modes));
        assert_non_null(env.camera->modes);
        memcpy(env.camera->modes, camera_modes, sizeof(camera_modes));
        env.camera->n_modes = ELEMENTSOF(camera_modes);
        assert_int_equal(device_registry_add(env.registry, env.camera), 0);

        env.mic = device_new(DEVICE_KIND_AUDIO, "test", "mic", &fake_ops);
        assert_non_null(env.mic);
        env.mic->backend_data = &env.mic_state;
        env.mic->audio.sample_rates = malloc(sizeof(rates));
        env.mic->audio.channel_counts = malloc(sizeof(channels));
        assert_non_null(env.mic->audio.sample_rates);
        assert_non_null(env.mic->audio.channel_counts);
        memcpy(env.mic->audio.sample_rates, rates, sizeof(rates));
        memcpy(env.mic->audio.channel_counts, channels, sizeof(channels));
        env.mic->audio.n_sample_rates = ELEMENTSOF(rates);
        env.mic->audio.n_channel_counts = ELEMENTSOF(channels);
        assert_int_equal(device_registry_add(env.registry, env.mic), 0);

        capture_set_event_handler(on_capture_error, &env);
        capture_set_live_handler(on_live, &env);
        capture_set_release_delay(CAPTURE_RELEASE_DELAY_USEC);
        return 0;
}

static int teardown(void **state) {
        /* Every test frees its sinks: no capture may be left on either device. */
        assert_false(capture_get_format(env.camera, NULL));
        assert_false(capture_get_format(env.mic, NULL));
        device_unref(env.camera);
        device_unref(env.mic);
        device_registry_free(env.registry);
        sd_event_unref(env.event);
        return 0;
}

static uint64_t mono_usec(void) {
        return now_usec(CLOCK_MONOTONIC);
}

/* Run the loop for usec, or until done() says so. */
static void run_for(uint64_t usec, bool (*done)(void)) {
        uint64_t deadline = mono_usec() + usec;

        while (!(done && done()) && mono_usec() < deadline)
                assert_true(sd_event_run(env.event, deadline - mono_usec()) >= 0);
}

static CaptureSinkRequest video_req(size_t mode, uint32_t w, uint32_t h, double fps) {
        return (CaptureSinkRequest) { .mode = mode, .width = w, .height = h, .frame_rate = fps };
}

static CaptureSinkRequest audio_req(uint32_t rate, uint32_t channels) {
        return (CaptureSinkRequest) { .sample_rate = rate, .channels = channels };
}

/* Mode choice. Each row attaches up to three sinks in order, then checks what each attach
 * returned, how often the device started and stopped, and the mode it ends in. */
typedef struct ModeCase {
        const char *name;
        CaptureSinkRequest reqs[3];
        size_t n;
        int expected[3];
        unsigned starts, stops;
        uint32_t width, height;
        double frame_rate;
} ModeCase;

static const ModeCase mode_cases[] = {
        { "one start for two sinks",
          { { 0, 640, 480, 30 }, { 0, 320, 240, 15 } }, 2, { 0, 0 }, 1, 0, 640, 480, 30 },
        { "the running mode covers a smaller second sink",
          { { 1, 1280, 720, 30 }, { 0, 640, 480, 30 } }, 2, { 0, 0 }, 1, 0, 1280, 720, 30 },
        { "served from the running mode though an earlier mode would also do",
          { { 1, 640, 480, 30 }, { 0, 320, 240, 30 } }, 2, { 0, 0 }, 1, 0, 1280, 720, 30 },
        { "restart in the first mode covering both",
          { { 0, 640, 480, 30 }, { 1, 1280, 720, 30 } }, 2, { 0, 0 }, 2, 1, 1280, 720, 30 },
        { "restart for a higher frame rate",
          { { 2, 1280, 720, 15 }, { 0, 640, 480, 30 } }, 2, { 0, 0 }, 2, 1, 1280, 720, 30 },
        { "1080p and 30 fps: busy",
          { { 2, 1920, 1080, 15 }, { 0, 640, 480, 30 } }, 2, { 0, -EBUSY }, 1, 0, 1920, 1080, 15 },
        { "no mode covers 1080p and 30 fps",
          { { 1, 1280, 720, 30 }, { 2, 1920, 1080, 15 } }, 2, { 0, -EBUSY }, 1, 0, 1280, 720, 30 },
        { "the refused sink changes nothing for a third",
          { { 0, 640, 480, 30 }, { 2, 1920, 1080, 15 }, { 0, 320, 240, 30 } }, 3, { 0, -EBUSY, 0 },
          1, 0, 640, 480, 30 },
        { "crop-and-scale from a mode the first sink runs",
          { { 2, 1920, 1080, 15 }, { 2, 800, 800, 10 } }, 2, { 0, 0 }, 1, 0, 1920, 1080, 15 },
        { "request beyond its own mode",
          { { 0, 1280, 720, 30 } }, 1, { -EINVAL }, 0, 0, 0, 0, 0 },
        { "mode out of range",
          { { 3, 640, 480, 30 } }, 1, { -EINVAL }, 0, 0, 0, 0, 0 },
        { "zero frame rate",
          { { 0, 640, 480, 0 } }, 1, { -EINVAL }, 0, 0, 0, 0, 0 },
};

static void test_capture_modes(void **state) {
        for (size_t k = 0; k < ELEMENTSOF(mode_cases); k++) {
                const ModeCase *c = &mode_cases[k];
                CaptureSink *sinks[3] = {};
                CaptureFormat fmt;

                print_message("case: %s\n", c->name);
                env.camera_state = (FakeState) {};

                for (size_t i = 0; i < c->n; i++) {
                        assert_int_equal(capture_sink_new(env.camera, &c->reqs[i], &sinks[i]), c->expected[i]);
                        if (c->expected[i] < 0)
                                assert_null(sinks[i]);
                }
                assert_int_equal(env.camera_state.starts, c->starts);
                assert_int_equal(env.camera_state.stops, c->stops);

                if (c->starts > 0) {
                        assert_true(capture_get_format(env.camera, &fmt));
                        assert_int_equal(fmt.width, c->width);
                        assert_int_equal(fmt.height, c->height);
                        assert_true(fmt.frame_rate == c->frame_rate);
                        assert_int_equal(env.camera_state.last_start.width, c->width);
                        assert_true(capture_device_is_live(env.camera));
                        assert_true(env.camera->capturing);
                } else
                        assert_false(capture_device_is_live(env.camera));

                /* The device stops with the last sink, not before. */
                for (size_t i = 0; i < c->n; i++) {
                        bool last = true;

                        for (size_t j = i + 1; j < c->n; j++)
                                if (sinks[j])
                                        last = false;
                        if (!sinks[i])
                                continue;
                        sinks[i] = capture_sink_free(sinks[i]);
                        assert_int_equal(env.camera_state.stops, c->stops + (last ? 1 : 0));
                        assert_int_equal(capture_device_is_live(env.camera), !last);
                }
                assert_false(env.camera->capturing);
                assert_int_equal(env.n_errors, 0);
        }
}

/* ApplyConstraints rows: two sinks in modes 0 and 0, then the second is reconfigured. */
typedef struct ReconfigureCase {
        const char *name;
        CaptureSinkRequest first, second, changed;
        int expected;
        unsigned starts;
        uint32_t width;
} ReconfigureCase;

static const ReconfigureCase reconfigure_cases[] = {
        { "smaller, same mode", { 0, 640, 480, 30 }, { 0, 640, 480, 30 }, { 0, 320, 240, 30 }, 0, 1, 640 },
        { "larger: restart in 720p", { 0, 640, 480, 30 }, { 0, 640, 480, 30 }, { 1, 1280, 720, 30 }, 0, 2, 1280 },
        { "1080p at 30 fps: none covers", { 0, 640, 480, 30 }, { 0, 640, 480, 30 }, { 2, 1920, 1080, 15 }, -EBUSY, 1, 640 },
        { "beyond its mode", { 0, 640, 480, 30 }, { 0, 640, 480, 30 }, { 0, 1280, 720, 30 }, -EINVAL, 1, 640 },
};

static void test_capture_reconfigure(void **state) {
        for (size_t k = 0; k < ELEMENTSOF(reconfigure_cases); k++) {
                const ReconfigureCase *c = &reconfigure_cases[k];
                CaptureSink *a = NULL, *b = NULL;
                CaptureFormat fmt;

                print_message("case: %s\n", c->name);
                env.camera_state = (FakeState) {};
                assert_int_equal(capture_sink_new(env.camera, &c->first, &a), 0);
                assert_int_equal(capture_sink_new(env.camera, &c->second, &b), 0);
                assert_int_equal(capture_sink_reconfigure(b, &c->changed), c->expected);
                assert_int_equal(env.camera_state.starts, c->starts);
                assert_true(capture_get_format(env.camera, &fmt));
                assert_int_equal(fmt.width, c->width);
                assert_true(capture_device_is_live(env.camera));
                capture_sink_free(a);
                capture_sink_free(b);
        }

        /* A lone sink gets exactly the mode the engine picked, even where another would cover. */
        {
                CaptureSink *a = NULL;
                CaptureSinkRequest r = video_req(1, 1280, 720, 30);
                CaptureFormat fmt;

                env.camera_state = (FakeState) {};
                assert_int_equal(capture_sink_new(env.camera, &r, &a), 0);
                r = video_req(0, 640, 480, 30);
                assert_int_equal(capture_sink_reconfigure(a, &r), 0);
                assert_true(capture_get_format(env.camera, &fmt));
                assert_int_equal(fmt.width, 640);
                assert_int_equal(env.camera_state.starts, 2);
                capture_sink_free(a);
        }
}

/* Restarting in a new mode fails: the old mode comes back and the caller gets the error. */
static void test_capture_restart_failure(void **state) {
        CaptureSinkRequest r0 = video_req(0, 640, 480, 30), r1 = video_req(1, 1280, 720, 30);
        CaptureSink *a = NULL, *b = NULL;
        CaptureFormat fmt;

        env.camera_state = (FakeState) {};
        assert_int_equal(capture_sink_new(env.camera, &r0, &a), 0);

        /* Held elsewhere for a moment: the new mode cannot start, and neither can the old. */
        env.camera_state.fail_start = -EBUSY;
        assert_int_equal(capture_sink_new(env.camera, &r1, &b), -EBUSY);
        assert_null(b);
        assert_false(capture_device_is_live(env.camera));
        assert_int_equal(env.n_errors, 0); /* not from inside the call */
        env.free_on_error[0] = a;
        run_for(500000, NULL);
        assert_int_equal(env.n_errors, 1);
        assert_int_equal(env.last_error, -EBUSY);
        assert_ptr_equal(env.error_device, env.camera);
        assert_null(env.free_on_error[0]); /* the handler freed the sink from the loop */
        assert_false(capture_get_format(env.camera, NULL));

        /* Only the new mode fails: the old one is back and the first sink carries on. */
        env.camera_state = (FakeState) {};
        env.n_errors = 0;
        assert_int_equal(capture_sink_new(env.camera, &r0, &a), 0);
        env.camera_state.fail_start = -EIO;
        env.camera_state.fail_width = 1280;
        assert_int_equal(capture_sink_new(env.camera, &r1, &b), -EIO);
        assert_null(b);
        assert_true(capture_device_is_live(env.camera));
        assert_int_equal(env.camera_state.starts, 2); /* the first, and the old mode again */
        assert_int_equal(env.camera_state.last_start.width, 640);
        assert_true(capture_get_format(env.camera, &fmt));
        assert_int_equal(fmt.width, 640);

        /* ApplyConstraints into the failing mode: the error, the old settings stay. */
        assert_int_equal(capture_sink_reconfigure(a, &r1), -EIO);
        assert_true(capture_device_is_live(env.camera));
        assert_int_equal(env.camera->format.width, 640);
        run_for(100000, NULL);
        assert_int_equal(env.n_errors, 0);
        capture_sink_free(a);
}

static bool camera_stopped(void) {
        return !env.camera->capturing;
}

/* Release after the grace period when every sink is inactive; restart when one is active. */
static void test_capture_release(void **state) {
        CaptureSinkRequest r = video_req(0, 640, 480, 30);
        CaptureSink *a = NULL, *b = NULL;
        uint64_t t0, waited;

        capture_set_release_delay(200 * 1000);
        env.camera_state = (FakeState) {};
        assert_int_equal(capture_sink_new(env.camera, &r, &a), 0);
        assert_int_equal(capture_sink_new(env.camera, &r, &b), 0);
        assert_true(env.live);
        assert_int_equal(env.n_live_changes, 1);

        /* One inactive sink: nothing happens. */
        capture_sink_set_active(a, false);
        run_for(400 * 1000, NULL);
        assert_true(env.camera->capturing);

        /* Both inactive: still running during the grace period, released after it. */
        t0 = mono_usec();
        capture_sink_set_active(b, false);
        run_for(100 * 1000, NULL);
        assert_true(env.camera->capturing);
        assert_true(capture_device_is_live(env.camera));
        run_for(1000 * 1000, camera_stopped);
        waited = mono_usec() - t0;
        assert_false(env.camera->capturing);
        assert_in_range(waited, 200 * 1000, 600 * 1000);
        assert_int_equal(env.camera_state.stops, 1);
        assert_false(capture_device_is_live(env.camera));
        assert_false(env.live);
        assert_int_equal(env.n_live_changes, 2);

        /* Active again: started in the same mode, at once. */
        capture_sink_set_active(a, true);
        assert_true(env.camera->capturing);
        assert_int_equal(env.camera_state.starts, 2);
        assert_int_equal(env.camera_state.last_start.width, 640);
        assert_true(env.live);

        /* A quick toggle inside the grace period does not release. */
        capture_sink_set_active(a, false);
        run_for(100 * 1000, NULL);
        capture_sink_set_active(b, true);
        run_for(400 * 1000, NULL);
        assert_true(env.camera->capturing);
        assert_int_equal(env.camera_state.stops, 1);

        /* A new sink on a released device starts it. */
        capture_sink_set_active(b, false);
        run_for(1000 * 1000, camera_stopped);
        assert_false(env.camera->capturing);
        {
                CaptureSink *c = NULL;

                assert_int_equal(capture_sink_new(env.camera, &r, &c), 0);
                assert_true(env.camera->capturing);
                capture_sink_free(c);
        }
        /* ...and a reconfigure of a released device only remembers the mode. */
        run_for(1000 * 1000, camera_stopped);
        assert_false(env.camera->capturing);
        {
                CaptureSinkRequest big = video_req(1, 1280, 720, 30);
                CaptureFormat fmt;
                unsigned starts = env.camera_state.starts;

                assert_int_equal(capture_sink_reconfigure(a, &big), 0);
                assert_false(env.camera->capturing);
                assert_int_equal(env.camera_state.starts, starts);
                capture_sink_set_active(a, true);
                assert_true(capture_get_format(env.camera, &fmt));
                assert_int_equal(env.camera_state.last_start.width, 1280);
                assert_int_equal(fmt.width, 1280);
        }

        /* Reacquiring fails: the handler is told, from the loop. */
        capture_sink_set_active(a, false);
        run_for(1000 * 1000, camera_stopped);
        env.camera_state.fail_start = -EBUSY;
        capture_sink_set_active(a, true);
        assert_int_equal(env.n_errors, 0);
        assert_false(env.camera->capturing);
        env.free_on_error[0] = a;
        env.free_on_error[1] = b;
        run_for(500 * 1000, NULL);
        assert_int_equal(env.n_errors, 1);
        assert_int_equal(env.last_error, -EBUSY);
        assert_null(env.free_on_error[0]);
        assert_null(env.free_on_error[1]);
        env.camera_state.fail_start = 0;
        env.n_errors = 0;
        capture_set_release_delay(CAPTURE_RELEASE_DELAY_USEC);
}

/* The real delay: released after about two seconds, under three. */
static void test_capture_release_default_delay(void **state) {
        CaptureSinkRequest r = video_req(0, 640, 480, 30);
        CaptureSink *a = NULL;
        uint64_t t0, waited;

        assert_true(CAPTURE_RELEASE_DELAY_USEC < 3 * 1000000ULL);
        assert_int_equal(capture_sink_new(env.camera, &r, &a), 0);
        t0 = mono_usec();
        capture_sink_set_active(a, false);
        run_for(4 * 1000000ULL, camera_stopped);
        waited = mono_usec() - t0;
        assert_false(env.camera->capturing);
        assert_in_range(waited, CAPTURE_RELEASE_DELAY_USEC, 3 * 1000000ULL);
        capture_sink_free(a);
}

/* A device error while capturing: the owner hears of it from the loop and ends the tracks. */
static void test_capture_device_error(void **state) {
        CaptureSinkRequest r = video_req(0, 640, 480, 30);
        CaptureSink *a = NULL, *b = NULL;

        assert_int_equal(capture_sink_new(env.camera, &r, &a), 0);
        assert_int_equal(capture_sink_new(env.camera, &r, &b), 0);
        device_report_error(env.camera, -EIO);
        assert_false(capture_device_is_live(env.camera));
        assert_false(env.live);
        assert_int_equal(env.n_errors, 0);

        /* No automatic restart of a failed device, even when a sink toggles. */
        capture_sink_set_active(a, false);
        capture_sink_set_active(a, true);
        assert_false(env.camera->capturing);

        env.free_on_error[0] = a;
        env.free_on_error[1] = b;
        run_for(500 * 1000, NULL);
        assert_int_equal(env.n_errors, 1);
        assert_int_equal(env.last_error, -EIO);
        assert_null(env.free_on_error[0]);
        assert_null(env.free_on_error[1]);
        env.n_errors = 0;
}

/* A removed device cannot be opened; sinks of a device that went away can still be freed. */
static void test_capture_removed_device(void **state) {
        CaptureSinkRequest r = video_req(0, 640, 480, 30);
        CaptureSink *a = NULL, *b = NULL;
        Device *gone = device_ref(env.camera);

        assert_int_equal(capture_sink_new(env.camera, &r, &a), 0);
        assert_true(env.live);
        device_registry_remove(env.registry, gone); /* stops it without an event */
        assert_false(capture_device_is_live(gone));
        assert_int_equal(capture_sink_new(gone, &r, &b), -ENODEV);
        assert_null(b);
        capture_sink_free(a);
        assert_false(env.live);
        assert_int_equal(capture_sink_new(gone, &r, &b), -ENODEV);
        assert_null(b);
        device_unref(gone);
        assert_int_equal(env.n_errors, 0);
}

/* Microphones: one rate for everybody, the largest channel count, downmixed per stream. */
typedef struct AudioModeCase {
        const char *name;
        CaptureSinkRequest reqs[3];
        size_t n;
        int expected[3];
        unsigned starts;
        uint32_t rate, channels;
} AudioModeCase;

static const AudioModeCase audio_mode_cases[] = {
        { "two mono sinks", { { .sample_rate = 48000, .channels = 1 }, { .sample_rate = 48000, .channels = 1 } }, 2,
          { 0, 0 }, 1, 48000, 1 },
        { "mono then stereo: restart in stereo",
          { { .sample_rate = 48000, .channels = 1 }, { .sample_rate = 48000, .channels = 2 } }, 2, { 0, 0 }, 2, 48000, 2 },
        { "stereo then mono", { { .sample_rate = 48000, .channels = 2 }, { .sample_rate = 48000, .channels = 1 } }, 2,
          { 0, 0 }, 1, 48000, 2 },
        { "another rate is busy", { { .sample_rate = 48000, .channels = 1 }, { .sample_rate = 44100, .channels = 1 } }, 2,
          { 0, -EBUSY }, 1, 48000, 1 },
        { "a rate the device lacks", { { .sample_rate = 96000, .channels = 1 } }, 1, { -EINVAL }, 0, 0, 0 },
        { "a channel count the device lacks", { { .sample_rate = 48000, .channels = 6 } }, 1, { -EINVAL }, 0, 0, 0 },
};

static void test_capture_audio_modes(void **state) {
        for (size_t k = 0; k < ELEMENTSOF(audio_mode_cases); k++) {
                const AudioModeCase *c = &audio_mode_cases[k];
                CaptureSink *sinks[3] = {};

                print_message("case: %s\n", c->name);
                env.mic_state = (FakeState) {};
                for (size_t i = 0; i < c->n; i++)
                        assert_int_equal(capture_sink_new(env.mic, &c->reqs[i], &sinks[i]), c->expected[i]);
                assert_int_equal(env.mic_state.starts, c->starts);
                if (c->starts > 0) {
                        assert_int_equal(env.mic_state.last_start.sample_rate, c->rate);
                        assert_int_equal(env.mic_state.last_start.channels, c->channels);
                }
                for (size_t i = 0; i < c->n; i++)
                        capture_sink_free(sinks[i]);
                assert_false(env.mic->capturing);
        }
}

/* A stream with its client side, as the Track would open it. */
typedef struct Client {
        Stream *stream;
        int control, pool_fd;
        const uint8_t *pool;
        StreamConfig cfg;
} Client;

static void client_open(Client *cl, const StreamConfig *cfg) {
        void *p;

        cl->cfg = *cfg;
        assert_int_equal(stream_new(env.event, cfg, &cl->stream, &cl->control, &cl->pool_fd), 0);
        p = mmap(NULL, cfg->slot_size * cfg->n_slots, PROT_READ, MAP_SHARED, cl->pool_fd, 0);
        assert_true(p != MAP_FAILED);
        cl->pool = p;
}

static void client_close(Client *cl) {
        munmap((void *) cl->pool, cl->cfg.slot_size * cl->cfg.n_slots);
        stream_free(cl->stream);
        close(cl->control);
        close(cl->pool_fd);
}

/* The next message, or type 0 if none is queued. */
static MgWireMessage client_next(Client *cl) {
        uint8_t buf[MG_WIRE_MESSAGE_SIZE];
        MgWireMessage m = {};
        ssize_t n = recv(cl->control, buf, sizeof(buf), MSG_DONTWAIT);

        if (n > 0)
                assert_true(mg_wire_decode(buf, (size_t) n, &m));
        return m;
}

static void client_release(Client *cl, uint32_t slot) {
        MgWireMessage m = { .type = MG_WIRE_RELEASE, .slot = slot };
        uint8_t buf[MG_WIRE_MESSAGE_SIZE];

        mg_wire_encode(&m, buf);
        assert_int_equal(send(cl->control, buf, sizeof(buf), MSG_NOSIGNAL), sizeof(buf));
}

/* Deliver one frame of the device's running format, as a backend would. */
static void deliver_video(uint64_t seq, uint8_t **ret_data, size_t *ret_size) {
        const CaptureFormat *f = &env.camera->format;
        uint32_t stride = f->fourcc == YUYV ? f->width * 2 : f->width;
        size_t size;
        uint8_t *data;
        Frame fr;

        assert_int_equal(scale_source_size(f->fourcc, f->width, f->height, stride, &size), 0);
        data = malloc(size);
        assert_non_null(data);
        for (size_t i = 0; i < size; i++)
                data[i] = (uint8_t) (i * 7 + (i >> 11) + seq);
        fr = (Frame) { .data = data, .size = size, .sequence = seq, .timestamp_ns = seq * 33333333,
                       .width = f->width, .height = f->height, .stride = stride, .fourcc = f->fourcc };
        device_deliver_frame(env.camera, &fr);
        *ret_data = data;
        *ret_size = size;
}

static void expect_scaled(Client *cl, const MgWireMessage *m, const uint8_t *src, size_t src_size) {
        const CaptureFormat *f = &env.camera->format;
        _cleanup_(scale_plan_freep) ScalePlan *p = NULL;
        _cleanup_free_ uint8_t *expected = NULL;

        assert_int_equal(scale_plan_new_convert(f->fourcc, f->width, f->height, f->fourcc == YUYV ? f->width * 2 : f->width,
                                                cl->cfg.fourcc, cl->cfg.width, cl->cfg.height, &p), 0);
        expected = malloc(scale_plan_dst_size(p));
        assert_non_null(expected);
        assert_int_equal(scale_plan_run(p, src, src_size, expected, scale_plan_dst_size(p)), 0);
        assert_int_equal(m->bytes, scale_plan_dst_size(p));
        assert_memory_equal(cl->pool + (size_t) m->slot * cl->cfg.slot_size, expected, m->bytes);
}

/* Fan-out: each stream gets the frame at its own size; muted gets nothing; disabled gets black;
 * a detached stream nothing; after a restart in another mode the plans follow. */
static void test_capture_fanout(void **state) {
        CaptureSinkRequest ra = video_req(0, 640, 480, 30), rb = video_req(0, 320, 180, 30), rc = video_req(0, 160, 120, 30);
        StreamConfig ca = { .kind = DEVICE_KIND_VIDEO, .width = 640, .height = 480, .fourcc = YUYV, .slot_size = 1920 * 1080 * 2, .n_slots = 2 };
        StreamConfig cb = { .kind = DEVICE_KIND_VIDEO, .width = 320, .height = 180, .fourcc = YUYV, .slot_size = 1920 * 1080 * 2, .n_slots = 2 };
        StreamConfig cc = { .kind = DEVICE_KIND_VIDEO, .width = 160, .height = 120, .fourcc = YUYV, .slot_size = 1920 * 1080 * 2, .n_slots = 2 };
        CaptureSink *a = NULL, *b = NULL, *c = NULL;
        Client A, B, C;
        MgWireMessage m;
        uint8_t *data;
        size_t size;

        assert_int_equal(capture_sink_new(env.camera, &ra, &a), 0);
        assert_int_equal(capture_sink_new(env.camera, &rb, &b), 0);
        assert_int_equal(capture_sink_new(env.camera, &rc, &c), 0);
        client_open(&A, &ca);
        client_open(&B, &cb);
        client_open(&C, &cc);
        capture_sink_set_stream(a, A.stream);
        capture_sink_set_stream(b, B.stream);
        capture_sink_set_stream(c, C.stream);

        deliver_video(1, &data, &size);
        m = client_next(&A);
        assert_int_equal(m.type, MG_WIRE_FRAME);
        assert_int_equal(m.sequence, 1);
        expect_scaled(&A, &m, data, size);
        client_release(&A, m.slot);
        m = client_next(&B);
        assert_int_equal(m.type, MG_WIRE_FRAME);
        expect_scaled(&B, &m, data, size);
        client_release(&B, m.slot);
        m = client_next(&C);
        assert_int_equal(m.type, MG_WIRE_FRAME);
        client_release(&C, m.slot);
        free(data);
        run_for(10000, NULL);

        /* B muted (by its owner, through the stream), C disabled. */
        stream_set_muted(B.stream, true);
        assert_int_equal(client_next(&B).type, MG_WIRE_MUTED);
        stream_set_enabled(C.stream, false);
        capture_sink_set_active(c, false);
        deliver_video(2, &data, &size);
        m = client_next(&A);
        assert_int_equal(m.type, MG_WIRE_FRAME);
        expect_scaled(&A, &m, data, size);
        client_release(&A, m.slot);
        assert_int_equal(client_next(&B).type, 0);
        m = client_next(&C);
        assert_int_equal(m.type, MG_WIRE_FRAME);
        assert_int_equal(m.flags, MG_FRAME_FLAG_BLACK);
        assert_int_equal(C.pool[(size_t) m.slot * cc.slot_size], 16);
        client_release(&C, m.slot);
        free(data);
        run_for(10000, NULL);

        /* A detached (its client closed): the others still get frames. */
        capture_sink_set_stream(a, NULL);
        client_close(&A);
        stream_set_muted(B.stream, false);
        assert_int_equal(client_next(&B).type, MG_WIRE_UNMUTED);
        deliver_video(3, &data, &size);
        m = client_next(&B);
        assert_int_equal(m.type, MG_WIRE_FRAME);
        expect_scaled(&B, &m, data, size);
        client_release(&B, m.slot);
        m = client_next(&C); /* still disabled: black while the device runs for B */
        assert_int_equal(m.type, MG_WIRE_FRAME);
        assert_int_equal(m.flags, MG_FRAME_FLAG_BLACK);
        client_release(&C, m.slot);
        free(data);
        run_for(10000, NULL);

        /* B asks for 1280x720: the device restarts in 720p; C's plan follows the new mode. */
        rb = video_req(1, 1280, 720, 30);
        assert_int_equal(capture_sink_reconfigure(b, &rb), 0);
        cb.width = 1280;
        cb.height = 720;
        assert_int_equal(stream_set_format(B.stream, &cb), 0);
        B.cfg = cb;
        assert_int_equal(client_next(&B).type, MG_WIRE_FORMAT);
        assert_int_equal(env.camera->format.width, 1280);
        stream_set_enabled(C.stream, true);
        capture_sink_set_active(c, true);
        deliver_video(4, &data, &size);
        m = client_next(&B);
        assert_int_equal(m.type, MG_WIRE_FRAME);
        expect_scaled(&B, &m, data, size);
        m = client_next(&C);
        assert_int_equal(m.type, MG_WIRE_FRAME);
        assert_int_equal(m.flags, 0);
        expect_scaled(&C, &m, data, size);
        free(data);

        capture_sink_free(a);
        capture_sink_free(b);
        capture_sink_free(c);
        client_close(&B);
        client_close(&C);
}

/* Audio fan-out: the device runs in stereo for a stereo sink; the mono stream gets the mix. */
static void test_capture_audio_fanout(void **state) {
        CaptureSinkRequest rm = audio_req(48000, 1), rs = audio_req(48000, 2);
        StreamConfig cm = { .kind = DEVICE_KIND_AUDIO, .sample_rate = 48000, .channels = 1, .frames_per_slot = 480, .slot_size = 480 * 2 * 2, .n_slots = 4 };
        StreamConfig cs = { .kind = DEVICE_KIND_AUDIO, .sample_rate = 48000, .channels = 2, .frames_per_slot = 480, .slot_size = 480 * 2 * 2, .n_slots = 4 };
        CaptureSink *mono = NULL, *stereo = NULL;
        int16_t samples[480 * 2];
        Client M, S;
        MgWireMessage m;
        Frame fr;

        assert_int_equal(capture_sink_new(env.mic, &rm, &mono), 0);
        assert_int_equal(capture_sink_new(env.mic, &rs, &stereo), 0);
        assert_int_equal(env.mic->format.channels, 2);
        client_open(&M, &cm);
        client_open(&S, &cs);
        capture_sink_set_stream(mono, M.stream);
        capture_sink_set_stream(stereo, S.stream);

        for (int i = 0; i < 480; i++) {
                samples[2 * i] = (int16_t) (i * 10);
                samples[2 * i + 1] = (int16_t) (-i * 20);
        }
        fr = (Frame) { .data = (const uint8_t *) samples, .size = sizeof(samples), .sequence = 1, .timestamp_ns = 1000, .n_frames = 480 };
        device_deliver_frame(env.mic, &fr);

        m = client_next(&S);
        assert_int_equal(m.type, MG_WIRE_FRAME);
        assert_int_equal(m.bytes, sizeof(samples));
        assert_memory_equal(S.pool + (size_t) m.slot * cs.slot_size, samples, sizeof(samples));
        m = client_next(&M);
        assert_int_equal(m.type, MG_WIRE_FRAME);
        assert_int_equal(m.bytes, 480 * 2);
        for (int i = 0; i < 480; i++) {
                int16_t v;

                memcpy(&v, M.pool + (size_t) m.slot * cm.slot_size + 2 * i, 2);
                assert_int_equal(v, (i * 10 - i * 20) / 2);
        }

        capture_sink_free(mono);
        capture_sink_free(stereo);
        client_close(&M);
        client_close(&S);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_capture_modes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_capture_reconfigure, setup, teardown),
                cmocka_unit_test_setup_teardown(test_capture_restart_failure, setup, teardown),
                cmocka_unit_test_setup_teardown(test_capture_release, setup, teardown),
                cmocka_unit_test_setup_teardown(test_capture_release_default_delay, setup, teardown),
                cmocka_unit_test_setup_teardown(test_capture_device_error, setup, teardown),
                cmocka_unit_test_setup_teardown(test_capture_removed_device, setup, teardown),
                cmocka_unit_test_setup_teardown(test_capture_audio_modes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_capture_fanout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_capture_audio_fanout, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
