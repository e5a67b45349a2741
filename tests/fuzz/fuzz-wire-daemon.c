/* libFuzzer harness for the daemon's side of the stream wire protocol (daemon/stream.c): the input
 * is a script in which a hostile client sends whatever it likes on the control socket (RELEASEs
 * of any slot, other types, wrong sizes, fds, hang-ups) while the capture side pushes frames of
 * any geometry and the owner mutes, disables, reformats and ends the stream. The client end
 * checks what the daemon promises in mediagate-wire.h: every message is well formed, a slot is
 * written only after the client released it (so a frame never changes under the client), every
 * protocol error closes the stream and nothing else does, MUTED and UNMUTED alternate with no
 * frame in between, and nothing follows ENDED or a close. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mediagate-wire.h"
#include "fuzz.h"
#include "log.h"
#include "scale.h"
#include "stream.h"
#include "util.h"

#define OPS_MAX 512
#define SOURCE_MAX (256 * 256 * 2 + 4096) /* the largest source frame or audio period we push */
#define REFUSED (-1)                       /* in Client.queue: a message the daemon must refuse */

static uint8_t source[SOURCE_MAX];
static bool debug; /* MEDIAGATE_FUZZ_DEBUG: say what each script did */

/* The client end, with a model of what the daemon knows. The daemon reads the socket only from
 * its event loop (run_loop()) and sends frames synchronously, so the model is exact: before the
 * loop runs, every frame it sent has been received here, and what it will read is the queue. */
typedef struct Client {
        int fd;
        const uint8_t *pool;
        size_t pool_size;
        StreamConfig cfg; /* as opened: slot_size and n_slots never change */
        uint64_t held;    /* the client's view: FRAME received for slot i, no RELEASE sent */
        uint64_t owned;   /* the daemon's view: FRAME sent for slot i, no RELEASE read yet */
        int queue[OPS_MAX + 1]; /* sent, not yet read by the daemon: a slot released, or REFUSED */
        size_t n_queue;
        bool violated;    /* the daemon has read a protocol error: it must have closed */
        bool misbehaved;  /* the client sent something the daemon must refuse, read or not */
        bool dead;        /* closed, ended or freed: no frame may come any more */
        uint64_t hash[STREAM_SLOTS_MAX];
        uint32_t bytes[STREAM_SLOTS_MAX];
        bool muted, ended, eof;
        unsigned n_frames, n_other; /* received, for MEDIAGATE_FUZZ_DEBUG */
} Client;

typedef struct Owner {
        Stream *stream;
        bool closed;
        bool free_in_callback;
} Owner;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        if (!getenv("MEDIAGATE_FUZZ_LOG"))
                log_set_max_level(-1);
        debug = getenv("MEDIAGATE_FUZZ_DEBUG");
        for (size_t i = 0; i < sizeof(source); i++)
                source[i] = (uint8_t) (i * 7 + (i >> 8));
        return 0;
}

static uint64_t slot_hash(const Client *c, unsigned slot) {
        return fuzz_hash(c->pool + (size_t) slot * c->cfg.slot_size, c->bytes[slot]);
}

static void on_closed(Stream *s, void *userdata) {
        Owner *o = userdata;

        if (o->closed || s != o->stream)
                abort(); /* once, and about our stream */
        o->closed = true;
        if (o->free_in_callback) {
                stream_free(s);
                o->stream = NULL;
        }
}

/* Read what the daemon sent and hold it to the protocol. After EOF or a reset the client stops
 * reading, as libmediagate does. */
static void client_receive(Client *c) {
        while (!c->eof) {
                uint8_t buf[MG_WIRE_MESSAGE_SIZE + 1];
                MgWireMessage m;
                ssize_t n;

                n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return;
                        /* A close with the client's messages unread resets the connection, and
                         * the client may never read what was queued for it (ENDED, frames):
                         * stream.h promises EOF. Only a client that broke the protocol (the
                         * daemon stops reading at the first bad message) may get a reset. */
                        if (errno == ECONNRESET && (c->violated || c->misbehaved)) {
                                c->eof = true;
                                return;
                        }
                        fprintf(stderr, "recv from the daemon: %s\n", strerror(errno));
                        abort();
                }
                if (n == 0) {
                        c->eof = true;
                        return;
                }
                if (c->ended) {
                        fprintf(stderr, "a message after ENDED\n");
                        abort();
                }
                if (!mg_wire_decode(buf, (size_t) n, &m)) {
                        fprintf(stderr, "the daemon sent a malformed message of %zd bytes\n", n);
                        abort();
                }
                switch (m.type) {
                case MG_WIRE_FRAME:
                        if (m.slot >= c->cfg.n_slots || m.bytes > c->cfg.slot_size) {
                                fprintf(stderr, "FRAME for slot %u of %u bytes\n", m.slot, m.bytes);
                                abort();
                        }
                        if (c->owned & (UINT64_C(1) << m.slot)) {
                                fprintf(stderr, "FRAME into slot %u, which the client has not released\n", m.slot);
                                abort();
                        }
                        if (c->muted || c->dead) {
                                fprintf(stderr, "FRAME while %s\n", c->muted ? "muted" : "closed");
                                abort();
                        }
                        c->owned |= UINT64_C(1) << m.slot;
                        c->held |= UINT64_C(1) << m.slot;
                        c->bytes[m.slot] = m.bytes;
                        c->hash[m.slot] = slot_hash(c, m.slot);
                        c->n_frames++;
                        if (debug)
                                fprintf(stderr, "  FRAME slot %u, %u bytes, flags %u\n", m.slot, m.bytes, m.flags);
                        break;
                case MG_WIRE_MUTED:
                case MG_WIRE_UNMUTED:
                        if (c->muted == (m.type == MG_WIRE_MUTED)) {
                                fprintf(stderr, "%s twice\n", c->muted ? "MUTED" : "UNMUTED");
                                abort();
                        }
                        c->muted = m.type == MG_WIRE_MUTED;
                        c->n_other++;
                        break;
                case MG_WIRE_FORMAT:
                        c->n_other++;
                        break;
                case MG_WIRE_ENDED:
                        c->ended = true;
                        c->n_other++;
                        break;
                default:
                        fprintf(stderr, "the daemon sent message type %u\n", m.type);
                        abort();
                }
        }
}

static void enqueue(Client *c, int what) {
        if (c->n_queue >= ELEMENTSOF(c->queue))
                abort();
        c->queue[c->n_queue++] = what;
        if (what == REFUSED)
                c->misbehaved = true;
}

static void client_send(Client *c, const uint8_t *buf, size_t size) {
        MgWireMessage m;

        client_receive(c);
        if (send(c->fd, buf, size, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t) size)
                return; /* the daemon hung up or the queue is full: nothing was sent */

        if (size == MG_WIRE_MESSAGE_SIZE && mg_wire_decode(buf, size, &m) && m.type == MG_WIRE_RELEASE &&
            m.slot < c->cfg.n_slots) {
                enqueue(c, (int) m.slot);
                c->held &= ~(UINT64_C(1) << m.slot);
                if (debug)
                        fprintf(stderr, "  RELEASE slot %u sent\n", m.slot);
        } else
                enqueue(c, REFUSED);
}

/* The daemon read the queue: what it did must follow from what it had sent. */
static void client_queue_read(Client *c, const Owner *o, bool was_alive) {
        if (was_alive && !c->violated)
                for (size_t i = 0; i < c->n_queue; i++) {
                        int slot = c->queue[i];

                        if (slot == REFUSED || !(c->owned & (UINT64_C(1) << slot))) {
                                /* A protocol error (a RELEASE of a slot the daemon did not hand
                                 * out, whatever the client believed, is one too). */
                                c->violated = c->dead = true;
                                break;
                        }
                        if (slot_hash(c, (unsigned) slot) != c->hash[slot]) {
                                fprintf(stderr, "slot %d changed before the client released it\n", slot);
                                abort();
                        }
                        c->owned &= ~(UINT64_C(1) << slot);
                }
        c->n_queue = 0;
        if (was_alive && c->violated != o->closed) {
                fprintf(stderr, c->violated ? "a protocol error did not close the stream\n"
                                            : "the stream closed without a protocol error\n");
                abort();
        }
}

static void client_send_with_fd(Client *c) {
        uint8_t buf[MG_WIRE_MESSAGE_SIZE];
        union {
                struct cmsghdr align;
                uint8_t space[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                abort();
        /* A RELEASE of a slot we may not hold: with the fd, it is refused whatever it says. */
        mg_wire_encode(&(MgWireMessage){ .type = MG_WIRE_RELEASE, .slot = 0 }, buf);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        client_receive(c);
        if (sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t) sizeof(buf))
                enqueue(c, REFUSED);
        close(fd);
}

static void run_loop(sd_event *event, Client *c, const Owner *o) {
        bool alive = o->stream && stream_is_open(o->stream);

        client_receive(c);
        for (int i = 0; i < 16; i++)
                if (sd_event_run(event, 0) <= 0)
                        break;
        client_queue_read(c, o, alive);
}

static void fuzz_config(FuzzReader *r, DeviceKind kind, StreamConfig *ret) {
        static const uint32_t rates[] = { 8000, 16000, 44100, 48000 };
        StreamConfig cfg = { .kind = kind };
        size_t size;

        if (kind == DEVICE_KIND_VIDEO) {
                cfg.fourcc = fuzz_u8(r) & 1 ? PIXEL_FORMAT_NV12 : PIXEL_FORMAT_YUYV;
                cfg.width = 1 + fuzz_u8(r) % 128;
                cfg.height = 1 + fuzz_u8(r) % 96;
                cfg.frame_rate = (double) (fuzz_u8(r) % 64);
        } else {
                cfg.sample_rate = rates[fuzz_u8(r) % ELEMENTSOF(rates)];
                cfg.channels = 1 + fuzz_u8(r) % 4;
                cfg.frames_per_slot = 1 + fuzz_u8(r) * 4u;
        }
        cfg.n_slots = 1 + fuzz_u8(r) % 8;
        if (stream_config_frame_size(&cfg, NULL, &size) < 0)
                abort();
        cfg.slot_size = size + fuzz_u8(r);
        *ret = cfg;
}

static void push(Owner *o, FuzzReader *r, DeviceKind kind, uint64_t *ts) {
        uint8_t flags = fuzz_u8(r);
        Frame f = {
                .data = source,
                .sequence = fuzz_u32(r),
                .stamp = flags & 1,
                .tag = "fuzz",
        };

        *ts += fuzz_u32(r) % 200000000u;
        f.timestamp_ns = *ts;
        if (kind == DEVICE_KIND_VIDEO) {
                size_t size;

                f.fourcc = flags & 2 ? PIXEL_FORMAT_NV12 : PIXEL_FORMAT_YUYV;
                f.width = 2 * (1 + fuzz_u8(r) % 128) - !!(flags & 4); /* odd now and then */
                f.height = 1 + fuzz_u8(r) % 192;
                f.stride = (f.fourcc == PIXEL_FORMAT_YUYV ? 2 * f.width : f.width) + 2 * (fuzz_u8(r) % 4);
                if (scale_source_size(f.fourcc, f.width, f.height, f.stride, &size) < 0)
                        size = (size_t) f.stride * f.height; /* a geometry the plan must refuse */
                if (size > sizeof(source))
                        return;
                f.size = flags & 8 ? size - MIN(size, fuzz_u8(r)) : size; /* a short buffer now and then */
                if (o->stream)
                        stream_push_video(o->stream, &f, NULL);
        } else {
                uint32_t channels = 1 + fuzz_u8(r) % 4;

                f.n_frames = fuzz_u8(r) * 8u;
                f.size = (size_t) f.n_frames * channels * 2;
                if (f.size > sizeof(source))
                        return;
                if (flags & 8)
                        f.size -= MIN(f.size, fuzz_u8(r));
                if (o->stream)
                        stream_push_audio(o->stream, &f, channels);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        FuzzReader r = { data, size, 0 };
        Owner owner = {};
        Client client = { .fd = -1 };
        DeviceKind kind;
        int control_fd = -1, pool_fd = -1, ret;
        uint64_t ts = 0;
        void *map;

        if (sd_event_new(&event) < 0)
                abort();

        kind = fuzz_u8(&r) & 1 ? DEVICE_KIND_AUDIO : DEVICE_KIND_VIDEO;
        fuzz_config(&r, kind, &client.cfg);
        owner.free_in_callback = fuzz_u8(&r) & 1;

        ret = stream_new(event, &client.cfg, &owner.stream, &control_fd, &pool_fd);
        if (ret < 0) {
                fprintf(stderr, "stream_new refused a valid configuration: %s\n", strerror(-ret));
                abort();
        }
        stream_set_closed_callback(owner.stream, on_closed, &owner);
        client.fd = control_fd;
        client.pool_size = client.cfg.slot_size * client.cfg.n_slots;
        map = mmap(NULL, client.pool_size, PROT_READ, MAP_SHARED, pool_fd, 0);
        if (map == MAP_FAILED)
                abort();
        client.pool = map;
        close(pool_fd);

        for (unsigned op = 0; op < OPS_MAX && !fuzz_at_end(&r); op++) {
                uint8_t buf[MG_WIRE_MESSAGE_SIZE * 2];
                uint8_t what = fuzz_u8(&r), arg;
                StreamConfig cfg;

                if (debug)
                        fprintf(stderr, "op %u: %u (held %#" PRIx64 ")\n", op, what % 12, client.held);

                switch (what % 12) {
                case 0:
                case 1:
                        push(&owner, &r, kind, &ts);
                        break;
                case 2: /* anything, 64 bytes */
                        for (size_t i = 0; i < MG_WIRE_MESSAGE_SIZE; i++)
                                buf[i] = fuzz_u8(&r);
                        client_send(&client, buf, MG_WIRE_MESSAGE_SIZE);
                        break;
                case 3: /* a well-formed RELEASE of any slot, held or not */
                        mg_wire_encode(&(MgWireMessage){ .type = MG_WIRE_RELEASE, .slot = fuzz_u8(&r) % 9 }, buf);
                        client_send(&client, buf, MG_WIRE_MESSAGE_SIZE);
                        break;
                case 4: { /* a RELEASE of the lowest held slot, as a well-behaved client sends */
                        unsigned slot;

                        client_receive(&client);
                        slot = client.held ? (unsigned) __builtin_ctzll(client.held) : 0;

                        mg_wire_encode(&(MgWireMessage){ .type = MG_WIRE_RELEASE, .slot = slot }, buf);
                        client_send(&client, buf, MG_WIRE_MESSAGE_SIZE);
                        break;
                }
                case 5: /* the wrong size */
                        arg = fuzz_u8(&r) % sizeof(buf);
                        if (arg == MG_WIRE_MESSAGE_SIZE)
                                arg++;
                        for (size_t i = 0; i < arg; i++)
                                buf[i] = fuzz_u8(&r);
                        if (debug)
                                fprintf(stderr, "  a message of %u bytes\n", arg);
                        client_send(&client, buf, arg);
                        break;
                case 6:
                        run_loop(event, &client, &owner);
                        break;
                case 7:
                        client_receive(&client);
                        break;
                case 8:
                        arg = fuzz_u8(&r);
                        if (!owner.stream)
                                break;
                        if (arg & 1)
                                stream_set_muted(owner.stream, arg & 2);
                        else
                                stream_set_enabled(owner.stream, arg & 2);
                        break;
                case 9:
                        fuzz_config(&r, kind, &cfg);
                        if (owner.stream) {
                                ret = stream_set_format(owner.stream, &cfg);
                                if (ret < 0 && ret != -E2BIG && ret != -ESHUTDOWN)
                                        abort();
                        }
                        break;
                case 10:
                        arg = fuzz_u8(&r);
                        if (owner.stream) {
                                stream_end(owner.stream, arg % 6);
                                client_receive(&client);
                                client.dead = true; /* and what it has not read, it never will */
                                client.n_queue = 0;
                        }
                        break;
                case 11:
                        arg = fuzz_u8(&r) % 3;
                        if (debug)
                                fprintf(stderr, "  %s\n", arg == 0 ? "fds" : arg == 1 ? "client shuts down" : "free");
                        if (arg == 0)
                                client_send_with_fd(&client);
                        else if (arg == 1) {
                                if (shutdown(client.fd, SHUT_WR) == 0)
                                        enqueue(&client, REFUSED); /* EOF closes the stream */
                        } else if (owner.stream) {
                                /* The owner frees it while frames may still be queued. */
                                stream_free(owner.stream);
                                owner.stream = NULL;
                                client_receive(&client);
                                client.dead = true;
                                client.n_queue = 0;
                        }
                        break;
                }
        }

        run_loop(event, &client, &owner);
        if (debug)
                fprintf(stderr, "%s stream: %u frames, %u other messages, %s, %s\n",
                        kind == DEVICE_KIND_VIDEO ? "video" : "audio", client.n_frames, client.n_other,
                        client.ended ? "ended" : "not ended", owner.closed ? "closed by the client" : "open");
        if (owner.stream)
                stream_free(owner.stream);
        client_receive(&client);
        if (!client.eof)
                abort(); /* a freed stream leaves the client at EOF */
        close(client.fd);
        munmap(map, client.pool_size);
        return 0;
}
