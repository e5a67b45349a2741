/* Reading the frames of a video stream: YUYV and NV12 (with the stride and the odd sizes of
 * mediagate-wire.h's layout) to RGB for snapshots and to planar YUV for Y4M recordings. */
#include <math.h>
#include <stdlib.h>

#include "mediactl.h"

static uint32_t half_up(uint32_t v) {
        return v / 2 + v % 2;
}

static bool format_is(const MgStreamFormat *f, const char *fourcc) {
        return f->video && streq(f->fourcc, fourcc);
}

size_t video_frame_min_size(const MgStreamFormat *f) {
        if (f->width == 0 || f->height == 0)
                return 0;
        if (format_is(f, "YUYV")) {
                if (f->stride < (size_t) half_up(f->width) * 4)
                        return 0;
                return (size_t) f->stride * f->height;
        }
        if (format_is(f, "NV12")) {
                if (f->stride < (size_t) half_up(f->width) * 2)
                        return 0;
                return (size_t) f->stride * (f->height + half_up(f->height));
        }
        return 0;
}

/* BT.601, limited range: what cameras (and the synthetic ones) send. */
static uint8_t clamp_u8(int v) {
        return (uint8_t) CLAMP(v, 0, 255);
}

static void yuv_to_rgb(int y, int u, int v, uint8_t *rgb) {
        int c = 298 * (y - 16), d = u - 128, e = v - 128;

        rgb[0] = clamp_u8((c + 409 * e + 128) >> 8);
        rgb[1] = clamp_u8((c - 100 * d - 208 * e + 128) >> 8);
        rgb[2] = clamp_u8((c + 516 * d + 128) >> 8);
}

int video_frame_to_rgb(const MgStreamFormat *f, const uint8_t *data, size_t bytes, uint8_t *rgb) {
        size_t need = video_frame_min_size(f);

        if (need == 0)
                return -EOPNOTSUPP;
        if (bytes < need)
                return -EBADMSG;

        for (uint32_t y = 0; y < f->height; y++) {
                uint8_t *out = rgb + (size_t) y * f->width * 3;

                if (format_is(f, "YUYV")) {
                        const uint8_t *row = data + (size_t) y * f->stride;

                        for (uint32_t x = 0; x < f->width; x++) {
                                const uint8_t *m = row + (size_t) (x / 2) * 4; /* Y0 U Y1 V */

                                yuv_to_rgb(m[(x % 2) * 2], m[1], m[3], out + (size_t) x * 3);
                        }
                } else {
                        const uint8_t *luma = data + (size_t) y * f->stride;
                        const uint8_t *chroma = data + (size_t) f->stride * f->height + (size_t) (y / 2) * f->stride;

                        for (uint32_t x = 0; x < f->width; x++)
                                yuv_to_rgb(luma[x], chroma[(x / 2) * 2], chroma[(x / 2) * 2 + 1], out + (size_t) x * 3);
                }
        }
        return 0;
}

const char *video_y4m_chroma(const MgStreamFormat *f) {
        if (format_is(f, "YUYV"))
                return "422";
        if (format_is(f, "NV12"))
                return "420";
        return NULL;
}

size_t video_planar_size(const MgStreamFormat *f) {
        size_t luma = (size_t) f->width * f->height;

        if (format_is(f, "YUYV"))
                return luma + 2 * (size_t) half_up(f->width) * f->height;
        if (format_is(f, "NV12"))
                return luma + 2 * (size_t) half_up(f->width) * half_up(f->height);
        return 0;
}

int video_frame_to_planar(const MgStreamFormat *f, const uint8_t *data, size_t bytes, uint8_t *out) {
        size_t need = video_frame_min_size(f);
        uint32_t cw = half_up(f->width), ch;
        uint8_t *py = out, *pu, *pv;

        if (need == 0)
                return -EOPNOTSUPP;
        if (bytes < need)
                return -EBADMSG;

        ch = format_is(f, "YUYV") ? f->height : half_up(f->height);
        pu = py + (size_t) f->width * f->height;
        pv = pu + (size_t) cw * ch;

        if (format_is(f, "YUYV")) {
                for (uint32_t y = 0; y < f->height; y++) {
                        const uint8_t *row = data + (size_t) y * f->stride;

                        for (uint32_t x = 0; x < f->width; x++)
                                *py++ = row[(size_t) (x / 2) * 4 + (x % 2) * 2];
                        for (uint32_t i = 0; i < cw; i++) {
                                *pu++ = row[(size_t) i * 4 + 1];
                                *pv++ = row[(size_t) i * 4 + 3];
                        }
                }
                return 0;
        }

        for (uint32_t y = 0; y < f->height; y++) {
                memcpy(py, data + (size_t) y * f->stride, f->width);
                py += f->width;
        }
        for (uint32_t y = 0; y < ch; y++) {
                const uint8_t *row = data + (size_t) f->stride * f->height + (size_t) y * f->stride;

                for (uint32_t i = 0; i < cw; i++) {
                        *pu++ = row[(size_t) i * 2];
                        *pv++ = row[(size_t) i * 2 + 1];
                }
        }
        return 0;
}

static uint64_t gcd_u64(uint64_t a, uint64_t b) {
        while (b) {
                uint64_t t = a % b;

                a = b;
                b = t;
        }
        return a;
}

void frame_rate_to_fraction(double fps, uint32_t *ret_num, uint32_t *ret_den) {
        uint64_t num, den, g;

        if (!(fps > 0) || fps > 1e6) {
                /* Y4M has no "unknown"; 0:0 is how its writers spell it. */
                *ret_num = *ret_den = 0;
                return;
        }
        if (fabs(fps - round(fps)) < 1e-6) {
                *ret_num = (uint32_t) round(fps);
                *ret_den = 1;
                return;
        }
        /* NTSC rates (29.97 is 30000/1001) are what cameras give besides whole numbers. */
        if (fabs(fps * 1.001 - round(fps * 1.001)) < 1e-3) {
                *ret_num = (uint32_t) round(fps * 1.001) * 1000;
                *ret_den = 1001;
                return;
        }
        num = (uint64_t) llround(fps * 1000);
        den = 1000;
        g = gcd_u64(num, den);
        *ret_num = (uint32_t) (num / g);
        *ret_den = (uint32_t) (den / g);
}
