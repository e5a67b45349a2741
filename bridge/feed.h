/* The frame path of one node: the buffers of its pw_stream and the mediagate stream that fills
 * them. A camera's buffers are, where the formats allow, the slots of mediagate's sealed pool
 * itself (MemFd buffer data): a frame then reaches the consumer without a copy, and its slot goes
 * back to the daemon when PipeWire recycles the buffer. Otherwise each frame is copied into a
 * buffer of the bridge's own. */
#pragma once

#include <stdbool.h>
#include <pipewire/stream.h>
#include <systemd/sd-event.h>

#include "formats.h"
#include "mediagate.h"

typedef struct Feed Feed;

typedef struct FeedHandlers {
        /* The mediagate stream of track ended (reason: a Track.Ended reason, "stopped",
         * "disconnected", ...) or failed ("error"); the feed is detached. */
        void (*ended)(Feed *f, MgTrack *track, const char *reason, void *userdata);
} FeedHandlers;

typedef struct FeedStats {
        uint64_t frames_in, frames_out, frames_copied, frames_dropped;
        uint64_t silence_bytes; /* audio: what a cycle got for want of sound (underruns) */
} FeedStats;

int feed_new(sd_event *event, struct pw_stream *stream, const FeedHandlers *handlers, void *userdata, Feed **ret);
Feed *feed_free(Feed *f);

/* The negotiated format: (re)declares the buffers it needs. NULL: none any more. */
int feed_set_format(Feed *f, const NegotiatedFormat *format);

/* Open the track's stream and feed its frames; with zero_copy, its pool is to become the buffers
 * (when PipeWire asks for buffers again: feed_is_zero_copy()). -EMEDIUMTYPE when the frames it
 * delivers do not have the negotiated format (the format in *ret_delivered then). */
int feed_attach(Feed *f, MgTrack *track, bool zero_copy, MgStreamFormat *ret_delivered, MgError *err);
void feed_detach(Feed *f);
MgTrack *feed_get_track(const Feed *f);
/* Whether the attached stream's pool serves as the buffers (once PipeWire asks for buffers again). */
bool feed_is_zero_copy(const Feed *f);

/* Frames go out only while the gate is open (every consumer is allowed); others are dropped. */
void feed_set_open(Feed *f, bool open);
const FeedStats *feed_get_stats(const Feed *f);

/* The pw_stream's events, forwarded by the node. */
void feed_add_buffer(Feed *f, struct pw_buffer *b);
void feed_remove_buffer(Feed *f, struct pw_buffer *b);
void feed_process(Feed *f);
