/* Crop-and-scale of YUYV and NV12 (and between the two): the lookup tables built once per plan
 * and the copy loops that run for every frame straight from the capture buffer into a slot. */
#include "scale.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "util.h"

struct ScalePlan {
        uint32_t src_fourcc, fourcc; /* fourcc: the output's */
        uint32_t src_w, src_h, src_stride;
        size_t src_size;
        uint32_t dst_w, dst_h, dst_stride;
        size_t dst_size;
        uint32_t crop_x, crop_y, crop_w, crop_h;
        bool identity;

        /* Padded output: the width (and for NV12 the height) rounded up to even, so that the
         * loops always handle whole macropixels / chroma pairs. */
        uint32_t pad_w, pad_h;
        /* Byte offsets into a source row: luma of each output column (pad_w entries), the U
         * byte of each output chroma pair (pad_w / 2 entries); V is v_delta bytes after U. */
        uint32_t *luma_x;
        uint32_t *chroma_x;
        unsigned v_delta;
        /* Byte offsets from the start of the source frame: the luma row of each output row
         * (dst_h), and the chroma row of each output chroma row (YUYV output: dst_h, one per
         * row; NV12 output: pad_h / 2). An NV12 source's UV plane offset is folded in. */
        size_t *luma_row;
        size_t *chroma_row;
};

static uint32_t round_up_even(uint32_t v) {
        return v + (v & 1);
}

static bool fourcc_supported(uint32_t fourcc) {
        return fourcc == PIXEL_FORMAT_YUYV || fourcc == PIXEL_FORMAT_NV12;
}

int scale_output_layout(uint32_t fourcc, uint32_t width, uint32_t height,
                        uint32_t *ret_stride, size_t *ret_size) {
        uint64_t stride, size;

        if (!fourcc_supported(fourcc) || width == 0 || height == 0)
                return -EINVAL;
        /* Keep every size comfortably inside 32 bits: the wire format carries them as u32. */
        if (width > 16384 || height > 16384)
                return -EINVAL;

        if (fourcc == PIXEL_FORMAT_YUYV) {
                stride = 2 * (uint64_t) round_up_even(width);
                size = stride * height;
        } else {
                stride = round_up_even(width);
                size = stride * height + stride * ((height + 1) / 2);
        }

        if (ret_stride)
                *ret_stride = (uint32_t) stride;
        if (ret_size)
                *ret_size = (size_t) size;
        return 0;
}

int scale_source_size(uint32_t fourcc, uint32_t width, uint32_t height, uint32_t stride,
                      size_t *ret_size) {
        uint64_t size;

        if (!fourcc_supported(fourcc) || width == 0 || height == 0 || width > 16384 || height > 16384)
                return -EINVAL;
        if (width % 2 != 0)
                return -EINVAL;

        if (fourcc == PIXEL_FORMAT_YUYV) {
                if (stride < 2 * (uint64_t) width)
                        return -EINVAL;
                size = (uint64_t) stride * height;
        } else {
                if (height % 2 != 0 || stride < width)
                        return -EINVAL;
                size = (uint64_t) stride * height + (uint64_t) stride * (height / 2);
        }

        if (ret_size)
                *ret_size = (size_t) size;
        return 0;
}

/* The source coordinate sampled for output coordinate i: the pixel under the centre of the
 * output pixel, mapped into the crop. For the identity this is i itself. */
static uint32_t sample_coordinate(uint32_t i, uint32_t dst_len, uint32_t crop_start, uint32_t crop_len) {
        uint64_t v = ((uint64_t) 2 * i + 1) * crop_len / ((uint64_t) 2 * dst_len);

        return crop_start + (uint32_t) MIN(v, (uint64_t) crop_len - 1);
}

/* The centred region of the source with the destination's aspect ratio. */
static void compute_crop(ScalePlan *p) {
        uint64_t sw = p->src_w, sh = p->src_h, dw = p->dst_w, dh = p->dst_h;

        if (dw * sh > dh * sw) {
                /* Destination is wider: full width, fewer rows. */
                p->crop_w = p->src_w;
                p->crop_h = (uint32_t) CLAMP((sw * dh * 2 + dw) / (2 * dw), dh, sh);
        } else {
                p->crop_h = p->src_h;
                p->crop_w = (uint32_t) CLAMP((sh * dw * 2 + dh) / (2 * dh), dw, sw);
        }
        p->crop_x = (p->src_w - p->crop_w) / 2;
        p->crop_y = (p->src_h - p->crop_h) / 2;
}

/* Where the chroma of source row sy starts: YUYV keeps it in the row, NV12 in the UV plane,
 * one chroma row per two luma rows. */
static size_t source_chroma_row(const ScalePlan *p, uint32_t sy) {
        if (p->src_fourcc == PIXEL_FORMAT_YUYV)
                return (size_t) sy * p->src_stride;
        return (size_t) p->src_stride * p->src_h + (size_t) (sy / 2) * p->src_stride;
}

static int build_tables(ScalePlan *p) {
        bool src_yuyv = p->src_fourcc == PIXEL_FORMAT_YUYV;
        uint32_t chroma_rows = p->fourcc == PIXEL_FORMAT_YUYV ? p->dst_h : p->pad_h / 2;

        p->luma_x = calloc(p->pad_w, sizeof(uint32_t));
        p->chroma_x = calloc(p->pad_w / 2, sizeof(uint32_t));
        p->luma_row = calloc(p->dst_h, sizeof(size_t));
        p->chroma_row = calloc(chroma_rows, sizeof(size_t));
        if (!p->luma_x || !p->chroma_x || !p->luma_row || !p->chroma_row)
                return -ENOMEM;

        /* YUYV: U at byte 1 of the macropixel, V at byte 3; NV12: U at an even byte, V after. */
        p->v_delta = src_yuyv ? 2 : 1;

        for (uint32_t x = 0; x < p->pad_w; x++) {
                /* The padding column of an odd width repeats the last real column. */
                uint32_t sx = sample_coordinate(MIN(x, p->dst_w - 1), p->dst_w, p->crop_x, p->crop_w);

                p->luma_x[x] = src_yuyv ? sx * 2 : sx;
                if (x % 2 == 0)
                        /* Chroma of the pair comes from the source pair holding the left pixel. */
                        p->chroma_x[x / 2] = src_yuyv ? (sx & ~1u) * 2 + 1 : (sx & ~1u);
        }

        for (uint32_t y = 0; y < p->dst_h; y++)
                p->luma_row[y] = (size_t) sample_coordinate(y, p->dst_h, p->crop_y, p->crop_h) * p->src_stride;

        /* Output chroma row j covers output rows j (YUYV) or 2j and 2j + 1 (NV12): sample at the
         * source row of its first output row. */
        for (uint32_t j = 0; j < chroma_rows; j++) {
                uint32_t y = p->fourcc == PIXEL_FORMAT_YUYV ? j : MIN(2 * j, p->dst_h - 1);

                p->chroma_row[j] = source_chroma_row(p, sample_coordinate(y, p->dst_h, p->crop_y, p->crop_h));
        }

        return 0;
}

int scale_plan_new_convert(uint32_t src_fourcc, uint32_t src_w, uint32_t src_h, uint32_t src_stride,
                           uint32_t dst_fourcc, uint32_t dst_w, uint32_t dst_h, ScalePlan **ret) {
        _cleanup_(scale_plan_freep) ScalePlan *p = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        if (dst_w == 0 || dst_h == 0 || dst_w > src_w || dst_h > src_h)
                return -EINVAL;

        p = calloc(1, sizeof(ScalePlan));
        if (!p)
                return -ENOMEM;

        p->src_fourcc = src_fourcc;
        p->fourcc = dst_fourcc;
        p->src_w = src_w;
        p->src_h = src_h;
        p->src_stride = src_stride;
        p->dst_w = dst_w;
        p->dst_h = dst_h;

        r = scale_source_size(src_fourcc, src_w, src_h, src_stride, &p->src_size);
        if (r < 0)
                return r;
        r = scale_output_layout(dst_fourcc, dst_w, dst_h, &p->dst_stride, &p->dst_size);
        if (r < 0)
                return r;

        p->pad_w = round_up_even(dst_w);
        p->pad_h = round_up_even(dst_h);
        p->identity = src_fourcc == dst_fourcc && dst_w == src_w && dst_h == src_h;
        compute_crop(p);

        if (!p->identity) {
                r = build_tables(p);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(p);
        return 0;
}

int scale_plan_new(uint32_t fourcc, uint32_t src_w, uint32_t src_h, uint32_t src_stride,
                   uint32_t dst_w, uint32_t dst_h, ScalePlan **ret) {
        return scale_plan_new_convert(fourcc, src_w, src_h, src_stride, fourcc, dst_w, dst_h, ret);
}

ScalePlan *scale_plan_free(ScalePlan *p) {
        if (!p)
                return NULL;
        free(p->luma_x);
        free(p->chroma_x);
        free(p->luma_row);
        free(p->chroma_row);
        free(p);
        return NULL;
}

static void copy_rows(uint8_t *dst, uint32_t dst_stride, const uint8_t *src, uint32_t src_stride,
                      uint32_t row_bytes, uint32_t rows) {
        if (dst_stride == src_stride) {
                memcpy(dst, src, (size_t) dst_stride * rows);
                return;
        }
        for (uint32_t y = 0; y < rows; y++)
                memcpy(dst + (size_t) y * dst_stride, src + (size_t) y * src_stride, row_bytes);
}

static void run_identity(const ScalePlan *p, const uint8_t *src, uint8_t *dst) {
        if (p->fourcc == PIXEL_FORMAT_YUYV) {
                copy_rows(dst, p->dst_stride, src, p->src_stride, p->dst_stride, p->dst_h);
                return;
        }

        /* NV12: with equal strides the two planes are laid out alike, one memcpy does both. */
        if (p->dst_stride == p->src_stride) {
                memcpy(dst, src, p->dst_size);
                return;
        }
        copy_rows(dst, p->dst_stride, src, p->src_stride, p->dst_w, p->dst_h);
        copy_rows(dst + (size_t) p->dst_stride * p->dst_h, p->dst_stride,
                  src + (size_t) p->src_stride * p->src_h, p->src_stride, p->dst_w, p->dst_h / 2);
}

/* The loops go by the output format; the tables hide the source's layout. */
static void run_to_yuyv(const ScalePlan *p, const uint8_t *src, uint8_t *dst) {
        const uint32_t *lx = p->luma_x, *cx = p->chroma_x;
        uint32_t pairs = p->pad_w / 2;
        unsigned vd = p->v_delta;

        for (uint32_t y = 0; y < p->dst_h; y++) {
                const uint8_t *sl = src + p->luma_row[y], *sc = src + p->chroma_row[y];
                uint8_t *d = dst + (size_t) y * p->dst_stride;

                for (uint32_t i = 0; i < pairs; i++) {
                        d[4 * i + 0] = sl[lx[2 * i]];
                        d[4 * i + 1] = sc[cx[i]];
                        d[4 * i + 2] = sl[lx[2 * i + 1]];
                        d[4 * i + 3] = sc[cx[i] + vd];
                }
        }
}

static void run_to_nv12(const ScalePlan *p, const uint8_t *src, uint8_t *dst) {
        const uint32_t *lx = p->luma_x, *cx = p->chroma_x;
        uint32_t pairs = p->pad_w / 2;
        unsigned vd = p->v_delta;
        uint8_t *uv = dst + (size_t) p->dst_stride * p->dst_h;

        for (uint32_t y = 0; y < p->dst_h; y++) {
                const uint8_t *s = src + p->luma_row[y];
                uint8_t *d = dst + (size_t) y * p->dst_stride;

                for (uint32_t x = 0; x < p->pad_w; x++)
                        d[x] = s[lx[x]];
        }

        for (uint32_t j = 0; j < p->pad_h / 2; j++) {
                const uint8_t *s = src + p->chroma_row[j];
                uint8_t *d = uv + (size_t) j * p->dst_stride;

                for (uint32_t i = 0; i < pairs; i++) {
                        d[2 * i + 0] = s[cx[i]];
                        d[2 * i + 1] = s[cx[i] + vd];
                }
        }
}

int scale_plan_run(const ScalePlan *p, const uint8_t *src, size_t src_size, uint8_t *dst, size_t dst_size) {
        if (!p || !src || !dst)
                return -EINVAL;
        if (src_size < p->src_size || dst_size < p->dst_size)
                return -ENOBUFS;

        if (p->identity)
                run_identity(p, src, dst);
        else if (p->fourcc == PIXEL_FORMAT_YUYV)
                run_to_yuyv(p, src, dst);
        else
                run_to_nv12(p, src, dst);
        return 0;
}

size_t scale_plan_dst_size(const ScalePlan *p) {
        return p->dst_size;
}

uint32_t scale_plan_dst_stride(const ScalePlan *p) {
        return p->dst_stride;
}

uint32_t scale_plan_dst_width(const ScalePlan *p) {
        return p->dst_w;
}

uint32_t scale_plan_dst_height(const ScalePlan *p) {
        return p->dst_h;
}

uint32_t scale_plan_fourcc(const ScalePlan *p) {
        return p->fourcc;
}

bool scale_plan_matches_source(const ScalePlan *p, uint32_t fourcc, uint32_t width, uint32_t height,
                               uint32_t stride) {
        return p->src_fourcc == fourcc && p->src_w == width && p->src_h == height && p->src_stride == stride;
}

void scale_plan_get_crop(const ScalePlan *p, uint32_t *ret_x, uint32_t *ret_y, uint32_t *ret_w,
                         uint32_t *ret_h) {
        if (ret_x)
                *ret_x = p->crop_x;
        if (ret_y)
                *ret_y = p->crop_y;
        if (ret_w)
                *ret_w = p->crop_w;
        if (ret_h)
                *ret_h = p->crop_h;
}

int scale_fill_black(uint32_t fourcc, uint32_t width, uint32_t height, uint8_t *dst, size_t dst_size) {
        uint32_t stride;
        size_t size;
        int r;

        r = scale_output_layout(fourcc, width, height, &stride, &size);
        if (r < 0)
                return r;
        if (!dst || dst_size < size)
                return -ENOBUFS;

        if (fourcc == PIXEL_FORMAT_YUYV) {
                static const uint8_t black[4] = { 16, 128, 16, 128 };

                /* Fill one row, then copy it: a YUYV row is whole macropixels. */
                for (uint32_t i = 0; i < stride; i += 4)
                        memcpy(dst + i, black, 4);
                for (uint32_t y = 1; y < height; y++)
                        memcpy(dst + (size_t) y * stride, dst, stride);
        } else {
                memset(dst, 16, (size_t) stride * height);
                memset(dst + (size_t) stride * height, 128, size - (size_t) stride * height);
        }
        return 0;
}
