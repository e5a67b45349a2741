/* Blocking work off the event loop: one job at a time runs on a thread of its own, and its end
 * is reported on the loop. For writes that fsync (the grant store), which would otherwise stall
 * every live stream for as long as the disk takes. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

typedef struct BackgroundWorker BackgroundWorker;

/* Runs on the worker thread: it may touch only what the loop leaves alone until done runs, and
 * must not log (the loop does that with the result). */
typedef int (*BackgroundWork)(void *userdata);
/* Runs on the event loop with what work returned. */
typedef void (*BackgroundDone)(int result, void *userdata);

int background_worker_new(sd_event *event, BackgroundWorker **ret);
/* Waits for a job in flight to end (its done does not run). Accepts NULL, returns NULL. */
BackgroundWorker *background_worker_free(BackgroundWorker *w);

/* Start work(userdata) on a new thread; done(result, userdata) follows on the loop. -EBUSY while
 * a job is in flight; other errors when the thread could not be started (then nothing runs). */
int background_worker_start(BackgroundWorker *w, BackgroundWork work, BackgroundDone done, void *userdata);
bool background_worker_busy(const BackgroundWorker *w);
/* Wait for the job in flight to end and run its done now (nothing when idle). */
void background_worker_wait(BackgroundWorker *w);
