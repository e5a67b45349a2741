/* The V4L2 camera backend: video4linux capture nodes probed through libv4l2 into native modes,
 * and mmap streaming on the event loop. The pure parts (frame sizes and intervals to modes,
 * capability checks, I420 to NV12) are declared here so that unit tests call them directly. */
#pragma once

#include <linux/videodev2.h>
#include <systemd/sd-device.h>

#include "device.h"

#define V4L2_BACKEND "v4l2" /* Device.backend */

/* Bounds on what a driver may make us enumerate, and on the modes a camera offers: the
 * constraint engine looks at every mode of every candidate for each request. */
#define V4L2_FORMATS_MAX 64
#define V4L2_FRAME_SIZES_MAX 256
#define V4L2_FRAME_INTERVALS_MAX 64
#define V4L2_MODES_MAX 256

/* One native mode and how the backend gets it from the camera. */
typedef struct V4l2Mode {
        VideoMode mode;          /* what the daemon offers: YUYV or NV12 (decoded from MJPEG) */
        uint32_t pixelformat;    /* what libv4l2 is asked for: YUYV, NV12, MJPG or JPEG (passed
                                  * through), YU12 or YV12 */
        struct v4l2_fract interval; /* the frame interval set with VIDIOC_S_PARM */
} V4l2Mode;

/* One (format, size, interval) the camera reports, in enumeration order. */
typedef struct V4l2Candidate {
        uint32_t pixelformat;
        uint32_t flags;          /* V4L2_FMT_FLAG_*, from VIDIOC_ENUM_FMT */
        uint32_t width, height;
        struct v4l2_fract interval;
} V4l2Candidate;

typedef struct V4l2Size {
        uint32_t width, height;
} V4l2Size;

/* A video4linux node is a camera we use: single-planar video capture with streaming I/O (from
 * device_caps when the driver reports them), and not a touch sensor (those report video
 * capture too) or a metadata node. */
bool v4l2_caps_is_camera(uint32_t capabilities, uint32_t device_caps);

/* VIDIOC_ENUM_FRAMESIZES results to concrete sizes. Discrete sizes are taken as they are;
 * a stepwise or continuous range becomes the common sizes (QVGA, VGA, 720p, 1080p, 4K...)
 * it contains on its step grid, plus the largest size it reaches, in ascending order, so that
 * a camera with an arbitrary range still offers a short list of useful modes. Duplicates are
 * dropped; at most V4L2_FRAME_SIZES_MAX. An empty result (n 0, *ret NULL) is not an error. */
int v4l2_expand_frame_sizes(const struct v4l2_frmsizeenum *entries, size_t n_entries,
                            V4l2Size **ret, size_t *ret_n);

/* VIDIOC_ENUM_FRAMEINTERVALS results for one size to intervals. Discrete ones as they are; a
 * stepwise or continuous range becomes the fastest interval it allows followed by the common
 * rates (120, 60, 50, 30, 25, 24, 20, 15, 10, 5 fps, also 1/1.001 of 60, 30 and 24) that lie
 * in it on its step grid, fastest first. Intervals with a zero numerator or denominator are
 * dropped. At most V4L2_FRAME_INTERVALS_MAX. */
int v4l2_expand_frame_intervals(const struct v4l2_frmivalenum *entries, size_t n_entries,
                                struct v4l2_fract **ret, size_t *ret_n);

/* The fourcc the daemon delivers for a camera pixel format: YUYV and NV12 as they are, YU12
 * and YV12 (what libv4l2 converts vendor formats to) and MJPG and JPEG (decoded by the daemon)
 * as NV12; 0 for anything else. */
uint32_t v4l2_delivered_fourcc(uint32_t pixelformat);
/* MJPG or JPEG: frames the daemon decodes itself (mjpeg-stage.h). */
bool v4l2_pixelformat_is_jpeg(uint32_t pixelformat);

/* The native modes from the candidates: only formats v4l2_delivered_fourcc() accepts, only even
 * widths (and even heights for NV12), only positive finite rates. Direct modes (YUYV or NV12
 * from the camera without libv4l2's emulation) keep the camera's order and come first; then the
 * camera's JPEG modes (source_fourcc MJPEG, decoded into NV12 off the event loop), only for a
 * (size, rate) no direct mode has, because the stream layer turns YUYV into NV12 more cheaply
 * than a decode does; then libv4l2's conversions, only where neither left one. So a webcam
 * whose 720p and 1080p come at 30 fps only as MJPEG offers them like any other mode, and where
 * a raw mode and a JPEG one give the same settings, the raw one is the only one offered.
 * Exact duplicates are dropped; at most V4L2_MODES_MAX. */
int v4l2_modes_build(const V4l2Candidate *candidates, size_t n_candidates, V4l2Mode **ret, size_t *ret_n);

/* facingMode from V4L2_CID_CAMERA_ORIENTATION: front is "user", back "environment", anything
 * else (external, unknown, a negative errno for "no such control") "". */
const char *v4l2_facing_mode(int orientation);

/* Convert one planar 4:2:0 frame (YU12, or YV12 with yvu set) to NV12 with stride = width.
 * src_stride is the luma row length in bytes (chroma rows are half of it), as V4L2 lays out
 * YU12 with bytesperline. -EINVAL when src_size is too small, the size is odd or the stride
 * short. dst holds width * height * 3 / 2 bytes. */
int v4l2_planar_to_nv12(const uint8_t *src, size_t src_size, uint32_t width, uint32_t height,
                        uint32_t src_stride, bool yvu, uint8_t *dst);

/* The bytes a frame of this geometry must at least hold. 0 for an unknown format. */
size_t v4l2_frame_min_size(uint32_t pixelformat, uint32_t height, uint32_t bytesperline);

/* Probe a video4linux node that udev or sysfs reported: 0 and a new Device (not in any
 * registry) for a camera; -EOPNOTSUPP for a node that is not a camera we use (no video
 * capture, metadata, touch, multi-planar only, no mode we can deliver); -EBUSY when it could
 * not be probed because another program holds it; other negative errno on failure. */
int v4l2_device_new(sd_device *dev, Device **ret);
