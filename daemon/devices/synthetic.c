/* The synthetic backend: turns SyntheticSpecs into registry devices and captures from them
 * on the registry's event loop (a moving, stamped test pattern, raw or through JPEG; a tone
 * with optional cadence and noise, in S16 or converted from a wider format). */
#include "synthetic.h"

#include <math.h>
#include <stdarg.h>
#include <time.h>

#include "ini.h"
#include "log.h"
#include "frame-code.h"
#include "synthetic-mjpeg.h"
#include "test-pattern.h"
#include "test-signal.h"
#include "util.h"

struct SyntheticBackend {
        DeviceRegistry *registry;
        unsigned n_microphones; /* created so far: picks the next default tone */
};

typedef struct SyntheticDevice {
        DeviceState state;
        uint8_t tag[16];
        TestSignalParams sound;     /* microphones */
        SampleFormat sample_format; /* microphones: what they "capture" in */

        /* The capture; everything below is valid while the device captures. */
        sd_event_source *timer;
        uint64_t generation; /* bumped on stop, so a tick outliving its capture can tell */
        uint64_t start_usec;
        double period_usec;
        uint64_t tick;       /* the timer fires at start_usec + tick * period_usec */
        uint64_t sequence;   /* of the next frame */

        /* video: a raw mode's picture, or a JPEG mode's camera */
        TestPattern *pattern;
        SyntheticMjpeg *mjpeg;

        /* audio */
        TestSignal signal;
        uint8_t *captured;     /* one period in sample_format, when that is not S16_LE */
        uint8_t *buffer;       /* one period of S16_LE */
        SampleDither dither;
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
        "AutoGainControl=yes\n"
        "NoiseSuppression=yes\n";

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

static uint64_t tick_usec(const SyntheticDevice *s, uint64_t tick) {
        /* From the start, not from the previous tick, so that rounding never adds up. */
        return s->start_usec + (uint64_t) llround((double) tick * s->period_usec);
}

static void capture_free(SyntheticDevice *s) {
        s->timer = sd_event_source_disable_unref(s->timer);
        /* Joins its threads: no frame of this capture is delivered afterwards. */
        s->mjpeg = synthetic_mjpeg_free(s->mjpeg);
        s->pattern = test_pattern_free(s->pattern);
        free(s->buffer);
        free(s->captured);
        s->buffer = s->captured = NULL;
        s->generation++;
}

static void write_stamp(uint8_t *p, const Frame *f) {
        memcpy(p, FRAME_STAMP_MAGIC, 8);
        write_le64(p + 8, f->sequence);
        write_le64(p + 16, f->timestamp_ns);
        memcpy(p + 24, f->tag, 16);
}

static void video_tick(Device *d, SyntheticDevice *s) {
        const CaptureFormat *fmt = &d->format;
        /* Taken when its tick was due, as a sensor's clock would stamp it, not when the event
         * loop got round to it: the frames keep their pace however the loop was held up. */
        uint64_t now = tick_usec(s, s->tick) * 1000;
        DeviceBuffer lent;
        uint8_t *data;
        Frame f;
        int r;

        if (s->mjpeg) {
                /* The frame is taken now; it arrives once encoded and decoded. */
                r = synthetic_mjpeg_capture(s->mjpeg, s->sequence, now);
                if (r < 0)
                        log_debug_errno(r, "Synthetic camera '%s' skips a frame, its encoder is behind: %m", d->name);
                else
                        s->sequence++;
                return;
        }

        /* Straight into a stream's pool when the consumer lends a slot: then no copy follows. The
         * pattern redraws only what changed since what the slot holds (lent.content). */
        if (device_lend_buffer(d, test_pattern_size(s->pattern), &lent)) {
                test_pattern_draw_into(s->pattern, lent.data, &lent.content, s->sequence);
                data = lent.data;
        } else {
                lent.data = NULL;
                data = test_pattern_draw(s->pattern, s->sequence);
        }

        f = (Frame) {
                .data = data,
                .size = test_pattern_size(s->pattern),
                .sequence = s->sequence++,
                .timestamp_ns = now,
                .width = fmt->width,
                .height = fmt->height,
                .stride = test_pattern_stride(s->pattern),
                .fourcc = fmt->fourcc,
                .stamp = true,
                .buffer = lent.data ? &lent : NULL,
        };
        memcpy(f.tag, s->tag, sizeof(f.tag));

        /* The stamp goes into the picture too, so that a consumer passing the frame on
         * unchanged delivers it stamped; the stream layer stamps again after scaling. */
        write_stamp((uint8_t *) f.data, &f);
        device_deliver_frame(d, &f);
}

/* A decoded frame of a JPEG mode, on the event loop. */
static void on_mjpeg_frame(const Frame *decoded, void *userdata) {
        Device *d = userdata;
        Frame f = *decoded;

        /* The picture carries its stamp as a frame code; the bytes go on top, as for every
         * synthetic frame (the code starts below them). */
        write_stamp((uint8_t *) f.data, &f);
        device_deliver_frame(d, &f);
}

static void audio_tick(Device *d, SyntheticDevice *s) {
        const CaptureFormat *fmt = &d->format;
        uint64_t rate = fmt->sample_rate;
        /* Sample frames per period alternate (441 frames at 44.1 kHz, 110 or 111 at
         * 11025 Hz) so that exactly `rate` frames make a second. */
        uint32_t n = (uint32_t) ((s->n_periods + 1) * rate / SYNTHETIC_AUDIO_PERIODS_PER_SECOND -
                                 s->n_periods * rate / SYNTHETIC_AUDIO_PERIODS_PER_SECOND);
        size_t n_samples = (size_t) n * fmt->channels;
        unsigned bits = sample_format_bits(s->sample_format);
        /* Full scale of the captured format: the tone is made at that precision. */
        double scale = ldexp(1.0, (int) bits - 1);
        uint8_t *out = s->captured ?: s->buffer;
        Frame f;

        for (uint32_t i = 0; i < n; i++) {
                double v = test_signal_next(&s->signal) * scale;
                int64_t sample = (int64_t) llrint(CLAMP(v, -scale, scale - 1));

                for (uint32_t c = 0; c < fmt->channels; c++)
                        sample_write(s->sample_format, out, (size_t) i * fmt->channels + c, sample);
        }
        /* As an ALSA capture of a wider format is: rounded to 16 bits with dither. */
        if (s->captured)
                (void) sample_convert_to_s16(s->sample_format, s->captured, n_samples, s->buffer, &s->dither);
        s->n_periods++;

        f = (Frame) {
                .data = s->buffer,
                .size = n_samples * 2,
                .sequence = s->sequence++,
                /* When its tick was due, as for video frames. */
                .timestamp_ns = tick_usec(s, s->tick) * 1000,
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

/* The mode fmt asks for: the first in the device's order, so a raw mode before the JPEG mode
 * of the same size, rate and delivered format. NULL when the device has none. */
static const VideoMode *find_video_mode(const Device *d, const CaptureFormat *fmt) {
        for (size_t i = 0; i < d->n_modes; i++)
                if (d->modes[i].width == fmt->width && d->modes[i].height == fmt->height &&
                    d->modes[i].fourcc == fmt->fourcc && fabs(d->modes[i].frame_rate - fmt->frame_rate) < 1e-6)
                        return &d->modes[i];
        return NULL;
}

static bool format_is_native(const Device *d, const CaptureFormat *fmt) {
        if (fmt->kind != d->kind)
                return false;

        if (d->kind == DEVICE_KIND_VIDEO)
                return find_video_mode(d, fmt);

        bool rate = false, channels = false;
        for (size_t i = 0; i < d->audio.n_sample_rates; i++)
                rate = rate || d->audio.sample_rates[i] == fmt->sample_rate;
        for (size_t i = 0; i < d->audio.n_channel_counts; i++)
                channels = channels || d->audio.channel_counts[i] == fmt->channels;
        return rate && channels;
}

static int video_prepare(Device *d, SyntheticDevice *s, sd_event *event, const CaptureFormat *fmt) {
        const VideoMode *mode = find_video_mode(d, fmt);

        s->period_usec = 1e6 / fmt->frame_rate;
        if (mode->source_fourcc == PIXEL_FORMAT_MJPEG)
                return synthetic_mjpeg_new(event, d->name, fmt->width, fmt->height, s->tag, on_mjpeg_frame, d,
                                           &s->mjpeg);
        return test_pattern_new(fmt->fourcc, fmt->width, fmt->height, &s->pattern);
}

static int audio_prepare(Device *d, SyntheticDevice *s, const CaptureFormat *fmt) {
        size_t max_samples = ((size_t) fmt->sample_rate / SYNTHETIC_AUDIO_PERIODS_PER_SECOND + 1) * fmt->channels;

        s->period_usec = 1e6 / SYNTHETIC_AUDIO_PERIODS_PER_SECOND;
        test_signal_init(&s->signal, &s->sound, fmt->sample_rate);
        s->buffer = malloc(max_samples * 2);
        if (!s->buffer)
                return -ENOMEM;
        if (s->sample_format != SAMPLE_FORMAT_S16_LE) {
                s->captured = malloc(max_samples * sample_format_size(s->sample_format));
                if (!s->captured)
                        return -ENOMEM;
                sample_dither_init(&s->dither, s->sound.noise_seed);
        }
        return 0;
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
        s->n_periods = 0;

        if (d->kind == DEVICE_KIND_VIDEO)
                r = video_prepare(d, s, event, fmt);
        else
                r = audio_prepare(d, s, fmt);
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
        /* The tag is the name, cut or padded with zeros to 16 bytes: readable in a hex dump. */
        memcpy(s->tag, spec->name, MIN(strlen(spec->name), sizeof(s->tag)));
        if (spec->kind == DEVICE_KIND_AUDIO) {
                s->sound = (TestSignalParams) {
                        .tone_hz = spec->tone_hz > 0 ? spec->tone_hz : tone_hz,
                        .tone_amplitude = spec->tone_amplitude > 0 ? spec->tone_amplitude : SYNTHETIC_TONE_AMPLITUDE,
                        .cadence_on_ms = spec->cadence_on_ms,
                        .cadence_off_ms = spec->cadence_off_ms,
                        .noise_rms = spec->noise_rms,
                        /* Each device its own noise, the same in every run. */
                        .noise_seed = frame_code_crc32((const uint8_t *) spec->name, strlen(spec->name)),
                };
                s->sample_format = spec->sample_format;
        }

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
                d->modes = calloc(MAX(spec->n_modes, (size_t) 1), sizeof(VideoMode));
                if (!d->modes)
                        return -ENOMEM;
                /* Raw modes first, then JPEG ones, each in the file's order (device.h). */
                for (int pass = 0; pass < 2; pass++)
                        for (size_t i = 0; i < spec->n_modes; i++)
                                if ((spec->modes[i].source_fourcc != 0) == (pass == 1))
                                        d->modes[d->n_modes++] = spec->modes[i];
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

        return s ? s->sound.tone_hz : 0;
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
