/* One job at a time on a thread of its own; an eventfd on the loop says when it ended. */
#include "background-worker.h"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>

#include "util.h"

struct BackgroundWorker {
        sd_event_source *source; /* the eventfd, readable once the job ended */
        int event_fd;
        pthread_t thread;
        bool busy;

        BackgroundWork work;
        BackgroundDone done;
        void *userdata;
        int result; /* written by the thread, read after pthread_join() */
};

static void *thread_main(void *p) {
        BackgroundWorker *w = p;

        w->result = w->work(w->userdata);
        /* An eventfd write cannot block nor fail with a counter this small. */
        (void) eventfd_write(w->event_fd, 1);
        return NULL;
}

void background_worker_wait(BackgroundWorker *w) {
        eventfd_t value;

        if (!w || !w->busy)
                return;
        (void) pthread_join(w->thread, NULL);
        (void) eventfd_read(w->event_fd, &value);
        w->busy = false;
        w->done(w->result, w->userdata);
}

static int on_job_ended(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        BackgroundWorker *w = userdata;
        eventfd_t value;

        if (!w->busy) {
                (void) eventfd_read(w->event_fd, &value);
                return 0;
        }
        background_worker_wait(w);
        return 0;
}

int background_worker_new(sd_event *event, BackgroundWorker **ret) {
        BackgroundWorker *w;
        int r;

        w = calloc(1, sizeof(BackgroundWorker));
        if (!w)
                return -ENOMEM;
        w->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->event_fd < 0) {
                r = -errno;
                free(w);
                return r;
        }
        r = sd_event_add_io(event, &w->source, w->event_fd, EPOLLIN, on_job_ended, w);
        if (r < 0) {
                background_worker_free(w);
                return r;
        }
        *ret = w;
        return 0;
}

BackgroundWorker *background_worker_free(BackgroundWorker *w) {
        if (!w)
                return NULL;
        if (w->busy)
                (void) pthread_join(w->thread, NULL);
        sd_event_source_disable_unref(w->source);
        safe_close(w->event_fd);
        free(w);
        return NULL;
}

int background_worker_start(BackgroundWorker *w, BackgroundWork work, BackgroundDone done, void *userdata) {
        sigset_t all, saved;
        int r;

        if (w->busy)
                return -EBUSY;
        w->work = work;
        w->done = done;
        w->userdata = userdata;
        /* Signals are for the loop's signalfd; the thread must never take one. */
        sigfillset(&all);
        r = -pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (r < 0)
                return r;
        r = -pthread_create(&w->thread, NULL, thread_main, w);
        (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r < 0)
                return r;
        w->busy = true;
        return 0;
}

bool background_worker_busy(const BackgroundWorker *w) {
        return w && w->busy;
}
