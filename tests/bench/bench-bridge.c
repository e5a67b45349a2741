/* The frame path through mediagate-pipewire: one PipeWire consumer (a pw_stream, as GStreamer's
 * pipewiresrc or a browser has) takes 1920x1080 frames from the bridge's camera node. Measures the
 * latency from capture (the buffer's header pts: mediagate's FRAME.timestamp_ns, CLOCK_MONOTONIC)
 * to this consumer's CLOCK_MONOTONIC in its process callback, the frames received, the
 * bridge's CPU time per frame and this consumer's. Compare with bench-frames --clients=1: the
 * same camera read directly through libmediagate.
 *
 *     bench-bridge --target=NODE --bridge-pid=PID [--seconds=10] [--width=1920] [--height=1080]
 *                  [--label=TEXT] [--tag=NAME]
 *
 * The consumer reads the frame's stamp (its first bytes) and nothing else. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pipewire/pipewire.h>
#include <spa/buffer/meta.h>
#include <spa/param/video/format-utils.h>

#include "common.h"

/* Frames before the window: the renegotiation to the pool and the first cycles. */
#define WARMUP_FRAMES 30

typedef struct Bench {
        struct pw_main_loop *loop;
        struct pw_stream *stream;
        struct spa_hook listener;
        Samples latency;
        uint64_t received, no_header, seq_first, seq_last;
        bool in_window;
        pid_t bridge;
        ProcCpu bridge_start, self_start;
        uint64_t window_start_ns;
} Bench;

static void on_process(void *data) {
        Bench *b = data;
        struct pw_buffer *buf = pw_stream_dequeue_buffer(b->stream);
        struct spa_meta_header *h;
        uint64_t now = bench_now_ns();

        if (!buf)
                return;
        h = spa_buffer_find_meta_data(buf->buffer, SPA_META_Header, sizeof(*h));
        b->received++;
        if (!b->in_window && b->received > WARMUP_FRAMES) {
                b->in_window = true;
                b->window_start_ns = now;
                (void) proc_cpu_read(b->bridge, &b->bridge_start);
                (void) proc_cpu_read(getpid(), &b->self_start);
                b->received = 1;
        }
        if (b->in_window) {
                if (h && h->pts > 0 && (uint64_t) h->pts <= now) {
                        (void) samples_add(&b->latency, now - (uint64_t) h->pts);
                        if (b->latency.n == 1)
                                b->seq_first = h->seq;
                        b->seq_last = h->seq;
                } else
                        b->no_header++;
        }
        pw_stream_queue_buffer(b->stream, buf);
}

static void on_state(void *data, enum pw_stream_state old, enum pw_stream_state state, const char *error) {
        Bench *b = data;

        if (state == PW_STREAM_STATE_ERROR) {
                fprintf(stderr, "bench-bridge: stream error: %s\n", error ? error : "?");
                pw_main_loop_quit(b->loop);
        }
}

/* The capture time travels in the buffers' header meta, which a consumer asks for. */
static void on_param_changed(void *data, uint32_t id, const struct spa_pod *param) {
        Bench *b = data;
        uint8_t space[256];
        struct spa_pod_builder pb = SPA_POD_BUILDER_INIT(space, sizeof(space));
        const struct spa_pod *params[1];

        if (id != SPA_PARAM_Format || !param)
                return;
        params[0] = spa_pod_builder_add_object(&pb, SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta,
                SPA_PARAM_META_type, SPA_POD_Id(SPA_META_Header),
                SPA_PARAM_META_size, SPA_POD_Int(sizeof(struct spa_meta_header)));
        pw_stream_update_params(b->stream, params, 1);
}

static const struct pw_stream_events events = {
        PW_VERSION_STREAM_EVENTS,
        .state_changed = on_state,
        .param_changed = on_param_changed,
        .process = on_process,
};

static void on_timeout(void *data, uint64_t expirations) {
        pw_main_loop_quit(((Bench *) data)->loop);
}

static int connect_stream(Bench *b, const char *target, uint32_t width, uint32_t height) {
        uint8_t space[1024];
        struct spa_pod_builder pb = SPA_POD_BUILDER_INIT(space, sizeof(space));
        const struct spa_pod *params[1];

        b->stream = pw_stream_new_simple(pw_main_loop_get_loop(b->loop), "bench-bridge",
                                         pw_properties_new(PW_KEY_MEDIA_TYPE, "Video", PW_KEY_MEDIA_CATEGORY, "Capture",
                                                           PW_KEY_TARGET_OBJECT, target, NULL),
                                         &events, b);
        if (!b->stream)
                return -errno;
        params[0] = spa_pod_builder_add_object(&pb, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat,
                SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
                SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
                SPA_FORMAT_VIDEO_format, SPA_POD_Id(SPA_VIDEO_FORMAT_YUY2),
                SPA_FORMAT_VIDEO_size, SPA_POD_Rectangle(&SPA_RECTANGLE(width, height)),
                SPA_FORMAT_VIDEO_framerate, SPA_POD_Fraction(&SPA_FRACTION(30, 1)));
        return pw_stream_connect(b->stream, PW_DIRECTION_INPUT, PW_ID_ANY,
                                 PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS, params, 1);
}

int main(int argc, char *argv[]) {
        const char *target = bench_arg_str(argc, argv, "--target", NULL);
        const char *label = bench_arg_str(argc, argv, "--label", "through mediagate-pipewire");
        const char *tag = bench_arg_str(argc, argv, "--tag", "bridge");
        uint64_t seconds = bench_arg_u64(argc, argv, "--seconds", 10);
        uint32_t width = (uint32_t) bench_arg_u64(argc, argv, "--width", 1920);
        uint32_t height = (uint32_t) bench_arg_u64(argc, argv, "--height", 1080);
        Bench b = { .bridge = (pid_t) bench_arg_u64(argc, argv, "--bridge-pid", 0) };
        ProcCpu bridge_end = {}, self_end = {};
        struct timespec interval = { .tv_sec = (time_t) seconds + 3 };
        struct spa_source *timer;
        long tick_ms = 1000 / sysconf(_SC_CLK_TCK);
        double window_s, bridge_ms;
        unsigned tail;
        int r;

        if (!target || b.bridge <= 0) {
                fprintf(stderr, "usage: bench-bridge --target=NODE --bridge-pid=PID [--seconds=N] [--label=TEXT] [--tag=NAME]\n");
                return 2;
        }
        pw_init(&argc, &argv);
        b.loop = pw_main_loop_new(NULL);
        r = b.loop ? connect_stream(&b, target, width, height) : -ENOMEM;
        if (r < 0) {
                fprintf(stderr, "bench-bridge: cannot connect to PipeWire: %s\n", strerror(-r));
                return 1;
        }
        timer = pw_loop_add_timer(pw_main_loop_get_loop(b.loop), on_timeout, &b);
        pw_loop_update_timer(pw_main_loop_get_loop(b.loop), timer, &interval, NULL, false);
        pw_main_loop_run(b.loop);

        (void) proc_cpu_read(b.bridge, &bridge_end);
        (void) proc_cpu_read(getpid(), &self_end);
        window_s = b.in_window ? (bench_now_ns() - b.window_start_ns) / 1e9 : 0;
        if (!b.in_window || b.latency.n == 0) {
                printf("  %s: no frames measured (%" PRIu64 " received)\n", label, b.received);
                return 1;
        }
        printf("  %s, %ux%u YUY2, %.1f s: %" PRIu64 " frames received (sequence %" PRIu64 "..%" PRIu64
               ", %" PRIu64 " without a capture time)\n", label, width, height, window_s, b.received,
               b.seq_first, b.seq_last, b.no_header);
        samples_print(&b.latency, "capture -> PipeWire consumer");
        bridge_ms = ns_to_ms((bridge_end.run_ns - b.bridge_start.run_ns) / b.received);
        printf("  bridge CPU: %.3f ms a frame (schedstat; stat: %" PRIu64 " ticks of %ld ms)\n", bridge_ms,
               bridge_end.ticks - b.bridge_start.ticks, tick_ms);
        printf("  consumer CPU (this program): %.3f ms a frame\n",
               ns_to_ms((self_end.run_ns - b.self_start.run_ns) / b.received));
        tail = samples_tail_percentile(&b.latency);
        printf("RESULT %s_latency_samples=%zu\n", tag, b.latency.n);
        printf("RESULT %s_p50_ms=%.4f\n", tag, ns_to_ms(samples_percentile(&b.latency, 50)));
        if (tail > 0)
                printf("RESULT %s_p%u_ms=%.4f\n", tag, tail, ns_to_ms(samples_percentile(&b.latency, tail)));
        printf("RESULT %s_bridge_cpu_per_frame_ms=%.4f\n", tag, bridge_ms);
        samples_done(&b.latency);
        pw_stream_destroy(b.stream);
        pw_main_loop_destroy(b.loop);
        pw_deinit();
        return 0;
}
