/* A thread of its own for work too long for the event loop (decoding and encoding camera
 * frames): jobs go in from the loop, run on the thread one after the other, and come back to
 * the loop in the order they went in. The owner keeps its jobs; the worker only passes
 * pointers, and never more than `capacity` at a time. */
#pragma once

#include <stddef.h>
#include <systemd/sd-event.h>

typedef struct FrameWorker FrameWorker;

/* On the worker's thread: do the job. It must touch nothing the loop uses meanwhile. */
typedef void (*frame_worker_run_t)(void *job, void *userdata);
/* On the event loop: the job is done. It may free the worker (the rest of the done jobs are
 * then dropped, as frame_worker_free() says). One job per loop iteration, so that a backlog
 * never holds the loop for long. */
typedef void (*frame_worker_done_t)(void *job, void *userdata);

/* name: the thread's name (at most 15 bytes), as ps and /proc show it. nice: how much lower
than the event loop's the thread's scheduling priority is (0 to 19), so that when the CPU is
scarce the bus and the streams come first. */
int frame_worker_new(sd_event *event, const char *name, int nice, size_t capacity, frame_worker_run_t run,
                     frame_worker_done_t done, void *userdata, FrameWorker **ret);

/* Queue a job. -ENOBUFS when capacity jobs are in the worker already (queued, running, or done
 * and not yet handed back), -ESHUTDOWN after frame_worker_free(). Never blocks. */
int frame_worker_submit(FrameWorker *w, void *job);

/* Jobs in the worker now. */
size_t frame_worker_in_flight(FrameWorker *w);

/* Stop: the job running now finishes, the thread is joined, nothing else runs and no done
 * callback comes any more; the owner may free every job once this returns. Safe from inside
 * the done callback. Returns NULL. */
FrameWorker *frame_worker_free(FrameWorker *w);
