/* The decoding of a Motion-JPEG capture, off the event loop: the backend hands each JPEG frame
 * over as it dequeues it (a copy is taken, so the camera's buffer goes back at once), a thread
 * of the capture's own decodes it into NV12, and the decoded frame comes back to the loop, in
 * order, with the sequence, capture time and stamp of the JPEG frame. A 1080p frame takes
 * milliseconds to decode; on the loop that would hold every bus call and every other stream
 * for as long, 30 times a second.
 *
 * Why libjpeg-turbo here and not libv4l2's conversion (which the V4L2 backend used before): per
 * 1080p 4:2:2 frame both spend the same CPU within the noise of a shared machine (`make bench`,
 * the two interleaved frame by frame: 2.6-3.0 against 2.3-2.8 ms for the synthetic camera's
 * picture, 7.1-7.9 ms both for a detailed one; libv4l2 decodes with libjpeg-turbo too, drops
 * every other chroma row where this averages them, and needs one more pass from its YU12 to
 * NV12). What decides is where the work runs: libv4l2 decodes inside VIDIOC_DQBUF, on the
 * thread that dequeues and into buffers of its own, so taking the decode off the event loop would
 * take the whole V4L2 capture (the fd, its buffers, the device's errors) onto another thread;
 * here the loop keeps the device and only the decode moves, straight into the NV12 the streams
 * take. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "device.h"

/* Frames waiting or being decoded at most: 8 is a quarter of a second at 30 fps of hiccup
 * absorbed before a frame is dropped. Decoded pictures are allocated as the backlog needs
 * them, so a capture that keeps up holds two or three. */
#define MJPEG_STAGE_SLOTS 8
/* The decoding thread runs at the event loop's priority: it is on every frame's path, and a
 * thread below it falls behind on a busy machine and drops frames (frame-worker.h). */
#define MJPEG_STAGE_NICE 0

typedef struct MjpegStage MjpegStage;

/* A decoded frame, on the event loop (NV12, stride = width; valid during the call). The stage
 * may be freed from inside. */
typedef void (*mjpeg_stage_deliver_t)(const Frame *f, void *userdata);

typedef struct MjpegStageStats {
        uint64_t submitted;
        uint64_t delivered;
        uint64_t damaged;      /* delivered with the damage shown grey */
        uint64_t failed;       /* not a decodable JPEG of the mode's size: dropped */
        uint64_t dropped;      /* every slot busy: dropped before decoding */
        uint64_t decode_cpu_ns;  /* CPU time of the decoding thread, all frames */
        uint64_t latency_ns;     /* from submit to delivery, all delivered frames */
        uint64_t max_latency_ns;
} MjpegStageStats;

/* thread_name: as frame_worker_new() takes it. */
int mjpeg_stage_new(sd_event *event, const char *thread_name, uint32_t width, uint32_t height,
                    mjpeg_stage_deliver_t deliver, void *userdata, MjpegStage **ret);
MjpegStage *mjpeg_stage_free(MjpegStage *s);

/* Copy one JPEG frame in, with its sequence, timestamp, stamp and tag in meta (the rest of
 * meta is ignored). 0, or -ENOBUFS when every slot is busy (the frame is dropped and counted),
 * -ENOMEM. */
int mjpeg_stage_submit(MjpegStage *s, const uint8_t *jpeg, size_t size, const Frame *meta);

void mjpeg_stage_get_stats(MjpegStage *s, MjpegStageStats *ret);
