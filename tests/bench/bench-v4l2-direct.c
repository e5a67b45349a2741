/* The other side of the VM comparison (issue 6): a plain program that reads a V4L2 camera
 * itself, as apps do without mediagated: mmap streaming with four buffers, each buffer
 * requeued as soon as it is dequeued, the pixels never read. Measured as bench-frames measures
 * a client of the daemon: latency from the buffer's capture time (CLOCK_MONOTONIC, never later
 * than now: vivid stamps the end of a frame it has not finished pretending to capture; the
 * daemon's V4L2 backend does the same) to the moment the dequeue returned, and CPU per frame.
 *
 *     bench-v4l2-direct [--device=/dev/videoN] [--width=640] [--height=480] [--fps=25]
 *                       [--seconds=10]
 *
 * Without --device, the first vivid capture node. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "util.h"

#define N_BUFFERS 4

static int xioctl(int fd, unsigned long request, void *arg) {
        int r;

        do
                r = ioctl(fd, request, arg);
        while (r < 0 && errno == EINTR);
        return r < 0 ? -errno : r;
}

static int open_vivid(char *path, size_t size) {
        for (int i = 0; i < 64; i++) {
                struct v4l2_capability cap = {};
                int fd;

                snprintf(path, size, "/dev/video%d", i);
                fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
                if (fd < 0)
                        continue;
                if (xioctl(fd, VIDIOC_QUERYCAP, &cap) >= 0 && streq((const char *) cap.driver, "vivid") &&
                    (cap.device_caps & V4L2_CAP_VIDEO_CAPTURE) && (cap.device_caps & V4L2_CAP_STREAMING))
                        return fd;
                close(fd);
        }
        return -ENODEV;
}

static uint64_t process_cpu_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

int main(int argc, char *argv[]) {
        unsigned width = (unsigned) bench_arg_u64(argc, argv, "--width", 640);
        unsigned height = (unsigned) bench_arg_u64(argc, argv, "--height", 480);
        unsigned fps = (unsigned) bench_arg_u64(argc, argv, "--fps", 25);
        unsigned seconds = (unsigned) bench_arg_u64(argc, argv, "--seconds", 10);
        const char *device = bench_arg_str(argc, argv, "--device", NULL);
        struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
        struct v4l2_streamparm parm = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
        struct v4l2_requestbuffers req = { .count = N_BUFFERS, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                           .memory = V4L2_MEMORY_MMAP };
        enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        void *maps[N_BUFFERS] = {};
        size_t lengths[N_BUFFERS] = {};
        char path[64];
        _cleanup_close_ int fd = -1;
        Samples latency = {};
        uint64_t start, end, cpu0 = 0, cpu1, t0 = 0, frames = 0, first_seq = 0, last_seq = 0, ahead = 0, checksum = 0;
        bool measuring = false;
        int r;

        if (device) {
                snprintf(path, sizeof(path), "%s", device);
                fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
                r = fd < 0 ? -errno : 0;
        } else
                r = fd = open_vivid(path, sizeof(path));
        if (r < 0) {
                fprintf(stderr, "bench-v4l2-direct: no camera: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        fmt.fmt.pix = (struct v4l2_pix_format) { .width = width, .height = height,
                                                 .pixelformat = V4L2_PIX_FMT_YUYV, .field = V4L2_FIELD_NONE };
        r = xioctl(fd, VIDIOC_S_FMT, &fmt);
        if (r < 0 || fmt.fmt.pix.width != width || fmt.fmt.pix.height != height ||
            fmt.fmt.pix.pixelformat != V4L2_PIX_FMT_YUYV) {
                fprintf(stderr, "bench-v4l2-direct: %s cannot do %ux%u YUYV\n", path, width, height);
                return EXIT_FAILURE;
        }
        parm.parm.capture.timeperframe = (struct v4l2_fract) { .numerator = 1, .denominator = fps };
        r = xioctl(fd, VIDIOC_S_PARM, &parm);
        if (r < 0) {
                fprintf(stderr, "bench-v4l2-direct: %s cannot do %u fps: %s\n", path, fps, strerror(-r));
                return EXIT_FAILURE;
        }
        r = xioctl(fd, VIDIOC_REQBUFS, &req);
        if (r < 0 || req.count < 2) {
                fprintf(stderr, "bench-v4l2-direct: no mmap buffers: %s\n", strerror(r < 0 ? -r : ENOMEM));
                return EXIT_FAILURE;
        }
        for (unsigned i = 0; i < req.count && i < N_BUFFERS; i++) {
                struct v4l2_buffer b = { .index = i, .type = req.type, .memory = V4L2_MEMORY_MMAP };

                r = xioctl(fd, VIDIOC_QUERYBUF, &b);
                if (r >= 0) {
                        lengths[i] = b.length;
                        maps[i] = mmap(NULL, b.length, PROT_READ, MAP_SHARED, fd, b.m.offset);
                        if (maps[i] == MAP_FAILED)
                                r = -errno;
                }
                if (r >= 0)
                        r = xioctl(fd, VIDIOC_QBUF, &b);
                if (r < 0) {
                        fprintf(stderr, "bench-v4l2-direct: buffer %u: %s\n", i, strerror(-r));
                        return EXIT_FAILURE;
                }
        }
        r = xioctl(fd, VIDIOC_STREAMON, &type);
        if (r < 0) {
                fprintf(stderr, "bench-v4l2-direct: STREAMON: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        /* A second to settle, as bench-frames does, then the measured window. */
        start = bench_now_ns();
        end = start + (1 + (uint64_t) seconds) * 1000000000ULL;
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP };
                uint64_t now, ts;

                if (bench_now_ns() >= end)
                        break;
                if (!measuring && bench_now_ns() >= start + 1000000000ULL) {
                        measuring = true;
                        t0 = bench_now_ns();
                        cpu0 = process_cpu_ns();
                }
                r = poll(&p, 1, 1000);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0) {
                        fprintf(stderr, "bench-v4l2-direct: no frame in a second\n");
                        return EXIT_FAILURE;
                }
                r = xioctl(fd, VIDIOC_DQBUF, &b);
                now = bench_now_ns();
                if (r == -EAGAIN)
                        continue;
                if (r < 0) {
                        fprintf(stderr, "bench-v4l2-direct: DQBUF: %s\n", strerror(-r));
                        return EXIT_FAILURE;
                }
                ts = (uint64_t) b.timestamp.tv_sec * 1000000000ULL + (uint64_t) b.timestamp.tv_usec * 1000ULL;
                if ((b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) != V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC || ts > now) {
                        ahead += measuring;
                        ts = now;
                }
                if (measuring) {
                        /* Read the frame once, as any consumer of it would. */
                        checksum += read_once(maps[b.index], b.bytesused ? b.bytesused : lengths[b.index]);
                        if (frames == 0)
                                first_seq = b.sequence;
                        last_seq = b.sequence;
                        frames++;
                        if (samples_add(&latency, now - ts) < 0)
                                return EXIT_FAILURE;
                }
                r = xioctl(fd, VIDIOC_QBUF, &b);
                if (r < 0) {
                        fprintf(stderr, "bench-v4l2-direct: QBUF: %s\n", strerror(-r));
                        return EXIT_FAILURE;
                }
        }
        cpu1 = process_cpu_ns();
        (void) xioctl(fd, VIDIOC_STREAMOFF, &type);
        for (unsigned i = 0; i < N_BUFFERS; i++)
                if (maps[i] && maps[i] != MAP_FAILED)
                        munmap(maps[i], lengths[i]);

        printf("  direct V4L2 (%s), %ux%u@%u YUYV, %.1f s: %" PRIu64 " frames of %" PRIu64 " captured\n", path, width,
               height, fps, (double) (bench_now_ns() - t0) / 1e9, frames, frames ? last_seq - first_seq + 1 : 0);
        if (ahead == frames)
                printf("  frame latency, capture -> program: not measurable: every capture time lay after the "
                       "dequeue\n  (vivid stamps the end of the frame period); the daemon's V4L2 backend then "
                       "stamps its own dequeue,\n  so its latency is what it adds after the dequeue, against 0 here\n");
        else {
                printf("  frame latency, capture -> program:  p50 %.3f ms  p99 %.3f ms  max %.3f ms\n",
                       ns_to_ms(samples_percentile(&latency, 50)), ns_to_ms(samples_percentile(&latency, 99)),
                       ns_to_ms(samples_max(&latency)));
                if (ahead > 0)
                        printf("  (%" PRIu64 " of %" PRIu64 " capture times lay after the dequeue: the dequeue time "
                               "stands in for those, here as in the daemon)\n",
                               ahead, frames);
        }
        printf("  CPU of the program (it reads each frame once; checksum %" PRIx64 "): %.3f ms a frame\n", checksum,
               frames ? (double) (cpu1 - cpu0) / 1e6 / (double) frames : 0);
        printf("RESULT %s_cpu_per_frame_ms=%.4f\n", bench_arg_str(argc, argv, "--tag", "direct"),
               frames ? (double) (cpu1 - cpu0) / 1e6 / (double) frames : 0);
        samples_done(&latency);
        return EXIT_SUCCESS;
}
