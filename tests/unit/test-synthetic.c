/* Table tests for the synthetic device file parser, the device registry, synthetic capture
 * on an sd_event loop, and the Testing bus interface (over a private peer connection). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>
#include <signal.h>
#include <math.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "devices/device.h"
#include "devices/synthetic-file.h"
#include "devices/synthetic.h"
#include "ini.h"
#include "mediagate-names.h"
#include "testing-dbus.h"
#include "util.h"

static uint64_t mono_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static uint64_t read_le64(const uint8_t *p) {
        uint64_t v = 0;

        for (unsigned i = 0; i < 8; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

/* Run the loop for about `msec`, or until *stop turns true. */
static void run_loop(sd_event *e, unsigned msec, const bool *stop) {
        uint64_t end = mono_ns() + (uint64_t) msec * 1000000ULL;

        for (;;) {
                uint64_t now = mono_ns();

                if (now >= end || (stop && *stop))
                        return;
                assert_true(sd_event_run(e, (end - now) / 1000 + 1) >= 0);
        }
}

/* ---- parser: valid files ---- */

static void test_parse_valid(void **state) {
        static const struct {
                const char *name;
                const char *text;
                size_t n_specs;
                /* about the last spec */
                const char *label, *facing_mode, *group;
                DeviceKind kind;
                bool is_default;
                size_t n_modes;
                VideoMode last_mode;
                size_t n_rates;
                uint32_t first_rate, last_rate;
                size_t n_channels;
                uint32_t last_channels;
                double tone_hz;
                bool echo, agc, ns;
                double tone_amplitude, noise_rms;
                uint32_t cadence_on, cadence_off;
                SampleFormat sample_format;
        } table[] = {
                { "empty", "", 0 },
                { "comments only", "# nothing\n; here\n\n", 0 },
                { "minimal camera", "[c]\nKind=camera\nModes=640x480@30\n", 1, "c", "", NULL,
                  DEVICE_KIND_VIDEO, false, 1, { 640, 480, 30, PIXEL_FORMAT_YUYV } },
                { "formats expand in order", "[c]\nKind=camera\nModes=640x480@30:YUYV,NV12 320x240@7.5:NV12\n", 1,
                  "c", "", NULL, DEVICE_KIND_VIDEO, false, 3, { 320, 240, 7.5, PIXEL_FORMAT_NV12 } },
                { "kind after modes", "[c]\nModes=1280x720@29.97\nFacingMode=environment\nKind=camera\n", 1, "c",
                  "environment", NULL, DEVICE_KIND_VIDEO, false, 1, { 1280, 720, 29.97, PIXEL_FORMAT_YUYV } },
                { "limits of a mode", "[c]\nKind=camera\nModes=8192x8192@10000 2x20@0.001\n", 1, "c", "", NULL,
                  DEVICE_KIND_VIDEO, false, 2, { 2, 20, 0.001, PIXEL_FORMAT_YUYV } },
                { "odd height is fine for YUYV", "[c]\nKind=camera\nModes=640x481@30\n", 1, "c", "", NULL,
                  DEVICE_KIND_VIDEO, false, 1, { 640, 481, 30, PIXEL_FORMAT_YUYV } },
                { "spaces and CRLF", "  [ cam ]  \r\n  Kind =  camera \r\n Modes = \t640x480@30   320x240@15 \r\n"
                  "Label = My  Camera \r\nFacingMode=\r\nGroup=desk.1\r\nDefault=true\r\n", 1, "My  Camera", "",
                  "desk.1", DEVICE_KIND_VIDEO, true, 2, { 320, 240, 15, PIXEL_FORMAT_YUYV } },
                { "UTF-8 label", "[c]\nKind=camera\nModes=640x480@30\nLabel=Caméra ☺ 𝄞\n", 1, "Caméra ☺ 𝄞", "",
                  NULL, DEVICE_KIND_VIDEO, false, 1, { 640, 480, 30, PIXEL_FORMAT_YUYV } },
                { "minimal microphone gets defaults", "[m]\nKind=microphone\n", 1, "m", "", NULL,
                  DEVICE_KIND_AUDIO, false, 0, {}, 1, 48000, 48000, 1, 1, 0, false, true, true },
                { "microphone lists sorted", "[m]\nKind=microphone\nSampleRates=48000 8000 384000\nChannels=32 2 1\n"
                  "ToneHz=3999.5\nEchoCancellation=yes\nAutoGainControl=on\nNoiseSuppression=1\n", 1, "m", "", NULL,
                  DEVICE_KIND_AUDIO, false, 0, {}, 3, 8000, 384000, 3, 32, 3999.5, true, true, true },
                { "two devices, one default each", "[a]\nKind=camera\nModes=640x480@30\nDefault=yes\n"
                  "[b]\nKind=microphone\nDefault=yes\nGroup=a\n", 2, "b", "", "a", DEVICE_KIND_AUDIO, true, 0, {},
                  1, 48000, 48000, 1, 1, 0, false, true, true },
                { "processing switched off", "[m]\nKind=microphone\nAutoGainControl=no\nNoiseSuppression=no\n", 1,
                  "m", "", NULL, DEVICE_KIND_AUDIO, false, 0, {}, 1, 48000, 48000, 1, 1, 0, false, false, false },
                { "the sound of a microphone", "[m]\nKind=microphone\nToneLevel=-40\nToneCadence=300 200\n"
                  "NoiseLevel=-20.5\nSampleFormat=S24_3LE\n", 1, "m", "", NULL, DEVICE_KIND_AUDIO, false, 0, {}, 1,
                  48000, 48000, 1, 1, 0, false, true, true, 0.01, 0.0944060876, 300, 200, SAMPLE_FORMAT_S24_3LE },
                { "full scale and silence", "[m]\nKind=microphone\nToneLevel=0\nNoiseLevel=-150\nSampleFormat=S32_LE\n",
                  1, "m", "", NULL, DEVICE_KIND_AUDIO, false, 0, {}, 1, 48000, 48000, 1, 1, 0, false, true, true, 1,
                  3.16227766e-8, 0, 0, SAMPLE_FORMAT_S32_LE },
                { "an MJPEG camera", "[c]\nKind=camera\nFormats=MJPEG\nModes=640x480@30 1920x1080@30\n", 1, "c", "",
                  NULL, DEVICE_KIND_VIDEO, false, 2, { 1920, 1080, 30, PIXEL_FORMAT_NV12, PIXEL_FORMAT_MJPEG } },
                { "Formats= after Modes=, and a mode with its own", "[c]\nKind=camera\nModes=640x480@30:YUYV "
                  "1280x720@30\nFormats=NV12 MJPEG\n", 1, "c", "", NULL, DEVICE_KIND_VIDEO, false, 3,
                  { 1280, 720, 30, PIXEL_FORMAT_NV12, PIXEL_FORMAT_MJPEG } },
                { "raw and JPEG of one size are two modes", "[c]\nKind=camera\nModes=640x480@30:NV12,MJPEG\n", 1, "c",
                  "", NULL, DEVICE_KIND_VIDEO, false, 2, { 640, 480, 30, PIXEL_FORMAT_NV12, PIXEL_FORMAT_MJPEG } },
                { "Default=no twice", "[a]\nKind=camera\nModes=640x480@30\nDefault=no\n"
                  "[b]\nKind=camera\nModes=640x480@30\nDefault=no\n", 2, "b", "", NULL, DEVICE_KIND_VIDEO, false, 1,
                  { 640, 480, 30, PIXEL_FORMAT_YUYV } },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *error = NULL;
                SyntheticSpec *specs = NULL, *s;
                size_t n = 0;
                int r;

                r = synthetic_file_parse(table[i].text, strlen(table[i].text), "t.conf", &specs, &n, &error);
                if (r < 0)
                        fail_msg("case '%s': unexpected error %d: %s", table[i].name, r, error);
                if (n != table[i].n_specs)
                        fail_msg("case '%s': %zu specs, expected %zu", table[i].name, n, table[i].n_specs);
                if (n == 0) {
                        synthetic_specs_free(specs, n);
                        continue;
                }
                s = specs + n - 1;
                assert_string_equal(s->label, table[i].label);
                assert_string_equal(s->facing_mode, table[i].facing_mode);
                if (table[i].group)
                        assert_string_equal(s->group, table[i].group);
                else
                        assert_null(s->group);
                assert_int_equal(s->kind, table[i].kind);
                assert_int_equal(s->is_default, table[i].is_default);
                assert_int_equal(s->n_modes, table[i].n_modes);
                if (s->n_modes > 0) {
                        VideoMode m = s->modes[s->n_modes - 1];

                        assert_int_equal(m.width, table[i].last_mode.width);
                        assert_int_equal(m.height, table[i].last_mode.height);
                        assert_true(m.frame_rate == table[i].last_mode.frame_rate);
                        assert_int_equal(m.fourcc, table[i].last_mode.fourcc);
                        assert_int_equal(m.source_fourcc, table[i].last_mode.source_fourcc);
                }
                if (s->kind == DEVICE_KIND_AUDIO) {
                        assert_int_equal(s->n_sample_rates, table[i].n_rates);
                        assert_int_equal(s->sample_rates[0], table[i].first_rate);
                        assert_int_equal(s->sample_rates[s->n_sample_rates - 1], table[i].last_rate);
                        assert_int_equal(s->n_channel_counts, table[i].n_channels);
                        assert_int_equal(s->channel_counts[s->n_channel_counts - 1], table[i].last_channels);
                        for (size_t j = 1; j < s->n_channel_counts; j++)
                                assert_true(s->channel_counts[j - 1] < s->channel_counts[j]);
                        assert_int_equal(s->n_sample_sizes, 1);
                        assert_int_equal(s->sample_sizes[0], 16);
                        assert_true(s->tone_hz == table[i].tone_hz);
                        assert_int_equal(s->echo_cancellation, table[i].echo);
                        assert_int_equal(s->auto_gain_control, table[i].agc);
                        assert_int_equal(s->noise_suppression, table[i].ns);
                        assert_true(fabs(s->tone_amplitude - table[i].tone_amplitude) < 1e-9);
                        assert_true(fabs(s->noise_rms - table[i].noise_rms) < 1e-9);
                        assert_int_equal(s->cadence_on_ms, table[i].cadence_on);
                        assert_int_equal(s->cadence_off_ms, table[i].cadence_off);
                        assert_int_equal(s->sample_format, table[i].sample_format);
                } else {
                        assert_null(s->sample_rates);
                        assert_int_equal(s->n_sample_rates, 0);
                }
                assert_null(error);
                synthetic_specs_free(specs, n);
        }
}

/* ---- parser: every error, with its line ---- */

static void test_parse_errors(void **state) {
        static const struct {
                const char *text;
                size_t size; /* 0: strlen */
                const char *filename;
                const char *expected; /* the whole message */
        } table[] = {
                /* structure */
                { "Kind=camera\n[a]\n", 0, "t.conf", "t.conf:1: Kind= outside of a [device] section" },
                { "[a]\nKind camera\n", 0, "t.conf", "t.conf:2: expected Key=Value or [Section]" },
                { "[a\nKind=camera\n", 0, "t.conf", "t.conf:1: malformed section header" },
                { "[a]\nKind=camera\0\n", 16, "t.conf", "t.conf:2: NUL byte in line" },
                { "[a]\nKind=microphone\n[a]\nKind=microphone\n", 0, "t.conf",
                  "t.conf:3: duplicate device [a], first at line 1" },
                { "[a b]\nKind=microphone\n", 0, "t.conf",
                  "t.conf:1: bad device name [a b]: 1 to 64 characters of A-Z a-z 0-9 . _ -" },
                { "[caméra]\nKind=microphone\n", 0, "t.conf",
                  "t.conf:1: bad device name [caméra]: 1 to 64 characters of A-Z a-z 0-9 . _ -" },
                { "[a123456789a123456789a123456789a123456789a123456789a123456789abcde]\nKind=microphone\n", 0,
                  "t.conf",
                  "t.conf:1: bad device name [a123456789a123456789a123456789a123456789a123456789a123456789abcde]: "
                  "1 to 64 characters of A-Z a-z 0-9 . _ -" },
                { "[a]\nLabel=x\n\n[b]\nKind=microphone\n", 0, "t.conf", "t.conf:1: device 'a' has no Kind=" },
                { "[m]\nKind=microphone\n\n[a]\nLabel=x\n", 0, "t.conf", "t.conf:4: device 'a' has no Kind=" },
                { "[a]\nKind=camera\nModes=640x480@30\nFoo=1\n", 0, "t.conf", "t.conf:4: unknown key Foo=" },
                { "[a]\nkind=camera\n", 0, "t.conf", "t.conf:2: unknown key kind=" },
                { "[a]\nKind=camera\nKind=camera\n", 0, "t.conf",
                  "t.conf:3: Kind= given twice in [a], first at line 2" },
                { "[a]\nKind=webcam\n", 0, "t.conf", "t.conf:2: unknown Kind=webcam, expected camera or microphone" },
                { "[a]\nKind=camera # the front one\n", 0, "t.conf",
                  "t.conf:2: unknown Kind=camera # the front one, expected camera or microphone" },

                /* camera modes */
                { "[a]\nKind=camera\n", 0, "t.conf", "t.conf:1: camera 'a' has no Modes=" },
                { "[a]\nKind=camera\nModes=\n", 0, "t.conf", "t.conf:3: empty Modes=, a camera needs at least one mode" },
                { "[a]\nKind=camera\nModes=640x480\n", 0, "t.conf",
                  "t.conf:3: bad mode '640x480', expected WIDTHxHEIGHT@FPS[:FORMAT[,FORMAT]]" },
                { "[a]\nKind=camera\nModes=640*480@30\n", 0, "t.conf",
                  "t.conf:3: bad mode '640*480@30', expected WIDTHxHEIGHT@FPS[:FORMAT[,FORMAT]]" },
                { "[a]\nKind=camera\nModes=640x480@30fps\n", 0, "t.conf",
                  "t.conf:3: bad mode '640x480@30fps', expected WIDTHxHEIGHT@FPS[:FORMAT[,FORMAT]]" },
                { "[a]\nKind=camera\nModes=640x480@1e2\n", 0, "t.conf",
                  "t.conf:3: bad mode '640x480@1e2', expected WIDTHxHEIGHT@FPS[:FORMAT[,FORMAT]]" },
                { "[a]\nKind=camera\nModes=640x480@.5\n", 0, "t.conf",
                  "t.conf:3: bad mode '640x480@.5', expected WIDTHxHEIGHT@FPS[:FORMAT[,FORMAT]]" },
                { "[a]\nKind=camera\nModes=-640x480@30\n", 0, "t.conf",
                  "t.conf:3: bad mode '-640x480@30', expected WIDTHxHEIGHT@FPS[:FORMAT[,FORMAT]]" },
                { "[a]\nKind=camera\nModes=640x480@30\nModes=320x240@30\n", 0, "t.conf",
                  "t.conf:4: Modes= given twice in [a], first at line 3" },
                { "[a]\nKind=camera\nModes=640x480@0\n", 0, "t.conf",
                  "t.conf:3: mode '640x480@0': frame rate must be above 0 and at most 10000" },
                { "[a]\nKind=camera\nModes=640x480@0.0\n", 0, "t.conf",
                  "t.conf:3: mode '640x480@0.0': frame rate must be above 0 and at most 10000" },
                { "[a]\nKind=camera\nModes=640x480@10000.5\n", 0, "t.conf",
                  "t.conf:3: mode '640x480@10000.5': frame rate must be above 0 and at most 10000" },
                { "[a]\nKind=camera\nModes=0x480@30\n", 0, "t.conf", "t.conf:3: mode '0x480@30': width must be 1 to 8192" },
                { "[a]\nKind=camera\nModes=8194x480@30\n", 0, "t.conf",
                  "t.conf:3: mode '8194x480@30': width must be 1 to 8192" },
                { "[a]\nKind=camera\nModes=640x0@30\n", 0, "t.conf", "t.conf:3: mode '640x0@30': height must be 1 to 8192" },
                { "[a]\nKind=camera\nModes=640x8193@30\n", 0, "t.conf",
                  "t.conf:3: mode '640x8193@30': height must be 1 to 8192" },
                { "[a]\nKind=camera\nModes=640x480@30 641x480@30\n", 0, "t.conf",
                  "t.conf:3: mode '641x480@30': YUYV needs an even width" },
                { "[a]\nKind=camera\nModes=641x480@30:NV12\n", 0, "t.conf",
                  "t.conf:3: mode '641x480@30:NV12': NV12 needs an even width" },
                { "[a]\nKind=camera\nModes=640x481@30:NV12\n", 0, "t.conf",
                  "t.conf:3: mode '640x481@30:NV12': NV12 needs an even height" },
                { "[a]\nKind=camera\nModes=640x480@30:MJPG\n", 0, "t.conf",
                  "t.conf:3: mode '640x480@30:MJPG': unknown pixel format 'MJPG', expected YUYV, NV12 or MJPEG" },
                { "[a]\nKind=camera\nModes=640x480@30:yuyv\n", 0, "t.conf",
                  "t.conf:3: mode '640x480@30:yuyv': unknown pixel format 'yuyv', expected YUYV, NV12 or MJPEG" },
                { "[a]\nKind=camera\nModes=640x480@30:\n", 0, "t.conf",
                  "t.conf:3: mode '640x480@30:': empty pixel format in the list after ':'" },
                { "[a]\nKind=camera\nModes=640x480@30:YUYV,\n", 0, "t.conf",
                  "t.conf:3: mode '640x480@30:YUYV,': empty pixel format in the list after ':'" },
                { "[a]\nKind=camera\nModes=640x480@30:YUYV,,NV12\n", 0, "t.conf",
                  "t.conf:3: mode '640x480@30:YUYV,,NV12': empty pixel format in the list after ':'" },
                { "[a]\nKind=camera\nModes=640x480@30 320x240@30 640x480@30\n", 0, "t.conf",
                  "t.conf:3: duplicate mode 640x480@30:YUYV" },
                { "[a]\nKind=camera\nModes=640x480@30:YUYV,YUYV\n", 0, "t.conf",
                  "t.conf:3: duplicate mode 640x480@30:YUYV" },
                { "[a]\nKind=camera\nModes=4x4@30\n", 0, "t.conf",
                  "t.conf:3: mode '4x4@30': a YUYV frame this small cannot carry the 40-byte frame stamp" },
                { "[a]\nKind=camera\nModes=4x6@30:NV12\n", 0, "t.conf",
                  "t.conf:3: mode '4x6@30:NV12': a NV12 frame this small cannot carry the 40-byte frame stamp" },
                { "[a]\nKind=camera\nModes=640x481@30:MJPEG\n", 0, "t.conf",
                  "t.conf:3: mode '640x481@30:MJPEG': MJPEG needs an even height" },
                { "[a]\nKind=camera\nModes=640x480@30:MJPEG,YUYV,MJPEG\n", 0, "t.conf",
                  "t.conf:3: duplicate mode 640x480@30:MJPEG" },
                /* Formats= says what a mode without its own formats stands for; the errors that
                 * depend on it point at Modes=. */
                { "[a]\nKind=camera\nModes=640x481@30\nFormats=YUYV MJPEG\n", 0, "t.conf",
                  "t.conf:3: mode '640x481@30': MJPEG needs an even height" },
                { "[a]\nKind=camera\nFormats=MJPEG\nModes=640x480@30 640x480@30:MJPEG\n", 0, "t.conf",
                  "t.conf:4: duplicate mode 640x480@30:MJPEG" },
                { "[a]\nKind=camera\nModes=640x480@30\nFormats=\n", 0, "t.conf",
                  "t.conf:4: empty Formats=, leave it out for YUYV" },
                { "[a]\nKind=camera\nModes=640x480@30\nFormats=MJPG\n", 0, "t.conf",
                  "t.conf:4: Formats=: unknown pixel format 'MJPG', expected YUYV, NV12 or MJPEG" },
                { "[a]\nKind=camera\nModes=640x480@30\nFormats=NV12 NV12\n", 0, "t.conf",
                  "t.conf:4: Formats=: pixel format NV12 given twice" },
                { "[a]\nKind=camera\nModes=640x480@30\nFormats=YUYV,NV12\n", 0, "t.conf",
                  "t.conf:4: Formats=: unknown pixel format 'YUYV,NV12', expected YUYV, NV12 or MJPEG" },
                { "[m]\nKind=microphone\nFormats=MJPEG\n", 0, "t.conf", "t.conf:3: Formats= applies to cameras only" },

                /* other camera keys */
                { "[a]\nKind=camera\nModes=640x480@30\nFacingMode=front\n", 0, "t.conf",
                  "t.conf:4: unknown FacingMode=front, expected user, environment, left, right or nothing" },
                { "[a]\nKind=camera\nModes=640x480@30\nLabel=\n", 0, "t.conf",
                  "t.conf:4: empty Label=, leave it out to use the section name" },
                { "[a]\nKind=camera\nModes=640x480@30\nLabel=a\tb\n", 0, "t.conf",
                  "t.conf:4: Label= is not valid UTF-8 or contains control characters" },
                { "[a]\nKind=camera\nModes=640x480@30\nLabel=\xff\xfe\n", 0, "t.conf",
                  "t.conf:4: Label= is not valid UTF-8 or contains control characters" },
                { "[a]\nKind=camera\nModes=640x480@30\nLabel=\xc0\xaf\n", 0, "t.conf",
                  "t.conf:4: Label= is not valid UTF-8 or contains control characters" },
                { "[a]\nKind=camera\nModes=640x480@30\nLabel=\xed\xa0\x80\n", 0, "t.conf",
                  "t.conf:4: Label= is not valid UTF-8 or contains control characters" },
                { "[a]\nKind=camera\nModes=640x480@30\nGroup=my desk\n", 0, "t.conf",
                  "t.conf:4: bad Group=my desk: 1 to 64 characters of A-Z a-z 0-9 . _ -" },
                { "[a]\nKind=camera\nModes=640x480@30\nGroup=\n", 0, "t.conf",
                  "t.conf:4: empty Group=, leave it out for a device of its own group" },
                { "[a]\nKind=camera\nModes=640x480@30\nDefault=maybe\n", 0, "t.conf",
                  "t.conf:4: Default= expects yes or no, got 'maybe'" },
                { "[a]\nKind=camera\nModes=640x480@30\nDefault=yes\n[b]\nKind=microphone\nDefault=yes\n"
                  "[c]\nKind=camera\nModes=640x480@30\n\nDefault=yes\n", 0, "t.conf",
                  "t.conf:12: 'a' is already the default camera" },
                { "[a]\nKind=camera\nModes=640x480@30\nSampleRates=48000\n", 0, "t.conf",
                  "t.conf:4: SampleRates= applies to microphones only" },
                { "[a]\nToneHz=440\nKind=camera\nModes=640x480@30\n", 0, "t.conf",
                  "t.conf:2: ToneHz= applies to microphones only" },
                { "[a]\nKind=camera\nModes=640x480@30\nEchoCancellation=no\n", 0, "t.conf",
                  "t.conf:4: EchoCancellation= applies to microphones only" },
                { "[a]\nKind=camera\nModes=640x480@30\nSampleFormat=S16_LE\n", 0, "t.conf",
                  "t.conf:4: SampleFormat= applies to microphones only" },

                /* the sound of microphones */
                { "[m]\nKind=microphone\nToneLevel=3\n", 0, "t.conf",
                  "t.conf:3: ToneLevel=3 is not a level in dBFS from -150 to 0" },
                { "[m]\nKind=microphone\nToneLevel=-151\n", 0, "t.conf",
                  "t.conf:3: ToneLevel=-151 is not a level in dBFS from -150 to 0" },
                { "[m]\nKind=microphone\nNoiseLevel=-3dB\n", 0, "t.conf",
                  "t.conf:3: NoiseLevel=-3dB is not a level in dBFS from -150 to 0" },
                { "[m]\nKind=microphone\nNoiseLevel=--3\n", 0, "t.conf",
                  "t.conf:3: NoiseLevel=--3 is not a level in dBFS from -150 to 0" },
                { "[m]\nKind=microphone\nToneCadence=300\n", 0, "t.conf",
                  "t.conf:3: ToneCadence=300 is not two durations in ms (sounding, pausing) from 10 to 60000" },
                { "[m]\nKind=microphone\nToneCadence=300 200 100\n", 0, "t.conf",
                  "t.conf:3: ToneCadence=300 200 100 is not two durations in ms (sounding, pausing) from 10 to 60000" },
                { "[m]\nKind=microphone\nToneCadence=5 200\n", 0, "t.conf",
                  "t.conf:3: ToneCadence=5 200 is not two durations in ms (sounding, pausing) from 10 to 60000" },
                { "[m]\nKind=microphone\nSampleFormat=S24_BE\n", 0, "t.conf",
                  "t.conf:3: unknown SampleFormat=S24_BE, expected S16_LE, S24_LE, S24_3LE or S32_LE" },

                /* microphone keys */
                { "[m]\nFacingMode=user\nKind=microphone\n", 0, "t.conf", "t.conf:2: FacingMode= applies to cameras only" },
                { "[m]\nKind=microphone\nModes=640x480@30\n", 0, "t.conf", "t.conf:3: Modes= applies to cameras only" },
                { "[m]\nKind=microphone\nSampleRates=\n", 0, "t.conf",
                  "t.conf:3: empty SampleRates=, leave it out for the default" },
                { "[m]\nKind=microphone\nSampleRates=7999\n", 0, "t.conf",
                  "t.conf:3: SampleRates=: 7999 is outside 8000 to 384000" },
                { "[m]\nKind=microphone\nSampleRates=48000 384001\n", 0, "t.conf",
                  "t.conf:3: SampleRates=: 384001 is outside 8000 to 384000" },
                { "[m]\nKind=microphone\nSampleRates=48k\n", 0, "t.conf",
                  "t.conf:3: SampleRates=: '48k' is not a whole number" },
                { "[m]\nKind=microphone\nSampleRates=48000,44100\n", 0, "t.conf",
                  "t.conf:3: SampleRates=: '48000,44100' is not a whole number" },
                { "[m]\nKind=microphone\nSampleRates=48000 44100 48000\n", 0, "t.conf",
                  "t.conf:3: SampleRates=: 48000 given twice" },
                { "[m]\nKind=microphone\nChannels=0\n", 0, "t.conf", "t.conf:3: Channels=: 0 is outside 1 to 32" },
                { "[m]\nKind=microphone\nChannels=2 33\n", 0, "t.conf", "t.conf:3: Channels=: 33 is outside 1 to 32" },
                { "[m]\nKind=microphone\nChannels=-1\n", 0, "t.conf", "t.conf:3: Channels=: '-1' is not a whole number" },
                { "[m]\nKind=microphone\nSampleSizes=24\n", 0, "t.conf",
                  "t.conf:3: SampleSizes=24 is not supported, only 16" },
                { "[m]\nKind=microphone\nSampleSizes=16 24\n", 0, "t.conf",
                  "t.conf:3: SampleSizes=24 is not supported, only 16" },
                { "[m]\nKind=microphone\nToneHz=0\n", 0, "t.conf", "t.conf:3: ToneHz=0 is not a frequency above 0" },
                { "[m]\nKind=microphone\nToneHz=-440\n", 0, "t.conf", "t.conf:3: ToneHz=-440 is not a frequency above 0" },
                { "[m]\nKind=microphone\nToneHz=nan\n", 0, "t.conf", "t.conf:3: ToneHz=nan is not a frequency above 0" },
                { "[m]\nKind=microphone\nToneHz=4000\nSampleRates=48000 8000\n", 0, "t.conf",
                  "t.conf:3: ToneHz=4000 is not below half the lowest sample rate (8000 Hz)" },
                { "[m]\nKind=microphone\nToneHz=24000\n", 0, "t.conf",
                  "t.conf:3: ToneHz=24000 is not below half the lowest sample rate (48000 Hz)" },
                { "[m]\nKind=microphone\nAutoGainControl=sometimes\n", 0, "t.conf",
                  "t.conf:3: AutoGainControl= expects yes or no, got 'sometimes'" },

                /* text from the bus: no file name */
                { "[m]\nKind=microphone\nBogus=1\n", 0, NULL, "line 3: unknown key Bogus=" },
                { "\n\n[a]\nKind=camera\n", 0, NULL, "line 3: camera 'a' has no Modes=" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *error = NULL;
                SyntheticSpec *specs = NULL;
                size_t n = 0, size = table[i].size ?: strlen(table[i].text);
                int r;

                r = synthetic_file_parse(table[i].text, size, table[i].filename, &specs, &n, &error);
                if (r != -EINVAL)
                        fail_msg("case %zu (%s): got %d, expected -EINVAL", i, table[i].expected, r);
                if (!error || !streq(error, table[i].expected))
                        fail_msg("case %zu: got \"%s\", expected \"%s\"", i, strempty(error), table[i].expected);
                assert_null(specs);
        }
}

/* Generated files at and beyond the limits on devices and modes. */
static void test_parse_limits(void **state) {
        static const struct {
                unsigned n_devices;
                unsigned n_modes;   /* per device */
                const char *formats;
                const char *expected; /* NULL: parses */
        } table[] = {
                { 64, 1, "YUYV", NULL },
                { 65, 1, "YUYV", "t.conf:193: too many devices, at most 64" },
                { 1, 64, "YUYV", NULL },
                { 1, 65, "YUYV", "t.conf:3: too many modes, at most 64 (each format counts)" },
                { 1, 32, "YUYV,NV12", NULL },
                { 1, 33, "YUYV,NV12", "t.conf:3: too many modes, at most 64 (each format counts)" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *text = NULL, *error = NULL;
                SyntheticSpec *specs = NULL;
                size_t size = 0, n = 0;
                FILE *f;
                int r;

                f = open_memstream(&text, &size);
                assert_non_null(f);
                for (unsigned d = 0; d < table[i].n_devices; d++) {
                        fprintf(f, "[dev%u]\nKind=camera\nModes=", d);
                        for (unsigned m = 0; m < table[i].n_modes; m++)
                                fprintf(f, " %ux480@30:%s", 640 + 2 * m, table[i].formats);
                        fputc('\n', f);
                }
                assert_int_equal(fclose(f), 0);

                r = synthetic_file_parse(text, size, "t.conf", &specs, &n, &error);
                if (!table[i].expected) {
                        if (r < 0)
                                fail_msg("case %zu: %s", i, error);
                        assert_int_equal(n, table[i].n_devices);
                        assert_int_equal(specs[0].n_modes, table[i].n_modes * (strchr(table[i].formats, ',') ? 2 : 1));
                        synthetic_specs_free(specs, n);
                } else {
                        assert_int_equal(r, -EINVAL);
                        if (!streq(strempty(error), table[i].expected))
                                fail_msg("case %zu: got \"%s\", expected \"%s\"", i, strempty(error), table[i].expected);
                }
        }
}

static void assert_specs_equal(const SyntheticSpec *a, const SyntheticSpec *b) {
        assert_string_equal(a->name, b->name);
        assert_int_equal(a->kind, b->kind);
        assert_string_equal(a->label, b->label);
        assert_string_equal(a->facing_mode, b->facing_mode);
        assert_true(streq_ptr(a->group, b->group));
        assert_int_equal(a->is_default, b->is_default);
        assert_int_equal(a->n_modes, b->n_modes);
        for (size_t i = 0; i < a->n_modes; i++) {
                assert_int_equal(a->modes[i].width, b->modes[i].width);
                assert_int_equal(a->modes[i].height, b->modes[i].height);
                assert_true(a->modes[i].frame_rate == b->modes[i].frame_rate);
                assert_int_equal(a->modes[i].fourcc, b->modes[i].fourcc);
        }
        assert_int_equal(a->n_sample_rates, b->n_sample_rates);
        for (size_t i = 0; i < a->n_sample_rates; i++)
                assert_int_equal(a->sample_rates[i], b->sample_rates[i]);
        assert_int_equal(a->n_channel_counts, b->n_channel_counts);
        for (size_t i = 0; i < a->n_channel_counts; i++)
                assert_int_equal(a->channel_counts[i], b->channel_counts[i]);
        assert_int_equal(a->n_sample_sizes, b->n_sample_sizes);
        for (size_t i = 0; i < a->n_sample_sizes; i++)
                assert_int_equal(a->sample_sizes[i], b->sample_sizes[i]);
        assert_true(a->tone_hz == b->tone_hz);
        assert_int_equal(a->echo_cancellation, b->echo_cancellation);
        assert_int_equal(a->auto_gain_control, b->auto_gain_control);
        assert_int_equal(a->noise_suppression, b->noise_suppression);
}

/* The tests run from the source tree (tools/check does so); else find it from the binary,
 * build/tests/test-synthetic. */
static int read_example_file(char **ret, size_t *ret_size) {
        char exe[PATH_MAX], *slash;
        _cleanup_free_ char *path = NULL;
        ssize_t n;

        if (read_full_file("examples/synthetic-devices.conf", SYNTHETIC_FILE_SIZE_MAX, ret, ret_size) >= 0)
                return 0;
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n < 0)
                return -errno;
        exe[n] = 0;
        for (int up = 0; up < 3; up++) {
                slash = strrchr(exe, '/');
                if (!slash)
                        return -ENOENT;
                *slash = 0;
        }
        if (asprintf(&path, "%s/examples/synthetic-devices.conf", exe) < 0)
                return -ENOMEM;
        return read_full_file(path, SYNTHETIC_FILE_SIZE_MAX, ret, ret_size);
}

static void test_defaults(void **state) {
        static const struct {
                const char *name, *label, *facing_mode;
                DeviceKind kind;
                bool is_default;
                const char *modes; /* "WxH@FPS ..." */
                const char *rates, *channels;
        } expected[] = {
                { "front-camera", "Synthetic Front Camera", "user", DEVICE_KIND_VIDEO, true,
                  "640x480@30 1280x720@30 1920x1080@15", "", "" },
                { "back-camera", "Synthetic Back Camera", "environment", DEVICE_KIND_VIDEO, false,
                  "1280x720@30 3840x2160@10", "", "" },
                { "microphone", "Synthetic Microphone", "", DEVICE_KIND_AUDIO, true, "", "44100 48000", "1 2" },
        };
        _cleanup_free_ char *file = NULL, *error = NULL;
        SyntheticSpec *builtin = NULL, *example = NULL;
        size_t n_builtin = 0, n_example = 0, file_size = 0;

        assert_int_equal(synthetic_file_parse(synthetic_default_devices, strlen(synthetic_default_devices),
                                              "builtin", &builtin, &n_builtin, &error), 0);
        assert_int_equal(n_builtin, ELEMENTSOF(expected));
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                const SyntheticSpec *s = builtin + i;
                char buf[256] = "";

                assert_string_equal(s->name, expected[i].name);
                assert_string_equal(s->label, expected[i].label);
                assert_string_equal(s->facing_mode, expected[i].facing_mode);
                assert_int_equal(s->kind, expected[i].kind);
                assert_int_equal(s->is_default, expected[i].is_default);
                assert_null(s->group);
                for (size_t m = 0; m < s->n_modes; m++) {
                        assert_int_equal(s->modes[m].fourcc, PIXEL_FORMAT_YUYV);
                        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%ux%u@%g", m ? " " : "",
                                 s->modes[m].width, s->modes[m].height, s->modes[m].frame_rate);
                }
                assert_string_equal(buf, expected[i].modes);
                buf[0] = 0;
                for (size_t r = 0; r < s->n_sample_rates; r++)
                        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%u", r ? " " : "", s->sample_rates[r]);
                assert_string_equal(buf, expected[i].rates);
                buf[0] = 0;
                for (size_t c = 0; c < s->n_channel_counts; c++)
                        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%u", c ? " " : "", s->channel_counts[c]);
                assert_string_equal(buf, expected[i].channels);
                if (s->kind == DEVICE_KIND_AUDIO) {
                        assert_int_equal(s->n_sample_sizes, 1);
                        assert_int_equal(s->sample_sizes[0], 16);
                }
        }

        /* The example file is the documentation of the defaults: it must say the same. */
        assert_int_equal(read_example_file(&file, &file_size), 0);
        if (synthetic_file_parse(file, file_size, "examples/synthetic-devices.conf", &example, &n_example, &error) < 0)
                fail_msg("%s", error);
        assert_int_equal(n_example, n_builtin);
        for (size_t i = 0; i < n_builtin; i++)
                assert_specs_equal(example + i, builtin + i);

        synthetic_specs_free(builtin, n_builtin);
        synthetic_specs_free(example, n_example);
}

/* ---- registry ---- */

static void test_kind_strings(void **state) {
        static const struct {
                DeviceKind kind;
                const char *string, *track_kind;
        } table[] = {
                { DEVICE_KIND_AUDIO, "audioinput", "audio" },
                { DEVICE_KIND_VIDEO, "videoinput", "video" },
                { _DEVICE_KIND_MAX, NULL, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                assert_true(streq_ptr(device_kind_to_string(table[i].kind), table[i].string));
                assert_true(streq_ptr(device_kind_to_track_kind(table[i].kind), table[i].track_kind));
        }
}

/* Add devices described as "a:name" (microphone) or "v:name" (camera), "*" marking the
 * default, and compare the enumeration order. */
static void test_registry_order(void **state) {
        static const struct {
                const char *devices;
                const char *order;
                size_t n_audio, n_video;
        } table[] = {
                { "", "", 0, 0 },
                { "v:c1 v:c2 a:m1", "m1 c1 c2", 1, 2 },
                { "v:c1 v:c2* a:m1 a:m2*", "m2 m1 c2 c1", 2, 2 },
                { "a:m1 a:m2 a:m3* v:c1* v:c2 a:m4", "m3 m1 m2 m4 c1 c2", 4, 2 },
                { "v:c1 v:c2 v:c3*", "c3 c1 c2", 0, 3 },
                { "a:m1* a:m2*", "m1 m2", 2, 0 },
        };
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;

        assert_int_equal(sd_event_new(&e), 0);
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_(device_registry_freep) DeviceRegistry *r = NULL;
                _cleanup_free_ char *copy = strdup(table[i].devices);
                char order[256] = "", *word, *save = NULL;

                assert_int_equal(device_registry_new(e, &r), 0);
                for (word = strtok_r(copy, " ", &save); word; word = strtok_r(NULL, " ", &save)) {
                        _cleanup_(device_unrefp) Device *d = NULL;
                        size_t len = strlen(word);
                        bool is_default = word[len - 1] == '*';

                        if (is_default)
                                word[len - 1] = 0;
                        d = device_new(word[0] == 'a' ? DEVICE_KIND_AUDIO : DEVICE_KIND_VIDEO, "test", word + 2, NULL);
                        assert_non_null(d);
                        d->is_default = is_default;
                        assert_int_equal(device_registry_add(r, d), 0);
                }
                assert_null(device_registry_get(r, device_registry_count(r)));
                for (size_t j = 0; j < device_registry_count(r); j++)
                        snprintf(order + strlen(order), sizeof(order) - strlen(order), "%s%s", j ? " " : "",
                                 device_registry_get(r, j)->name);
                assert_string_equal(order, table[i].order);
                assert_int_equal(device_registry_count_kind(r, DEVICE_KIND_AUDIO), table[i].n_audio);
                assert_int_equal(device_registry_count_kind(r, DEVICE_KIND_VIDEO), table[i].n_video);
        }
}

typedef struct EventLog {
        char text[512];
        bool remove_on_add;    /* the ADDED callback removes the device again */
        bool in_registry_at_removal;
        bool capturing_at_removal;
} EventLog;

static void log_event(DeviceRegistry *r, RegistryEvent ev, Device *d, void *userdata) {
        EventLog *l = userdata;

        snprintf(l->text + strlen(l->text), sizeof(l->text) - strlen(l->text), "%s%s%s",
                 l->text[0] ? " " : "", ev == REGISTRY_DEVICE_ADDED ? "+" : "-", d->name);
        if (ev == REGISTRY_DEVICE_REMOVED) {
                l->in_registry_at_removal = device_registry_find(r, d->backend, d->name) != NULL || d->registry;
                l->capturing_at_removal = d->capturing;
        }
        if (ev == REGISTRY_DEVICE_ADDED && l->remove_on_add)
                device_registry_remove(r, d);
}

static void count_consumer_event(Device *d, DeviceEvent ev, int error, void *userdata) {
        (*(unsigned *) userdata)++;
}

static void ignore_frame(Device *d, const Frame *f, void *userdata) {
}

static int dummy_start(Device *d, const CaptureFormat *fmt) {
        return 0;
}

static void dummy_stop(Device *d) {
        (*(unsigned *) d->backend_data)++;
}

static const DeviceOps dummy_ops = { .start = dummy_start, .stop = dummy_stop };

static void test_registry_callbacks(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(device_registry_freep) DeviceRegistry *r = NULL;
        _cleanup_(device_unrefp) Device *a = NULL, *b = NULL, *dup = NULL, *kept = NULL;
        CaptureFormat fmt = { .kind = DEVICE_KIND_VIDEO, .width = 640, .height = 480, .frame_rate = 30 };
        unsigned consumer_events = 0, stops = 0;
        DeviceConsumer consumer = { .frame = ignore_frame, .event = count_consumer_event, .userdata = &consumer_events };
        EventLog l = {};

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(device_registry_new(e, &r), 0);
        assert_ptr_equal(device_registry_get_event(r), e);
        device_registry_set_callback(r, log_event, &l);

        a = device_new(DEVICE_KIND_VIDEO, "test", "a", &dummy_ops);
        b = device_new(DEVICE_KIND_AUDIO, "test", "b", &dummy_ops);
        dup = device_new(DEVICE_KIND_AUDIO, "test", "a", &dummy_ops);
        assert_non_null(a);
        assert_non_null(b);
        assert_non_null(dup);
        a->backend_data = b->backend_data = dup->backend_data = &stops;

        assert_int_equal(device_registry_add(r, a), 0);
        assert_int_equal(device_registry_add(r, b), 0);
        assert_int_equal(device_registry_add(r, a), -EEXIST);   /* the same device again */
        assert_int_equal(device_registry_add(r, dup), -EEXIST); /* same (backend, name) */
        assert_int_equal(a->n_ref, 2);
        assert_ptr_equal(device_registry_find(r, "test", "a"), a);
        assert_null(device_registry_find(r, "other", "a"));
        assert_string_equal(l.text, "+a +b");

        /* Removing a capturing device stops it without a consumer event; the owner learns
         * of it from the REMOVED callback, by which time the device is out of the list. */
        assert_int_equal(device_start(a, &fmt, &consumer), 0);
        assert_int_equal(device_start(a, &fmt, &consumer), -EBUSY);
        device_registry_remove(r, a);
        assert_string_equal(l.text, "+a +b -a");
        assert_false(l.in_registry_at_removal);
        assert_false(l.capturing_at_removal);
        assert_int_equal(consumer_events, 0);
        assert_int_equal(stops, 1);
        assert_int_equal(a->n_ref, 1);
        assert_null(a->registry);
        assert_int_equal(device_start(a, &fmt, &consumer), -ENODEV);
        device_registry_remove(r, a); /* no longer there: nothing happens */
        assert_string_equal(l.text, "+a +b -a");

        /* Now the other (backend, name) may come in. */
        assert_int_equal(device_registry_add(r, dup), 0);
        assert_int_equal(device_registry_count(r), 2);

        /* A callback that removes the device it is told about. */
        l.remove_on_add = true;
        kept = device_new(DEVICE_KIND_VIDEO, "test", "short-lived", &dummy_ops);
        assert_non_null(kept);
        assert_int_equal(device_registry_add(r, kept), 0);
        assert_int_equal(kept->n_ref, 1);
        assert_null(device_registry_find(r, "test", "short-lived"));
        assert_string_equal(l.text, "+a +b -a +a +short-lived -short-lived");

        /* Freeing the registry stops and drops everything, quietly; our reference survives. */
        l.text[0] = 0;
        assert_int_equal(device_start(b, &(CaptureFormat) { .kind = DEVICE_KIND_AUDIO }, &consumer), 0);
        stops = 0;
        r = device_registry_free(r);
        assert_string_equal(l.text, "");
        assert_int_equal(stops, 1);
        assert_false(b->capturing);
        assert_null(b->registry);
        assert_int_equal(b->n_ref, 1);
        assert_int_equal(consumer_events, 0);
}

static void test_device_start_stop(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(device_registry_freep) DeviceRegistry *r = NULL;
        _cleanup_(device_unrefp) Device *d = NULL;
        unsigned stops = 0, events = 0;
        DeviceConsumer consumer = { .frame = ignore_frame, .event = count_consumer_event, .userdata = &events };
        CaptureFormat video = { .kind = DEVICE_KIND_VIDEO, .width = 640, .height = 480, .frame_rate = 30 };

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(device_registry_new(e, &r), 0);
        d = device_new(DEVICE_KIND_VIDEO, "test", "d", &dummy_ops);
        assert_non_null(d);
        d->backend_data = &stops;
        assert_int_equal(device_registry_add(r, d), 0);

        assert_int_equal(device_start(d, &(CaptureFormat) { .kind = DEVICE_KIND_AUDIO }, &consumer), -EINVAL);
        assert_int_equal(device_start(d, &video, &consumer), 0);
        assert_true(d->capturing);
        assert_int_equal(d->format.width, 640);
        assert_ptr_equal(d->consumer.userdata, &events);
        device_stop(d);
        device_stop(d); /* idempotent */
        assert_int_equal(stops, 1);
        assert_false(d->capturing);
        assert_null(d->consumer.frame);

        /* An error stops the device first, then tells the consumer. */
        assert_int_equal(device_start(d, &video, &consumer), 0);
        device_report_error(d, -EIO);
        assert_int_equal(stops, 2);
        assert_int_equal(events, 1);
        assert_false(d->capturing);
        device_report_error(d, -EIO); /* not capturing: nobody to tell */
        assert_int_equal(events, 1);
}

/* ---- synthetic capture ---- */

typedef struct Capture {
        SyntheticBackend *backend;
        uint64_t started_ns;
        unsigned n_frames;
        uint64_t next_sequence;
        size_t expected_size;
        uint32_t expected_stride;
        double period_ns;
        uint8_t tag[16];
        uint8_t *previous;
        bool all_frames_differ;
        /* audio */
        uint64_t samples_seen;
        double tone_hz;
        uint32_t rate, channels;
        bool audio_nonzero;
        /* what the consumer does on a given frame */
        uint64_t restart_at;     /* stop and start again inside the callback (0: never) */
        uint64_t remove_at;      /* remove the device inside the callback */
        uint64_t stall_at;       /* hold the loop up for stall_msec inside the callback */
        unsigned stall_msec;
        uint64_t timestamps[64];
        unsigned restarts;
        CaptureFormat format;
        DeviceConsumer *consumer;
        /* events */
        unsigned n_errors;
        int last_error;
        bool stop_loop;
} Capture;

/* The tag a synthetic device stamps: its name, cut or zero-padded to 16 bytes. */
static void set_tag(uint8_t tag[static 16], const char *name) {
        memset(tag, 0, 16);
        memcpy(tag, name, MIN(strlen(name), (size_t) 16));
}

static void check_video_frame(Device *d, const Frame *f, Capture *c) {
        assert_int_equal(f->sequence, c->next_sequence);
        assert_int_equal(f->size, c->expected_size);
        assert_int_equal(f->stride, c->expected_stride);
        assert_int_equal(f->width, d->format.width);
        assert_int_equal(f->height, d->format.height);
        assert_int_equal(f->fourcc, d->format.fourcc);
        assert_true(f->stamp);
        assert_memory_equal(f->tag, c->tag, 16);

        /* The stamp in the picture itself. */
        assert_memory_equal(f->data, "MGFRAME\0", 8);
        assert_int_equal(read_le64(f->data + 8), f->sequence);
        assert_int_equal(read_le64(f->data + 16), f->timestamp_ns);
        assert_memory_equal(f->data + 24, c->tag, 16);

        /* Recent, and never before its time: frame n is due a period after frame n-1, counted
         * from the start (the microsecond of timer rounding aside). */
        assert_true(f->timestamp_ns <= mono_ns());
        assert_true(f->timestamp_ns + 1000 >= c->started_ns + (uint64_t) ((f->sequence + 1) * c->period_ns));

        /* The block moves: every frame differs from the one before beyond the stamp. */
        if (c->previous && memcmp(c->previous + FRAME_STAMP_SIZE, f->data + FRAME_STAMP_SIZE,
                                  f->size - FRAME_STAMP_SIZE) == 0)
                c->all_frames_differ = false;
        if (!c->previous)
                c->previous = malloc(f->size);
        assert_non_null(c->previous);
        memcpy(c->previous, f->data, f->size);
}

static void check_audio_frame(Device *d, const Frame *f, Capture *c) {
        const uint8_t *p = f->data;

        assert_int_equal(f->sequence, c->next_sequence);
        assert_false(f->stamp);
        /* 10 ms periods, exactly `rate` frames a second */
        assert_int_equal(f->n_frames, (f->sequence + 1) * c->rate / 100 - f->sequence * c->rate / 100);
        assert_int_equal(f->size, (size_t) f->n_frames * c->channels * 2);
        assert_true(f->timestamp_ns <= mono_ns());
        assert_true(f->timestamp_ns + 1000 >= c->started_ns + (f->sequence + 1) * 10000000ULL);

        /* The sine goes on where the last period stopped, on every channel. */
        for (uint32_t i = 0; i < f->n_frames; i++) {
                double want = 32768 * SYNTHETIC_TONE_AMPLITUDE *
                              sin(2 * M_PI * c->tone_hz * (double) c->samples_seen / c->rate);

                for (uint32_t ch = 0; ch < c->channels; ch++, p += 2) {
                        int16_t v = (int16_t) (p[0] | (p[1] << 8));

                        if (fabs(v - want) > 2)
                                fail_msg("sample %" PRIu64 " channel %u: %d, expected %.1f", c->samples_seen, ch, v, want);
                        if (v != 0)
                                c->audio_nonzero = true;
                }
                c->samples_seen++;
        }
}

static void on_frame(Device *d, const Frame *f, void *userdata) {
        Capture *c = userdata;

        if (d->kind == DEVICE_KIND_VIDEO)
                check_video_frame(d, f, c);
        else
                check_audio_frame(d, f, c);
        if (c->n_frames < ELEMENTSOF(c->timestamps))
                c->timestamps[c->n_frames] = f->timestamp_ns;
        c->n_frames++;
        c->next_sequence++;
        if (c->stall_msec && f->sequence == c->stall_at)
                (void) usleep(c->stall_msec * 1000);

        /* The first frame after a restart comes one period after it, not later: the tick
         * that restarted the device must not push the new capture's timer on. */
        if (c->restarts > 0 && f->sequence == 0)
                assert_true(f->timestamp_ns < c->started_ns + (uint64_t) (1.5 * c->period_ns));

        if (c->restart_at && f->sequence == c->restart_at) {
                device_stop(d);
                c->started_ns = mono_ns();
                assert_int_equal(device_start(d, &c->format, c->consumer), 0);
                c->next_sequence = 0;
                c->samples_seen = 0;
                c->restart_at = 0;
                c->restarts++;
        }
        if (c->remove_at && f->sequence == c->remove_at) {
                assert_int_equal(synthetic_backend_remove(c->backend, d->name), 0);
                c->stop_loop = true;
        }
}

static void on_event(Device *d, DeviceEvent ev, int error, void *userdata) {
        Capture *c = userdata;

        assert_int_equal(ev, DEVICE_EVENT_ERROR);
        assert_false(d->capturing); /* stopped before we are told */
        c->n_errors++;
        c->last_error = error;
        c->stop_loop = true;
}

typedef struct SyntheticFixture {
        sd_event *event;
        DeviceRegistry *registry;
        SyntheticBackend *backend;
} SyntheticFixture;

static int fixture_setup(void **state) {
        SyntheticFixture *f = calloc(1, sizeof(SyntheticFixture));

        assert_non_null(f);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(device_registry_new(f->event, &f->registry), 0);
        assert_int_equal(synthetic_backend_new(f->registry, &f->backend), 0);
        assert_int_equal(synthetic_backend_load_defaults(f->backend), 0);
        *state = f;
        return 0;
}

static int fixture_teardown(void **state) {
        SyntheticFixture *f = *state;

        synthetic_backend_free(f->backend);
        device_registry_free(f->registry);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

/* Nothing of ours may wake the loop: with no source enabled the run times out. */
static void assert_loop_idle(sd_event *e) {
        assert_int_equal(sd_event_run(e, 150 * 1000), 0);
}

static void test_capture(void **state) {
        static const struct {
                const char *device_text; /* NULL: a built-in device */
                const char *name;
                CaptureFormat format;
                size_t size;
                uint32_t stride;
                unsigned msec, min_frames, max_frames;
                double tone_hz;
                bool stamp_hides_block; /* the frame is hardly more than its stamp */
        } table[] = {
                { NULL, "front-camera", { DEVICE_KIND_VIDEO, 640, 480, PIXEL_FORMAT_YUYV, 30 }, 640 * 480 * 2, 1280,
                  220, 3, 6 },
                { NULL, "front-camera", { DEVICE_KIND_VIDEO, 1920, 1080, PIXEL_FORMAT_YUYV, 15 }, 1920 * 1080 * 2,
                  3840, 220, 1, 3 },
                { NULL, "back-camera", { DEVICE_KIND_VIDEO, 3840, 2160, PIXEL_FORMAT_YUYV, 10 }, 3840 * 2160 * 2, 7680,
                  250, 1, 2 },
                { "[nv]\nKind=camera\nModes=640x480@30:NV12 6x8@100:NV12 22x1@50\n", "nv",
                  { DEVICE_KIND_VIDEO, 640, 480, PIXEL_FORMAT_NV12, 30 }, 640 * 480 * 3 / 2, 640, 220, 3, 6 },
                { "[nv-small]\nKind=camera\nModes=6x8@100:NV12\n", "nv-small",
                  { DEVICE_KIND_VIDEO, 6, 8, PIXEL_FORMAT_NV12, 100 }, 72, 6, 200, 10, 20 },
                { "[thin]\nKind=camera\nModes=22x1@50\n", "thin", { DEVICE_KIND_VIDEO, 22, 1, PIXEL_FORMAT_YUYV, 50 },
                  44, 44, 200, 5, 10, 0, true },
                /* the tag is the name cut to 16 bytes */
                { "[a-very-long-camera-name]\nKind=camera\nModes=64x48@50\n", "a-very-long-camera-name",
                  { DEVICE_KIND_VIDEO, 64, 48, PIXEL_FORMAT_YUYV, 50 }, 64 * 48 * 2, 128, 200, 5, 10 },
                { NULL, "microphone", { DEVICE_KIND_AUDIO, .sample_rate = 48000, .channels = 2 }, 0, 0, 200, 12, 20,
                  440 },
                { NULL, "microphone", { DEVICE_KIND_AUDIO, .sample_rate = 44100, .channels = 1 }, 0, 0, 200, 12, 20,
                  440 },
                { "[odd-rate]\nKind=microphone\nSampleRates=11025\nChannels=3\nToneHz=1000\n", "odd-rate",
                  { DEVICE_KIND_AUDIO, .sample_rate = 11025, .channels = 3 }, 0, 0, 200, 12, 20, 1000 },
        };
        SyntheticFixture *fx = *state;

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                Capture c = { .backend = fx->backend, .all_frames_differ = true };
                DeviceConsumer consumer = { .frame = on_frame, .event = on_event, .userdata = &c };
                _cleanup_free_ char *error = NULL;
                Device *d;

                print_message("capture case %zu: %s\n", i, table[i].name);
                if (table[i].device_text && synthetic_backend_add_text(fx->backend, table[i].device_text, &error) < 0)
                        fail_msg("%s", error);
                d = device_registry_find(fx->registry, SYNTHETIC_BACKEND, table[i].name);
                assert_non_null(d);

                c.expected_size = table[i].size;
                c.expected_stride = table[i].stride;
                c.period_ns = d->kind == DEVICE_KIND_VIDEO ? 1e9 / table[i].format.frame_rate : 1e7;
                set_tag(c.tag, table[i].name);
                c.tone_hz = table[i].tone_hz;
                c.rate = table[i].format.sample_rate;
                c.channels = table[i].format.channels;
                assert_true(synthetic_device_get_tone_hz(d) == (d->kind == DEVICE_KIND_AUDIO ? table[i].tone_hz : 0));

                c.started_ns = mono_ns();
                assert_int_equal(device_start(d, &table[i].format, &consumer), 0);
                assert_int_equal(device_start(d, &table[i].format, &consumer), -EBUSY);
                run_loop(fx->event, table[i].msec, NULL);
                device_stop(d);

                if (c.n_frames < table[i].min_frames || c.n_frames > table[i].max_frames)
                        fail_msg("%u frames in %u ms, expected %u to %u", c.n_frames, table[i].msec,
                                 table[i].min_frames, table[i].max_frames);
                assert_int_equal(c.n_errors, 0);
                if (d->kind == DEVICE_KIND_AUDIO)
                        assert_true(c.audio_nonzero);
                else if (!table[i].stamp_hides_block)
                        assert_true(c.all_frames_differ);
                assert_loop_idle(fx->event);
                free(c.previous);

                if (table[i].device_text)
                        assert_int_equal(synthetic_backend_remove(fx->backend, table[i].name), 0);
        }
}

static void test_capture_refusals(void **state) {
        static const struct {
                const char *name;
                CaptureFormat format;
                const char *state;
                int expected;
        } table[] = {
                { "front-camera", { DEVICE_KIND_VIDEO, 640, 480, PIXEL_FORMAT_YUYV, 30 }, "busy", -EBUSY },
                { "front-camera", { DEVICE_KIND_VIDEO, 640, 480, PIXEL_FORMAT_YUYV, 30 }, "failing", -EIO },
                { "microphone", { DEVICE_KIND_AUDIO, .sample_rate = 48000, .channels = 1 }, "busy", -EBUSY },
                { "microphone", { DEVICE_KIND_AUDIO, .sample_rate = 48000, .channels = 1 }, "failing", -EIO },
                /* not a native mode: the device does not scale */
                { "front-camera", { DEVICE_KIND_VIDEO, 640, 480, PIXEL_FORMAT_NV12, 30 }, "ok", -EINVAL },
                { "front-camera", { DEVICE_KIND_VIDEO, 640, 480, PIXEL_FORMAT_YUYV, 15 }, "ok", -EINVAL },
                { "front-camera", { DEVICE_KIND_VIDEO, 320, 240, PIXEL_FORMAT_YUYV, 30 }, "ok", -EINVAL },
                { "front-camera", { DEVICE_KIND_AUDIO, .sample_rate = 48000, .channels = 1 }, "ok", -EINVAL },
                { "microphone", { DEVICE_KIND_AUDIO, .sample_rate = 32000, .channels = 1 }, "ok", -EINVAL },
                { "microphone", { DEVICE_KIND_AUDIO, .sample_rate = 48000, .channels = 3 }, "ok", -EINVAL },
        };
        SyntheticFixture *fx = *state;
        Capture c = {};
        DeviceConsumer consumer = { .frame = on_frame, .event = on_event, .userdata = &c };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                Device *d = device_registry_find(fx->registry, SYNTHETIC_BACKEND, table[i].name);
                int st = synthetic_state_from_string(table[i].state);

                assert_non_null(d);
                assert_true(st >= 0);
                assert_int_equal(synthetic_backend_set_state(fx->backend, table[i].name, (DeviceState) st), 0);
                assert_int_equal(synthetic_device_get_state(d), st);
                assert_int_equal(device_start(d, &table[i].format, &consumer), table[i].expected);
                assert_false(d->capturing);
                assert_null(d->consumer.frame);
                assert_loop_idle(fx->event);

                /* Back to normal, a native format starts. */
                assert_int_equal(synthetic_backend_set_state(fx->backend, table[i].name, DEVICE_STATE_OK), 0);
                if (table[i].expected != -EINVAL) {
                        assert_int_equal(device_start(d, &table[i].format, &consumer), 0);
                        device_stop(d);
                }
        }
        assert_int_equal(c.n_frames, 0);
        assert_int_equal(synthetic_backend_set_state(fx->backend, "nope", DEVICE_STATE_BUSY), -ENOENT);
        assert_int_equal(synthetic_backend_set_state(fx->backend, "microphone", (DeviceState) 7), -EINVAL);
        assert_int_equal(synthetic_state_from_string("OK"), -EINVAL);
        assert_string_equal(synthetic_state_to_string(DEVICE_STATE_FAILING), "failing");
}

/* Failing while capturing: the next tick reports -EIO and the timer is gone. */
static void test_capture_failing(void **state) {
        static const struct {
                const char *name;
                CaptureFormat format;
        } table[] = {
                { "front-camera", { DEVICE_KIND_VIDEO, 640, 480, PIXEL_FORMAT_YUYV, 30 } },
                { "microphone", { DEVICE_KIND_AUDIO, .sample_rate = 44100, .channels = 2 } },
        };
        SyntheticFixture *fx = *state;

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                Capture c = { .all_frames_differ = true, .tone_hz = 440 };
                DeviceConsumer consumer = { .frame = on_frame, .event = on_event, .userdata = &c };
                Device *d = device_registry_find(fx->registry, SYNTHETIC_BACKEND, table[i].name);
                unsigned frames_before;

                assert_non_null(d);
                c.expected_size = 640 * 480 * 2;
                c.expected_stride = 1280;
                c.period_ns = d->kind == DEVICE_KIND_VIDEO ? 1e9 / 30 : 1e7;
                set_tag(c.tag, table[i].name);
                c.rate = table[i].format.sample_rate;
                c.channels = table[i].format.channels;
                c.started_ns = mono_ns();
                assert_int_equal(device_start(d, &table[i].format, &consumer), 0);
                run_loop(fx->event, 100, NULL);
                assert_true(c.n_frames > 0);

                frames_before = c.n_frames;
                assert_int_equal(synthetic_backend_set_state(fx->backend, table[i].name, DEVICE_STATE_FAILING), 0);
                run_loop(fx->event, 200, &c.stop_loop);
                assert_int_equal(c.n_errors, 1);
                assert_int_equal(c.last_error, -EIO);
                assert_int_equal(c.n_frames, frames_before);
                assert_false(d->capturing);
                assert_loop_idle(fx->event);
                assert_int_equal(c.n_frames, frames_before);

                assert_int_equal(synthetic_backend_set_state(fx->backend, table[i].name, DEVICE_STATE_OK), 0);
                free(c.previous);
        }
}

/* A loop held up for a while drops the frames that are past due instead of catching up in
 * a burst, as a camera would. */
static void test_capture_stall(void **state) {
        static const struct {
                const char *name;
                CaptureFormat format;
                unsigned stall_msec;
        } table[] = {
                { "front-camera", { DEVICE_KIND_VIDEO, 640, 480, PIXEL_FORMAT_YUYV, 30 }, 200 },
                { "microphone", { DEVICE_KIND_AUDIO, .sample_rate = 48000, .channels = 1 }, 100 },
        };
        SyntheticFixture *fx = *state;

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                Capture c = { .all_frames_differ = true, .tone_hz = 440, .stall_at = 0,
                              .stall_msec = table[i].stall_msec };
                DeviceConsumer consumer = { .frame = on_frame, .event = on_event, .userdata = &c };
                Device *d = device_registry_find(fx->registry, SYNTHETIC_BACKEND, table[i].name);

                assert_non_null(d);
                c.expected_size = 640 * 480 * 2;
                c.expected_stride = 1280;
                c.period_ns = d->kind == DEVICE_KIND_VIDEO ? 1e9 / 30 : 1e7;
                set_tag(c.tag, table[i].name);
                c.rate = table[i].format.sample_rate;
                c.channels = table[i].format.channels;
                c.started_ns = mono_ns();
                assert_int_equal(device_start(d, &table[i].format, &consumer), 0);
                run_loop(fx->event, table[i].stall_msec + 150, NULL);
                device_stop(d);

                /* After the stall (frame 0 held the loop), frames keep their pace. */
                assert_true(c.n_frames >= 4);
                for (unsigned k = 2; k < MIN(c.n_frames, ELEMENTSOF(c.timestamps)); k++)
                        if (c.timestamps[k] - c.timestamps[k - 1] < c.period_ns / 2)
                                fail_msg("%s: frames %u and %u only %" PRIu64 " ns apart", table[i].name, k - 1, k,
                                         c.timestamps[k] - c.timestamps[k - 1]);
                free(c.previous);
        }
}

/* The consumer stops and restarts the device, or removes it, from inside a frame callback. */
static void test_capture_reentrancy(void **state) {
        SyntheticFixture *fx = *state;
        CaptureFormat fmt = { DEVICE_KIND_VIDEO, 64, 48, PIXEL_FORMAT_YUYV, 10 };
        _cleanup_free_ char *error = NULL;
        Capture c = { .backend = fx->backend, .all_frames_differ = true, .restart_at = 1 };
        DeviceConsumer consumer = { .frame = on_frame, .event = on_event, .userdata = &c };
        _cleanup_(device_unrefp) Device *held = NULL;
        EventLog l = {};
        Device *d;

        /* Stopped and started again from inside its own frame callback (10 fps: a late
         * first frame after the restart stands out from scheduling noise). */
        assert_int_equal(synthetic_backend_add_text(fx->backend, "[slow]\nKind=camera\nModes=64x48@10\n", &error), 0);
        device_registry_set_callback(fx->registry, log_event, &l);
        d = device_registry_find(fx->registry, SYNTHETIC_BACKEND, "slow");
        assert_non_null(d);
        c.format = fmt;
        c.consumer = &consumer;
        c.expected_size = 64 * 48 * 2;
        c.expected_stride = 128;
        c.period_ns = 1e8;
        set_tag(c.tag, "slow");

        c.started_ns = mono_ns();
        assert_int_equal(device_start(d, &fmt, &consumer), 0);
        run_loop(fx->event, 450, NULL);
        assert_int_equal(c.restarts, 1);
        assert_true(c.next_sequence >= 1); /* frames came after the restart, counted from 0 */
        device_stop(d);
        assert_loop_idle(fx->event);
        free(c.previous);

        /* Removed from inside the frame callback while another reference is held. */
        assert_int_equal(synthetic_backend_add_text(fx->backend, "[gone]\nKind=camera\nModes=64x48@50\n", &error), 0);
        d = device_registry_find(fx->registry, SYNTHETIC_BACKEND, "gone");
        assert_non_null(d);
        held = device_ref(d);
        c = (Capture) { .backend = fx->backend, .all_frames_differ = true, .remove_at = 1 };
        c.expected_size = 64 * 48 * 2;
        c.expected_stride = 128;
        c.period_ns = 1e9 / 50;
        set_tag(c.tag, "gone");
        c.started_ns = mono_ns();
        assert_int_equal(device_start(d, &(CaptureFormat) { DEVICE_KIND_VIDEO, 64, 48, PIXEL_FORMAT_YUYV, 50 }, &consumer), 0);
        run_loop(fx->event, 300, &c.stop_loop);
        assert_int_equal(c.n_frames, 2);
        assert_int_equal(c.n_errors, 0);
        assert_null(device_registry_find(fx->registry, SYNTHETIC_BACKEND, "gone"));
        assert_false(held->capturing);
        assert_null(held->registry);
        assert_string_equal(l.text, "+gone -gone");
        assert_false(l.in_registry_at_removal);
        assert_false(l.capturing_at_removal);
        assert_loop_idle(fx->event);
        assert_int_equal(device_start(held, &(CaptureFormat) { DEVICE_KIND_VIDEO, 64, 48, PIXEL_FORMAT_YUYV, 50 },
                                      &consumer), -ENODEV);
        free(c.previous);
        device_registry_set_callback(fx->registry, NULL, NULL);
}

/* ---- the backend's add/remove paths ---- */

static void test_backend_add_remove(void **state) {
        static const struct {
                const char *op; /* "add" or "remove" */
                const char *arg;
                int expected;
                const char *error;
                const char *order_after; /* enumeration order afterwards */
        } table[] = {
                { "add", "[usb-cam]\nKind=camera\nModes=640x480@30:NV12\nGroup=usb\n", 0, NULL,
                  "microphone front-camera back-camera usb-cam" },
                { "add", "[usb-mic]\nKind=microphone\nGroup=usb\n", 0, NULL,
                  "microphone usb-mic front-camera back-camera usb-cam" },
                { "add", "[usb-cam]\nKind=camera\nModes=640x480@30\n", -EINVAL,
                  "line 1: synthetic device 'usb-cam' exists already", NULL },
                { "add", "\n[other]\nKind=camera\nModes=640x480@30\nDefault=yes\n", -EINVAL,
                  "line 2: 'front-camera' is already the default camera", NULL },
                { "add", "[x]\nKind=camera\nFoo=1\n", -EINVAL, "line 3: unknown key Foo=", NULL },
                { "add", "", -EINVAL, "expected exactly one [device] section, found 0", NULL },
                { "add", "[a]\nKind=microphone\n[b]\nKind=microphone\n", -EINVAL,
                  "expected exactly one [device] section, found 2", NULL },
                { "remove", "nope", -ENOENT, NULL, NULL },
                { "remove", "front-camera", 0, NULL, "microphone usb-mic back-camera usb-cam" },
                /* with the default gone, another may take its place */
                { "add", "[new-default]\nKind=camera\nModes=640x480@30\nDefault=yes\n", 0, NULL,
                  "microphone usb-mic new-default back-camera usb-cam" },
                { "remove", "microphone", 0, NULL, "usb-mic new-default back-camera usb-cam" },
                { "remove", "usb-mic", 0, NULL, "new-default back-camera usb-cam" },
        };
        SyntheticFixture *fx = *state;
        EventLog l = {};

        device_registry_set_callback(fx->registry, log_event, &l);
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *error = NULL;
                char order[256] = "";
                int r;

                l.text[0] = 0;
                if (streq(table[i].op, "add"))
                        r = synthetic_backend_add_text(fx->backend, table[i].arg, &error);
                else
                        r = synthetic_backend_remove(fx->backend, table[i].arg);
                if (r != table[i].expected || !streq_ptr(error, table[i].error))
                        fail_msg("case %zu: got %d \"%s\", expected %d \"%s\"", i, r, strempty(error),
                                 table[i].expected, strempty(table[i].error));
                if (r < 0) {
                        assert_string_equal(l.text, ""); /* nothing added, nothing removed */
                        continue;
                }
                assert_string_equal(l.text + 1, table[i].arg[0] == '[' ? strndupa(table[i].arg + 1,
                                                                                   strcspn(table[i].arg + 1, "]"))
                                                                        : table[i].arg);
                for (size_t j = 0; j < device_registry_count(fx->registry); j++)
                        snprintf(order + strlen(order), sizeof(order) - strlen(order), "%s%s", j ? " " : "",
                                 device_registry_get(fx->registry, j)->name);
                assert_string_equal(order, table[i].order_after);
        }

        /* What the new devices look like. */
        Device *cam = device_registry_find(fx->registry, SYNTHETIC_BACKEND, "usb-cam");
        assert_non_null(cam);
        assert_string_equal(cam->hardware_id, "synthetic:usb-cam");
        assert_string_equal(cam->group_hardware_id, "synthetic-group:usb");
        assert_string_equal(cam->label, "usb-cam");
        assert_string_equal(cam->node, "");
        assert_string_equal(cam->facing_mode, "");
        assert_string_equal(cam->backend, "synthetic");
        assert_int_equal(cam->n_modes, 1);
        assert_int_equal(cam->modes[0].fourcc, PIXEL_FORMAT_NV12);
        Device *back = device_registry_find(fx->registry, SYNTHETIC_BACKEND, "back-camera");
        assert_non_null(back);
        assert_string_equal(back->group_hardware_id, "synthetic:back-camera");
        device_registry_set_callback(fx->registry, NULL, NULL);
}

static void test_backend_limits_and_files(void **state) {
        static const struct {
                const char *content; /* NULL: no such file */
                int expected;
                const char *error_suffix; /* after the path */
                size_t n_devices_after;
        } table[] = {
                { NULL, -ENOENT, ": No such file or directory", 0 },
                { "[a]\nKind=camera\nModes=640x480@30\n\n[b]\nKind=microphone\nChannels=0\n", -EINVAL,
                  ":7: Channels=: 0 is outside 1 to 32", 0 },
                { "# two devices\n[a]\nKind=camera\nModes=640x480@30\n[b]\nKind=microphone\nToneHz=1000\n", 0, NULL, 2 },
                /* a name already taken: nothing of the file is added */
                { "[c]\nKind=camera\nModes=640x480@30\n[a]\nKind=camera\nModes=640x480@30\n", -EINVAL,
                  ":4: synthetic device 'a' exists already", 2 },
        };
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(device_registry_freep) DeviceRegistry *r = NULL;
        _cleanup_(synthetic_backend_freep) SyntheticBackend *b = NULL;
        char dir[] = "/tmp/test-synthetic-XXXXXX";

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(device_registry_new(e, &r), 0);
        assert_int_equal(synthetic_backend_new(r, &b), 0);
        assert_non_null(mkdtemp(dir));

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *path = NULL, *error = NULL, *expected = NULL;

                assert_true(asprintf(&path, "%s/case%zu.conf", dir, i) > 0);
                if (table[i].content) {
                        FILE *f = fopen(path, "we");

                        assert_non_null(f);
                        fputs(table[i].content, f);
                        assert_int_equal(fclose(f), 0);
                }
                assert_int_equal(synthetic_backend_load_file(b, path, &error), table[i].expected);
                if (table[i].error_suffix) {
                        assert_true(asprintf(&expected, "%s%s", path, table[i].error_suffix) > 0);
                        assert_string_equal(error, expected);
                } else
                        assert_null(error);
                assert_int_equal(device_registry_count(r), table[i].n_devices_after);
                (void) unlink(path);
        }
        assert_int_equal(rmdir(dir), 0);

        /* The first microphone without a ToneHz gets 440 Hz, the next 550 Hz, ... */
        assert_true(synthetic_device_get_tone_hz(device_registry_find(r, SYNTHETIC_BACKEND, "b")) == 1000);
        assert_int_equal(synthetic_backend_add_text(b, "[m1]\nKind=microphone\n", NULL), 0);
        assert_true(synthetic_device_get_tone_hz(device_registry_find(r, SYNTHETIC_BACKEND, "m1")) == 550);

        /* At most 64 synthetic devices in the registry, whatever adds them. */
        for (unsigned i = device_registry_count(r); i < SYNTHETIC_DEVICES_MAX; i++) {
                char text[64];

                snprintf(text, sizeof(text), "[fill%u]\nKind=microphone\n", i);
                assert_int_equal(synthetic_backend_add_text(b, text, NULL), 0);
        }
        _cleanup_free_ char *error = NULL;
        assert_int_equal(synthetic_backend_add_text(b, "[one-more]\nKind=microphone\n", &error), -EINVAL);
        assert_string_equal(error, "line 1: too many synthetic devices, at most 64 (64 exist already)");
        assert_int_equal(device_registry_count(r), SYNTHETIC_DEVICES_MAX);

        /* The backend may go first; its devices stay in the registry. */
        b = synthetic_backend_free(b);
        assert_int_equal(device_registry_count(r), SYNTHETIC_DEVICES_MAX);
}

/* ---- the Testing bus interface, over a private peer-to-peer connection ---- */

typedef struct Reply {
        bool done;
        char *error_name;
        char *error_message;
        char *text; /* a string reply */
} Reply;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Reply *r = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        const char *text;

        r->done = true;
        if (e) {
                r->error_name = strdup(e->name);
                r->error_message = strdup(strempty(e->message));
        } else if (streq(strempty(sd_bus_message_get_signature(m, true)), "s") &&
                   sd_bus_message_read(m, "s", &text) > 0)
                r->text = strdup(text);
        return 0;
}

static void test_testing_dbus(void **state) {
        static const struct {
                const char *method;
                const char *arg1, *arg2; /* arg2 NULL: one argument */
                const char *error_name;
                const char *error_message;
        } table[] = {
                { "AddDevice", "[usb]\nKind=camera\nModes=640x480@30\n", NULL, NULL, NULL },
                { "AddDevice", "[usb]\nKind=camera\nModes=640x480@30\n", NULL, SD_BUS_ERROR_INVALID_ARGS,
                  "line 1: synthetic device 'usb' exists already" },
                { "AddDevice", "[x]\nKind=camera\nFoo=1\n", NULL, SD_BUS_ERROR_INVALID_ARGS, "line 3: unknown key Foo=" },
                { "AddDevice", "", NULL, SD_BUS_ERROR_INVALID_ARGS, "expected exactly one [device] section, found 0" },
                { "SetDeviceState", "usb", "busy", NULL, NULL },
                { "SetDeviceState", "usb", "broken", SD_BUS_ERROR_INVALID_ARGS,
                  "Unknown device state 'broken', expected ok, busy or failing" },
                { "SetDeviceState", "nope", "ok", SD_BUS_ERROR_INVALID_ARGS, "No synthetic device 'nope'" },
                { "RemoveDevice", "nope", NULL, SD_BUS_ERROR_INVALID_ARGS, "No synthetic device 'nope'" },
                { "RemoveDevice", "usb", NULL, NULL, NULL },
                { "RemoveDevice", "usb", NULL, SD_BUS_ERROR_INVALID_ARGS, "No synthetic device 'usb'" },
        };
        SyntheticFixture *fx = *state;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *server = NULL, *client = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        Reply introspection = {};
        const char *xml;
        sd_id128_t id;
        int fds[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0);
        assert_int_equal(sd_id128_randomize(&id), 0);
        assert_int_equal(sd_bus_new(&server), 0);
        assert_int_equal(sd_bus_set_fd(server, fds[0], fds[0]), 0);
        assert_int_equal(sd_bus_set_server(server, 1, id), 0);
        assert_int_equal(sd_bus_attach_event(server, fx->event, 0), 0);
        assert_int_equal(sd_bus_start(server), 0);
        assert_int_equal(sd_bus_new(&client), 0);
        assert_int_equal(sd_bus_set_fd(client, fds[1], fds[1]), 0);
        assert_int_equal(sd_bus_attach_event(client, fx->event, 0), 0);
        assert_int_equal(sd_bus_start(client), 0);
        assert_int_equal(testing_dbus_register(server, fx->backend, &slot), 0);

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                Reply r = {};
                int k;

                if (table[i].arg2)
                        k = sd_bus_call_method_async(client, NULL, NULL, MG_OBJECT_PATH, MG_IFACE_TESTING,
                                                     table[i].method, on_reply, &r, "ss", table[i].arg1, table[i].arg2);
                else
                        k = sd_bus_call_method_async(client, NULL, NULL, MG_OBJECT_PATH, MG_IFACE_TESTING,
                                                     table[i].method, on_reply, &r, "s", table[i].arg1);
                assert_true(k >= 0);
                run_loop(fx->event, 2000, &r.done);
                assert_true(r.done);
                if (!streq_ptr(r.error_name, table[i].error_name) || !streq_ptr(r.error_message, table[i].error_message))
                        fail_msg("case %zu (%s): got %s \"%s\", expected %s \"%s\"", i, table[i].method,
                                 strempty(r.error_name), strempty(r.error_message), strempty(table[i].error_name),
                                 strempty(table[i].error_message));
                if (i == 4)
                        assert_int_equal(synthetic_device_get_state(device_registry_find(fx->registry, SYNTHETIC_BACKEND,
                                                                                         "usb")),
                                         DEVICE_STATE_BUSY);
                free(r.error_name);
                free(r.error_message);
        }
        assert_null(device_registry_find(fx->registry, SYNTHETIC_BACKEND, "usb"));

        /* Argument names show in introspection (the XML in dbus/ documents them). */
        assert_true(sd_bus_call_method_async(client, NULL, NULL, MG_OBJECT_PATH, "org.freedesktop.DBus.Introspectable",
                                             "Introspect", on_reply, &introspection, NULL) >= 0);
        run_loop(fx->event, 2000, &introspection.done);
        assert_null(introspection.error_name);
        xml = introspection.text;
        assert_non_null(xml);
        assert_non_null(strstr(xml, "<interface name=\"org.mediagate.MediaGate1.Testing\">"));
        assert_non_null(strstr(xml, "<method name=\"AddDevice\">\n   <arg type=\"s\" name=\"section_text\" direction=\"in\"/>\n  </method>"));
        assert_non_null(strstr(xml, "<method name=\"RemoveDevice\">\n   <arg type=\"s\" name=\"name\" direction=\"in\"/>\n  </method>"));
        assert_non_null(strstr(xml, "<method name=\"SetDeviceState\">\n   <arg type=\"s\" name=\"name\" direction=\"in\"/>\n"
                                    "   <arg type=\"s\" name=\"state\" direction=\"in\"/>\n  </method>"));
        free(introspection.text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_valid),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_parse_limits),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_kind_strings),
                cmocka_unit_test(test_registry_order),
                cmocka_unit_test(test_registry_callbacks),
                cmocka_unit_test(test_device_start_stop),
                cmocka_unit_test_setup_teardown(test_capture, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_capture_refusals, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_capture_failing, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_capture_stall, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_capture_reentrancy, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_backend_add_remove, fixture_setup, fixture_teardown),
                cmocka_unit_test(test_backend_limits_and_files),
                cmocka_unit_test_setup_teardown(test_testing_dbus, fixture_setup, fixture_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
