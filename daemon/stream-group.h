/* Stream groups: the streams of one device with the same output format share one sealed pool
 * (wire format version 2). A frame is scaled or converted once per group, written into one slot,
 * and announced to every stream it is due for; a slot is rewritten only after every stream it
 * went to released it; each stream may hold at most max_held slots (beyond that its frames are
 * dropped, for it alone); when a stream leaves, the others move to a fresh pool before the next
 * frame, so that a stream that ended never sees a frame captured after its end. A version-1
 * stream has a group of its own (stream_new()). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "devices/device.h"
#include "scale.h"
#include "stream.h"

/* A shared pool: enough slots that one client holding max_held of them leaves the rest
 * streaming; few enough that 32 streams of 1080p stay in a few dozen MiB (with the spare). */
#define STREAM_GROUP_SLOTS 6u
#define STREAM_GROUP_MAX_HELD 2u

typedef struct StreamGroup StreamGroup;

/* A shared group for video streams of cfg's output format (kind, fourcc, width, height,
 * slot_size; n_slots and frame_rate are ignored). */
int stream_group_new(sd_event *event, const StreamConfig *cfg, StreamGroup **ret);
/* Only an empty group may go; returns NULL. */
StreamGroup *stream_group_free(StreamGroup *g);
bool stream_group_is_empty(const StreamGroup *g);
/* Whether a stream of cfg belongs in g (same output format and slot size). */
bool stream_group_matches(const StreamGroup *g, const StreamConfig *cfg);

/* A version-2 stream in g: the client's control socket and a read-only fd of g's current pool.
 * cfg gives the stream's frame rate. Same errors as stream_new(). */
int stream_new_in_group(StreamGroup *g, const StreamConfig *cfg, Stream **ret, int *ret_control_fd,
                        int *ret_pool_fd);

/* ApplyConstraints on a version-2 stream: it moves to group `to` (POOL, then FORMAT), the
 * streams it leaves move on as after any leave. -ESHUTDOWN once it ended. */
int stream_move_to_group(Stream *s, StreamGroup *to);

/* Deliver one captured video frame to every stream of g it is due for (see stream_push_video()).
 * If f->buffer was lent by g (stream_group_lend()), the frame is already in its slot: no copy. */
void stream_group_push_video(StreamGroup *g, const Frame *f, const ScalePlan *plan);

/* Lend a free slot of g's pool to a capture that renders straight into it. false: none free
 * (the capture renders into its own buffer and the group copies). Every lent buffer comes back
 * through stream_group_push_video() or stream_group_unlend(). */
bool stream_group_lend(StreamGroup *g, DeviceBuffer *ret);
void stream_group_unlend(StreamGroup *g, const DeviceBuffer *b);
/* Who takes back the slots lent to a capture that keeps them across frames, called when a
 * stream leaves g while some are out. */
void stream_group_set_return_lent(StreamGroup *g, void (*fn)(void *userdata), void *userdata);

/* Output format of the group's frames. */
void stream_group_get_config(const StreamGroup *g, StreamConfig *ret);
/* Resident bytes of the group's pools (current and spare) and the current pool's serial, for
 * the per-user accounting. */
size_t stream_group_resident_bytes(const StreamGroup *g);
uint64_t stream_group_pool_serial(const StreamGroup *g);
/* What a user is charged for a group its streams use: the pool, and for a shared group also the
 * spare it keeps, as resident bytes; and the same estimated for a group not made yet. */
size_t stream_group_charge(const StreamGroup *g);
size_t stream_group_estimate_charge(const StreamConfig *cfg, bool shared);
/* Pool moves so far, and those that had no pre-faulted spare ready. */
void stream_group_get_moves(const StreamGroup *g, uint64_t *ret_moves, uint64_t *ret_without_spare);

/* For the stream functions that live here (stream_new(), stream_set_format(), ...). */
/* The group of a single stream's own pool (cfg->n_slots of cfg->slot_size, not pre-faulted). */
int stream_group_new_own(sd_event *event, const StreamConfig *cfg, StreamGroup **ret);
void stream_group_set_own_format(StreamGroup *g, const StreamConfig *cfg, uint32_t stride, size_t frame_size);
int stream_group_add(StreamGroup *g, Stream *s);
/* The stream no longer gets frames from g; the others move to a fresh pool before the next
 * frame (shared groups). Its held slots are given back. */
void stream_group_remove(StreamGroup *g, Stream *s);
