/* The frame path of one node (see feed.h). Everything runs on the one loop: frames are read from
 * the control socket when it is readable, kept as pending, and handed to PipeWire from the
 * stream's process callback (the node drives the graph, so it asks for that callback with
 * pw_stream_trigger_process() when a frame came). */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <spa/buffer/meta.h>
#include <spa/param/buffers.h>
#include <spa/param/video/raw.h>
#include <spa/param/param.h>
#include <spa/pod/builder.h>

#include "feed.h"
#include "log.h"
#include "util.h"

#define FEED_BUFFERS_MAX 32u
#define COPY_BUFFERS_VIDEO 4u
#define COPY_BUFFERS_AUDIO 8u
/* Audio periods waiting for the next cycle; a camera keeps only its newest frame. */
#define PENDING_MAX 16u
/* How soon a cycle runs to take back buffers when all of them are out. */
#define KICK_USEC 2000u
/* An audio buffer has room for this many 10 ms periods (it carries one). */
#define AUDIO_PERIODS_PER_BUFFER 2u
/* The periods queued beyond a cycle's worth before sound starts: the latency bought for
 * running through a late period without a gap. */
#define AUDIO_MARGIN_PERIODS 2u

typedef struct FeedBuffer {
        struct pw_buffer *pw;
        bool ours;        /* dequeued: the bridge holds it, not PipeWire */
        bool pool;        /* its data is a slot of mediagate's pool (read-only) */
        uint32_t slot;
        int memfd;        /* a buffer of our own: -1 otherwise */
        void *map;
        size_t size;
        bool holds_frame; /* zero copy: the frame it carries, released when it comes back */
        MgFrame frame;
} FeedBuffer;

struct Feed {
        sd_event *event;
        struct pw_stream *stream;
        FeedHandlers handlers;
        void *userdata;

        bool have_format;
        NegotiatedFormat format;
        uint32_t frame_size, stride;

        FeedBuffer buffers[FEED_BUFFERS_MAX];
        uint32_t n_buffers, n_alive;

        /* The pool as buffer memory: our own descriptor and read-only mapping of it, alive as
         * long as a buffer uses it (after the mediagate stream is gone too). */
        bool zero_copy;
        int pool_fd;
        const uint8_t *pool_map;
        size_t pool_size;
        uint32_t slot_size, slots;
        const uint8_t *stream_pool_base; /* where libmediagate maps the same pool */

        MgTrack *track;
        MgStream *mg;
        sd_event_source *io;
        sd_event_source *kick; /* a cycle to take buffers back (zero copy) */
        MgFrame pending[PENDING_MAX];
        uint32_t n_pending;
        uint32_t pending_offset; /* audio: bytes of pending[0] already sent */
        bool audio_flowing;      /* audio: the last cycle had sound */
        bool open;
        FeedStats stats;
};

int feed_new(sd_event *event, struct pw_stream *stream, const FeedHandlers *handlers, void *userdata, Feed **ret) {
        Feed *f = new0(Feed, 1);

        if (!f)
                return -ENOMEM;
        f->event = sd_event_ref(event);
        f->stream = stream;
        f->handlers = *handlers;
        f->userdata = userdata;
        f->pool_fd = -1;
        for (uint32_t i = 0; i < FEED_BUFFERS_MAX; i++)
                f->buffers[i].memfd = -1;
        *ret = f;
        return 0;
}

static void pool_unmap(Feed *f) {
        if (f->pool_map)
                munmap((void *) f->pool_map, f->pool_size);
        f->pool_map = NULL;
        f->pool_fd = safe_close(f->pool_fd);
}

static void buffer_clear(FeedBuffer *fb) {
        if (fb->map)
                munmap(fb->map, fb->size);
        safe_close(fb->memfd);
        *fb = (FeedBuffer) { .memfd = -1 };
}

Feed *feed_free(Feed *f) {
        if (!f)
                return NULL;
        feed_detach(f);
        for (uint32_t i = 0; i < FEED_BUFFERS_MAX; i++)
                buffer_clear(&f->buffers[i]);
        pool_unmap(f);
        sd_event_unref(f->event);
        free(f);
        return NULL;
}

/* ---- buffers ---- */

static int video_layout(const NegotiatedFormat *fmt, uint32_t *stride, uint32_t *size) {
        uint64_t s, total;

        if (fmt->video_format == SPA_VIDEO_FORMAT_YUY2) {
                s = ((uint64_t) fmt->width + 1) / 2 * 4;
                total = s * fmt->height;
        } else {
                s = ((uint64_t) fmt->width + 1) / 2 * 2;
                total = s * fmt->height + s * ((fmt->height + 1) / 2);
        }
        if (total > UINT32_MAX)
                return -EOVERFLOW;
        *stride = (uint32_t) s;
        *size = (uint32_t) total;
        return 0;
}

/* Declare the buffers: the pool's slots (zero copy) or buffers of our own. PipeWire renegotiates
 * the link's buffers when this changes. */
static int feed_update_params(Feed *f) {
        uint8_t space[1024];
        struct spa_pod_builder b = SPA_POD_BUILDER_INIT(space, sizeof(space));
        const struct spa_pod *params[2];
        uint32_t n, size, stride, types;

        if (f->format.kind == SOURCE_CAMERA) {
                n = f->zero_copy ? f->slots : COPY_BUFFERS_VIDEO;
                size = f->zero_copy ? f->slot_size : f->frame_size;
                stride = f->stride;
                types = 1u << SPA_DATA_MemFd;
        } else {
                n = COPY_BUFFERS_AUDIO;
                stride = f->format.channels * 2;
                size = f->format.rate / 100 * stride * AUDIO_PERIODS_PER_BUFFER;
                types = (1u << SPA_DATA_MemPtr) | (1u << SPA_DATA_MemFd);
        }
        params[0] = spa_pod_builder_add_object(&b, SPA_TYPE_OBJECT_ParamBuffers, SPA_PARAM_Buffers,
                SPA_PARAM_BUFFERS_buffers, SPA_POD_CHOICE_RANGE_Int(n, f->zero_copy ? n : 2u, f->zero_copy ? n : 16u),
                SPA_PARAM_BUFFERS_blocks, SPA_POD_Int(1),
                SPA_PARAM_BUFFERS_size, SPA_POD_Int(size),
                SPA_PARAM_BUFFERS_stride, SPA_POD_Int(stride),
                SPA_PARAM_BUFFERS_dataType, SPA_POD_CHOICE_FLAGS_Int(types));
        params[1] = spa_pod_builder_add_object(&b, SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta,
                SPA_PARAM_META_type, SPA_POD_Id(SPA_META_Header),
                SPA_PARAM_META_size, SPA_POD_Int(sizeof(struct spa_meta_header)));
        return pw_stream_update_params(f->stream, params, 2);
}

int feed_set_format(Feed *f, const NegotiatedFormat *format) {
        int r;

        if (!format) {
                f->have_format = false;
                feed_detach(f);
                return 0;
        }
        f->format = *format;
        f->have_format = true;
        if (format->kind == SOURCE_CAMERA) {
                r = video_layout(format, &f->stride, &f->frame_size);
                if (r < 0)
                        return r;
        }
        return feed_update_params(f);
}

static int buffer_alloc_own(FeedBuffer *fb, struct spa_data *d, size_t size) {

        if (size == 0)
                return -EINVAL;
        fb->memfd = memfd_create("mediagate-pipewire-buffer", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fb->memfd < 0)
                return -errno;
        if (ftruncate(fb->memfd, (off_t) size) < 0)
                return -errno;
        (void) fcntl(fb->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
        fb->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fb->memfd, 0);
        if (fb->map == MAP_FAILED) {
                fb->map = NULL;
                return -errno;
        }
        fb->size = size;
        d->type = SPA_DATA_MemFd;
        d->flags = SPA_DATA_FLAG_READWRITE;
        d->fd = fb->memfd;
        d->mapoffset = 0;
        d->maxsize = (uint32_t) size;
        d->data = fb->map;
        return 0;
}

void feed_add_buffer(Feed *f, struct pw_buffer *b) {
        struct spa_data *d = b->buffer->n_datas > 0 ? &b->buffer->datas[0] : NULL;
        FeedBuffer *fb;
        int r;

        if (f->n_buffers >= FEED_BUFFERS_MAX || !d) {
                log_warning("Ignoring a PipeWire buffer beyond the %u this node handles.", FEED_BUFFERS_MAX);
                return;
        }
        fb = &f->buffers[f->n_buffers];
        *fb = (FeedBuffer) { .pw = b, .memfd = -1 };
        b->user_data = fb;
        log_debug("PipeWire buffer %u added (%s).", f->n_buffers, f->zero_copy ? "pool" : "own");
        f->n_buffers++;
        f->n_alive++;
        if (f->format.kind != SOURCE_CAMERA)
                return; /* PipeWire allocates and maps audio buffers */

        if (f->zero_copy && f->pool_map && fb - f->buffers < (ptrdiff_t) f->slots) {
                fb->pool = true;
                fb->slot = (uint32_t) (fb - f->buffers);
                d->type = SPA_DATA_MemFd;
                d->flags = SPA_DATA_FLAG_READABLE;
                d->fd = f->pool_fd;
                d->mapoffset = fb->slot * f->slot_size;
                d->maxsize = f->slot_size;
                d->data = (void *) (f->pool_map + (size_t) fb->slot * f->slot_size);
                return;
        }
        r = buffer_alloc_own(fb, d, f->frame_size);
        if (r < 0)
                log_error_errno(r, "Cannot allocate a PipeWire buffer: %m");
}

void feed_remove_buffer(Feed *f, struct pw_buffer *b) {
        FeedBuffer *fb = b->user_data;

        if (!fb)
                return;
        log_debug("PipeWire buffer %td removed.", fb - f->buffers);
        if (fb->holds_frame && f->mg)
                (void) mg_frame_release(f->mg, &fb->frame);
        buffer_clear(fb);
        b->user_data = NULL;
        if (f->n_alive > 0 && --f->n_alive == 0) {
                f->n_buffers = 0;
                if (!f->zero_copy)
                        pool_unmap(f);
        }
}

/* ---- frames ---- */

static void release_pending(Feed *f) {
        for (uint32_t i = 0; i < f->n_pending; i++)
                (void) mg_frame_release(f->mg, &f->pending[i]);
        f->n_pending = 0;
        f->pending_offset = 0;
        f->audio_flowing = false;
}

/* Buffers PipeWire gave back: they are ours again, and a slot one carried goes back to the daemon. */
static void recycle_buffers(Feed *f) {
        struct pw_buffer *b;

        while ((b = pw_stream_dequeue_buffer(f->stream))) {
                FeedBuffer *fb = b->user_data;

                if (!fb)
                        continue;
                fb->ours = true;
                if (fb->holds_frame) {
                        if (f->mg)
                                (void) mg_frame_release(f->mg, &fb->frame);
                        fb->holds_frame = false;
                }
        }
}

static FeedBuffer *find_own_buffer(Feed *f) {
        for (uint32_t i = 0; i < f->n_buffers; i++)
                if (f->buffers[i].pw && f->buffers[i].ours && !f->buffers[i].pool)
                        return &f->buffers[i];
        return NULL;
}

static void buffer_queue(Feed *f, FeedBuffer *fb, const MgFrame *frame, uint32_t bytes, uint32_t stride) {
        struct spa_data *d = &fb->pw->buffer->datas[0];
        struct spa_meta_header *h;

        d->chunk->offset = 0;
        d->chunk->size = bytes;
        d->chunk->stride = (int32_t) stride;
        d->chunk->flags = 0;
        h = spa_buffer_find_meta_data(fb->pw->buffer, SPA_META_Header, sizeof(*h));
        if (h)
                *h = (struct spa_meta_header) {
                        .pts = (int64_t) frame->timestamp_ns,
                        .seq = frame->sequence,
                };
        fb->ours = false;
        fb->pw->size = stride ? bytes / stride : bytes;
        (void) pw_stream_queue_buffer(f->stream, fb->pw);
        f->stats.frames_out++;
}

/* A camera frame: its own slot when that is one of our buffers, else a copy. */
static void emit_video(Feed *f, MgFrame *frame) {
        FeedBuffer *fb = NULL;

        /* The slot is a buffer of ours only while libmediagate still maps the pool we shared
         * (its first frame tells where); a moved pool (wire version 2) goes the copy way. */
        if (f->zero_copy && !f->stream_pool_base)
                f->stream_pool_base = frame->data - (size_t) frame->slot * f->slot_size;
        if (f->zero_copy && frame->slot < f->n_buffers &&
            frame->data - (size_t) frame->slot * f->slot_size == f->stream_pool_base) {
                fb = &f->buffers[frame->slot];
                if (!fb->pw || !fb->pool || !fb->ours)
                        fb = NULL;
        }
        if (!fb && f->zero_copy && f->n_buffers > 0 && frame->slot >= f->n_buffers) {
                /* PipeWire took fewer buffers than the pool has slots: keep this slot, so that
                 * the daemon writes only into slots that are buffers. */
                f->stats.frames_dropped++;
                return;
        }
        if (fb) {
                fb->holds_frame = true;
                fb->frame = *frame;
                buffer_queue(f, fb, frame, frame->bytes, f->stride);
                return;
        }

        fb = find_own_buffer(f);
        if (!fb || frame->bytes > fb->size) {
                f->stats.frames_dropped++;
                (void) mg_frame_release(f->mg, frame);
                return;
        }
        memcpy(fb->map, frame->data, frame->bytes);
        f->stats.frames_copied++;
        buffer_queue(f, fb, frame, frame->bytes, f->stride);
        (void) mg_frame_release(f->mg, frame);
}

static uint64_t pending_audio_bytes(const Feed *f) {
        uint64_t bytes = 0;

        for (uint32_t i = 0; i < f->n_pending; i++)
                bytes += f->pending[i].bytes;
        return bytes - f->pending_offset;
}

/* Audio: the graph's driver asks for a quantum of samples a cycle; they are copied out of the
 * periods mediagate delivered (the stream's converter reads them there). A cycle that finds too
 * little gets silence, and the sound starts (again) only with a margin of AUDIO_MARGIN_PERIODS
 * queued: a late period on a busy machine then costs no gap. */
static void emit_audio(Feed *f) {
        uint32_t stride = f->format.channels * 2, want, done = 0;
        uint64_t needed;
        struct pw_buffer *b;
        struct spa_data *d;

        b = pw_stream_dequeue_buffer(f->stream);
        if (!b)
                return;
        d = &b->buffer->datas[0];
        want = d->maxsize / stride;
        if (b->requested > 0 && b->requested < want)
                want = (uint32_t) b->requested;
        want *= stride;
        needed = want + (f->audio_flowing ? 0 : (uint64_t) AUDIO_MARGIN_PERIODS * (f->format.rate / 100) * stride);
        f->audio_flowing = d->data && pending_audio_bytes(f) >= needed;
        if (f->audio_flowing)
                while (done < want && f->n_pending > 0) {
                        MgFrame *frame = &f->pending[0];
                        uint32_t n = MIN(frame->bytes - f->pending_offset, want - done);

                        memcpy((uint8_t *) d->data + done, frame->data + f->pending_offset, n);
                        done += n;
                        f->pending_offset += n;
                        if (f->pending_offset == frame->bytes) {
                                (void) mg_frame_release(f->mg, frame);
                                memmove(f->pending, f->pending + 1, (f->n_pending - 1) * sizeof(MgFrame));
                                f->n_pending--;
                                f->pending_offset = 0;
                                f->stats.frames_out++;
                                f->stats.frames_copied++;
                        }
                }
        if (d->data && done < want) {
                memset((uint8_t *) d->data + done, 0, want - done);
                f->stats.silence_bytes += want - done;
        }
        d->chunk->offset = 0;
        d->chunk->size = d->data ? want : 0;
        d->chunk->stride = (int32_t) stride;
        b->size = want / stride;
        (void) pw_stream_queue_buffer(f->stream, b);
}

static int on_kick(sd_event_source *s, uint64_t usec, void *userdata) {
        Feed *f = userdata;

        f->kick = sd_event_source_unref(f->kick);
        (void) pw_stream_trigger_process(f->stream);
        return 0;
}

/* PipeWire gives a buffer back in the cycle after its consumer let go of it, and this node runs
 * a cycle only when a frame came. With the pool as buffers, a frame comes only after a slot came
 * back: when every slot is out, run a cycle soon, so that they return. */
static void feed_kick_if_starved(Feed *f) {
        bool starved = f->zero_copy && f->mg && f->n_buffers > 0;

        for (uint32_t i = 0; starved && i < f->n_buffers; i++)
                if (f->buffers[i].pool && f->buffers[i].ours)
                        starved = false;
        if (starved && !f->kick)
                (void) sd_event_add_time_relative(f->event, &f->kick, CLOCK_MONOTONIC, KICK_USEC, 0, on_kick, f);
}

void feed_process(Feed *f) {
        if (f->format.kind == SOURCE_CAMERA) {
                recycle_buffers(f);
                if (f->n_pending > 0 && f->mg) {
                        MgFrame frame = f->pending[--f->n_pending];

                        emit_video(f, &frame);
                }
                feed_kick_if_starved(f);
                return;
        }
        if (f->mg)
                emit_audio(f);
}

static void feed_take_frame(Feed *f, MgFrame *frame) {
        f->stats.frames_in++;
        if (!f->open || !f->have_format) {
                f->stats.frames_dropped++;
                (void) mg_frame_release(f->mg, frame);
                return;
        }
        /* A camera's consumer wants the newest frame; an older one still waiting is dropped. */
        if (f->format.kind == SOURCE_CAMERA || f->n_pending == PENDING_MAX) {
                if (f->n_pending > 0) {
                        (void) mg_frame_release(f->mg, &f->pending[0]);
                        memmove(f->pending, f->pending + 1, (f->n_pending - 1) * sizeof(MgFrame));
                        f->n_pending--;
                        f->pending_offset = 0;
                        f->stats.frames_dropped++;
                }
        }
        f->pending[f->n_pending++] = *frame;
}

static int on_stream_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Feed *f = userdata;
        const char *reason = NULL;
        MgFrame frame;
        int r;

        for (;;) {
                r = mg_stream_next_frame(f->mg, 0, &frame);
                if (r == -EAGAIN)
                        break;
                if (r == MG_STREAM_FRAME) {
                        feed_take_frame(f, &frame);
                        continue;
                }
                reason = r == MG_STREAM_ENDED ? strempty(mg_stream_get_ended_reason(f->mg)) : "error";
                if (r < 0)
                        log_warning_errno(r, "The mediagate stream failed: %m");
                break;
        }
        if (reason) {
                _cleanup_free_ char *copy = strdup(reason);
                MgTrack *track = mg_track_ref(f->track);

                feed_detach(f);
                if (f->handlers.ended)
                        f->handlers.ended(f, track, copy ?: "ended", f->userdata);
                mg_track_unref(track);
                return 0;
        }
        /* A camera drives its consumers: a cycle runs when a frame came. */
        if (f->n_pending > 0 && f->format.kind == SOURCE_CAMERA) {
                r = pw_stream_trigger_process(f->stream);
                if (r < 0 && r != -EINVAL)
                        log_debug_errno(r, "Cannot trigger a PipeWire cycle: %m");
        }
        return 0;
}

/* Share the pool with PipeWire when its slots can carry the negotiated frames as they are. */
static void feed_try_zero_copy(Feed *f, const MgStreamFormat *sf) {
        int fd;
        void *map;

        if (f->format.kind != SOURCE_CAMERA || sf->slots > FEED_BUFFERS_MAX || sf->stride != f->stride ||
            sf->frame_size > sf->slot_size || sf->frame_size < f->frame_size)
                return;
        fd = mg_stream_get_pool_fd(f->mg);
        if (fd < 0)
                return;
        pool_unmap(f);
        f->pool_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (f->pool_fd < 0)
                return;
        f->pool_size = (size_t) sf->slots * sf->slot_size;
        map = mmap(NULL, f->pool_size, PROT_READ, MAP_SHARED, f->pool_fd, 0);
        if (map == MAP_FAILED) {
                log_warning_errno(errno, "Cannot map the pool for PipeWire, copying frames instead: %m");
                f->pool_fd = safe_close(f->pool_fd);
                return;
        }
        f->pool_map = map;
        f->slots = sf->slots;
        f->slot_size = sf->slot_size;
        f->zero_copy = true;
}

int feed_attach(Feed *f, MgTrack *track, bool zero_copy, MgStreamFormat *ret_delivered, MgError *err) {
        const MgStreamFormat *sf;
        int r;

        feed_detach(f);
        /* Handing the pool's slots to PipeWire as its buffers needs every slot ours to hold: a pool
         * of the stream's own (version 1). Copying works on a shared one (version 2). */
        r = mg_track_open_version(track, zero_copy ? MG_WIRE_VERSION_1 : MG_WIRE_VERSION_2, &f->mg, err);
        if (r < 0)
                return r;
        sf = mg_stream_get_format(f->mg);
        if (!f->have_format || !format_matches_stream(&f->format, sf)) {
                if (ret_delivered)
                        *ret_delivered = *sf;
                f->mg = mg_stream_free(f->mg);
                return -EMEDIUMTYPE;
        }
        (void) mg_stream_set_auto_release(f->mg, false);
        r = sd_event_add_io(f->event, &f->io, mg_stream_get_fd(f->mg), EPOLLIN, on_stream_io, f);
        if (r < 0) {
                f->mg = mg_stream_free(f->mg);
                return r;
        }
        f->track = mg_track_ref(track);
        if (zero_copy)
                feed_try_zero_copy(f, sf);
        if (f->zero_copy) {
                r = feed_update_params(f);
                if (r < 0) {
                        f->zero_copy = false;
                        log_warning_errno(r, "Cannot offer the pool to PipeWire, copying frames: %m");
                }
        }
        log_info("Feeding %s from %s (%s).", f->format.kind == SOURCE_CAMERA ? "frames" : "sound",
                 mg_track_get_label(track), f->zero_copy ? "zero copy" : "copying");
        return 0;
}

void feed_detach(Feed *f) {
        bool was_zero_copy = f->zero_copy;

        f->io = sd_event_source_disable_unref(f->io);
        f->kick = sd_event_source_disable_unref(f->kick);
        if (f->mg)
                log_info("Stopped feeding from %s: %" PRIu64 " frames in, %" PRIu64 " out (%" PRIu64
                         " copied), %" PRIu64 " dropped.", mg_track_get_label(f->track), f->stats.frames_in,
                         f->stats.frames_out, f->stats.frames_copied, f->stats.frames_dropped);
        f->stats = (FeedStats) {};
        if (f->mg)
                release_pending(f);
        f->n_pending = 0;
        for (uint32_t i = 0; i < f->n_buffers; i++)
                f->buffers[i].holds_frame = false;
        f->mg = mg_stream_free(f->mg);
        f->track = mg_track_unref(f->track);
        f->zero_copy = false;
        f->stream_pool_base = NULL;
        /* Our own buffers again; the pool mapping stays until PipeWire let go of its buffers. */
        if (was_zero_copy && f->have_format)
                (void) feed_update_params(f);
}

MgTrack *feed_get_track(const Feed *f) {
        return f->track;
}

bool feed_is_zero_copy(const Feed *f) {
        return f->zero_copy;
}

void feed_set_open(Feed *f, bool open) {
        f->open = open;
        if (!open && f->mg)
                release_pending(f);
}

const FeedStats *feed_get_stats(const Feed *f) {
        return &f->stats;
}
