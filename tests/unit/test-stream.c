/* Unit tests for stream.c: the sealed pool as the client sees it, the control socket protocol
 * (FRAME / RELEASE / MUTED / FORMAT / ENDED, protocol errors), drops, decimation, the stamp,
 * black frames, audio downmix, and fd hygiene over many open/close cycles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mediagate-wire.h"
#include "devices/device.h"
#include "scale.h"
#include "stream.h"
#include "util.h"

#define YUYV PIXEL_FORMAT_YUYV
#define NV12 PIXEL_FORMAT_NV12

/* Open fds of this process, and the highest fd number, not counting the directory's own fd. */
static void fd_stats(int *ret_count, int *ret_highest) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0, highest = -1;

        assert_non_null(d);
        while ((de = readdir(d))) {
                int fd;

                if (de->d_name[0] == '.')
                        continue;
                fd = atoi(de->d_name);
                if (fd == dirfd(d))
                        continue;
                n++;
                highest = MAX(highest, fd);
        }
        closedir(d);
        *ret_count = n;
        *ret_highest = highest;
}

static bool under_valgrind(void) {
        const char *p = getenv("LD_PRELOAD");

        return p && strstr(p, "vgpreload");
}

/* The RLIMIT_NOFILE under which exactly k fd numbers are free (fds are allocated lowest first,
 * and fds above the limit, like a shell's 255, stay open but do not count). */
static int limit_leaving_free(int k) {
        bool open_fd[4096] = {};
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;

        assert_non_null(d);
        while ((de = readdir(d))) {
                int fd = atoi(de->d_name);

                if (de->d_name[0] != '.' && fd != dirfd(d) && fd < (int) ELEMENTSOF(open_fd))
                        open_fd[fd] = true;
        }
        closedir(d);

        for (int n = 0, free_seen = 0; n < (int) ELEMENTSOF(open_fd); n++)
                if (!open_fd[n] && free_seen++ == k)
                        return n;
        fail();
        return -1;
}

static int count_fds(void) {
        int n, highest;

        fd_stats(&n, &highest);
        return n;
}

/* A test stream with its client side. */
typedef struct Fixture {
        sd_event *event;
        Stream *stream;
        int control; /* client end */
        int pool_fd; /* client's read-only pool fd */
        const uint8_t *pool; /* client's read-only mapping */
        size_t pool_size;
        StreamConfig cfg;
        unsigned n_closed;
        bool free_in_callback;
} Fixture;

static void on_closed(Stream *s, void *userdata) {
        Fixture *f = userdata;

        assert_ptr_equal(s, f->stream);
        f->n_closed++;
        if (f->free_in_callback)
                f->stream = stream_free(f->stream);
}

static StreamConfig video_config(uint32_t fourcc, uint32_t w, uint32_t h, double fps, size_t slot_size, unsigned slots) {
        return (StreamConfig) {
                .kind = DEVICE_KIND_VIDEO,
                .width = w,
                .height = h,
                .fourcc = fourcc,
                .frame_rate = fps,
                .slot_size = slot_size,
                .n_slots = slots,
        };
}

static StreamConfig audio_config(uint32_t rate, uint32_t channels, uint32_t frames_per_slot, unsigned slots) {
        return (StreamConfig) {
                .kind = DEVICE_KIND_AUDIO,
                .sample_rate = rate,
                .channels = channels,
                .frames_per_slot = frames_per_slot,
                .slot_size = (size_t) frames_per_slot * channels * 2,
                .n_slots = slots,
        };
}

static void fixture_open(Fixture *f, const StreamConfig *cfg) {
        void *p;

        *f = (Fixture) { .control = -1, .pool_fd = -1, .cfg = *cfg };
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(stream_new(f->event, cfg, &f->stream, &f->control, &f->pool_fd), 0);
        stream_set_closed_callback(f->stream, on_closed, f);

        f->pool_size = cfg->slot_size * cfg->n_slots;
        p = mmap(NULL, f->pool_size, PROT_READ, MAP_SHARED, f->pool_fd, 0);
        assert_true(p != MAP_FAILED);
        f->pool = p;
}

static void fixture_close(Fixture *f) {
        stream_free(f->stream);
        if (f->pool)
                munmap((void *) f->pool, f->pool_size);
        safe_close(f->control);
        safe_close(f->pool_fd);
        sd_event_unref(f->event);
        *f = (Fixture) {};
}

static void run_loop(Fixture *f) {
        /* Dispatch everything that is ready, without waiting. */
        while (sd_event_run(f->event, 0) > 0)
                ;
}

/* Receive one message; returns its size, 0 on EOF, -EAGAIN when nothing is queued. */
static ssize_t client_recv(Fixture *f, MgWireMessage *m) {
        uint8_t buf[256];
        ssize_t n = recv(f->control, buf, sizeof(buf), MSG_DONTWAIT);

        if (n < 0)
                return -errno;
        if (n > 0)
                assert_true(mg_wire_decode(buf, (size_t) n, m));
        return n;
}

static void client_expect(Fixture *f, uint32_t type, MgWireMessage *ret) {
        MgWireMessage m;

        assert_int_equal(client_recv(f, &m), MG_WIRE_MESSAGE_SIZE);
        if (m.type != type)
                fail_msg("expected message type %u, got %u", type, m.type);
        if (ret)
                *ret = m;
}

static void client_expect_nothing(Fixture *f) {
        MgWireMessage m;

        assert_int_equal(client_recv(f, &m), -EAGAIN);
}

static void client_release(Fixture *f, uint32_t slot) {
        MgWireMessage m = { .type = MG_WIRE_RELEASE, .slot = slot };
        uint8_t buf[MG_WIRE_MESSAGE_SIZE];

        mg_wire_encode(&m, buf);
        assert_int_equal(send(f->control, buf, sizeof(buf), MSG_NOSIGNAL), sizeof(buf));
}

/* A source frame with a recognisable pattern. */
typedef struct TestFrame {
        Frame frame;
        uint8_t *data;
} TestFrame;

static void test_frame_init(TestFrame *t, uint32_t fourcc, uint32_t w, uint32_t h, uint64_t seq, uint64_t ts) {
        uint32_t stride = fourcc == YUYV ? w * 2 : w;
        size_t size;

        assert_int_equal(scale_source_size(fourcc, w, h, stride, &size), 0);
        t->data = malloc(size);
        assert_non_null(t->data);
        for (size_t i = 0; i < size; i++)
                t->data[i] = (uint8_t) (i * 13 + seq * 7 + (i >> 9));
        t->frame = (Frame) {
                .data = t->data,
                .size = size,
                .sequence = seq,
                .timestamp_ns = ts,
                .width = w,
                .height = h,
                .stride = stride,
                .fourcc = fourcc,
        };
}

static void test_frame_done(TestFrame *t) {
        free(t->data);
        t->data = NULL;
}

static void push_video(Fixture *f, uint32_t w, uint32_t h, uint64_t seq, uint64_t ts) {
        TestFrame t;

        test_frame_init(&t, f->cfg.fourcc, w, h, seq, ts);
        stream_push_video(f->stream, &t.frame, NULL);
        test_frame_done(&t);
}

/* Reliability 28: the seals hold for the client, through its own fd and through an fd reopened
 * read-write from /proc/self/fd. Each row is one attempt at writing the pool. */
typedef enum Attack {
        ATTACK_WRITE,
        ATTACK_PWRITE,
        ATTACK_FTRUNCATE_SHRINK,
        ATTACK_FTRUNCATE_GROW,
        ATTACK_FALLOCATE,
        ATTACK_MMAP_SHARED_WRITE,
        ATTACK_MPROTECT_WRITE,
        ATTACK_REMOVE_SEALS,
} Attack;

typedef struct SealCase {
        const char *name;
        Attack attack;
        bool reopen_rdwr;
} SealCase;

static const SealCase seal_cases[] = {
        { "write", ATTACK_WRITE, false },
        { "pwrite", ATTACK_PWRITE, false },
        { "ftruncate shrink", ATTACK_FTRUNCATE_SHRINK, false },
        { "ftruncate grow", ATTACK_FTRUNCATE_GROW, false },
        { "fallocate", ATTACK_FALLOCATE, false },
        { "mmap shared writable", ATTACK_MMAP_SHARED_WRITE, false },
        { "mprotect writable", ATTACK_MPROTECT_WRITE, false },
        { "add seals", ATTACK_REMOVE_SEALS, false },
        { "reopened rdwr: write", ATTACK_WRITE, true },
        { "reopened rdwr: pwrite", ATTACK_PWRITE, true },
        { "reopened rdwr: ftruncate shrink", ATTACK_FTRUNCATE_SHRINK, true },
        { "reopened rdwr: ftruncate grow", ATTACK_FTRUNCATE_GROW, true },
        { "reopened rdwr: fallocate", ATTACK_FALLOCATE, true },
        { "reopened rdwr: mmap shared writable", ATTACK_MMAP_SHARED_WRITE, true },
        { "reopened rdwr: mprotect writable", ATTACK_MPROTECT_WRITE, true },
        { "reopened rdwr: add seals", ATTACK_REMOVE_SEALS, true },
};

static bool attack_succeeds(int fd, Attack a, size_t size) {
        uint8_t byte = 0x42;
        void *p;
        int r;

        switch (a) {
        case ATTACK_WRITE:
                return write(fd, &byte, 1) >= 0;
        case ATTACK_PWRITE:
                return pwrite(fd, &byte, 1, 0) >= 0;
        case ATTACK_FTRUNCATE_SHRINK:
                return ftruncate(fd, 0) >= 0;
        case ATTACK_FTRUNCATE_GROW:
                return ftruncate(fd, (off_t) size * 2) >= 0;
        case ATTACK_FALLOCATE:
                return fallocate(fd, 0, 0, (off_t) size * 2) >= 0 ||
                       fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) >= 0;
        case ATTACK_MMAP_SHARED_WRITE:
                p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                if (p == MAP_FAILED)
                        return false;
                munmap(p, size);
                return true;
        case ATTACK_MPROTECT_WRITE:
                p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
                assert_true(p != MAP_FAILED);
                r = mprotect(p, size, PROT_READ | PROT_WRITE);
                munmap(p, size);
                return r >= 0;
        case ATTACK_REMOVE_SEALS:
                return fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) >= 0;
        }
        return true;
}

static void test_stream_pool_sealed(void **state) {
        StreamConfig cfg = video_config(YUYV, 64, 48, 0, 64 * 48 * 2, 4);

        for (size_t k = 0; k < ELEMENTSOF(seal_cases); k++) {
                const SealCase *c = &seal_cases[k];
                _cleanup_close_ int fd = -1;
                Fixture f;
                int seals;
                struct stat st;

                print_message("case: %s\n", c->name);
                fixture_open(&f, &cfg);

                seals = fcntl(f.pool_fd, F_GET_SEALS);
                assert_int_equal(seals, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL);
                assert_int_equal(fcntl(f.pool_fd, F_GETFL) & O_ACCMODE, O_RDONLY);
                assert_int_equal(fstat(f.pool_fd, &st), 0);
                assert_int_equal((size_t) st.st_size, f.pool_size);

                if (c->reopen_rdwr) {
                        char path[64];

                        snprintf(path, sizeof(path), "/proc/self/fd/%d", f.pool_fd);
                        fd = open(path, O_RDWR | O_CLOEXEC);
                        if (fd < 0) {
                                /* Refusing the reopen is as good as refusing the write. */
                                fixture_close(&f);
                                continue;
                        }
                        assert_int_equal(fcntl(fd, F_GET_SEALS), seals);
                } else
                        fd = fcntl(f.pool_fd, F_DUPFD_CLOEXEC, 3);
                assert_true(fd >= 0);

                if (attack_succeeds(fd, c->attack, f.pool_size))
                        fail_msg("%s: the pool could be modified", c->name);

                /* Control: the same attack works on an unsealed memfd, so the row tests something. */
                {
                        _cleanup_close_ int plain = memfd_create("control", MFD_CLOEXEC | MFD_ALLOW_SEALING);

                        assert_true(plain >= 0);
                        assert_int_equal(ftruncate(plain, (off_t) f.pool_size), 0);
                        if (!attack_succeeds(plain, c->attack, f.pool_size))
                                fail_msg("%s: the attack does not even work on an unsealed memfd", c->name);
                }

                /* The daemon's own mapping still writes and the client sees it. */
                push_video(&f, 64, 48, 7, 1000);
                client_expect(&f, MG_WIRE_FRAME, NULL);
                assert_int_equal(fstat(f.pool_fd, &st), 0);
                assert_int_equal((size_t) st.st_size, f.pool_size);

                fixture_close(&f);
        }
}

/* Every row pushes frames, optionally releasing, and checks the FRAME fields and slot content. */
static void test_stream_frame_release(void **state) {
        StreamConfig cfg = video_config(YUYV, 64, 48, 0, 64 * 48 * 2, 3);
        Fixture f;
        TestFrame t;
        MgWireMessage m;
        uint32_t seen_slots = 0;

        fixture_open(&f, &cfg);

        for (uint64_t seq = 0; seq < 10; seq++) {
                test_frame_init(&t, YUYV, 64, 48, seq, 1000000 + seq * 33333333);
                stream_push_video(f.stream, &t.frame, NULL);

                client_expect(&f, MG_WIRE_FRAME, &m);
                assert_true(m.slot < 3);
                assert_int_equal(m.sequence, seq);
                assert_int_equal(m.timestamp_ns, 1000000 + seq * 33333333);
                assert_int_equal(m.bytes, 64 * 48 * 2);
                assert_int_equal(m.flags, 0);
                assert_int_equal(m.dropped, 0);
                assert_memory_equal(f.pool + (size_t) m.slot * cfg.slot_size, t.data, t.frame.size);
                seen_slots |= 1u << m.slot;
                test_frame_done(&t);

                client_release(&f, m.slot);
                run_loop(&f);
        }

        assert_int_equal(seen_slots, 0x7); /* slots are spread, not one reused */
        assert_int_equal(stream_get_delivered(f.stream), 10);
        assert_int_equal(stream_get_dropped(f.stream), 0);
        assert_int_equal(f.n_closed, 0);

        StreamFormat fmt;
        stream_get_format(f.stream, &fmt);
        assert_int_equal(fmt.width, 64);
        assert_int_equal(fmt.stride, 128);
        assert_int_equal(fmt.frame_size, 64 * 48 * 2);
        assert_int_equal(fmt.slots, 3);
        fixture_close(&f);
}

/* A client that holds every slot: frames are dropped and counted; the count rides on the next
 * FRAME. Rows: slots, frames pushed while holding everything. */
typedef struct DropCase {
        const char *name;
        unsigned slots;
        unsigned pushes;
} DropCase;

static const DropCase drop_cases[] = {
        { "one slot", 1, 5 },
        { "four slots", 4, 10 },
        { "four slots, a minute at 30 fps", 4, 1800 },
        { "no excess", 4, 4 },
};

static void test_stream_drops(void **state) {
        for (size_t k = 0; k < ELEMENTSOF(drop_cases); k++) {
                const DropCase *c = &drop_cases[k];
                StreamConfig cfg = video_config(NV12, 32, 16, 0, 32 * 24, c->slots);
                uint64_t expected_drops = c->pushes > c->slots ? c->pushes - c->slots : 0;
                MgWireMessage m;
                Fixture f;

                print_message("case: %s\n", c->name);
                fixture_open(&f, &cfg);

                for (unsigned i = 0; i < c->pushes; i++)
                        push_video(&f, 32, 16, i, (uint64_t) i * 33333333);
                for (unsigned i = 0; i < MIN(c->pushes, c->slots); i++) {
                        client_expect(&f, MG_WIRE_FRAME, &m);
                        assert_int_equal(m.sequence, i);
                }
                client_expect_nothing(&f);
                assert_int_equal(stream_get_dropped(f.stream), expected_drops);
                assert_int_equal(stream_get_delivered(f.stream), MIN(c->pushes, c->slots));

                client_release(&f, m.slot);
                run_loop(&f);
                push_video(&f, 32, 16, 100000, 100000ULL * 33333333);
                client_expect(&f, MG_WIRE_FRAME, &m);
                assert_int_equal(m.sequence, 100000);
                assert_int_equal(m.dropped, expected_drops);
                assert_int_equal(f.n_closed, 0);
                fixture_close(&f);
        }
}

/* A client that releases slots but never reads its control socket: its queue fills, FRAMEs are
 * then dropped (never blocking), and a state change waits for room and then arrives in order. */
static void test_stream_client_not_reading(void **state) {
        StreamConfig cfg = video_config(YUYV, 16, 8, 0, 16 * 8 * 2, 2), next;
        unsigned i, frames = 0;
        uint64_t dropped;
        MgWireMessage m;
        Fixture f;

        fixture_open(&f, &cfg);
        /* Slots are handed out round-robin, so the client knows which one to release without
         * reading. */
        for (i = 0; i < 100000; i++) {
                push_video(&f, 16, 8, i, (uint64_t) i * 1000);
                if (stream_get_dropped(f.stream) > 0)
                        break;
                client_release(&f, i % 2);
                run_loop(&f);
        }
        assert_true(stream_get_dropped(f.stream) > 0);
        assert_int_equal(f.n_closed, 0);

        /* The queue is full: FORMAT and MUTED must wait, and no frame may overtake them. */
        next = cfg;
        next.width = 8;
        next.height = 4;
        assert_int_equal(stream_set_format(f.stream, &next), 0);
        stream_set_muted(f.stream, true);
        stream_set_muted(f.stream, false);

        while (client_recv(&f, &m) > 0) {
                assert_int_equal(m.type, MG_WIRE_FRAME);
                assert_int_equal(m.bytes, 16 * 8 * 2);
                frames++;
        }
        assert_int_equal(frames, stream_get_delivered(f.stream));

        /* There is room again (and every slot was released in the loop), but FORMAT has not gone
         * out yet: this frame is dropped. */
        dropped = stream_get_dropped(f.stream);
        push_video(&f, 16, 8, 200000, 200000000);
        assert_int_equal(stream_get_dropped(f.stream), dropped + 1);
        client_expect_nothing(&f);

        run_loop(&f); /* EPOLLOUT: FORMAT goes out; the mute flipped back, so no MUTED */
        client_expect(&f, MG_WIRE_FORMAT, &m);
        assert_int_equal(m.format[0], 8);
        client_expect_nothing(&f);

        push_video(&f, 16, 8, 200001, 200001000);
        client_expect(&f, MG_WIRE_FRAME, &m);
        assert_int_equal(m.bytes, 8 * 4 * 2);
        assert_int_equal(m.dropped, dropped + 1);
        assert_int_equal(f.n_closed, 0);
        fixture_close(&f);
}

static void test_stream_ended(void **state) {
        StreamConfig cfg = video_config(YUYV, 16, 8, 0, 16 * 8 * 2, 2);
        MgWireMessage m;
        Fixture f;
        uint8_t before[16 * 8 * 2];

        fixture_open(&f, &cfg);
        push_video(&f, 16, 8, 1, 1000);
        client_expect(&f, MG_WIRE_FRAME, &m);
        client_release(&f, m.slot);
        memcpy(before, f.pool, sizeof(before));

        stream_end(f.stream, MG_ENDED_REVOKED);
        stream_end(f.stream, MG_ENDED_POLICY); /* once only */
        client_expect(&f, MG_WIRE_ENDED, &m);
        assert_int_equal(m.reason, MG_ENDED_REVOKED);
        assert_int_equal(client_recv(&f, &m), 0); /* EOF */

        /* Never written again, whatever the owner still calls. */
        for (unsigned i = 0; i < 4; i++)
                push_video(&f, 16, 8, 2 + i, 2000 + i);
        stream_set_muted(f.stream, true);
        assert_int_equal(stream_set_format(f.stream, &cfg), -ESHUTDOWN);
        assert_memory_equal(f.pool, before, sizeof(before));
        assert_int_equal(stream_get_delivered(f.stream), 1);
        assert_false(stream_is_open(f.stream));

        run_loop(&f);
        assert_int_equal(f.n_closed, 0); /* the daemon ended it: no closed callback */
        fixture_close(&f);
}

/* Anything but a well-formed RELEASE of a held slot ends the stream through the callback. */
typedef enum Misbehaviour {
        BAD_RELEASE_NOT_HELD,
        BAD_RELEASE_OUT_OF_RANGE,
        BAD_RELEASE_TWICE,
        BAD_SHORT,
        BAD_LONG,
        BAD_UNKNOWN_TYPE,
        BAD_DAEMON_TYPE,
        BAD_WITH_FD,
        CLIENT_CLOSES,
        CLIENT_SHUTS_DOWN,
} Misbehaviour;

typedef struct ProtocolCase {
        const char *name;
        Misbehaviour what;
        bool free_in_callback;
} ProtocolCase;

static const ProtocolCase protocol_cases[] = {
        { "release of a slot not held", BAD_RELEASE_NOT_HELD, false },
        { "release out of range", BAD_RELEASE_OUT_OF_RANGE, true },
        { "release twice", BAD_RELEASE_TWICE, false },
        { "short message", BAD_SHORT, true },
        { "long message", BAD_LONG, false },
        { "unknown type", BAD_UNKNOWN_TYPE, true },
        { "daemon message type", BAD_DAEMON_TYPE, false },
        { "message with an fd", BAD_WITH_FD, true },
        { "client closes", CLIENT_CLOSES, true },
        { "client shuts down", CLIENT_SHUTS_DOWN, false },
};

static void send_raw(int fd, const void *buf, size_t n) {
        assert_int_equal(send(fd, buf, n, MSG_NOSIGNAL), (ssize_t) n);
}

static void test_stream_protocol_errors(void **state) {
        StreamConfig cfg = video_config(YUYV, 16, 8, 0, 16 * 8 * 2, 4);
        int baseline = count_fds();

        for (size_t k = 0; k < ELEMENTSOF(protocol_cases); k++) {
                const ProtocolCase *c = &protocol_cases[k];
                uint8_t buf[MG_WIRE_MESSAGE_SIZE * 2] = {};
                MgWireMessage m;
                Fixture f;

                print_message("case: %s\n", c->name);
                fixture_open(&f, &cfg);
                f.free_in_callback = c->free_in_callback;
                push_video(&f, 16, 8, 0, 0);
                client_expect(&f, MG_WIRE_FRAME, &m); /* the client holds slot m.slot */

                switch (c->what) {
                case BAD_RELEASE_NOT_HELD:
                        client_release(&f, (m.slot + 1) % 4);
                        break;
                case BAD_RELEASE_OUT_OF_RANGE:
                        client_release(&f, 4);
                        break;
                case BAD_RELEASE_TWICE:
                        client_release(&f, m.slot);
                        client_release(&f, m.slot);
                        break;
                case BAD_SHORT:
                        mg_wire_encode(&(MgWireMessage) { .type = MG_WIRE_RELEASE, .slot = m.slot }, buf);
                        send_raw(f.control, buf, MG_WIRE_MESSAGE_SIZE - 1);
                        break;
                case BAD_LONG:
                        mg_wire_encode(&(MgWireMessage) { .type = MG_WIRE_RELEASE, .slot = m.slot }, buf);
                        send_raw(f.control, buf, sizeof(buf));
                        break;
                case BAD_UNKNOWN_TYPE:
                        mg_wire_put32(buf, 77);
                        send_raw(f.control, buf, MG_WIRE_MESSAGE_SIZE);
                        break;
                case BAD_DAEMON_TYPE:
                        mg_wire_encode(&(MgWireMessage) { .type = MG_WIRE_FRAME, .slot = m.slot }, buf);
                        send_raw(f.control, buf, MG_WIRE_MESSAGE_SIZE);
                        break;
                case BAD_WITH_FD: {
                        union {
                                struct cmsghdr align;
                                uint8_t space[CMSG_SPACE(sizeof(int))];
                        } control = {};
                        struct iovec iov = { .iov_base = buf, .iov_len = MG_WIRE_MESSAGE_SIZE };
                        struct msghdr mh = {
                                .msg_iov = &iov, .msg_iovlen = 1,
                                .msg_control = &control, .msg_controllen = sizeof(control),
                        };
                        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                        int passed = open("/dev/null", O_RDONLY | O_CLOEXEC);

                        mg_wire_encode(&(MgWireMessage) { .type = MG_WIRE_RELEASE, .slot = m.slot }, buf);
                        cm->cmsg_level = SOL_SOCKET;
                        cm->cmsg_type = SCM_RIGHTS;
                        cm->cmsg_len = CMSG_LEN(sizeof(int));
                        memcpy(CMSG_DATA(cm), &passed, sizeof(int));
                        assert_int_equal(sendmsg(f.control, &mh, MSG_NOSIGNAL), MG_WIRE_MESSAGE_SIZE);
                        close(passed);
                        break;
                }
                case CLIENT_CLOSES:
                        f.control = safe_close(f.control);
                        break;
                case CLIENT_SHUTS_DOWN:
                        assert_int_equal(shutdown(f.control, SHUT_WR), 0);
                        break;
                }

                run_loop(&f);
                assert_int_equal(f.n_closed, 1);
                run_loop(&f);
                assert_int_equal(f.n_closed, 1); /* once, no busy hangup loop */

                if (!c->free_in_callback) {
                        assert_false(stream_is_open(f.stream));
                        push_video(&f, 16, 8, 1, 1000);
                        assert_int_equal(stream_get_delivered(f.stream), 1);
                }
                if (f.control >= 0) {
                        /* The daemon's end is shut down: the client reads EOF, no more frames. */
                        assert_int_equal(client_recv(&f, &m), 0);
                }
                fixture_close(&f);
                assert_int_equal(count_fds(), baseline);
        }
}

/* Decimation: capture at capture_fps for n frames, the stream at stream_fps. */
typedef struct DecimationCase {
        const char *name;
        double capture_fps, stream_fps;
        unsigned n_frames;
        unsigned expected;
        unsigned expected_first_gap; /* source frames between the first two delivered, 0: skip */
} DecimationCase;

static const DecimationCase decimation_cases[] = {
        { "30 to 10, one second", 30, 10, 30, 10, 3 },
        { "30 to 10, ten seconds", 30, 10, 300, 100, 3 },
        { "30 to 12, one second", 30, 12, 30, 12, 3 },
        { "30 to 12, ten seconds", 30, 12, 300, 120, 3 },
        { "30 to 15", 30, 15, 300, 150, 2 },
        { "30 to 30", 30, 30, 300, 300, 1 },
        { "15 to 30: never invent frames", 15, 30, 150, 150, 1 },
        { "rate 0: every frame", 30, 0, 90, 90, 1 },
        { "29.97 to 10", 29.97, 10, 2997, 1000, 0 },
        { "60 to 24", 60, 24, 600, 240, 0 },
        { "30 to 1", 30, 1, 300, 10, 30 },
};

static void test_stream_decimation(void **state) {
        for (size_t k = 0; k < ELEMENTSOF(decimation_cases); k++) {
                const DecimationCase *c = &decimation_cases[k];
                StreamConfig cfg = video_config(NV12, 16, 8, c->stream_fps, 16 * 12, 4);
                uint64_t seqs[2] = {};
                unsigned delivered = 0;
                MgWireMessage m;
                Fixture f;

                print_message("case: %s\n", c->name);
                fixture_open(&f, &cfg);
                for (unsigned i = 0; i < c->n_frames; i++) {
                        uint64_t ts = 5000000000ULL + (uint64_t) ((double) i * 1e9 / c->capture_fps);

                        push_video(&f, 16, 8, i, ts);
                        while (client_recv(&f, &m) > 0) {
                                assert_int_equal(m.type, MG_WIRE_FRAME);
                                if (delivered < 2)
                                        seqs[delivered] = m.sequence;
                                delivered++;
                                client_release(&f, m.slot);
                        }
                        run_loop(&f);
                }
                if (delivered != c->expected)
                        fail_msg("%s: %u frames delivered, expected %u", c->name, delivered, c->expected);
                if (c->expected_first_gap)
                        assert_int_equal(seqs[1] - seqs[0], c->expected_first_gap);
                assert_int_equal(stream_get_dropped(f.stream), 0);
                fixture_close(&f);
        }
}

/* 30 to 12 must be even: the gaps alternate between 2 and 3 source frames (66.7 and 100 ms),
 * never two frames in a row and never a gap of 4. And after a stall the stream resynchronises
 * instead of bursting. */
static void test_stream_decimation_even(void **state) {
        StreamConfig cfg = video_config(NV12, 16, 8, 12, 16 * 12, 4);
        uint64_t last = UINT64_MAX;
        unsigned gaps[5] = {}, delivered_after_stall = 0;
        MgWireMessage m;
        Fixture f;

        fixture_open(&f, &cfg);
        for (unsigned i = 0; i < 300; i++) {
                push_video(&f, 16, 8, i, (uint64_t) i * 1000000000ULL / 30);
                while (client_recv(&f, &m) > 0) {
                        if (last != UINT64_MAX) {
                                assert_true(m.sequence - last < ELEMENTSOF(gaps));
                                gaps[m.sequence - last]++;
                        }
                        last = m.sequence;
                        client_release(&f, m.slot);
                }
                run_loop(&f);
        }
        assert_int_equal(gaps[1], 0);
        assert_int_equal(gaps[4], 0);
        assert_int_equal(gaps[2] + gaps[3], 119);
        assert_true(gaps[2] >= 58 && gaps[3] >= 58);

        /* Five seconds without frames, then one second more at 30 fps: about 12, not 72. */
        for (unsigned i = 0; i < 30; i++) {
                push_video(&f, 16, 8, 1000 + i, 15000000000ULL + (uint64_t) i * 1000000000ULL / 30);
                while (client_recv(&f, &m) > 0) {
                        delivered_after_stall++;
                        client_release(&f, m.slot);
                }
                run_loop(&f);
        }
        assert_in_range(delivered_after_stall, 11, 13);
        fixture_close(&f);
}

/* Ending a stream while the client's RELEASEs are still unread by the daemon: the client gets
 * ENDED and then a clean EOF, not a connection reset that would swallow the ENDED. */
static void test_stream_end_with_releases_in_flight(void **state) {
        StreamConfig cfg = video_config(NV12, 16, 8, 0, 16 * 12, 4);
        MgWireMessage m;
        Fixture f;

        fixture_open(&f, &cfg);
        for (unsigned i = 0; i < 4; i++)
                push_video(&f, 16, 8, i, (uint64_t) i * 1000000ULL);
        for (unsigned i = 0; i < 4; i++) {
                client_expect(&f, MG_WIRE_FRAME, &m);
                client_release(&f, m.slot); /* the daemon does not run its loop: unread */
        }
        stream_end(f.stream, MG_ENDED_DEVICE_REMOVED);
        f.stream = stream_free(f.stream);
        client_expect(&f, MG_WIRE_ENDED, &m);
        assert_int_equal(m.reason, MG_ENDED_DEVICE_REMOVED);
        assert_int_equal(client_recv(&f, &m), 0); /* EOF, not -ECONNRESET */
        fixture_close(&f);
}

/* A 30 fps stream of a 30 fps source loses nothing to timing: late frames (the loop was busy)
 * followed by on-time ones are all delivered. */
static void test_stream_same_rate_keeps_late_frames(void **state) {
        StreamConfig cfg = video_config(NV12, 16, 8, 30, 16 * 12, 4);
        unsigned delivered = 0;
        MgWireMessage m;
        Fixture f;

        fixture_open(&f, &cfg);
        for (unsigned i = 0; i < 90; i++) {
                uint64_t ts = (uint64_t) i * 1000000000ULL / 30;

                if (i % 10 == 5)
                        ts += 25000000; /* 25 ms late */
                push_video(&f, 16, 8, i, ts);
                while (client_recv(&f, &m) > 0) {
                        delivered++;
                        client_release(&f, m.slot);
                }
                run_loop(&f);
        }
        assert_int_equal(delivered, 90);
        fixture_close(&f);
}

/* The stamp is at offset 0 of every delivered frame, after scaling; truncated when the frame is
 * smaller than the stamp. */
typedef struct StampCase {
        const char *name;
        uint32_t fourcc;
        uint32_t src_w, src_h, dst_w, dst_h;
        size_t expected_bytes;
} StampCase;

static const StampCase stamp_cases[] = {
        { "identity", YUYV, 64, 48, 64, 48, 64 * 48 * 2 },
        { "scaled YUYV 640x480 to 320x240", YUYV, 640, 480, 320, 240, 320 * 240 * 2 },
        { "cropped NV12 1280x720 to 640x480", NV12, 1280, 720, 640, 480, 640 * 480 * 3 / 2 },
        { "tiny YUYV 4x2: 16 bytes of stamp", YUYV, 640, 480, 4, 2, 16 },
        { "tiny NV12 2x2: 6 bytes of stamp", NV12, 640, 480, 2, 2, 6 },
};

static void test_stream_stamp(void **state) {
        for (size_t k = 0; k < ELEMENTSOF(stamp_cases); k++) {
                const StampCase *c = &stamp_cases[k];
                StreamConfig cfg = video_config(c->fourcc, c->dst_w, c->dst_h, 0, 1024 * 1024, 2);
                _cleanup_(scale_plan_freep) ScalePlan *plan = NULL;
                _cleanup_free_ uint8_t *expected = NULL;
                uint8_t stamp[FRAME_STAMP_SIZE];
                MgWireMessage m;
                TestFrame t;
                Fixture f;

                print_message("case: %s\n", c->name);
                fixture_open(&f, &cfg);
                test_frame_init(&t, c->fourcc, c->src_w, c->src_h, 0x0102030405060708ULL, 0x1112131415161718ULL);
                t.frame.stamp = true;
                for (unsigned i = 0; i < 16; i++)
                        t.frame.tag[i] = (uint8_t) (0xA0 + i);

                /* What the slot must hold: the scaled frame with the stamp over its start. */
                assert_int_equal(scale_plan_new(c->fourcc, c->src_w, c->src_h, t.frame.stride, c->dst_w, c->dst_h, &plan), 0);
                expected = malloc(scale_plan_dst_size(plan));
                assert_non_null(expected);
                assert_int_equal(scale_plan_run(plan, t.data, t.frame.size, expected, scale_plan_dst_size(plan)), 0);
                memcpy(stamp, "MGFRAME", 8);
                mg_wire_put64(stamp + 8, t.frame.sequence);
                mg_wire_put64(stamp + 16, t.frame.timestamp_ns);
                memcpy(stamp + 24, t.frame.tag, 16);
                memcpy(expected, stamp, MIN(sizeof(stamp), c->expected_bytes));

                /* The caller's plan (as the capture fan-out passes it) and the stream's own. */
                stream_push_video(f.stream, &t.frame, plan);
                client_expect(&f, MG_WIRE_FRAME, &m);
                assert_int_equal(m.bytes, c->expected_bytes);
                assert_memory_equal(f.pool + (size_t) m.slot * cfg.slot_size, expected, c->expected_bytes);

                t.frame.timestamp_ns += 1000000000;
                mg_wire_put64(stamp + 16, t.frame.timestamp_ns);
                memcpy(expected, stamp, MIN(sizeof(stamp), c->expected_bytes));
                stream_push_video(f.stream, &t.frame, NULL);
                client_expect(&f, MG_WIRE_FRAME, &m);
                assert_memory_equal(f.pool + (size_t) m.slot * cfg.slot_size, expected, c->expected_bytes);

                test_frame_done(&t);
                fixture_close(&f);
        }
}

static void test_stream_mute_enable(void **state) {
        StreamConfig cfg = video_config(YUYV, 8, 4, 0, 8 * 4 * 2, 2);
        MgWireMessage m;
        TestFrame t;
        Fixture f;

        fixture_open(&f, &cfg);
        stream_set_muted(f.stream, false); /* no change, no message */
        client_expect_nothing(&f);

        stream_set_muted(f.stream, true);
        stream_set_muted(f.stream, true);
        client_expect(&f, MG_WIRE_MUTED, NULL);
        client_expect_nothing(&f);
        push_video(&f, 8, 4, 1, 1000);
        client_expect_nothing(&f);
        assert_int_equal(stream_get_dropped(f.stream), 0); /* muted is not a drop */

        stream_set_muted(f.stream, false);
        client_expect(&f, MG_WIRE_UNMUTED, NULL);
        client_expect_nothing(&f);

        /* Disabled: black, flagged, unstamped, even for a stamped source. */
        stream_set_enabled(f.stream, false);
        test_frame_init(&t, YUYV, 8, 4, 2, 2000);
        t.frame.stamp = true;
        stream_push_video(f.stream, &t.frame, NULL);
        client_expect(&f, MG_WIRE_FRAME, &m);
        assert_int_equal(m.flags, MG_FRAME_FLAG_BLACK);
        assert_int_equal(m.bytes, 8 * 4 * 2);
        for (unsigned i = 0; i < m.bytes; i++)
                assert_int_equal(f.pool[(size_t) m.slot * cfg.slot_size + i], i % 2 == 0 ? 16 : 128);
        client_release(&f, m.slot);
        run_loop(&f);

        stream_set_enabled(f.stream, true);
        t.frame.sequence = 3;
        t.frame.timestamp_ns = 3000;
        stream_push_video(f.stream, &t.frame, NULL);
        client_expect(&f, MG_WIRE_FRAME, &m);
        assert_int_equal(m.flags, 0);
        assert_memory_equal(f.pool + (size_t) m.slot * cfg.slot_size, "MGFRAME", 8);
        assert_memory_equal(f.pool + (size_t) m.slot * cfg.slot_size + 40, t.data + 40, m.bytes - 40);
        test_frame_done(&t);
        fixture_close(&f);
}

/* stream_set_format rows: the new size, whether it fits the slot, what FORMAT carries. */
typedef struct FormatCase {
        const char *name;
        uint32_t w, h;
        int expected;
        uint32_t stride, frame_size;
} FormatCase;

static const FormatCase format_cases[] = {
        { "smaller", 320, 240, 0, 320, 320 * 240 * 3 / 2 },
        { "odd", 321, 181, 0, 322, 322 * 181 + 322 * 91 },
        { "largest that fits", 640, 480, 0, 640, 640 * 480 * 3 / 2 },
        { "does not fit the slot", 1280, 720, -E2BIG, 0, 0 },
        { "zero", 0, 480, -EINVAL, 0, 0 },
};

static void test_stream_format(void **state) {
        for (size_t k = 0; k < ELEMENTSOF(format_cases); k++) {
                const FormatCase *c = &format_cases[k];
                StreamConfig cfg = video_config(NV12, 640, 480, 0, 640 * 480 * 3 / 2, 2), next;
                MgWireMessage m;
                Fixture f;

                print_message("case: %s\n", c->name);
                fixture_open(&f, &cfg);
                next = cfg;
                next.width = c->w;
                next.height = c->h;
                next.slot_size = 1; /* ignored: the pool stays */
                assert_int_equal(stream_set_format(f.stream, &next), c->expected);

                if (c->expected < 0) {
                        client_expect_nothing(&f);
                        push_video(&f, 640, 480, 1, 1);
                        client_expect(&f, MG_WIRE_FRAME, &m);
                        assert_int_equal(m.bytes, 640 * 480 * 3 / 2);
                } else {
                        client_expect(&f, MG_WIRE_FORMAT, &m);
                        assert_int_equal(m.format[0], c->w);
                        assert_int_equal(m.format[1], c->h);
                        assert_int_equal(m.format[2], c->stride);
                        assert_int_equal(m.format[3], c->frame_size);
                        push_video(&f, 640, 480, 1, 1);
                        client_expect(&f, MG_WIRE_FRAME, &m);
                        assert_int_equal(m.bytes, c->frame_size);
                }
                fixture_close(&f);
        }
}

/* ApplyConstraints may move the device to a mode in the other pixel format; FORMAT cannot say so,
 * so the stream keeps its fourcc and converts. */
static void test_stream_format_keeps_fourcc(void **state) {
        StreamConfig cfg = video_config(YUYV, 64, 48, 0, 64 * 48 * 2, 2), next;
        _cleanup_(scale_plan_freep) ScalePlan *plan = NULL;
        _cleanup_free_ uint8_t *expected = NULL;
        StreamFormat fmt;
        MgWireMessage m;
        TestFrame t;
        Fixture f;

        fixture_open(&f, &cfg);
        next = video_config(NV12, 32, 24, 0, 0, 0);
        assert_int_equal(stream_set_format(f.stream, &next), 0);
        client_expect(&f, MG_WIRE_FORMAT, &m);
        assert_int_equal(m.format[0], 32);
        assert_int_equal(m.format[1], 24);
        assert_int_equal(m.format[2], 64);          /* a YUYV stride */
        assert_int_equal(m.format[3], 32 * 24 * 2); /* a YUYV size */
        stream_get_format(f.stream, &fmt);
        assert_int_equal(fmt.fourcc, YUYV);

        test_frame_init(&t, NV12, 64, 48, 9, 9000);
        stream_push_video(f.stream, &t.frame, NULL);
        client_expect(&f, MG_WIRE_FRAME, &m);
        assert_int_equal(m.bytes, 32 * 24 * 2);

        assert_int_equal(scale_plan_new_convert(NV12, 64, 48, 64, YUYV, 32, 24, &plan), 0);
        expected = malloc(scale_plan_dst_size(plan));
        assert_non_null(expected);
        assert_int_equal(scale_plan_run(plan, t.data, t.frame.size, expected, scale_plan_dst_size(plan)), 0);
        assert_memory_equal(f.pool + (size_t) m.slot * cfg.slot_size, expected, m.bytes);
        test_frame_done(&t);
        fixture_close(&f);
}

typedef struct ConfigCase {
        const char *name;
        StreamConfig cfg;
        int expected;
} ConfigCase;

static const ConfigCase config_cases[] = {
        { "video ok", { .kind = DEVICE_KIND_VIDEO, .width = 640, .height = 480, .fourcc = YUYV, .frame_rate = 30, .slot_size = 640 * 480 * 2, .n_slots = 4 }, 0 },
        { "slot too small", { .kind = DEVICE_KIND_VIDEO, .width = 640, .height = 480, .fourcc = YUYV, .frame_rate = 30, .slot_size = 640 * 480 * 2 - 1, .n_slots = 4 }, -E2BIG },
        { "no slots", { .kind = DEVICE_KIND_VIDEO, .width = 640, .height = 480, .fourcc = YUYV, .frame_rate = 30, .slot_size = 640 * 480 * 2, .n_slots = 0 }, -EINVAL },
        { "too many slots", { .kind = DEVICE_KIND_VIDEO, .width = 64, .height = 48, .fourcc = YUYV, .frame_rate = 30, .slot_size = 64 * 48 * 2, .n_slots = STREAM_SLOTS_MAX + 1 }, -EINVAL },
        { "pool too large", { .kind = DEVICE_KIND_VIDEO, .width = 64, .height = 48, .fourcc = YUYV, .frame_rate = 30, .slot_size = STREAM_POOL_SIZE_MAX / 4 + 1, .n_slots = 4 }, -E2BIG },
        { "unknown fourcc", { .kind = DEVICE_KIND_VIDEO, .width = 64, .height = 48, .fourcc = FOURCC('M', 'J', 'P', 'G'), .frame_rate = 30, .slot_size = 65536, .n_slots = 4 }, -EINVAL },
        { "negative rate", { .kind = DEVICE_KIND_VIDEO, .width = 64, .height = 48, .fourcc = YUYV, .frame_rate = -1, .slot_size = 65536, .n_slots = 4 }, -EINVAL },
        { "audio ok", { .kind = DEVICE_KIND_AUDIO, .sample_rate = 48000, .channels = 2, .frames_per_slot = 480, .slot_size = 1920, .n_slots = 8 }, 0 },
        { "audio slot too small", { .kind = DEVICE_KIND_AUDIO, .sample_rate = 48000, .channels = 2, .frames_per_slot = 480, .slot_size = 1919, .n_slots = 8 }, -E2BIG },
        { "audio no channels", { .kind = DEVICE_KIND_AUDIO, .sample_rate = 48000, .channels = 0, .frames_per_slot = 480, .slot_size = 1920, .n_slots = 8 }, -EINVAL },
        { "audio no rate", { .kind = DEVICE_KIND_AUDIO, .sample_rate = 0, .channels = 1, .frames_per_slot = 480, .slot_size = 1920, .n_slots = 8 }, -EINVAL },
        { "bad kind", { .kind = _DEVICE_KIND_MAX, .slot_size = 1920, .n_slots = 8 }, -EINVAL },
};

static void test_stream_config(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        int baseline;

        assert_int_equal(sd_event_new(&e), 0);
        baseline = count_fds();
        for (size_t k = 0; k < ELEMENTSOF(config_cases); k++) {
                const ConfigCase *c = &config_cases[k];
                Stream *s = NULL;
                int control = -1, pool = -1;

                print_message("case: %s\n", c->name);
                assert_int_equal(stream_new(e, &c->cfg, &s, &control, &pool), c->expected);
                if (c->expected < 0) {
                        assert_null(s);
                        assert_int_equal(control, -1);
                        assert_int_equal(pool, -1);
                }
                stream_free(s);
                safe_close(control);
                safe_close(pool);
                assert_int_equal(count_fds(), baseline);
        }
}

/* Audio rows: capture channels and period against the stream's channels and slot length. */
typedef struct AudioCase {
        const char *name;
        uint32_t src_channels, out_channels;
        uint32_t period, frames_per_slot;
        bool enabled;
        unsigned expected_slots;
} AudioCase;

static const AudioCase audio_cases[] = {
        { "stereo to stereo", 2, 2, 480, 480, true, 1 },
        { "stereo to mono", 2, 1, 480, 480, true, 1 },
        { "quad to stereo", 4, 2, 100, 480, true, 1 },
        { "period over three slots", 1, 1, 1000, 400, true, 3 },
        { "disabled: silence", 2, 1, 480, 480, false, 1 },
};

static int16_t sample_at(uint32_t frame, uint32_t ch) {
        return (int16_t) ((int32_t) frame * 37 - 20000 + (int32_t) ch * 1000);
}

static void test_stream_audio(void **state) {
        for (size_t k = 0; k < ELEMENTSOF(audio_cases); k++) {
                const AudioCase *c = &audio_cases[k];
                StreamConfig cfg = audio_config(48000, c->out_channels, c->frames_per_slot, 8);
                _cleanup_free_ uint8_t *data = malloc((size_t) c->period * c->src_channels * 2);
                uint32_t frame = 0;
                MgWireMessage m;
                Fixture f;
                Frame fr;

                print_message("case: %s\n", c->name);
                assert_non_null(data);
                for (uint32_t i = 0; i < c->period; i++)
                        for (uint32_t ch = 0; ch < c->src_channels; ch++) {
                                int16_t v = sample_at(i, ch);

                                memcpy(data + ((size_t) i * c->src_channels + ch) * 2, &v, 2);
                        }
                fr = (Frame) { .data = data, .size = (size_t) c->period * c->src_channels * 2, .sequence = 5,
                               .timestamp_ns = 1000000000, .n_frames = c->period };

                fixture_open(&f, &cfg);
                stream_set_enabled(f.stream, c->enabled);
                stream_push_audio(f.stream, &fr, c->src_channels);

                for (unsigned n = 0; n < c->expected_slots; n++) {
                        uint32_t frames;
                        const uint8_t *slot;

                        client_expect(&f, MG_WIRE_FRAME, &m);
                        frames = MIN(c->period - frame, c->frames_per_slot);
                        assert_int_equal(m.bytes, frames * c->out_channels * 2);
                        assert_int_equal(m.sequence, 5);
                        assert_int_equal(m.timestamp_ns, 1000000000 + (uint64_t) frame * 1000000000 / 48000);
                        assert_int_equal(m.flags, c->enabled ? 0 : MG_FRAME_FLAG_BLACK);
                        slot = f.pool + (size_t) m.slot * cfg.slot_size;

                        for (uint32_t i = 0; i < frames; i++)
                                for (uint32_t ch = 0; ch < c->out_channels; ch++) {
                                        int32_t expected = 0, count = 0;
                                        int16_t got;

                                        if (c->enabled) {
                                                for (uint32_t j = ch; j < c->src_channels; j += c->out_channels) {
                                                        expected += sample_at(frame + i, j);
                                                        count++;
                                                }
                                                expected /= count;
                                        }
                                        memcpy(&got, slot + ((size_t) i * c->out_channels + ch) * 2, 2);
                                        assert_int_equal(got, expected);
                                }
                        frame += frames;
                }
                client_expect_nothing(&f);
                assert_int_equal(frame, c->period);
                fixture_close(&f);
        }
}

/* Reliability 22: open/close cycles return to the fd baseline, and running out of fds is a
 * clean error with nothing half-built. */
static void test_stream_fd_cycles(void **state) {
        StreamConfig cfg = video_config(YUYV, 64, 48, 30, 64 * 48 * 2, 4);
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        struct rlimit old, tight;
        int baseline;

        assert_int_equal(sd_event_new(&e), 0);
        baseline = count_fds();

        for (unsigned i = 0; i < 1000; i++) {
                Stream *s = NULL;
                int control = -1, pool = -1;

                assert_int_equal(stream_new(e, &cfg, &s, &control, &pool), 0);
                if (i % 2 == 0)
                        stream_end(s, MG_ENDED_STOPPED);
                stream_free(s);
                close(control);
                close(pool);
        }
        assert_int_equal(count_fds(), baseline);

        /* Leave k free fd numbers below the limit: stream_new holds three fds at its peak (the
         * pool's read-only fd and the socket pair; the memfd it reopened is closed before the
         * socket pair is made), so with fewer it must fail cleanly at whichever step runs out,
         * and leave nothing behind. */
        assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
        for (int k = 0; k <= 5; k++) {
                Stream *s = NULL;
                int control = -1, pool = -1, r;

                tight = old;
                tight.rlim_cur = (rlim_t) limit_leaving_free(k);
                assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
                r = stream_new(e, &cfg, &s, &control, &pool);
                assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);

                print_message("free fds %d: %d\n", k, r);
                if (k >= 3) {
                        assert_int_equal(r, 0);
                        stream_free(s);
                        close(control);
                        close(pool);
                } else {
                        /* valgrind keeps its own fd limit and fails the step that crosses it
                         * with its own errno; what matters there is that nothing is left. */
                        if (under_valgrind())
                                assert_true(r < 0);
                        else
                                assert_int_equal(r, -EMFILE);
                        assert_null(s);
                        assert_int_equal(control, -1);
                        assert_int_equal(pool, -1);
                }
                assert_int_equal(count_fds(), baseline);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stream_pool_sealed),
                cmocka_unit_test(test_stream_frame_release),
                cmocka_unit_test(test_stream_drops),
                cmocka_unit_test(test_stream_client_not_reading),
                cmocka_unit_test(test_stream_ended),
                cmocka_unit_test(test_stream_protocol_errors),
                cmocka_unit_test(test_stream_decimation),
                cmocka_unit_test(test_stream_decimation_even),
                cmocka_unit_test(test_stream_same_rate_keeps_late_frames),
                cmocka_unit_test(test_stream_end_with_releases_in_flight),
                cmocka_unit_test(test_stream_stamp),
                cmocka_unit_test(test_stream_mute_enable),
                cmocka_unit_test(test_stream_format),
                cmocka_unit_test(test_stream_format_keeps_fourcc),
                cmocka_unit_test(test_stream_config),
                cmocka_unit_test(test_stream_audio),
                cmocka_unit_test(test_stream_fd_cycles),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
