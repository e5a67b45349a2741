/* libmediagate: how a stream ends when the daemon closes the control socket while RELEASE
 * messages of the client are still unread on its side (Linux then reports ECONNRESET once,
 * ahead of the messages still queued for the client). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "internal.h"
#include "stream.h"

#define SLOTS 2
#define SLOT_SIZE 4096

static const MgStreamFormat format = {
        .video = true,
        .fourcc = "YUYV",
        .width = 32,
        .height = 16,
        .stride = 64,
        .frame_size = 1024,
        .slots = SLOTS,
        .slot_size = SLOT_SIZE,
};

static int make_pool(void) {
        int fd = memfd_create("test-pool", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, SLOTS * SLOT_SIZE), 0);
        assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
        return fd;
}

static void send_message(int fd, const MgWireMessage *m) {
        uint8_t buf[MG_WIRE_MESSAGE_SIZE];

        mg_wire_encode(m, buf);
        assert_int_equal(send(fd, buf, sizeof buf, MSG_NOSIGNAL), (ssize_t) sizeof buf);
}

#define FRAME(s) ((MgWireMessage) { .type = MG_WIRE_FRAME, .slot = (s), .sequence = 7, .bytes = 16 })
#define ENDED(r) ((MgWireMessage) { .type = MG_WIRE_ENDED, .reason = (r) })

static const struct {
        const char *name;
        unsigned unread_releases;  /* RELEASE messages the "daemon" never reads */
        MgWireMessage queued[2];   /* sent to the client before the daemon closes */
        size_t n_queued;
        bool shutdown_first;       /* shutdown(SHUT_RDWR) before close, as mediagated does */
        int results[3];            /* what mg_stream_next_frame() returns, call by call */
        const char *ended_reason;
} cases[] = {
        { "ENDED after unread RELEASEs", 1, { ENDED(MG_ENDED_DEVICE_REMOVED) }, 1, true,
          { MG_STREAM_ENDED, MG_STREAM_ENDED }, "device-removed" },
        { "ENDED after many unread RELEASEs, no shutdown", 5, { ENDED(MG_ENDED_REVOKED) }, 1, false,
          { MG_STREAM_ENDED, MG_STREAM_ENDED }, "revoked" },
        { "a frame and ENDED after unread RELEASEs", 1, { FRAME(1), ENDED(MG_ENDED_POLICY) }, 2, true,
          { MG_STREAM_FRAME, MG_STREAM_ENDED }, "policy" },
        { "closed without ENDED after unread RELEASEs", 1, {}, 0, true, { MG_STREAM_ENDED }, "disconnected" },
        { "ENDED, nothing unread", 0, { ENDED(MG_ENDED_SHUTDOWN) }, 1, true, { MG_STREAM_ENDED }, "shutdown" },
};

static void test_close_with_unread_releases(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                MgStream *stream = NULL;
                MgFrame frame;
                int fds[2];

                assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
                assert_int_equal(stream_new(fds[0], make_pool(), &format, &stream, NULL), 0);

                /* The client's RELEASEs, written straight to its socket, wait unread at the daemon. */
                for (unsigned j = 0; j < cases[i].unread_releases; j++)
                        send_message(mg_stream_get_fd(stream), &(MgWireMessage) { .type = MG_WIRE_RELEASE });
                for (size_t j = 0; j < cases[i].n_queued; j++)
                        send_message(fds[1], &cases[i].queued[j]);
                if (cases[i].shutdown_first)
                        assert_int_equal(shutdown(fds[1], SHUT_RDWR), 0);
                safe_close(fds[1]);

                for (size_t j = 0; j < ELEMENTSOF(cases[i].results) && cases[i].results[j]; j++) {
                        int r = mg_stream_next_frame(stream, 1000, &frame);

                        if (r != cases[i].results[j])
                                fail_msg("row %zu (%s), call %zu: got %d, expected %d", i, cases[i].name, j, r,
                                         cases[i].results[j]);
                }
                /* Every row ends: with the reason the daemon gave, or "disconnected" without one. */
                assert_int_equal(mg_stream_next_frame(stream, 0, &frame), MG_STREAM_ENDED);
                if (!streq_ptr(mg_stream_get_ended_reason(stream), cases[i].ended_reason))
                        fail_msg("row %zu (%s): ended with %s, expected %s", i, cases[i].name,
                                 strempty(mg_stream_get_ended_reason(stream)), cases[i].ended_reason);
                mg_stream_free(stream);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_close_with_unread_releases),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
