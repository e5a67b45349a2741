/* libFuzzer harness for libmediagate's side of the stream wire protocol (client-lib/lib/stream.c):
 * the input is a script in which a hostile daemon sends anything on the control socket (frames
 * of any slot and size, formats, mutes, ends, wrong sizes, fds, a hang-up) while the app reads
 * frames, holds and releases them. What mediagate.h promises the app is checked: a frame always
 * lies inside the pool, a held slot is never handed out twice, only slots the daemon gave are
 * released (each once per frame), and EPROTO and ENDED stick. */
#include <errno.h>
#include <fcntl.h>
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

typedef struct Daemon {
        int fd;
        uint32_t slots, slot_size;
        unsigned outstanding[SLOTS_MAX]; /* FRAMEs sent for the slot minus RELEASEs received */
        bool closed;
} Daemon;

typedef struct App {
        MgStream *stream;
        MgFrame held[SLOTS_MAX];
        bool holding[SLOTS_MAX];
        bool have_last;      /* the frame of the latest FRAME result, auto-released on the next call */
        uint32_t last_slot;
        bool auto_release;
        const uint8_t *pool; /* learnt from the first frame */
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
};

/* A pool as the daemon makes it: a sealed memfd of slots * slot_size bytes. */
static int make_pool(const MgStreamFormat *f) {
        int fd = memfd_create("fuzz-pool", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        if (fd < 0 || ftruncate(fd, (off_t) f->slots * f->slot_size) < 0 ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
                abort();
        return fd;
}

static void daemon_send(Daemon *d, const uint8_t *buf, size_t size) {
        MgWireMessage m;

        if (d->closed || send(d->fd, buf, size, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t) size)
                return;
        if (mg_wire_decode(buf, size, &m) && m.type == MG_WIRE_FRAME && m.slot < d->slots)
                d->outstanding[m.slot]++;
}

static void daemon_send_with_fd(Daemon *d) {
        uint8_t buf[MG_WIRE_MESSAGE_SIZE];
        union {
                struct cmsghdr align;
                uint8_t space[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof(control) };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                abort();
        mg_wire_encode(&(MgWireMessage){ .type = MG_WIRE_MUTED }, buf);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        if (!d->closed)
                (void) sendmsg(d->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
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
                if (!mg_wire_decode(buf, (size_t) n, &m) || m.type != MG_WIRE_RELEASE || m.slot >= d->slots) {
                        fprintf(stderr, "the library sent a bad message (%zd bytes, type %u)\n", n,
                                n == MG_WIRE_MESSAGE_SIZE ? m.type : 0);
                        abort();
                }
                if (d->outstanding[m.slot] == 0) {
                        fprintf(stderr, "RELEASE of slot %u, which the daemon never gave\n", m.slot);
                        abort();
                }
                d->outstanding[m.slot]--;
        }
}

static void app_forget(App *a, uint32_t slot) {
        a->holding[slot] = false;
        if (a->have_last && a->last_slot == slot)
                a->have_last = false;
}

static void app_next(App *a, const Daemon *d) {
        MgFrame f;
        int r;

        if (a->auto_release && a->have_last)
                app_forget(a, a->last_slot);

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

        if (f.slot >= d->slots || f.bytes > d->slot_size || a->holding[f.slot]) {
                fprintf(stderr, "frame in slot %u of %u bytes (held: %d)\n", f.slot, f.bytes, a->holding[f.slot]);
                abort();
        }
        if (!a->pool)
                a->pool = f.data - (size_t) f.slot * d->slot_size;
        if (f.data != a->pool + (size_t) f.slot * d->slot_size)
                abort(); /* outside the slot, or another mapping */
        if (f.bytes > 0) {
                volatile uint8_t touch = f.data[0] ^ f.data[f.bytes - 1];
                (void) touch;
        }
        a->held[f.slot] = f;
        a->holding[f.slot] = true;
        a->have_last = true;
        a->last_slot = f.slot;
        a->n_frames++;
}

static void app_release(App *a, uint8_t arg) {
        uint32_t slot = arg % SLOTS_MAX;
        MgFrame bogus = { .slot = slot };
        int r;

        if (arg & 0x80) {
                /* A frame the app never got: refused, nothing sent. */
                if (!a->holding[slot] && mg_frame_release(a->stream, &bogus) != -EINVAL)
                        abort();
                return;
        }
        if (!a->holding[slot])
                return;
        r = mg_frame_release(a->stream, &a->held[slot]);
        if (r < 0) {
                fprintf(stderr, "mg_frame_release of a held frame: %s\n", strerror(-r));
                abort();
        }
        app_forget(a, slot);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzReader r = { data, size, 0 };
        const MgStreamFormat *format = &formats[fuzz_u8(&r) % ELEMENTSOF(formats)];
        Daemon d = { .slots = format->slots, .slot_size = format->slot_size };
        App a = { .auto_release = true, .sticky = 1 };
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

                switch (what % 12) {
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
