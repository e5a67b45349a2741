/* Stream groups: the pool that the streams of one output format share, its moves, the delivery
 * of one frame (scaled once, written once) to every stream it is due for, and the making of
 * streams into a group (a pool of their own is a group of one). */
#include "stream-group.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mediagate-wire.h"
#include "util.h"

/* FRAME messages sent per loop iteration: between chunks the loop serves the bus, so that
 * hundreds of streams do not hold bus calls up for a whole frame's fan-out. */
#define ANNOUNCE_CHUNK 32u

/* A pool exhausted by clients that hold slots (each within max_held) is left to them at most
 * this often; in between, frames are dropped. Each such move leaves the old pool with its
 * holders, so a few colluding clients cannot make the daemon allocate without bound. */
#define EXHAUSTION_MOVE_INTERVAL_USEC (1000 * 1000ULL)

static int group_alloc(sd_event *event, const StreamConfig *cfg, bool shared, StreamGroup **ret) {
        StreamGroup *g;
        uint32_t stride;
        size_t frame_size;
        int r;

        if (!event || !cfg || !ret)
                return -EINVAL;
        r = stream_config_check(cfg, &stride, &frame_size);
        if (r < 0)
                return r;

        g = calloc(1, sizeof(StreamGroup));
        if (!g)
                return -ENOMEM;
        g->event = sd_event_ref(event);
        g->shared = shared;
        g->cfg = *cfg;
        g->stride = stride;
        g->frame_size = frame_size;
        /* A shared pool is pre-faulted (its format never changes, frames touch frame_size of
         * each slot); a pool of its own may carry larger frames after ApplyConstraints. */
        r = shared ? pool_new(cfg->n_slots, cfg->slot_size, frame_size, true, &g->pool)
                   : pool_new(cfg->n_slots, cfg->slot_size, cfg->slot_size, false, &g->pool);
        if (r < 0) {
                sd_event_unref(g->event);
                free(g);
                return r;
        }
        *ret = g;
        return 0;
}

int stream_group_new(sd_event *event, const StreamConfig *cfg, StreamGroup **ret) {
        StreamConfig c;

        if (!cfg || cfg->kind != DEVICE_KIND_VIDEO)
                return -EINVAL;
        c = *cfg;
        c.n_slots = STREAM_GROUP_SLOTS;
        c.frame_rate = 0;
        return group_alloc(event, &c, true, ret);
}

int stream_group_new_own(sd_event *event, const StreamConfig *cfg, StreamGroup **ret) {
        return group_alloc(event, cfg, false, ret);
}

StreamGroup *stream_group_free(StreamGroup *g) {
        if (!g)
                return NULL;
        if (g->n_streams > 0) {
                log_error("A stream group with %zu streams was about to be freed; kept.", g->n_streams);
                return NULL;
        }
        sd_event_source_disable_unref(g->spare_event);
        sd_event_source_disable_unref(g->announce_event);
        pool_free(g->pool);
        pool_free(g->spare);
        scale_plan_free(g->own_plan);
        free(g->streams);
        sd_event_unref(g->event);
        free(g);
        return NULL;
}

bool stream_group_is_empty(const StreamGroup *g) {
        return !g || g->n_streams == 0;
}

bool stream_group_matches(const StreamGroup *g, const StreamConfig *cfg) {
        return g && cfg && g->shared && cfg->kind == g->cfg.kind && cfg->fourcc == g->cfg.fourcc &&
               cfg->width == g->cfg.width && cfg->height == g->cfg.height && cfg->slot_size == g->cfg.slot_size;
}

void stream_group_set_own_format(StreamGroup *g, const StreamConfig *cfg, uint32_t stride, size_t frame_size) {
        g->cfg = *cfg;
        g->stride = stride;
        g->frame_size = frame_size;
        g->own_plan = scale_plan_free(g->own_plan);
}

static int group_move(StreamGroup *g);

static int on_spare(sd_event_source *source, void *userdata) {
        StreamGroup *g = userdata;
        int r;

        if (g->spare || g->n_streams < 2 || !g->pool)
                return 0;
        r = pool_new(g->pool->n_slots, g->pool->slot_size, g->frame_size, true, &g->spare);
        if (r < 0)
                log_warning_errno(r, "Failed to prepare a spare pool (the next move makes one then): %m");
        return 0;
}

/* A spare is made from the loop, outside any frame push, once two streams share the pool (one
 * alone never needs to move). */
static void schedule_spare(StreamGroup *g) {
        int r;

        if (!g->shared || g->spare || g->n_streams < 2)
                return;
        if (!g->spare_event) {
                r = sd_event_add_defer(g->event, &g->spare_event, on_spare, g);
                if (r < 0) {
                        log_debug_errno(r, "Failed to schedule a spare pool: %m");
                        return;
                }
                (void) sd_event_source_set_description(g->spare_event, "stream-spare-pool");
                /* After frames and bus calls: it is preparation, not work anyone waits for. */
                (void) sd_event_source_set_priority(g->spare_event, SD_EVENT_PRIORITY_IDLE);
        }
        (void) sd_event_source_set_enabled(g->spare_event, SD_EVENT_ONESHOT);
}

void stream_group_remove(StreamGroup *g, Stream *s);

/* A stream leaves (ends, closes, is freed): out of its group, and a pool of its own with it. */
static void on_stream_leave(Stream *s) {
        StreamGroup *g = s->group;

        stream_group_remove(g, s);
        if (s->own_group) {
                s->own_group = false;
                stream_group_free(g);
        }
}

int stream_group_add(StreamGroup *g, Stream *s) {
        int r;

        if (!g || !s)
                return -EINVAL;
        if (!g->shared && g->n_streams > 0)
                return -EBUSY;
        /* A pool that a stream has left is not handed to a newcomer: the newcomer would see what
         * is written there next, and so would the one that left. */
        if (g->need_move) {
                r = group_move(g);
                if (r < 0)
                        return r;
        }
        if (g->n_streams == g->n_allocated) {
                size_t n = g->n_allocated ? g->n_allocated * 2 : 4;
                Stream **grown = realloc(g->streams, n * sizeof(Stream *));

                if (!grown)
                        return -ENOMEM;
                g->streams = grown;
                g->n_allocated = n;
        }
        g->streams[g->n_streams++] = s;
        s->leave = on_stream_leave;
        schedule_spare(g);
        return 0;
}

void stream_group_remove(StreamGroup *g, Stream *s) {
        if (!g)
                return;
        for (size_t i = 0; i < g->n_streams; i++)
                if (g->streams[i] == s) {
                        /* The capture writes into no slot of this pool from here on: the
                         * stream that leaves keeps its mapping, and must see no later frame. */
                        if (g->lent && g->return_lent)
                                g->return_lent(g->return_lent_userdata);
                        memmove(g->streams + i, g->streams + i + 1, (g->n_streams - i - 1) * sizeof(Stream *));
                        g->n_streams--;
                        s->want = 0;
                        for (size_t k = 0; k < ELEMENTSOF(g->announce); k++)
                                if (g->announce[k].active && g->announce[k].next > i)
                                        g->announce[k].next--;
                        /* It had the pool's fd: what the others, and any stream that joins
                         * later, get from now on goes elsewhere. */
                        if (g->shared)
                                g->need_move = true;
                        return;
                }
}

/* Send FRAME to the next streams waiting for announcement k; all of them when `all`. Returns
 * whether some are left. */
static bool announce_some(StreamGroup *g, size_t k, bool all) {
        int want = (int) k + 1;
        unsigned sent = 0;

        if (!g->announce[k].active)
                return false;
        while (g->announce[k].next < g->n_streams) {
                Stream *s = g->streams[g->announce[k].next];

                if (!all && sent >= ANNOUNCE_CHUNK)
                        return true;
                g->announce[k].next++;
                if (s->want != want)
                        continue;
                s->want = 0;
                stream_send_frame(s, g->announce[k].slot, g->announce[k].sequence, g->announce[k].timestamp_ns,
                                  g->announce[k].bytes, g->announce[k].flags);
                sent++;
        }
        g->announce[k].active = false;
        if (g->pool)
                g->pool->reserved &= ~(UINT64_C(1) << g->announce[k].slot);
        return false;
}

static int on_announce(sd_event_source *source, void *userdata) {
        StreamGroup *g = userdata;
        bool more = false;

        for (size_t k = 0; k < ELEMENTSOF(g->announce); k++)
                more = announce_some(g, k, false) || more;
        if (more)
                (void) sd_event_source_set_enabled(g->announce_event, SD_EVENT_ONESHOT);
        return 0;
}

/* Whatever is still being announced goes out now: before another frame, a move or a lend. */
static void announce_finish(StreamGroup *g) {
        for (size_t k = 0; k < ELEMENTSOF(g->announce); k++)
                (void) announce_some(g, k, true);
        if (g->announce_event)
                (void) sd_event_source_set_enabled(g->announce_event, SD_EVENT_OFF);
}

/* Start announcing a written slot to the streams with s->want == want: the first chunk now,
 * the rest from the loop. Without a loop source, all at once. */
static void announce_start(StreamGroup *g, int want, unsigned slot, const Frame *f, uint32_t flags) {
        size_t k = (size_t) want - 1;

        g->announce[k].active = true;
        g->announce[k].slot = slot;
        g->announce[k].next = 0;
        g->announce[k].sequence = f->sequence;
        g->announce[k].timestamp_ns = f->timestamp_ns;
        g->announce[k].bytes = g->frame_size;
        g->announce[k].flags = flags;
        g->pool->reserved |= UINT64_C(1) << slot;

        if (!announce_some(g, k, !g->shared))
                return;
        if (!g->announce_event &&
            sd_event_add_defer(g->event, &g->announce_event, on_announce, g) < 0) {
                announce_finish(g);
                return;
        }
        (void) sd_event_source_set_description(g->announce_event, "stream-announce");
        (void) sd_event_source_set_enabled(g->announce_event, SD_EVENT_ONESHOT);
}

/* Every stream of g moves to a fresh pool (the spare if there is one): POOL, then frames there.
 * The old pool is never written again; the daemon unmaps it, clients keep what they mapped. */
static int group_move(StreamGroup *g) {
        _cleanup_(pool_freep) Pool *old = NULL;
        Pool *fresh;
        int r;

        /* Frames of the old pool already announced to some go to the rest first, and a capture
         * writing into slots of it stops before the daemon lets go of it. */
        announce_finish(g);
        if (g->lent && g->return_lent)
                g->return_lent(g->return_lent_userdata);
        fresh = TAKE_PTR(g->spare);
        if (!fresh) {
                r = pool_new(g->pool->n_slots, g->pool->slot_size, g->frame_size, true, &fresh);
                if (r < 0)
                        return log_warning_errno(r, "Failed to make a pool to move %zu streams to: %m",
                                                 g->n_streams);
                g->moves_without_spare++;
        }
        old = g->pool;
        g->pool = fresh;
        g->moves++;
        g->next_slot = 0;
        g->need_move = false;

        for (size_t i = 0; i < g->n_streams; i++) {
                Stream *s = g->streams[i];

                s->held = 0; /* slots of the old pool are the client's to unmap, not ours to track */
                s->generation++;
                s->pending_pool = true;
                stream_flush_pending(s);
        }
        schedule_spare(g);
        return 0;
}

/* Read the RELEASEs of every version-2 stream (a drain may close a stream, which leaves the
 * group: walk backwards so that the removal of the current one does not skip another). */
static void drain_all(StreamGroup *g) {
        for (size_t i = g->n_streams; i-- > 0;)
                if (g->streams[i]->version >= MG_WIRE_VERSION_2)
                        stream_drain(g->streams[i]);
}

/* A slot to write into, draining RELEASEs and moving to a fresh pool if that is what it takes. */
static int group_take_slot(StreamGroup *g) {
        uint64_t now;
        int slot;

        slot = pool_find_free_slot(g->pool, &g->next_slot);
        if (slot >= 0 || !g->shared)
                return slot;

        drain_all(g);
        if (g->need_move && group_move(g) < 0)
                return -ENOBUFS;
        slot = pool_find_free_slot(g->pool, &g->next_slot);
        if (slot >= 0)
                return slot;

        /* Every slot is held by clients within their max_held: leave this pool to them. */
        now = now_usec(CLOCK_MONOTONIC);
        if (g->last_exhaustion_move_usec != 0 && now - g->last_exhaustion_move_usec < EXHAUSTION_MOVE_INTERVAL_USEC)
                return -ENOBUFS;
        g->last_exhaustion_move_usec = now;
        log_debug("Every slot of a shared pool is held; moving its %zu streams to a fresh pool.", g->n_streams);
        if (group_move(g) < 0)
                return -ENOBUFS;
        return pool_find_free_slot(g->pool, &g->next_slot);
}

/* The plan to use for f: the caller's if it fits this group and frame, else the group's own,
 * built (once per geometry) from the frame to the group's size and fourcc. NULL: the frame
 * cannot be delivered. */
static const ScalePlan *plan_for(StreamGroup *g, const Frame *f, const ScalePlan *given) {
        const ScalePlan *candidates[2] = { given, g->own_plan };

        for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
                const ScalePlan *p = candidates[i];

                if (p && scale_plan_matches_source(p, f->fourcc, f->width, f->height, f->stride) &&
                    scale_plan_fourcc(p) == g->cfg.fourcc && scale_plan_dst_width(p) == g->cfg.width &&
                    scale_plan_dst_height(p) == g->cfg.height)
                        return p;
        }

        g->own_plan = scale_plan_free(g->own_plan);
        if (scale_plan_new_convert(f->fourcc, f->width, f->height, f->stride, g->cfg.fourcc, g->cfg.width,
                                   g->cfg.height, &g->own_plan) < 0)
                return NULL;
        return g->own_plan;
}

/* Which streams get this frame: s->want = 1 (the picture), 2 (black: disabled) or 0. A stream
 * at its max_held reads its RELEASEs first; one still at it loses the frame, alone. */
static void collect_wanting(StreamGroup *g, const Frame *f, unsigned *ret_real, unsigned *ret_black) {
        unsigned n_real = 0, n_black = 0;

        for (size_t i = g->n_streams; i-- > 0;) {
                Stream *s = g->streams[i];

                s->want = 0;
                if (!stream_alive(s) || s->broken || s->muted)
                        continue;
                if (!stream_frame_is_due(s, f->timestamp_ns))
                        continue;
                if (stream_has_pending(s)) {
                        s->dropped++;
                        continue;
                }
                if (stream_held_count(s) >= s->max_held && s->version >= MG_WIRE_VERSION_2) {
                        stream_drain(s);
                        if (!stream_alive(s))
                                continue; /* it closed: it left the group */
                }
                if (stream_held_count(s) >= s->max_held) {
                        s->dropped++;
                        continue;
                }
                s->want = s->enabled ? 1 : 2;
                if (s->want == 1)
                        n_real++;
                else
                        n_black++;
        }
        *ret_real = n_real;
        *ret_black = n_black;
}

static void drop_wanting(StreamGroup *g, int want) {
        for (size_t i = 0; i < g->n_streams; i++)
                if (g->streams[i]->want == want) {
                        g->streams[i]->dropped++;
                        g->streams[i]->want = 0;
                }
}

/* Write one slot (the picture, or black for want == 2) and announce it to the streams that want
 * it. lent_slot >= 0: the picture is already there. */
static void deliver(StreamGroup *g, const Frame *f, const ScalePlan *plan, int want, int lent_slot) {
        uint32_t flags = 0;
        uint8_t *dst;
        int slot = lent_slot;

        if (slot < 0)
                slot = group_take_slot(g);
        if (slot < 0) {
                drop_wanting(g, want);
                return;
        }
        dst = pool_slot(g->pool, (unsigned) slot);

        if (want == 2) {
                /* Black carries no stamp: a disabled track shows nothing of the source. */
                (void) scale_fill_black(g->cfg.fourcc, g->cfg.width, g->cfg.height, dst, g->pool->slot_size);
                flags |= MG_FRAME_FLAG_BLACK;
                g->pool->content[slot] = 0;
        } else {
                if (lent_slot < 0) {
                        const ScalePlan *p = plan_for(g, f, plan);

                        /* Straight from the capture buffer into the slot: the one copy of this frame. */
                        if (!p || scale_plan_run(p, f->data, f->size, dst, g->pool->slot_size) < 0) {
                                log_debug("Dropping a %ux%u frame that does not fit the %ux%u plan.", f->width,
                                          f->height, g->cfg.width, g->cfg.height);
                                drop_wanting(g, want);
                                return;
                        }
                        g->pool->content[slot] = 0;
                }
                if (f->stamp)
                        stream_write_stamp(dst, g->frame_size, f);
        }

        announce_start(g, want, (unsigned) slot, f, flags);
}

/* The slot f was captured into, if g lent it (and it is still g's current pool). */
static int lent_slot_of(StreamGroup *g, const Frame *f) {
        const DeviceBuffer *b = f->buffer;

        if (!b || b->owner != g || !g->pool || b->index >= g->pool->n_slots ||
            b->data != pool_slot(g->pool, b->index))
                return -1;
        return (int) b->index;
}

void stream_group_push_video(StreamGroup *g, const Frame *f, const ScalePlan *plan) {
        unsigned n_real, n_black;
        int lent;

        if (!g || !f || g->cfg.kind != DEVICE_KIND_VIDEO || !g->pool)
                return;

        announce_finish(g);
        lent = lent_slot_of(g, f);
        if (lent >= 0) {
                /* The capture is done with it: it holds this frame now, whoever gets it. */
                g->pool->reserved &= ~(UINT64_C(1) << lent);
                g->lent &= ~(UINT64_C(1) << lent);
                g->pool->content[lent] = f->buffer->content;
        } else if (g->need_move)
                (void) group_move(g);

        collect_wanting(g, f, &n_real, &n_black);
        /* A stream that closed while we read its RELEASEs had the pool: move before writing. A
         * lent slot was written already, before the close was seen; it goes out as it is. */
        if (g->need_move && lent < 0 && group_move(g) < 0) {
                drop_wanting(g, 1);
                drop_wanting(g, 2);
                return;
        }

        if (n_real > 0)
                deliver(g, f, plan, 1, lent);
        if (n_black > 0)
                deliver(g, f, NULL, 2, -1);
}

static bool any_stream_takes_frames(StreamGroup *g) {
        for (size_t i = 0; i < g->n_streams; i++)
                if (stream_alive(g->streams[i]) && !g->streams[i]->muted && g->streams[i]->enabled)
                        return true;
        return false;
}

bool stream_group_lend(StreamGroup *g, DeviceBuffer *ret) {
        int slot;

        if (!g || !ret || !g->pool || !any_stream_takes_frames(g))
                return false;
        announce_finish(g);
        /* The move comes before the frame is written, so do it now. */
        if (g->need_move && group_move(g) < 0)
                return false;
        slot = group_take_slot(g);
        if (slot < 0)
                return false;

        g->pool->reserved |= UINT64_C(1) << slot;
        g->lent |= UINT64_C(1) << slot;
        *ret = (DeviceBuffer) {
                .data = pool_slot(g->pool, (unsigned) slot),
                .size = g->pool->slot_size,
                .content = g->pool->content[slot],
                .owner = g,
                .index = (unsigned) slot,
        };
        return true;
}

void stream_group_unlend(StreamGroup *g, const DeviceBuffer *b) {
        if (!g || !b || b->owner != g || !g->pool || b->index >= g->pool->n_slots ||
            b->data != pool_slot(g->pool, b->index))
                return;
        g->pool->reserved &= ~(UINT64_C(1) << b->index);
        g->lent &= ~(UINT64_C(1) << b->index);
        g->pool->content[b->index] = 0; /* the capture may have drawn half a frame */
}

void stream_group_set_return_lent(StreamGroup *g, void (*fn)(void *userdata), void *userdata) {
        g->return_lent = fn;
        g->return_lent_userdata = userdata;
}

void stream_group_get_config(const StreamGroup *g, StreamConfig *ret) {
        *ret = g->cfg;
}

size_t stream_group_resident_bytes(const StreamGroup *g) {
        return g ? pool_resident_bytes(g->pool) + pool_resident_bytes(g->spare) : 0;
}

uint64_t stream_group_pool_serial(const StreamGroup *g) {
        return g && g->pool ? g->pool->serial : 0;
}

void stream_group_get_moves(const StreamGroup *g, uint64_t *ret_moves, uint64_t *ret_without_spare) {
        if (ret_moves)
                *ret_moves = g ? g->moves : 0;
        if (ret_without_spare)
                *ret_without_spare = g ? g->moves_without_spare : 0;
}

size_t stream_group_estimate_charge(const StreamConfig *cfg, bool shared) {
        size_t frame_size = 0, page = 4096;

        if (stream_config_frame_size(cfg, NULL, &frame_size) < 0)
                return 0;
        if (!shared)
                /* A pool of its own may carry frames up to slot_size after ApplyConstraints. */
                return (size_t) cfg->n_slots * ((cfg->slot_size + page - 1) / page * page);
        return 2 * (size_t) STREAM_GROUP_SLOTS * ((frame_size + page - 1) / page * page);
}

size_t stream_group_charge(const StreamGroup *g) {
        if (!g)
                return 0;
        return stream_group_estimate_charge(&g->cfg, g->shared);
}

/* ---- streams joining, leaving and moving between groups ---- */

int stream_new_version(sd_event *event, const StreamConfig *cfg, unsigned version, Stream **ret,
                       int *ret_control_fd, int *ret_pool_fd) {
        _cleanup_(stream_freep) Stream *s = NULL;
        _cleanup_close_ int client = -1, pool_ro = -1;
        StreamGroup *g;
        int r;

        if (!ret || !ret_control_fd || !ret_pool_fd)
                return -EINVAL;
        r = stream_alloc(event, cfg, version, &s);
        if (r < 0)
                return r;

        r = stream_group_new_own(event, cfg, &g);
        if (r < 0)
                return r;
        s->group = g;
        s->own_group = true;
        r = stream_group_add(g, s);
        if (r < 0) {
                stream_group_free(g);
                s->group = NULL;
                return r;
        }
        s->max_held = g->pool->n_slots;

        r = stream_setup_socket(s, &client);
        if (r < 0)
                return r;
        /* A pool of its own is never sent again (no POOL, no other stream): its fd goes to the
         * client and the daemon keeps only the mapping. */
        pool_ro = TAKE_FD(g->pool->fd);

        *ret_control_fd = TAKE_FD(client);
        *ret_pool_fd = TAKE_FD(pool_ro);
        *ret = TAKE_PTR(s);
        return 0;
}

int stream_new(sd_event *event, const StreamConfig *cfg, Stream **ret, int *ret_control_fd, int *ret_pool_fd) {
        return stream_new_version(event, cfg, MG_WIRE_VERSION_1, ret, ret_control_fd, ret_pool_fd);
}

int stream_new_in_group(StreamGroup *g, const StreamConfig *cfg, Stream **ret, int *ret_control_fd,
                        int *ret_pool_fd) {
        _cleanup_(stream_freep) Stream *s = NULL;
        _cleanup_close_ int client = -1, pool_ro = -1;
        StreamConfig c;
        int r;

        if (!g || !cfg || !ret || !ret_control_fd || !ret_pool_fd || !stream_group_matches(g, cfg))
                return -EINVAL;
        c = g->cfg;
        c.frame_rate = cfg->frame_rate;
        r = stream_alloc(g->event, &c, MG_WIRE_VERSION_2, &s);
        if (r < 0)
                return r;
        r = stream_setup_socket(s, &client);
        if (r < 0)
                return r;

        /* Joining a group is the last step that can fail: until then nothing needs undoing. */
        r = stream_group_add(g, s);
        if (r < 0)
                return r;
        s->group = g;
        s->generation = 0; /* the pool of the reply; each POOL message counts one up */
        s->max_held = STREAM_GROUP_MAX_HELD;
        pool_ro = fcntl(g->pool->fd, F_DUPFD_CLOEXEC, 3);
        if (pool_ro < 0)
                return -errno;

        *ret_control_fd = TAKE_FD(client);
        *ret_pool_fd = TAKE_FD(pool_ro);
        *ret = TAKE_PTR(s);
        return 0;
}

void stream_push_video(Stream *s, const Frame *f, const ScalePlan *plan) {
        if (!stream_alive(s) || !f || s->cfg.kind != DEVICE_KIND_VIDEO || s->broken)
                return;
        stream_group_push_video(s->group, f, plan);
}

int stream_set_format(Stream *s, const StreamConfig *cfg) {
        StreamConfig c;
        uint32_t stride;
        size_t size;
        int r;

        if (!s || !cfg)
                return -EINVAL;
        if (!stream_alive(s))
                return -ESHUTDOWN;
        if (cfg->kind != s->cfg.kind || s->group->shared)
                return -EINVAL;

        /* The pool stays: only the format inside the slots changes. So does the fourcc, which
         * FORMAT cannot announce: frames of a mode in the other format are converted. */
        c = *cfg;
        c.slot_size = s->cfg.slot_size;
        c.n_slots = s->cfg.n_slots;
        c.fourcc = s->cfg.fourcc;
        r = stream_config_check(&c, &stride, &size);
        if (r < 0)
                return r;

        stream_apply_config(s, &c, stride, size);
        stream_group_set_own_format(s->group, &c, stride, size);
        stream_flush_pending(s);
        return 0;
}

int stream_move_to_group(Stream *s, StreamGroup *to) {
        StreamConfig c;
        uint32_t stride;
        size_t size;
        int r;

        if (!s || !to || !to->shared)
                return -EINVAL;
        if (!stream_alive(s))
                return -ESHUTDOWN;
        if (!s->group->shared)
                return -EINVAL;
        if (to == s->group)
                return 0;

        c = to->cfg;
        c.frame_rate = s->cfg.frame_rate;
        r = stream_config_check(&c, &stride, &size);
        if (r < 0)
                return r;
        r = stream_group_add(to, s);
        if (r < 0)
                return r;

        /* Out of the old group (whose other streams move on), into the new one's pool. */
        stream_release_all_held(s);
        stream_group_remove(s->group, s);
        s->group = to;
        s->generation++;
        stream_apply_config(s, &c, stride, size);
        s->pending_pool = true;
        stream_flush_pending(s);
        return 0;
}

