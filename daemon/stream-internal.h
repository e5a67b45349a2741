/* What stream.c (one client's control socket) and stream-group.c (the pool that streams of one
 * output format share, and the delivery of a frame to all of them) know of each other. */
#pragma once

#include "pool.h"
#include "stream-group.h"
#include "stream.h"

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
};

/* stream.c, for the group */
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

/* stream-group.c, for stream.c */
/* The group of a single stream's own pool (cfg->n_slots of cfg->slot_size, not pre-faulted). */
int stream_group_new_own(sd_event *event, const StreamConfig *cfg, StreamGroup **ret);
void stream_group_set_own_format(StreamGroup *g, const StreamConfig *cfg, uint32_t stride, size_t frame_size);
int stream_group_add(StreamGroup *g, Stream *s);
/* The stream no longer gets frames from g; the others move to a fresh pool before the next
 * frame (shared groups). Its held slots are given back. */
void stream_group_remove(StreamGroup *g, Stream *s);
