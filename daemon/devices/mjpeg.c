/* libjpeg-turbo's TurboJPEG API between JPEG frames and NV12 pictures. */
#include "mjpeg.h"

#include <limits.h>
#include <turbojpeg.h>

#include "log.h"

/* libjpeg-turbo caps the scans of a progressive JPEG with TJFLAG_LIMITSCANS (a frame with
 * thousands of scans takes seconds); webcams send baseline JPEG. */
#define DECODE_FLAGS (TJFLAG_FASTDCT | TJFLAG_LIMITSCANS)
#define ENCODE_FLAGS (TJFLAG_FASTDCT | TJFLAG_NOREALLOC)

struct MjpegDecoder {
        tjhandle handle;
        uint8_t *planes;     /* scratch: the chroma planes (and the luma, when it cannot go in place) */
        size_t planes_size;
};

struct MjpegEncoder {
        tjhandle handle;
        uint32_t width, height;
        int quality;
        uint8_t *chroma;     /* the 4:2:2 U and V planes */
        unsigned char *jpeg; /* tjAlloc()ed, tjBufSize() bytes */
        unsigned long jpeg_capacity;
};

int mjpeg_decoder_new(MjpegDecoder **ret) {
        MjpegDecoder *d;

        if (!ret)
                return -EINVAL;
        d = calloc(1, sizeof(MjpegDecoder));
        if (!d)
                return -ENOMEM;
        d->handle = tjInitDecompress();
        if (!d->handle) {
                free(d);
                return -ENOMEM;
        }
        *ret = d;
        return 0;
}

MjpegDecoder *mjpeg_decoder_free(MjpegDecoder *d) {
        if (!d)
                return NULL;
        if (d->handle)
                tjDestroy(d->handle);
        free(d->planes);
        free(d);
        return NULL;
}

static int ensure_scratch(MjpegDecoder *d, size_t size) {
        uint8_t *p;

        if (size <= d->planes_size)
                return 0;
        p = realloc(d->planes, size);
        if (!p)
                return -ENOMEM;
        d->planes = p;
        d->planes_size = size;
        return 0;
}

/* Bring one row of NV12 chroma (x < width / 2) from the camera's chroma planes: each NV12 sample
 * covers 2 x 2 luma pixels; a plane with sub_x luma columns (1, 2 or 4) and sub_y luma rows (1
 * or 2) per sample gives it the average or the sample that covers the same pixels. */
static void chroma_row(uint8_t *dst, const uint8_t *u0, const uint8_t *v0, const uint8_t *u1, const uint8_t *v1,
                       uint32_t half_width, unsigned sub_x) {
        for (uint32_t x = 0; x < half_width; x++) {
                unsigned a, b;

                switch (sub_x) {
                case 1: /* two columns per NV12 sample, and two rows (u1 may equal u0) */
                        a = (unsigned) u0[2 * x] + u0[2 * x + 1] + u1[2 * x] + u1[2 * x + 1];
                        b = (unsigned) v0[2 * x] + v0[2 * x + 1] + v1[2 * x] + v1[2 * x + 1];
                        dst[2 * x] = (uint8_t) ((a + 2) / 4);
                        dst[2 * x + 1] = (uint8_t) ((b + 2) / 4);
                        break;
                case 2:
                        dst[2 * x] = (uint8_t) (((unsigned) u0[x] + u1[x] + 1) / 2);
                        dst[2 * x + 1] = (uint8_t) (((unsigned) v0[x] + v1[x] + 1) / 2);
                        break;
                default: /* 4: one sample covers two NV12 samples */
                        dst[2 * x] = (uint8_t) (((unsigned) u0[x / 2] + u1[x / 2] + 1) / 2);
                        dst[2 * x + 1] = (uint8_t) (((unsigned) v0[x / 2] + v1[x / 2] + 1) / 2);
                        break;
                }
        }
}

static void chroma_to_nv12(uint8_t *uv, const uint8_t *u, const uint8_t *v, uint32_t plane_stride,
                           uint32_t width, uint32_t height, int subsamp) {
        unsigned sub_x = (unsigned) tjMCUWidth[subsamp] / 8, sub_y = (unsigned) tjMCUHeight[subsamp] / 8;

        for (uint32_t y = 0; y < height / 2; y++) {
                /* A plane with a row per luma row gives two rows to average, else one. */
                uint32_t r0 = sub_y == 1 ? 2 * y : y, r1 = sub_y == 1 ? 2 * y + 1 : y;

                chroma_row(uv + (size_t) y * width, u + (size_t) r0 * plane_stride, v + (size_t) r0 * plane_stride,
                           u + (size_t) r1 * plane_stride, v + (size_t) r1 * plane_stride, width / 2, sub_x);
        }
}

int mjpeg_decode_nv12(MjpegDecoder *d, const uint8_t *jpeg, size_t size, uint32_t width, uint32_t height,
                      uint8_t *dst, size_t dst_size) {
        int jw, jh, subsamp, colorspace, luma_w, luma_h, chroma_w, chroma_h;
        unsigned char *planes[3];
        int strides[3];
        bool luma_in_place;
        size_t luma_size, chroma_size;
        int r, damaged = 0;

        if (!d || (!jpeg && size > 0) || !dst || width == 0 || height == 0 || width % 2 || height % 2 ||
            width > INT32_MAX / 4 || height > INT32_MAX / 4 ||
            dst_size < (size_t) width * height + (size_t) width * height / 2)
                return -EINVAL;
        if (size < MJPEG_FRAME_MIN_SIZE || size > ULONG_MAX)
                return -EBADMSG;

        if (tjDecompressHeader3(d->handle, jpeg, (unsigned long) size, &jw, &jh, &subsamp, &colorspace) < 0)
                return -EBADMSG;
        if ((uint32_t) jw != width || (uint32_t) jh != height || subsamp < 0 || subsamp >= TJ_NUMSAMP ||
            (colorspace != TJCS_YCbCr && colorspace != TJCS_GRAY))
                return -EBADMSG;

        luma_w = tjPlaneWidth(0, jw, subsamp);
        luma_h = tjPlaneHeight(0, jh, subsamp);
        chroma_w = subsamp == TJSAMP_GRAY ? 0 : tjPlaneWidth(1, jw, subsamp);
        chroma_h = subsamp == TJSAMP_GRAY ? 0 : tjPlaneHeight(1, jh, subsamp);
        if (luma_w < jw || luma_h < jh || chroma_w < 0 || chroma_h < 0)
                return -EBADMSG;
        /* Luma goes straight into the picture unless the library pads it (4:1:1 pads the width
         * to a multiple of 4). */
        luma_in_place = luma_w == jw && luma_h == jh;
        luma_size = luma_in_place ? 0 : (size_t) luma_w * luma_h;
        chroma_size = (size_t) chroma_w * chroma_h;
        r = ensure_scratch(d, luma_size + 2 * chroma_size);
        if (r < 0)
                return r;

        planes[0] = luma_in_place ? dst : d->planes;
        planes[1] = d->planes + luma_size;
        planes[2] = d->planes + luma_size + chroma_size;
        strides[0] = luma_in_place ? (int) width : luma_w;
        strides[1] = strides[2] = chroma_w;
        if (tjDecompressToYUVPlanes(d->handle, jpeg, (unsigned long) size, planes, jw, strides, jh, DECODE_FLAGS) < 0) {
                if (tjGetErrorCode(d->handle) != TJERR_WARNING) {
                        log_debug("JPEG frame not decoded: %s", tjGetErrorStr2(d->handle));
                        return -EBADMSG;
                }
                damaged = 1;
        }

        if (!luma_in_place)
                for (uint32_t y = 0; y < height; y++)
                        memcpy(dst + (size_t) y * width, planes[0] + (size_t) y * luma_w, width);
        if (subsamp == TJSAMP_GRAY)
                memset(dst + (size_t) width * height, 128, (size_t) width * height / 2);
        else
                chroma_to_nv12(dst + (size_t) width * height, planes[1], planes[2], (uint32_t) chroma_w, width,
                               height, subsamp);
        return damaged;
}

int mjpeg_encoder_new(uint32_t width, uint32_t height, int quality, MjpegEncoder **ret) {
        MjpegEncoder *e;
        unsigned long capacity;

        if (!ret || width == 0 || height == 0 || width % 2 || height % 2 || width > 16384 || height > 16384 ||
            quality < 1 || quality > 100)
                return -EINVAL;
        capacity = tjBufSize((int) width, (int) height, TJSAMP_422);
        if (capacity == (unsigned long) -1)
                return -EINVAL;

        e = calloc(1, sizeof(MjpegEncoder));
        if (!e)
                return -ENOMEM;
        e->width = width;
        e->height = height;
        e->quality = quality;
        e->handle = tjInitCompress();
        e->chroma = malloc((size_t) width * height);
        e->jpeg = tjAlloc((int) capacity);
        e->jpeg_capacity = capacity;
        if (!e->handle || !e->chroma || !e->jpeg) {
                mjpeg_encoder_free(e);
                return -ENOMEM;
        }
        *ret = e;
        return 0;
}

MjpegEncoder *mjpeg_encoder_free(MjpegEncoder *e) {
        if (!e)
                return NULL;
        if (e->handle)
                tjDestroy(e->handle);
        tjFree(e->jpeg);
        free(e->chroma);
        free(e);
        return NULL;
}

int mjpeg_encode_nv12(MjpegEncoder *e, const uint8_t *nv12, const uint8_t **ret_jpeg, size_t *ret_size) {
        uint32_t w, h, cw;
        uint8_t *u, *v;
        const uint8_t *uv;
        const unsigned char *planes[3];
        int strides[3];
        unsigned long size = 0;

        if (!e || !nv12 || !ret_jpeg || !ret_size)
                return -EINVAL;
        w = e->width;
        h = e->height;
        cw = w / 2;
        u = e->chroma;
        v = e->chroma + (size_t) cw * h;
        uv = nv12 + (size_t) w * h;

        /* NV12's chroma rows serve two luma rows each; 4:2:2 has a row per luma row. */
        for (uint32_t y = 0; y < h; y++) {
                const uint8_t *src = uv + (size_t) (y / 2) * w;

                for (uint32_t x = 0; x < cw; x++) {
                        u[(size_t) y * cw + x] = src[2 * x];
                        v[(size_t) y * cw + x] = src[2 * x + 1];
                }
        }

        planes[0] = nv12;
        planes[1] = u;
        planes[2] = v;
        strides[0] = (int) w;
        strides[1] = strides[2] = (int) cw;
        size = e->jpeg_capacity;
        if (tjCompressFromYUVPlanes(e->handle, planes, (int) w, strides, (int) h, TJSAMP_422, &e->jpeg, &size,
                                    e->quality, ENCODE_FLAGS) < 0)
                return log_debug_errno(EIO, "JPEG encoding failed: %s", tjGetErrorStr2(e->handle));
        *ret_jpeg = e->jpeg;
        *ret_size = size;
        return 0;
}
