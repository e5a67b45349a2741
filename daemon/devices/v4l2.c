/* The V4L2 camera backend: probing video4linux nodes through libv4l2 into native modes, and
 * streaming capture driven by the node's fd on the registry's event loop: straight into the
 * streams' pools (USERPTR) where the camera's format is what streams get, else mmap. */
#include "v4l2.h"

#include <libv4l2.h>
#include <math.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#include "log.h"
#include "mjpeg-stage.h"
#include "sanitize.h"
#include "udev-util.h"
#include "util.h"

/* Enough to keep the driver busy while one frame is with the consumer, few enough that a
 * 4K mode does not pin much memory. */
#define V4L2_CAPTURE_BUFFERS 4

typedef struct V4l2Buffer {
        void *start;  /* where the driver writes: the mmap'ed buffer, or for USERPTR a lent slot or `own` */
        size_t length;
        /* USERPTR only */
        void *own;          /* our buffer, for when no slot is lent */
        DeviceBuffer lent;  /* the slot lent for this queueing, when is_lent */
        bool is_lent;
        bool queued;
} V4l2Buffer;

typedef struct V4l2Device {
        dev_t devnum;
        V4l2Mode *modes; /* parallel to Device.modes */
        size_t n_modes;

        /* The capture; valid while the device captures. */
        int fd; /* through libv4l2: closed with v4l2_close() */
        sd_event_source *io;
        V4l2Buffer *buffers;
        size_t n_buffers;
        bool streaming;
        /* Capture into the streams' pools: buffers are user memory, each queueing with a slot
         * the consumer lends (or our own buffer when it lends none). */
        bool userptr;
        sd_event_source *restart; /* queues every buffer and streams again after return_lent */
        uint32_t pixelformat;  /* what the camera (or libv4l2) delivers */
        uint32_t bytesperline;
        uint32_t sizeimage;
        uint8_t *converted;    /* NV12 made from YU12/YV12 */
        size_t converted_size;
        MjpegStage *mjpeg;     /* decodes the frames of a JPEG mode off the event loop */
        uint64_t sequence;
        uint64_t generation;   /* bumped on stop, so a handler outliving its capture can tell */
} V4l2Device;

/* ---- pure parts ---- */

bool v4l2_caps_is_camera(uint32_t capabilities, uint32_t device_caps) {
        /* capabilities describes the whole physical device (all its nodes); device_caps this
         * node, when the driver is new enough to say. */
        uint32_t caps = capabilities & V4L2_CAP_DEVICE_CAPS ? device_caps : capabilities;

        if (!(caps & V4L2_CAP_VIDEO_CAPTURE) || !(caps & V4L2_CAP_STREAMING))
                return false;
        if (caps & (V4L2_CAP_TOUCH | V4L2_CAP_META_CAPTURE))
                return false;
        return true;
}

static const V4l2Size common_sizes[] = {
        { 160, 120 },   { 176, 144 },   { 320, 180 },   { 320, 240 },   { 352, 288 },
        { 424, 240 },   { 640, 360 },   { 640, 480 },   { 800, 448 },   { 800, 600 },
        { 848, 480 },   { 960, 540 },   { 1024, 576 },  { 1024, 768 },  { 1280, 720 },
        { 1280, 800 },  { 1280, 960 },  { 1280, 1024 }, { 1600, 900 },  { 1600, 1200 },
        { 1920, 1080 }, { 1920, 1200 }, { 2560, 1440 }, { 2592, 1944 }, { 3840, 2160 },
        { 4096, 2160 },
};

static bool size_on_grid(uint32_t v, uint32_t min, uint32_t max, uint32_t step) {
        if (v < min || v > max)
                return false;
        return step <= 1 || (v - min) % step == 0;
}

static bool sizes_contain(const V4l2Size *sizes, size_t n, uint32_t w, uint32_t h) {
        for (size_t i = 0; i < n; i++)
                if (sizes[i].width == w && sizes[i].height == h)
                        return true;
        return false;
}

static int compare_size(const void *a, const void *b) {
        const V4l2Size *x = a, *y = b;
        uint64_t ax = (uint64_t) x->width * x->height, ay = (uint64_t) y->width * y->height;

        if (ax != ay)
                return ax < ay ? -1 : 1;
        if (x->width != y->width)
                return x->width < y->width ? -1 : 1;
        return 0;
}

int v4l2_expand_frame_sizes(const struct v4l2_frmsizeenum *entries, size_t n_entries,
                            V4l2Size **ret, size_t *ret_n) {
        _cleanup_free_ V4l2Size *sizes = NULL;
        size_t n = 0;

        if ((!entries && n_entries > 0) || !ret || !ret_n)
                return -EINVAL;

        sizes = calloc(V4L2_FRAME_SIZES_MAX, sizeof(V4l2Size));
        if (!sizes)
                return -ENOMEM;

        for (size_t i = 0; i < n_entries && n < V4L2_FRAME_SIZES_MAX; i++) {
                const struct v4l2_frmsizeenum *e = entries + i;

                if (e->type == V4L2_FRMSIZE_TYPE_DISCRETE) {
                        uint32_t w = e->discrete.width, h = e->discrete.height;

                        if (w > 0 && h > 0 && !sizes_contain(sizes, n, w, h))
                                sizes[n++] = (V4l2Size) { w, h };
                        continue;
                }
                if (e->type != V4L2_FRMSIZE_TYPE_STEPWISE && e->type != V4L2_FRMSIZE_TYPE_CONTINUOUS)
                        continue;

                const struct v4l2_frmsize_stepwise *s = &e->stepwise;
                uint32_t step_w = e->type == V4L2_FRMSIZE_TYPE_CONTINUOUS ? 1 : MAX(s->step_width, 1u);
                uint32_t step_h = e->type == V4L2_FRMSIZE_TYPE_CONTINUOUS ? 1 : MAX(s->step_height, 1u);
                size_t first = n;
                uint32_t max_w, max_h;

                if (s->max_width < s->min_width || s->max_height < s->min_height || s->max_width == 0 ||
                    s->max_height == 0)
                        continue;

                for (size_t j = 0; j < ELEMENTSOF(common_sizes) && n < V4L2_FRAME_SIZES_MAX; j++) {
                        uint32_t w = common_sizes[j].width, h = common_sizes[j].height;

                        if (size_on_grid(w, s->min_width, s->max_width, step_w) &&
                            size_on_grid(h, s->min_height, s->max_height, step_h) &&
                            !sizes_contain(sizes, n, w, h))
                                sizes[n++] = (V4l2Size) { w, h };
                }

                /* The largest size the grid reaches: the camera's full field of view. */
                max_w = s->min_width + (s->max_width - s->min_width) / step_w * step_w;
                max_h = s->min_height + (s->max_height - s->min_height) / step_h * step_h;
                if (n < V4L2_FRAME_SIZES_MAX && max_w > 0 && max_h > 0 && !sizes_contain(sizes, n, max_w, max_h))
                        sizes[n++] = (V4l2Size) { max_w, max_h };

                qsort(sizes + first, n - first, sizeof(V4l2Size), compare_size);
        }

        if (n == 0) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        *ret = TAKE_PTR(sizes);
        *ret_n = n;
        return 0;
}

/* a/b compared with c/d, for positive fractions of 32-bit parts. */
static int fract_compare(struct v4l2_fract x, struct v4l2_fract y) {
        uint64_t l = (uint64_t) x.numerator * y.denominator, r = (uint64_t) y.numerator * x.denominator;

        return l < r ? -1 : l > r ? 1 : 0;
}

static bool fract_valid(struct v4l2_fract f) {
        return f.numerator > 0 && f.denominator > 0;
}

/* iv = min + k * step for a whole k >= 0 (iv >= min is checked by the caller). */
static bool interval_on_grid(struct v4l2_fract iv, struct v4l2_fract min, struct v4l2_fract step) {
        /* iv - min = (a*d - c*b) / (b*d); divided by e/f: (a*d - c*b) * f / (b*d*e). */
        unsigned __int128 a = iv.numerator, b = iv.denominator, c = min.numerator, d = min.denominator,
                          e = step.numerator, f = step.denominator;
        unsigned __int128 num = (a * d - c * b) * f, den = b * d * e;

        return den == 0 || num % den == 0;
}

static bool intervals_contain(const struct v4l2_fract *l, size_t n, struct v4l2_fract f) {
        for (size_t i = 0; i < n; i++)
                if (fract_compare(l[i], f) == 0)
                        return true;
        return false;
}

/* Common rates as frame intervals, fastest first. */
static const struct v4l2_fract common_intervals[] = {
        { 1, 120 }, { 1, 60 }, { 1001, 60000 }, { 1, 50 }, { 1, 30 }, { 1001, 30000 }, { 1, 25 },
        { 1, 24 },  { 1001, 24000 }, { 1, 20 }, { 1, 15 }, { 1, 10 }, { 1, 5 },
};

int v4l2_expand_frame_intervals(const struct v4l2_frmivalenum *entries, size_t n_entries,
                                struct v4l2_fract **ret, size_t *ret_n) {
        _cleanup_free_ struct v4l2_fract *l = NULL;
        size_t n = 0;

        if ((!entries && n_entries > 0) || !ret || !ret_n)
                return -EINVAL;

        l = calloc(V4L2_FRAME_INTERVALS_MAX, sizeof(struct v4l2_fract));
        if (!l)
                return -ENOMEM;

        for (size_t i = 0; i < n_entries && n < V4L2_FRAME_INTERVALS_MAX; i++) {
                const struct v4l2_frmivalenum *e = entries + i;

                if (e->type == V4L2_FRMIVAL_TYPE_DISCRETE) {
                        if (fract_valid(e->discrete) && !intervals_contain(l, n, e->discrete))
                                l[n++] = e->discrete;
                        continue;
                }
                if (e->type != V4L2_FRMIVAL_TYPE_STEPWISE && e->type != V4L2_FRMIVAL_TYPE_CONTINUOUS)
                        continue;

                const struct v4l2_frmival_stepwise *s = &e->stepwise;
                bool grid = e->type == V4L2_FRMIVAL_TYPE_STEPWISE && fract_valid(s->step);

                if (!fract_valid(s->min) || !fract_valid(s->max) || fract_compare(s->min, s->max) > 0)
                        continue;

                if (!intervals_contain(l, n, s->min))
                        l[n++] = s->min;
                for (size_t j = 0; j < ELEMENTSOF(common_intervals) && n < V4L2_FRAME_INTERVALS_MAX; j++) {
                        struct v4l2_fract iv = common_intervals[j];

                        if (fract_compare(iv, s->min) < 0 || fract_compare(iv, s->max) > 0)
                                continue;
                        if (grid && !interval_on_grid(iv, s->min, s->step))
                                continue;
                        if (!intervals_contain(l, n, iv))
                                l[n++] = iv;
                }
        }

        if (n == 0) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

uint32_t v4l2_delivered_fourcc(uint32_t pixelformat) {
        switch (pixelformat) {
        case V4L2_PIX_FMT_YUYV:
                return PIXEL_FORMAT_YUYV;
        case V4L2_PIX_FMT_NV12:
        case V4L2_PIX_FMT_YUV420:
        case V4L2_PIX_FMT_YVU420:
        case V4L2_PIX_FMT_MJPEG:
        case V4L2_PIX_FMT_JPEG:
                return PIXEL_FORMAT_NV12;
        default:
                return 0;
        }
}

bool v4l2_pixelformat_is_jpeg(uint32_t pixelformat) {
        return pixelformat == V4L2_PIX_FMT_MJPEG || pixelformat == V4L2_PIX_FMT_JPEG;
}

/* Which pass of v4l2_modes_build() takes a candidate: 0 what the camera gives as it is, 1 its
 * JPEG frames (decoded by mjpeg-stage.c), 2 what libv4l2 converts. */
static int candidate_pass(const V4l2Candidate *c) {
        if (c->flags & V4L2_FMT_FLAG_EMULATED)
                return 2;
        if (c->pixelformat == V4L2_PIX_FMT_YUYV || c->pixelformat == V4L2_PIX_FMT_NV12)
                return 0;
        if (v4l2_pixelformat_is_jpeg(c->pixelformat))
                return 1;
        return 2;
}

static bool same_rate(double a, double b) {
        return fabs(a - b) < 1e-6;
}

int v4l2_modes_build(const V4l2Candidate *candidates, size_t n_candidates, V4l2Mode **ret, size_t *ret_n) {
        _cleanup_free_ V4l2Mode *modes = NULL;
        size_t n = 0;

        if ((!candidates && n_candidates > 0) || !ret || !ret_n)
                return -EINVAL;

        modes = calloc(V4L2_MODES_MAX, sizeof(V4l2Mode));
        if (!modes)
                return -ENOMEM;

        /* Pass 0: what the camera gives as it is. Pass 1: its JPEG frames, which the daemon
         * decodes off the event loop, only where pass 0 left a gap. Pass 2: what libv4l2
         * converts (on the loop), only where both left one. */
        for (int pass = 0; pass < 3; pass++)
                for (size_t i = 0; i < n_candidates && n < V4L2_MODES_MAX; i++) {
                        const V4l2Candidate *c = candidates + i;
                        uint32_t fourcc = v4l2_delivered_fourcc(c->pixelformat);
                        double rate;
                        bool taken = false;

                        if (candidate_pass(c) != pass || fourcc == 0)
                                continue;
                        if (c->width == 0 || c->height == 0 || c->width % 2 != 0 ||
                            (fourcc == PIXEL_FORMAT_NV12 && c->height % 2 != 0))
                                continue;
                        if (!fract_valid(c->interval))
                                continue;
                        rate = (double) c->interval.denominator / (double) c->interval.numerator;

                        for (size_t j = 0; j < n && !taken; j++)
                                taken = modes[j].mode.width == c->width && modes[j].mode.height == c->height &&
                                        same_rate(modes[j].mode.frame_rate, rate) &&
                                        (pass > 0 || modes[j].mode.fourcc == fourcc);
                        if (taken)
                                continue;

                        modes[n++] = (V4l2Mode) {
                                .mode = {
                                        .width = c->width,
                                        .height = c->height,
                                        .frame_rate = rate,
                                        .fourcc = fourcc,
                                        .source_fourcc = pass == 1 ? PIXEL_FORMAT_MJPEG : 0,
                                },
                                .pixelformat = c->pixelformat,
                                .interval = c->interval,
                        };
                }

        if (n == 0) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        *ret = TAKE_PTR(modes);
        *ret_n = n;
        return 0;
}

const char *v4l2_facing_mode(int orientation) {
        switch (orientation) {
        case V4L2_CAMERA_ORIENTATION_FRONT:
                return "user";
        case V4L2_CAMERA_ORIENTATION_BACK:
                return "environment";
        default:
                /* External cameras, and cameras that do not say: the spec's "". */
                return "";
        }
}

size_t v4l2_frame_min_size(uint32_t pixelformat, uint32_t height, uint32_t bytesperline) {
        size_t luma = (size_t) bytesperline * height;

        switch (pixelformat) {
        case V4L2_PIX_FMT_YUYV:
                return luma;
        case V4L2_PIX_FMT_NV12:
                return luma + (size_t) bytesperline * (height / 2);
        case V4L2_PIX_FMT_YUV420:
        case V4L2_PIX_FMT_YVU420:
                return luma + 2 * (size_t) (bytesperline / 2) * (height / 2);
        default:
                return 0;
        }
}

int v4l2_planar_to_nv12(const uint8_t *src, size_t src_size, uint32_t width, uint32_t height,
                        uint32_t src_stride, bool yvu, uint8_t *dst) {
        uint32_t chroma_stride = src_stride / 2, cw = width / 2, ch = height / 2;
        const uint8_t *u, *v;
        uint8_t *uv;

        if (!src || !dst || width == 0 || height == 0 || width % 2 != 0 || height % 2 != 0 ||
            src_stride < width || src_stride % 2 != 0)
                return -EINVAL;
        if (src_size < v4l2_frame_min_size(V4L2_PIX_FMT_YUV420, height, src_stride))
                return -EINVAL;

        for (uint32_t y = 0; y < height; y++)
                memcpy(dst + (size_t) y * width, src + (size_t) y * src_stride, width);

        u = src + (size_t) src_stride * height;
        v = u + (size_t) chroma_stride * ch;
        if (yvu) {
                const uint8_t *t = u;
                u = v;
                v = t;
        }
        uv = dst + (size_t) width * height;
        for (uint32_t y = 0; y < ch; y++) {
                const uint8_t *ur = u + (size_t) y * chroma_stride, *vr = v + (size_t) y * chroma_stride;
                uint8_t *o = uv + (size_t) y * width;

                for (uint32_t x = 0; x < cw; x++) {
                        o[2 * x] = ur[x];
                        o[2 * x + 1] = vr[x];
                }
        }
        return 0;
}

/* ---- hardware: probing ---- */

static int xioctl(int fd, unsigned long request, void *arg) {
        int r;

        do
                r = v4l2_ioctl(fd, request, arg);
        while (r < 0 && errno == EINTR);
        return r < 0 ? -errno : r;
}

/* Close an fd libv4l2 has taken over, keeping errno. */
/* The driver's own ioctl, past libv4l2: for USERPTR streaming, which libv4l2 refuses even when
 * it converts nothing (user_buffers() makes sure it does not). */
static int raw_ioctl(int fd, unsigned long request, void *arg) {
        int r;

        do
                r = ioctl(fd, request, arg);
        while (r < 0 && errno == EINTR);
        return r < 0 ? -errno : r;
}

static int v4l2_safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;

                v4l2_close(fd);
                errno = saved;
        }
        return -1;
}

static void v4l2_closep(int *fd) {
        v4l2_safe_close(*fd);
}

/* Open the node checked, and hand it to libv4l2 with format emulation, so that formats the
 * camera only gives as MJPEG (or a vendor format) are enumerated and delivered decoded. */
static int open_camera(const char *node, dev_t devnum) {
        int fd, r;

        fd = udev_open_node(node, devnum);
        if (fd < 0)
                return fd;
        r = v4l2_fd_open(fd, V4L2_ENABLE_ENUM_FMT_EMULATION);
        if (r < 0) {
                r = -errno;
                safe_close(fd);
                return r < 0 ? r : -EIO;
        }
        return fd;
}

static int enum_intervals(int fd, uint32_t pixelformat, uint32_t width, uint32_t height,
                          struct v4l2_fract **ret, size_t *ret_n) {
        struct v4l2_frmivalenum entries[V4L2_FRAME_INTERVALS_MAX];
        size_t n = 0;

        for (; n < ELEMENTSOF(entries); n++) {
                entries[n] = (struct v4l2_frmivalenum) {
                        .index = (uint32_t) n,
                        .pixel_format = pixelformat,
                        .width = width,
                        .height = height,
                };
                if (xioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, entries + n) < 0)
                        break;
                if (entries[n].type != V4L2_FRMIVAL_TYPE_DISCRETE) {
                        n++; /* a range comes alone, at index 0 */
                        break;
                }
        }

        if (n == 0) {
                /* A driver without ENUM_FRAMEINTERVALS runs at whatever rate it is set to. */
                struct v4l2_streamparm parm = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };

                if (xioctl(fd, VIDIOC_G_PARM, &parm) >= 0 && fract_valid(parm.parm.capture.timeperframe)) {
                        entries[0] = (struct v4l2_frmivalenum) {
                                .type = V4L2_FRMIVAL_TYPE_DISCRETE,
                                .discrete = parm.parm.capture.timeperframe,
                        };
                        n = 1;
                }
        }
        return v4l2_expand_frame_intervals(entries, n, ret, ret_n);
}

static int enum_sizes(int fd, uint32_t pixelformat, V4l2Size **ret, size_t *ret_n) {
        struct v4l2_frmsizeenum entries[V4L2_FRAME_SIZES_MAX];
        size_t n = 0;

        for (; n < ELEMENTSOF(entries); n++) {
                entries[n] = (struct v4l2_frmsizeenum) { .index = (uint32_t) n, .pixel_format = pixelformat };
                if (xioctl(fd, VIDIOC_ENUM_FRAMESIZES, entries + n) < 0)
                        break;
                if (entries[n].type != V4L2_FRMSIZE_TYPE_DISCRETE) {
                        n++;
                        break;
                }
        }

        if (n == 0) {
                /* No ENUM_FRAMESIZES: the size it is set to is the one we know works. */
                struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };

                if (xioctl(fd, VIDIOC_G_FMT, &f) >= 0 && f.fmt.pix.pixelformat == pixelformat) {
                        entries[0] = (struct v4l2_frmsizeenum) {
                                .type = V4L2_FRMSIZE_TYPE_DISCRETE,
                                .discrete = { f.fmt.pix.width, f.fmt.pix.height },
                        };
                        n = 1;
                }
        }
        return v4l2_expand_frame_sizes(entries, n, ret, ret_n);
}

static int probe_modes(int fd, V4l2Mode **ret, size_t *ret_n) {
        _cleanup_free_ V4l2Candidate *candidates = NULL;
        size_t n = 0, allocated = 0;
        int r;

        for (uint32_t i = 0; i < V4L2_FORMATS_MAX; i++) {
                struct v4l2_fmtdesc desc = { .index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
                _cleanup_free_ V4l2Size *sizes = NULL;
                size_t n_sizes = 0;

                if (xioctl(fd, VIDIOC_ENUM_FMT, &desc) < 0)
                        break;
                /* Only formats we deliver: a camera's MJPEG shows up here a second time as
                 * libv4l2's emulated YU12. */
                if (v4l2_delivered_fourcc(desc.pixelformat) == 0)
                        continue;

                r = enum_sizes(fd, desc.pixelformat, &sizes, &n_sizes);
                if (r < 0)
                        return r;

                for (size_t s = 0; s < n_sizes; s++) {
                        _cleanup_free_ struct v4l2_fract *intervals = NULL;
                        size_t n_intervals = 0;

                        r = enum_intervals(fd, desc.pixelformat, sizes[s].width, sizes[s].height, &intervals,
                                           &n_intervals);
                        if (r < 0)
                                return r;

                        for (size_t k = 0; k < n_intervals; k++) {
                                if (n == allocated) {
                                        size_t m = MAX(allocated * 2, (size_t) 64);
                                        V4l2Candidate *grown;

                                        /* Far more than V4L2_MODES_MAX can come of it anyway. */
                                        if (m > 8 * V4L2_MODES_MAX)
                                                goto done;
                                        grown = reallocarray(candidates, m, sizeof(V4l2Candidate));
                                        if (!grown)
                                                return -ENOMEM;
                                        candidates = grown;
                                        allocated = m;
                                }
                                candidates[n++] = (V4l2Candidate) {
                                        .pixelformat = desc.pixelformat,
                                        .flags = desc.flags,
                                        .width = sizes[s].width,
                                        .height = sizes[s].height,
                                        .interval = intervals[k],
                                };
                        }
                }
        }
done:
        return v4l2_modes_build(candidates, n, ret, ret_n);
}

static int read_orientation(int fd) {
        struct v4l2_control c = { .id = V4L2_CID_CAMERA_ORIENTATION };
        int r;

        r = xioctl(fd, VIDIOC_G_CTRL, &c);
        return r < 0 ? r : c.value;
}

/* ---- hardware: capture ---- */

/* Streaming ioctls go to the driver itself in USERPTR mode, through libv4l2 otherwise. */
static int stream_ioctl(const V4l2Device *v, unsigned long request, void *arg) {
        return v->userptr ? raw_ioctl(v->fd, request, arg) : xioctl(v->fd, request, arg);
}

/* Lent slots must be given back (return_lent_buffers()) before this. */
static void capture_free(V4l2Device *v) {
        v->io = sd_event_source_disable_unref(v->io);
        v->restart = sd_event_source_disable_unref(v->restart);
        if (v->fd >= 0 && v->streaming) {
                int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;

                (void) stream_ioctl(v, VIDIOC_STREAMOFF, &type);
        }
        v->streaming = false;
        for (size_t i = 0; i < v->n_buffers; i++) {
                if (v->userptr)
                        free(v->buffers[i].own);
                else if (v->buffers[i].start && v->buffers[i].start != MAP_FAILED)
                        v4l2_munmap(v->buffers[i].start, v->buffers[i].length);
        }
        v->userptr = false;
        free(v->buffers);
        v->buffers = NULL;
        v->n_buffers = 0;
        /* Closing frees the driver's buffers and hands the queue back to other programs. */
        v->fd = v4l2_safe_close(v->fd);
        free(v->converted);
        v->converted = NULL;
        v->converted_size = 0;
        /* Joins its thread: no frame of this capture is delivered afterwards. */
        v->mjpeg = mjpeg_stage_free(v->mjpeg);
        v->generation++;
}

static const V4l2Mode *find_mode(const V4l2Device *v, const CaptureFormat *fmt) {
        for (size_t i = 0; i < v->n_modes; i++) {
                const VideoMode *m = &v->modes[i].mode;

                if (m->width == fmt->width && m->height == fmt->height && m->fourcc == fmt->fourcc &&
                    same_rate(m->frame_rate, fmt->frame_rate))
                        return v->modes + i;
        }
        return NULL;
}

static uint64_t now_nsec(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static uint64_t buffer_timestamp(const struct v4l2_buffer *b) {
        uint64_t now = now_nsec(), ts;

        /* Drivers stamp at capture; only a monotonic stamp is comparable with ours. One that
         * lies ahead of now is no capture time (vivid stamps the end of a frame it has not
         * finished pretending to capture): then now is the better guess. */
        if ((b->flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) != V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC ||
            (b->timestamp.tv_sec <= 0 && b->timestamp.tv_usec <= 0))
                return now;
        ts = (uint64_t) b->timestamp.tv_sec * 1000000000ULL + (uint64_t) b->timestamp.tv_usec * 1000ULL;
        return MIN(ts, now);
}

static void deliver(Device *d, V4l2Device *v, const struct v4l2_buffer *b) {
        const CaptureFormat *fmt = &d->format;
        V4l2Buffer *buf;
        DeviceBuffer lent;
        bool is_lent;
        const uint8_t *data;
        size_t size, need;
        uint32_t stride = v->bytesperline;
        Frame f;

        if (b->index >= v->n_buffers)
                return;
        buf = v->buffers + b->index;
        /* A lent slot goes to the consumer with the frame, or back to it when there is none. */
        lent = buf->lent;
        is_lent = buf->is_lent;
        buf->is_lent = false;
        buf->queued = false;
        if (b->flags & V4L2_BUF_FLAG_ERROR) {
                log_debug("Camera %s delivered a corrupt frame, dropped.", d->node);
                goto drop;
        }
        data = buf->start;
        size = b->bytesused > 0 ? MIN((size_t) b->bytesused, buf->length) : buf->length;

        if (v->mjpeg) {
                /* Copied out (the buffer goes back to the camera at once) and decoded on the
                 * stage's thread; the frame comes back through on_mjpeg_frame(). */
                f = (Frame) { .sequence = v->sequence++, .timestamp_ns = buffer_timestamp(b) };
                (void) mjpeg_stage_submit(v->mjpeg, data, size, &f);
                return;
        }

        need = v4l2_frame_min_size(v->pixelformat, fmt->height, v->bytesperline);
        if (need == 0 || size < need) {
                log_debug("Camera %s delivered a short frame (%zu of %zu bytes), dropped.", d->node, size, need);
                goto drop;
        }

        if (v->converted) {
                if (v4l2_planar_to_nv12(data, size, fmt->width, fmt->height, v->bytesperline,
                                        v->pixelformat == V4L2_PIX_FMT_YVU420, v->converted) < 0)
                        goto drop;
                data = v->converted;
                size = v->converted_size;
                stride = fmt->width;
        }

        f = (Frame) {
                .data = data,
                .size = size,
                .sequence = v->sequence++,
                .timestamp_ns = buffer_timestamp(b),
                .width = fmt->width,
                .height = fmt->height,
                .stride = stride,
                .fourcc = fmt->fourcc,
                .buffer = is_lent ? &lent : NULL,
        };
        lent.content = 0; /* the camera's picture, no drawing to build on */
        device_deliver_frame(d, &f);
        return;

drop:
        if (is_lent)
                device_return_buffer(d, &lent);
}

/* Queue USERPTR buffer i: into a slot the consumer lends when it has one (the frame then needs
 * no copy), else into our own memory. */
static int queue_user_buffer(Device *d, V4l2Device *v, unsigned i) {
        V4l2Buffer *buf = v->buffers + i;
        struct v4l2_buffer b = {
                .index = i,
                .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                .memory = V4L2_MEMORY_USERPTR,
                .length = v->sizeimage,
        };
        int r;

        /* Lending may move a group to a fresh pool, which takes every lent slot back first
         * (v4l2_return_lent()): this buffer is not lent yet, so it is not among them. */
        buf->is_lent = device_lend_buffer(d, v->sizeimage, &buf->lent);
        buf->start = buf->is_lent ? buf->lent.data : buf->own;
        buf->length = v->sizeimage;
        b.m.userptr = (unsigned long) buf->start;
        r = raw_ioctl(v->fd, VIDIOC_QBUF, &b);
        if (r < 0) {
                if (buf->is_lent) {
                        buf->is_lent = false;
                        device_return_buffer(d, &buf->lent);
                }
                return r;
        }
        buf->queued = true;
        return 0;
}

/* STREAMOFF takes every buffer back from the driver, which writes into none of them once it
 * returns; then the lent slots go back to their groups. */
static int return_lent_buffers(Device *d, V4l2Device *v) {
        int type = V4L2_BUF_TYPE_VIDEO_CAPTURE, r = 0;

        if (!v->userptr || v->fd < 0)
                return 0;
        r = raw_ioctl(v->fd, VIDIOC_STREAMOFF, &type);
        v->streaming = false;
        /* A queue that does not stream polls as an error: no wake-ups until it streams again. */
        if (v->io)
                (void) sd_event_source_set_enabled(v->io, SD_EVENT_OFF);
        for (size_t i = 0; i < v->n_buffers; i++) {
                V4l2Buffer *buf = v->buffers + i;

                buf->queued = false;
                if (buf->is_lent) {
                        buf->is_lent = false;
                        device_return_buffer(d, &buf->lent);
                }
        }
        return r;
}

static int on_restart(sd_event_source *source, void *userdata) {
        _cleanup_(device_unrefp) Device *d = device_ref(userdata);
        V4l2Device *v = d->backend_data;
        int type = V4L2_BUF_TYPE_VIDEO_CAPTURE, r = 0;

        if (!d->capturing || !v->userptr || v->streaming)
                return 0;
        for (unsigned i = 0; i < v->n_buffers && r >= 0; i++)
                if (!v->buffers[i].queued)
                        r = queue_user_buffer(d, v, i);
        if (r >= 0)
                r = raw_ioctl(v->fd, VIDIOC_STREAMON, &type);
        if (r >= 0 && v->io)
                r = sd_event_source_set_enabled(v->io, SD_EVENT_ON);
        if (r < 0) {
                log_error_errno(r, "Camera %s could not stream again after a stream left: %m", d->node);
                device_report_error(d, r);
                return 0;
        }
        v->streaming = true;
        return 0;
}

/* A stream left a group that lent us slots: none of them is written again. The capture goes on
 * from the loop, in slots lent anew (a pause of a frame or two for the other streams). */
static void v4l2_return_lent(Device *d) {
        V4l2Device *v = d->backend_data;
        sd_event *event = device_registry_get_event(d->registry);
        int r;

        if (!v || !v->userptr || v->fd < 0)
                return;
        r = return_lent_buffers(d, v);
        if (r >= 0 && !v->restart && event) {
                r = sd_event_add_defer(event, &v->restart, on_restart, d);
                if (r >= 0)
                        (void) sd_event_source_set_description(v->restart, "v4l2-restart");
        }
        if (r >= 0 && v->restart)
                r = sd_event_source_set_enabled(v->restart, SD_EVENT_ONESHOT);
        if (r < 0 || !v->restart) {
                log_error_errno(r, "Camera %s cannot take its buffers back from the driver: %m", d->node);
                device_report_error(d, r < 0 ? r : -EIO);
        }
}

/* A decoded frame of a JPEG mode, on the event loop. */
static void on_mjpeg_frame(const Frame *f, void *userdata) {
        device_deliver_frame(userdata, f);
}

/* The node went away (unplugged, or vivid's disconnect control): the device leaves the
 * registry, whose owner ends its tracks with "device-removed". */
static void device_gone(Device *d) {
        log_info("Camera %s (%s) disappeared while capturing.", d->node, d->label);
        if (d->registry)
                device_registry_remove(d->registry, d);
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        _cleanup_(device_unrefp) Device *d = device_ref(userdata);
        V4l2Device *v = d->backend_data;
        uint64_t generation = v->generation;
        struct v4l2_buffer b = {
                .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                .memory = v->userptr ? V4L2_MEMORY_USERPTR : V4L2_MEMORY_MMAP,
        };
        int r;

        /* One frame per wake-up: the fd stays readable while more are done, so the loop comes
         * back at once, after whatever else is waiting (a fast camera cannot starve the bus). */
        r = stream_ioctl(v, VIDIOC_DQBUF, &b);
        if (r == -EAGAIN) {
                if (!(revents & (EPOLLERR | EPOLLHUP)))
                        return 0;

                /* An error with nothing to dequeue would wake us again at once: find out
                 * whether the node is gone, and stop either way rather than spin. */
                struct v4l2_capability cap;

                r = xioctl(v->fd, VIDIOC_QUERYCAP, &cap);
                r = r == -ENODEV ? -ENODEV : -EIO;
                goto fail;
        }
        if (r < 0)
                goto fail;

        deliver(d, v, &b);
        /* The consumer may have stopped or restarted the capture from the callback, or taken
         * the lent slots back (then the restart queues every buffer). */
        if (!d->capturing || v->generation != generation || !v->streaming)
                return 0;

        r = v->userptr ? queue_user_buffer(d, v, b.index) : stream_ioctl(v, VIDIOC_QBUF, &b);
        if (r < 0)
                goto fail;
        return 0;

fail:
        if (r == -ENODEV) {
                device_gone(d);
                return 0;
        }
        log_error_errno(r, "Capture from camera %s failed: %m", d->node);
        device_report_error(d, r);
        return 0;
}

/* A JPEG mode's frames are decoded on a thread of the capture's own ("mg-mjpeg-video0"). */
static int start_jpeg_decoder(Device *d, V4l2Device *v, sd_event *event, const V4l2Mode *m) {
        const char *base = strrchr(d->node, '/');
        char thread[16];

        if (!v4l2_pixelformat_is_jpeg(v->pixelformat))
                return 0;
        snprintf(thread, sizeof thread, "mg-mjpeg-%s", base ? base + 1 : d->node);
        return mjpeg_stage_new(event, thread, m->mode.width, m->mode.height, on_mjpeg_frame, d, &v->mjpeg);
}

/* VIDIOC_S_FMT to the mode, which the camera must take as it is; the row length it reports. */
static int set_format(Device *d, V4l2Device *v, const V4l2Mode *m) {
        struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
        uint32_t min_bytesperline;
        int r;

        f.fmt.pix.width = m->mode.width;
        f.fmt.pix.height = m->mode.height;
        f.fmt.pix.pixelformat = m->pixelformat;
        f.fmt.pix.field = V4L2_FIELD_NONE;
        r = xioctl(v->fd, VIDIOC_S_FMT, &f);
        if (r < 0)
                return r;
        if (f.fmt.pix.width != m->mode.width || f.fmt.pix.height != m->mode.height ||
            f.fmt.pix.pixelformat != m->pixelformat) {
                log_error("Camera %s refused its own mode %ux%u (it set %ux%u).", d->node, m->mode.width,
                          m->mode.height, f.fmt.pix.width, f.fmt.pix.height);
                return -EINVAL;
        }
        v->pixelformat = f.fmt.pix.pixelformat;
        v->sizeimage = f.fmt.pix.sizeimage;
        min_bytesperline = v->pixelformat == V4L2_PIX_FMT_YUYV ? m->mode.width * 2 : m->mode.width;
        /* A compressed format has no rows; drivers report 0. */
        v->bytesperline = v4l2_pixelformat_is_jpeg(v->pixelformat) ? min_bytesperline
                                                                    : f.fmt.pix.bytesperline ?: min_bytesperline;
        if (v->bytesperline < min_bytesperline) {
                log_error("Camera %s reports rows of %u bytes for %u pixels.", d->node, v->bytesperline,
                          m->mode.width);
                return -EINVAL;
        }
        return 0;
}

/* VIDIOC_S_PARM: a camera that does not take a frame interval runs at its own (logged). */
static int set_frame_interval(Device *d, V4l2Device *v, const V4l2Mode *m) {
        struct v4l2_streamparm parm = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
        int r;

        parm.parm.capture.timeperframe = m->interval;
        r = xioctl(v->fd, VIDIOC_S_PARM, &parm);
        if (r == -EBUSY)
                return r;
        if (r < 0)
                log_debug_errno(r, "Camera %s does not take a frame interval: %m", d->node);
        else if (fract_compare(parm.parm.capture.timeperframe, m->interval) != 0)
                log_warning("Camera %s runs at %u/%u s per frame instead of %u/%u.", d->node,
                            parm.parm.capture.timeperframe.numerator, parm.parm.capture.timeperframe.denominator,
                            m->interval.numerator, m->interval.denominator);
        return 0;
}

/* VIDIOC_REQBUFS through do_ioctl, and the table of the buffers the driver gave. */
static int request_buffers(V4l2Device *v, struct v4l2_requestbuffers *req,
                           int (*do_ioctl)(int fd, unsigned long request, void *arg)) {
        int r;

        r = do_ioctl(v->fd, VIDIOC_REQBUFS, req);
        if (r < 0)
                return r;
        if (req->count < 2)
                return -ENOMEM;
        v->buffers = calloc(req->count, sizeof(V4l2Buffer));
        if (!v->buffers)
                return -ENOMEM;
        v->n_buffers = req->count;
        return 0;
}

/* VIDIOC_REQBUFS, then each buffer mapped and queued. */
static int map_buffers(V4l2Device *v) {
        struct v4l2_requestbuffers req = {
                .count = V4L2_CAPTURE_BUFFERS,
                .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                .memory = V4L2_MEMORY_MMAP,
        };
        int r;

        r = request_buffers(v, &req, xioctl);
        if (r < 0)
                return r;
        for (uint32_t i = 0; i < req.count; i++) {
                struct v4l2_buffer b = { .index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP };

                r = xioctl(v->fd, VIDIOC_QUERYBUF, &b);
                if (r < 0)
                        return r;
                v->buffers[i].start = v4l2_mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, b.m.offset);
                if (v->buffers[i].start == MAP_FAILED) {
                        v->buffers[i].start = NULL;
                        return -errno;
                }
                v->buffers[i].length = b.length;
                r = xioctl(v->fd, VIDIOC_QBUF, &b);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A format the streams get as the camera delivers it (no decoding, no conversion of ours) can
 * be captured straight into their pools. */
static bool format_goes_to_pools(const V4l2Device *v) {
        return v->pixelformat == V4L2_PIX_FMT_YUYV || v->pixelformat == V4L2_PIX_FMT_NV12;
}

/* USERPTR buffers of our own, queued; lent slots replace them frame by frame once capture runs.
 * -EINVAL: the driver (or libv4l2, converting) takes no user memory: the caller maps instead. */
static int user_buffers(V4l2Device *v) {
        struct v4l2_requestbuffers req = {
                .count = V4L2_CAPTURE_BUFFERS,
                .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                .memory = V4L2_MEMORY_USERPTR,
        };
        struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
        size_t page = (size_t) sysconf(_SC_PAGESIZE), size;
        int r;

        if (v->sizeimage == 0)
                return -EINVAL;
        /* libv4l2 converts when the driver's format is not the one it reported to us. */
        r = raw_ioctl(v->fd, VIDIOC_G_FMT, &f);
        if (r < 0)
                return r;
        if (f.fmt.pix.pixelformat != v->pixelformat || f.fmt.pix.sizeimage != v->sizeimage)
                return -EINVAL;
        r = request_buffers(v, &req, raw_ioctl);
        if (r < 0)
                return r;
        v->userptr = true;
        size = (v->sizeimage + page - 1) / page * page;
        for (uint32_t i = 0; i < req.count; i++) {
                struct v4l2_buffer b = {
                        .index = i,
                        .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                        .memory = V4L2_MEMORY_USERPTR,
                        .length = v->sizeimage,
                };

                if (posix_memalign(&v->buffers[i].own, page, size) != 0)
                        return -ENOMEM;
                v->buffers[i].start = v->buffers[i].own;
                v->buffers[i].length = v->sizeimage;
                b.m.userptr = (unsigned long) v->buffers[i].own;
                r = raw_ioctl(v->fd, VIDIOC_QBUF, &b);
                if (r < 0)
                        return r;
                v->buffers[i].queued = true;
        }
        return 0;
}

/* Buffers for the driver: user memory where frames can go straight into the pools and the
 * driver takes it, else VIDIOC_REQBUFS mmap'ed (through libv4l2, which maps its own buffers of
 * converted frames when it converts) and queued. */
static int get_buffers(Device *d, V4l2Device *v) {
        int r;

        if (format_goes_to_pools(v) && !v4l2_pixelformat_is_jpeg(v->pixelformat)) {
                r = user_buffers(v);
                if (r >= 0) {
                        log_debug("Camera %s captures straight into the streams' pools (USERPTR).", d->node);
                        return 0;
                }
                log_debug_errno(r, "Camera %s takes no user memory, mapping its buffers: %m", d->node);
                /* Back to no buffers at all before asking for mapped ones. */
                for (size_t i = 0; i < v->n_buffers; i++)
                        free(v->buffers[i].own);
                free(v->buffers);
                v->buffers = NULL;
                v->n_buffers = 0;
                v->userptr = false;
                (void) raw_ioctl(v->fd, VIDIOC_REQBUFS, &(struct v4l2_requestbuffers) {
                        .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_USERPTR });
        }
        return map_buffers(v);
}

/* Planar YUV 4:2:0 from the driver is turned into NV12 in a buffer of ours. */
static int prepare_conversion(V4l2Device *v, const V4l2Mode *m) {
        if (v->pixelformat != V4L2_PIX_FMT_YUV420 && v->pixelformat != V4L2_PIX_FMT_YVU420)
                return 0;
        v->converted_size = (size_t) m->mode.width * m->mode.height * 3 / 2;
        v->converted = malloc(v->converted_size);
        return v->converted ? 0 : -ENOMEM;
}

static int v4l2_start(Device *d, const CaptureFormat *fmt) {
        V4l2Device *v = d->backend_data;
        sd_event *event = device_registry_get_event(d->registry);
        const char *step;
        const V4l2Mode *m;
        int type = V4L2_BUF_TYPE_VIDEO_CAPTURE, r;

        if (!event)
                return -ENODEV;
        /* Like any camera, a device runs only in its own modes; scaling is the stream's job. */
        m = find_mode(v, fmt);
        if (!m)
                return -EINVAL;

        capture_free(v);
        v->sequence = 0;

        step = "open";
        r = open_camera(d->node, v->devnum);
        if (r < 0)
                goto fail;
        v->fd = r;

        /* EBUSY from here on: another program streams from it, the caller's NotReadableError. */
        step = "set the format";
        r = set_format(d, v, m);
        if (r >= 0)
                r = set_frame_interval(d, v, m);
        if (r < 0)
                goto fail;
        step = "get the buffers";
        r = get_buffers(d, v);
        if (r >= 0)
                r = prepare_conversion(v, m);
        if (r < 0)
                goto fail;
        step = "start its decoder";
        r = start_jpeg_decoder(d, v, event, m);
        if (r < 0)
                goto fail;

        step = "start streaming";
        r = stream_ioctl(v, VIDIOC_STREAMON, &type);
        if (r < 0)
                goto fail;
        v->streaming = true;

        r = sd_event_add_io(event, &v->io, v->fd, EPOLLIN, on_io, d);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(v->io, "v4l2-capture");

        log_debug("Camera %s streams %ux%u@%g (%.4s).", d->node, m->mode.width, m->mode.height, m->mode.frame_rate,
                  (const char *) &m->pixelformat);
        return 0;

fail:
        /* Busy is no failure of ours: another program streams from the camera. */
        if (r == -EBUSY)
                log_info("Camera %s (%s) is busy.", d->node, d->label);
        else
                log_error_errno(r, "Camera %s, %ux%u@%g: failed to %s: %m", d->node, m->mode.width,
                                m->mode.height, m->mode.frame_rate, step);
        capture_free(v);
        return r;
}

static void v4l2_stop(Device *d) {
        V4l2Device *v = d->backend_data;

        if (!v)
                return;
        (void) return_lent_buffers(d, v);
        capture_free(v);
}

static void v4l2_free(Device *d) {
        V4l2Device *v = d->backend_data;

        if (!v)
                return;
        capture_free(v);
        free(v->modes);
        free(v);
        d->backend_data = NULL;
}

static const DeviceOps v4l2_ops = {
        .start = v4l2_start,
        .stop = v4l2_stop,
        .free = v4l2_free,
        .return_lent = v4l2_return_lent,
};

static int make_label(sd_device *dev, const struct v4l2_capability *cap, char **ret) {
        static const char *const fallbacks[] = { "ID_MODEL_FROM_DATABASE", "ID_MODEL", "ID_V4L_PRODUCT", NULL };
        char card[sizeof(cap->card) + 1] = {};
        const char *label;

        /* The driver's card name is what the product calls itself ("HD Webcam C525"). */
        memcpy(card, cap->card, sizeof(cap->card));
        label = strstrip(card);
        if (isempty(label))
                label = udev_device_first_property(dev, fallbacks);
        if (isempty(label))
                label = "Camera";
        *ret = sanitize_label(label);
        return *ret ? 0 : -ENOMEM;
}

/* What the registry shows of a camera: its stable identity, group, node, facing mode, label. */
static int describe_camera(Device *d, sd_device *dev, const char *devname, int fd, const struct v4l2_capability *cap) {
        _cleanup_free_ char *identity = NULL, *group = NULL;
        const char *index = NULL;
        int r;

        /* Identity: the hardware plus the node's index on it, since one webcam may have more
         * than one capture node (index is stable, the video<N> number is not). */
        r = udev_device_identity(dev, &identity);
        if (r < 0)
                return r;
        (void) sd_device_get_sysattr_value(dev, "index", &index);
        if (asprintf(&d->hardware_id, "v4l2:%s:%s", identity, isempty(index) ? "0" : index) < 0) {
                d->hardware_id = NULL;
                return -ENOMEM;
        }
        r = udev_device_group(dev, &group);
        if (r < 0)
                return r;
        d->group_hardware_id = TAKE_PTR(group);
        d->node = strdup(devname);
        d->facing_mode = strdup(v4l2_facing_mode(read_orientation(fd)));
        if (!d->node || !d->facing_mode)
                return -ENOMEM;
        r = make_label(dev, cap, &d->label);
        if (r < 0)
                return r;
        return 0;
}

int v4l2_device_new(sd_device *dev, Device **ret) {
        _cleanup_(device_unrefp) Device *d = NULL;
        _cleanup_(v4l2_closep) int fd = -1;
        _cleanup_free_ V4l2Mode *modes = NULL;
        struct v4l2_capability cap = {};
        const char *syspath, *sysname, *devname;
        V4l2Device *v;
        size_t n_modes = 0;
        dev_t devnum;
        int r;

        if (!dev || !ret)
                return -EINVAL;

        r = sd_device_get_syspath(dev, &syspath);
        if (r < 0)
                return r;
        r = sd_device_get_sysname(dev, &sysname);
        if (r < 0)
                return r;
        /* radio*, vbi*, swradio*, v4l-subdev*, v4l-touch* are never cameras. */
        if (!startswith(sysname, "video"))
                return -EOPNOTSUPP;
        r = sd_device_get_devname(dev, &devname);
        if (r < 0)
                return r;
        r = sd_device_get_devnum(dev, &devnum);
        if (r < 0)
                return r;

        fd = open_camera(devname, devnum);
        if (fd < 0)
                return fd;

        r = xioctl(fd, VIDIOC_QUERYCAP, &cap);
        if (r < 0)
                return r == -ENOTTY ? -EOPNOTSUPP : r;
        if (!v4l2_caps_is_camera(cap.capabilities, cap.device_caps))
                return -EOPNOTSUPP;

        r = probe_modes(fd, &modes, &n_modes);
        if (r < 0)
                return r;
        if (n_modes == 0) {
                log_info("Camera %s offers no mode in YUYV or NV12 (not even through libv4l2), ignored.", devname);
                return -EOPNOTSUPP;
        }

        d = device_new(DEVICE_KIND_VIDEO, V4L2_BACKEND, syspath, &v4l2_ops);
        if (!d)
                return -ENOMEM;
        v = calloc(1, sizeof(V4l2Device));
        if (!v)
                return -ENOMEM;
        d->backend_data = v;
        v->fd = -1;
        v->devnum = devnum;

        r = describe_camera(d, dev, devname, fd, &cap);
        if (r < 0)
                return r;

        d->modes = calloc(n_modes, sizeof(VideoMode));
        if (!d->modes)
                return -ENOMEM;
        for (size_t i = 0; i < n_modes; i++)
                d->modes[i] = modes[i].mode;
        d->n_modes = n_modes;
        v->modes = TAKE_PTR(modes);
        v->n_modes = n_modes;

        log_debug("Camera %s: \"%s\", %zu modes, id %s.", devname, d->label, n_modes, d->hardware_id);
        *ret = TAKE_PTR(d);
        return 0;
}
