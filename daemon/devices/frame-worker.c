/* The worker thread: a ring of jobs to run and a ring of jobs done, under one mutex, and an
 * eventfd that wakes the event loop while done jobs wait. */
#include "frame-worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

typedef struct Ring {
        void **items;
        size_t head, n;
} Ring;

struct FrameWorker {
        unsigned n_ref;
        size_t capacity;
        frame_worker_run_t run;
        frame_worker_done_t done;
        void *userdata;

        pthread_t thread;
        bool thread_started;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        bool stopping;   /* under lock */
        Ring todo, finished;
        bool running;    /* under lock: the thread holds a job */

        int event_fd;
        sd_event_source *source;
        bool freed;      /* frame_worker_free() was called */
};

static void ring_push(Ring *r, size_t capacity, void *item) {
        r->items[(r->head + r->n) % capacity] = item;
        r->n++;
}

static void *ring_pop(Ring *r, size_t capacity) {
        void *item;

        if (r->n == 0)
                return NULL;
        item = r->items[r->head];
        r->head = (r->head + 1) % capacity;
        r->n--;
        return item;
}

static FrameWorker *worker_ref(FrameWorker *w) {
        w->n_ref++;
        return w;
}

static void worker_unref(FrameWorker *w) {
        if (--w->n_ref > 0)
                return;
        sd_event_source_disable_unref(w->source);
        safe_close(w->event_fd);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
        free(w->todo.items);
        free(w->finished.items);
        free(w);
}

static void *worker_main(void *userdata) {
        FrameWorker *w = userdata;

        pthread_mutex_lock(&w->lock);
        for (;;) {
                void *job;
                uint64_t one = 1;

                while (!w->stopping && w->todo.n == 0)
                        pthread_cond_wait(&w->wake, &w->lock);
                if (w->stopping)
                        break;
                job = ring_pop(&w->todo, w->capacity);
                w->running = true;
                pthread_mutex_unlock(&w->lock);

                w->run(job, w->userdata);

                pthread_mutex_lock(&w->lock);
                w->running = false;
                ring_push(&w->finished, w->capacity, job);
                /* Written under the lock, so that the loop's reset of the counter (also under
                 * it) never swallows a wake-up for a job it has not seen. */
                if (write(w->event_fd, &one, sizeof one) < 0 && errno != EAGAIN)
                        log_debug_errno(errno, "Failed to wake the event loop for a done frame job: %m");
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

static int on_done(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        FrameWorker *w = worker_ref(userdata);
        void *job;

        pthread_mutex_lock(&w->lock);
        job = ring_pop(&w->finished, w->capacity);
        if (w->finished.n == 0) {
                uint64_t counter;

                /* Nothing else waits: reset the counter, or the loop would come back at once. */
                (void) read(w->event_fd, &counter, sizeof counter);
        }
        pthread_mutex_unlock(&w->lock);

        if (job && !w->freed)
                w->done(job, w->userdata);
        worker_unref(w);
        return 0;
}

int frame_worker_new(sd_event *event, const char *name, size_t capacity, frame_worker_run_t run,
                     frame_worker_done_t done, void *userdata, FrameWorker **ret) {
        FrameWorker *w;
        sigset_t all, saved;
        int r;

        if (!event || !name || capacity == 0 || !run || !done || !ret)
                return -EINVAL;

        w = calloc(1, sizeof(FrameWorker));
        if (!w)
                return -ENOMEM;
        w->n_ref = 1;
        w->capacity = capacity;
        w->run = run;
        w->done = done;
        w->userdata = userdata;
        w->event_fd = -1;
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->wake, NULL);
        w->todo.items = calloc(capacity, sizeof(void *));
        w->finished.items = calloc(capacity, sizeof(void *));
        if (!w->todo.items || !w->finished.items) {
                r = -ENOMEM;
                goto fail;
        }

        w->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->event_fd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(event, &w->source, w->event_fd, EPOLLIN, on_done, w);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(w->source, "frame-worker");

        /* The thread takes no signal: they belong to the event loop's signal handling. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        r = -pthread_create(&w->thread, NULL, worker_main, w);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r < 0)
                goto fail;
        w->thread_started = true;
        (void) pthread_setname_np(w->thread, name);

        *ret = w;
        return 0;

fail:
        worker_unref(w);
        return r;
}

int frame_worker_submit(FrameWorker *w, void *job) {
        int r = 0;

        if (!w || !job)
                return -EINVAL;
        pthread_mutex_lock(&w->lock);
        if (w->freed || w->stopping)
                r = -ESHUTDOWN;
        else if (w->todo.n + w->finished.n + (w->running ? 1 : 0) >= w->capacity)
                r = -ENOBUFS;
        else {
                ring_push(&w->todo, w->capacity, job);
                pthread_cond_signal(&w->wake);
        }
        pthread_mutex_unlock(&w->lock);
        return r;
}

size_t frame_worker_in_flight(FrameWorker *w) {
        size_t n;

        if (!w)
                return 0;
        pthread_mutex_lock(&w->lock);
        n = w->todo.n + w->finished.n + (w->running ? 1 : 0);
        pthread_mutex_unlock(&w->lock);
        return n;
}

FrameWorker *frame_worker_free(FrameWorker *w) {
        if (!w || w->freed)
                return NULL;
        w->freed = true;

        pthread_mutex_lock(&w->lock);
        w->stopping = true;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        if (w->thread_started)
                pthread_join(w->thread, NULL);

        (void) sd_event_source_set_enabled(w->source, SD_EVENT_OFF);
        worker_unref(w);
        return NULL;
}
