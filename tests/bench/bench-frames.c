/* The frame path through libmediagate: N clients, each on its own bus connection and thread,
 * open a 1920x1080 stream of the same camera. Measures the latency from capture
 * (FRAME.timestamp_ns, CLOCK_MONOTONIC) to the client's receive time (CLOCK_MONOTONIC right
 * after mg_stream_next_frame() returned, i.e. after the recv and the message parse), the frames
 * received and dropped, and from /proc the daemon's CPU time per frame and its resident memory
 * while the streams are open. With --memcpy, also a memcpy loop over the same bytes (the
 * throughput benchmark: one client on an unpaced camera, releasing every frame at once).
 *
 *     bench-frames --daemon-pid=PID [--clients=1] [--seconds=10] [--fps=30] [--width=1920]
 *                  [--height=1080] [--memcpy]
 *
 * The clients release each frame as soon as they have it (the library releases the previous
 * frame when the next is asked for) and never read the pixels. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mediagate.h>

#include "common.h"
#include "util.h"

typedef struct Client {
        unsigned index;
        MgClient *client;
        MgRequest *request;
        MgStream *stream;
        pthread_t thread;

        Samples latency;       /* ns, frames received in the measured window */
        uint64_t received;     /* in the window */
        uint64_t first_seq, last_seq;
        bool have_seq;
        uint64_t dropped_start, dropped_end;
        bool have_dropped_start;
        uint32_t frame_bytes;
        int error;
} Client;

static atomic_bool measuring;
static atomic_bool stopping;

static int fail(const char *what, int r, const MgError *err) {
        if (err && err->name)
                fprintf(stderr, "bench-frames: %s: %s: %s\n", what, err->name, strempty(err->message));
        else
                fprintf(stderr, "bench-frames: %s: %s\n", what, strerror(-r));
        return r < 0 ? r : -EIO;
}

static int client_open(Client *c, unsigned width, unsigned height, unsigned fps) {
        _cleanup_free_ char *json = NULL;
        MgError err = MG_ERROR_INIT;
        MgConstraints *constraints = NULL;
        MgTrack *track;
        int r;

        if (asprintf(&json, "{\"video\":{\"width\":{\"exact\":%u},\"height\":{\"exact\":%u},"
                            "\"frameRate\":{\"exact\":%u}}}", width, height, fps) < 0)
                return -ENOMEM;
        r = mg_client_new(&c->client, MG_BUS_SESSION);
        if (r < 0)
                return fail("connect", r, NULL);
        r = mg_constraints_new_from_json(&constraints, json, &err);
        if (r >= 0)
                r = mg_client_get_user_media(c->client, constraints, NULL, &c->request, &err);
        mg_constraints_free(constraints);
        if (r >= 0)
                r = mg_request_wait(c->request, 30ULL * 1000000ULL, &err);
        if (r < 0) {
                r = fail("getUserMedia", r, &err);
                mg_error_clear(&err);
                return r;
        }
        track = mg_request_get_track(c->request, 0);
        if (!track)
                return fail("getUserMedia", -ENODATA, NULL);
        r = mg_track_open(track, &c->stream, &err);
        if (r < 0) {
                r = fail("Track.Open", r, &err);
                mg_error_clear(&err);
                return r;
        }
        c->frame_bytes = mg_stream_get_format(c->stream)->frame_size;
        return 0;
}

static void *client_run(void *userdata) {
        Client *c = userdata;

        while (!atomic_load(&stopping)) {
                MgFrame f;
                uint64_t now;
                int r;

                r = mg_stream_next_frame(c->stream, 200, &f);
                now = bench_now_ns();
                if (r == -EAGAIN)
                        continue;
                if (r < 0 || r == MG_STREAM_ENDED) {
                        c->error = r < 0 ? r : -ESHUTDOWN;
                        break;
                }
                if (!atomic_load(&measuring))
                        continue;
                if (!c->have_dropped_start) {
                        c->dropped_start = f.dropped;
                        c->have_dropped_start = true;
                }
                c->dropped_end = f.dropped;
                if (!c->have_seq)
                        c->first_seq = f.sequence;
                c->have_seq = true;
                c->last_seq = f.sequence;
                c->received++;
                if (samples_add(&c->latency, now > f.timestamp_ns ? now - f.timestamp_ns : 0) < 0) {
                        c->error = -ENOMEM;
                        break;
                }
        }
        return NULL;
}

static void client_close(Client *c) {
        mg_stream_free(c->stream);
        /* The last reference to a granted request's tracks stops them. */
        mg_request_unref(c->request);
        mg_client_unref(c->client);
        samples_done(&c->latency);
}

static uint64_t process_cpu_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static uint64_t thread_cpu_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* memcpy of one frame's bytes from one buffer into four rotating ones, as the daemon copies from
 * the capture buffer into a pool of four slots: bytes per second of wall clock and per second
 * of this thread's CPU time (the machine may be shared: the second does not count the time
 * others held the CPU). */
static int memcpy_rate(size_t bytes, double seconds, double *ret_wall, double *ret_cpu) {
        enum { SLOTS = 4 };
        _cleanup_free_ uint8_t *src = malloc(bytes), *dst = malloc(bytes * SLOTS);
        uint64_t start, cpu_start, end, n = 0;

        if (!src || !dst)
                return -ENOMEM;
        memset(src, 0x80, bytes);
        memset(dst, 0, bytes * SLOTS); /* no first-touch page faults in the loop */
        start = bench_now_ns();
        cpu_start = thread_cpu_ns();
        end = start + (uint64_t) (seconds * 1e9);
        do {
                memcpy(dst + (n % SLOTS) * bytes, src, bytes);
                /* Keep the compiler from dropping copies nobody reads. */
                __asm__ volatile("" : : "r"(dst) : "memory");
                n++;
        } while (bench_now_ns() < end);
        *ret_wall = (double) n * (double) bytes / ((double) (bench_now_ns() - start) / 1e9);
        *ret_cpu = (double) n * (double) bytes / ((double) (thread_cpu_ns() - cpu_start) / 1e9);
        return 0;
}

static void print_memory(pid_t pid, unsigned n) {
        uint64_t rss = 0, anon = 0, shmem = 0, file = 0;

        if (proc_status_kib(pid, "VmRSS", &rss) < 0)
                return;
        (void) proc_status_kib(pid, "RssAnon", &anon);
        (void) proc_status_kib(pid, "RssShmem", &shmem);
        (void) proc_status_kib(pid, "RssFile", &file);
        printf("  daemon memory with %u stream(s) open: VmRSS %.1f MiB (anonymous %.1f, shared pools %.1f, "
               "files %.1f)\n",
               n, (double) rss / 1024, (double) anon / 1024, (double) shmem / 1024, (double) file / 1024);
}

int main(int argc, char *argv[]) {
        unsigned n = (unsigned) bench_arg_u64(argc, argv, "--clients", 1);
        unsigned seconds = (unsigned) bench_arg_u64(argc, argv, "--seconds", 10);
        unsigned fps = (unsigned) bench_arg_u64(argc, argv, "--fps", 30);
        unsigned width = (unsigned) bench_arg_u64(argc, argv, "--width", 1920);
        unsigned height = (unsigned) bench_arg_u64(argc, argv, "--height", 1080);
        pid_t pid = (pid_t) bench_arg_u64(argc, argv, "--daemon-pid", 0);
        bool want_memcpy = false;
        _cleanup_free_ Client *clients = NULL;
        Samples all = {};
        ProcCpu cpu0, cpu1;
        uint64_t own0, own1, t0, t1, received = 0, dropped = 0, source_frames = 0;
        double window, cpu_ns, frame_bytes;
        long ticks_per_second = sysconf(_SC_CLK_TCK);
        int r, ret = EXIT_FAILURE;

        for (int i = 1; i < argc; i++)
                if (streq(argv[i], "--memcpy"))
                        want_memcpy = true;
        if (n == 0 || n > 256 || seconds == 0 || fps == 0 || pid <= 0) {
                fprintf(stderr, "usage: bench-frames --daemon-pid=PID [--clients=1..256] [--seconds=N] "
                                "[--fps=N] [--memcpy]\n");
                return EXIT_FAILURE;
        }
        clients = calloc(n, sizeof(Client));
        if (!clients)
                return EXIT_FAILURE;

        for (unsigned i = 0; i < n; i++) {
                clients[i].index = i;
                r = client_open(&clients[i], width, height, fps);
                if (r < 0)
                        goto finish;
        }
        for (unsigned i = 0; i < n; i++) {
                r = -pthread_create(&clients[i].thread, NULL, client_run, &clients[i]);
                if (r < 0) {
                        fail("pthread_create", r, NULL);
                        atomic_store(&stopping, true);
                        for (unsigned j = 0; j < i; j++)
                                pthread_join(clients[j].thread, NULL);
                        goto finish;
                }
        }

        /* A second to settle (first-touch page faults of the pools, thread start-up). */
        usleep(1000 * 1000);
        if (proc_cpu_read(pid, &cpu0) < 0) {
                fprintf(stderr, "bench-frames: cannot read /proc/%d\n", (int) pid);
                atomic_store(&stopping, true);
        }
        t0 = bench_now_ns();
        own0 = process_cpu_ns();
        atomic_store(&measuring, true);
        usleep(seconds * 1000 * 1000);
        atomic_store(&measuring, false);
        t1 = bench_now_ns();
        own1 = process_cpu_ns();
        r = proc_cpu_read(pid, &cpu1);
        print_memory(pid, n);
        atomic_store(&stopping, true);
        for (unsigned i = 0; i < n; i++)
                pthread_join(clients[i].thread, NULL);
        if (r < 0)
                goto finish;

        for (unsigned i = 0; i < n; i++) {
                Client *c = &clients[i];

                if (c->error < 0) {
                        fail("stream", c->error, NULL);
                        goto finish;
                }
                for (size_t k = 0; k < c->latency.n; k++)
                        if (samples_add(&all, c->latency.v[k]) < 0)
                                goto finish;
                received += c->received;
                dropped += c->dropped_end - c->dropped_start;
                if (c->have_seq)
                        source_frames = MAX(source_frames, c->last_seq - c->first_seq + 1);
        }
        window = (double) (t1 - t0) / 1e9;
        cpu_ns = (double) (cpu1.run_ns - cpu0.run_ns);
        frame_bytes = clients[0].frame_bytes;

        printf("  %u client(s), %ux%u@%u %s (%.0f bytes a frame), %.1f s: %" PRIu64 " frames received, "
               "%" PRIu64 " dropped for held slots\n",
               n, width, height, fps, mg_stream_get_format(clients[0].stream)->fourcc, frame_bytes, window, received,
               dropped);
        printf("  frame latency, capture -> client:  p50 %.3f ms  p99 %.3f ms  max %.3f ms\n",
               ns_to_ms(samples_percentile(&all, 50)), ns_to_ms(samples_percentile(&all, 99)),
               ns_to_ms(samples_max(&all)));
        printf("  daemon CPU: %.1f ms (stat: %" PRIu64 " ticks of %ld ms) over %" PRIu64 " source frames = "
               "%.3f ms a source frame, %.3f ms a delivered frame; %.1f%% of one CPU\n",
               cpu_ns / 1e6, cpu1.ticks - cpu0.ticks, 1000 / ticks_per_second, source_frames,
               source_frames ? cpu_ns / 1e6 / (double) source_frames : 0,
               received ? cpu_ns / 1e6 / (double) received : 0, 100 * cpu_ns / 1e9 / window);
        printf("  client CPU (this program, %u thread(s)): %.3f ms a received frame\n", n,
               received ? (double) (own1 - own0) / 1e6 / (double) received : 0);

        ret = EXIT_SUCCESS;

finish:
        for (unsigned i = 0; i < n; i++)
                client_close(&clients[i]);
        samples_done(&all);

        /* After the streams closed, so that the daemon's copies do not compete with ours. */
        if (ret == EXIT_SUCCESS && want_memcpy) {
                double rate = (double) received * frame_bytes / window;
                double daemon_cpu_rate = cpu_ns > 0 ? (double) received * frame_bytes / (cpu_ns / 1e9) : 0;
                double copy_wall, copy_cpu;

                if (memcpy_rate((size_t) frame_bytes, 2.0, &copy_wall, &copy_cpu) < 0)
                        return EXIT_FAILURE;
                printf("  throughput through the daemon: %.0f frames/s = %.2f GB/s (wall clock; the source "
                       "gives at most %u frames/s)\n",
                       (double) received / window, rate / 1e9, fps);
                printf("  memcpy of the same bytes in this program: %.0f frames/s = %.2f GB/s (wall clock)\n",
                       copy_wall / frame_bytes, copy_wall / 1e9);
                printf("  ratio daemon / memcpy, wall clock: %.2f (target >= 0.5)\n", rate / copy_wall);
                printf("  per second of CPU time: daemon %.2f GB/s (%.3f ms a frame), memcpy %.2f GB/s "
                       "(%.3f ms a frame): ratio %.2f\n",
                       daemon_cpu_rate / 1e9, received ? cpu_ns / 1e6 / (double) received : 0, copy_cpu / 1e9,
                       frame_bytes / copy_cpu * 1e3, copy_cpu > 0 ? daemon_cpu_rate / copy_cpu : 0);
        }
        return ret;
}
