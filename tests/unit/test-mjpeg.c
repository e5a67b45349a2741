/* Tests of the Motion-JPEG pieces: the frame code (the stamp drawn as cells) read back from
 * pictures as they are and after a JPEG round trip at good and poor quality, and the decoder
 * against every chroma subsampling a camera may send, sizes that do not match, garbage and
 * truncated frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <turbojpeg.h>

#include "devices/frame-code.h"
#include "devices/mjpeg.h"
#include "util.h"

static void make_stamp(uint8_t stamp[FRAME_STAMP_SIZE], uint64_t seq, uint64_t ns, const char *tag) {
        memset(stamp, 0, FRAME_STAMP_SIZE);
        memcpy(stamp, FRAME_STAMP_MAGIC, 8);
        for (unsigned i = 0; i < 8; i++) {
                stamp[8 + i] = (uint8_t) (seq >> (8 * i));
                stamp[16 + i] = (uint8_t) (ns >> (8 * i));
        }
        memcpy(stamp + 24, tag, MIN(strlen(tag), (size_t) 16));
}

/* A busy NV12 picture (gradients and a checkerboard), so that the code has neighbours. */
static uint8_t *make_nv12(uint32_t w, uint32_t h) {
        uint8_t *p = malloc((size_t) w * h * 3 / 2);

        assert_non_null(p);
        for (uint32_t y = 0; y < h; y++)
                for (uint32_t x = 0; x < w; x++)
                        p[(size_t) y * w + x] = (uint8_t) (((x / 8 + y / 8) % 2) ? x * 255 / w : 255 - y * 255 / h);
        for (uint32_t y = 0; y < h / 2; y++)
                for (uint32_t x = 0; x < w; x++)
                        p[(size_t) w * h + (size_t) y * w + x] = (uint8_t) (x % 2 ? 64 + y % 128 : 200 - x % 100);
        return p;
}

static void test_crc32(void **state) {
        assert_int_equal(frame_code_crc32((const uint8_t *) "123456789", 9), 0xcbf43926);
        assert_int_equal(frame_code_crc32(NULL, 0), 0);
}

static void test_code_round_trip(void **state) {
        static const struct {
                uint32_t fourcc, width, height, stride;
        } rows[] = {
                { PIXEL_FORMAT_NV12, 256, 192, 256 },   /* the smallest */
                { PIXEL_FORMAT_NV12, 640, 480, 640 },
                { PIXEL_FORMAT_NV12, 1920, 1080, 1920 },
                { PIXEL_FORMAT_NV12, 1000, 200, 1024 }, /* padded rows, a width not a multiple of 256 */
                { PIXEL_FORMAT_YUYV, 256, 192, 512 },
                { PIXEL_FORMAT_YUYV, 1280, 720, 2560 },
                { PIXEL_FORMAT_YUYV, 642, 480, 1400 },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                uint32_t w = rows[i].width, h = rows[i].height, stride = rows[i].stride;
                size_t size = rows[i].fourcc == PIXEL_FORMAT_NV12 ? (size_t) stride * h * 3 / 2 : (size_t) stride * h;
                _cleanup_free_ uint8_t *pic = malloc(size);
                uint8_t stamp[FRAME_STAMP_SIZE], back[FRAME_STAMP_SIZE];

                assert_non_null(pic);
                for (size_t k = 0; k < size; k++)
                        pic[k] = (uint8_t) (k * 31 + k / 977);
                make_stamp(stamp, 0x0123456789abcdefULL + i, 987654321012345ULL, "front-camera");
                assert_int_equal(frame_code_draw(rows[i].fourcc, w, h, stride, pic, size, stamp), 0);
                assert_int_equal(frame_code_read(rows[i].fourcc, w, h, stride, pic, size, back), 0);
                assert_memory_equal(back, stamp, FRAME_STAMP_SIZE);

                /* The first 40 bytes of row 0 belong to the byte stamp: writing them changes nothing. */
                memset(pic, 0xff, 40);
                assert_int_equal(frame_code_read(rows[i].fourcc, w, h, stride, pic, size, back), 0);

                /* One cell flipped: the CRC catches it. */
                for (uint32_t y = FRAME_CODE_TOP; y < FRAME_CODE_TOP + FRAME_CODE_CELL_HEIGHT; y++)
                        for (uint32_t x = 0; x < (uint32_t) frame_code_cell_width(w, h); x++) {
                                uint8_t *p = pic + (size_t) y * stride + (rows[i].fourcc == PIXEL_FORMAT_YUYV ? 2 * x : x);

                                *p = *p == FRAME_CODE_WHITE ? FRAME_CODE_BLACK : FRAME_CODE_WHITE;
                        }
                assert_int_equal(frame_code_read(rows[i].fourcc, w, h, stride, pic, size, back), -EBADMSG);
        }
}

static void test_code_refusals(void **state) {
        uint8_t pic[640 * 480 * 2] = {}, stamp[FRAME_STAMP_SIZE] = {};

        assert_int_equal(frame_code_cell_width(255, 480), -ERANGE);
        assert_int_equal(frame_code_cell_width(640, 191), -ERANGE);
        assert_int_equal(frame_code_cell_width(1920, 1080), 56);
        assert_int_equal(frame_code_draw(PIXEL_FORMAT_NV12, 254, 480, 254, pic, sizeof pic, stamp), -ERANGE);
        assert_int_equal(frame_code_draw(FOURCC('R', 'G', 'B', '3'), 640, 480, 640, pic, sizeof pic, stamp), -EINVAL);
        assert_int_equal(frame_code_draw(PIXEL_FORMAT_YUYV, 640, 480, 1279, pic, sizeof pic, stamp), -EINVAL);
        assert_int_equal(frame_code_draw(PIXEL_FORMAT_YUYV, 640, 480, 1280, pic, sizeof pic - 1, stamp), -EINVAL);
        assert_int_equal(frame_code_draw(PIXEL_FORMAT_NV12, 640, 479, 640, pic, sizeof pic, stamp), -EINVAL);
        assert_int_equal(frame_code_read(PIXEL_FORMAT_NV12, 640, 480, 640, NULL, sizeof pic, stamp), -EINVAL);
        /* A plain picture holds no code. */
        assert_int_equal(frame_code_read(PIXEL_FORMAT_NV12, 640, 480, 640, pic, sizeof pic, stamp), -EBADMSG);
        memset(pic, 255, sizeof pic);
        assert_int_equal(frame_code_read(PIXEL_FORMAT_NV12, 640, 480, 640, pic, sizeof pic, stamp), -EBADMSG);
}

/* The code survives JPEG at the quality webcams use and at a poor one, at every size. */
static void test_code_through_jpeg(void **state) {
        static const struct {
                uint32_t width, height;
                int quality;
        } rows[] = {
                { 256, 192, 85 }, { 640, 480, 85 }, { 1280, 720, 85 }, { 1920, 1080, 85 },
                { 640, 480, 30 }, { 1920, 1080, 20 }, { 320, 240, 10 },
        };
        _cleanup_(mjpeg_decoder_freep) MjpegDecoder *dec = NULL;

        assert_int_equal(mjpeg_decoder_new(&dec), 0);
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                uint32_t w = rows[i].width, h = rows[i].height;
                _cleanup_(mjpeg_encoder_freep) MjpegEncoder *enc = NULL;
                _cleanup_free_ uint8_t *pic = make_nv12(w, h), *out = malloc((size_t) w * h * 3 / 2);
                uint8_t stamp[FRAME_STAMP_SIZE], back[FRAME_STAMP_SIZE];
                const uint8_t *jpeg;
                size_t size;

                assert_non_null(out);
                make_stamp(stamp, i * 1000003, 123456789ULL * (i + 1), "back-camera");
                assert_int_equal(frame_code_draw(PIXEL_FORMAT_NV12, w, h, w, pic, (size_t) w * h * 3 / 2, stamp), 0);
                assert_int_equal(mjpeg_encoder_new(w, h, rows[i].quality, &enc), 0);
                assert_int_equal(mjpeg_encode_nv12(enc, pic, &jpeg, &size), 0);
                print_message("%ux%u at quality %d: %zu bytes\n", w, h, rows[i].quality, size);
                assert_int_equal(mjpeg_decode_nv12(dec, jpeg, size, w, h, out, (size_t) w * h * 3 / 2), 0);
                assert_int_equal(frame_code_read(PIXEL_FORMAT_NV12, w, h, w, out, (size_t) w * h * 3 / 2, back), 0);
                assert_memory_equal(back, stamp, FRAME_STAMP_SIZE);
        }
}

/* Flat colour quadrants, as RGB, encoded by the library with each subsampling; the decoded
 * NV12 must hold the quadrants' luma and chroma (BT.601 full range, as JPEG uses). */
static void test_decode_subsamplings(void **state) {
        static const int subsamplings[] = { TJSAMP_444, TJSAMP_422, TJSAMP_420, TJSAMP_440, TJSAMP_411, TJSAMP_GRAY };
        static const uint8_t rgb[4][3] = { { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 }, { 128, 128, 128 } };
        const uint32_t w = 320, h = 240;
        _cleanup_(mjpeg_decoder_freep) MjpegDecoder *dec = NULL;
        _cleanup_free_ uint8_t *src = malloc((size_t) w * h * 3), *out = malloc((size_t) w * h * 3 / 2);
        tjhandle enc = tjInitCompress();

        assert_non_null(src);
        assert_non_null(out);
        assert_non_null(enc);
        assert_int_equal(mjpeg_decoder_new(&dec), 0);
        for (uint32_t y = 0; y < h; y++)
                for (uint32_t x = 0; x < w; x++)
                        memcpy(src + ((size_t) y * w + x) * 3, rgb[(y >= h / 2) * 2 + (x >= w / 2)], 3);

        for (size_t s = 0; s < ELEMENTSOF(subsamplings); s++) {
                unsigned char *jpeg = NULL;
                unsigned long size = 0;

                assert_int_equal(tjCompress2(enc, src, (int) w, 0, (int) h, TJPF_RGB, &jpeg, &size, subsamplings[s],
                                             95, 0), 0);
                assert_int_equal(mjpeg_decode_nv12(dec, jpeg, size, w, h, out, (size_t) w * h * 3 / 2), 0);
                for (unsigned q = 0; q < 4; q++) {
                        /* The middle of each quadrant, away from its edges. */
                        uint32_t x = (q % 2) * w / 2 + w / 4, y = (q / 2) * h / 2 + h / 4;
                        const uint8_t *c = rgb[q];
                        double ey = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
                        double eu = 128 - 0.168736 * c[0] - 0.331264 * c[1] + 0.5 * c[2];
                        double ev = 128 + 0.5 * c[0] - 0.418688 * c[1] - 0.081312 * c[2];
                        const uint8_t *uv = out + (size_t) w * h + (size_t) (y / 2) * w + (x & ~1u);

                        if (subsamplings[s] == TJSAMP_GRAY)
                                eu = ev = 128;
                        print_message("subsampling %d quadrant %u: Y %u U %u V %u (expected %.0f %.0f %.0f)\n",
                                      subsamplings[s], q, out[(size_t) y * w + x], uv[0], uv[1], ey, eu, ev);
                        assert_true(abs(out[(size_t) y * w + x] - (int) lround(ey)) <= 3);
                        assert_true(abs(uv[0] - (int) lround(eu)) <= 3);
                        assert_true(abs(uv[1] - (int) lround(ev)) <= 3);
                }
                tjFree(jpeg);
        }
        tjDestroy(enc);
}

static void test_decode_refusals(void **state) {
        const uint32_t w = 320, h = 240;
        _cleanup_(mjpeg_decoder_freep) MjpegDecoder *dec = NULL;
        _cleanup_(mjpeg_encoder_freep) MjpegEncoder *enc = NULL;
        _cleanup_free_ uint8_t *pic = make_nv12(w, h), *out = malloc((size_t) w * h * 3 / 2), *copy = NULL;
        uint8_t garbage[4096];
        const uint8_t *jpeg;
        size_t size, out_size = (size_t) w * h * 3 / 2;
        int r;

        assert_non_null(out);
        assert_int_equal(mjpeg_decoder_new(&dec), 0);
        assert_int_equal(mjpeg_encoder_new(w, h, 85, &enc), 0);
        assert_int_equal(mjpeg_encode_nv12(enc, pic, &jpeg, &size), 0);

        /* Another size than the mode's: no frame of this mode. */
        assert_int_equal(mjpeg_decode_nv12(dec, jpeg, size, 640, 480, out, 640 * 480 * 2), -EBADMSG);
        assert_int_equal(mjpeg_decode_nv12(dec, jpeg, size, w, h, out, out_size - 1), -EINVAL);
        assert_int_equal(mjpeg_decode_nv12(dec, jpeg, size, w + 1, h, out, out_size * 2), -EINVAL);
        assert_int_equal(mjpeg_decode_nv12(dec, jpeg, 10, w, h, out, out_size), -EBADMSG);
        for (size_t i = 0; i < sizeof garbage; i++)
                garbage[i] = (uint8_t) (i * 7 + 3);
        assert_int_equal(mjpeg_decode_nv12(dec, garbage, sizeof garbage, w, h, out, out_size), -EBADMSG);

        /* Cut short, as a USB transfer can be: decoded with the rest grey, or refused. */
        copy = malloc(size);
        assert_non_null(copy);
        memcpy(copy, jpeg, size);
        r = mjpeg_decode_nv12(dec, copy, size / 2, w, h, out, out_size);
        assert_true(r == 1 || r == -EBADMSG);
        /* And the decoder still works after all this. */
        assert_int_equal(mjpeg_decode_nv12(dec, jpeg, size, w, h, out, out_size), 0);

        assert_int_equal(mjpeg_encoder_new(321, 240, 85, &enc), -EINVAL);
        assert_int_equal(mjpeg_encoder_new(320, 240, 0, &enc), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_crc32),
                cmocka_unit_test(test_code_round_trip),
                cmocka_unit_test(test_code_refusals),
                cmocka_unit_test(test_code_through_jpeg),
                cmocka_unit_test(test_decode_subsamplings),
                cmocka_unit_test(test_decode_refusals),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
