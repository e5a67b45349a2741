/* One client stream: the sealed memfd pool, the control socket and the rules of delivery
 * (slot ownership, drops, decimation, mute, black frames, the synthetic stamp). The message
 * layout is common/mediagate-wire.h (docs/stream-wire-format.md for humans). */
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mediagate-wire.h"
#include "log.h"
#include "util.h"

struct Stream {
        sd_event *event;
        sd_event_source *io;
        int fd; /* the daemon's end of the control socket */

        /* The daemon's only writable mapping of the pool. NULL once ended or closed: from then
         * on nothing can write into it, whatever the owner still calls. */
        uint8_t *pool;
        size_t pool_size;

        StreamConfig cfg;
        uint32_t stride;   /* video */
        size_t frame_size; /* video: bytes of one frame; audio: of a full slot */

        uint64_t held; /* bit i: the client holds slot i (FRAME sent, no RELEASE yet) */
        unsigned next_slot;

        bool muted, sent_muted;
        bool enabled;
        bool pending_format;
        bool ended;  /* stream_end() */
        bool closed; /* the client closed or broke the protocol */
        bool broken; /* a send failed for good; the io source reports the hangup */

        uint64_t dropped;
        uint64_t delivered;

        /* decimation */
        bool have_due;
        double next_due_ns;
        bool have_last;
        uint64_t last_ns;

        /* used when the caller gives no plan */
        ScalePlan *own_plan;

        stream_closed_callback_t closed_cb;
        void *closed_userdata;
};

int stream_config_frame_size(const StreamConfig *cfg, uint32_t *ret_stride, size_t *ret_size) {
        if (!cfg)
                return -EINVAL;

        switch (cfg->kind) {
        case DEVICE_KIND_VIDEO:
                if (!(cfg->frame_rate >= 0) || cfg->frame_rate > DEVICE_FRAME_RATE_MAX) /* also NaN */
                        return -EINVAL;
                return scale_output_layout(cfg->fourcc, cfg->width, cfg->height, ret_stride, ret_size);

        case DEVICE_KIND_AUDIO:
                if (cfg->sample_rate == 0 || cfg->sample_rate > 768000 || cfg->channels == 0 ||
                    cfg->channels > 32 || cfg->frames_per_slot == 0 || cfg->frames_per_slot > 1000000)
                        return -EINVAL;
                if (ret_stride)
                        *ret_stride = 0;
                if (ret_size)
                        *ret_size = (size_t) cfg->frames_per_slot * cfg->channels * sizeof(int16_t);
                return 0;

        default:
                return -EINVAL;
        }
}

static int check_config(const StreamConfig *cfg, uint32_t *ret_stride, size_t *ret_size) {
        size_t size;
        int r;

        r = stream_config_frame_size(cfg, ret_stride, &size);
        if (r < 0)
                return r;
        if (cfg->n_slots == 0 || cfg->n_slots > STREAM_SLOTS_MAX || cfg->slot_size == 0)
                return -EINVAL;
        /* slot_size and the pool size travel as u32 in the format dictionary. */
        if (cfg->slot_size > UINT32_MAX || cfg->slot_size > STREAM_POOL_SIZE_MAX / cfg->n_slots)
                return -E2BIG;
        if (size > cfg->slot_size)
                return -E2BIG;
        *ret_size = size;
        return 0;
}

static bool stream_alive(Stream *s) {
        return s && !s->ended && !s->closed && s->pool;
}

static void unmap_pool(Stream *s) {
        if (s->pool) {
                munmap(s->pool, s->pool_size);
                s->pool = NULL;
        }
}

/* Send one message without blocking and without SIGPIPE. -EAGAIN: the client's queue is full
 * (the caller decides whether to drop or to retry on EPOLLOUT). Any other failure marks the
 * stream broken: the hangup arrives through the io source, which tells the owner from the event
 * loop rather than from inside a frame push. */
static int send_message(Stream *s, const MgWireMessage *m) {
        uint8_t buf[MG_WIRE_MESSAGE_SIZE];
        ssize_t n;

        if (s->fd < 0 || s->broken)
                return -ESHUTDOWN;

        mg_wire_encode(m, buf);
        do
                n = send(s->fd, buf, sizeof(buf), MSG_NOSIGNAL | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);

        if (n < 0) {
                if (errno == EAGAIN)
                        return -EAGAIN;
                s->broken = true;
                return log_debug_errno(errno, "Stream control socket send failed: %m");
        }
        if (n != sizeof(buf)) {
                /* Cannot happen on SOCK_SEQPACKET: a message goes whole or not at all. */
                s->broken = true;
                return -EIO;
        }
        return 0;
}

static void update_io_events(Stream *s, bool want_out) {
        if (s->io)
                (void) sd_event_source_set_io_events(s->io, EPOLLIN | (want_out ? EPOLLOUT : 0));
}

static bool have_pending(Stream *s) {
        return s->pending_format || s->sent_muted != s->muted;
}

/* State messages must not be lost and must precede later frames; when the socket is full they
 * wait for EPOLLOUT, and frames are dropped meanwhile. */
static void flush_pending(Stream *s) {
        int r;

        if (!stream_alive(s))
                return;

        if (s->pending_format) {
                MgWireMessage m = { .type = MG_WIRE_FORMAT };

                if (s->cfg.kind == DEVICE_KIND_VIDEO) {
                        m.format[0] = s->cfg.width;
                        m.format[1] = s->cfg.height;
                        m.format[2] = s->stride;
                        m.format[3] = (uint32_t) s->frame_size;
                } else {
                        m.format[0] = s->cfg.sample_rate;
                        m.format[1] = s->cfg.channels;
                        m.format[2] = s->cfg.frames_per_slot;
                }
                r = send_message(s, &m);
                if (r == -EAGAIN)
                        goto wait;
                if (r < 0)
                        return;
                s->pending_format = false;
        }

        if (s->sent_muted != s->muted) {
                MgWireMessage m = { .type = s->muted ? MG_WIRE_MUTED : MG_WIRE_UNMUTED };

                r = send_message(s, &m);
                if (r == -EAGAIN)
                        goto wait;
                if (r < 0)
                        return;
                s->sent_muted = s->muted;
        }

        update_io_events(s, false);
        return;

wait:
        update_io_events(s, true);
}

/* The client is gone or misbehaved: stop everything, then tell the owner (last, since the owner
 * may free the stream from the callback). */
static void stream_close(Stream *s, const char *why) {
        if (s->closed || s->ended)
                return;

        log_debug("Stream closed: %s", why);
        s->closed = true;
        if (s->io)
                (void) sd_event_source_set_enabled(s->io, SD_EVENT_OFF);
        if (s->fd >= 0)
                (void) shutdown(s->fd, SHUT_RDWR);
        unmap_pool(s);

        if (s->closed_cb)
                s->closed_cb(s, s->closed_userdata);
}

static void close_fds_in(struct msghdr *mh) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

                        for (size_t i = 0; i < n; i++) {
                                int fd;

                                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                                safe_close(fd);
                        }
                }
}

/* Read every queued message. Returns 1 when the stream must close (why set), 0 otherwise. */
static int receive_messages(Stream *s, const char **why) {
        for (;;) {
                uint8_t buf[MG_WIRE_MESSAGE_SIZE + 1];
                union {
                        struct cmsghdr align;
                        uint8_t space[CMSG_SPACE(sizeof(int) * 8)];
                } control;
                struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
                struct msghdr mh = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = &control,
                        .msg_controllen = sizeof(control),
                };
                MgWireMessage m;
                ssize_t n;

                n = recvmsg(s->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        *why = "receive error";
                        return 1;
                }
                /* A client that passes fds gets them closed and the stream ended: nothing it
                 * sends may make the daemon keep an fd. */
                if (mh.msg_controllen > 0 || (mh.msg_flags & MSG_CTRUNC)) {
                        close_fds_in(&mh);
                        *why = "protocol error: ancillary data";
                        return 1;
                }
                if (n == 0) {
                        *why = "client closed the control socket";
                        return 1;
                }
                if ((mh.msg_flags & MSG_TRUNC) || !mg_wire_decode(buf, (size_t) n, &m)) {
                        *why = "protocol error: malformed message";
                        return 1;
                }
                if (m.type != MG_WIRE_RELEASE) {
                        *why = "protocol error: unexpected message type";
                        return 1;
                }
                if (m.slot >= s->cfg.n_slots || !(s->held & (UINT64_C(1) << m.slot))) {
                        *why = "protocol error: release of a slot the client does not hold";
                        return 1;
                }
                s->held &= ~(UINT64_C(1) << m.slot);
        }
}

static int on_control_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Stream *s = userdata;
        const char *why = NULL;

        if (revents & EPOLLIN)
                if (receive_messages(s, &why) > 0) {
                        stream_close(s, why);
                        return 0;
                }

        if (revents & (EPOLLHUP | EPOLLERR)) {
                stream_close(s, "control socket hung up");
                return 0;
        }

        if (revents & EPOLLOUT)
                flush_pending(s);
        return 0;
}

int stream_new(sd_event *event, const StreamConfig *cfg, Stream **ret, int *ret_control_fd, int *ret_pool_fd) {
        _cleanup_(stream_freep) Stream *s = NULL;
        _cleanup_close_ int memfd = -1, pool_ro = -1, client = -1;
        char path[sizeof("/proc/self/fd/") + 12];
        uint32_t stride;
        size_t frame_size;
        int pair[2], r;
        void *p;

        if (!event || !cfg || !ret || !ret_control_fd || !ret_pool_fd)
                return -EINVAL;
        r = check_config(cfg, &stride, &frame_size);
        if (r < 0)
                return r;

        s = calloc(1, sizeof(Stream));
        if (!s)
                return -ENOMEM;
        s->fd = -1;
        s->cfg = *cfg;
        s->stride = stride;
        s->frame_size = frame_size;
        s->enabled = true;
        s->pool_size = cfg->slot_size * cfg->n_slots;
        s->event = sd_event_ref(event);

        memfd = memfd_create("mediagate-pool", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (memfd < 0)
                return -errno;
        if (ftruncate(memfd, (off_t) s->pool_size) < 0)
                return -errno;

        /* Mapped writable before the seals, so that this is the only writable mapping there will
         * ever be: F_SEAL_FUTURE_WRITE refuses every later write, writable mmap and mprotect. */
        p = mmap(NULL, s->pool_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
        if (p == MAP_FAILED)
                return -errno;
        s->pool = p;

        if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0)
                return -errno;

        /* The client's fd is opened read-only, so even the fd itself cannot write. */
        snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
        pool_ro = open(path, O_RDONLY | O_CLOEXEC);
        if (pool_ro < 0)
                return -errno;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0)
                return -errno;
        s->fd = pair[0];
        client = pair[1];

        r = sd_event_add_io(event, &s->io, s->fd, EPOLLIN, on_control_io, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->io, "stream-control");

        *ret_control_fd = TAKE_FD(client);
        *ret_pool_fd = TAKE_FD(pool_ro);
        *ret = TAKE_PTR(s);
        return 0;
}

/* Stop both directions and read what the client sent meanwhile (RELEASEs in flight): a unix
 * socket closed with unread data resets its peer, whose recv() then fails with ECONNRESET
 * before it has read what was already queued for it (the frames, the ENDED). fds sent along go
 * with the discarded messages. */
static void shutdown_and_drain(int fd) {
        uint8_t buf[MG_WIRE_MESSAGE_SIZE];

        (void) shutdown(fd, SHUT_RDWR);
        while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
                ;
}

Stream *stream_free(Stream *s) {
        if (!s)
                return NULL;

        sd_event_source_disable_unref(s->io);
        if (s->fd >= 0)
                shutdown_and_drain(s->fd);
        safe_close(s->fd);
        unmap_pool(s);
        scale_plan_free(s->own_plan);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

void stream_set_closed_callback(Stream *s, stream_closed_callback_t cb, void *userdata) {
        if (!s)
                return;
        s->closed_cb = cb;
        s->closed_userdata = userdata;
}

static int take_free_slot(Stream *s) {
        for (unsigned i = 0; i < s->cfg.n_slots; i++) {
                unsigned k = (s->next_slot + i) % s->cfg.n_slots;

                if (!(s->held & (UINT64_C(1) << k))) {
                        s->next_slot = (k + 1) % s->cfg.n_slots;
                        return (int) k;
                }
        }
        return -ENOBUFS;
}

/* Hand a written slot to the client. The slot is marked held only once FRAME is queued; if the
 * queue is full the frame counts as dropped and the slot stays free. */
static void send_frame(Stream *s, unsigned slot, uint64_t sequence, uint64_t timestamp_ns, size_t bytes,
                       uint32_t flags) {
        MgWireMessage m = {
                .type = MG_WIRE_FRAME,
                .slot = slot,
                .sequence = sequence,
                .timestamp_ns = timestamp_ns,
                .bytes = (uint32_t) bytes,
                .flags = flags,
                .dropped = s->dropped,
        };
        int r;

        r = send_message(s, &m);
        if (r == -EAGAIN) {
                s->dropped++;
                return;
        }
        if (r < 0)
                return;

        s->held |= UINT64_C(1) << slot;
        s->delivered++;
}

/* Deliver when the frame reaches the next due time, the due time then advancing by one output
 * period; a quarter of the source interval of slack absorbs timestamp rounding (30 fps sources
 * give 33333333 ns steps) without ever picking a frame nearer the previous due time. */
static bool frame_is_due(Stream *s, uint64_t ts) {
        double period, slack = 0;

        if (s->have_last && ts > s->last_ns)
                slack = (double) (ts - s->last_ns) / 4;
        s->have_last = true;
        s->last_ns = ts;

        if (!(s->cfg.frame_rate > 0))
                return true;
        period = 1e9 / s->cfg.frame_rate;

        if (!s->have_due) {
                s->have_due = true;
                s->next_due_ns = (double) ts + period;
                return true;
        }
        if ((double) ts + slack < s->next_due_ns)
                return false;

        s->next_due_ns += period;
        /* After a stall (or a clock step) catch up at once instead of bursting. */
        if (s->next_due_ns + period < (double) ts)
                s->next_due_ns = (double) ts + period;
        return true;
}

static void reset_decimation(Stream *s) {
        s->have_due = false;
        s->have_last = false;
}

static void write_stamp(uint8_t *dst, size_t bytes, const Frame *f) {
        uint8_t stamp[FRAME_STAMP_SIZE];

        memcpy(stamp, FRAME_STAMP_MAGIC, 8);
        mg_wire_put64(stamp + 8, f->sequence);
        mg_wire_put64(stamp + 16, f->timestamp_ns);
        memcpy(stamp + 24, f->tag, 16);
        memcpy(dst, stamp, MIN(bytes, sizeof(stamp)));
}

/* The plan to use for f: the caller's if it fits this stream and frame, else our own, built
 * (once per geometry) from the frame to the stream's size and fourcc. NULL: the frame cannot be
 * delivered. */
static const ScalePlan *plan_for(Stream *s, const Frame *f, const ScalePlan *given) {
        const ScalePlan *candidates[2] = { given, s->own_plan };

        for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
                const ScalePlan *p = candidates[i];

                if (p && scale_plan_matches_source(p, f->fourcc, f->width, f->height, f->stride) &&
                    scale_plan_fourcc(p) == s->cfg.fourcc && scale_plan_dst_width(p) == s->cfg.width &&
                    scale_plan_dst_height(p) == s->cfg.height)
                        return p;
        }

        s->own_plan = scale_plan_free(s->own_plan);
        if (scale_plan_new_convert(f->fourcc, f->width, f->height, f->stride, s->cfg.fourcc, s->cfg.width,
                                   s->cfg.height, &s->own_plan) < 0)
                return NULL;
        return s->own_plan;
}

void stream_push_video(Stream *s, const Frame *f, const ScalePlan *plan) {
        uint8_t *dst;
        uint32_t flags = 0;
        int slot;

        if (!stream_alive(s) || !f || s->cfg.kind != DEVICE_KIND_VIDEO || s->broken)
                return;
        if (s->muted)
                return;
        if (!frame_is_due(s, f->timestamp_ns))
                return;
        if (have_pending(s)) {
                s->dropped++;
                return;
        }

        slot = take_free_slot(s);
        if (slot < 0) {
                s->dropped++;
                return;
        }
        dst = s->pool + (size_t) slot * s->cfg.slot_size;

        if (s->enabled) {
                const ScalePlan *p = plan_for(s, f, plan);

                /* Straight from the capture buffer into the slot: the one copy of this frame. */
                if (!p || scale_plan_run(p, f->data, f->size, dst, s->cfg.slot_size) < 0) {
                        log_debug("Dropping a %ux%u frame that does not fit the stream's %ux%u plan.",
                                  f->width, f->height, s->cfg.width, s->cfg.height);
                        s->dropped++;
                        return;
                }
                if (f->stamp)
                        write_stamp(dst, s->frame_size, f);
        } else {
                /* Black carries no stamp: a disabled track shows nothing of the source. */
                (void) scale_fill_black(s->cfg.fourcc, s->cfg.width, s->cfg.height, dst, s->cfg.slot_size);
                flags |= MG_FRAME_FLAG_BLACK;
        }

        send_frame(s, (unsigned) slot, f->sequence, f->timestamp_ns, s->frame_size, flags);
}

static int16_t read_s16(const uint8_t *p) {
        return (int16_t) (uint16_t) (p[0] | (p[1] << 8));
}

static void write_s16(uint8_t *p, int16_t v) {
        p[0] = (uint8_t) ((uint16_t) v & 0xff);
        p[1] = (uint8_t) ((uint16_t) v >> 8);
}

/* Copy n sample frames, downmixing when the stream has fewer channels: output channel c is the
 * average of the source channels c, c + out, c + 2 * out, ... (stereo to mono: (L + R) / 2). A
 * stream with more channels than the capture (not set up by the capture layer) repeats them. */
static void copy_audio(uint8_t *dst, const uint8_t *src, uint32_t n, uint32_t src_ch, uint32_t out_ch) {
        if (src_ch == out_ch) {
                memcpy(dst, src, (size_t) n * src_ch * 2);
                return;
        }

        for (uint32_t i = 0; i < n; i++) {
                const uint8_t *in = src + (size_t) i * src_ch * 2;
                uint8_t *out = dst + (size_t) i * out_ch * 2;

                for (uint32_t c = 0; c < out_ch; c++) {
                        int32_t sum = 0, count = 0;

                        if (out_ch > src_ch) {
                                write_s16(out + 2 * c, read_s16(in + 2 * (c % src_ch)));
                                continue;
                        }
                        for (uint32_t j = c; j < src_ch; j += out_ch) {
                                sum += read_s16(in + 2 * j);
                                count++;
                        }
                        write_s16(out + 2 * c, (int16_t) (sum / count));
                }
        }
}

void stream_push_audio(Stream *s, const Frame *f, uint32_t src_channels) {
        uint32_t out_ch, done = 0;

        if (!stream_alive(s) || !f || s->cfg.kind != DEVICE_KIND_AUDIO || s->broken)
                return;
        if (s->muted)
                return;
        if (src_channels == 0 || f->n_frames == 0 ||
            f->size < (size_t) f->n_frames * src_channels * 2) {
                s->dropped++;
                return;
        }
        out_ch = s->cfg.channels;

        /* A period longer than a slot goes out in several slots, each stamped with the capture
         * time of its first sample frame. */
        while (done < f->n_frames) {
                uint32_t n = MIN(f->n_frames - done, s->cfg.frames_per_slot);
                uint64_t ts = f->timestamp_ns + (uint64_t) done * 1000000000ULL / s->cfg.sample_rate;
                size_t bytes = (size_t) n * out_ch * 2;
                uint32_t flags = 0;
                uint8_t *dst;
                int slot;

                if (have_pending(s) || (slot = take_free_slot(s)) < 0) {
                        s->dropped++;
                        return;
                }
                dst = s->pool + (size_t) slot * s->cfg.slot_size;

                if (s->enabled)
                        copy_audio(dst, f->data + (size_t) done * src_channels * 2, n, src_channels, out_ch);
                else {
                        memset(dst, 0, bytes);
                        flags |= MG_FRAME_FLAG_BLACK;
                }

                send_frame(s, (unsigned) slot, f->sequence, ts, bytes, flags);
                if (s->broken)
                        return;
                done += n;
        }
}

void stream_set_muted(Stream *s, bool muted) {
        if (!stream_alive(s) || s->muted == muted)
                return;
        s->muted = muted;
        /* Whatever was due before the mute is stale after it. */
        reset_decimation(s);
        flush_pending(s);
}

void stream_set_enabled(Stream *s, bool enabled) {
        if (!s)
                return;
        s->enabled = enabled;
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
        if (cfg->kind != s->cfg.kind)
                return -EINVAL;

        /* The pool stays: only the format inside the slots changes. So does the fourcc, which
         * FORMAT cannot announce: frames of a mode in the other format are converted. */
        c = *cfg;
        c.slot_size = s->cfg.slot_size;
        c.n_slots = s->cfg.n_slots;
        c.fourcc = s->cfg.fourcc;
        r = check_config(&c, &stride, &size);
        if (r < 0)
                return r;

        s->cfg = c;
        s->stride = stride;
        s->frame_size = size;
        s->own_plan = scale_plan_free(s->own_plan);
        reset_decimation(s);
        s->pending_format = true;
        flush_pending(s);
        return 0;
}

void stream_end(Stream *s, uint32_t reason) {
        MgWireMessage m = { .type = MG_WIRE_ENDED, .reason = reason };

        if (!s || s->ended || s->closed)
                return;

        /* Best effort: a client whose queue is full still learns of the end from the EOF that
         * follows. Pending state messages no longer matter. */
        (void) send_message(s, &m);
        s->ended = true;
        if (s->io)
                (void) sd_event_source_set_enabled(s->io, SD_EVENT_OFF);
        if (s->fd >= 0)
                shutdown_and_drain(s->fd);
        unmap_pool(s);
}

uint64_t stream_get_dropped(Stream *s) {
        return s ? s->dropped : 0;
}

uint64_t stream_get_delivered(Stream *s) {
        return s ? s->delivered : 0;
}

bool stream_is_open(Stream *s) {
        return stream_alive(s) && !s->broken;
}

void stream_get_config(Stream *s, StreamConfig *ret) {
        *ret = s->cfg;
}

void stream_get_format(Stream *s, StreamFormat *ret) {
        *ret = (StreamFormat) {
                .kind = s->cfg.kind,
                .slots = s->cfg.n_slots,
                .slot_size = (uint32_t) s->cfg.slot_size,
        };
        if (s->cfg.kind == DEVICE_KIND_VIDEO) {
                ret->fourcc = s->cfg.fourcc;
                ret->width = s->cfg.width;
                ret->height = s->cfg.height;
                ret->stride = s->stride;
                ret->frame_size = (uint32_t) s->frame_size;
        } else {
                ret->rate = s->cfg.sample_rate;
                ret->channels = s->cfg.channels;
                ret->frames_per_slot = s->cfg.frames_per_slot;
        }
}
