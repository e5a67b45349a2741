/* Crop-and-scale of one 1920x1080 frame to 640x480 (the centred 1440x1080, as a 4:3 stream of a
 * 16:9 camera gets it): the daemon's scale.c against libyuv's ways of doing the same, and a
 * memcpy of the whole source frame as the anchor. CPU time of this thread per frame, the best of
 * five rounds of 100 frames (the machine may be shared).
 *
 *     bench-scale
 *
 * What it decides: which scaler the daemon uses. Lines starting with "RESULT " are for
 * tests/bench/summarize. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libyuv/convert_from.h>
#include <libyuv/planar_functions.h>
#include <libyuv/scale.h>
#include <libyuv/scale_argb.h>

#include "devices/device.h"
#include "scale.h"
#include "util.h"

enum { SW = 1920, SH = 1080, DW = 640, DH = 480, CW = 1440, CX = 240, FRAMES = 100, ROUNDS = 5 };

static uint8_t src[SW * SH * 2], copy[SW * SH * 2], dst[SW * SH * 2];
static uint8_t y422[CW * SH], u422[CW / 2 * SH], v422[CW / 2 * SH];
static uint8_t y2[DW * DH], u2[DW / 2 * DH], v2[DW / 2 * DH];
static ScalePlan *ours_yuyv, *ours_nv12;

static double thread_seconds(void) {
        struct timespec t;

        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

static void run_memcpy(void) {
        memcpy(copy, src, sizeof(copy));
}
static void run_ours_yuyv(void) {
        (void) scale_plan_run(ours_yuyv, src, sizeof(src), dst, sizeof(dst));
}
static void run_ours_nv12(void) {
        (void) scale_plan_run(ours_nv12, src, SW * SH * 3 / 2, dst, sizeof(dst));
}
/* libyuv has no YUY2 scaler: through planar 4:2:2 and back. */
static void run_yuv_yuy2_planar(void) {
        YUY2ToI422(src + CX * 2, SW * 2, y422, CW, u422, CW / 2, v422, CW / 2, CW, SH);
        I422Scale(y422, CW, u422, CW / 2, v422, CW / 2, CW, SH, y2, DW, u2, DW / 2, v2, DW / 2, DW, DH, kFilterNone);
        I422ToYUY2(y2, DW, u2, DW / 2, v2, DW / 2, dst, DW * 2, DW, DH);
}
/* A YUY2 macropixel (Y0 U Y1 V) is four bytes, as an ARGB pixel: scaled as such, luma is sampled
 * in pairs. */
static void run_yuv_macropixel_none(void) {
        ARGBScale(src + CX * 2, SW * 2, CW / 2, SH, dst, DW * 2, DW / 2, DH, kFilterNone);
}
static void run_yuv_macropixel_bilinear(void) {
        ARGBScale(src + CX * 2, SW * 2, CW / 2, SH, dst, DW * 2, DW / 2, DH, kFilterBilinear);
}
static void run_yuv_nv12_none(void) {
        NV12Scale(src + CX, SW, src + SW * SH + CX, SW, CW, SH, dst, DW, dst + DW * DH, DW, DW, DH, kFilterNone);
}
static void run_yuv_nv12_bilinear(void) {
        NV12Scale(src + CX, SW, src + SW * SH + CX, SW, CW, SH, dst, DW, dst + DW * DH, DW, DW, DH, kFilterBilinear);
}

static double measure(void (*fn)(void)) {
        double best = 1e9;

        for (int r = 0; r < ROUNDS; r++) {
                double t0 = thread_seconds();

                for (int i = 0; i < FRAMES; i++) {
                        fn();
                        __asm__ volatile("" : : "r"(dst), "r"(copy) : "memory");
                }
                best = MIN(best, (thread_seconds() - t0) / FRAMES);
        }
        return best * 1e3;
}

int main(void) {
        static const struct {
                const char *what, *key;
                void (*fn)(void);
        } rows[] = {
                { "memcpy of the 1080p YUYV source (anchor)", "memcpy", run_memcpy },
                { "scale.c YUYV, per-pixel nearest (the daemon's)", "ours_yuyv", run_ours_yuyv },
                { "libyuv YUY2 -> I422 -> I422Scale(none) -> YUY2", "libyuv_yuy2_planar", run_yuv_yuy2_planar },
                { "libyuv ARGBScale on macropixels, none (luma in pairs)", "libyuv_macropixel_none",
                  run_yuv_macropixel_none },
                { "libyuv ARGBScale on macropixels, bilinear", "libyuv_macropixel_bilinear",
                  run_yuv_macropixel_bilinear },
                { "scale.c NV12, per-pixel nearest (the daemon's)", "ours_nv12", run_ours_nv12 },
                { "libyuv NV12Scale, none", "libyuv_nv12_none", run_yuv_nv12_none },
                { "libyuv NV12Scale, bilinear", "libyuv_nv12_bilinear", run_yuv_nv12_bilinear },
        };

        for (size_t i = 0; i < sizeof(src); i++)
                src[i] = (uint8_t) (i * 7 + (i >> 11));
        memset(dst, 0, sizeof(dst)); /* no first-touch page faults in the loops */
        memset(copy, 0, sizeof(copy));
        if (scale_plan_new(PIXEL_FORMAT_YUYV, SW, SH, SW * 2, DW, DH, &ours_yuyv) < 0 ||
            scale_plan_new(PIXEL_FORMAT_NV12, SW, SH, SW, DW, DH, &ours_nv12) < 0) {
                fprintf(stderr, "bench-scale: no plan\n");
                return EXIT_FAILURE;
        }

        printf("  1920x1080 -> 640x480 (centred 1440x1080), CPU ms a frame, best of %d x %d frames:\n", ROUNDS,
               FRAMES);
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                double ms = measure(rows[i].fn);

                printf("    %-56s %7.3f ms\n", rows[i].what, ms);
                printf("RESULT scale_%s_ms=%.4f\n", rows[i].key, ms);
        }
        scale_plan_free(ours_yuyv);
        scale_plan_free(ours_nv12);
        return EXIT_SUCCESS;
}
