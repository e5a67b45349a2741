/* The worker thread and the event loop share two single-producer, single-consumer rings (jobs to
 * run, jobs done) and two eventfds (one wakes the thread, one the loop), and no lock: the
 * thread runs below the loop's priority, and a lock it held while the scheduler kept it off the
 * CPU would stall the loop for as long (priority inversion). */
#include "frame-worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* One writer, one reader: the writer publishes an item by moving `tail` on (release), the
 * reader takes it by moving `head` on (release), each reading the other's index with acquire. */
typedef struct Ring {
        void **items;
        size_t size; /* capacity + 1: one slot stays empty to tell full from empty */
        _Atomic size_t head, tail;
} Ring;

struct FrameWorker {
        unsigned n_ref;
        frame_worker_run_t run;
        frame_worker_done_t done;
        void *userdata;
        int nice;
        size_t capacity;
        size_t in_flight; /* the loop's count: submitted and not yet handed back */

        pthread_t thread;
        bool thread_started;
        atomic_bool stopping;
        Ring todo, finished;

        int wake_fd;  /* the thread blocks reading it */
        int done_fd;  /* the loop watches it */
        sd_event_source *source;
        bool freed;   /* frame_worker_free() was called */
};

static int ring_init(Ring *r, size_t capacity) {
        r->size = capacity + 1;
        r->items = calloc(r->size, sizeof(void *));
        atomic_init(&r->head, 0);
        atomic_init(&r->tail, 0);
        return r->items ? 0 : -ENOMEM;
}

static bool ring_push(Ring *r, void *item) {
        size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        size_t next = (tail + 1) % r->size;

        if (next == atomic_load_explicit(&r->head, memory_order_acquire))
                return false;
        r->items[tail] = item;
        atomic_store_explicit(&r->tail, next, memory_order_release);
        return true;
}

static void *ring_pop(Ring *r) {
        size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
        void *item;

        if (head == atomic_load_explicit(&r->tail, memory_order_acquire))
                return NULL;
        item = r->items[head];
        atomic_store_explicit(&r->head, (head + 1) % r->size, memory_order_release);
        return item;
}

static bool ring_empty(Ring *r) {
        return atomic_load_explicit(&r->head, memory_order_acquire) ==
               atomic_load_explicit(&r->tail, memory_order_acquire);
}

static void signal_fd(int fd) {
        uint64_t one = 1;

        /* An eventfd counter cannot overflow from this; EAGAIN would mean it is set already. */
        if (write(fd, &one, sizeof one) < 0 && errno != EAGAIN)
                log_debug_errno(errno, "Failed to signal a frame worker's eventfd: %m");
}

static FrameWorker *worker_ref(FrameWorker *w) {
        w->n_ref++;
        return w;
}

static void worker_unref(FrameWorker *w) {
        if (--w->n_ref > 0)
                return;
        sd_event_source_disable_unref(w->source);
        safe_close(w->wake_fd);
        safe_close(w->done_fd);
        free(w->todo.items);
        free(w->finished.items);
        free(w);
}

static void *worker_main(void *userdata) {
        FrameWorker *w = userdata;

        /* Per thread on Linux (the "process" of PRIO_PROCESS is the thread given by its id). A
         * thread may always lower its own priority. */
        if (w->nice > 0) {
                int base = getpriority(PRIO_PROCESS, (id_t) gettid());

                (void) setpriority(PRIO_PROCESS, (id_t) gettid(), MIN(base + w->nice, 19));
        }

        while (!atomic_load(&w->stopping)) {
                uint64_t counter;
                void *job;

                job = ring_pop(&w->todo);
                if (!job) {
                        /* Blocks until the loop submits or stops us. */
                        if (read(w->wake_fd, &counter, sizeof counter) < 0 && errno != EINTR)
                                break;
                        continue;
                }
                w->run(job, w->userdata);
                /* The ring holds every job the loop may have submitted: this cannot fail. */
                (void) ring_push(&w->finished, job);
                signal_fd(w->done_fd);
        }
        return NULL;
}

/* One done job per loop iteration; if more wait, the loop is woken again at once. */
static int on_done(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        FrameWorker *w = worker_ref(userdata);
        uint64_t counter;
        void *job;

        /* Reset first, then look: a job pushed meanwhile is seen now or signals again. Nothing to
         * read (EAGAIN) only means another wake-up got here first. */
        if (read(w->done_fd, &counter, sizeof counter) < 0 && errno != EAGAIN)
                log_debug_errno(errno, "Reading the done counter of a worker: %m");
        job = ring_pop(&w->finished);
        if (job) {
                w->in_flight--;
                if (!ring_empty(&w->finished))
                        signal_fd(w->done_fd);
                if (!w->freed)
                        w->done(job, w->userdata);
        }
        worker_unref(w);
        return 0;
}

int frame_worker_new(sd_event *event, const char *name, int nice, size_t capacity, frame_worker_run_t run,
                     frame_worker_done_t done, void *userdata, FrameWorker **ret) {
        FrameWorker *w;
        sigset_t all, saved;
        int r;

        if (!event || !name || nice < 0 || nice > 19 || capacity == 0 || !run || !done || !ret)
                return -EINVAL;

        w = calloc(1, sizeof(FrameWorker));
        if (!w)
                return -ENOMEM;
        w->n_ref = 1;
        w->capacity = capacity;
        w->run = run;
        w->done = done;
        w->userdata = userdata;
        w->nice = nice;
        w->wake_fd = w->done_fd = -1;
        atomic_init(&w->stopping, false);
        if (ring_init(&w->todo, capacity) < 0 || ring_init(&w->finished, capacity) < 0) {
                r = -ENOMEM;
                goto fail;
        }

        w->wake_fd = eventfd(0, EFD_CLOEXEC);
        w->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->wake_fd < 0 || w->done_fd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(event, &w->source, w->done_fd, EPOLLIN, on_done, w);
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
        if (!w || !job)
                return -EINVAL;
        if (w->freed)
                return -ESHUTDOWN;
        /* Counting the jobs the loop has not had back keeps both rings from filling. */
        if (w->in_flight >= w->capacity || !ring_push(&w->todo, job))
                return -ENOBUFS;
        w->in_flight++;
        signal_fd(w->wake_fd);
        return 0;
}

size_t frame_worker_in_flight(FrameWorker *w) {
        return w ? w->in_flight : 0;
}

FrameWorker *frame_worker_free(FrameWorker *w) {
        if (!w || w->freed)
                return NULL;
        w->freed = true;

        atomic_store(&w->stopping, true);
        signal_fd(w->wake_fd);
        if (w->thread_started)
                pthread_join(w->thread, NULL);

        (void) sd_event_source_set_enabled(w->source, SD_EVENT_OFF);
        worker_unref(w);
        return NULL;
}
