/* Crop-and-scale of YUYV and NV12 frames: a plan computed once per (source mode, output format)
 * pair, then run for every frame while copying it into a stream slot. Pure: no fds, no bus. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Output layout, also for odd sizes. The output size is exactly what the constraint engine
 * chose, even when it is odd: chroma is subsampled with ceil(), so an odd YUYV width ends in a
 * macropixel whose second luma sample duplicates the last column, and an odd NV12 width or
 * height gets a last chroma column/row that also covers the padding. The stride is rounded up to
 * an even number of pixels (YUYV: 2 * ceil_even(width) bytes, NV12: ceil_even(width) bytes for
 * both planes) and frame_size = stride * height (+ stride * ceil(height / 2) for the NV12 UV plane,
 * which starts at stride * height). So width, height and stride describe exactly what is in the
 * slot and a reader that honours the stride never sees the padding as a pixel. */
int scale_output_layout(uint32_t fourcc, uint32_t width, uint32_t height,
                        uint32_t *ret_stride, size_t *ret_size);

/* Bytes a source frame of this geometry occupies (NV12: the UV plane follows the Y plane at
 * stride * height). -EINVAL for an unsupported fourcc, odd native sizes or a short stride. */
int scale_source_size(uint32_t fourcc, uint32_t width, uint32_t height, uint32_t stride,
                      size_t *ret_size);

typedef struct ScalePlan ScalePlan;

/* Plan a crop-and-scale from a src_w x src_h frame (rows src_stride bytes apart) to dst_w x dst_h.
 * When the aspect ratios differ the centred region of the source with the destination's aspect
 * ratio is taken, then scaled (nearest neighbour, sampling at pixel centres), as a browser's
 * resizeMode "crop-and-scale" does. No upscaling: dst_w <= src_w, dst_h <= src_h. The source must
 * have an even width (and, for NV12, an even height), as every native mode does.
 * Returns -EINVAL for anything else, -ENOMEM. */
int scale_plan_new(uint32_t fourcc, uint32_t src_w, uint32_t src_h, uint32_t src_stride,
                   uint32_t dst_w, uint32_t dst_h, ScalePlan **ret);
/* The same, converting between YUYV and NV12 on the way (4:2:2 to 4:2:0 takes the chroma of the
 * first row of each pair, 4:2:0 to 4:2:2 repeats each chroma row). A stream keeps the fourcc it
 * was opened with, while ApplyConstraints may move the device to a mode of the other format. */
int scale_plan_new_convert(uint32_t src_fourcc, uint32_t src_w, uint32_t src_h, uint32_t src_stride,
                           uint32_t dst_fourcc, uint32_t dst_w, uint32_t dst_h, ScalePlan **ret);
ScalePlan *scale_plan_free(ScalePlan *p);
static inline void scale_plan_freep(ScalePlan **p) {
        if (*p)
                scale_plan_free(*p);
}

/* Copy one frame from src into dst, scaling while copying (no intermediate buffer). The identity
 * case is a memcpy per row, or a single memcpy when the strides match.
 * -ENOBUFS when src_size or dst_size is too small for the plan; nothing is written then. */
int scale_plan_run(const ScalePlan *p, const uint8_t *src, size_t src_size, uint8_t *dst, size_t dst_size);

size_t scale_plan_dst_size(const ScalePlan *p);
uint32_t scale_plan_dst_stride(const ScalePlan *p);
uint32_t scale_plan_dst_width(const ScalePlan *p);
uint32_t scale_plan_dst_height(const ScalePlan *p);
uint32_t scale_plan_fourcc(const ScalePlan *p); /* of the output */
/* Whether frames of this geometry can be run through the plan (a V4L2 driver may pick another
 * stride than planned, then the owner builds a new plan). */
bool scale_plan_matches_source(const ScalePlan *p, uint32_t fourcc, uint32_t width, uint32_t height,
                               uint32_t stride);
/* The crop the plan takes from the source, in source pixels. */
void scale_plan_get_crop(const ScalePlan *p, uint32_t *ret_x, uint32_t *ret_y, uint32_t *ret_w,
                         uint32_t *ret_h);

/* Fill dst with a black frame of this layout (Y = 16, U = V = 128, BT.601 limited range).
 * -ENOBUFS if dst_size is too small. */
int scale_fill_black(uint32_t fourcc, uint32_t width, uint32_t height, uint8_t *dst, size_t dst_size);
