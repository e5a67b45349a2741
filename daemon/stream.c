/* One client stream: the control socket and the rules of delivery (slot ownership, drops,
 * decimation, mute, black frames, the synthetic stamp), on a pool of its own or on the shared
 * pool of its group (stream-group.c). The message layout is common/mediagate-wire.h
 * (docs/stream-wire-format.md for humans). */
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "mediagate-wire.h"
#include "util.h"

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

int stream_config_check(const StreamConfig *cfg, uint32_t *ret_stride, size_t *ret_size) {
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

bool stream_alive(Stream *s) {
        return s && !s->ended && !s->closed && s->group && s->group->pool;
}

static Pool *stream_pool(Stream *s) {
        return s->group ? s->group->pool : NULL;
}

unsigned stream_held_count(Stream *s) {
        return (unsigned) __builtin_popcountll(s->held);
}

/* Give back every slot the client holds (it left, or its pool is retired). */
void stream_release_all_held(Stream *s) {
        Pool *p = stream_pool(s);

        for (unsigned i = 0; p && i < p->n_slots; i++)
                if ((s->held & (UINT64_C(1) << i)) && p->refs[i] > 0)
                        p->refs[i]--;
        s->held = 0;
}

/* Leave the group: no frame of its pool reaches this stream again. The group's own handler does
 * the rest (a pool of its own goes with the stream; a shared one stays for the others, who move
 * on to a fresh pool before the next frame). */
static void stream_leave(Stream *s) {
        if (!s->group)
                return;
        stream_release_all_held(s);
        if (s->leave)
                s->leave(s);
        s->group = NULL;
        s->leave = NULL;
}

/* Send one message without blocking and without SIGPIPE, with an fd when fd >= 0. -EAGAIN: the
 * client's queue is full (the caller decides whether to drop or to retry on EPOLLOUT). Any other
 * failure marks the stream broken: the hangup arrives through the io source, which tells the
 * owner from the event loop rather than from inside a frame push. */
static int send_message_fd(Stream *s, const MgWireMessage *m, int fd) {
        uint8_t buf[MG_WIRE_MESSAGE_SIZE];
        union {
                struct cmsghdr align;
                uint8_t space[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;

        if (s->fd < 0 || s->broken)
                return -ESHUTDOWN;

        mg_wire_encode(m, buf);
        if (fd >= 0) {
                struct cmsghdr *c;

                mh.msg_control = &control;
                mh.msg_controllen = sizeof(control);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        do
                n = sendmsg(s->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
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

static int send_message(Stream *s, const MgWireMessage *m) {
        return send_message_fd(s, m, -1);
}

/* Version 1 reads every RELEASE as it comes; version 2 reads them when it needs a slot (fewer
 * wake-ups) and is woken only by a hangup, or by room for a state message that waits. */
static void update_io_events(Stream *s, bool want_out) {
        uint32_t in = s->version >= MG_WIRE_VERSION_2 ? EPOLLRDHUP : EPOLLIN;

        if (s->io)
                (void) sd_event_source_set_io_events(s->io, in | (want_out ? EPOLLOUT : 0));
}

bool stream_has_pending(Stream *s) {
        return s->pending_pool || s->pending_format || s->sent_muted != s->muted;
}

/* State messages must not be lost and must precede later frames; when the socket is full they
 * wait for EPOLLOUT, and frames are dropped meanwhile. POOL goes first: the FORMAT after it
 * describes frames in the new pool. */
void stream_flush_pending(Stream *s) {
        int r;

        if (!stream_alive(s))
                return;

        if (s->pending_pool) {
                Pool *p = stream_pool(s);
                MgWireMessage m = {
                        .type = MG_WIRE_POOL,
                        .sequence = s->generation,
                        .format = { p->n_slots, (uint32_t) p->slot_size },
                };

                r = send_message_fd(s, &m, p->fd);
                if (r == -EAGAIN)
                        goto wait;
                if (r < 0)
                        return;
                s->pending_pool = false;
        }

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

static void report_closed(Stream *s) {
        if (s->closed_cb)
                s->closed_cb(s, s->closed_userdata);
}

static int on_close_event(sd_event_source *source, void *userdata) {
        report_closed(userdata);
        return 0;
}

/* The client is gone or misbehaved: stop everything, then tell the owner (last, since the owner
 * may free the stream from the callback). Inside a frame push the owner hears of it from the
 * event loop instead, so that a push never calls back. */
static void stream_close(Stream *s, const char *why, bool from_loop) {
        if (s->closed || s->ended)
                return;

        log_debug("Stream closed: %s", why);
        s->closed = true;
        s->close_reason = why;
        if (s->io)
                (void) sd_event_source_set_enabled(s->io, SD_EVENT_OFF);
        if (s->fd >= 0)
                (void) shutdown(s->fd, SHUT_RDWR);
        stream_leave(s);

        if (from_loop) {
                report_closed(s);
                return;
        }
        if (!s->close_event && sd_event_add_defer(s->event, &s->close_event, on_close_event, s) < 0) {
                /* Without it the io source's hangup still reaches the owner. */
                log_debug("Failed to schedule the close of a stream; the hangup reports it.");
                return;
        }
        if (s->close_event)
                (void) sd_event_source_set_enabled(s->close_event, SD_EVENT_ONESHOT);
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

/* A RELEASE: version 2 names the pool generation of its slot. One for an older pool crossed a
 * POOL on the wire: that pool is never written again, so it is ignored. Returns false for a
 * protocol error. */
static bool handle_release(Stream *s, const MgWireMessage *m) {
        Pool *p = stream_pool(s);
        uint64_t generation = s->version >= MG_WIRE_VERSION_2 ? m->sequence : 0;

        if (generation > s->generation)
                return false;
        if (generation < s->generation)
                return true;
        if (!p || m->slot >= p->n_slots || !(s->held & (UINT64_C(1) << m->slot)))
                return false;
        s->held &= ~(UINT64_C(1) << m->slot);
        if (p->refs[m->slot] > 0)
                p->refs[m->slot]--;
        return true;
}

/* One received message: 1 when the stream must close (why set), 0 otherwise. */
static int handle_received(Stream *s, struct msghdr *mh, ssize_t n, const uint8_t *buf, const char **why) {
        MgWireMessage m;

        /* A client that passes fds gets them closed and the stream ended: nothing it sends may
         * make the daemon keep an fd. */
        if (mh->msg_controllen > 0 || (mh->msg_flags & MSG_CTRUNC)) {
                close_fds_in(mh);
                *why = "protocol error: ancillary data";
                return 1;
        }
        if (n == 0) {
                *why = "client closed the control socket";
                return 1;
        }
        if ((mh->msg_flags & MSG_TRUNC) || !mg_wire_decode(buf, (size_t) n, &m)) {
                *why = "protocol error: malformed message";
                return 1;
        }
        if (m.type != MG_WIRE_RELEASE) {
                *why = "protocol error: unexpected message type";
                return 1;
        }
        if (!handle_release(s, &m)) {
                *why = "protocol error: release of a slot the client does not hold";
                return 1;
        }
        return 0;
}

/* Read every queued message, up to eight a system call. Returns 1 when the stream must close
 * (why set), 0 otherwise. */
static int receive_messages(Stream *s, const char **why) {
        enum { BATCH = 8 };

        for (;;) {
                uint8_t buf[BATCH][MG_WIRE_MESSAGE_SIZE + 1];
                union {
                        struct cmsghdr align;
                        uint8_t space[CMSG_SPACE(sizeof(int) * 8)];
                } control[BATCH];
                struct iovec iov[BATCH];
                struct mmsghdr mm[BATCH];
                int n;

                for (unsigned i = 0; i < BATCH; i++) {
                        iov[i] = (struct iovec) { .iov_base = buf[i], .iov_len = sizeof(buf[i]) };
                        mm[i] = (struct mmsghdr) { .msg_hdr = {
                                .msg_iov = &iov[i],
                                .msg_iovlen = 1,
                                .msg_control = &control[i],
                                .msg_controllen = sizeof(control[i]),
                        } };
                }
                n = recvmmsg(s->fd, mm, BATCH, MSG_DONTWAIT | MSG_CMSG_CLOEXEC, NULL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        *why = "receive error";
                        return 1;
                }
                /* recvmmsg() ends a batch at EOF: a zero-length message is one too. */
                if (n == 0) {
                        *why = "client closed the control socket";
                        return 1;
                }
                for (int i = 0; i < n; i++)
                        if (handle_received(s, &mm[i].msg_hdr, (ssize_t) mm[i].msg_len, buf[i], why) > 0) {
                                /* fds that came in the rest of the batch go unread */
                                for (int k = i + 1; k < n; k++)
                                        close_fds_in(&mm[k].msg_hdr);
                                return 1;
                        }
                if (n < BATCH)
                        return 0;
        }
}

void stream_drain(Stream *s) {
        const char *why = NULL;

        if (!stream_alive(s) || s->fd < 0)
                return;
        if (receive_messages(s, &why) > 0)
                stream_close(s, why, false);
}

static int on_control_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Stream *s = userdata;
        const char *why = NULL;

        if (s->closed || s->ended)
                return 0;
        if (revents & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                if (receive_messages(s, &why) > 0) {
                        stream_close(s, why, true);
                        return 0;
                }
                if (revents & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
                        stream_close(s, "hangup", true);
                        return 0;
                }
        }
        if (revents & EPOLLOUT)
                stream_flush_pending(s);
        return 0;
}

/* The socket pair and the io source; the client's end goes to *ret_client. */
int stream_setup_socket(Stream *s, int *ret_client) {
        int pair[2], r;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0)
                return -errno;
        s->fd = pair[0];
        *ret_client = pair[1];

        r = sd_event_add_io(s->event, &s->io, s->fd, EPOLLIN, on_control_io, s);
        if (r < 0)
                return r;
        update_io_events(s, false);
        (void) sd_event_source_set_description(s->io, "stream-control");
        return 0;
}

/* A stream object of cfg, in no group yet. */
int stream_alloc(sd_event *event, const StreamConfig *cfg, unsigned version, Stream **ret) {
        Stream *s;
        uint32_t stride;
        size_t frame_size;
        int r;

        if (!event || !cfg || (version != MG_WIRE_VERSION_1 && version != MG_WIRE_VERSION_2))
                return -EINVAL;
        r = stream_config_check(cfg, &stride, &frame_size);
        if (r < 0)
                return r;

        s = calloc(1, sizeof(Stream));
        if (!s)
                return -ENOMEM;
        s->fd = -1;
        s->version = version;
        s->cfg = *cfg;
        s->stride = stride;
        s->frame_size = frame_size;
        s->enabled = true;
        s->event = sd_event_ref(event);
        *ret = s;
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

        stream_leave(s);
        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->close_event);
        if (s->fd >= 0)
                shutdown_and_drain(s->fd);
        safe_close(s->fd);
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

/* Hand a written slot to the client. The slot is held only once FRAME is queued; if the queue is
 * full the frame counts as dropped and the slot stays free. */
void stream_send_frame(Stream *s, unsigned slot, uint64_t sequence, uint64_t timestamp_ns, size_t bytes,
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
        Pool *p = stream_pool(s);
        int r;

        if (!p || stream_has_pending(s)) {
                s->dropped++;
                return;
        }
        r = send_message(s, &m);
        if (r == -EAGAIN) {
                s->dropped++;
                return;
        }
        if (r < 0)
                return;

        s->held |= UINT64_C(1) << slot;
        p->refs[slot]++;
        s->delivered++;
}

/* Deliver when the frame reaches the next due time, the due time then advancing by one output
 * period; a quarter of the source interval of slack absorbs timestamp rounding (30 fps sources
 * give 33333333 ns steps) without ever picking a frame nearer the previous due time. */
bool stream_frame_is_due(Stream *s, uint64_t ts) {
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

void stream_write_stamp(uint8_t *dst, size_t bytes, const Frame *f) {
        uint8_t stamp[FRAME_STAMP_SIZE];

        memcpy(stamp, FRAME_STAMP_MAGIC, 8);
        mg_wire_put64(stamp + 8, f->sequence);
        mg_wire_put64(stamp + 16, f->timestamp_ns);
        memcpy(stamp + 24, f->tag, 16);
        memcpy(dst, stamp, MIN(bytes, sizeof(stamp)));
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
        Pool *p;

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
        p = stream_pool(s);

        /* A period longer than a slot goes out in several slots, each stamped with the capture
         * time of its first sample frame. */
        while (done < f->n_frames) {
                uint32_t n = MIN(f->n_frames - done, s->cfg.frames_per_slot);
                uint64_t ts = f->timestamp_ns + (uint64_t) done * 1000000000ULL / s->cfg.sample_rate;
                size_t bytes = (size_t) n * out_ch * 2;
                uint32_t flags = 0;
                uint8_t *dst;
                int slot = -ENOBUFS;

                /* Version 2 reads RELEASEs when it needs a slot, not as they come. */
                if (s->version >= MG_WIRE_VERSION_2 && stream_held_count(s) >= s->max_held) {
                        stream_drain(s);
                        if (!stream_alive(s))
                                return; /* it closed: it has left its pool */
                        p = stream_pool(s);
                }
                if (!stream_has_pending(s) && stream_held_count(s) < s->max_held)
                        slot = pool_find_free_slot(p, &s->group->next_slot);
                if (slot < 0) {
                        s->dropped++;
                        return;
                }
                dst = pool_slot(p, (unsigned) slot);

                if (s->enabled)
                        copy_audio(dst, f->data + (size_t) done * src_channels * 2, n, src_channels, out_ch);
                else {
                        memset(dst, 0, bytes);
                        flags |= MG_FRAME_FLAG_BLACK;
                }

                stream_send_frame(s, (unsigned) slot, f->sequence, ts, bytes, flags);
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
        stream_flush_pending(s);
}

void stream_set_enabled(Stream *s, bool enabled) {
        if (!s)
                return;
        s->enabled = enabled;
}

/* The new output format in s->cfg, announced with FORMAT before the next frame. */
void stream_apply_config(Stream *s, const StreamConfig *c, uint32_t stride, size_t size) {
        s->cfg = *c;
        s->stride = stride;
        s->frame_size = size;
        reset_decimation(s);
        s->pending_format = true;
}

void stream_detach(Stream *s) {
        if (s)
                stream_leave(s);
}

void stream_end(Stream *s, uint32_t reason) {
        MgWireMessage m = { .type = MG_WIRE_ENDED, .reason = reason };

        if (!s || s->ended || s->closed)
                return;

        /* Out of the pool first: whatever else happens, no later frame reaches it. */
        stream_leave(s);
        /* Best effort: a client whose queue is full still learns of the end from the EOF that
         * follows. Pending state messages no longer matter. */
        (void) send_message(s, &m);
        s->ended = true;
        if (s->io)
                (void) sd_event_source_set_enabled(s->io, SD_EVENT_OFF);
        if (s->fd >= 0)
                shutdown_and_drain(s->fd);
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

bool stream_is_shared(Stream *s) {
        return s && s->group && s->group->shared;
}

unsigned stream_get_version(Stream *s) {
        return s ? s->version : 0;
}

StreamGroup *stream_get_group(Stream *s) {
        return s ? s->group : NULL;
}

void stream_get_config(Stream *s, StreamConfig *ret) {
        *ret = s->cfg;
}

void stream_get_format(Stream *s, StreamFormat *ret) {
        Pool *p = stream_pool(s);

        *ret = (StreamFormat) {
                .kind = s->cfg.kind,
                .slots = p ? p->n_slots : s->cfg.n_slots,
                .slot_size = (uint32_t) (p ? p->slot_size : s->cfg.slot_size),
                .version = s->version,
                .max_held = s->max_held,
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
