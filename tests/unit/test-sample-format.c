/* Table tests for the conversion of wider capture formats to S16_LE: the rounding table, the
 * byte layouts, the exact copy of 16-bit content, and the statistics of the TPDF dither (no
 * offset, bounded error, detail below the 16th bit kept instead of cut off). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "devices/sample-format.h"
#include "util.h"

static int16_t s16_at(const uint8_t *p, size_t i) {
        return (int16_t) (uint16_t) (p[2 * i] | (p[2 * i + 1] << 8));
}

static void test_names(void **state) {
        for (SampleFormat f = 0; f < _SAMPLE_FORMAT_MAX; f++)
                assert_int_equal(sample_format_from_string(sample_format_to_string(f)), f);
        assert_int_equal(sample_format_from_string("S24_BE"), _SAMPLE_FORMAT_INVALID);
        assert_int_equal(sample_format_from_string("s16_le"), _SAMPLE_FORMAT_INVALID);
        assert_int_equal(sample_format_from_string(NULL), _SAMPLE_FORMAT_INVALID);
        assert_null(sample_format_to_string(_SAMPLE_FORMAT_MAX));
        assert_int_equal(sample_format_size(SAMPLE_FORMAT_S24_3LE), 3);
        assert_int_equal(sample_format_bits(SAMPLE_FORMAT_S24_LE), 24);
        assert_int_equal(sample_format_size(_SAMPLE_FORMAT_INVALID), 0);
}

/* Without dither: round to nearest, halves up, clamp. Values are given as the wide sample. */
static void test_rounding_table(void **state) {
        static const struct {
                const char *name;
                SampleFormat format;
                int64_t in;
                int16_t out;
        } rows[] = {
                { "S32 exact", SAMPLE_FORMAT_S32_LE, 0x12340000, 0x1234 },
                { "S32 just below half rounds down", SAMPLE_FORMAT_S32_LE, 0x12347fff, 0x1234 },
                { "S32 half rounds up", SAMPLE_FORMAT_S32_LE, 0x12348000, 0x1235 },
                { "S32 above half rounds up (truncation would say 0x1234)", SAMPLE_FORMAT_S32_LE, 0x1234ffff, 0x1235 },
                { "S32 negative half rounds up, toward zero", SAMPLE_FORMAT_S32_LE, -0x8000, 0 },
                { "S32 negative above half rounds away", SAMPLE_FORMAT_S32_LE, -0x8001, -1 },
                { "S32 -1 is 0, not -1 as truncation gives", SAMPLE_FORMAT_S32_LE, -1, 0 },
                { "S32 near full scale clamps instead of wrapping", SAMPLE_FORMAT_S32_LE, 0x7fffffff, 32767 },
                { "S32 most negative", SAMPLE_FORMAT_S32_LE, INT32_MIN, -32768 },
                { "S24_3LE exact", SAMPLE_FORMAT_S24_3LE, 0x123400, 0x1234 },
                { "S24_3LE half rounds up", SAMPLE_FORMAT_S24_3LE, 0x123480, 0x1235 },
                { "S24_3LE below half", SAMPLE_FORMAT_S24_3LE, 0x12347f, 0x1234 },
                { "S24_3LE full scale clamps", SAMPLE_FORMAT_S24_3LE, 0x7fffff, 32767 },
                { "S24_3LE most negative", SAMPLE_FORMAT_S24_3LE, -0x800000, -32768 },
                { "S24_LE rounds like S24_3LE", SAMPLE_FORMAT_S24_LE, -0x181, -2 },
                { "S16 as it is", SAMPLE_FORMAT_S16_LE, -12345, -12345 },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                uint8_t in[8], out[2];

                print_message("rounding: %s\n", rows[i].name);
                sample_write(rows[i].format, in, 0, rows[i].in);
                assert_int_equal(sample_read(rows[i].format, in, 0), rows[i].in);
                assert_int_equal(sample_convert_to_s16(rows[i].format, in, 1, out, NULL), 0);
                assert_int_equal(s16_at(out, 0), rows[i].out);
        }
}

/* The byte layouts, as the devices send them. */
static void test_layouts(void **state) {
        static const struct {
                const char *name;
                SampleFormat format;
                uint8_t bytes[4];
                int32_t value;
        } rows[] = {
                { "S16_LE", SAMPLE_FORMAT_S16_LE, { 0x34, 0x12 }, 0x1234 },
                { "S24_3LE negative", SAMPLE_FORMAT_S24_3LE, { 0x00, 0x00, 0x80 }, -0x800000 },
                { "S24_LE, sign in the 4th byte", SAMPLE_FORMAT_S24_LE, { 0x56, 0x34, 0x92, 0xff }, -0x6dcbaa },
                { "S24_LE, 4th byte left 0 by the driver", SAMPLE_FORMAT_S24_LE, { 0x56, 0x34, 0x92, 0x00 }, -0x6dcbaa },
                { "S32_LE", SAMPLE_FORMAT_S32_LE, { 0x78, 0x56, 0x34, 0x12 }, 0x12345678 },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                print_message("layout: %s\n", rows[i].name);
                assert_int_equal(sample_read(rows[i].format, rows[i].bytes, 0), rows[i].value);
        }
        assert_int_equal(sample_convert_to_s16(_SAMPLE_FORMAT_MAX, rows[0].bytes, 1, (uint8_t[2]) {}, NULL), -EINVAL);
        assert_int_equal(sample_convert_to_s16(SAMPLE_FORMAT_S32_LE, NULL, 1, (uint8_t[2]) {}, NULL), -EINVAL);
        assert_int_equal(sample_convert_to_s16(SAMPLE_FORMAT_S32_LE, NULL, 0, NULL, NULL), 0);
}

/* 16-bit content in a wider container (or digital silence) has nothing to requantize: it comes
 * out exactly, dither or not. */
static void test_exact_content_is_not_dithered(void **state) {
        for (SampleFormat f = SAMPLE_FORMAT_S24_LE; f < _SAMPLE_FORMAT_MAX; f++) {
                unsigned shift = sample_format_bits(f) - 16;
                uint8_t in[480 * 4], out[480 * 2];
                SampleDither d;

                sample_dither_init(&d, 1);
                for (size_t i = 0; i < 480; i++)
                        sample_write(f, in, i, (int64_t) ((int16_t) (i * 997)) * ((int64_t) 1 << shift));
                assert_int_equal(sample_convert_to_s16(f, in, 480, out, &d), 0);
                for (size_t i = 0; i < 480; i++)
                        assert_int_equal(s16_at(out, i), (int16_t) (i * 997));
        }
}

/* A constant that lies between two 16-bit steps: rounding alone always gives the nearer step
 * (an error that never averages out); dithered rounding hits both neighbours, so that the mean
 * is the true value, each output stays within one step of it, and the spread is the TPDF's. */
static void test_dither_statistics(void **state) {
        static const double fractions[] = { 0.25, 0.5, 0.9, -0.3 };
        enum { N = 1 << 16 };

        for (SampleFormat f = SAMPLE_FORMAT_S24_LE; f < _SAMPLE_FORMAT_MAX; f++)
                for (size_t k = 0; k < ELEMENTSOF(fractions); k++) {
                        unsigned shift = sample_format_bits(f) - 16;
                        double target = 1000 + fractions[k], sum = 0, sum2 = 0;
                        _cleanup_free_ uint8_t *in = malloc((size_t) N * 4), *out = malloc((size_t) N * 2);
                        SampleDither d;

                        assert_non_null(in);
                        assert_non_null(out);
                        sample_dither_init(&d, 42 + k);
                        for (size_t i = 0; i < N; i++)
                                sample_write(f, in, i, llround(target * (double) (1 << shift)));
                        assert_int_equal(sample_convert_to_s16(f, in, N, out, &d), N);
                        for (size_t i = 0; i < N; i++) {
                                double e = s16_at(out, i) - target;

                                assert_true(fabs(e) < 1.5);
                                sum += e;
                                sum2 += e * e;
                        }
                        print_message("%s %+.2f: mean error %+.4f, rms %.3f\n", sample_format_to_string(f),
                                      fractions[k], sum / N, sqrt(sum2 / N));
                        /* Unbiased: the standard error of the mean here is about 0.002. */
                        assert_true(fabs(sum / N) < 0.02);
                        /* TPDF of +-1 step plus the rounding: sqrt(1/6 + 1/12) = 0.5 at most. */
                        assert_true(sqrt(sum2 / N) > 0.3 && sqrt(sum2 / N) < 0.65);
                }
}

/* A sine of a third of a 16-bit step: rounding alone makes it vanish (all zeros), truncation
 * makes it a DC offset with a square wave; dithered, its fundamental comes through at its own
 * amplitude, without offset. */
static void test_dither_keeps_detail_below_one_step(void **state) {
        enum { RATE = 48000, N = RATE * 2 };
        const double amplitude = 1.0 / 3, hz = 1000;
        _cleanup_free_ uint8_t *in = malloc((size_t) N * 4), *out = malloc((size_t) N * 2);
        double s = 0, c = 0, mean = 0, fitted;
        SampleDither d;

        assert_non_null(in);
        assert_non_null(out);
        for (size_t i = 0; i < N; i++)
                sample_write(SAMPLE_FORMAT_S32_LE, in, i, llround(amplitude * 65536 * sin(2 * M_PI * hz * i / RATE)));

        assert_int_equal(sample_convert_to_s16(SAMPLE_FORMAT_S32_LE, in, N, out, NULL), 0);
        for (size_t i = 0; i < N; i++)
                assert_int_equal(s16_at(out, i), 0);

        sample_dither_init(&d, 7);
        assert_int_equal(sample_convert_to_s16(SAMPLE_FORMAT_S32_LE, in, N, out, &d), N);
        for (size_t i = 0; i < N; i++) {
                s += s16_at(out, i) * sin(2 * M_PI * hz * i / RATE);
                c += s16_at(out, i) * cos(2 * M_PI * hz * i / RATE);
                mean += s16_at(out, i);
        }
        fitted = 2 * sqrt(s * s + c * c) / N;
        mean /= N;
        print_message("a %.3f-step sine, dithered: fundamental %.3f, mean %+.4f\n", amplitude, fitted, mean);
        assert_true(fabs(fitted - amplitude) < 0.02);
        assert_true(fabs(mean) < 0.01);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_rounding_table),
                cmocka_unit_test(test_layouts),
                cmocka_unit_test(test_exact_content_is_not_dithered),
                cmocka_unit_test(test_dither_statistics),
                cmocka_unit_test(test_dither_keeps_detail_below_one_step),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
