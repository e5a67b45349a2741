/* A synthetic Motion-JPEG camera's insides: the "sensor and encoder" draws each frame (the test
 * pattern with the frame stamp as a frame code) and encodes it as a 4:2:2 JPEG on a thread of
 * its own, as a webcam does in its own hardware; the JPEG frames then take the path of a real
 * MJPEG camera's, through a MjpegStage, and come back decoded. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "mjpeg-stage.h"

/* JPEG quality of synthetic cameras, as webcams send. */
#define SYNTHETIC_MJPEG_QUALITY 85
/* Frames drawn and encoded ahead at most; a tick finding them all busy is skipped, as a camera
 * that cannot keep up skips a frame (the sequence counts only frames sent). */
#define SYNTHETIC_MJPEG_ENCODE_SLOTS 4
/* The camera's encoder stands for hardware of its own: on the daemon's CPU it gives way to
 * everything else the daemon does (frame-worker.h). */
#define SYNTHETIC_MJPEG_ENCODER_NICE 8

typedef struct SyntheticMjpeg SyntheticMjpeg;

/* A camera of width x height (both even) with the 16-byte tag, delivering decoded frames to
 * deliver on the event loop. name: the device's, for the threads' names. */
int synthetic_mjpeg_new(sd_event *event, const char *name, uint32_t width, uint32_t height, const uint8_t tag[16],
                        mjpeg_stage_deliver_t deliver, void *userdata, SyntheticMjpeg **ret);
/* Stops both threads; nothing is delivered afterwards. Safe from inside deliver. */
SyntheticMjpeg *synthetic_mjpeg_free(SyntheticMjpeg *m);

/* A frame is captured now: frame number sequence, taken at timestamp_ns. -ENOBUFS when the
 * encoder is still busy with earlier frames (this one is not made). */
int synthetic_mjpeg_capture(SyntheticMjpeg *m, uint64_t sequence, uint64_t timestamp_ns);

void synthetic_mjpeg_get_stats(SyntheticMjpeg *m, MjpegStageStats *ret);
