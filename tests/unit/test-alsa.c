/* Table tests for the pure parts of the ALSA backend: sysfs names of PCMs and cards, the rate
 * and channel lists a device's hw_params give, the sample format choice and its conversion to
 * S16_LE, and labels. The hw_params tests are played by fake devices described in each row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devices/alsa.h"
#include "util.h"

static void test_parse_pcm_sysname(void **state) {
        static const struct {
                const char *sysname;
                int r;
                unsigned card, device;
                bool capture;
        } rows[] = {
                { "pcmC0D0c", 0, 0, 0, true },
                { "pcmC1D3p", 0, 1, 3, false },
                { "pcmC12D10c", 0, 12, 10, true },
                { "pcmC0D0", -EINVAL },
                { "pcmC0D0cx", -EINVAL },
                { "pcmC0D0x", -EINVAL },
                { "pcmCD0c", -EINVAL },
                { "pcmC0Dc", -EINVAL },
                { "pcmC01D0c", -EINVAL },  /* the kernel never writes leading zeros */
                { "pcmC-1D0c", -EINVAL },
                { "pcmC99999999999D0c", -EINVAL },
                { "controlC0", -EINVAL },
                { "card0", -EINVAL },
                { "", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                unsigned card = 77, device = 77;
                bool capture = false;

                print_message("pcm: '%s'\n", rows[i].sysname);
                assert_int_equal(alsa_parse_pcm_sysname(rows[i].sysname, &card, &device, &capture), rows[i].r);
                if (rows[i].r < 0)
                        continue;
                assert_int_equal(card, rows[i].card);
                assert_int_equal(device, rows[i].device);
                assert_int_equal(capture, rows[i].capture);
        }
        assert_int_equal(alsa_parse_pcm_sysname(NULL, NULL, NULL, NULL), -EINVAL);
        assert_int_equal(alsa_parse_pcm_sysname("pcmC2D1c", NULL, NULL, NULL), 0);
}

static void test_parse_card_sysname(void **state) {
        static const struct {
                const char *sysname;
                int r;
                unsigned card;
        } rows[] = {
                { "card0", 0, 0 },       { "card12", 0, 12 },    { "controlC3", 0, 3 },
                { "card", -EINVAL },     { "controlC", -EINVAL }, { "card1x", -EINVAL },
                { "pcmC0D0c", -EINVAL }, { "timer", -EINVAL },   { "controlC03", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                unsigned card = 77;

                print_message("card: '%s'\n", rows[i].sysname);
                assert_int_equal(alsa_parse_card_sysname(rows[i].sysname, &card), rows[i].r);
                if (rows[i].r == 0)
                        assert_int_equal(card, rows[i].card);
        }
}

/* A fake device: a continuous range [lo, hi], or a set of discrete values. */
typedef struct FakeDevice {
        unsigned lo, hi;
        unsigned values[8];
        size_t n_values;
        unsigned n_tests; /* how often it was asked */
} FakeDevice;

static bool fake_test(unsigned v, void *userdata) {
        FakeDevice *f = userdata;

        f->n_tests++;
        if (f->n_values == 0)
                return v >= f->lo && v <= f->hi;
        for (size_t i = 0; i < f->n_values; i++)
                if (f->values[i] == v)
                        return true;
        return false;
}

static void test_list_rates(void **state) {
        static const struct {
                const char *name;
                unsigned rate_min, rate_max; /* what hw_params reports */
                FakeDevice device;
                uint32_t rates[12];
                size_t n_rates;
        } rows[] = {
                { "snd-dummy: 5500..48000 continuous", 5500, 48000, { .lo = 5500, .hi = 48000 },
                  { 8000, 11025, 16000, 22050, 32000, 44100, 48000 }, 7 },
                { "USB mic with two rates", 44100, 48000, { .values = { 44100, 48000 }, .n_values = 2 },
                  { 44100, 48000 }, 2 },
                { "HDA with gaps", 44100, 192000, { .values = { 44100, 48000, 96000, 192000 }, .n_values = 4 },
                  { 44100, 48000, 96000, 192000 }, 4 },
                { "everything", 1, 384000, { .lo = 1, .hi = 384000 },
                  { 8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000, 176400, 192000 }, 11 },
                { "only an odd rate: offered alone", 12345, 12345, { .values = { 12345 }, .n_values = 1 },
                  { 12345 }, 1 },
                { "an odd range whose minimum is refused", 7000, 7999, { .values = { 7500 }, .n_values = 1 },
                  {}, 0 },
                { "nothing at all", 0, 0, { .values = { 0 }, .n_values = 0, .lo = 1, .hi = 0 }, {}, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                _cleanup_free_ uint32_t *rates = NULL;
                FakeDevice dev = rows[i].device;
                size_t n = 99;

                print_message("rates: %s\n", rows[i].name);
                assert_int_equal(alsa_list_rates(rows[i].rate_min, rows[i].rate_max, fake_test, &dev, &rates, &n), 0);
                assert_int_equal(n, rows[i].n_rates);
                for (size_t j = 0; j < n; j++)
                        assert_int_equal(rates[j], rows[i].rates[j]);
                /* Rates outside [min, max] are not even asked about. */
                assert_true(dev.n_tests <= alsa_n_standard_rates + 1);
        }
        assert_int_equal(alsa_list_rates(0, 1, NULL, NULL, NULL, NULL), -EINVAL);
}

static void test_list_channels(void **state) {
        static const struct {
                const char *name;
                unsigned min, max;
                FakeDevice device;
                uint32_t counts[ALSA_CHANNELS_MAX];
                size_t n_counts;
        } rows[] = {
                { "mono and stereo", 1, 2, { .lo = 1, .hi = 2 }, { 1, 2 }, 2 },
                { "stereo only", 2, 2, { .lo = 2, .hi = 2 }, { 2 }, 1 },
                { "a 32-input interface is offered up to the cap", 1, 32, { .lo = 1, .hi = 32 },
                  { 1, 2, 3, 4, 5, 6, 7, 8 }, 8 },
                { "even counts only", 2, 8, { .values = { 2, 4, 6, 8 }, .n_values = 4 }, { 2, 4, 6, 8 }, 4 },
                { "a minimum above the cap is the only way in", 10, 32, { .lo = 10, .hi = 32 }, { 10 }, 1 },
                { "a minimum of 0 starts at 1", 0, 2, { .lo = 0, .hi = 2 }, { 1, 2 }, 2 },
                { "max below min", 4, 2, { .lo = 1, .hi = 8 }, {}, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                _cleanup_free_ uint32_t *counts = NULL;
                FakeDevice dev = rows[i].device;
                size_t n = 99;

                print_message("channels: %s\n", rows[i].name);
                assert_int_equal(alsa_list_channels(rows[i].min, rows[i].max, fake_test, &dev, &counts, &n), 0);
                assert_int_equal(n, rows[i].n_counts);
                for (size_t j = 0; j < n; j++)
                        assert_int_equal(counts[j], rows[i].counts[j]);
        }
}

static void test_choose_format(void **state) {
        static const struct {
                const char *name;
                FakeDevice device;
                snd_pcm_format_t format;
        } rows[] = {
                { "S16_LE wins", { .values = { SND_PCM_FORMAT_S32_LE, SND_PCM_FORMAT_S16_LE }, .n_values = 2 },
                  SND_PCM_FORMAT_S16_LE },
                { "then S32_LE", { .values = { SND_PCM_FORMAT_S24_3LE, SND_PCM_FORMAT_S32_LE }, .n_values = 2 },
                  SND_PCM_FORMAT_S32_LE },
                { "USB 24-bit", { .values = { SND_PCM_FORMAT_S24_3LE }, .n_values = 1 }, SND_PCM_FORMAT_S24_3LE },
                { "24 in 32", { .values = { SND_PCM_FORMAT_S24_LE, SND_PCM_FORMAT_U8 }, .n_values = 2 },
                  SND_PCM_FORMAT_S24_LE },
                { "nothing we convert", { .values = { SND_PCM_FORMAT_U8, SND_PCM_FORMAT_FLOAT_LE, SND_PCM_FORMAT_S16_BE },
                                          .n_values = 3 },
                  SND_PCM_FORMAT_UNKNOWN },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                FakeDevice dev = rows[i].device;

                print_message("format: %s\n", rows[i].name);
                assert_int_equal(alsa_choose_format(fake_test, &dev), rows[i].format);
        }
        assert_int_equal(alsa_choose_format(NULL, NULL), SND_PCM_FORMAT_UNKNOWN);
}

/* The conversion itself is sample-format.c's (test-sample-format.c); here only which one each
 * ALSA format gets. */
static void test_sample_format(void **state) {
        static const struct {
                snd_pcm_format_t format;
                SampleFormat sample_format;
                size_t size;
        } rows[] = {
                { SND_PCM_FORMAT_S16_LE, SAMPLE_FORMAT_S16_LE, 2 },
                { SND_PCM_FORMAT_S24_3LE, SAMPLE_FORMAT_S24_3LE, 3 },
                { SND_PCM_FORMAT_S24_LE, SAMPLE_FORMAT_S24_LE, 4 },
                { SND_PCM_FORMAT_S32_LE, SAMPLE_FORMAT_S32_LE, 4 },
                { SND_PCM_FORMAT_FLOAT_LE, _SAMPLE_FORMAT_INVALID, 0 },
                { SND_PCM_FORMAT_U8, _SAMPLE_FORMAT_INVALID, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                assert_int_equal(alsa_sample_format(rows[i].format), rows[i].sample_format);
                assert_int_equal(sample_format_size(alsa_sample_format(rows[i].format)), rows[i].size);
        }
}

static void test_make_label(void **state) {
        static const struct {
                const char *card, *pcm;
                unsigned device;
                bool shared;
                const char *label;
        } rows[] = {
                { "Loopback", "Loopback PCM", 0, false, "Loopback PCM" },
                { "Dummy", "Dummy PCM", 0, false, "Dummy PCM" },
                { "HDA Intel PCH", "ALC3246 Analog", 0, false, "HDA Intel PCH: ALC3246 Analog" },
                { "  C920  ", " USB Audio ", 0, false, "C920: USB Audio" },
                { "Webcam", "", 0, false, "Webcam" },
                { "", "USB Audio", 0, false, "USB Audio" },
                { NULL, NULL, 0, false, "Microphone" },
                { "Evil\nCard", "PCM\x1b[31m", 0, false, "Evil Card: PCM[31m" },
                /* snd-aloop: two capture PCMs, both "Loopback PCM" */
                { "Loopback", "Loopback PCM", 0, true, "Loopback PCM (0)" },
                { "Loopback", "Loopback PCM", 1, true, "Loopback PCM (1)" },
                { "HDA Intel PCH", "HDMI 0", 7, true, "HDA Intel PCH: HDMI 0 (7)" },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                _cleanup_free_ char *label = alsa_make_label(rows[i].card, rows[i].pcm, rows[i].device, rows[i].shared);

                assert_non_null(label);
                assert_string_equal(label, rows[i].label);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_pcm_sysname),
                cmocka_unit_test(test_parse_card_sysname),
                cmocka_unit_test(test_list_rates),
                cmocka_unit_test(test_list_channels),
                cmocka_unit_test(test_choose_format),
                cmocka_unit_test(test_sample_format),
                cmocka_unit_test(test_make_label),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
