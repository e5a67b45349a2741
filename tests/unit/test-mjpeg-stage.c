/* Tests of the frame worker (jobs run on a thread of their own and come back to the loop in
 * order; capacity; freeing with jobs queued and from inside the done callback) and of the
 * Motion-JPEG stage built on it (frames decoded off the loop, delivered in order with their
 * sequence and stamp, bad frames and overflow counted, never delivered after the stage is gone). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/frame-code.h"
#include "devices/frame-worker.h"
#include "devices/mjpeg-stage.h"
#include "devices/mjpeg.h"
#include "util.h"

static void run_until(sd_event *e, const bool *done, unsigned msec) {
        for (unsigned i = 0; i < msec && !*done; i++)
                assert_true(sd_event_run(e, 1000) >= 0);
}

/* ---- the worker ---- */

typedef struct Job {
        unsigned index;
        pthread_t ran_on;
        unsigned delay_ms;
} Job;

typedef struct WorkerTest {
        FrameWorker *worker;
        pthread_t loop_thread;
        unsigned n_done;
        unsigned order[16];
        bool free_in_done; /* free the worker from the first done callback */
        bool finished;
        unsigned expect;
} WorkerTest;

static void job_run(void *job, void *userdata) {
        Job *j = job;

        j->ran_on = pthread_self();
        if (j->delay_ms)
                usleep(j->delay_ms * 1000);
}

static void job_done(void *job, void *userdata) {
        WorkerTest *t = userdata;
        Job *j = job;

        assert_true(pthread_equal(pthread_self(), t->loop_thread));
        assert_false(pthread_equal(j->ran_on, t->loop_thread));
        t->order[t->n_done++] = j->index;
        if (t->free_in_done)
                t->worker = frame_worker_free(t->worker);
        t->finished = t->n_done >= t->expect || t->free_in_done;
}

static void test_worker(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        WorkerTest t = { .loop_thread = pthread_self(), .expect = 6 };
        Job jobs[8];
        char comm[64] = "";
        bool named = false;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(frame_worker_new(e, "mg-test-worker", 5, 6, job_run, job_done, &t, &t.worker), 0);
        for (unsigned i = 0; i < 8; i++)
                jobs[i] = (Job) { .index = i, .delay_ms = i == 0 ? 50 : 1 };
        for (unsigned i = 0; i < 6; i++)
                assert_int_equal(frame_worker_submit(t.worker, &jobs[i]), 0);
        /* Full: the 7th waits for nothing, it is refused. */
        assert_int_equal(frame_worker_submit(t.worker, &jobs[6]), -ENOBUFS);
        assert_int_equal(frame_worker_in_flight(t.worker), 6);

        /* The thread carries its name (the first job is still running). */
        DIR *d = opendir("/proc/self/task");

        assert_non_null(d);
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_fclose_ FILE *f = NULL;
                char path[300];

                snprintf(path, sizeof path, "/proc/self/task/%s/comm", de->d_name);
                f = fopen(path, "re");
                if (f && fgets(comm, sizeof comm, f) && startswith(comm, "mg-test-worker"))
                        named = true;
        }
        closedir(d);
        assert_true(named);

        run_until(e, &t.finished, 2000);
        assert_int_equal(t.n_done, 6);
        for (unsigned i = 0; i < 6; i++)
                assert_int_equal(t.order[i], i);
        assert_int_equal(frame_worker_in_flight(t.worker), 0);
        t.worker = frame_worker_free(t.worker);
        assert_int_equal(frame_worker_submit(NULL, &jobs[0]), -EINVAL);
}

/* Freed with jobs queued, and from inside a done callback: no callback comes afterwards. */
static void test_worker_free(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        WorkerTest t = { .loop_thread = pthread_self(), .expect = 100 };
        Job jobs[4];

        assert_int_equal(sd_event_new(&e), 0);
        for (unsigned i = 0; i < 4; i++)
                jobs[i] = (Job) { .index = i, .delay_ms = 5 };

        assert_int_equal(frame_worker_new(e, "mg-test-free", 0, 4, job_run, job_done, &t, &t.worker), 0);
        for (unsigned i = 0; i < 4; i++)
                assert_int_equal(frame_worker_submit(t.worker, &jobs[i]), 0);
        t.worker = frame_worker_free(t.worker);
        for (unsigned i = 0; i < 50; i++)
                assert_true(sd_event_run(e, 1000) >= 0);
        assert_int_equal(t.n_done, 0);

        t.free_in_done = true;
        assert_int_equal(frame_worker_new(e, "mg-test-free", 0, 4, job_run, job_done, &t, &t.worker), 0);
        for (unsigned i = 0; i < 4; i++)
                assert_int_equal(frame_worker_submit(t.worker, &jobs[i]), 0);
        run_until(e, &t.finished, 2000);
        assert_null(t.worker);
        for (unsigned i = 0; i < 50; i++)
                assert_true(sd_event_run(e, 1000) >= 0);
        assert_int_equal(t.n_done, 1);
}

/* A backlog of done jobs never holds another event source of the loop (the bus) for more than
 * one job: the worker hands back one job per loop iteration, and sd-event serves the source that
 * has been waiting longer first. */
typedef struct Order {
        unsigned dispatches;
        unsigned bus_at; /* dispatch number at which the bus was served */
        atomic_uint ran;
} Order;

static void counting_run(void *job, void *userdata) {
        Order *o = userdata;

        atomic_fetch_add(&o->ran, 1);
}

static void counting_done(void *job, void *userdata) {
        Order *o = userdata;

        o->dispatches++;
}

static int on_bus(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Order *o = userdata;
        uint64_t v;

        assert_int_equal(read(fd, &v, sizeof v), sizeof v);
        o->bus_at = ++o->dispatches;
        return 0;
}

static void test_worker_backlog_yields(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(sd_event_source_unrefp) sd_event_source *bus = NULL;
        FrameWorker *w = NULL;
        Order o = {};
        Job jobs[8];
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        uint64_t one = 1;

        assert_true(fd >= 0);
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(sd_event_add_io(e, &bus, fd, EPOLLIN, on_bus, &o), 0);
        assert_int_equal(frame_worker_new(e, "mg-test-order", 0, 8, counting_run, counting_done, &o, &w), 0);
        for (unsigned i = 0; i < 8; i++)
                assert_int_equal(frame_worker_submit(w, &jobs[i]), 0);
        /* All eight done before the loop looks, then a bus message arrives. */
        for (unsigned i = 0; i < 2000 && atomic_load(&o.ran) < 8; i++)
                usleep(1000);
        assert_int_equal(atomic_load(&o.ran), 8);
        assert_int_equal(write(fd, &one, sizeof one), sizeof one);

        while (o.dispatches < 9)
                assert_true(sd_event_run(e, 1000 * 1000) > 0);
        print_message("the bus was served at dispatch %u of 9\n", o.bus_at);
        assert_true(o.bus_at <= 2);
        frame_worker_free(w);
        close(fd);
}

/* ---- the stage ---- */

#define W 640
#define H 480

typedef struct StageTest {
        MjpegStage *stage;
        uint64_t sequences[64];
        unsigned n;
        unsigned expect;
        bool done;
        bool free_in_deliver;
} StageTest;

static void on_deliver(const Frame *f, void *userdata) {
        StageTest *t = userdata;
        uint8_t stamp[FRAME_STAMP_SIZE];

        assert_int_equal(f->fourcc, PIXEL_FORMAT_NV12);
        assert_int_equal(f->width, W);
        assert_int_equal(f->height, H);
        assert_int_equal(f->stride, W);
        assert_int_equal(f->size, W * H * 3 / 2);
        assert_true(f->stamp);
        assert_memory_equal(f->tag, "tag", 3);
        /* The picture is the one that was encoded with this sequence. */
        assert_int_equal(frame_code_read(PIXEL_FORMAT_NV12, W, H, W, f->data, f->size, stamp), 0);
        assert_memory_equal(stamp + 8, &f->sequence, 8);
        assert_int_equal(f->timestamp_ns, f->sequence * 1000 + 7);
        t->sequences[t->n++] = f->sequence;
        if (t->free_in_deliver)
                t->stage = mjpeg_stage_free(t->stage);
        t->done = t->n >= t->expect || t->free_in_deliver;
}

/* JPEG frames of the frame code for sequences 0 .. n-1. */
static void make_frames(uint8_t **jpegs, size_t *sizes, unsigned n) {
        _cleanup_(mjpeg_encoder_freep) MjpegEncoder *enc = NULL;
        _cleanup_free_ uint8_t *pic = malloc(W * H * 3 / 2);

        assert_non_null(pic);
        assert_int_equal(mjpeg_encoder_new(W, H, 80, &enc), 0);
        for (unsigned i = 0; i < n; i++) {
                uint8_t stamp[FRAME_STAMP_SIZE] = FRAME_STAMP_MAGIC;
                uint64_t seq = i;
                const uint8_t *jpeg;

                memset(pic, (int) (i * 20), W * H * 3 / 2);
                memcpy(stamp + 8, &seq, 8);
                assert_int_equal(frame_code_draw(PIXEL_FORMAT_NV12, W, H, W, pic, W * H * 3 / 2, stamp), 0);
                assert_int_equal(mjpeg_encode_nv12(enc, pic, &jpeg, &sizes[i]), 0);
                jpegs[i] = malloc(sizes[i]);
                assert_non_null(jpegs[i]);
                memcpy(jpegs[i], jpeg, sizes[i]);
        }
}

static Frame meta_of(uint64_t seq) {
        Frame f = { .sequence = seq, .timestamp_ns = seq * 1000 + 7, .stamp = true };

        memcpy(f.tag, "tag", 3);
        return f;
}

static void test_stage(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        StageTest t = { .expect = 12 };
        uint8_t *jpegs[12], garbage[1000];
        size_t sizes[12];
        MjpegStageStats stats;
        Frame m;

        assert_int_equal(sd_event_new(&e), 0);
        make_frames(jpegs, sizes, 12);
        assert_int_equal(mjpeg_stage_new(e, "mg-test-mjpeg", W, H, on_deliver, &t, &t.stage), 0);

        /* A backlog of a full set of slots at once, then more than that: the extra is dropped. */
        for (unsigned i = 0; i < MJPEG_STAGE_SLOTS; i++) {
                m = meta_of(i);
                assert_int_equal(mjpeg_stage_submit(t.stage, jpegs[i], sizes[i], &m), 0);
        }
        m = meta_of(99);
        assert_int_equal(mjpeg_stage_submit(t.stage, jpegs[0], sizes[0], &m), -ENOBUFS);
        t.expect = MJPEG_STAGE_SLOTS;
        run_until(e, &t.done, 5000);
        assert_int_equal(t.n, MJPEG_STAGE_SLOTS);

        /* Garbage between good frames: dropped, the rest delivered in order. */
        for (size_t i = 0; i < sizeof garbage; i++)
                garbage[i] = (uint8_t) (i * 13);
        m = meta_of(MJPEG_STAGE_SLOTS);
        assert_int_equal(mjpeg_stage_submit(t.stage, garbage, sizeof garbage, &m), 0);
        for (unsigned i = MJPEG_STAGE_SLOTS + 1; i < 12; i++) {
                m = meta_of(i);
                assert_int_equal(mjpeg_stage_submit(t.stage, jpegs[i], sizes[i], &m), 0);
        }
        t.done = false;
        t.expect = 11;
        run_until(e, &t.done, 5000);
        assert_int_equal(t.n, 11);
        for (unsigned i = 0; i < t.n; i++)
                assert_int_equal(t.sequences[i], i < MJPEG_STAGE_SLOTS ? i : i + 1);

        mjpeg_stage_get_stats(t.stage, &stats);
        assert_int_equal(stats.submitted, 13);
        assert_int_equal(stats.delivered, 11);
        assert_int_equal(stats.failed, 1);
        assert_int_equal(stats.dropped, 1);
        assert_true(stats.decode_cpu_ns > 0);
        assert_true(stats.max_latency_ns > 0 && stats.latency_ns >= stats.max_latency_ns);

        /* Freed from inside a delivery, with frames still queued: nothing comes afterwards. */
        t = (StageTest) { .stage = t.stage, .free_in_deliver = true };
        for (unsigned i = 0; i < 4; i++) {
                m = meta_of(i);
                assert_int_equal(mjpeg_stage_submit(t.stage, jpegs[i], sizes[i], &m), 0);
        }
        run_until(e, &t.done, 5000);
        assert_null(t.stage);
        for (unsigned i = 0; i < 50; i++)
                assert_true(sd_event_run(e, 1000) >= 0);
        assert_int_equal(t.n, 1);

        /* And freed with frames queued, without any delivery. */
        assert_int_equal(mjpeg_stage_new(e, "mg-test-mjpeg", W, H, on_deliver, &t, &t.stage), 0);
        for (unsigned i = 0; i < 4; i++) {
                m = meta_of(i);
                assert_int_equal(mjpeg_stage_submit(t.stage, jpegs[i], sizes[i], &m), 0);
        }
        t.stage = mjpeg_stage_free(t.stage);
        for (unsigned i = 0; i < 50; i++)
                assert_true(sd_event_run(e, 1000) >= 0);
        assert_int_equal(t.n, 1);

        for (unsigned i = 0; i < 12; i++)
                free(jpegs[i]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_worker),
                cmocka_unit_test(test_worker_free),
                cmocka_unit_test(test_worker_backlog_yields),
                cmocka_unit_test(test_stage),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
