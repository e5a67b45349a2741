/* Table tests for the pure parts of the V4L2 backend: which nodes are cameras, frame sizes and
 * intervals (discrete, stepwise, continuous) to native modes, facingMode, planar 4:2:0 to NV12,
 * and the checked open of a device node (reliability 31). Expectations are worked out by hand
 * from the V4L2 rules, not taken from the code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "devices/udev-util.h"
#include "devices/v4l2.h"
#include "util.h"

#define YUYV V4L2_PIX_FMT_YUYV
#define NV12 V4L2_PIX_FMT_NV12
#define YU12 V4L2_PIX_FMT_YUV420
#define YV12 V4L2_PIX_FMT_YVU420
#define MJPG V4L2_PIX_FMT_MJPEG
#define EMU V4L2_FMT_FLAG_EMULATED

/* ---- which nodes are cameras ---- */

static void test_caps_is_camera(void **state) {
        static const struct {
                const char *name;
                uint32_t capabilities, device_caps;
                bool camera;
        } rows[] = {
                { "webcam node", V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING | V4L2_CAP_META_CAPTURE | V4L2_CAP_DEVICE_CAPS,
                  V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING, true },
                { "its metadata node", V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING | V4L2_CAP_META_CAPTURE | V4L2_CAP_DEVICE_CAPS,
                  V4L2_CAP_META_CAPTURE | V4L2_CAP_STREAMING, false },
                { "touch sensor reports video capture", V4L2_CAP_DEVICE_CAPS | V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_TOUCH,
                  V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING | V4L2_CAP_TOUCH, false },
                { "old driver without device_caps", V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING, 0, true },
                { "device_caps ignored without the flag", V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_STREAMING,
                  V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING, false },
                { "read() only", V4L2_CAP_DEVICE_CAPS | V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_READWRITE,
                  V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_READWRITE, false },
                { "multi-planar only", V4L2_CAP_DEVICE_CAPS | V4L2_CAP_VIDEO_CAPTURE_MPLANE | V4L2_CAP_STREAMING,
                  V4L2_CAP_VIDEO_CAPTURE_MPLANE | V4L2_CAP_STREAMING, false },
                { "output node of a device that captures elsewhere",
                  V4L2_CAP_DEVICE_CAPS | V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_STREAMING,
                  V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_STREAMING, false },
                { "nothing", 0, 0, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                print_message("caps: %s\n", rows[i].name);
                assert_int_equal(v4l2_caps_is_camera(rows[i].capabilities, rows[i].device_caps), rows[i].camera);
        }
}

/* ---- frame sizes ---- */

#define DISCRETE(w, h) { .type = V4L2_FRMSIZE_TYPE_DISCRETE, .discrete = { (w), (h) } }
#define STEPWISE(t, minw, maxw, sw, minh, maxh, sh) \
        { .type = (t), .stepwise = { (minw), (maxw), (sw), (minh), (maxh), (sh) } }
#define SIZES_MAX_ROW 32

static void test_expand_frame_sizes(void **state) {
        static const struct {
                const char *name;
                struct v4l2_frmsizeenum in[4];
                size_t n_in;
                V4l2Size out[SIZES_MAX_ROW];
                size_t n_out;
        } rows[] = {
                { "discrete, the driver's order kept",
                  { DISCRETE(640, 480), DISCRETE(320, 240), DISCRETE(1280, 720) }, 3,
                  { { 640, 480 }, { 320, 240 }, { 1280, 720 } }, 3 },
                { "discrete duplicates and zero sizes dropped",
                  { DISCRETE(640, 480), DISCRETE(0, 480), DISCRETE(640, 480), DISCRETE(320, 0) }, 4,
                  { { 640, 480 } }, 1 },
                { "continuous up to VGA: the common sizes inside, ascending by area",
                  { STEPWISE(V4L2_FRMSIZE_TYPE_CONTINUOUS, 1, 640, 1, 1, 480, 1) }, 1,
                  { { 160, 120 }, { 176, 144 }, { 320, 180 }, { 320, 240 }, { 352, 288 }, { 424, 240 },
                    { 640, 360 }, { 640, 480 } }, 8 },
                /* 16..1920 wide and 16..1080 high, both in steps of 16: widths must be multiples
                 * of 16 (424 is not), heights too (120, 180, 360, 540, 600, 900 and 1080 are
                 * not). The largest reachable size is 1920 x (16 + 66 * 16) = 1920 x 1072. */
                { "stepwise: only sizes on the step grid, plus the largest reachable",
                  { STEPWISE(V4L2_FRMSIZE_TYPE_STEPWISE, 16, 1920, 16, 16, 1080, 16) }, 1,
                  { { 176, 144 }, { 320, 240 }, { 352, 288 }, { 640, 480 }, { 800, 448 }, { 848, 480 },
                    { 1024, 576 }, { 1024, 768 }, { 1280, 720 }, { 1280, 800 }, { 1280, 960 }, { 1280, 1024 },
                    { 1920, 1072 } }, 13 },
                { "a range holding no common size still gives its largest size",
                  { STEPWISE(V4L2_FRMSIZE_TYPE_STEPWISE, 100, 130, 10, 50, 70, 10) }, 1,
                  { { 130, 70 } }, 1 },
                { "a range with max below min is dropped",
                  { STEPWISE(V4L2_FRMSIZE_TYPE_STEPWISE, 640, 320, 2, 480, 240, 2) }, 1,
                  {}, 0 },
                { "step 0 read as 1",
                  { STEPWISE(V4L2_FRMSIZE_TYPE_STEPWISE, 320, 352, 0, 240, 288, 0) }, 1,
                  { { 320, 240 }, { 352, 288 } }, 2 },
                { "nothing", {}, 0, {}, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                _cleanup_free_ V4l2Size *out = NULL;
                size_t n = 99;

                print_message("sizes: %s\n", rows[i].name);
                assert_int_equal(v4l2_expand_frame_sizes(rows[i].in, rows[i].n_in, &out, &n), 0);
                assert_int_equal(n, rows[i].n_out);
                for (size_t j = 0; j < n; j++) {
                        assert_int_equal(out[j].width, rows[i].out[j].width);
                        assert_int_equal(out[j].height, rows[i].out[j].height);
                }
                if (n == 0)
                        assert_null(out);
        }
}

static void test_expand_frame_sizes_bounded(void **state) {
        /* A driver listing more discrete sizes than we keep. */
        struct v4l2_frmsizeenum in[V4L2_FRAME_SIZES_MAX + 50];
        _cleanup_free_ V4l2Size *out = NULL;
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(in); i++)
                in[i] = (struct v4l2_frmsizeenum) DISCRETE(16 + 2 * (uint32_t) i, 16);
        assert_int_equal(v4l2_expand_frame_sizes(in, ELEMENTSOF(in), &out, &n), 0);
        assert_int_equal(n, V4L2_FRAME_SIZES_MAX);
        assert_int_equal(out[n - 1].width, 16 + 2 * (V4L2_FRAME_SIZES_MAX - 1));
        assert_int_equal(v4l2_expand_frame_sizes(NULL, 1, &out, &n), -EINVAL);
}

/* ---- frame intervals ---- */

#define IDISCRETE(n, d) { .type = V4L2_FRMIVAL_TYPE_DISCRETE, .discrete = { (n), (d) } }
#define ISTEP(t, n1, d1, n2, d2, n3, d3) \
        { .type = (t), .stepwise = { .min = { (n1), (d1) }, .max = { (n2), (d2) }, .step = { (n3), (d3) } } }

static void test_expand_frame_intervals(void **state) {
        static const struct {
                const char *name;
                struct v4l2_frmivalenum in[4];
                size_t n_in;
                struct v4l2_fract out[16];
                size_t n_out;
        } rows[] = {
                { "discrete as they are", { IDISCRETE(1, 30), IDISCRETE(1, 15), IDISCRETE(1001, 30000) }, 3,
                  { { 1, 30 }, { 1, 15 }, { 1001, 30000 } }, 3 },
                { "equal fractions and zero parts dropped",
                  { IDISCRETE(1, 30), IDISCRETE(2, 60), IDISCRETE(0, 30), IDISCRETE(1, 0) }, 4,
                  { { 1, 30 } }, 1 },
                /* Continuous from 1/60 s to 1 s: the fastest, then every common rate from 60 down
                 * (60 itself is the fastest already; 120 is faster than allowed). */
                { "continuous: fastest first, then the common rates inside",
                  { ISTEP(V4L2_FRMIVAL_TYPE_CONTINUOUS, 1, 60, 1, 1, 1, 1) }, 1,
                  { { 1, 60 }, { 1001, 60000 }, { 1, 50 }, { 1, 30 }, { 1001, 30000 }, { 1, 25 }, { 1, 24 },
                    { 1001, 24000 }, { 1, 20 }, { 1, 15 }, { 1, 10 }, { 1, 5 } }, 12 },
                /* 1/30 + k/30: 1/15 (k=1), 1/10 (k=2), 1/5 (k=5); 1/25, 1/24, 1/20, 29.97 are off
                 * the grid. */
                { "stepwise: only the common rates on the grid",
                  { ISTEP(V4L2_FRMIVAL_TYPE_STEPWISE, 1, 30, 1, 1, 1, 30) }, 1,
                  { { 1, 30 }, { 1, 15 }, { 1, 10 }, { 1, 5 } }, 4 },
                { "a range faster than any common rate keeps its own",
                  { ISTEP(V4L2_FRMIVAL_TYPE_CONTINUOUS, 1, 240, 1, 200, 1, 1) }, 1,
                  { { 1, 240 } }, 1 },
                { "a range with min above max is dropped",
                  { ISTEP(V4L2_FRMIVAL_TYPE_CONTINUOUS, 1, 5, 1, 30, 1, 1) }, 1, {}, 0 },
                { "a stepwise range with a zero step is read as continuous",
                  { ISTEP(V4L2_FRMIVAL_TYPE_STEPWISE, 1, 25, 1, 15, 0, 1) }, 1,
                  { { 1, 25 }, { 1, 24 }, { 1001, 24000 }, { 1, 20 }, { 1, 15 } }, 5 },
                { "nothing", {}, 0, {}, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                _cleanup_free_ struct v4l2_fract *out = NULL;
                size_t n = 99;

                print_message("intervals: %s\n", rows[i].name);
                assert_int_equal(v4l2_expand_frame_intervals(rows[i].in, rows[i].n_in, &out, &n), 0);
                assert_int_equal(n, rows[i].n_out);
                for (size_t j = 0; j < n; j++) {
                        assert_int_equal(out[j].numerator, rows[i].out[j].numerator);
                        assert_int_equal(out[j].denominator, rows[i].out[j].denominator);
                }
        }
}

/* ---- modes ---- */

#define CAND(pf, fl, w, h, num, den) { .pixelformat = (pf), .flags = (fl), .width = (w), .height = (h), \
                                        .interval = { (num), (den) } }

typedef struct ExpectedMode {
        uint32_t width, height;
        double rate;
        uint32_t fourcc, pixelformat, source_fourcc;
} ExpectedMode;

static void test_modes_build(void **state) {
        static const struct {
                const char *name;
                V4l2Candidate in[8];
                size_t n_in;
                ExpectedMode out[8];
                size_t n_out;
        } rows[] = {
                { "YUYV and NV12 as they come",
                  { CAND(YUYV, 0, 640, 480, 1, 30), CAND(NV12, 0, 640, 480, 1, 30), CAND(YUYV, 0, 320, 240, 1, 15) }, 3,
                  { { 640, 480, 30, PIXEL_FORMAT_YUYV, YUYV }, { 640, 480, 30, PIXEL_FORMAT_NV12, NV12 },
                    { 320, 240, 15, PIXEL_FORMAT_YUYV, YUYV } }, 3 },
                /* A webcam: YUYV 1280x720 only at 10 fps, MJPEG at 30 (libv4l2 lists it a second
                 * time as emulated YU12). */
                { "MJPEG fills the gaps of YUYV, decoded into NV12, before libv4l2's conversions",
                  { CAND(YU12, EMU, 1280, 720, 1, 30), CAND(YU12, EMU, 640, 480, 1, 30), CAND(MJPG, 0, 1280, 720, 1, 30),
                    CAND(YUYV, 0, 640, 480, 1, 30), CAND(YUYV, 0, 1280, 720, 1, 10), CAND(MJPG, 0, 640, 480, 1, 30),
                    CAND(YU12, EMU, 320, 240, 1, 30) }, 7,
                  { { 640, 480, 30, PIXEL_FORMAT_YUYV, YUYV }, { 1280, 720, 10, PIXEL_FORMAT_YUYV, YUYV },
                    { 1280, 720, 30, PIXEL_FORMAT_NV12, MJPG, PIXEL_FORMAT_MJPEG },
                    { 320, 240, 30, PIXEL_FORMAT_NV12, YU12 } }, 4 },
                { "a camera that sends only JPEG (JPEG or MJPG)",
                  { CAND(V4L2_PIX_FMT_JPEG, 0, 1920, 1080, 1, 30), CAND(MJPG, 0, 1920, 1080, 1, 30),
                    CAND(MJPG, 0, 1280, 720, 1, 60), CAND(MJPG, 0, 640, 481, 1, 30) }, 4,
                  { { 1920, 1080, 30, PIXEL_FORMAT_NV12, V4L2_PIX_FMT_JPEG, PIXEL_FORMAT_MJPEG },
                    { 1280, 720, 60, PIXEL_FORMAT_NV12, MJPG, PIXEL_FORMAT_MJPEG } }, 2 },
                { "a native YV12 camera is delivered as NV12",
                  { CAND(YV12, 0, 352, 288, 1, 25) }, 1, { { 352, 288, 25, PIXEL_FORMAT_NV12, YV12 } }, 1 },
                { "an emulated NV12 is a conversion, not direct",
                  { CAND(NV12, EMU, 640, 480, 1, 30), CAND(YUYV, 0, 640, 480, 1, 30) }, 2,
                  { { 640, 480, 30, PIXEL_FORMAT_YUYV, YUYV } }, 1 },
                { "the first conversion of a gap wins",
                  { CAND(YU12, EMU, 800, 600, 1, 20), CAND(YV12, EMU, 800, 600, 1, 20) }, 2,
                  { { 800, 600, 20, PIXEL_FORMAT_NV12, YU12 } }, 1 },
                { "odd widths, odd NV12 heights, zero intervals and other formats dropped",
                  { CAND(YUYV, 0, 641, 480, 1, 30), CAND(NV12, 0, 640, 481, 1, 30), CAND(YUYV, 0, 640, 481, 1, 30),
                    CAND(YUYV, 0, 640, 480, 0, 30), CAND(YUYV, 0, 640, 480, 1, 0), CAND(V4L2_PIX_FMT_UYVY, 0, 640, 480, 1, 30),
                    CAND(V4L2_PIX_FMT_RGB24, EMU, 640, 480, 1, 30), CAND(YUYV, 0, 0, 480, 1, 30) }, 8,
                  { { 640, 481, 30, PIXEL_FORMAT_YUYV, YUYV } }, 1 },
                { "exact duplicates dropped, 29.97 and 30 kept apart",
                  { CAND(YUYV, 0, 640, 480, 1, 30), CAND(YUYV, 0, 640, 480, 2, 60), CAND(YUYV, 0, 640, 480, 1001, 30000) }, 3,
                  { { 640, 480, 30, PIXEL_FORMAT_YUYV, YUYV }, { 640, 480, 30000.0 / 1001, PIXEL_FORMAT_YUYV, YUYV } }, 2 },
                { "nothing usable", { CAND(V4L2_PIX_FMT_UYVY, 0, 640, 480, 1, 30), CAND(MJPG, 0, 641, 480, 1, 30) }, 2,
                  {}, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                _cleanup_free_ V4l2Mode *out = NULL;
                size_t n = 99;

                print_message("modes: %s\n", rows[i].name);
                assert_int_equal(v4l2_modes_build(rows[i].in, rows[i].n_in, &out, &n), 0);
                assert_int_equal(n, rows[i].n_out);
                for (size_t j = 0; j < n; j++) {
                        const ExpectedMode *e = &rows[i].out[j];

                        assert_int_equal(out[j].mode.width, e->width);
                        assert_int_equal(out[j].mode.height, e->height);
                        assert_true(out[j].mode.frame_rate > e->rate - 1e-9 && out[j].mode.frame_rate < e->rate + 1e-9);
                        assert_int_equal(out[j].mode.fourcc, e->fourcc);
                        assert_int_equal(out[j].pixelformat, e->pixelformat);
                        assert_int_equal(out[j].mode.source_fourcc, e->source_fourcc);
                        /* the interval set on the camera is the candidate's own */
                        assert_true(out[j].interval.numerator > 0);
                        assert_true((double) out[j].interval.denominator / out[j].interval.numerator > e->rate - 1e-9);
                }
        }
}

static void test_modes_bounded(void **state) {
        V4l2Candidate in[V4L2_MODES_MAX + 40];
        _cleanup_free_ V4l2Mode *out = NULL;
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(in); i++)
                in[i] = (V4l2Candidate) CAND(YUYV, 0, 64 + 2 * (uint32_t) i, 48, 1, 30);
        assert_int_equal(v4l2_modes_build(in, ELEMENTSOF(in), &out, &n), 0);
        assert_int_equal(n, V4L2_MODES_MAX);
        assert_int_equal(out[0].mode.width, 64);
        assert_int_equal(v4l2_modes_build(NULL, 2, &out, &n), -EINVAL);
}

static void test_delivered_fourcc_and_facing(void **state) {
        static const struct {
                uint32_t pixelformat, fourcc;
        } formats[] = {
                { YUYV, PIXEL_FORMAT_YUYV }, { NV12, PIXEL_FORMAT_NV12 }, { YU12, PIXEL_FORMAT_NV12 },
                { YV12, PIXEL_FORMAT_NV12 }, { MJPG, PIXEL_FORMAT_NV12 }, { V4L2_PIX_FMT_JPEG, PIXEL_FORMAT_NV12 },
                { V4L2_PIX_FMT_UYVY, 0 }, { V4L2_PIX_FMT_NV21, 0 },
        };
        static const struct {
                int orientation;
                const char *facing;
        } facings[] = {
                { V4L2_CAMERA_ORIENTATION_FRONT, "user" },
                { V4L2_CAMERA_ORIENTATION_BACK, "environment" },
                { V4L2_CAMERA_ORIENTATION_EXTERNAL, "" },
                { 7, "" },
                { -EINVAL, "" }, /* no such control */
        };

        for (size_t i = 0; i < ELEMENTSOF(formats); i++)
                assert_int_equal(v4l2_delivered_fourcc(formats[i].pixelformat), formats[i].fourcc);
        assert_true(v4l2_pixelformat_is_jpeg(MJPG));
        assert_true(v4l2_pixelformat_is_jpeg(V4L2_PIX_FMT_JPEG));
        assert_false(v4l2_pixelformat_is_jpeg(YU12));
        for (size_t i = 0; i < ELEMENTSOF(facings); i++)
                assert_string_equal(v4l2_facing_mode(facings[i].orientation), facings[i].facing);
}

/* ---- frame layout and conversion ---- */

static void test_frame_min_size(void **state) {
        static const struct {
                uint32_t pixelformat, height, bytesperline;
                size_t size;
        } rows[] = {
                { YUYV, 480, 1280, 614400 },
                { YUYV, 480, 1344, 645120 }, /* padded rows */
                { NV12, 480, 640, 460800 },
                { NV12, 480, 704, 506880 },
                { YU12, 480, 640, 460800 },
                { YV12, 2, 6, 18 },          /* 6*2 + 2 * 3*1 */
                { MJPG, 480, 640, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                assert_int_equal(v4l2_frame_min_size(rows[i].pixelformat, rows[i].height, rows[i].bytesperline),
                                 rows[i].size);
}

static void test_planar_to_nv12(void **state) {
        /* 4x2 with luma rows of 6 bytes (2 of padding), chroma rows of 3 (1 of padding):
         * Y: 1 2 3 4 . . / 5 6 7 8 . . ; first plane 10 20 . ; second plane 30 40 . */
        static const uint8_t src[] = {
                1, 2, 3, 4, 0xEE, 0xEE, 5, 6, 7, 8, 0xEE, 0xEE, 10, 20, 0xEE, 30, 40, 0xEE,
        };
        static const struct {
                const char *name;
                size_t src_size;
                uint32_t width, height, stride;
                bool yvu;
                int r;
                uint8_t out[12];
        } rows[] = {
                { "YU12: U then V", sizeof(src), 4, 2, 6, false, 0, { 1, 2, 3, 4, 5, 6, 7, 8, 10, 30, 20, 40 } },
                { "YV12: V then U", sizeof(src), 4, 2, 6, true, 0, { 1, 2, 3, 4, 5, 6, 7, 8, 30, 10, 40, 20 } },
                { "short buffer", sizeof(src) - 1, 4, 2, 6, false, -EINVAL, {} },
                { "odd width", sizeof(src), 3, 2, 6, false, -EINVAL, {} },
                { "odd height", sizeof(src), 4, 1, 6, false, -EINVAL, {} },
                { "stride below width", sizeof(src), 4, 2, 2, false, -EINVAL, {} },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                uint8_t out[12];

                print_message("nv12: %s\n", rows[i].name);
                memset(out, 0x55, sizeof(out));
                assert_int_equal(v4l2_planar_to_nv12(src, rows[i].src_size, rows[i].width, rows[i].height,
                                                     rows[i].stride, rows[i].yvu, out),
                                 rows[i].r);
                if (rows[i].r == 0)
                        assert_memory_equal(out, rows[i].out, sizeof(out));
        }
}

/* ---- reliability 31: the node must be the device udev named ---- */

static void test_open_node(void **state) {
        char dir[] = "/tmp/test-v4l2-XXXXXX";
        _cleanup_free_ char *link = NULL, *fifo = NULL, *file = NULL, *missing = NULL;
        struct stat st;
        dev_t null_dev;

        assert_non_null(mkdtemp(dir));
        assert_int_equal(stat("/dev/null", &st), 0);
        null_dev = st.st_rdev;
        assert_true(asprintf(&link, "%s/link", dir) > 0);
        assert_true(asprintf(&fifo, "%s/fifo", dir) > 0);
        assert_true(asprintf(&file, "%s/file", dir) > 0);
        assert_true(asprintf(&missing, "%s/missing", dir) > 0);
        assert_int_equal(symlink("/dev/null", link), 0);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        safe_close(open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));

        const struct {
                const char *name, *path;
                dev_t devnum;
                int r; /* 0: an fd */
        } rows[] = {
                { "the device itself", "/dev/null", null_dev, 0 },
                { "another device than udev said", "/dev/null", makedev(81, 0), -ENXIO },
                { "a symlink to the right device", link, null_dev, -ELOOP },
                { "a FIFO (and the open does not hang)", fifo, null_dev, -ENXIO },
                { "a regular file", file, null_dev, -ENXIO },
                { "gone", missing, null_dev, -ENOENT },
                { "no node", "", null_dev, -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                int fd;

                print_message("open: %s\n", rows[i].name);
                fd = udev_open_node(rows[i].path, rows[i].devnum);
                if (rows[i].r == 0) {
                        assert_true(fd >= 0);
                        assert_int_equal(udev_check_node_fd(fd, rows[i].devnum), 0);
                        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
                        assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
                        safe_close(fd);
                } else
                        assert_int_equal(fd, rows[i].r);
        }

        unlink(link);
        unlink(fifo);
        unlink(file);
        rmdir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_caps_is_camera),
                cmocka_unit_test(test_expand_frame_sizes),
                cmocka_unit_test(test_expand_frame_sizes_bounded),
                cmocka_unit_test(test_expand_frame_intervals),
                cmocka_unit_test(test_modes_build),
                cmocka_unit_test(test_modes_bounded),
                cmocka_unit_test(test_delivered_fourcc_and_facing),
                cmocka_unit_test(test_frame_min_size),
                cmocka_unit_test(test_planar_to_nv12),
                cmocka_unit_test(test_open_node),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
