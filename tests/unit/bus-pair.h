/* For unit tests of bus code: a connected pair of private buses on one event loop, the daemon's
 * end (a server) and a peer that plays whoever the test needs (an agent, polkit, a client). On
 * a direct connection every message reaches the peer, whatever its destination. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "util.h"

typedef struct Pair {
        sd_event *event;
        sd_bus *daemon, *peer;
} Pair;

static inline void pair_open(Pair *p) {
        sd_id128_t id;
        int fds[2];

        assert_int_equal(sd_event_new(&p->event), 0);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0);
        assert_int_equal(sd_id128_randomize(&id), 0);

        assert_int_equal(sd_bus_new(&p->daemon), 0);
        assert_int_equal(sd_bus_set_fd(p->daemon, fds[0], fds[0]), 0);
        assert_int_equal(sd_bus_set_server(p->daemon, 1, id), 0);
        assert_int_equal(sd_bus_start(p->daemon), 0);
        assert_int_equal(sd_bus_attach_event(p->daemon, p->event, 0), 0);

        assert_int_equal(sd_bus_new(&p->peer), 0);
        assert_int_equal(sd_bus_set_fd(p->peer, fds[1], fds[1]), 0);
        assert_int_equal(sd_bus_start(p->peer), 0);
        assert_int_equal(sd_bus_attach_event(p->peer, p->event, 0), 0);
}

static inline void pair_close(Pair *p) {
        p->daemon = sd_bus_flush_close_unref(p->daemon);
        p->peer = sd_bus_flush_close_unref(p->peer);
        p->event = sd_event_unref(p->event);
}

/* Run the loop until *flag or a second has passed (then fail: something never arrived). */
static inline void run_until(Pair *p, const bool *flag) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + 1000000;

        while (!*flag) {
                assert_true(now_usec(CLOCK_MONOTONIC) < deadline);
                assert_true(sd_event_run(p->event, 10000) >= 0);
        }
}

/* Run the loop for a while, for things that must not happen. */
static inline void run_for(Pair *p, uint64_t usec) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + usec;

        while (now_usec(CLOCK_MONOTONIC) < deadline)
                assert_true(sd_event_run(p->event, 5000) >= 0);
}
