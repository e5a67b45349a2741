/* The PipeWire main loop run from an sd_event loop (see pw-event.h). pw_loop offers its own epoll
 * fd for exactly this: when it is readable, one non-blocking iteration dispatches what is ready. */
#include <pipewire/pipewire.h>

#include "log.h"
#include "pw-event.h"

struct PwEventLoop {
        struct pw_loop *loop;
        sd_event_source *io;
        bool entered;
};

static int on_pw_loop(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        PwEventLoop *l = userdata;
        int r;

        r = pw_loop_iterate(l->loop, 0);
        if (r < 0 && r != -EINTR)
                log_warning_errno(r, "PipeWire loop iteration failed: %m");
        return 0;
}

int pw_event_loop_new(sd_event *event, PwEventLoop **ret) {
        PwEventLoop *l;
        int r;

        l = new0(PwEventLoop, 1);
        if (!l)
                return -ENOMEM;
        l->loop = pw_loop_new(NULL);
        if (!l->loop) {
                r = -errno ?: -ENOMEM;
                free(l);
                return r;
        }
        /* pw_loop_enter() marks this thread as the loop's: PipeWire checks it on every call. */
        pw_loop_enter(l->loop);
        l->entered = true;
        r = sd_event_add_io(event, &l->io, pw_loop_get_fd(l->loop), EPOLLIN, on_pw_loop, l);
        if (r < 0) {
                pw_event_loop_free(l);
                return r;
        }
        *ret = l;
        return 0;
}

PwEventLoop *pw_event_loop_free(PwEventLoop *l) {
        if (!l)
                return NULL;
        l->io = sd_event_source_disable_unref(l->io);
        if (l->entered)
                pw_loop_leave(l->loop);
        pw_loop_destroy(l->loop);
        free(l);
        return NULL;
}

struct pw_loop *pw_event_loop_get(PwEventLoop *l) {
        return l->loop;
}
