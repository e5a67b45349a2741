/* Streams: Track.OpenStream() (wire format version 2, or Track.Open(), version 1), the read-only
 * pool mappings, and the control socket protocol of mediagate-wire.h. Everything the daemon sends
 * is checked before it is used: a bad message makes the stream fail with EPROTO, never makes the
 * app read outside a pool. */
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "client.h"
#include "mediagate-names.h"
#include "stream.h"
#include "track.h"

/* Far above any real pool; bounds the slot table an untrusted format can make us allocate. */
#define STREAM_SLOTS_MAX 1024u
/* Pools left behind by moves that still hold frames the app has not released. A daemon that
 * moves more often than that while the app holds frames is broken. */
#define RETIRED_POOLS_MAX 8u

typedef enum SlotState {
        SLOT_DAEMON,    /* released: the daemon may write into it */
        SLOT_HELD,      /* holds a frame the app has not released */
        SLOT_RELEASING, /* released by the app, RELEASE not sent yet (socket full) */
} SlotState;

/* A pool the daemon moved the stream away from: mapped until the app released its frames there. */
typedef struct RetiredPool {
        const uint8_t *map;
        size_t size;
        unsigned held;
} RetiredPool;

struct MgStream {
        int control_fd;
        int pool_fd; /* kept for mg_stream_get_pool_fd() */
        const uint8_t *pool;
        size_t pool_size;
        uint64_t generation; /* of pool: 0 from OpenStream, then as POOL messages say */
        RetiredPool retired[RETIRED_POOLS_MAX];
        MgStreamFormat format;
        uint8_t *slots; /* SlotState per slot of pool */
        bool auto_release;
        bool have_last;
        const uint8_t *last_data; /* the frame auto-release gives back */
        uint32_t last_slot;
        bool muted, ended, broken, format_changed;
        const char *ended_reason; /* static */
};

static bool string_is_printable(const char *s) {
        for (; *s; s++)
                if (*s < 0x20 || *s > 0x7e)
                        return false;
        return true;
}

/* The rules a format must follow, from Track.Open() or a FORMAT message alike. */
static int format_check(const MgStreamFormat *f, MgError *err) {
        if (f->slots == 0 || f->slots > STREAM_SLOTS_MAX)
                return error_set_protocol(err, "stream has %u slots", f->slots);
        if (f->slot_size == 0)
                return error_set_protocol(err, "stream slots are empty");
        if (f->slot_size > SIZE_MAX / f->slots)
                return error_set_protocol(err, "stream pool is too large");

        if (f->video) {
                if (strlen(f->fourcc) != 4 || !string_is_printable(f->fourcc))
                        return error_set_protocol(err, "stream fourcc is malformed");
                if (f->width == 0 || f->height == 0 || f->stride < f->width || f->frame_size == 0)
                        return error_set_protocol(err, "video format %ux%u stride %u size %u is invalid",
                                                  f->width, f->height, f->stride, f->frame_size);
                if ((uint64_t) f->stride * f->height > f->frame_size || f->frame_size > f->slot_size)
                        return error_set_protocol(err, "video frame of %u bytes does not fit (stride %u, %u rows, slot %u)",
                                                  f->frame_size, f->stride, f->height, f->slot_size);
        } else {
                if (isempty(f->sample_format) || !string_is_printable(f->sample_format))
                        return error_set_protocol(err, "stream sample format is malformed");
                if (f->rate == 0 || f->channels == 0 || f->frames_per_slot == 0)
                        return error_set_protocol(err, "audio format %u Hz, %u channels, %u frames is invalid",
                                                  f->rate, f->channels, f->frames_per_slot);
                if (streq(f->sample_format, "S16_LE") &&
                    (uint64_t) f->frames_per_slot * f->channels * 2 > f->slot_size)
                        return error_set_protocol(err, "%u audio frames do not fit a slot of %u bytes",
                                                  f->frames_per_slot, f->slot_size);
        }
        return 0;
}

int stream_format_parse(sd_bus_message *m, MgStreamFormat *ret, MgError *err) {
        static const struct {
                const char *key;
                size_t offset;
                char needed_by; /* 'v'ideo, 'a'udio, 'b'oth, 'o'ptional */
        } u32_keys[] = {
                { "width", offsetof(MgStreamFormat, width), 'v' },
                { "height", offsetof(MgStreamFormat, height), 'v' },
                { "stride", offsetof(MgStreamFormat, stride), 'v' },
                { "frame_size", offsetof(MgStreamFormat, frame_size), 'v' },
                { "rate", offsetof(MgStreamFormat, rate), 'a' },
                { "channels", offsetof(MgStreamFormat, channels), 'a' },
                { "frames_per_slot", offsetof(MgStreamFormat, frames_per_slot), 'a' },
                { "slots", offsetof(MgStreamFormat, slots), 'b' },
                { "slot_size", offsetof(MgStreamFormat, slot_size), 'b' },
                { "version", offsetof(MgStreamFormat, version), 'o' },  /* optional: 1 without */
                { "max_held", offsetof(MgStreamFormat, max_held), 'o' }, /* optional: slots without */
        };
        MgStreamFormat f = {};
        unsigned seen = 0; /* bit i: u32_keys[i] */
        bool have_fourcc = false, have_sample_format = false;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return error_set_protocol(err, "cannot read the stream format: %s", strerror(-r));
        for (;;) {
                const char *key;
                bool known = false;

                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r < 0)
                        return error_set_protocol(err, "cannot read the stream format: %s", strerror(-r));
                if (r == 0)
                        break;
                r = sd_bus_message_read_basic(m, 's', &key);
                if (r < 0)
                        return error_set_protocol(err, "cannot read the stream format: %s", strerror(-r));

                for (size_t i = 0; i < ELEMENTSOF(u32_keys); i++)
                        if (streq(key, u32_keys[i].key)) {
                                uint32_t v;

                                known = true;
                                r = bus_read_typed_variant(m, "u", &v);
                                if (r >= 0) {
                                        memcpy((uint8_t *) &f + u32_keys[i].offset, &v, sizeof(v));
                                        seen |= 1u << i;
                                }
                        }
                if (!known && (streq(key, "fourcc") || streq(key, "sample_format"))) {
                        bool fourcc = streq(key, "fourcc");
                        char *target = fourcc ? f.fourcc : f.sample_format;
                        size_t size = fourcc ? sizeof(f.fourcc) : sizeof(f.sample_format);
                        const char *s;

                        r = bus_read_typed_variant(m, "s", &s);
                        if (r >= 0) {
                                if (strlen(s) >= size)
                                        return error_set_protocol(err, "stream %s '%s' is too long", key, s);
                                strcpy(target, s);
                                if (fourcc)
                                        have_fourcc = true;
                                else
                                        have_sample_format = true;
                        }
                } else if (!known)
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return error_set_protocol(err, "stream format '%s' has the wrong type", key);

                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return error_set_protocol(err, "cannot read the stream format: %s", strerror(-r));
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return error_set_protocol(err, "cannot read the stream format: %s", strerror(-r));

        if (have_fourcc == have_sample_format)
                return error_set_protocol(err, "the stream format must have either fourcc or sample_format");
        f.video = have_fourcc;
        for (size_t i = 0; i < ELEMENTSOF(u32_keys); i++) {
                char needed_by = u32_keys[i].needed_by;
                bool needed = needed_by == 'b' || needed_by == (f.video ? 'v' : 'a');

                if (needed && !(seen & (1u << i)))
                        return error_set_protocol(err, "the stream format lacks '%s'", u32_keys[i].key);
        }

        if (f.version == 0)
                f.version = MG_WIRE_VERSION_1;
        if (f.max_held == 0 || f.max_held > f.slots)
                f.max_held = f.slots;
        if (f.version != MG_WIRE_VERSION_1 && f.version != MG_WIRE_VERSION_2)
                return error_set_protocol(err, "the daemon speaks wire format version %u", f.version);

        r = format_check(&f, err);
        if (r < 0)
                return r;
        *ret = f;
        return 0;
}

/* Check a pool fd against what slots of slot_size need (a sealed memfd, large enough) and map it
 * read-only. */
static int map_pool(int pool, uint32_t slots, uint32_t slot_size, const uint8_t **ret, size_t *ret_size,
                    MgError *err) {
        size_t size = (size_t) slots * slot_size;
        struct stat st;
        void *map;
        int seals;

        if (fstat(pool, &st) < 0)
                return error_set_errno(err, -errno, "Failed to check the stream pool");
        if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t) st.st_size < size)
                return error_set_protocol(err, "the pool holds %lld bytes, the format needs %zu",
                                          (long long) st.st_size, size);
        /* Without this seal the daemon could shrink the pool under our mapping and turn reads
         * of a frame into SIGBUS. */
        seals = fcntl(pool, F_GET_SEALS);
        if (seals < 0 || !(seals & F_SEAL_SHRINK))
                return error_set_protocol(err, "the pool is not sealed against shrinking");

        map = mmap(NULL, size, PROT_READ, MAP_SHARED, pool, 0);
        if (map == MAP_FAILED)
                return error_set_errno(err, -errno, "Failed to map the stream pool");
        *ret = map;
        *ret_size = size;
        return 0;
}

int stream_new(int control_fd, int pool_fd, const MgStreamFormat *format, MgStream **ret, MgError *err) {
        _cleanup_close_ int control = control_fd, pool = pool_fd;
        const uint8_t *map;
        MgStream *s;
        size_t size;
        socklen_t len;
        int type = 0, r;

        r = format_check(format, err);
        if (r < 0)
                return r;

        len = sizeof(type);
        if (getsockopt(control, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET)
                return error_set_protocol(err, "the control fd is not a SOCK_SEQPACKET socket");

        r = map_pool(pool, format->slots, format->slot_size, &map, &size, err);
        if (r < 0)
                return r;

        s = calloc(1, sizeof(MgStream));
        if (s)
                s->slots = calloc(format->slots, 1);
        if (!s || !s->slots) {
                free(s);
                munmap((void *) map, size);
                return error_set_errno(err, -ENOMEM, NULL);
        }
        s->control_fd = TAKE_FD(control);
        s->pool_fd = TAKE_FD(pool);
        s->pool = map;
        s->pool_size = size;
        s->format = *format;
        if (s->format.version == 0)
                s->format.version = MG_WIRE_VERSION_1;
        if (s->format.max_held == 0 || s->format.max_held > s->format.slots)
                s->format.max_held = s->format.slots;
        s->auto_release = true;
        *ret = s;
        return 0;
}

/* OpenStream({version: 2}); a daemon that does not know it gets Open() (version 1). */
static int call_open(MgTrack *t, sd_bus_message **ret, MgError *err) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(t->client->bus, MG_BUS_NAME, t->path, MG_IFACE_TRACK, "OpenStream", &error, ret,
                               "a{sv}", 1, "version", "u", (uint32_t) MG_WIRE_VERSION_2);
        if (r >= 0)
                return r;
        if (!sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD))
                return error_set_bus(err, &error, r);
        sd_bus_error_free(&error);
        r = sd_bus_call_method(t->client->bus, MG_BUS_NAME, t->path, MG_IFACE_TRACK, "Open", &error, ret, "");
        if (r < 0)
                return error_set_bus(err, &error, r);
        return r;
}

int mg_track_open(MgTrack *t, MgStream **ret, MgError *err) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_close_ int control = -1, pool = -1;
        MgStreamFormat format;
        int control_fd, pool_fd, r;

        if (!t || !ret)
                return error_set_errno(err, -EINVAL, NULL);

        r = call_open(t, &reply, err);
        if (r < 0)
                return r;

        r = sd_bus_message_read(reply, "hh", &control_fd, &pool_fd);
        if (r < 0)
                return error_set_protocol(err, "cannot read the Open() reply: %s", strerror(-r));
        /* The message owns these; keep our own copies. */
        control = fcntl(control_fd, F_DUPFD_CLOEXEC, 3);
        if (control < 0)
                return error_set_errno(err, -errno, "Failed to duplicate the control socket");
        pool = fcntl(pool_fd, F_DUPFD_CLOEXEC, 3);
        if (pool < 0)
                return error_set_errno(err, -errno, "Failed to duplicate the pool");

        r = stream_format_parse(reply, &format, err);
        if (r < 0)
                return r;
        if (!isempty(t->kind) && format.video != streq(t->kind, "video"))
                return error_set_protocol(err, "a %s track opened a %s stream", t->kind,
                                          format.video ? "video" : "audio");

        r = stream_new(TAKE_FD(control), TAKE_FD(pool), &format, ret, err);
        if (r < 0)
                return r;
        mg_error_clear(err);
        return 0;
}

MgStream *mg_stream_free(MgStream *s) {
        if (!s)
                return NULL;
        safe_close(s->control_fd);
        safe_close(s->pool_fd);
        if (s->pool)
                munmap((void *) s->pool, s->pool_size);
        for (size_t i = 0; i < RETIRED_POOLS_MAX; i++)
                if (s->retired[i].map)
                        munmap((void *) s->retired[i].map, s->retired[i].size);
        free(s->slots);
        free(s);
        return NULL;
}

int mg_stream_get_fd(const MgStream *s) {
        return s ? s->control_fd : -EINVAL;
}

int mg_stream_get_pool_fd(const MgStream *s) {
        return s ? s->pool_fd : -EINVAL;
}

const MgStreamFormat *mg_stream_get_format(const MgStream *s) {
        return s ? &s->format : NULL;
}

bool mg_stream_is_muted(const MgStream *s) {
        return s && s->muted;
}

const char *mg_stream_get_ended_reason(const MgStream *s) {
        return s && s->ended ? s->ended_reason : NULL;
}

int mg_stream_set_auto_release(MgStream *s, bool auto_release) {
        if (!s)
                return -EINVAL;
        s->auto_release = auto_release;
        return 0;
}

/* Send RELEASE for every slot the app gave back. A full socket keeps the rest for the next
 * call; a closed one means the stream is over and the slots no longer matter. Version 2 names
 * the pool generation, so that a RELEASE crossing a POOL is not taken for a slot of the new pool. */
static void stream_flush_releases(MgStream *s) {
        for (uint32_t i = 0; i < s->format.slots; i++) {
                uint8_t buf[MG_WIRE_MESSAGE_SIZE];
                ssize_t n;

                if (s->slots[i] != SLOT_RELEASING)
                        continue;
                mg_wire_encode(&(MgWireMessage) {
                                       .type = MG_WIRE_RELEASE,
                                       .slot = i,
                                       .sequence = s->format.version >= MG_WIRE_VERSION_2 ? s->generation : 0,
                               },
                               buf);
                n = send(s->control_fd, buf, sizeof(buf), MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                s->slots[i] = SLOT_DAEMON;
        }
}

static RetiredPool *retired_of(MgStream *s, const uint8_t *data) {
        for (size_t i = 0; i < RETIRED_POOLS_MAX; i++)
                if (s->retired[i].map && data >= s->retired[i].map && data < s->retired[i].map + s->retired[i].size)
                        return &s->retired[i];
        return NULL;
}

/* A frame of a pool the stream moved away from: the daemon never writes there again, so no
 * RELEASE; the mapping goes with its last frame. */
static void retired_release(RetiredPool *p) {
        if (p->held > 0)
                p->held--;
        if (p->held == 0) {
                munmap((void *) p->map, p->size);
                *p = (RetiredPool) {};
        }
}

static void stream_release_slot(MgStream *s, uint32_t slot) {
        s->slots[slot] = SLOT_RELEASING;
        if (s->have_last && s->last_data == s->pool + (size_t) slot * s->format.slot_size)
                s->have_last = false;
}

int mg_frame_release(MgStream *s, MgFrame *frame) {
        RetiredPool *p;

        if (!s || !frame || !frame->data)
                return -EINVAL;
        p = retired_of(s, frame->data);
        if (p) {
                if (s->have_last && s->last_data == frame->data)
                        s->have_last = false;
                retired_release(p);
                *frame = (MgFrame) {};
                return 0;
        }
        if (frame->slot >= s->format.slots || s->slots[frame->slot] != SLOT_HELD ||
            frame->data != s->pool + (size_t) frame->slot * s->format.slot_size)
                return -EINVAL;
        stream_release_slot(s, frame->slot);
        stream_flush_releases(s);
        *frame = (MgFrame) {};
        return 0;
}

/* The frame the previous mg_stream_next_frame() returned, if the app has not released it. */
static void stream_auto_release(MgStream *s) {
        RetiredPool *p;

        if (!s->auto_release || !s->have_last)
                return;
        s->have_last = false;
        p = retired_of(s, s->last_data);
        if (p)
                retired_release(p);
        else if (s->slots[s->last_slot] == SLOT_HELD)
                s->slots[s->last_slot] = SLOT_RELEASING;
}

/* The daemon broke the protocol: stop trusting the stream. */
static int stream_broken(MgStream *s) {
        s->broken = true;
        /* Tell the daemon we are gone; the fd itself stays valid for the app's poll loop. */
        (void) shutdown(s->control_fd, SHUT_RDWR);
        return -EPROTO;
}

/* Receive one message without blocking: 1 with buf filled, 0 at end of stream, -EAGAIN when
 * nothing waits, -EPROTO for anything that is not one 64-byte message. A message may carry one
 * fd (a version-2 POOL, checked by the caller), returned in *ret_fd (else -1); more fds, or fds
 * on a version-1 stream, are a protocol error. */
static int stream_receive(MgStream *s, uint8_t buf[MG_WIRE_MESSAGE_SIZE], int *ret_fd) {
        union {
                struct cmsghdr header;
                uint8_t space[CMSG_SPACE(sizeof(int) * 8)];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = MG_WIRE_MESSAGE_SIZE };
        struct msghdr msg = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        int fds[8], n_total = 0;
        ssize_t n;

        *ret_fd = -1;
        n = recvmsg(s->control_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == ECONNRESET) {
                /* The daemon closed its end while RELEASE messages of ours were still unread there.
                 * Linux reports that once, ahead of what is still queued for us (the ENDED that says
                 * why): read on, the EOF comes after it. */
                msg.msg_controllen = sizeof(control);
                msg.msg_flags = 0;
                n = recvmsg(s->control_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        }
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return -EAGAIN;
                if (errno == ECONNRESET || errno == EPIPE)
                        return 0;
                return -errno;
        }

        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        size_t n_fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

                        for (size_t i = 0; i < n_fds; i++) {
                                int fd;

                                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                                if (n_total < (int) ELEMENTSOF(fds))
                                        fds[n_total++] = fd;
                                else
                                        safe_close(fd);
                        }
                }
        /* At most one fd, and only in version 2: anything else is closed unread, so that a
         * misbehaving daemon cannot fill our table. */
        if (n_total > 1 || (n_total == 1 && s->format.version < MG_WIRE_VERSION_2) ||
            (msg.msg_flags & MSG_CTRUNC) || (n_total > 0 && n != MG_WIRE_MESSAGE_SIZE)) {
                for (int i = 0; i < n_total; i++)
                        safe_close(fds[i]);
                return -EPROTO;
        }
        if (n_total == 1)
                *ret_fd = fds[0];

        if (n == 0)
                return 0;
        if (n != MG_WIRE_MESSAGE_SIZE || (msg.msg_flags & MSG_TRUNC)) {
                *ret_fd = safe_close(*ret_fd);
                return -EPROTO;
        }
        return 1;
}

/* POOL: from here on frames are in the pool that came with it. Frames the app still holds stay
 * readable in the old mapping until released; the old pool gets no RELEASE (it is never written
 * again). The new pool must fit the format as it stands. */
static int stream_handle_pool(MgStream *s, const MgWireMessage *m, int fd) {
        _cleanup_close_ int pool = fd;
        MgStreamFormat f = s->format;
        _cleanup_free_ uint8_t *slots = NULL;
        const uint8_t *map;
        size_t size, held = 0, free_retired = RETIRED_POOLS_MAX;

        if (pool < 0 || s->format.version < MG_WIRE_VERSION_2 || m->sequence <= s->generation)
                return -EPROTO;
        f.slots = m->format[0];
        f.slot_size = m->format[1];
        if (f.max_held > f.slots)
                f.max_held = f.slots;
        if (format_check(&f, NULL) < 0)
                return -EPROTO;

        for (uint32_t i = 0; i < s->format.slots; i++)
                held += s->slots[i] == SLOT_HELD;
        for (size_t i = 0; i < RETIRED_POOLS_MAX && free_retired == RETIRED_POOLS_MAX; i++)
                if (!s->retired[i].map)
                        free_retired = i;
        if (held > 0 && free_retired == RETIRED_POOLS_MAX)
                return -EPROTO;

        slots = calloc(f.slots, 1);
        if (!slots || map_pool(pool, f.slots, f.slot_size, &map, &size, NULL) < 0)
                return -EPROTO;

        if (held > 0)
                s->retired[free_retired] = (RetiredPool) { .map = s->pool, .size = s->pool_size, .held = held };
        else
                munmap((void *) s->pool, s->pool_size);
        s->pool = map;
        s->pool_size = size;
        free(s->slots);
        s->slots = TAKE_PTR(slots);
        s->generation = m->sequence;
        s->format = f;
        return 0;
}

static int stream_handle(MgStream *s, const uint8_t *buf, int fd, MgFrame *ret) {
        MgWireMessage m;

        if (!mg_wire_decode(buf, MG_WIRE_MESSAGE_SIZE, &m) || (fd >= 0 && m.type != MG_WIRE_POOL)) {
                safe_close(fd);
                return stream_broken(s);
        }

        switch (m.type) {
        case MG_WIRE_FRAME:
                if (m.slot >= s->format.slots)
                        return stream_broken(s);
                if (s->slots[m.slot] != SLOT_DAEMON)
                        return stream_broken(s);
                if (m.bytes > s->format.slot_size)
                        return stream_broken(s);
                s->slots[m.slot] = SLOT_HELD;
                s->have_last = true;
                s->last_slot = m.slot;
                s->last_data = s->pool + (size_t) m.slot * s->format.slot_size;
                *ret = (MgFrame) {
                        .data = s->pool + (size_t) m.slot * s->format.slot_size,
                        .slot = m.slot,
                        .bytes = m.bytes,
                        .sequence = m.sequence,
                        .timestamp_ns = m.timestamp_ns,
                        .dropped = m.dropped,
                        .flags = m.flags,
                        .format_changed = s->format_changed,
                };
                s->format_changed = false;
                return MG_STREAM_FRAME;

        case MG_WIRE_MUTED:
        case MG_WIRE_UNMUTED:
                s->muted = m.type == MG_WIRE_MUTED;
                return -EAGAIN;

        case MG_WIRE_FORMAT: {
                MgStreamFormat f = s->format;

                if (f.video) {
                        f.width = m.format[0];
                        f.height = m.format[1];
                        f.stride = m.format[2];
                        f.frame_size = m.format[3];
                } else {
                        f.rate = m.format[0];
                        f.channels = m.format[1];
                        f.frames_per_slot = m.format[2];
                }
                if (format_check(&f, NULL) < 0)
                        return stream_broken(s);
                s->format = f;
                s->format_changed = true;
                return -EAGAIN;
        }

        case MG_WIRE_POOL:
                if (stream_handle_pool(s, &m, fd) < 0)
                        return stream_broken(s);
                return -EAGAIN;

        case MG_WIRE_ENDED:
                s->ended = true;
                s->ended_reason = mg_ended_reason_to_string(m.reason);
                return MG_STREAM_ENDED;

        default: /* RELEASE goes the other way */
                return stream_broken(s);
        }
}

static int64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mg_stream_next_frame(MgStream *s, int timeout_ms, MgFrame *ret) {
        int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
        uint8_t buf[MG_WIRE_MESSAGE_SIZE];
        int fd, r;

        if (!s || !ret)
                return -EINVAL;
        if (s->broken)
                return -EPROTO;
        if (s->ended)
                return MG_STREAM_ENDED;

        stream_auto_release(s);
        stream_flush_releases(s);

        for (;;) {
                struct pollfd p = { .fd = s->control_fd, .events = POLLIN };
                int wait_ms;

                r = stream_receive(s, buf, &fd);
                if (r == -EPROTO)
                        return stream_broken(s);
                if (r == 0) {
                        /* No ENDED before the socket closed: the daemon went away. */
                        s->ended = true;
                        s->ended_reason = "disconnected";
                        return MG_STREAM_ENDED;
                }
                if (r > 0) {
                        r = stream_handle(s, buf, fd, ret);
                        if (r != -EAGAIN)
                                return r;
                        continue;
                }
                if (r != -EAGAIN)
                        return r;

                if (deadline < 0)
                        wait_ms = -1;
                else {
                        int64_t left = deadline - now_ms();

                        if (left <= 0)
                                return -EAGAIN;
                        wait_ms = (int) MIN(left, (int64_t) INT32_MAX);
                }
                if (poll(&p, 1, wait_ms) < 0 && errno != EINTR)
                        return -errno;
        }
}
