/* The frame path through libmediagate: N clients, each on its own bus connection and thread,
 * open a stream of the same camera. Measures the latency from capture (FRAME.timestamp_ns,
 * CLOCK_MONOTONIC) to the client's receive time (CLOCK_MONOTONIC right after
 * mg_stream_next_frame() returned, i.e. after the recv and the message parse), the frames
 * received, dropped and lost, the frames the source itself skipped (its sequence advanced less
 * than its time at its rate), and from /proc the daemon's CPU time per source frame and its
 * resident memory while the streams are open.
 *
 *     bench-frames --daemon-pid=PID [--clients=1] [--seconds=10] [--fps=30] [--width=1920]
 *                  [--height=1080] [--facing=user|environment] [--ping-interval-us=N]
 *                  [--memcpy-slices=N] [--read-pixels] [--tag=NAME]
 *
 * --read-pixels: each client reads every byte of every frame once (the VM comparison, against a
 * direct V4L2 program that does the same).
 * --ping-interval-us: a thread on a connection of its own calls Peer.Ping on the daemon every N µs
 * while the streams run: how long the daemon's loop keeps bus calls waiting.
 * --memcpy-slices: the throughput benchmark (one client, an unpaced camera): N pairs of
 * half-second slices, one streaming, one memcpy of the same bytes into four rotating buffers in
 * this program (the client does not read meanwhile), so that both see the same machine load.
 * Lines starting with "RESULT " are for tests/bench/summarize.
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
#include <sys/resource.h>
#include <unistd.h>

#include <mediagate.h>
#include <systemd/sd-bus.h>

#include "common.h"
#include "mediagate-names.h"
#include "util.h"

typedef struct Client {
        unsigned index;
        MgClient *client;
        MgRequest *request;
        MgStream *stream;
        pthread_t thread;

        Samples latency;   /* ns, frames received in the measured window */
        uint64_t received; /* in the window */
        uint64_t first_seq, last_seq, first_ts, last_ts;
        bool have_seq;
        uint64_t dropped_start, dropped_end;
        bool have_dropped_start;
        uint32_t frame_bytes;
        uint64_t checksum;
        int error;
} Client;

static atomic_bool measuring;
static atomic_bool stopping;
static atomic_bool paused; /* --memcpy-slices: the client does not read while memcpy runs */
static bool read_pixels;   /* --read-pixels: each client reads every frame once */
static const char *tag = "frames";

static int fail(const char *what, int r, const MgError *err) {
        if (err && err->name)
                fprintf(stderr, "bench-frames: %s: %s: %s\n", what, err->name, strempty(err->message));
        else
                fprintf(stderr, "bench-frames: %s: %s\n", what, strerror(-r));
        return r < 0 ? r : -EIO;
}

static int client_open(Client *c, unsigned width, unsigned height, unsigned fps, const char *facing) {
        _cleanup_free_ char *json = NULL, *facing_json = NULL;
        MgError err = MG_ERROR_INIT;
        MgConstraints *constraints = NULL;
        MgTrack *track;
        int r;

        if (facing && asprintf(&facing_json, ",\"facingMode\":{\"exact\":\"%s\"}", facing) < 0)
                return -ENOMEM;
        if (asprintf(&json, "{\"video\":{\"width\":{\"exact\":%u},\"height\":{\"exact\":%u},"
                            "\"frameRate\":{\"exact\":%u}%s}}", width, height, fps, strempty(facing_json)) < 0)
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
                r = fail("Track.OpenStream", r, &err);
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

                if (atomic_load(&paused)) {
                        usleep(1000);
                        continue;
                }
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
                if (read_pixels)
                        c->checksum += read_once(f.data, f.bytes);
                if (!c->have_dropped_start) {
                        c->dropped_start = f.dropped;
                        c->have_dropped_start = true;
                }
                c->dropped_end = f.dropped;
                if (!c->have_seq) {
                        c->first_seq = f.sequence;
                        c->first_ts = f.timestamp_ns;
                }
                c->have_seq = true;
                c->last_seq = f.sequence;
                c->last_ts = f.timestamp_ns;
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

/* memcpy of one frame's bytes from one buffer into four rotating ones, as a copying daemon
 * would fill a pool of four slots: frames per second of wall clock over `seconds`. */
static double memcpy_slice(uint8_t *src, uint8_t *dst, size_t bytes, double seconds) {
        enum { SLOTS = 4 };
        uint64_t start = bench_now_ns(), end = start + (uint64_t) (seconds * 1e9), n = 0;

        do {
                memcpy(dst + (n % SLOTS) * bytes, src, bytes);
                /* Keep the compiler from dropping copies nobody reads. */
                __asm__ volatile("" : : "r"(dst) : "memory");
                n++;
        } while (bench_now_ns() < end);
        return (double) n / ((double) (bench_now_ns() - start) / 1e9);
}

static int compare_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

/* The throughput row: streaming and memcpy alternate in half-second slices. */
static int run_interleaved(Client *c, unsigned slices) {
        _cleanup_free_ uint8_t *src = malloc(c->frame_bytes), *dst = malloc((size_t) c->frame_bytes * 4);
        _cleanup_free_ double *ratio = calloc(slices, sizeof(double)), *stream_fps = calloc(slices, sizeof(double)),
                              *copy_fps = calloc(slices, sizeof(double));

        if (!src || !dst || !ratio || !stream_fps || !copy_fps)
                return -ENOMEM;
        memset(src, 0x80, c->frame_bytes);
        memset(dst, 0, (size_t) c->frame_bytes * 4); /* no first-touch page faults in the loop */

        for (unsigned i = 0; i < slices; i++) {
                uint64_t before = c->received, t0;

                atomic_store(&paused, false);
                t0 = bench_now_ns();
                usleep(500 * 1000);
                stream_fps[i] = (double) (c->received - before) / ((double) (bench_now_ns() - t0) / 1e9);
                atomic_store(&paused, true);
                usleep(20 * 1000); /* the client is out of its read */
                copy_fps[i] = memcpy_slice(src, dst, c->frame_bytes, 0.5);
                ratio[i] = copy_fps[i] > 0 ? stream_fps[i] / copy_fps[i] : 0;
        }
        atomic_store(&paused, false);
        qsort(ratio, slices, sizeof(double), compare_double);
        qsort(stream_fps, slices, sizeof(double), compare_double);
        qsort(copy_fps, slices, sizeof(double), compare_double);
        printf("  interleaved, %u pairs of 0.5 s slices: through the daemon %.0f frames/s = %.2f GB/s, memcpy of "
               "the same bytes %.0f frames/s = %.2f GB/s (medians); ratio median %.2f (min %.2f, max %.2f)\n",
               slices, stream_fps[slices / 2], stream_fps[slices / 2] * c->frame_bytes / 1e9, copy_fps[slices / 2],
               copy_fps[slices / 2] * c->frame_bytes / 1e9, ratio[slices / 2], ratio[0], ratio[slices - 1]);
        printf("RESULT %s_throughput_fps=%.1f\n", tag, stream_fps[slices / 2]);
        printf("RESULT %s_memcpy_fps=%.1f\n", tag, copy_fps[slices / 2]);
        printf("RESULT %s_throughput_ratio=%.3f\n", tag, ratio[slices / 2]);
        return 0;
}

/* Peer.Ping round trips to the daemon from a connection of its own, while the streams run. */
typedef struct Pinger {
        pthread_t thread;
        unsigned interval_us;
        Samples rtt;
        int error;
} Pinger;

static void *pinger_run(void *userdata) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        Pinger *p = userdata;
        int r;

        r = sd_bus_open_user(&bus);
        if (r < 0) {
                p->error = r;
                return NULL;
        }
        while (!atomic_load(&stopping)) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                uint64_t start = bench_now_ns();

                r = sd_bus_call_method(bus, MG_BUS_NAME, MG_OBJECT_PATH, "org.freedesktop.DBus.Peer", "Ping", &e,
                                       NULL, NULL);
                if (r < 0) {
                        p->error = r;
                        return NULL;
                }
                if (atomic_load(&measuring) && samples_add(&p->rtt, bench_now_ns() - start) < 0) {
                        p->error = -ENOMEM;
                        return NULL;
                }
                usleep(p->interval_us);
        }
        return NULL;
}

/* The tail percentile as a RESULT line, only when there are samples enough for it: summarize shows
 * "too few samples" for a p99 it does not find. */
static void print_tail_result(const char *what, Samples *s) {
        unsigned tail = samples_tail_percentile(s);

        if (tail > 0)
                printf("RESULT %s_%sp%u_ms=%.4f\n", tag, what, tail, ns_to_ms(samples_percentile(s, tail)));
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
        printf("RESULT %s_rss_mib=%.2f\n", tag, (double) rss / 1024);
}

/* Everything a thousand streams need, as far as the hard limit lets us. */
static void raise_fd_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

/* The totals over every client: latency samples, frames, and what the source skipped: its
 * sequence advanced by less than its capture times at its rate say it should have. */
typedef struct Totals {
        Samples latency;
        uint64_t received, dropped, lost, source_frames, source_skipped;
} Totals;

static int add_up(Client *clients, unsigned n, unsigned fps, Totals *t) {
        for (unsigned i = 0; i < n; i++) {
                Client *c = &clients[i];
                uint64_t span, expected;

                if (c->error < 0)
                        return fail("stream", c->error, NULL);
                for (size_t k = 0; k < c->latency.n; k++)
                        if (samples_add(&t->latency, c->latency.v[k]) < 0)
                                return -ENOMEM;
                t->received += c->received;
                t->dropped += c->dropped_end - c->dropped_start;
                if (!c->have_seq)
                        continue;
                span = c->last_seq - c->first_seq + 1;
                t->lost += span > c->received ? span - c->received : 0;
                t->source_frames = MAX(t->source_frames, span);
                expected = (uint64_t) ((double) (c->last_ts - c->first_ts) * fps / 1e9 + 0.5) + 1;
                t->source_skipped = MAX(t->source_skipped, expected > span ? expected - span : 0);
        }
        return 0;
}

int main(int argc, char *argv[]) {
        unsigned n = (unsigned) bench_arg_u64(argc, argv, "--clients", 1);
        unsigned seconds = (unsigned) bench_arg_u64(argc, argv, "--seconds", 10);
        unsigned fps = (unsigned) bench_arg_u64(argc, argv, "--fps", 30);
        unsigned width = (unsigned) bench_arg_u64(argc, argv, "--width", 1920);
        unsigned height = (unsigned) bench_arg_u64(argc, argv, "--height", 1080);
        unsigned ping_us = (unsigned) bench_arg_u64(argc, argv, "--ping-interval-us", 0);
        unsigned slices = (unsigned) bench_arg_u64(argc, argv, "--memcpy-slices", 0);
        const char *facing = bench_arg_str(argc, argv, "--facing", NULL);
        pid_t pid = (pid_t) bench_arg_u64(argc, argv, "--daemon-pid", 0);
        _cleanup_free_ Client *clients = NULL;
        Pinger pinger = { .interval_us = ping_us };
        Totals t = {};
        ProcCpu cpu0, cpu1;
        uint64_t t0, t1, own0, own1;
        double window, cpu_ns;
        int r, ret = EXIT_FAILURE;

        tag = bench_arg_str(argc, argv, "--tag", "frames");
        for (int i = 1; i < argc; i++)
                if (streq(argv[i], "--read-pixels"))
                        read_pixels = true;
        if (n == 0 || n > 1024 || seconds == 0 || fps == 0 || pid <= 0 || (slices > 0 && n != 1)) {
                fprintf(stderr, "usage: bench-frames --daemon-pid=PID [--clients=1..1024] [--seconds=N] [--fps=N] "
                                "[--width=N] [--height=N] [--facing=user|environment] [--ping-interval-us=N] "
                                "[--memcpy-slices=N (one client)] [--tag=NAME]\n");
                return EXIT_FAILURE;
        }
        raise_fd_limit();
        clients = calloc(n, sizeof(Client));
        if (!clients)
                return EXIT_FAILURE;

        for (unsigned i = 0; i < n; i++) {
                clients[i].index = i;
                r = client_open(&clients[i], width, height, fps, facing);
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
        if (ping_us > 0 && (r = -pthread_create(&pinger.thread, NULL, pinger_run, &pinger)) < 0) {
                fail("pthread_create", r, NULL);
                ping_us = 0;
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
        if (slices > 0)
                r = run_interleaved(&clients[0], slices);
        else {
                usleep(seconds * 1000 * 1000);
                r = 0;
        }
        atomic_store(&measuring, false);
        t1 = bench_now_ns();
        own1 = process_cpu_ns();
        if (r >= 0)
                r = proc_cpu_read(pid, &cpu1);
        print_memory(pid, n);
        atomic_store(&stopping, true);
        for (unsigned i = 0; i < n; i++)
                pthread_join(clients[i].thread, NULL);
        if (ping_us > 0)
                pthread_join(pinger.thread, NULL);
        if (r < 0)
                goto finish;
        if (add_up(clients, n, fps, &t) < 0)
                goto finish;

        window = (double) (t1 - t0) / 1e9;
        cpu_ns = (double) (cpu1.run_ns - cpu0.run_ns);
        printf("  %u client(s), %ux%u@%u %s (%u bytes a frame), %.1f s: %" PRIu64 " frames received, %" PRIu64
               " dropped for held slots, %" PRIu64 " lost in all; the source skipped %" PRIu64 " of its frames\n",
               n, width, height, fps, mg_stream_get_format(clients[0].stream)->fourcc, clients[0].frame_bytes, window,
               t.received, t.dropped, t.lost, t.source_skipped);
        samples_print(&t.latency, "frame latency, capture -> client");
        printf("  daemon CPU: %.1f ms over %" PRIu64 " source frames = %.3f ms a source frame; %.1f%% of one CPU; "
               "%" PRIu64 " wake-ups\n",
               cpu_ns / 1e6, t.source_frames, t.source_frames ? cpu_ns / 1e6 / (double) t.source_frames : 0,
               100 * cpu_ns / 1e9 / window, cpu1.runs - cpu0.runs);
        printf("  client CPU (this program, %u thread(s)): %.3f ms a received frame\n", n,
               t.received ? (double) (own1 - own0) / 1e6 / (double) t.received : 0);
        printf("RESULT %s_latency_samples=%zu\n", tag, t.latency.n);
        printf("RESULT %s_p50_ms=%.4f\n", tag, ns_to_ms(samples_percentile(&t.latency, 50)));
        print_tail_result("", &t.latency);
        printf("RESULT %s_cpu_per_source_frame_ms=%.4f\n", tag,
               t.source_frames ? cpu_ns / 1e6 / (double) t.source_frames : 0);
        printf("RESULT %s_client_cpu_per_frame_ms=%.4f\n", tag,
               t.received ? (double) (own1 - own0) / 1e6 / (double) t.received : 0);
        printf("RESULT %s_lost=%" PRIu64 "\n", tag, t.lost);
        printf("RESULT %s_source_skipped=%" PRIu64 "\n", tag, t.source_skipped);
        if (ping_us > 0) {
                if (pinger.error < 0)
                        fail("Peer.Ping", pinger.error, NULL);
                printf("  Peer.Ping to the daemon meanwhile, every %u µs:\n", ping_us);
                samples_print(&pinger.rtt, "Peer.Ping round trip");
                printf("RESULT %s_ping_samples=%zu\n", tag, pinger.rtt.n);
                print_tail_result("ping_", &pinger.rtt);
        }
        ret = EXIT_SUCCESS;

finish:
        for (unsigned i = 0; i < n; i++)
                client_close(&clients[i]);
        samples_done(&t.latency);
        samples_done(&pinger.rtt);
        return ret;
}
