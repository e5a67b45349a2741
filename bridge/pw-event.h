/* The PipeWire main loop run from an sd_event loop: libmediagate, the streams' control sockets
 * and PipeWire then share one thread and one loop. */
#pragma once

#include <pipewire/loop.h>
#include <systemd/sd-event.h>

typedef struct PwEventLoop PwEventLoop;

/* A new pw_loop, entered, whose fd is watched by event; its sources run from sd_event's dispatch. */
int pw_event_loop_new(sd_event *event, PwEventLoop **ret);
PwEventLoop *pw_event_loop_free(PwEventLoop *l);
struct pw_loop *pw_event_loop_get(PwEventLoop *l);
