/* The capture fan-out: one capture per device, shared by every track (sink) attached to it,
 * in one native mode that covers them all, released when nobody is active. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audio-processing.h"
#include "devices/device.h"
#include "stream.h"

/* How long a device keeps running once no sink is active (all disabled or muted): long enough
 * to ride over a quick toggle, short enough for "released within 3 seconds". */
#define CAPTURE_RELEASE_DELAY_USEC (2 * 1000000ULL)

typedef struct CaptureSink CaptureSink; /* one per track */

typedef struct CaptureSinkRequest {
        /* video: the chosen settings of the track */
        size_t mode; /* index of the native mode the constraint engine picked */
        uint32_t width, height;
        double frame_rate;
        /* audio */
        uint32_t sample_rate, channels;
        AudioProcessingSettings processing; /* done once per combination, shared (audio-processing-set.h) */
} CaptureSinkRequest;

/* Attach a sink to d, starting the device if it is the first (in req->mode for a camera, at
 * req's rate and channels for a microphone). If the running mode does not cover the new sink
 * (width, height, frame rate), the device restarts in the first native mode in the device's
 * order that covers every sink. Errors: -EBUSY when no mode covers them all, or a microphone
 * already runs at another rate (NotReadableError: "in use in an incompatible mode"), or the
 * device is held by another program; -ENODEV for a removed device; -EINVAL for a request the
 * device cannot serve at all; others from the backend (AbortError). On failure nothing changes
 * for the sinks already attached. A new sink is active. */
int capture_sink_new(Device *d, const CaptureSinkRequest *req, CaptureSink **ret);

/* Detach; the device stops with its last sink. Returns NULL. */
CaptureSink *capture_sink_free(CaptureSink *s);
static inline void capture_sink_freep(CaptureSink **s) {
        if (*s)
                capture_sink_free(*s);
}

/* The stream frames go to (not owned: the owner detaches it with NULL before freeing it; a shared
 * stream detached leaves its group). The stream's own state decides what it gets: muted streams
 * nothing, disabled ones black frames while the device runs. */
void capture_sink_set_stream(CaptureSink *s, Stream *stream);

/* Open a stream for the sink in the wire format version (MG_WIRE_VERSION_*) and attach it
 * (capture_sink_set_stream()). Version-2 video streams join the device's group for their output
 * format (one shared pool, frames written once); others get a pool of their own. The fds are the
 * client's (see stream_new()); the stream is the caller's to free, after detaching it. */
int capture_sink_open_stream(CaptureSink *s, const StreamConfig *cfg, unsigned version, Stream **ret,
                             int *ret_control_fd, int *ret_pool_fd);
/* ApplyConstraints for the attached stream: a shared one moves to the group of its new format
 * (POOL, FORMAT), one with its own pool changes format within it (stream_set_format()). */
int capture_sink_set_stream_format(CaptureSink *s, const StreamConfig *cfg);
/* The pool bytes a new stream of cfg would add for a user whose open streams already use the
 * groups listed (stream_get_group()): 0 when it joins one of them. */
size_t capture_sink_stream_charge(CaptureSink *s, const StreamConfig *cfg, unsigned version,
                                  const void *const *groups_in_use, size_t n_in_use);

/* false: the track is disabled or muted. When no sink of a device is active the device stops
 * after the release delay, and starts again when one becomes active; if that start fails the
 * event handler is called (from the event loop, never from inside this call). */
void capture_sink_set_active(CaptureSink *s, bool active);

/* ApplyConstraints: serve the sink with new settings, restarting the device in a covering mode
 * if needed. Same errors as capture_sink_new(); on failure the old settings stay in force. The
 * caller then announces the new format with stream_set_format(). */
int capture_sink_reconfigure(CaptureSink *s, const CaptureSinkRequest *req);

/* A device failed while capturing (or could not be started again after a release): the owner
 * ends the tracks of that device. Called from the event loop, never from inside a capture_*()
 * call, so that the handler may free sinks. */
typedef void (*capture_event_handler_t)(Device *d, int error, void *userdata);
void capture_set_event_handler(capture_event_handler_t cb, void *userdata);

/* The device is capturing for some sink (for the indicator), and a callback on each change
 * (called synchronously, also from inside capture_*() calls: it must not call back in). A
 * restart in another mode is not a change. */
bool capture_device_is_live(Device *d);
typedef void (*capture_live_handler_t)(Device *d, bool live, void *userdata);
void capture_set_live_handler(capture_live_handler_t cb, void *userdata);

/* The mode a device runs in (or would resume in after a release); false if it has no sinks. */
bool capture_get_format(Device *d, CaptureFormat *ret);

/* Tests shorten the release delay instead of waiting two seconds. */
void capture_set_release_delay(uint64_t usec);
