/* One client stream: the SOCK_SEQPACKET control socket and the per-stream delivery rules (slot
 * ownership, drops, decimation, mute, black frames, stamp), on a pool of its own (wire format
 * version 1, stream_new()) or on one it shares with the other streams of its group (version 2,
 * stream-group.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "devices/device.h"
#include "pool.h"
#include "scale.h"

/* Bounds that keep one client from making the daemon map absurd amounts of memory. */
#define STREAM_SLOTS_MAX POOL_SLOTS_MAX
#define STREAM_POOL_SIZE_MAX POOL_SIZE_MAX

typedef struct StreamConfig {
        DeviceKind kind;
        /* video output */
        uint32_t width, height, fourcc; /* fourcc of the output = the capture's (YUYV or NV12) */
        double frame_rate;              /* output rate; lower than the capture's = decimation; <= 0: every frame */
        /* audio output (S16_LE interleaved) */
        uint32_t sample_rate, channels, frames_per_slot;
        size_t slot_size; /* >= the largest frame this stream may ever carry (so that
                           * ApplyConstraints can change the format within it) */
        unsigned n_slots; /* e.g. 4 video, 8 audio */
} StreamConfig;

/* What Track.Open() reports in its format dictionary. */
typedef struct StreamFormat {
        DeviceKind kind;
        uint32_t fourcc, width, height, stride, frame_size; /* video */
        uint32_t rate, channels, frames_per_slot;            /* audio, S16_LE */
        uint32_t slots, slot_size;
        uint32_t version;  /* MG_WIRE_VERSION_* */
        uint32_t max_held; /* slots the client may hold before its frames are dropped */
} StreamFormat;

typedef struct Stream Stream;

/* The bytes one frame of cfg takes in a slot (video: scale_output_layout(); audio:
 * frames_per_slot * channels * 2). -EINVAL for a config that cannot be streamed. */
int stream_config_frame_size(const StreamConfig *cfg, uint32_t *ret_stride, size_t *ret_size);

/* Create a stream with a pool of its own (wire format version 1) and the control socket. The two
 * fds returned are the client's, owned by the caller: ret_control_fd is the client end of the
 * socket pair, ret_pool_fd a read-only fd of the sealed pool. -EINVAL for a bad config, -E2BIG
 * when a frame does not fit slot_size or the pool would exceed STREAM_POOL_SIZE_MAX,
 * -EMFILE/-ENFILE/-ENOMEM when out of resources (nothing is left half-built). */
int stream_new(sd_event *event, const StreamConfig *cfg, Stream **ret, int *ret_control_fd, int *ret_pool_fd);
/* The same for a version (MG_WIRE_VERSION_*): a version-2 stream made here has a pool of its own
 * (audio; POOL is never sent) and may hold every slot. */
int stream_new_version(sd_event *event, const StreamConfig *cfg, unsigned version, Stream **ret,
                       int *ret_control_fd, int *ret_pool_fd);

/* Leaves the pool (a shared one moves the other streams on) and closes everything; sends no
 * message (the client sees EOF). */
Stream *stream_free(Stream *s);
static inline void stream_freep(Stream **s) {
        if (*s)
                stream_free(*s);
}

/* Deliver one captured video frame: decimate to the stream's rate, take a released slot (none:
 * drop and count), crop-and-scale straight from the capture buffer into the slot with plan (or,
 * if plan is NULL or does not match the frame and the stream's format, with a plan the stream
 * builds and keeps), stamp it if f->stamp, send FRAME. Never blocks and never calls back into
 * the owner. */
void stream_push_video(Stream *s, const Frame *f, const ScalePlan *plan);

/* Deliver one captured audio period of src_channels interleaved S16_LE channels, split over as
 * many slots as it needs; fewer output channels are downmixed (averaged). */
void stream_push_audio(Stream *s, const Frame *f, uint32_t src_channels);

/* MUTED / UNMUTED once per change; a muted stream gets no frames. */
void stream_set_muted(Stream *s, bool muted);
/* A disabled stream gets black frames (Y = 16, U = V = 128) or silence with FRAME flag BLACK. */
void stream_set_enabled(Stream *s, bool enabled);
/* New output format (ApplyConstraints) within the same pool: sends FORMAT; later frames use it.
 * cfg->kind must stay; slot_size, n_slots and the video fourcc are kept from stream_new() (FORMAT
 * carries no fourcc: frames from a capture mode in the other format are converted). -E2BIG if a
 * frame of cfg does not fit slot_size, -EINVAL for a bad config, -ESHUTDOWN once the stream has
 * ended or closed. */
int stream_set_format(Stream *s, const StreamConfig *cfg);

/* No frame reaches the stream any more (its device is going); a shared pool moves on without
 * it. stream_end() still tells the client. */
void stream_detach(Stream *s);

/* The daemon ends the stream: ENDED{reason} (MG_ENDED_*), then shutdown(SHUT_RDWR); the pool is
 * unmapped and never written again. No closed callback follows. Idempotent. */
void stream_end(Stream *s, uint32_t reason);

/* Called from the event loop when the client closed its end, or broke the protocol (anything
 * that is not a well-formed RELEASE of a slot it holds). The stream is then dead (pool unmapped,
 * no more frames); the owner frees it, from inside the callback if it likes. */
typedef void (*stream_closed_callback_t)(Stream *s, void *userdata);
void stream_set_closed_callback(Stream *s, stream_closed_callback_t cb, void *userdata);

uint64_t stream_get_dropped(Stream *s);
uint64_t stream_get_delivered(Stream *s);
bool stream_is_open(Stream *s); /* neither ended nor closed by the client */
bool stream_is_shared(Stream *s); /* in a group of version-2 streams (stream-group.h) */
unsigned stream_get_version(Stream *s);
/* The group whose pool it uses (NULL once ended or closed). */
struct StreamGroup *stream_get_group(Stream *s);
void stream_get_config(Stream *s, StreamConfig *ret);
void stream_get_format(Stream *s, StreamFormat *ret);

/* ---- Inside: what stream.c and stream-group.c share; nothing else looks at these. ---- */

typedef struct StreamGroup StreamGroup;

struct StreamGroup {
        sd_event *event;
        bool shared;       /* version 2, video: any number of streams; else one stream's own pool */
        StreamConfig cfg;  /* the output format; frame_rate is each stream's own */
        uint32_t stride;
        size_t frame_size;

        Pool *pool;
        Pool *spare;         /* pre-faulted, for the next move (shared groups of two streams or more) */
        sd_event_source *spare_event;
        bool need_move;      /* a stream left: the others move to a fresh pool before the next frame */
        uint64_t last_exhaustion_move_usec;
        uint64_t moves, moves_without_spare;
        unsigned next_slot;

        Stream **streams;
        size_t n_streams, n_allocated;

        ScalePlan *own_plan; /* used when the caller gives no plan */

        /* Slots lent to a capture that keeps them across frames (queued to a driver), and who
         * takes them back when a stream leaves: until then the capture may write there. */
        uint64_t lent;
        void (*return_lent)(void *userdata);
        void *return_lent_userdata;

        /* A written slot being announced to its streams (s->want == want) a chunk at a time, so
         * that the bus is served between chunks; the slot stays reserved until the last. */
        struct {
                bool active;
                unsigned slot;
                size_t next; /* index into streams */
                uint64_t sequence, timestamp_ns;
                size_t bytes;
                uint32_t flags;
        } announce[2]; /* [0]: want 1 (the picture), [1]: want 2 (black) */
        sd_event_source *announce_event;
};

struct Stream {
        sd_event *event;
        sd_event_source *io;
        sd_event_source *close_event; /* a close found inside a frame push is reported from the loop */
        int fd; /* the daemon's end of the control socket */
        unsigned version;
        unsigned max_held;

        /* The group whose pool frames go to. NULL once ended, closed or left: from then on
         * nothing this stream does can write into any pool. own_group: a pool of its own. */
        StreamGroup *group;
        bool own_group;

        StreamConfig cfg;  /* output format (the group's) and the stream's own frame_rate */
        uint32_t stride;   /* video */
        size_t frame_size; /* video: bytes of one frame; audio: of a full slot */

        uint64_t held;       /* bit i: the client holds slot i of the group's current pool */
        uint64_t generation; /* of the newest pool announced (or to be announced) to the client */

        bool muted, sent_muted;
        bool enabled;
        bool pending_format;
        bool pending_pool;
        bool ended;  /* stream_end() */
        bool closed; /* the client closed or broke the protocol */
        bool broken; /* a send failed for good; the io source reports the hangup */
        const char *close_reason;

        uint64_t dropped;
        uint64_t delivered;

        /* decimation */
        bool have_due;
        double next_due_ns;
        bool have_last;
        uint64_t last_ns;

        /* set by the group while it delivers one frame */
        int want; /* 0 nothing, 1 the frame, 2 a black frame */

        stream_closed_callback_t closed_cb;
        void *closed_userdata;
        /* Set by the group it joined: takes it out when it leaves (the group is above us). */
        void (*leave)(Stream *s);
};

/* stream.c, for stream-group.c */
/* stream_config_frame_size() plus the pool bounds of cfg. */
int stream_config_check(const StreamConfig *cfg, uint32_t *ret_stride, size_t *ret_size);
bool stream_alive(Stream *s);
bool stream_has_pending(Stream *s);
void stream_flush_pending(Stream *s);
bool stream_frame_is_due(Stream *s, uint64_t ts);
/* Read what the client sent (RELEASEs); a protocol error or EOF closes the stream, reported to
 * the owner from the event loop. */
void stream_drain(Stream *s);
unsigned stream_held_count(Stream *s);
/* Send FRAME for slot of the group's pool; the slot is held from then on (or the frame counts as
 * dropped when the socket is full). */
void stream_send_frame(Stream *s, unsigned slot, uint64_t sequence, uint64_t timestamp_ns, size_t bytes,
                       uint32_t flags);
void stream_write_stamp(uint8_t *dst, size_t bytes, const Frame *f);

int stream_alloc(sd_event *event, const StreamConfig *cfg, unsigned version, Stream **ret);
int stream_setup_socket(Stream *s, int *ret_client);
void stream_release_all_held(Stream *s);
void stream_apply_config(Stream *s, const StreamConfig *c, uint32_t stride, size_t size);
