/* A Motion-JPEG capture's decoding: a fixed set of slots (a copy of the JPEG, its decoded
 * picture) cycled through a FrameWorker. */
#include "mjpeg-stage.h"

#include <time.h>

#include "frame-worker.h"
#include "log.h"
#include "mjpeg.h"
#include "util.h"

typedef struct Slot {
        MjpegStage *stage;
        bool busy;      /* in the worker */
        uint8_t *jpeg;
        size_t jpeg_size, jpeg_capacity;
        uint8_t *picture; /* allocated by the worker when first needed */
        Frame meta;
        uint64_t submitted_ns;
        int result;       /* of the decode: 0, 1 (damaged), negative */
        uint64_t cpu_ns;
} Slot;

struct MjpegStage {
        uint32_t width, height;
        size_t picture_size;
        MjpegDecoder *decoder; /* the worker's */
        FrameWorker *worker;
        Slot slots[MJPEG_STAGE_SLOTS];
        mjpeg_stage_deliver_t deliver;
        void *userdata;
        MjpegStageStats stats;
};

static uint64_t clock_ns(clockid_t clock) {
        struct timespec ts;

        if (clock_gettime(clock, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* On the worker's thread. */
static void decode(void *job, void *userdata) {
        Slot *slot = job;
        MjpegStage *s = userdata;
        uint64_t start = clock_ns(CLOCK_THREAD_CPUTIME_ID);

        if (!slot->picture)
                slot->picture = malloc(s->picture_size);
        if (!slot->picture)
                slot->result = -ENOMEM;
        else
                slot->result = mjpeg_decode_nv12(s->decoder, slot->jpeg, slot->jpeg_size, s->width, s->height,
                                                 slot->picture, s->picture_size);
        slot->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - start;
}

/* On the event loop, in submission order. */
static void decoded(void *job, void *userdata) {
        Slot *slot = job;
        MjpegStage *s = userdata;
        uint64_t latency;
        Frame f;

        slot->busy = false;
        s->stats.decode_cpu_ns += slot->cpu_ns;
        if (slot->result < 0) {
                s->stats.failed++;
                log_debug_errno(slot->result, "Dropping JPEG frame %" PRIu64 " that does not decode as %ux%u: %m",
                                slot->meta.sequence, s->width, s->height);
                return;
        }
        if (slot->result > 0)
                s->stats.damaged++;

        latency = clock_ns(CLOCK_MONOTONIC) - slot->submitted_ns;
        s->stats.delivered++;
        s->stats.latency_ns += latency;
        s->stats.max_latency_ns = MAX(s->stats.max_latency_ns, latency);

        f = slot->meta;
        f.data = slot->picture;
        f.size = s->picture_size;
        f.width = s->width;
        f.height = s->height;
        f.stride = s->width;
        f.fourcc = PIXEL_FORMAT_NV12;
        /* Last: the receiver may free the stage. */
        s->deliver(&f, s->userdata);
}

int mjpeg_stage_new(sd_event *event, const char *thread_name, uint32_t width, uint32_t height,
                    mjpeg_stage_deliver_t deliver, void *userdata, MjpegStage **ret) {
        MjpegStage *s;
        int r;

        if (!event || !thread_name || width == 0 || height == 0 || width % 2 || height % 2 || !deliver || !ret)
                return -EINVAL;

        s = calloc(1, sizeof(MjpegStage));
        if (!s)
                return -ENOMEM;
        s->width = width;
        s->height = height;
        s->picture_size = (size_t) width * height + (size_t) width * height / 2;
        s->deliver = deliver;
        s->userdata = userdata;
        for (size_t i = 0; i < MJPEG_STAGE_SLOTS; i++)
                s->slots[i].stage = s;

        r = mjpeg_decoder_new(&s->decoder);
        if (r >= 0)
                r = frame_worker_new(event, thread_name, MJPEG_STAGE_NICE, MJPEG_STAGE_SLOTS, decode, decoded, s,
                                     &s->worker);
        if (r < 0) {
                mjpeg_stage_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

MjpegStage *mjpeg_stage_free(MjpegStage *s) {
        if (!s)
                return NULL;
        /* First the thread, then what it used. */
        frame_worker_free(s->worker);
        mjpeg_decoder_free(s->decoder);
        for (size_t i = 0; i < MJPEG_STAGE_SLOTS; i++) {
                free(s->slots[i].jpeg);
                free(s->slots[i].picture);
        }
        free(s);
        return NULL;
}

int mjpeg_stage_submit(MjpegStage *s, const uint8_t *jpeg, size_t size, const Frame *meta) {
        Slot *slot = NULL;
        int r;

        if (!s || (!jpeg && size > 0) || !meta)
                return -EINVAL;
        s->stats.submitted++;

        for (size_t i = 0; i < MJPEG_STAGE_SLOTS && !slot; i++)
                if (!s->slots[i].busy)
                        slot = &s->slots[i];
        if (!slot) {
                s->stats.dropped++;
                log_debug("JPEG decoder behind by %d frames, dropping frame %" PRIu64 ".", MJPEG_STAGE_SLOTS,
                          meta->sequence);
                return -ENOBUFS;
        }

        if (size > slot->jpeg_capacity) {
                uint8_t *grown = realloc(slot->jpeg, size);

                if (!grown) {
                        s->stats.dropped++;
                        return -ENOMEM;
                }
                slot->jpeg = grown;
                slot->jpeg_capacity = size;
        }
        if (size > 0)
                memcpy(slot->jpeg, jpeg, size);
        slot->jpeg_size = size;
        slot->meta = *meta;
        slot->meta.data = NULL;
        slot->submitted_ns = clock_ns(CLOCK_MONOTONIC);

        r = frame_worker_submit(s->worker, slot);
        if (r < 0) {
                s->stats.dropped++;
                return r;
        }
        slot->busy = true;
        return 0;
}

void mjpeg_stage_get_stats(MjpegStage *s, MjpegStageStats *ret) {
        if (s && ret)
                *ret = s->stats;
}
