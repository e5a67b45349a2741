/* Tests of the audio processor: noise suppression pulls white noise down by at least 10 dB and
 * keeps a speech-like tone, gain control raises a quiet tone toward a steady level, the blocks
 * are the same whatever the period sizes, channels are processed apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "audio-processing.h"
#include "devices/test-signal.h"
#include "util.h"

#define RATE 48000

/* A tone that sounds for 300 ms and pauses for 300 ms: speech-like. A tone that never pauses is
 * stationary, and a noise suppressor (rightly) takes it for hum and removes it. */
static const TestSignalParams speech_like = {
        .tone_hz = 440, .tone_amplitude = 0.1, .cadence_on_ms = 300, .cadence_off_ms = 300,
};

static int16_t *make_signal(const TestSignalParams *p, uint32_t rate, size_t n) {
        int16_t *x = malloc(n * sizeof(int16_t));
        TestSignal s;

        assert_non_null(x);
        test_signal_init(&s, p, rate);
        for (size_t i = 0; i < n; i++) {
                long v = lrint(test_signal_next(&s) * 32768);

                x[i] = (int16_t) CLAMP(v, INT16_MIN, INT16_MAX);
        }
        return x;
}

/* Process x (mono) in periods of `period` frames, keeping the output stream in y. */
static void run(AudioProcessor *p, const int16_t *x, size_t n, uint32_t period, int16_t *y, size_t *ret_n) {
        size_t done = 0, out = 0;

        while (done < n) {
                uint32_t k = (uint32_t) MIN((size_t) period, n - done), n_out, delay;
                const int16_t *o;

                assert_int_equal(audio_processor_process(p, x + done, k, &o, &n_out, &delay), 0);
                /* The output starts where the input stood `delay` frames ago. */
                assert_int_equal(done - delay, out);
                memcpy(y + out, o, (size_t) n_out * sizeof(int16_t));
                out += n_out;
                done += k;
        }
        *ret_n = out;
}

/* A suppressor keeps the gate open for a while after speech stops, so as not to cut off the
 * end of a word: the noise is measured from 50 ms into each pause. */
#define SETTLE_MS 50

/* Tone amplitude fitted where it sounds fully, and RMS in the pauses, over [from, n). */
static void analyse(const TestSignalParams *p, const int16_t *x, size_t from, size_t n, double *tone, double *pause) {
        double ss = 0, sc = 0, s2 = 0, c2 = 0, e = 0;
        size_t k = 0;

        for (size_t i = from; i < n; i++) {
                double v = x[i] / 32768.0, s = sin(2 * M_PI * p->tone_hz * i / RATE), c = cos(2 * M_PI * p->tone_hz * i / RATE);

                if (test_signal_tone_off(p, RATE, i, SETTLE_MS)) {
                        e += v * v;
                        k++;
                }
                if (!test_signal_tone_on(p, RATE, i))
                        continue;
                ss += v * s;
                sc += v * c;
                s2 += s * s;
                c2 += c * c;
        }
        *tone = sqrt((ss / s2) * (ss / s2) + (sc / c2) * (sc / c2));
        *pause = sqrt(e / k);
}

static double db(double ratio) {
        return 20 * log10(ratio);
}

static void test_noise_suppression(void **state) {
        TestSignalParams p = speech_like;
        const size_t n = RATE * 10, from = RATE * 4;
        _cleanup_(audio_processor_freep) AudioProcessor *ap = NULL;
        _cleanup_free_ int16_t *x = NULL, *y = malloc(n * sizeof(int16_t));
        double tone_in, noise_in, tone_out, noise_out;
        size_t n_out;

        p.noise_rms = 0.03; /* -30 dBFS of white noise under a -20 dBFS tone */
        p.noise_seed = 1;
        x = make_signal(&p, RATE, n);
        assert_non_null(y);
        assert_int_equal(audio_processor_new(RATE, 1, &(AudioProcessingSettings) { .noise_suppression = true }, &ap), 0);
        run(ap, x, n, RATE / 100, y, &n_out);
        assert_int_equal(n_out, n);

        analyse(&p, x, from, n, &tone_in, &noise_in);
        analyse(&p, y, from, n, &tone_out, &noise_out);
        print_message("in: tone %.4f, noise %.4f; out: tone %.4f, noise %.4f\n", tone_in, noise_in, tone_out, noise_out);
        print_message("noise %+.1f dB, tone %+.2f dB\n", db(noise_out / noise_in), db(tone_out / tone_in));
        assert_true(db(noise_out / noise_in) <= -10);
        assert_true(fabs(db(tone_out / tone_in)) < 1);
}

/* Level (dBFS RMS) of x where the tone sounds, over [from, to). */
static double tone_level(const TestSignalParams *p, const int16_t *x, size_t from, size_t to) {
        double e = 0;
        size_t k = 0;

        for (size_t i = from; i < to; i++)
                if (test_signal_tone_on(p, RATE, i)) {
                        e += (x[i] / 32768.0) * (x[i] / 32768.0);
                        k++;
                }
        return 10 * log10(e / k);
}

static void test_gain_control(void **state) {
        TestSignalParams p = speech_like;
        const size_t n = RATE * 12;
        _cleanup_(audio_processor_freep) AudioProcessor *ap = NULL;
        _cleanup_free_ int16_t *x = NULL, *y = malloc(n * sizeof(int16_t));
        double in, early, settled, late;
        size_t n_out;

        p.tone_amplitude = 0.01; /* -40 dBFS */
        x = make_signal(&p, RATE, n);
        assert_non_null(y);
        assert_int_equal(audio_processor_new(RATE, 1, &(AudioProcessingSettings) { .auto_gain_control = true }, &ap), 0);
        run(ap, x, n, RATE / 100, y, &n_out);

        in = tone_level(&p, x, 0, n);
        early = tone_level(&p, y, 0, RATE);
        settled = tone_level(&p, y, RATE * 6, RATE * 9);
        late = tone_level(&p, y, RATE * 9, RATE * 12);
        print_message("input %.1f dBFS; output %.1f in the first second, %.1f at 6-9 s, %.1f at 9-12 s\n", in, early,
                      settled, late);
        /* Raised, further than at the start, and holding there. */
        assert_true(settled > in + 10);
        assert_true(settled > early);
        assert_true(fabs(late - settled) < 1);
}

/* Any cut of the same input into periods gives the same output stream. */
static void test_periods_of_any_size(void **state) {
        static const uint32_t periods[] = { 441, 1, 100, 333, 882, 4410 };
        const uint32_t rate = 44100;
        TestSignalParams p = speech_like;
        const size_t n = rate * 2;
        _cleanup_free_ int16_t *x = NULL, *reference = malloc(n * sizeof(int16_t)), *y = malloc(n * sizeof(int16_t));
        size_t n_ref = 0;

        p.noise_rms = 0.01;
        x = make_signal(&p, rate, n);
        assert_non_null(reference);
        assert_non_null(y);
        for (size_t k = 0; k < ELEMENTSOF(periods); k++) {
                _cleanup_(audio_processor_freep) AudioProcessor *ap = NULL;
                AudioProcessingSettings s = { .noise_suppression = true, .auto_gain_control = true };
                size_t n_out;

                assert_int_equal(audio_processor_new(rate, 1, &s, &ap), 0);
                run(ap, x, n, periods[k], y, &n_out);
                assert_true(n - n_out < rate / 100);
                if (k == 0) {
                        memcpy(reference, y, n_out * sizeof(int16_t));
                        n_ref = n_out;
                        continue;
                }
                assert_memory_equal(y, reference, MIN(n_out, n_ref) * sizeof(int16_t));
        }
}

/* Channels are processed apart: channel 0 of a stereo processor is what a mono processor makes
 * of the same samples, and a silent channel 1 stays silent. */
static void test_channels_apart(void **state) {
        TestSignalParams p = speech_like;
        const size_t n = RATE;
        _cleanup_(audio_processor_freep) AudioProcessor *mono = NULL, *stereo = NULL;
        _cleanup_free_ int16_t *x = NULL, *xx = malloc(2 * n * sizeof(int16_t)), *y = malloc(n * sizeof(int16_t));
        AudioProcessingSettings s = { .noise_suppression = true, .auto_gain_control = true };
        size_t n_out;
        const int16_t *o;
        uint32_t n_o, delay;

        p.noise_rms = 0.02;
        x = make_signal(&p, RATE, n);
        assert_non_null(xx);
        assert_non_null(y);
        for (size_t i = 0; i < n; i++) {
                xx[2 * i] = x[i];
                xx[2 * i + 1] = 0;
        }
        assert_int_equal(audio_processor_new(RATE, 1, &s, &mono), 0);
        assert_int_equal(audio_processor_new(RATE, 2, &s, &stereo), 0);
        run(mono, x, n, RATE / 100, y, &n_out);
        assert_int_equal(audio_processor_process(stereo, xx, (uint32_t) n, &o, &n_o, &delay), 0);
        assert_int_equal(n_o, n);
        assert_int_equal(delay, 0);
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(o[2 * i], y[i]);
                assert_int_equal(o[2 * i + 1], 0);
        }
        assert_int_equal(audio_processor_channels(stereo), 2);
        assert_int_equal(audio_processor_rate(stereo), RATE);
}

static void test_refusals(void **state) {
        AudioProcessingSettings none = {}, ns = { .noise_suppression = true };
        AudioProcessor *ap = NULL;
        const int16_t *o;
        uint32_t n_o;

        assert_false(audio_processing_settings_any(&none));
        assert_false(audio_processing_settings_any(NULL));
        /* Nothing asked for: no processor (the samples pass untouched, bit for bit). */
        assert_int_equal(audio_processor_new(RATE, 1, &none, &ap), -EINVAL);
        assert_int_equal(audio_processor_new(7999, 1, &ns, &ap), -EINVAL);
        assert_int_equal(audio_processor_new(RATE, 0, &ns, &ap), -EINVAL);
        assert_int_equal(audio_processor_new(RATE, 33, &ns, &ap), -EINVAL);
        assert_null(ap);
        assert_int_equal(audio_processor_new(8000, 32, &ns, &ap), 0);
        assert_int_equal(audio_processor_process(ap, NULL, 1, &o, &n_o, NULL), -EINVAL);
        assert_int_equal(audio_processor_process(ap, (int16_t[1]) {}, 8001, &o, &n_o, NULL), -EINVAL);
        assert_null(audio_processor_free(ap));
        assert_null(audio_processor_free(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_noise_suppression),
                cmocka_unit_test(test_gain_control),
                cmocka_unit_test(test_periods_of_any_size),
                cmocka_unit_test(test_channels_apart),
                cmocka_unit_test(test_refusals),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
