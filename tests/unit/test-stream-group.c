/* Unit tests for stream-group.c (wire format version 2): streams of one format share one pool and
 * one slot per frame; an ended stream's pool is left to it and the others move (POOL, with the
 * pre-faulted spare); max_held drops frames for that stream alone; a RELEASE that crossed a POOL
 * is ignored, one of a generation never announced is a protocol error; a stream that joins after
 * the last one left gets a fresh pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mediagate-wire.h"
#include "stream-group.h"
#include "stream.h"
#include "util.h"

#define W 64
#define H 48

static uint8_t source[W * H * 2];

typedef struct Client {
        Stream *stream;
        int fd, pool_fd;
        const uint8_t *map;
        size_t map_size;
        uint64_t generation;
        bool closed;
} Client;

static StreamConfig config(void) {
        return (StreamConfig) { .kind = DEVICE_KIND_VIDEO, .fourcc = PIXEL_FORMAT_YUYV, .width = W, .height = H,
                                .slot_size = W * H * 2 };
}

static void on_closed(Stream *s, void *userdata) {
        ((Client *) userdata)->closed = true;
}

static void client_open(StreamGroup *g, Client *c) {
        StreamConfig cfg = config();

        *c = (Client) {};
        assert_int_equal(stream_new_in_group(g, &cfg, &c->stream, &c->fd, &c->pool_fd), 0);
        stream_set_closed_callback(c->stream, on_closed, c);
        c->map_size = (size_t) STREAM_GROUP_SLOTS * cfg.slot_size;
        c->map = mmap(NULL, c->map_size, PROT_READ, MAP_SHARED, c->pool_fd, 0);
        assert_true(c->map != MAP_FAILED);
}

static void client_close(Client *c) {
        stream_free(c->stream);
        munmap((void *) c->map, c->map_size);
        close(c->fd);
        close(c->pool_fd);
}

static ino_t inode_of(int fd) {
        struct stat st;

        assert_int_equal(fstat(fd, &st), 0);
        return st.st_ino;
}

/* The next message; a POOL's fd replaces the client's pool (mapped anew). -EAGAIN: none. */
static int client_recv(Client *c, MgWireMessage *ret) {
        uint8_t buf[MG_WIRE_MESSAGE_SIZE];
        union {
                struct cmsghdr align;
                uint8_t space[CMSG_SPACE(sizeof(int))];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof(control) };
        ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

        if (n < 0)
                return -errno;
        if (n == 0)
                return 0;
        assert_true(mg_wire_decode(buf, (size_t) n, ret));
        if (ret->type == MG_WIRE_POOL) {
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                int fd;

                assert_non_null(cm);
                memcpy(&fd, CMSG_DATA(cm), sizeof(int));
                assert_true(ret->sequence > c->generation);
                c->generation = ret->sequence;
                close(c->pool_fd);
                c->pool_fd = fd;
                c->map = mmap(NULL, c->map_size, PROT_READ, MAP_SHARED, fd, 0); /* the old one stays mapped */
                assert_true(c->map != MAP_FAILED);
        } else
                assert_null(CMSG_FIRSTHDR(&mh));
        return 1;
}

static void client_release(Client *c, uint32_t slot, uint64_t generation) {
        uint8_t buf[MG_WIRE_MESSAGE_SIZE];

        mg_wire_encode(&(MgWireMessage) { .type = MG_WIRE_RELEASE, .slot = slot, .sequence = generation }, buf);
        assert_int_equal(send(c->fd, buf, sizeof(buf), 0), (ssize_t) sizeof(buf));
}

static uint64_t seq;

static void push(StreamGroup *g) {
        Frame f = { .data = source, .size = sizeof(source), .sequence = seq, .timestamp_ns = 1000000000 + seq * 33333333,
                    .width = W, .height = H, .stride = W * 2, .fourcc = PIXEL_FORMAT_YUYV, .stamp = true };

        memset(source, (int) (seq * 17), sizeof(source));
        seq++;
        stream_group_push_video(g, &f, NULL);
}

static void run_loop(sd_event *e) {
        for (int i = 0; i < 8; i++)
                if (sd_event_run(e, 0) <= 0)
                        break;
}

static void test_share_one_pool_and_slot(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        StreamConfig cfg = config();
        StreamGroup *g;
        Client a, b;
        MgWireMessage ma, mb;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(stream_group_new(e, &cfg, &g), 0);
        client_open(g, &a);
        client_open(g, &b);
        assert_int_equal(inode_of(a.pool_fd), inode_of(b.pool_fd));
        push(g);
        assert_int_equal(client_recv(&a, &ma), 1);
        assert_int_equal(client_recv(&b, &mb), 1);
        assert_int_equal(ma.type, MG_WIRE_FRAME);
        assert_int_equal(mb.type, MG_WIRE_FRAME);
        assert_int_equal(ma.slot, mb.slot);
        assert_memory_equal(a.map + (size_t) ma.slot * cfg.slot_size, "MGFRAME", 8);
        client_close(&a);
        client_close(&b);
        assert_true(stream_group_is_empty(g));
        stream_group_free(g);
}

static void test_ended_stream_keeps_its_pool_others_move(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_free_ uint8_t *frozen = NULL;
        StreamConfig cfg = config();
        uint64_t moves, without_spare;
        StreamGroup *g;
        Client a, b;
        MgWireMessage m;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(stream_group_new(e, &cfg, &g), 0);
        client_open(g, &a);
        client_open(g, &b);
        run_loop(e); /* the spare is made from the loop */
        push(g);
        assert_int_equal(client_recv(&a, &m), 1);
        assert_int_equal(client_recv(&b, &m), 1);

        stream_end(a.stream, MG_ENDED_REVOKED);
        assert_int_equal(client_recv(&a, &m), 1);
        assert_int_equal(m.type, MG_WIRE_ENDED);
        assert_int_equal(client_recv(&a, &m), 0); /* EOF */
        frozen = malloc(a.map_size);
        memcpy(frozen, a.map, a.map_size);

        for (int i = 0; i < 10; i++) {
                push(g);
                run_loop(e);
        }
        /* b: POOL before any later frame, then frames in the new pool */
        assert_int_equal(client_recv(&b, &m), 1);
        assert_int_equal(m.type, MG_WIRE_POOL);
        assert_int_not_equal(inode_of(b.pool_fd), inode_of(a.pool_fd));
        assert_int_equal(client_recv(&b, &m), 1);
        assert_int_equal(m.type, MG_WIRE_FRAME);
        assert_memory_equal(a.map, frozen, a.map_size);
        stream_group_get_moves(g, &moves, &without_spare);
        assert_int_equal(moves, 1);
        assert_int_equal(without_spare, 0);

        client_close(&a);
        client_close(&b);
        stream_group_free(g);
}

static void test_max_held_drops_for_one_alone(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        StreamConfig cfg = config();
        StreamGroup *g;
        Client hog, b;
        MgWireMessage m;
        unsigned hog_frames = 0;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(stream_group_new(e, &cfg, &g), 0);
        client_open(g, &hog);
        client_open(g, &b);
        for (int i = 0; i < 20; i++) {
                push(g);
                while (client_recv(&hog, &m) == 1)
                        hog_frames++; /* held, never released */
                assert_int_equal(client_recv(&b, &m), 1);
                assert_int_equal(m.type, MG_WIRE_FRAME);
                assert_int_equal(m.dropped, 0);
                client_release(&b, m.slot, b.generation);
        }
        assert_int_equal(hog_frames, STREAM_GROUP_MAX_HELD);
        assert_int_equal(stream_get_dropped(hog.stream), 20 - STREAM_GROUP_MAX_HELD);
        client_close(&hog);
        client_close(&b);
        stream_group_free(g);
}

static void test_release_generations(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        StreamConfig cfg = config();
        StreamGroup *g;
        Client a, b, c;
        MgWireMessage m, held;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(stream_group_new(e, &cfg, &g), 0);
        client_open(g, &a);
        client_open(g, &b);
        client_open(g, &c);
        push(g);
        assert_int_equal(client_recv(&b, &held), 1);
        stream_end(a.stream, MG_ENDED_STOPPED);
        push(g);
        assert_int_equal(client_recv(&b, &m), 1);
        assert_int_equal(m.type, MG_WIRE_POOL);
        /* crossed the POOL on the wire: ignored */
        client_release(&b, held.slot, 0);
        for (int i = 0; i < 4; i++) {
                while (client_recv(&b, &m) == 1 && m.type == MG_WIRE_FRAME)
                        client_release(&b, m.slot, b.generation);
                push(g);
        }
        assert_false(b.closed);
        assert_true(stream_is_open(b.stream));
        /* a generation never announced: a protocol error, the stream closes (reported from the loop) */
        client_release(&c, 0, 7);
        push(g);
        push(g);
        run_loop(e);
        assert_true(c.closed);
        assert_false(b.closed);
        client_close(&a);
        client_close(&b);
        client_close(&c);
        stream_group_free(g);
}

static void test_rejoin_gets_a_fresh_pool(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        StreamConfig cfg = config();
        StreamGroup *g;
        Client a, b;
        ino_t first;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(stream_group_new(e, &cfg, &g), 0);
        client_open(g, &a);
        first = inode_of(a.pool_fd);
        stream_detach(a.stream);
        assert_true(stream_group_is_empty(g));
        client_open(g, &b);
        assert_int_not_equal(inode_of(b.pool_fd), first);
        client_close(&a);
        client_close(&b);
        stream_group_free(g);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_share_one_pool_and_slot),
                cmocka_unit_test(test_ended_stream_keeps_its_pool_others_move),
                cmocka_unit_test(test_max_held_drops_for_one_alone),
                cmocka_unit_test(test_release_generations),
                cmocka_unit_test(test_rejoin_gets_a_fresh_pool),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
