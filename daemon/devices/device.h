/* The device backend interface: what every source of cameras and microphones (synthetic,
 * V4L2, ALSA) provides to the rest of the daemon, and the registry that holds them all.
 *
 * A backend enumerates its devices into the registry, reports hotplug through it, and
 * captures on the daemon's sd_event loop. A device captures in one native mode at a time;
 * each frame goes to the single consumer the registry's owner installed (the capture
 * fan-out), which copies it into every stream. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "device-kind.h"

/* Pixel formats the daemon delivers (V4L2 fourcc values). */
#define FOURCC(a, b, c, d) \
        ((uint32_t) (a) | ((uint32_t) (b) << 8) | ((uint32_t) (c) << 16) | ((uint32_t) (d) << 24))
#define PIXEL_FORMAT_YUYV FOURCC('Y', 'U', 'Y', 'V')
#define PIXEL_FORMAT_NV12 FOURCC('N', 'V', '1', '2')
/* What Motion-JPEG cameras send (never delivered as it is: decoded into NV12). */
#define PIXEL_FORMAT_MJPEG FOURCC('M', 'J', 'P', 'G')

/* The highest frame rate any camera mode may have (synthetic ones included). */
#define DEVICE_FRAME_RATE_MAX 10000.0

/* One native camera mode: what the hardware produces without any cropping or scaling. A
 * device lists the modes it delivers as they come first and those it must decode after them,
 * so that where two modes give the same settings the one without decoding wins (the constraint
 * engine's last tie-break is the device's mode order). */
typedef struct VideoMode {
        uint32_t width;
        uint32_t height;
        double frame_rate; /* frames per second, > 0 */
        uint32_t fourcc;   /* what is delivered: PIXEL_FORMAT_YUYV or PIXEL_FORMAT_NV12 */
        uint32_t source_fourcc; /* 0: the camera sends fourcc itself; PIXEL_FORMAT_MJPEG: it sends
                                 * JPEG frames, which the daemon decodes into fourcc (NV12) */
} VideoMode;

/* What a microphone can do. Only these native values are ever offered. */
typedef struct AudioCapabilities {
        uint32_t *sample_rates;   /* Hz, ascending */
        size_t n_sample_rates;
        uint32_t *channel_counts; /* ascending */
        size_t n_channel_counts;
        uint32_t *sample_sizes;   /* bits per sample, ascending; we deliver S16_LE so 16 */
        size_t n_sample_sizes;
        double latency;           /* seconds, the device's period */
        bool echo_cancellation;   /* capable of true */
        bool auto_gain_control;
        bool noise_suppression;
} AudioCapabilities;

/* The mode a capture runs in. */
typedef struct CaptureFormat {
        DeviceKind kind;
        /* video */
        uint32_t width, height, fourcc;
        double frame_rate;
        /* audio: S16_LE interleaved */
        uint32_t sample_rate, channels;
} CaptureFormat;

/* A buffer the consumer lends a backend for one frame (a slot of a stream pool), so that a frame
 * already in the stream's format is captured straight into the pool and never copied. */
typedef struct DeviceBuffer {
        uint8_t *data;
        size_t size;
        /* What the backend said it left there the last time (0: unknown). A backend that draws
         * only what changed uses it; it sets it to a tag of what it draws now. */
        uint64_t content;
        void *owner; /* the consumer's */
        unsigned index;
} DeviceBuffer;

/* A captured frame (video) or period (audio), valid only during the callback. */
typedef struct Frame {
        const uint8_t *data;
        size_t size;
        uint64_t sequence;     /* per capture, from 0 */
        uint64_t timestamp_ns; /* CLOCK_MONOTONIC at capture */
        /* video */
        uint32_t width, height, stride, fourcc;
        /* audio */
        uint32_t n_frames; /* sample frames in data */
        /* synthetic devices: stamp every delivered copy with MGFRAME, sequence, time, tag */
        bool stamp;
        uint8_t tag[16];
        /* Non-NULL: data lies in this lent buffer (device_lend_buffer()). */
        const DeviceBuffer *buffer;
} Frame;

/* The frame stamp of synthetic cameras (examples/synthetic-devices.conf), at offset 0. */
#define FRAME_STAMP_MAGIC "MGFRAME"        /* 8 bytes with the NUL */
#define FRAME_STAMP_SIZE (8 + 8 + 8 + 16) /* magic, sequence, time, tag */

typedef struct Device Device;
typedef struct DeviceRegistry DeviceRegistry;

typedef enum DeviceState {
        DEVICE_STATE_OK,
        DEVICE_STATE_BUSY,    /* held by another program: open gives -EBUSY */
        DEVICE_STATE_FAILING, /* open or capture fails: -EIO */
} DeviceState;

typedef enum DeviceEvent {
        DEVICE_EVENT_ERROR,   /* capture failed; the device stopped itself */
} DeviceEvent;

typedef struct DeviceOps {
        /* Open the hardware and start capturing in fmt. -EBUSY: held elsewhere
         * (NotReadableError); other errors: AbortError. Frames then arrive through
         * device_deliver_frame() from the event loop. */
        int (*start)(Device *d, const CaptureFormat *fmt);
        /* Stop capturing and close the hardware. Must be safe when not started. */
        void (*stop)(Device *d);
        /* Free backend data (d->backend_data). */
        void (*free)(Device *d);
        /* Optional, for a backend that keeps lent buffers across frames (queued to a driver):
         * stop writing into every one of them now, give them back (device_return_buffer()) and
         * lend anew for what follows. Called when a stream leaves the group that lent them, so
         * that it never sees a frame captured after it ended. */
        void (*return_lent)(Device *d);
} DeviceOps;

/* Consumer of a device's output, installed by the capture layer. */
typedef struct DeviceConsumer {
        void (*frame)(Device *d, const Frame *f, void *userdata);
        void (*event)(Device *d, DeviceEvent ev, int error, void *userdata);
        /* Optional: lend a buffer of at least size bytes for the next frame in the capture's
         * format (false: none, the backend uses its own), and take back one that carried no
         * frame. A buffer handed over with a frame comes back with it. */
        bool (*lend)(Device *d, size_t size, DeviceBuffer *ret, void *userdata);
        void (*unlend)(Device *d, const DeviceBuffer *b, void *userdata);
        void *userdata;
} DeviceConsumer;

/* device_unref() frees every string and array of a Device with free(); ops->free frees only
 * backend_data. */
struct Device {
        unsigned n_ref;
        DeviceRegistry *registry; /* NULL once removed */

        char *name;        /* unique within its backend: synthetic section, sysfs path */
        char *backend;     /* "synthetic", "v4l2", "alsa" */
        char *hardware_id; /* stable identity: "synthetic:<section>", ID_PATH/ID_SERIAL */
        char *group_hardware_id; /* physical device, shared by a webcam's camera and mic */
        char *node;        /* device node or "" */
        char *label;
        char *facing_mode; /* "", "user", "environment", "left", "right" */
        DeviceKind kind;
        bool is_default;

        VideoMode *modes; /* cameras: native modes in the device's order */
        size_t n_modes;
        AudioCapabilities audio;

        const DeviceOps *ops;
        void *backend_data;

        bool capturing;
        CaptureFormat format; /* valid while capturing */
        DeviceConsumer consumer;
};

/* Allocation and reference counting. device_new() gives a device with n_ref 1 and no
 * strings set; the backend fills it in and hands it to device_registry_add(). */
Device *device_new(DeviceKind kind, const char *backend, const char *name, const DeviceOps *ops);
Device *device_ref(Device *d);
Device *device_unref(Device *d);
static inline void device_unrefp(Device **d) {
        if (*d)
                device_unref(*d);
}

/* Capture control used by the capture layer. device_start(): -EBUSY while already capturing,
 * -ENODEV once removed from the registry, else what ops->start returns. device_stop() is
 * idempotent and does not call the consumer. */
int device_start(Device *d, const CaptureFormat *fmt, const DeviceConsumer *consumer);
void device_stop(Device *d);

/* Called by backends. */
void device_deliver_frame(Device *d, const Frame *f);
/* A buffer to capture the next frame into, lent by the consumer; false when it has none. The
 * backend then delivers a frame with f->buffer set to it, or gives it back unused. */
bool device_lend_buffer(Device *d, size_t size, DeviceBuffer *ret);
void device_return_buffer(Device *d, const DeviceBuffer *b);
/* ops->return_lent, where the backend has it. */
void device_return_lent(Device *d);
void device_report_error(Device *d, int error); /* stops the device, tells the consumer (error < 0) */

/* The registry of every device of every backend. */
typedef enum RegistryEvent {
        REGISTRY_DEVICE_ADDED,
        REGISTRY_DEVICE_REMOVED,
} RegistryEvent;

typedef void (*registry_callback_t)(DeviceRegistry *r, RegistryEvent ev, Device *d, void *userdata);

int device_registry_new(sd_event *event, DeviceRegistry **ret);
/* Stops and drops every device without calling the callback (the owner is going away). */
DeviceRegistry *device_registry_free(DeviceRegistry *r);
static inline void device_registry_freep(DeviceRegistry **r) {
        if (*r)
                device_registry_free(*r);
}
void device_registry_set_callback(DeviceRegistry *r, registry_callback_t cb, void *userdata);
sd_event *device_registry_get_event(DeviceRegistry *r);

/* Takes a reference. Fails with -EEXIST if (backend, name) is taken. */
int device_registry_add(DeviceRegistry *r, Device *d);
/* Stops capture (without the consumer's event callback), takes the device out of the list,
 * tells the callback, drops the registry's reference. */
void device_registry_remove(DeviceRegistry *r, Device *d);
Device *device_registry_find(DeviceRegistry *r, const char *backend, const char *name);

/* Devices in enumeration order (defaults of each kind first, then insertion order). */
size_t device_registry_count(DeviceRegistry *r);
Device *device_registry_get(DeviceRegistry *r, size_t i);
size_t device_registry_count_kind(DeviceRegistry *r, DeviceKind kind);
