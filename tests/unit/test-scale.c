/* Unit tests for scale.c: crop-and-scale of YUYV and NV12, the output layout (odd sizes included)
 * and black frames. Every expected crop below is worked out by hand from the source and output
 * sizes, not taken from the plan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devices/device.h"
#include "scale.h"
#include "util.h"

#define YUYV PIXEL_FORMAT_YUYV
#define NV12 PIXEL_FORMAT_NV12

/* Source pixel values, distinct enough that a shifted sample shows. */
static uint8_t luma_at(uint32_t x, uint32_t y) {
        return (uint8_t) (x * 7 + y * 31 + (x / 16) * 3 + (y / 8) * 5);
}
static uint8_t u_at(uint32_t cx, uint32_t y) {
        return (uint8_t) (cx * 11 + y * 3 + 1);
}
static uint8_t v_at(uint32_t cx, uint32_t y) {
        return (uint8_t) (cx * 5 + y * 13 + 2);
}

static uint8_t *make_source(uint32_t fourcc, uint32_t w, uint32_t h, uint32_t stride, size_t *ret_size) {
        size_t size;
        uint8_t *buf;

        assert_int_equal(scale_source_size(fourcc, w, h, stride, &size), 0);
        buf = malloc(size);
        assert_non_null(buf);
        memset(buf, 0xEE, size); /* stride padding: must never show up in the output */

        for (uint32_t y = 0; y < h; y++)
                for (uint32_t x = 0; x < w; x++) {
                        if (fourcc == YUYV) {
                                uint8_t *p = buf + (size_t) y * stride + x * 2;
                                p[0] = luma_at(x, y);
                                p[1] = x % 2 == 0 ? u_at(x / 2, y) : v_at(x / 2, y);
                        } else
                                buf[(size_t) y * stride + x] = luma_at(x, y);
                }
        if (fourcc == NV12)
                for (uint32_t y = 0; y < h / 2; y++)
                        for (uint32_t cx = 0; cx < w / 2; cx++) {
                                uint8_t *p = buf + (size_t) stride * h + (size_t) y * stride + cx * 2;
                                p[0] = u_at(cx, y);
                                p[1] = v_at(cx, y);
                        }

        *ret_size = size;
        return buf;
}

/* Independent model of the sampling: pixel centre of the output mapped into the crop. */
static uint32_t model_sample(uint32_t i, uint32_t dst_len, uint32_t crop_start, uint32_t crop_len) {
        double v = ((double) i + 0.5) * (double) crop_len / (double) dst_len;
        uint32_t s = (uint32_t) v;

        if (s >= crop_len)
                s = crop_len - 1;
        return crop_start + s;
}

typedef struct ScaleCase {
        const char *name;
        uint32_t fourcc;
        uint32_t src_w, src_h, src_stride;
        uint32_t dst_w, dst_h;
        uint32_t dst_fourcc; /* 0: as the source */
        /* hand-computed expectations */
        uint32_t crop_x, crop_y, crop_w, crop_h;
        uint32_t dst_stride;
        size_t dst_size;
} ScaleCase;

static const ScaleCase scale_cases[] = {
        { "identity YUYV", YUYV, 640, 480, 1280, 640, 480, 0, 0, 0, 640, 480, 1280, 1280 * 480 },
        { "identity YUYV padded stride", YUYV, 640, 480, 1344, 640, 480, 0, 0, 0, 640, 480, 1280, 1280 * 480 },
        { "identity NV12", NV12, 320, 240, 320, 320, 240, 0, 0, 0, 320, 240, 320, 320 * 240 * 3 / 2 },
        { "identity NV12 padded stride", NV12, 320, 240, 384, 320, 240, 0, 0, 0, 320, 240, 320, 320 * 240 * 3 / 2 },
        /* 16:9 to 4:3: keep the centred 960x720, then 1.5:1 */
        { "1280x720 to 640x480 YUYV", YUYV, 1280, 720, 2560, 640, 480, 0, 160, 0, 960, 720, 1280, 1280 * 480 },
        { "640x480 to 320x240 YUYV", YUYV, 640, 480, 1280, 320, 240, 0, 0, 0, 640, 480, 640, 640 * 240 },
        { "640x480 to 320x240 NV12", NV12, 640, 480, 640, 320, 240, 0, 0, 0, 640, 480, 320, 320 * 240 * 3 / 2 },
        { "1280x720 to 640x480 NV12", NV12, 1280, 720, 1280, 640, 480, 0, 160, 0, 960, 720, 640, 640 * 480 * 3 / 2 },
        /* 4:3 to 16:9: keep the centred 640x360 */
        { "640x480 to 320x180 YUYV", YUYV, 640, 480, 1280, 320, 180, 0, 0, 60, 640, 360, 640, 640 * 180 },
        /* same aspect ratio, crop nothing, non-integer factor */
        { "1920x1080 to 1280x720 NV12", NV12, 1920, 1080, 1920, 1280, 720, 0, 0, 0, 1920, 1080, 1280, 1280 * 720 * 3 / 2 },
        /* odd output sizes: the engine's size is kept, the stride is padded to even pixels;
         * 321:241 is a hair narrower than 4:3, so round(480 * 321 / 241) = 639 columns are kept */
        { "odd 321x241 YUYV", YUYV, 640, 480, 1280, 321, 241, 0, 0, 0, 639, 480, 644, 644 * 241 },
        { "odd 321x241 NV12", NV12, 640, 480, 640, 321, 241, 0, 0, 0, 639, 480, 322, 322 * 241 + 322 * 121 },
        { "odd 1x1 NV12", NV12, 640, 480, 640, 1, 1, 0, 80, 0, 480, 480, 2, 2 + 2 },
        /* square from 4:3: centred 480x480 (80 columns cut on each side) */
        { "640x480 to 240x240 YUYV", YUYV, 640, 480, 1280, 240, 240, 0, 80, 0, 480, 480, 480, 480 * 240 },
        /* conversions: the stream keeps its fourcc when the device changes mode */
        { "YUYV to NV12 identity size", YUYV, 640, 480, 1280, 640, 480, NV12, 0, 0, 640, 480, 640, 640 * 480 * 3 / 2 },
        { "NV12 to YUYV identity size", NV12, 640, 480, 704, 640, 480, YUYV, 0, 0, 640, 480, 1280, 1280 * 480 },
        { "1280x720 YUYV to 640x480 NV12", YUYV, 1280, 720, 2560, 640, 480, NV12, 160, 0, 960, 720, 640, 640 * 480 * 3 / 2 },
        { "1280x720 NV12 to odd 321x241 YUYV", NV12, 1280, 720, 1280, 321, 241, YUYV, 160, 0, 959, 720, 644, 644 * 241 },
};

/* The chroma the source holds for the pixel at (sx, sy). */
static uint8_t expected_u(const ScaleCase *c, uint32_t sx, uint32_t sy) {
        return u_at(sx / 2, c->fourcc == YUYV ? sy : sy / 2);
}
static uint8_t expected_v(const ScaleCase *c, uint32_t sx, uint32_t sy) {
        return v_at(sx / 2, c->fourcc == YUYV ? sy : sy / 2);
}

static void check_yuyv(const ScaleCase *c, const uint8_t *dst) {
        uint32_t pad_w = c->dst_w + (c->dst_w & 1);

        for (uint32_t y = 0; y < c->dst_h; y++) {
                uint32_t sy = model_sample(y, c->dst_h, c->crop_y, c->crop_h);

                for (uint32_t x = 0; x < pad_w; x++) {
                        uint32_t xx = MIN(x, c->dst_w - 1); /* padding repeats the last column */
                        uint32_t sx = model_sample(xx, c->dst_w, c->crop_x, c->crop_w);
                        const uint8_t *p = dst + (size_t) y * c->dst_stride + x * 2;

                        if (p[0] != luma_at(sx, sy))
                                fail_msg("%s: Y at %u,%u is %u, expected source %u,%u = %u", c->name, x, y, p[0],
                                         sx, sy, luma_at(sx, sy));
                        if (x % 2 == 0) {
                                assert_int_equal(p[1], expected_u(c, sx, sy));
                                assert_int_equal(p[3], expected_v(c, sx, sy));
                        }
                }
        }
}

static void check_nv12(const ScaleCase *c, const uint8_t *dst) {
        uint32_t pad_w = c->dst_w + (c->dst_w & 1), pad_h = c->dst_h + (c->dst_h & 1);
        const uint8_t *uv = dst + (size_t) c->dst_stride * c->dst_h;

        for (uint32_t y = 0; y < c->dst_h; y++) {
                uint32_t sy = model_sample(y, c->dst_h, c->crop_y, c->crop_h);

                for (uint32_t x = 0; x < pad_w; x++) {
                        uint32_t sx = model_sample(MIN(x, c->dst_w - 1), c->dst_w, c->crop_x, c->crop_w);
                        uint8_t got = dst[(size_t) y * c->dst_stride + x];

                        if (got != luma_at(sx, sy))
                                fail_msg("%s: Y at %u,%u is %u, expected source %u,%u = %u", c->name, x, y, got,
                                         sx, sy, luma_at(sx, sy));
                }
        }
        for (uint32_t j = 0; j < pad_h / 2; j++) {
                uint32_t sy = model_sample(MIN(2 * j, c->dst_h - 1), c->dst_h, c->crop_y, c->crop_h);

                for (uint32_t i = 0; i < pad_w / 2; i++) {
                        uint32_t sx = model_sample(2 * i, c->dst_w, c->crop_x, c->crop_w);
                        const uint8_t *p = uv + (size_t) j * c->dst_stride + 2 * i;

                        assert_int_equal(p[0], expected_u(c, sx, sy));
                        assert_int_equal(p[1], expected_v(c, sx, sy));
                }
        }
}

static void test_scale_cases(void **state) {
        for (size_t k = 0; k < ELEMENTSOF(scale_cases); k++) {
                const ScaleCase *c = &scale_cases[k];
                _cleanup_(scale_plan_freep) ScalePlan *p = NULL;
                _cleanup_free_ uint8_t *src = NULL, *dst = NULL;
                uint32_t cx, cy, cw, ch, stride;
                size_t src_size, size;

                print_message("case: %s\n", c->name);
                uint32_t out_fourcc = c->dst_fourcc ?: c->fourcc;

                src = make_source(c->fourcc, c->src_w, c->src_h, c->src_stride, &src_size);
                if (c->dst_fourcc)
                        assert_int_equal(scale_plan_new_convert(c->fourcc, c->src_w, c->src_h, c->src_stride,
                                                                c->dst_fourcc, c->dst_w, c->dst_h, &p), 0);
                else
                        assert_int_equal(scale_plan_new(c->fourcc, c->src_w, c->src_h, c->src_stride,
                                                        c->dst_w, c->dst_h, &p), 0);
                assert_int_equal(scale_plan_fourcc(p), out_fourcc);
                assert_true(scale_plan_matches_source(p, c->fourcc, c->src_w, c->src_h, c->src_stride));

                scale_plan_get_crop(p, &cx, &cy, &cw, &ch);
                assert_int_equal(cx, c->crop_x);
                assert_int_equal(cy, c->crop_y);
                assert_int_equal(cw, c->crop_w);
                assert_int_equal(ch, c->crop_h);
                assert_int_equal(scale_plan_dst_stride(p), c->dst_stride);
                assert_int_equal(scale_plan_dst_size(p), c->dst_size);
                assert_int_equal(scale_output_layout(out_fourcc, c->dst_w, c->dst_h, &stride, &size), 0);
                assert_int_equal(stride, c->dst_stride);
                assert_int_equal(size, c->dst_size);

                /* One canary byte after the frame: the copy must stay inside dst_size. */
                dst = malloc(c->dst_size + 1);
                assert_non_null(dst);
                memset(dst, 0xA5, c->dst_size + 1);
                assert_int_equal(scale_plan_run(p, src, src_size, dst, c->dst_size), 0);
                assert_int_equal(dst[c->dst_size], 0xA5);

                if (out_fourcc == YUYV)
                        check_yuyv(c, dst);
                else
                        check_nv12(c, dst);

                /* Identity: byte for byte the source rows, padding of the source stride dropped. */
                if (c->src_w == c->dst_w && c->src_h == c->dst_h && out_fourcc == c->fourcc) {
                        uint32_t row = c->fourcc == YUYV ? c->src_w * 2 : c->src_w;
                        uint32_t rows = c->fourcc == YUYV ? c->src_h : c->src_h * 3 / 2;

                        for (uint32_t y = 0; y < rows; y++)
                                assert_memory_equal(dst + (size_t) y * c->dst_stride, src + (size_t) y * c->src_stride, row);
                }
        }
}

/* A marked source pixel lands where crop-then-scale puts it, and pixels outside the crop never
 * show up. 1280x720 to 640x480: crop x 160..1119, factor 1.5, so output (100, 50) samples source
 * (160 + floor(100.5 * 1.5), floor(50.5 * 1.5)) = (310, 75). */
typedef struct MarkCase {
        const char *name;
        uint32_t fourcc;
        uint32_t src_w, src_h, dst_w, dst_h;
        uint32_t mark_x, mark_y; /* source */
        int32_t out_x, out_y;    /* where it must land, or -1: nowhere */
} MarkCase;

static const MarkCase mark_cases[] = {
        { "inside the crop", YUYV, 1280, 720, 640, 480, 310, 75, 100, 50 },
        { "inside the crop, NV12", NV12, 1280, 720, 640, 480, 310, 75, 100, 50 },
        { "left of the crop", YUYV, 1280, 720, 640, 480, 150, 75, -1, -1 },
        { "right of the crop", YUYV, 1280, 720, 640, 480, 1125, 300, -1, -1 },
        { "first crop column", YUYV, 1280, 720, 640, 480, 160, 0, 0, 0 },
        { "halving", YUYV, 640, 480, 320, 240, 201, 101, 100, 50 },
        { "halving NV12", NV12, 640, 480, 320, 240, 201, 101, 100, 50 },
};

static void test_scale_mark(void **state) {
        for (size_t k = 0; k < ELEMENTSOF(mark_cases); k++) {
                const MarkCase *c = &mark_cases[k];
                _cleanup_(scale_plan_freep) ScalePlan *p = NULL;
                _cleanup_free_ uint8_t *src = NULL, *dst = NULL;
                uint32_t bpp = c->fourcc == YUYV ? 2 : 1, src_stride = c->src_w * bpp;
                size_t src_size, found = 0;
                int32_t fx = -1, fy = -1;

                print_message("case: %s\n", c->name);
                assert_int_equal(scale_source_size(c->fourcc, c->src_w, c->src_h, src_stride, &src_size), 0);
                src = calloc(1, src_size);
                assert_non_null(src);
                src[(size_t) c->mark_y * src_stride + c->mark_x * bpp] = 255;

                assert_int_equal(scale_plan_new(c->fourcc, c->src_w, c->src_h, src_stride, c->dst_w, c->dst_h, &p), 0);
                dst = calloc(1, scale_plan_dst_size(p));
                assert_non_null(dst);
                assert_int_equal(scale_plan_run(p, src, src_size, dst, scale_plan_dst_size(p)), 0);

                for (uint32_t y = 0; y < c->dst_h; y++)
                        for (uint32_t x = 0; x < c->dst_w; x++)
                                if (dst[(size_t) y * scale_plan_dst_stride(p) + x * bpp] == 255) {
                                        found++;
                                        fx = (int32_t) x;
                                        fy = (int32_t) y;
                                }

                if (c->out_x < 0)
                        assert_int_equal(found, 0);
                else {
                        assert_int_equal(found, 1);
                        assert_int_equal(fx, c->out_x);
                        assert_int_equal(fy, c->out_y);
                }
        }
}

typedef struct InvalidCase {
        const char *name;
        uint32_t fourcc;
        uint32_t src_w, src_h, src_stride, dst_w, dst_h;
} InvalidCase;

static const InvalidCase invalid_cases[] = {
        { "upscale width", YUYV, 640, 480, 1280, 641, 480 },
        { "upscale height", NV12, 640, 480, 640, 640, 481 },
        { "zero width", YUYV, 640, 480, 1280, 0, 480 },
        { "zero height", YUYV, 640, 480, 1280, 320, 0 },
        { "odd source width YUYV", YUYV, 641, 480, 1282, 320, 240 },
        { "odd source height NV12", NV12, 640, 481, 640, 320, 240 },
        { "short stride YUYV", YUYV, 640, 480, 1000, 320, 240 },
        { "short stride NV12", NV12, 640, 480, 600, 320, 240 },
        { "unknown fourcc", FOURCC('M', 'J', 'P', 'G'), 640, 480, 1280, 320, 240 },
        { "absurd size", YUYV, 100000, 480, 200000, 320, 240 },
};

static void test_scale_invalid(void **state) {
        for (size_t k = 0; k < ELEMENTSOF(invalid_cases); k++) {
                const InvalidCase *c = &invalid_cases[k];
                ScalePlan *p = NULL;

                print_message("case: %s\n", c->name);
                assert_int_equal(scale_plan_new(c->fourcc, c->src_w, c->src_h, c->src_stride, c->dst_w, c->dst_h, &p),
                                 -EINVAL);
                assert_null(p);
        }
}

typedef struct BufferCase {
        const char *name;
        uint32_t fourcc;
        uint32_t dst_w, dst_h;
        ssize_t src_delta, dst_delta; /* added to the required sizes */
        int expected;
} BufferCase;

static const BufferCase buffer_cases[] = {
        { "exact sizes", YUYV, 320, 240, 0, 0, 0 },
        { "short source", YUYV, 320, 240, -1, 0, -ENOBUFS },
        { "short destination", YUYV, 320, 240, 0, -1, -ENOBUFS },
        { "short source NV12 identity", NV12, 640, 480, -1, 0, -ENOBUFS },
        { "short destination NV12 identity", NV12, 640, 480, 0, -1, -ENOBUFS },
        { "larger buffers", NV12, 320, 240, 100, 100, 0 },
};

static void test_scale_buffers(void **state) {
        for (size_t k = 0; k < ELEMENTSOF(buffer_cases); k++) {
                const BufferCase *c = &buffer_cases[k];
                _cleanup_(scale_plan_freep) ScalePlan *p = NULL;
                _cleanup_free_ uint8_t *src = NULL, *dst = NULL;
                uint32_t stride = c->fourcc == YUYV ? 1280 : 640;
                size_t src_size;

                print_message("case: %s\n", c->name);
                assert_int_equal(scale_plan_new(c->fourcc, 640, 480, stride, c->dst_w, c->dst_h, &p), 0);
                assert_int_equal(scale_source_size(c->fourcc, 640, 480, stride, &src_size), 0);
                src = calloc(1, src_size + 100);
                dst = malloc(scale_plan_dst_size(p) + 100);
                assert_non_null(src);
                assert_non_null(dst);
                memset(dst, 0x5A, scale_plan_dst_size(p) + 100);
                assert_int_equal(scale_plan_run(p, src, src_size + c->src_delta, dst, scale_plan_dst_size(p) + c->dst_delta),
                                 c->expected);
                if (c->expected < 0)
                        /* nothing written */
                        for (size_t i = 0; i < scale_plan_dst_size(p); i++)
                                assert_int_equal(dst[i], 0x5A);
        }
}

typedef struct BlackCase {
        const char *name;
        uint32_t fourcc;
        uint32_t w, h;
} BlackCase;

static const BlackCase black_cases[] = {
        { "YUYV 640x480", YUYV, 640, 480 },
        { "YUYV odd 33x7", YUYV, 33, 7 },
        { "NV12 320x240", NV12, 320, 240 },
        { "NV12 odd 33x7", NV12, 33, 7 },
};

static void test_scale_black(void **state) {
        for (size_t k = 0; k < ELEMENTSOF(black_cases); k++) {
                const BlackCase *c = &black_cases[k];
                _cleanup_free_ uint8_t *dst = NULL;
                uint32_t stride;
                size_t size;

                print_message("case: %s\n", c->name);
                assert_int_equal(scale_output_layout(c->fourcc, c->w, c->h, &stride, &size), 0);
                dst = malloc(size + 1);
                assert_non_null(dst);
                memset(dst, 0x77, size + 1);
                assert_int_equal(scale_fill_black(c->fourcc, c->w, c->h, dst, size - 1), -ENOBUFS);
                assert_int_equal(scale_fill_black(c->fourcc, c->w, c->h, dst, size), 0);
                assert_int_equal(dst[size], 0x77);

                for (size_t i = 0; i < size; i++) {
                        uint8_t expected;

                        if (c->fourcc == YUYV)
                                expected = i % 2 == 0 ? 16 : 128;
                        else
                                expected = i < (size_t) stride * c->h ? 16 : 128;
                        if (dst[i] != expected)
                                fail_msg("%s: byte %zu is %u, expected %u", c->name, i, dst[i], expected);
                }
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_scale_cases),
                cmocka_unit_test(test_scale_mark),
                cmocka_unit_test(test_scale_invalid),
                cmocka_unit_test(test_scale_buffers),
                cmocka_unit_test(test_scale_black),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
