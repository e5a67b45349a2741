/* The synthetic MJPEG camera: a FrameWorker drawing and encoding, feeding a MjpegStage. */
#include "synthetic-mjpeg.h"

#include "frame-code.h"
#include "frame-worker.h"
#include "log.h"
#include "mjpeg.h"
#include "test-pattern.h"
#include "util.h"

typedef struct EncodeJob {
        bool busy;
        uint64_t sequence;
        uint64_t timestamp_ns;
        uint8_t *jpeg; /* a copy: the encoder's own buffer is reused by the next frame */
        size_t size, capacity;
        int result;
} EncodeJob;

struct SyntheticMjpeg {
        uint32_t width, height;
        uint8_t tag[16];
        /* The encoder thread's: */
        TestPattern *pattern;
        MjpegEncoder *encoder;
        bool draw_code; /* the picture is large enough for the frame code */
        /* The event loop's: */
        FrameWorker *worker;
        EncodeJob jobs[SYNTHETIC_MJPEG_ENCODE_SLOTS];
        MjpegStage *stage;
};

static void make_stamp(const SyntheticMjpeg *m, const EncodeJob *j, uint8_t stamp[FRAME_STAMP_SIZE]) {
        memcpy(stamp, FRAME_STAMP_MAGIC, 8);
        for (unsigned i = 0; i < 8; i++) {
                stamp[8 + i] = (uint8_t) (j->sequence >> (8 * i));
                stamp[16 + i] = (uint8_t) (j->timestamp_ns >> (8 * i));
        }
        memcpy(stamp + 24, m->tag, 16);
}

/* On the encoder's thread. */
static void encode(void *job, void *userdata) {
        SyntheticMjpeg *m = userdata;
        EncodeJob *j = job;
        uint8_t stamp[FRAME_STAMP_SIZE];
        uint8_t *picture = test_pattern_draw(m->pattern, j->sequence);
        size_t picture_size = test_pattern_size(m->pattern);
        const uint8_t *jpeg;
        size_t size;

        if (m->draw_code) {
                make_stamp(m, j, stamp);
                (void) frame_code_draw(PIXEL_FORMAT_NV12, m->width, m->height, m->width, picture, picture_size, stamp);
        }
        j->result = mjpeg_encode_nv12(m->encoder, picture, &jpeg, &size);
        if (j->result < 0)
                return;
        if (size > j->capacity) {
                uint8_t *grown = realloc(j->jpeg, size);

                if (!grown) {
                        j->result = -ENOMEM;
                        return;
                }
                j->jpeg = grown;
                j->capacity = size;
        }
        memcpy(j->jpeg, jpeg, size);
        j->size = size;
}

/* On the event loop: the camera has sent the frame; it goes the way of any MJPEG frame. */
static void encoded(void *job, void *userdata) {
        SyntheticMjpeg *m = userdata;
        EncodeJob *j = job;
        Frame meta = {
                .sequence = j->sequence,
                .timestamp_ns = j->timestamp_ns,
                .stamp = true,
        };

        j->busy = false;
        if (j->result < 0) {
                log_debug_errno(j->result, "Synthetic JPEG frame %" PRIu64 " not encoded: %m", j->sequence);
                return;
        }
        memcpy(meta.tag, m->tag, sizeof meta.tag);
        (void) mjpeg_stage_submit(m->stage, j->jpeg, j->size, &meta);
}

int synthetic_mjpeg_new(sd_event *event, const char *name, uint32_t width, uint32_t height, const uint8_t tag[16],
                        mjpeg_stage_deliver_t deliver, void *userdata, SyntheticMjpeg **ret) {
        SyntheticMjpeg *m;
        char thread[16];
        int r;

        if (!event || !name || !tag || !deliver || !ret)
                return -EINVAL;
        m = calloc(1, sizeof(SyntheticMjpeg));
        if (!m)
                return -ENOMEM;
        m->width = width;
        m->height = height;
        memcpy(m->tag, tag, sizeof m->tag);
        m->draw_code = frame_code_cell_width(width, height) > 0;

        r = test_pattern_new(PIXEL_FORMAT_NV12, width, height, &m->pattern);
        if (r >= 0)
                r = mjpeg_encoder_new(width, height, SYNTHETIC_MJPEG_QUALITY, &m->encoder);
        /* Thread names: "mg-enc-NAME" draws and encodes, "mg-mjpeg-NAME" decodes. */
        if (r >= 0) {
                snprintf(thread, sizeof thread, "mg-mjpeg-%s", name);
                r = mjpeg_stage_new(event, thread, width, height, deliver, userdata, &m->stage);
        }
        if (r >= 0) {
                snprintf(thread, sizeof thread, "mg-enc-%s", name);
                r = frame_worker_new(event, thread, SYNTHETIC_MJPEG_ENCODER_NICE, SYNTHETIC_MJPEG_ENCODE_SLOTS, encode,
                                     encoded, m, &m->worker);
        }
        if (r < 0) {
                synthetic_mjpeg_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

SyntheticMjpeg *synthetic_mjpeg_free(SyntheticMjpeg *m) {
        if (!m)
                return NULL;
        /* The encoder first: it feeds the stage. */
        frame_worker_free(m->worker);
        mjpeg_stage_free(m->stage);
        test_pattern_free(m->pattern);
        mjpeg_encoder_free(m->encoder);
        for (size_t i = 0; i < SYNTHETIC_MJPEG_ENCODE_SLOTS; i++)
                free(m->jobs[i].jpeg);
        free(m);
        return NULL;
}

int synthetic_mjpeg_capture(SyntheticMjpeg *m, uint64_t sequence, uint64_t timestamp_ns) {
        EncodeJob *j = NULL;
        int r;

        if (!m)
                return -EINVAL;
        for (size_t i = 0; i < SYNTHETIC_MJPEG_ENCODE_SLOTS && !j; i++)
                if (!m->jobs[i].busy)
                        j = &m->jobs[i];
        if (!j)
                return -ENOBUFS;
        j->sequence = sequence;
        j->timestamp_ns = timestamp_ns;
        r = frame_worker_submit(m->worker, j);
        if (r < 0)
                return r;
        j->busy = true;
        return 0;
}

void synthetic_mjpeg_get_stats(SyntheticMjpeg *m, MjpegStageStats *ret) {
        mjpeg_stage_get_stats(m ? m->stage : NULL, ret);
}
