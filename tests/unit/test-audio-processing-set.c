/* Tests of the per-capture processors: one per combination of settings in use, shared by its
 * users, the plain capture passed through untouched, a fresh start for a new first user and for
 * a new format, and periods that do not fill a block. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "audio-processing-set.h"
#include "devices/test-signal.h"
#include "util.h"

static const AudioProcessingSettings plain = {}, ns = { .noise_suppression = true },
                                     agc = { .auto_gain_control = true },
                                     both = { .noise_suppression = true, .auto_gain_control = true };

/* Period k of a noisy speech-like tone, 10 ms at rate, channels interleaved. */
static Frame make_period(TestSignal *sig, int16_t *buf, uint32_t n, uint32_t channels, uint64_t k) {
        for (uint32_t i = 0; i < n; i++) {
                long v = lrint(test_signal_next(sig) * 32768);

                for (uint32_t c = 0; c < channels; c++)
                        buf[i * channels + c] = (int16_t) CLAMP(v, INT16_MIN, INT16_MAX);
        }
        return (Frame) {
                .data = (const uint8_t *) buf,
                .size = (size_t) n * channels * 2,
                .sequence = k,
                .timestamp_ns = 1000000000ULL + k * 10000000ULL,
                .n_frames = n,
        };
}

static const TestSignalParams noisy = {
        .tone_hz = 440, .tone_amplitude = 0.1, .cadence_on_ms = 300, .cadence_off_ms = 300, .noise_rms = 0.03,
        .noise_seed = 5,
};

static void test_shared_and_plain(void **state) {
        AudioProcessingSet *set = NULL;
        AudioProcessor *alone = NULL;
        int16_t buf[480];
        TestSignal sig;

        assert_int_equal(audio_processing_set_new(&set), 0);
        audio_processing_set_add_user(set, &plain);
        audio_processing_set_add_user(set, &ns);
        audio_processing_set_add_user(set, &ns);
        audio_processing_set_add_user(set, &both);
        assert_int_equal(audio_processor_new(48000, 1, &ns, &alone), 0);
        test_signal_init(&sig, &noisy, 48000);

        for (uint64_t k = 0; k < 200; k++) {
                Frame f = make_period(&sig, buf, 480, 1, k);
                const Frame *p, *q, *b;
                const int16_t *expect;
                uint32_t n, delay;

                audio_processing_set_process(set, &f, 48000, 1);
                /* Nothing asked: the capture itself. */
                assert_ptr_equal(audio_processing_set_output(set, &plain, &f), &f);
                /* Two users of one combination: one processor, the same period. */
                p = audio_processing_set_output(set, &ns, &f);
                q = audio_processing_set_output(set, &ns, &f);
                assert_non_null(p);
                assert_ptr_equal(p, q);
                /* It is what a processor of its own makes of the capture. */
                assert_int_equal(audio_processor_process(alone, buf, 480, &expect, &n, &delay), 0);
                assert_int_equal(p->n_frames, n);
                assert_memory_equal(p->data, expect, n * 2);
                assert_int_equal(p->sequence, k);
                assert_int_equal(p->timestamp_ns, f.timestamp_ns);
                /* Another combination, another processor. */
                b = audio_processing_set_output(set, &both, &f);
                assert_non_null(b);
                assert_ptr_not_equal(b, p);
                /* Nobody asked for gain control alone. */
                assert_null(audio_processing_set_output(set, &agc, &f));
        }
        audio_processor_free(alone);
        audio_processing_set_free(set);
}

/* The last user gone, the next first one starts afresh; so does a new format. */
static void test_fresh_starts(void **state) {
        AudioProcessingSet *set = NULL;
        int16_t buf[960], first[480];
        TestSignal sig;
        Frame f;
        const Frame *p;

        assert_int_equal(audio_processing_set_new(&set), 0);
        audio_processing_set_add_user(set, &agc);
        test_signal_init(&sig, &noisy, 48000);
        f = make_period(&sig, buf, 480, 1, 0);
        audio_processing_set_process(set, &f, 48000, 1);
        p = audio_processing_set_output(set, &agc, &f);
        assert_non_null(p);
        memcpy(first, p->data, sizeof first);
        for (uint64_t k = 1; k < 100; k++) {
                Frame g = make_period(&sig, buf, 480, 1, k);

                audio_processing_set_process(set, &g, 48000, 1);
        }

        audio_processing_set_remove_user(set, &agc);
        audio_processing_set_add_user(set, &agc);
        test_signal_init(&sig, &noisy, 48000);
        f = make_period(&sig, buf, 480, 1, 0);
        audio_processing_set_process(set, &f, 48000, 1);
        p = audio_processing_set_output(set, &agc, &f);
        assert_non_null(p);
        assert_memory_equal(p->data, first, sizeof first);

        /* Stereo at 44.1 kHz now: a processor for that. */
        f = make_period(&sig, buf, 441, 2, 1);
        audio_processing_set_process(set, &f, 44100, 2);
        p = audio_processing_set_output(set, &agc, &f);
        assert_non_null(p);
        assert_int_equal(p->n_frames, 441);
        assert_int_equal(p->size, 441 * 4);
        audio_processing_set_free(set);
}

/* 11025 Hz: periods of 110 and 111 frames, blocks of 110. What waits for the next period comes
 * out with it, its timestamp the capture time of its first frame. */
static void test_periods_and_blocks(void **state) {
        AudioProcessingSet *set = NULL;
        int16_t buf[111];
        TestSignal sig;
        uint64_t in_frames = 0, out_frames = 0;

        assert_int_equal(audio_processing_set_new(&set), 0);
        audio_processing_set_add_user(set, &ns);
        test_signal_init(&sig, &noisy, 11025);
        for (uint64_t k = 0; k < 100; k++) {
                uint32_t n = (uint32_t) ((k + 1) * 11025 / 100 - k * 11025 / 100);
                Frame f = make_period(&sig, buf, n, 1, k);
                const Frame *p;

                audio_processing_set_process(set, &f, 11025, 1);
                p = audio_processing_set_output(set, &ns, &f);
                in_frames += n;
                if (!p)
                        continue;
                assert_int_equal(p->n_frames % 110, 0);
                /* The output's first frame was captured out_frames frames after the start. */
                assert_true(llabs((int64_t) p->timestamp_ns -
                                  (int64_t) (1000000000ULL + out_frames * 1000000000ULL / 11025)) < 200000);
                out_frames += p->n_frames;
        }
        assert_true(in_frames - out_frames < 110);
        audio_processing_set_remove_user(set, &ns);
        audio_processing_set_remove_user(set, &ns); /* one too many: ignored */
        audio_processing_set_free(set);
        assert_null(audio_processing_set_free(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shared_and_plain),
                cmocka_unit_test(test_fresh_starts),
                cmocka_unit_test(test_periods_and_blocks),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
