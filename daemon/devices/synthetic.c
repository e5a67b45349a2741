/* The synthetic backend: turns SyntheticSpecs into registry devices and captures from them
 * on the registry's event loop (a moving, stamped test pattern; a sine tone). */
#include "synthetic.h"

#include <math.h>
#include <stdarg.h>
#include <time.h>

#include "ini.h"
#include "log.h"
#include "util.h"

struct SyntheticBackend {
        DeviceRegistry *registry;
        unsigned n_microphones; /* created so far: picks the next default tone */
};

typedef struct SyntheticDevice {
        DeviceState state;
        double tone_hz;
        uint8_t tag[16];

        /* The capture; everything below is valid while the device captures. */
        sd_event_source *timer;
        uint64_t generation; /* bumped on stop, so a tick outliving its capture can tell */
        uint64_t start_usec;
        double period_usec;
        uint64_t tick;       /* the timer fires at start_usec + tick * period_usec */
        uint64_t sequence;   /* of the next frame */

        uint8_t *buffer;
        size_t buffer_size;

        /* video: the bars of one row (YUYV; or the NV12 Y row followed by its UV row), from
         * which the spot the moving block leaves is restored */
        uint8_t *template_row;
        uint8_t *block_row;
        uint32_t block_width, block_height, block_x, block_y;
        bool block_drawn;

        /* audio */
        double phase;          /* radians, carried from period to period */
        uint64_t n_periods;    /* delivered so far */
} SyntheticDevice;

/* Kept in sync with examples/synthetic-devices.conf (a unit test compares the two). */
const char synthetic_default_devices[] =
        "[front-camera]\n"
        "Kind=camera\n"
        "Label=Synthetic Front Camera\n"
        "FacingMode=user\n"
        "Default=yes\n"
        "Modes=640x480@30 1280x720@30 1920x1080@15\n"
        "\n"
        "[back-camera]\n"
        "Kind=camera\n"
        "Label=Synthetic Back Camera\n"
        "FacingMode=environment\n"
        "Modes=1280x720@30 3840x2160@10\n"
        "\n"
        "[microphone]\n"
        "Kind=microphone\n"
        "Label=Synthetic Microphone\n"
        "Default=yes\n"
        "SampleRates=44100 48000\n"
        "Channels=1 2\n"
        "SampleSizes=16\n"
        "ToneHz=440\n"
        "EchoCancellation=no\n"
        "AutoGainControl=no\n"
        "NoiseSuppression=no\n";

/* 100% colour bars, BT.601 limited range: white, yellow, cyan, green, magenta, red, blue, black */
static const struct {
        uint8_t y, u, v;
} bar_colours[] = {
        { 235, 128, 128 }, { 210, 16, 146 }, { 170, 166, 16 }, { 145, 54, 34 },
        { 106, 202, 222 }, { 81, 90, 240 },  { 41, 240, 110 }, { 16, 128, 128 },
};

static const char *const state_table[] = {
        [DEVICE_STATE_OK] = "ok",
        [DEVICE_STATE_BUSY] = "busy",
        [DEVICE_STATE_FAILING] = "failing",
};

int synthetic_state_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(state_table); i++)
                if (streq(s, state_table[i]))
                        return (int) i;
        return -EINVAL;
}

const char *synthetic_state_to_string(DeviceState state) {
        if ((size_t) state >= ELEMENTSOF(state_table))
                return NULL;
        return state_table[state];
}

static void write_le64(uint8_t *p, uint64_t v) {
        for (unsigned i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static uint64_t now_nsec(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static uint64_t tick_usec(const SyntheticDevice *s, uint64_t tick) {
        /* From the start, not from the previous tick, so that rounding never adds up. */
        return s->start_usec + (uint64_t) llround((double) tick * s->period_usec);
}

/* Position of the moving block: a triangle wave over [0, range], even (chroma pairs). */
static uint32_t bounce(uint64_t travelled, uint32_t range) {
        uint64_t p;

        if (range == 0)
                return 0;
        p = travelled % (2 * (uint64_t) range);
        if (p > range)
                p = 2 * (uint64_t) range - p;
        return (uint32_t) p & ~1u;
}

static void capture_free(SyntheticDevice *s) {
        s->timer = sd_event_source_disable_unref(s->timer);
        free(s->buffer);
        free(s->template_row);
        free(s->block_row);
        s->buffer = s->template_row = s->block_row = NULL;
        s->buffer_size = 0;
        s->block_drawn = false;
        s->generation++;
}

/* The bars over the whole picture. */
static void paint_bars(SyntheticDevice *s, const CaptureFormat *fmt, uint8_t *buf) {
        uint32_t w = fmt->width, h = fmt->height;

        if (fmt->fourcc == PIXEL_FORMAT_YUYV)
                for (uint32_t y = 0; y < h; y++)
                        memcpy(buf + (size_t) y * w * 2, s->template_row, (size_t) w * 2);
        else {
                for (uint32_t y = 0; y < h; y++)
                        memcpy(buf + (size_t) y * w, s->template_row, w);
                for (uint32_t y = 0; y < h / 2; y++)
                        memcpy(buf + (size_t) w * h + (size_t) y * w, s->template_row + w, w);
        }
}

static int video_prepare(SyntheticDevice *s, const CaptureFormat *fmt) {
        uint32_t w = fmt->width, h = fmt->height;

        s->buffer_size = synthetic_frame_size(fmt->fourcc, w, h);
        s->buffer = malloc(s->buffer_size);
        s->template_row = malloc((size_t) w * 2); /* a YUYV row, or an NV12 Y row and UV row */
        s->block_row = malloc((size_t) w * 2);
        if (!s->buffer || !s->template_row || !s->block_row)
                return -ENOMEM;

        for (uint32_t x = 0; x < w; x += 2) {
                unsigned bar = (unsigned) ((uint64_t) x * ELEMENTSOF(bar_colours) / w);

                if (fmt->fourcc == PIXEL_FORMAT_YUYV) {
                        uint8_t *p = s->template_row + (size_t) x * 2;

                        p[0] = bar_colours[bar].y;
                        p[1] = bar_colours[bar].u;
                        p[2] = bar_colours[bar].y;
                        p[3] = bar_colours[bar].v;
                } else {
                        uint8_t *y = s->template_row, *uv = s->template_row + w;

                        y[x] = y[x + 1] = bar_colours[bar].y;
                        uv[x] = bar_colours[bar].u;
                        uv[x + 1] = bar_colours[bar].v;
                }
        }

        /* The whole picture once; from now on each frame touches only the block. */
        paint_bars(s, fmt, s->buffer);

        s->block_width = MIN(MAX((w / 8) & ~1u, 2u), w);
        s->block_height = MIN(MAX((h / 8) & ~1u, 2u), h);
        return 0;
}

/* Copy a rectangle of rows from a one-row source (the bars, or the block). */
static void paint_rect(SyntheticDevice *s, const CaptureFormat *fmt, uint8_t *buf, uint32_t x, uint32_t y,
                       const uint8_t *yuyv_or_y_row, const uint8_t *uv_row) {
        uint32_t w = fmt->width, h = fmt->height, bw = s->block_width, bh = s->block_height;

        if (fmt->fourcc == PIXEL_FORMAT_YUYV) {
                for (uint32_t r = y; r < y + bh; r++)
                        memcpy(buf + (size_t) r * w * 2 + (size_t) x * 2, yuyv_or_y_row, (size_t) bw * 2);
                return;
        }
        for (uint32_t r = y; r < y + bh; r++)
                memcpy(buf + (size_t) r * w + x, yuyv_or_y_row, bw);
        for (uint32_t r = y / 2; r < (y + bh) / 2; r++)
                memcpy(buf + (size_t) w * h + (size_t) r * w + x, uv_row, bw);
}

/* Where the block is in frame `sequence`: a function of the sequence alone, so that a buffer
 * that held an earlier frame can be brought up to date by repainting two rectangles. */
static void block_position(SyntheticDevice *s, const CaptureFormat *fmt, uint64_t sequence, uint32_t *ret_x,
                           uint32_t *ret_y) {
        uint32_t w = fmt->width, h = fmt->height;

        *ret_x = bounce(sequence * MAX((w / 64) & ~1u, 2u), w - s->block_width);
        *ret_y = bounce(sequence * MAX((h / 64) & ~1u, 2u), h - s->block_height);
}

static void restore_bars(SyntheticDevice *s, const CaptureFormat *fmt, uint8_t *buf, uint32_t x, uint32_t y) {
        if (fmt->fourcc == PIXEL_FORMAT_YUYV)
                paint_rect(s, fmt, buf, x, y, s->template_row + (size_t) x * 2, NULL);
        else
                paint_rect(s, fmt, buf, x, y, s->template_row + x, s->template_row + fmt->width + x);
}

/* What a lent buffer holds after we drew frame `sequence` into it: this capture's frame. */
static uint64_t content_tag(SyntheticDevice *s, uint64_t sequence) {
        return ((s->generation & 0xffffffffu) << 32) | ((sequence & 0xffffffffu) + 1);
}

/* Bring buf (holding frame prev_sequence, or unknown content) to the bars without a block. */
static void clear_previous(SyntheticDevice *s, const CaptureFormat *fmt, uint8_t *buf, uint64_t content) {
        uint32_t x, y;

        if (content == 0 || content >> 32 != (s->generation & 0xffffffffu)) {
                paint_bars(s, fmt, buf);
                return;
        }
        block_position(s, fmt, (content & 0xffffffffu) - 1, &x, &y);
        restore_bars(s, fmt, buf, x, y);
}

static void video_tick(Device *d, SyntheticDevice *s) {
        const CaptureFormat *fmt = &d->format;
        uint32_t w = fmt->width, h = fmt->height, bw = s->block_width, x, y;
        uint8_t luma = (uint8_t) (16 + (s->sequence * 8) % 220);
        DeviceBuffer lent;
        bool lending;
        uint8_t *buf;
        Frame f;

        /* Straight into a stream's pool when the consumer lends a slot: then no copy follows. */
        lending = device_lend_buffer(d, s->buffer_size, &lent);
        buf = lending ? lent.data : s->buffer;

        /* Put the bars back where the block was, then draw it one step further on, in a
         * grey that changes every frame: each frame differs, at a cost of w*h/64 pixels. */
        if (lending)
                clear_previous(s, fmt, buf, lent.content);
        else if (s->block_drawn)
                restore_bars(s, fmt, buf, s->block_x, s->block_y);
        block_position(s, fmt, s->sequence, &x, &y);
        if (fmt->fourcc == PIXEL_FORMAT_YUYV) {
                for (uint32_t i = 0; i < bw * 2; i += 2) {
                        s->block_row[i] = luma;
                        s->block_row[i + 1] = 128;
                }
                paint_rect(s, fmt, buf, x, y, s->block_row, NULL);
        } else {
                memset(s->block_row, luma, bw);
                memset(s->block_row + bw, 128, bw);
                paint_rect(s, fmt, buf, x, y, s->block_row, s->block_row + bw);
        }
        if (lending)
                lent.content = content_tag(s, s->sequence);
        else {
                s->block_x = x;
                s->block_y = y;
                s->block_drawn = true;
        }

        f = (Frame) {
                .data = buf,
                .size = s->buffer_size,
                .sequence = s->sequence++,
                .timestamp_ns = now_nsec(),
                .width = w,
                .height = h,
                .stride = fmt->fourcc == PIXEL_FORMAT_YUYV ? w * 2 : w,
                .fourcc = fmt->fourcc,
                .stamp = true,
                .buffer = lending ? &lent : NULL,
        };
        memcpy(f.tag, s->tag, sizeof(f.tag));

        /* The stamp goes into the picture too, so that a consumer passing the frame on
         * unchanged delivers it stamped; the stream layer stamps again after scaling. */
        memcpy(buf, FRAME_STAMP_MAGIC, 8);
        write_le64(buf + 8, f.sequence);
        write_le64(buf + 16, f.timestamp_ns);
        memcpy(buf + 24, s->tag, 16);

        device_deliver_frame(d, &f);
}

static void audio_tick(Device *d, SyntheticDevice *s) {
        const CaptureFormat *fmt = &d->format;
        uint64_t rate = fmt->sample_rate;
        /* Sample frames per period alternate (441 frames at 44.1 kHz, 110 or 111 at
         * 11025 Hz) so that exactly `rate` frames make a second. */
        uint32_t n = (uint32_t) ((s->n_periods + 1) * rate / SYNTHETIC_AUDIO_PERIODS_PER_SECOND -
                                 s->n_periods * rate / SYNTHETIC_AUDIO_PERIODS_PER_SECOND);
        double step = 2 * M_PI * s->tone_hz / (double) rate;
        uint8_t *p = s->buffer;
        Frame f;

        for (uint32_t i = 0; i < n; i++) {
                int16_t v = (int16_t) lrint(sin(s->phase) * SYNTHETIC_TONE_AMPLITUDE);

                for (uint32_t c = 0; c < fmt->channels; c++) {
                        *p++ = (uint8_t) ((uint16_t) v & 0xff);
                        *p++ = (uint8_t) ((uint16_t) v >> 8);
                }
                s->phase += step;
                if (s->phase >= 2 * M_PI)
                        s->phase -= 2 * M_PI;
        }
        s->n_periods++;

        f = (Frame) {
                .data = s->buffer,
                .size = (size_t) n * fmt->channels * 2,
                .sequence = s->sequence++,
                .timestamp_ns = now_nsec(),
                .n_frames = n,
        };
        memcpy(f.tag, s->tag, sizeof(f.tag));
        device_deliver_frame(d, &f);
}

static int schedule_next(SyntheticDevice *s) {
        uint64_t now = now_usec(CLOCK_MONOTONIC), next;
        int r;

        s->tick++;
        next = tick_usec(s, s->tick);
        if (next <= now) {
                /* The loop was held up: drop the ticks already past, as a camera drops
                 * frames, instead of delivering a burst. */
                s->tick = (uint64_t) ((double) (now - s->start_usec) / s->period_usec) + 1;
                while ((next = tick_usec(s, s->tick)) <= now)
                        s->tick++;
        }
        r = sd_event_source_set_time(s->timer, next);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

static int on_tick(sd_event_source *source, uint64_t usec, void *userdata) {
        _cleanup_(device_unrefp) Device *d = device_ref(userdata);
        SyntheticDevice *s = d->backend_data;
        uint64_t generation = s->generation;
        int r;

        if (s->state == DEVICE_STATE_FAILING) {
                log_debug("Synthetic device '%s' fails, as the Testing interface asked.", d->name);
                device_report_error(d, -EIO);
                return 0;
        }

        if (d->kind == DEVICE_KIND_VIDEO)
                video_tick(d, s);
        else
                audio_tick(d, s);

        /* The consumer may have stopped (and even restarted) the capture from inside the
         * frame callback; then this timer is no longer ours to touch. */
        if (!d->capturing || s->generation != generation)
                return 0;

        r = schedule_next(s);
        if (r < 0) {
                log_error_errno(r, "Failed to schedule the next frame of synthetic device '%s': %m", d->name);
                device_report_error(d, r);
        }
        return 0;
}

static bool format_is_native(const Device *d, const CaptureFormat *fmt) {
        if (fmt->kind != d->kind)
                return false;

        if (d->kind == DEVICE_KIND_VIDEO) {
                for (size_t i = 0; i < d->n_modes; i++)
                        if (d->modes[i].width == fmt->width && d->modes[i].height == fmt->height &&
                            d->modes[i].fourcc == fmt->fourcc &&
                            fabs(d->modes[i].frame_rate - fmt->frame_rate) < 1e-6)
                                return true;
                return false;
        }

        bool rate = false, channels = false;
        for (size_t i = 0; i < d->audio.n_sample_rates; i++)
                rate = rate || d->audio.sample_rates[i] == fmt->sample_rate;
        for (size_t i = 0; i < d->audio.n_channel_counts; i++)
                channels = channels || d->audio.channel_counts[i] == fmt->channels;
        return rate && channels;
}

static int synthetic_start(Device *d, const CaptureFormat *fmt) {
        SyntheticDevice *s = d->backend_data;
        sd_event *event = device_registry_get_event(d->registry);
        int r;

        if (s->state == DEVICE_STATE_BUSY)
                return -EBUSY;
        if (s->state == DEVICE_STATE_FAILING)
                return -EIO;
        /* Like hardware, a device runs only in its own modes; scaling is the stream's job. */
        if (!format_is_native(d, fmt))
                return -EINVAL;
        if (!event)
                return -ENODEV;

        capture_free(s);
        s->sequence = 0;
        s->tick = 1; /* the first frame comes when it has been captured, a period after start */
        s->phase = 0;
        s->n_periods = 0;

        if (d->kind == DEVICE_KIND_VIDEO) {
                s->period_usec = 1e6 / fmt->frame_rate;
                r = video_prepare(s, fmt);
        } else {
                s->period_usec = 1e6 / SYNTHETIC_AUDIO_PERIODS_PER_SECOND;
                s->buffer_size = ((size_t) fmt->sample_rate / SYNTHETIC_AUDIO_PERIODS_PER_SECOND + 1) *
                                 fmt->channels * 2;
                s->buffer = malloc(s->buffer_size);
                r = s->buffer ? 0 : -ENOMEM;
        }
        if (r < 0)
                goto fail;

        s->start_usec = now_usec(CLOCK_MONOTONIC);
        /* Accuracy 1 µs: sd-event reads 0 as "the default", which is 250 ms of slack. */
        r = sd_event_add_time(event, &s->timer, CLOCK_MONOTONIC, tick_usec(s, s->tick), 1, on_tick, d);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(s->timer, "synthetic-capture");
        return 0;

fail:
        capture_free(s);
        return r;
}

static void synthetic_stop(Device *d) {
        SyntheticDevice *s = d->backend_data;

        if (s)
                capture_free(s);
}

static void synthetic_free(Device *d) {
        SyntheticDevice *s = d->backend_data;

        if (!s)
                return;
        capture_free(s);
        free(s);
        d->backend_data = NULL;
}

static const DeviceOps synthetic_ops = {
        .start = synthetic_start,
        .stop = synthetic_stop,
        .free = synthetic_free,
};

static void *memdup_array(const void *p, size_t n, size_t size) {
        void *copy;

        if (n == 0)
                return NULL;
        copy = malloc(n * size);
        if (copy)
                memcpy(copy, p, n * size);
        return copy;
}

int synthetic_device_new(const SyntheticSpec *spec, double tone_hz, Device **ret) {
        _cleanup_(device_unrefp) Device *d = NULL;
        SyntheticDevice *s;

        if (!spec || !spec->name || !ret)
                return -EINVAL;

        d = device_new(spec->kind, SYNTHETIC_BACKEND, spec->name, &synthetic_ops);
        if (!d)
                return -ENOMEM;
        s = calloc(1, sizeof(SyntheticDevice));
        if (!s)
                return -ENOMEM;
        d->backend_data = s;
        s->state = DEVICE_STATE_OK;
        s->tone_hz = spec->kind == DEVICE_KIND_AUDIO ? (spec->tone_hz > 0 ? spec->tone_hz : tone_hz) : 0;
        /* The tag is the name, cut or padded with zeros to 16 bytes: readable in a hex dump. */
        memcpy(s->tag, spec->name, MIN(strlen(spec->name), sizeof(s->tag)));

        if (asprintf(&d->hardware_id, "synthetic:%s", spec->name) < 0) {
                d->hardware_id = NULL;
                return -ENOMEM;
        }
        if (spec->group) {
                if (asprintf(&d->group_hardware_id, "synthetic-group:%s", spec->group) < 0) {
                        d->group_hardware_id = NULL;
                        return -ENOMEM;
                }
        } else if (!(d->group_hardware_id = strdup(d->hardware_id)))
                return -ENOMEM;
        d->node = strdup("");
        d->label = strdup(spec->label ?: spec->name);
        d->facing_mode = strdup(strempty(spec->facing_mode));
        if (!d->node || !d->label || !d->facing_mode)
                return -ENOMEM;
        d->is_default = spec->is_default;

        if (spec->kind == DEVICE_KIND_VIDEO) {
                d->modes = memdup_array(spec->modes, spec->n_modes, sizeof(VideoMode));
                if (spec->n_modes > 0 && !d->modes)
                        return -ENOMEM;
                d->n_modes = spec->n_modes;
        } else {
                d->audio = (AudioCapabilities) {
                        .sample_rates = memdup_array(spec->sample_rates, spec->n_sample_rates, sizeof(uint32_t)),
                        .n_sample_rates = spec->n_sample_rates,
                        .channel_counts = memdup_array(spec->channel_counts, spec->n_channel_counts,
                                                       sizeof(uint32_t)),
                        .n_channel_counts = spec->n_channel_counts,
                        .sample_sizes = memdup_array(spec->sample_sizes, spec->n_sample_sizes, sizeof(uint32_t)),
                        .n_sample_sizes = spec->n_sample_sizes,
                        .latency = 1.0 / SYNTHETIC_AUDIO_PERIODS_PER_SECOND,
                        .echo_cancellation = spec->echo_cancellation,
                        .auto_gain_control = spec->auto_gain_control,
                        .noise_suppression = spec->noise_suppression,
                };
                if ((spec->n_sample_rates > 0 && !d->audio.sample_rates) ||
                    (spec->n_channel_counts > 0 && !d->audio.channel_counts) ||
                    (spec->n_sample_sizes > 0 && !d->audio.sample_sizes))
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(d);
        return 0;
}

static SyntheticDevice *synthetic_data(Device *d) {
        if (!d || d->ops != &synthetic_ops)
                return NULL;
        return d->backend_data;
}

int synthetic_device_get_state(Device *d) {
        SyntheticDevice *s = synthetic_data(d);

        return s ? (int) s->state : -EINVAL;
}

double synthetic_device_get_tone_hz(Device *d) {
        SyntheticDevice *s = synthetic_data(d);

        return s ? s->tone_hz : 0;
}

int synthetic_backend_new(DeviceRegistry *registry, SyntheticBackend **ret) {
        SyntheticBackend *b;

        if (!registry || !ret)
                return -EINVAL;
        b = calloc(1, sizeof(SyntheticBackend));
        if (!b)
                return -ENOMEM;
        b->registry = registry;
        *ret = b;
        return 0;
}

SyntheticBackend *synthetic_backend_free(SyntheticBackend *b) {
        free(b);
        return NULL;
}

static int spec_error(char **ret_error, const char *filename, unsigned line, const char *format, ...)
        _printf_(4, 5);
static int spec_error(char **ret_error, const char *filename, unsigned line, const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&message, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (ret_error) {
                if (filename)
                        r = asprintf(ret_error, "%s:%u: %s", filename, line, message);
                else
                        r = asprintf(ret_error, "line %u: %s", line, message);
                if (r < 0) {
                        *ret_error = NULL;
                        return -ENOMEM;
                }
        }
        return -EINVAL;
}

static Device *find_synthetic(SyntheticBackend *b, const char *name) {
        return device_registry_find(b->registry, SYNTHETIC_BACKEND, name);
}

static Device *find_synthetic_default(SyntheticBackend *b, DeviceKind kind) {
        for (size_t i = 0; i < device_registry_count(b->registry); i++) {
                Device *d = device_registry_get(b->registry, i);

                if (streq(d->backend, SYNTHETIC_BACKEND) && d->kind == kind && d->is_default)
                        return d;
        }
        return NULL;
}

static size_t count_synthetic(SyntheticBackend *b) {
        size_t n = 0;

        for (size_t i = 0; i < device_registry_count(b->registry); i++)
                if (streq(device_registry_get(b->registry, i)->backend, SYNTHETIC_BACKEND))
                        n++;
        return n;
}

int synthetic_backend_add_specs(SyntheticBackend *b, const SyntheticSpec *specs, size_t n_specs,
                                const char *filename, char **ret_error) {
        _cleanup_free_ Device **devices = NULL;
        size_t n_added = 0, existing;
        int r = 0;

        if (!b || (!specs && n_specs > 0))
                return -EINVAL;
        if (ret_error)
                *ret_error = NULL;
        if (n_specs == 0)
                return 0;

        /* Everything that could refuse a device is checked before the first one is added,
         * so that a bad file adds nothing. The specs agree among themselves (the parser saw
         * to that); here they must agree with what the registry already has. */
        existing = count_synthetic(b);
        if (existing + n_specs > SYNTHETIC_DEVICES_MAX)
                return spec_error(ret_error, filename, specs[0].line,
                                  "too many synthetic devices, at most %d (%zu exist already)",
                                  SYNTHETIC_DEVICES_MAX, existing);
        for (size_t i = 0; i < n_specs; i++) {
                Device *other;

                if (find_synthetic(b, specs[i].name))
                        return spec_error(ret_error, filename, specs[i].line,
                                          "synthetic device '%s' exists already", specs[i].name);
                if (specs[i].is_default && (other = find_synthetic_default(b, specs[i].kind)))
                        return spec_error(ret_error, filename, specs[i].line, "'%s' is already the default %s",
                                          other->name, specs[i].kind == DEVICE_KIND_VIDEO ? "camera" : "microphone");
        }

        devices = calloc(n_specs, sizeof(Device *));
        if (!devices)
                return -ENOMEM;
        for (size_t i = 0, n_mics = b->n_microphones; i < n_specs; i++) {
                /* 440 Hz, 550 Hz, ...: each microphone sounds different, and even the highest
                 * (3850 Hz) stays below half of the lowest rate allowed (8000 Hz). */
                double tone = 440.0 + 110.0 * (n_mics % 32);

                r = synthetic_device_new(specs + i, tone, devices + i);
                if (r < 0)
                        goto finish;
                if (specs[i].kind == DEVICE_KIND_AUDIO)
                        n_mics++;
        }
        for (; n_added < n_specs; n_added++) {
                r = device_registry_add(b->registry, devices[n_added]);
                if (r < 0) {
                        /* Only -ENOMEM gets here; take back what is in already. */
                        for (size_t i = 0; i < n_added; i++)
                                device_registry_remove(b->registry, devices[i]);
                        goto finish;
                }
                if (devices[n_added]->kind == DEVICE_KIND_AUDIO)
                        b->n_microphones++;
                log_debug("Added synthetic %s '%s'.", device_kind_to_string(devices[n_added]->kind),
                          devices[n_added]->name);
        }

finish:
        for (size_t i = 0; i < n_specs; i++)
                device_unref(devices[i]);
        return r;
}

int synthetic_backend_load_file(SyntheticBackend *b, const char *path, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        SyntheticSpec *specs = NULL;
        size_t size, n_specs = 0;
        int r;

        if (!b || !path)
                return -EINVAL;
        if (ret_error)
                *ret_error = NULL;

        r = read_full_file(path, SYNTHETIC_FILE_SIZE_MAX, &text, &size);
        if (r < 0) {
                if (ret_error && asprintf(ret_error, "%s: %s", path,
                                          r == -EFBIG ? "file too large" : strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }

        r = synthetic_file_parse(text, size, path, &specs, &n_specs, ret_error);
        if (r < 0)
                return r;
        r = synthetic_backend_add_specs(b, specs, n_specs, path, ret_error);
        synthetic_specs_free(specs, n_specs);
        return r;
}

int synthetic_backend_load_defaults(SyntheticBackend *b) {
        _cleanup_free_ char *error = NULL;
        SyntheticSpec *specs = NULL;
        size_t n_specs = 0;
        int r;

        if (!b)
                return -EINVAL;

        r = synthetic_file_parse(synthetic_default_devices, strlen(synthetic_default_devices),
                                 "built-in synthetic devices", &specs, &n_specs, &error);
        if (r >= 0) {
                r = synthetic_backend_add_specs(b, specs, n_specs, "built-in synthetic devices", &error);
                synthetic_specs_free(specs, n_specs);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to add the built-in synthetic devices: %s",
                                       error ?: strerror(-r));
        return 0;
}

int synthetic_backend_add_text(SyntheticBackend *b, const char *section_text, char **ret_error) {
        SyntheticSpec *specs = NULL;
        size_t n_specs = 0;
        int r;

        if (!b || !section_text)
                return -EINVAL;
        if (ret_error)
                *ret_error = NULL;

        r = synthetic_file_parse(section_text, strlen(section_text), NULL, &specs, &n_specs, ret_error);
        if (r < 0)
                return r;
        if (n_specs != 1) {
                synthetic_specs_free(specs, n_specs);
                if (ret_error && asprintf(ret_error, "expected exactly one [device] section, found %zu",
                                          n_specs) < 0) {
                        *ret_error = NULL;
                        return -ENOMEM;
                }
                return -EINVAL;
        }
        r = synthetic_backend_add_specs(b, specs, n_specs, NULL, ret_error);
        synthetic_specs_free(specs, n_specs);
        return r;
}

int synthetic_backend_remove(SyntheticBackend *b, const char *name) {
        Device *d;

        if (!b || !name)
                return -EINVAL;
        d = find_synthetic(b, name);
        if (!d)
                return -ENOENT;
        log_debug("Removing synthetic %s '%s'.", device_kind_to_string(d->kind), d->name);
        device_registry_remove(b->registry, d);
        return 0;
}

int synthetic_backend_set_state(SyntheticBackend *b, const char *name, DeviceState state) {
        SyntheticDevice *s;

        if (!b || !name || !synthetic_state_to_string(state))
                return -EINVAL;
        s = synthetic_data(find_synthetic(b, name));
        if (!s)
                return -ENOENT;
        /* A capturing device notices "failing" on its next tick; "busy" only refuses the
         * next start, as a device another program grabbed meanwhile would. */
        s->state = state;
        return 0;
}
