/* libFuzzer harness for libmediagate's side of the stream wire protocol (client-lib/lib/stream.c):
 * the input is a script in which a hostile daemon sends anything on the control socket (frames
 * of any slot and size, formats, mutes, ends, wrong sizes, fds, a hang-up) while the app reads
 * frames, holds and releases them. What mediagate.h promises the app is checked: a frame always
 * lies inside the pool, a held slot is never handed out twice, only slots the daemon gave are
 * released (each once per frame), and EPROTO and ENDED stick. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "internal.h"
#include "lib/stream.h"
#include "mediagate-wire.h"

#define OPS_MAX 512
#define SLOTS_MAX 8
#define POOL_SLOTS_LIMIT 64 /* what daemon_send_pool() may announce */

typedef struct Daemon {
        int fd;
        uint32_t slots, slot_size;
        unsigned outstanding[SLOTS_MAX]; /* FRAMEs sent for the slot minus RELEASEs received */
        bool closed;
        unsigned version;
        uint64_t generation; /* of the newest POOL sent that the library can accept */
} Daemon;

#define HELD_MAX 32

typedef struct App {
        MgStream *stream;
        MgFrame held[HELD_MAX]; /* frames the app holds, in any pool */
        bool holding[HELD_MAX];
        bool have_last;      /* the frame of the latest FRAME result, auto-released on the next call */
        const uint8_t *last_data;
        bool auto_release;
        const uint8_t *pool; /* learnt from the first frame (version 1: one pool for good) */
        uint32_t max_slot_size;
        int sticky;          /* 1: not yet; else the result every later call must give */
        unsigned n_frames;   /* for MEDIAGATE_FUZZ_DEBUG */
} App;

static bool debug; /* MEDIAGATE_FUZZ_DEBUG: say what each script did */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        debug = getenv("MEDIAGATE_FUZZ_DEBUG");
        return 0;
}

static const MgStreamFormat formats[] = {
        { .video = true, .fourcc = "YUYV", .width = 64, .height = 48, .stride = 128, .frame_size = 6144,
          .slots = 4, .slot_size = 8192 },
        { .video = true, .fourcc = "NV12", .width = 32, .height = 32, .stride = 32, .frame_size = 1536,
          .slots = 1, .slot_size = 1536 },
        { .video = false, .sample_format = "S16_LE", .rate = 48000, .channels = 2, .frames_per_slot = 480,
          .slots = 8, .slot_size = 1920 },
        { .video = true, .fourcc = "YUYV", .width = 64, .height = 48, .stride = 128, .frame_size = 6144,
          .slots = 6, .slot_size = 8192, .version = 2, .max_held = 2 },
};

/* A pool as the daemon makes it: a sealed memfd of slots * slot_size bytes (unsealed, if asked). */
static int make_pool_sized(uint32_t slots, uint32_t slot_size, bool sealed) {
        int fd = memfd_create("fuzz-pool", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        if (fd < 0 || ftruncate(fd, (off_t) slots * slot_size) < 0 ||
            (sealed && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0))
                abort();
        return fd;
}

static int make_pool(const MgStreamFormat *f) {
        return make_pool_sized(f->slots, f->slot_size, true);
}

static void daemon_send(Daemon *d, const uint8_t *buf, size_t size) {
        MgWireMessage m;

        if (d->closed || send(d->fd, buf, size, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t) size)
                return;
        if (mg_wire_decode(buf, size, &m) && m.type == MG_WIRE_FRAME && m.slot < d->slots)
                d->outstanding[m.slot]++;
}

/* POOL with fds (n_fds of them, the first a pool of slots x slot_size, sealed or not, the rest
 * /dev/null) and the generation given. A good one (one sealed fd, large enough, a newer
 * generation, a version-2 stream) moves the stream: slots start over. */
static void daemon_send_pool(Daemon *d, uint32_t slots, uint32_t slot_size, bool sealed, unsigned n_fds,
                             uint64_t generation) {
        uint8_t buf[MG_WIRE_MESSAGE_SIZE];
        int fds[3] = { -1, -1, -1 };
        bool good;

        n_fds = MIN(n_fds, 3u);
        if (d->closed || slots == 0 || slots > 64 || (uint64_t) slots * slot_size > 1024 * 1024)
                return;
        for (unsigned i = 0; i < n_fds; i++)
                fds[i] = i == 0 ? make_pool_sized(slots, slot_size, sealed) : open("/dev/null", O_RDONLY | O_CLOEXEC);
        mg_wire_encode(&(MgWireMessage){ .type = MG_WIRE_POOL, .sequence = generation,
                                         .format = { slots, slot_size } }, buf);
        good = fuzz_send_fds(d->fd, buf, sizeof(buf), fds, n_fds);
        for (unsigned i = 0; i < n_fds; i++)
                close(fds[i]);
        /* A move the library may accept: from here on the daemon's slots are the new pool's.
         * (One it refuses breaks the stream, and then no RELEASE may come at all.) */
        if (good && d->version >= 2 && n_fds == 1 && sealed && generation > d->generation && slots <= SLOTS_MAX) {
                d->generation = generation;
                d->slots = slots;
                d->slot_size = slot_size;
                memset(d->outstanding, 0, sizeof(d->outstanding));
        }
}

static void daemon_send_with_fd(Daemon *d) {
        uint8_t buf[MG_WIRE_MESSAGE_SIZE];
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                abort();
        mg_wire_encode(&(MgWireMessage){ .type = MG_WIRE_MUTED }, buf);
        if (!d->closed)
                (void) fuzz_send_fds(d->fd, buf, sizeof(buf), &fd, 1);
        close(fd);
}

/* What the app sent back: only RELEASEs, each of a slot a FRAME was sent for. */
static void daemon_receive(Daemon *d) {
        for (;;) {
                uint8_t buf[MG_WIRE_MESSAGE_SIZE + 1];
                MgWireMessage m;
                ssize_t n;

                if (d->closed)
                        return;
                n = recv(d->fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n <= 0)
                        return;
                if (!mg_wire_decode(buf, (size_t) n, &m) || m.type != MG_WIRE_RELEASE) {
                        fprintf(stderr, "the library sent a bad message (%zd bytes, type %u)\n", n,
                                n == MG_WIRE_MESSAGE_SIZE ? m.type : 0);
                        abort();
                }
                if (d->version < 2 && m.sequence != 0) {
                        fprintf(stderr, "a version-1 RELEASE names generation %" PRIu64 "\n", m.sequence);
                        abort();
                }
                if (m.sequence > d->generation) {
                        fprintf(stderr, "RELEASE of generation %" PRIu64 ", the newest is %" PRIu64 "\n", m.sequence,
                                d->generation);
                        abort();
                }
                if (m.sequence < d->generation)
                        continue; /* sent before the library read the POOL: the daemon ignores it */
                if (m.slot >= d->slots) {
                        fprintf(stderr, "RELEASE of slot %u of %u\n", m.slot, d->slots);
                        abort();
                }
                if (d->outstanding[m.slot] == 0) {
                        fprintf(stderr, "RELEASE of slot %u, which the daemon never gave\n", m.slot);
                        abort();
                }
                d->outstanding[m.slot]--;
        }
}

static void app_forget(App *a, unsigned i) {
        a->holding[i] = false;
        if (a->have_last && a->last_data == a->held[i].data)
                a->have_last = false;
}

static void app_next(App *a, const Daemon *d) {
        MgFrame f;
        int r, free_entry = -1;

        if (a->auto_release && a->have_last)
                for (unsigned i = 0; i < HELD_MAX; i++)
                        if (a->holding[i] && a->held[i].data == a->last_data)
                                app_forget(a, i);

        r = mg_stream_next_frame(a->stream, 0, &f);
        if (a->sticky != 1) {
                if (r != a->sticky) {
                        fprintf(stderr, "after %d, mg_stream_next_frame() gave %d\n", a->sticky, r);
                        abort();
                }
                return;
        }
        if (r == -EPROTO || r == MG_STREAM_ENDED) {
                a->sticky = r;
                if (r == MG_STREAM_ENDED && !mg_stream_get_ended_reason(a->stream))
                        abort();
                return;
        }
        if (r == -EAGAIN)
                return;
        if (r != MG_STREAM_FRAME) {
                fprintf(stderr, "mg_stream_next_frame: %d\n", r);
                abort();
        }

        if (f.slot >= POOL_SLOTS_LIMIT || f.bytes > a->max_slot_size) {
                fprintf(stderr, "frame in slot %u of %u bytes\n", f.slot, f.bytes);
                abort();
        }
        if (d->version < 2) {
                if (!a->pool)
                        a->pool = f.data - (size_t) f.slot * d->slot_size;
                if (f.data != a->pool + (size_t) f.slot * d->slot_size)
                        abort(); /* outside the slot, or another mapping */
        }
        for (unsigned i = 0; i < HELD_MAX; i++) {
                if (!a->holding[i]) {
                        if (free_entry < 0)
                                free_entry = (int) i;
                        continue;
                }
                if (a->held[i].data == f.data) {
                        fprintf(stderr, "a held slot (%u) was handed out again\n", f.slot);
                        abort();
                }
                /* Frames held from earlier pools are still readable (a move must not unmap them). */
                if (a->held[i].bytes > 0) {
                        volatile uint8_t touch = a->held[i].data[a->held[i].bytes - 1];
                        (void) touch;
                }
        }
        if (f.bytes > 0) {
                volatile uint8_t touch = f.data[0] ^ f.data[f.bytes - 1];
                (void) touch;
        }
        if (free_entry < 0)
                abort(); /* more frames held than any pool of the harness has slots */
        a->held[free_entry] = f;
        a->holding[free_entry] = true;
        a->have_last = true;
        a->last_data = f.data;
        a->n_frames++;
}

static void app_release(App *a, uint8_t arg) {
        unsigned i = arg % HELD_MAX;
        MgFrame bogus = { .slot = arg % SLOTS_MAX };
        int r;

        if (arg & 0x80) {
                /* A frame the app never got: refused, nothing sent. */
                if (mg_frame_release(a->stream, &bogus) != -EINVAL)
                        abort();
                return;
        }
        if (!a->holding[i])
                return;
        r = mg_frame_release(a->stream, &a->held[i]);
        if (r < 0) {
                fprintf(stderr, "mg_frame_release of a held frame: %s\n", strerror(-r));
                abort();
        }
        app_forget(a, i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzReader r = { data, size, 0 };
        const MgStreamFormat *format = &formats[fuzz_u8(&r) % ELEMENTSOF(formats)];
        Daemon d = { .slots = format->slots, .slot_size = format->slot_size, .version = format->version ?: 1 };
        App a = { .auto_release = true, .sticky = 1, .max_slot_size = format->slot_size };
        MgError err = {};
        int pair[2], ret;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                abort();
        d.fd = pair[0];
        ret = stream_new(pair[1], make_pool(format), format, &a.stream, &err);
        if (ret < 0) {
                fprintf(stderr, "stream_new: %s\n", strerror(-ret));
                abort();
        }
        mg_error_clear(&err);

        for (unsigned op = 0; op < OPS_MAX && !fuzz_at_end(&r); op++) {
                uint8_t buf[MG_WIRE_MESSAGE_SIZE * 2], what = fuzz_u8(&r), arg;
                MgWireMessage m = {};

                switch (what % 13) {
                case 0: /* FRAME, maybe of a slot out of range or too many bytes */
                        m.type = MG_WIRE_FRAME;
                        m.slot = fuzz_u8(&r) % (d.slots + 2);
                        m.bytes = fuzz_u8(&r) & 1 ? fuzz_u32(&r) : d.slot_size - fuzz_u8(&r) % 16;
                        m.sequence = fuzz_u32(&r);
                        m.dropped = fuzz_u8(&r);
                        m.flags = fuzz_u8(&r) & 1;
                        mg_wire_encode(&m, buf);
                        daemon_send(&d, buf, MG_WIRE_MESSAGE_SIZE);
                        break;
                case 1: /* FRAME of the lowest slot the daemon may write, as a correct daemon does */
                        m.type = MG_WIRE_FRAME;
                        for (m.slot = 0; m.slot < d.slots - 1 && d.outstanding[m.slot] > 0; m.slot++)
                                ;
                        m.bytes = format->video ? format->frame_size : format->slot_size;
                        mg_wire_encode(&m, buf);
                        daemon_send(&d, buf, MG_WIRE_MESSAGE_SIZE);
                        break;
                case 2: /* FORMAT */
                        m.type = MG_WIRE_FORMAT;
                        for (int i = 0; i < 4; i++)
                                m.format[i] = fuzz_u8(&r) & 1 ? fuzz_u32(&r) : fuzz_u8(&r);
                        mg_wire_encode(&m, buf);
                        daemon_send(&d, buf, MG_WIRE_MESSAGE_SIZE);
                        break;
                case 3:
                        arg = fuzz_u8(&r);
                        m.type = arg % 3 == 0 ? MG_WIRE_MUTED : arg % 3 == 1 ? MG_WIRE_UNMUTED : MG_WIRE_ENDED;
                        m.reason = arg >> 2;
                        mg_wire_encode(&m, buf);
                        daemon_send(&d, buf, MG_WIRE_MESSAGE_SIZE);
                        break;
                case 4: /* any 64 bytes */
                        for (size_t i = 0; i < MG_WIRE_MESSAGE_SIZE; i++)
                                buf[i] = fuzz_u8(&r);
                        daemon_send(&d, buf, MG_WIRE_MESSAGE_SIZE);
                        break;
                case 5: /* the wrong size */
                        arg = fuzz_u8(&r) % sizeof(buf);
                        if (arg == MG_WIRE_MESSAGE_SIZE)
                                arg++;
                        for (size_t i = 0; i < arg; i++)
                                buf[i] = fuzz_u8(&r);
                        daemon_send(&d, buf, arg);
                        break;
                case 6:
                case 7:
                        app_next(&a, &d);
                        break;
                case 8:
                        app_release(&a, fuzz_u8(&r));
                        break;
                case 9:
                        a.auto_release = fuzz_u8(&r) & 1;
                        if (mg_stream_set_auto_release(a.stream, a.auto_release) < 0)
                                abort();
                        break;
                case 10:
                        daemon_receive(&d);
                        break;
                case 11:
                        if (fuzz_u8(&r) & 1)
                                daemon_send_with_fd(&d);
                        else if (!d.closed) {
                                close(d.fd); /* the daemon went away */
                                d.closed = true;
                        }
                        break;
                case 12: { /* POOL: bit 0 sealed, bits 1-2 fds, bit 3 the next generation, bit 4 too small */
                        uint8_t how = fuzz_u8(&r);
                        uint32_t slots = 1 + fuzz_u8(&r) % SLOTS_MAX;
                        uint32_t slot_size = format->slot_size + (fuzz_u8(&r) % 4) * 512;
                        uint64_t generation = how & 8 ? d.generation + 1 : fuzz_u8(&r);

                        if (how & 16)
                                slot_size = format->slot_size / 2;
                        a.max_slot_size = MAX(a.max_slot_size, slot_size);
                        daemon_send_pool(&d, slots, slot_size, how & 1, (how >> 1) & 3, generation);
                        break;
                }
                }
        }

        for (int i = 0; i < 4; i++)
                app_next(&a, &d);
        daemon_receive(&d);
        if (debug)
                fprintf(stderr, "%u frames, then %s\n", a.n_frames,
                        a.sticky == -EPROTO ? "EPROTO" : a.sticky == MG_STREAM_ENDED ? "ENDED" : "running");
        if (mg_stream_get_fd(a.stream) < 0 || !mg_stream_get_format(a.stream))
                abort();
        mg_stream_free(a.stream);
        if (!d.closed)
                close(d.fd);
        return 0;
}
