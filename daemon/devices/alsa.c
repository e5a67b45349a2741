/* The ALSA microphone backend: probing capture PCMs through the control interface and
 * hw_params, and capture driven by the PCM's poll descriptors on the registry's event loop. */
#include "alsa.h"

#include <poll.h>
#include <sys/epoll.h>
#include <time.h>

#include "log.h"
#include "sanitize.h"
#include "udev-util.h"
#include "util.h"

/* Recoveries (xruns, suspends) allowed per second before the capture is given up as broken
 * rather than recovered forever. */
#define ALSA_RECOVERIES_PER_SECOND_MAX 20

typedef struct AlsaDevice {
        unsigned card, device;
        dev_t devnum;
        snd_pcm_format_t format;
        SampleFormat sample_format; /* the same, for the conversion to S16_LE */

        /* The capture; valid while the device captures. */
        snd_pcm_t *pcm;
        struct pollfd *pfds;
        sd_event_source **sources;
        size_t n_pfds;
        snd_pcm_uframes_t period; /* sample frames per delivered Frame */
        size_t frame_bytes;       /* one sample frame in the device's format */
        uint8_t *raw;             /* one period as read */
        uint8_t *s16;             /* and converted, when the format is not S16_LE */
        SampleDither dither;      /* of that conversion */
        snd_pcm_uframes_t filled; /* frames of raw read so far */
        uint64_t period_start_ns; /* capture time of the first frame in raw */
        uint64_t sequence;
        uint64_t generation;      /* bumped on stop, so a handler outliving its capture can tell */
        uint64_t recovery_window_ns;
        unsigned n_recoveries;
} AlsaDevice;

const uint32_t alsa_standard_rates[] = {
        8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000, 176400, 192000,
};
const size_t alsa_n_standard_rates = ELEMENTSOF(alsa_standard_rates);

/* ---- pure parts ---- */

static int parse_unsigned_prefix(const char *s, unsigned *ret, const char **ret_end) {
        unsigned v = 0;
        const char *p = s;

        if (*p < '0' || *p > '9')
                return -EINVAL;
        /* No leading zeros: the kernel never writes them, so "pcmC01D0c" is not a PCM. */
        if (*p == '0' && p[1] >= '0' && p[1] <= '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (v > (UINT32_MAX - 9) / 10)
                        return -EINVAL;
                v = v * 10 + (unsigned) (*p - '0');
        }
        *ret = v;
        *ret_end = p;
        return 0;
}

int alsa_parse_pcm_sysname(const char *sysname, unsigned *ret_card, unsigned *ret_device, bool *ret_capture) {
        const char *p;
        unsigned card, device;

        if (!sysname || !(p = startswith(sysname, "pcmC")))
                return -EINVAL;
        if (parse_unsigned_prefix(p, &card, &p) < 0 || *p != 'D')
                return -EINVAL;
        if (parse_unsigned_prefix(p + 1, &device, &p) < 0)
                return -EINVAL;
        if ((p[0] != 'c' && p[0] != 'p') || p[1] != '\0')
                return -EINVAL;

        if (ret_card)
                *ret_card = card;
        if (ret_device)
                *ret_device = device;
        if (ret_capture)
                *ret_capture = p[0] == 'c';
        return 0;
}

int alsa_parse_card_sysname(const char *sysname, unsigned *ret_card) {
        const char *p;
        unsigned card;

        if (!sysname)
                return -EINVAL;
        p = startswith(sysname, "card") ?: startswith(sysname, "controlC");
        if (!p || parse_unsigned_prefix(p, &card, &p) < 0 || *p != '\0')
                return -EINVAL;
        if (ret_card)
                *ret_card = card;
        return 0;
}

static int list_take(uint32_t *values, size_t n, uint32_t **ret, size_t *ret_n) {
        if (n == 0) {
                free(values);
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        *ret = values;
        *ret_n = n;
        return 0;
}

int alsa_list_rates(unsigned rate_min, unsigned rate_max, alsa_test_t test, void *userdata,
                    uint32_t **ret, size_t *ret_n) {
        uint32_t *rates;
        size_t n = 0;

        if (!test || !ret || !ret_n)
                return -EINVAL;

        rates = calloc(alsa_n_standard_rates, sizeof(uint32_t));
        if (!rates)
                return -ENOMEM;
        for (size_t i = 0; i < alsa_n_standard_rates; i++)
                if (alsa_standard_rates[i] >= rate_min && alsa_standard_rates[i] <= rate_max &&
                    test(alsa_standard_rates[i], userdata))
                        rates[n++] = alsa_standard_rates[i];
        if (n == 0 && rate_min > 0 && rate_min <= rate_max && test(rate_min, userdata))
                rates[n++] = rate_min;
        return list_take(rates, n, ret, ret_n);
}

int alsa_list_channels(unsigned channels_min, unsigned channels_max, alsa_test_t test, void *userdata,
                       uint32_t **ret, size_t *ret_n) {
        unsigned lo = MAX(channels_min, 1u), hi = MIN(channels_max, (unsigned) ALSA_CHANNELS_MAX);
        uint32_t *counts;
        size_t n = 0;

        if (!test || !ret || !ret_n)
                return -EINVAL;

        counts = calloc(ALSA_CHANNELS_MAX, sizeof(uint32_t));
        if (!counts)
                return -ENOMEM;
        if (lo > ALSA_CHANNELS_MAX) {
                if (lo <= channels_max && test(lo, userdata)) {
                        /* Too many channels to list, but the only way in. */
                        free(counts);
                        counts = calloc(1, sizeof(uint32_t));
                        if (!counts)
                                return -ENOMEM;
                        counts[n++] = lo;
                }
                return list_take(counts, n, ret, ret_n);
        }
        for (unsigned c = lo; c <= hi; c++)
                if (test(c, userdata))
                        counts[n++] = c;
        return list_take(counts, n, ret, ret_n);
}

static const snd_pcm_format_t format_preference[] = {
        SND_PCM_FORMAT_S16_LE,
        SND_PCM_FORMAT_S32_LE,
        SND_PCM_FORMAT_S24_3LE,
        SND_PCM_FORMAT_S24_LE,
};

snd_pcm_format_t alsa_choose_format(alsa_test_t test, void *userdata) {
        if (!test)
                return SND_PCM_FORMAT_UNKNOWN;
        for (size_t i = 0; i < ELEMENTSOF(format_preference); i++)
                if (test((unsigned) format_preference[i], userdata))
                        return format_preference[i];
        return SND_PCM_FORMAT_UNKNOWN;
}

SampleFormat alsa_sample_format(snd_pcm_format_t format) {
        switch (format) {
        case SND_PCM_FORMAT_S16_LE:
                return SAMPLE_FORMAT_S16_LE;
        case SND_PCM_FORMAT_S24_LE:
                return SAMPLE_FORMAT_S24_LE;
        case SND_PCM_FORMAT_S24_3LE:
                return SAMPLE_FORMAT_S24_3LE;
        case SND_PCM_FORMAT_S32_LE:
                return SAMPLE_FORMAT_S32_LE;
        default:
                return _SAMPLE_FORMAT_INVALID;
        }
}

char *alsa_make_label(const char *card_name, const char *pcm_name, unsigned device, bool name_shared) {
        _cleanup_free_ char *card = strdup(strempty(card_name)), *pcm = strdup(strempty(pcm_name)), *joined = NULL;
        const char *c, *p, *base;

        if (!card || !pcm)
                return NULL;
        c = strstrip(card);
        p = strstrip(pcm);

        if (isempty(p))
                base = isempty(c) ? "Microphone" : c;
        else if (isempty(c) || startswith(p, c))
                base = p;
        else {
                if (asprintf(&joined, "%s: %s", c, p) < 0)
                        return NULL;
                base = joined;
        }
        if (name_shared) {
                char *numbered;

                if (asprintf(&numbered, "%s (%u)", base, device) < 0)
                        return NULL;
                free(joined);
                joined = numbered;
                base = joined;
        }
        return sanitize_label(base);
}

/* ---- hardware ---- */

static void pcm_closep(snd_pcm_t **p) {
        if (*p)
                snd_pcm_close(*p);
}
static void ctl_closep(snd_ctl_t **c) {
        if (*c)
                snd_ctl_close(*c);
}
static void hw_params_freep(snd_pcm_hw_params_t **p) {
        if (*p)
                snd_pcm_hw_params_free(*p);
}
static void sw_params_freep(snd_pcm_sw_params_t **p) {
        if (*p)
                snd_pcm_sw_params_free(*p);
}

static uint64_t now_nsec(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* Open hw:CARD,DEV for capture and check that alsa-lib opened the node udev told us of
 * (reliability 31: alsa-lib opens the path itself, so the check comes after the open). */
static int open_pcm(unsigned card, unsigned device, dev_t devnum, snd_pcm_t **ret) {
        _cleanup_(pcm_closep) snd_pcm_t *pcm = NULL;
        struct pollfd pfd;
        char name[64];
        int r;

        snprintf(name, sizeof(name), "hw:%u,%u", card, device);
        r = snd_pcm_open(&pcm, name, SND_PCM_STREAM_CAPTURE, SND_PCM_NONBLOCK);
        if (r < 0)
                return r;
        /* A hw: PCM polls on its own device fd. */
        if (snd_pcm_poll_descriptors(pcm, &pfd, 1) != 1)
                return -EIO;
        r = udev_check_node_fd(pfd.fd, devnum);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(pcm);
        return 0;
}

typedef struct TestContext {
        snd_pcm_t *pcm;
        snd_pcm_hw_params_t *params;
} TestContext;

static bool test_format(unsigned value, void *userdata) {
        TestContext *t = userdata;
        return snd_pcm_hw_params_test_format(t->pcm, t->params, (snd_pcm_format_t) value) == 0;
}
static bool test_channels(unsigned value, void *userdata) {
        TestContext *t = userdata;
        return snd_pcm_hw_params_test_channels(t->pcm, t->params, value) == 0;
}
static bool test_rate(unsigned value, void *userdata) {
        TestContext *t = userdata;
        return snd_pcm_hw_params_test_rate(t->pcm, t->params, value, 0) == 0;
}

static int probe_capabilities(snd_pcm_t *pcm, AudioCapabilities *caps, snd_pcm_format_t *ret_format) {
        _cleanup_(hw_params_freep) snd_pcm_hw_params_t *params = NULL, *trial = NULL;
        _cleanup_free_ uint32_t *rates = NULL, *channels = NULL;
        TestContext t = { .pcm = pcm };
        snd_pcm_format_t format;
        unsigned rate_min = 0, rate_max = 0, ch_min = 0, ch_max = 0, rate;
        snd_pcm_uframes_t period;
        size_t n_rates = 0, n_channels = 0;
        int dir = 0, r;

        if (snd_pcm_hw_params_malloc(&params) < 0 || snd_pcm_hw_params_malloc(&trial) < 0)
                return -ENOMEM;
        t.params = params;
        r = snd_pcm_hw_params_any(pcm, params);
        if (r < 0)
                return r;
        if (snd_pcm_hw_params_set_access(pcm, params, SND_PCM_ACCESS_RW_INTERLEAVED) < 0)
                return -EOPNOTSUPP;

        format = alsa_choose_format(test_format, &t);
        if (format == SND_PCM_FORMAT_UNKNOWN)
                return -EOPNOTSUPP;
        r = snd_pcm_hw_params_set_format(pcm, params, format);
        if (r < 0)
                return r;

        /* Rates and channel counts are each tested with the other left open. */
        if (snd_pcm_hw_params_get_channels_min(params, &ch_min) < 0 ||
            snd_pcm_hw_params_get_channels_max(params, &ch_max) < 0 ||
            snd_pcm_hw_params_get_rate_min(params, &rate_min, &dir) < 0 ||
            snd_pcm_hw_params_get_rate_max(params, &rate_max, &dir) < 0)
                return -EIO;
        r = alsa_list_channels(ch_min, ch_max, test_channels, &t, &channels, &n_channels);
        if (r < 0)
                return r;
        r = alsa_list_rates(rate_min, rate_max, test_rate, &t, &rates, &n_rates);
        if (r < 0)
                return r;
        if (n_channels == 0 || n_rates == 0)
                return -EOPNOTSUPP;

        /* The latency the daemon will run at: the period it gets near 10 ms, at 48 kHz if
         * the device has it. */
        rate = rates[0];
        for (size_t i = 0; i < n_rates; i++)
                if (rates[i] == 48000)
                        rate = 48000;
        snd_pcm_hw_params_copy(trial, params);
        period = rate / ALSA_PERIODS_PER_SECOND;
        dir = 0;
        if (snd_pcm_hw_params_set_channels(pcm, trial, channels[0]) >= 0 &&
            snd_pcm_hw_params_set_rate(pcm, trial, rate, 0) >= 0 &&
            snd_pcm_hw_params_set_period_size_near(pcm, trial, &period, &dir) >= 0 && period > 0)
                caps->latency = (double) period / rate;
        else
                caps->latency = 1.0 / ALSA_PERIODS_PER_SECOND;

        caps->sample_sizes = calloc(1, sizeof(uint32_t));
        if (!caps->sample_sizes)
                return -ENOMEM;
        caps->sample_sizes[0] = 16; /* delivered S16_LE, whatever the device's format */
        caps->n_sample_sizes = 1;
        caps->sample_rates = TAKE_PTR(rates);
        caps->n_sample_rates = n_rates;
        caps->channel_counts = TAKE_PTR(channels);
        caps->n_channel_counts = n_channels;
        /* A hw: device does none of the processing the constraints name; the daemon does noise
         * suppression and gain control on request (audio-processing.h). Echo cancellation needs
         * the sound being played, which the sound server above us owns: not offered. */
        caps->echo_cancellation = false;
        caps->auto_gain_control = caps->noise_suppression = true;
        *ret_format = format;
        return 0;
}

static void capture_free(AlsaDevice *a) {
        for (size_t i = 0; i < a->n_pfds; i++)
                sd_event_source_disable_unref(a->sources[i]);
        free(a->sources);
        free(a->pfds);
        a->sources = NULL;
        a->pfds = NULL;
        a->n_pfds = 0;
        if (a->pcm) {
                (void) snd_pcm_drop(a->pcm);
                snd_pcm_close(a->pcm);
                a->pcm = NULL;
        }
        free(a->raw);
        free(a->s16);
        a->raw = a->s16 = NULL;
        a->filled = 0;
        a->generation++;
}

static void device_gone(Device *d) {
        log_info("Microphone %s (%s) disappeared while capturing.", d->node, d->label);
        if (d->registry)
                device_registry_remove(d->registry, d);
}

/* After an xrun or a suspend: prepare and start again, losing the partial period (its samples
 * are no longer contiguous with what follows). Not snd_pcm_recover(): on a suspend it sleeps a
 * second at a time waiting for snd_pcm_resume(), on our event loop; a capture loses nothing by
 * being prepared instead of resumed. */
static int recover(Device *d, AlsaDevice *a, int error) {
        uint64_t now = now_nsec();
        int r;

        if (now - a->recovery_window_ns > 1000000000ULL) {
                a->recovery_window_ns = now;
                a->n_recoveries = 0;
        }
        if (++a->n_recoveries > ALSA_RECOVERIES_PER_SECOND_MAX)
                return log_error_errno(EIO, "Microphone %s keeps failing (%s), giving up.", d->node,
                                       snd_strerror(error));

        log_debug("Microphone %s: %s, recovering.", d->node, snd_strerror(error));
        r = snd_pcm_prepare(a->pcm);
        if (r < 0)
                return r;
        a->filled = 0;
        r = snd_pcm_start(a->pcm);
        return r;
}

static void deliver_period(Device *d, AlsaDevice *a) {
        const CaptureFormat *fmt = &d->format;
        size_t samples = (size_t) a->period * fmt->channels;
        const uint8_t *data = a->raw;
        Frame f;

        if (a->s16) {
                if (sample_convert_to_s16(a->sample_format, a->raw, samples, a->s16, &a->dither) < 0)
                        return;
                data = a->s16;
        }
        f = (Frame) {
                .data = data,
                .size = samples * 2,
                .sequence = a->sequence++,
                .timestamp_ns = a->period_start_ns,
                .n_frames = (uint32_t) a->period,
        };
        device_deliver_frame(d, &f);
}

/* Read what the device has, a bounded number of periods, delivering each full one. Returns 1
 * when the consumer stopped or restarted the capture from a delivery, 0 or a negative errno
 * otherwise; *progress says whether anything was read or recovered. */
static int read_periods(Device *d, AlsaDevice *a, uint64_t generation, bool *progress) {
        int r;

        /* Bounded, so that a device that has piled up its whole buffer does not hold the loop;
         * what is left wakes us again at once. */
        for (unsigned round = 0; round < 2 * ALSA_BUFFER_PERIODS; round++) {
                snd_pcm_sframes_t n;

                if (a->filled == 0) {
                        /* The oldest frame waiting was captured avail frames ago. */
                        snd_pcm_sframes_t avail = snd_pcm_avail_update(a->pcm);
                        uint64_t now = now_nsec(), back;

                        back = avail > 0 ? (uint64_t) avail * 1000000000ULL / d->format.sample_rate : 0;
                        a->period_start_ns = now > back ? now - back : now;
                }

                n = snd_pcm_readi(a->pcm, a->raw + a->filled * a->frame_bytes, a->period - a->filled);
                if (n == -EAGAIN)
                        break;
                if (n == -EPIPE || n == -ESTRPIPE) {
                        r = recover(d, a, (int) n);
                        if (r < 0)
                                return r;
                        *progress = true;
                        continue;
                }
                if (n < 0)
                        return (int) n;
                if (n == 0)
                        break;
                *progress = true;
                a->filled += (snd_pcm_uframes_t) n;
                if (a->filled < a->period)
                        continue;

                a->filled = 0;
                deliver_period(d, a);
                if (!d->capturing || a->generation != generation)
                        return 1;
        }
        return 0;
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        _cleanup_(device_unrefp) Device *d = device_ref(userdata);
        AlsaDevice *a = d->backend_data;
        uint64_t generation = a->generation;
        unsigned short pcm_revents = 0;
        bool progress = false;
        int r = 0;

        for (size_t i = 0; i < a->n_pfds; i++)
                a->pfds[i].revents = a->pfds[i].fd == fd ? (short) revents : 0;
        r = snd_pcm_poll_descriptors_revents(a->pcm, a->pfds, (unsigned) a->n_pfds, &pcm_revents);
        if (r < 0)
                goto fail;

        r = read_periods(d, a, generation, &progress);
        if (r < 0)
                goto fail;
        if (r > 0)
                return 0; /* the consumer stopped or restarted the capture from the callback */

        if (!progress && (pcm_revents & (POLLERR | POLLHUP | POLLNVAL))) {
                /* An error that reading did not show: find out what it is rather than be woken
                 * for it again and again. */
                snd_pcm_state_t state = snd_pcm_state(a->pcm);

                if (state == SND_PCM_STATE_DISCONNECTED) {
                        r = -ENODEV;
                        goto fail;
                }
                if (state == SND_PCM_STATE_XRUN || state == SND_PCM_STATE_SUSPENDED) {
                        r = recover(d, a, state == SND_PCM_STATE_XRUN ? -EPIPE : -ESTRPIPE);
                        if (r < 0)
                                goto fail;
                        return 0;
                }
                r = -EIO;
                goto fail;
        }
        return 0;

fail:
        if (r == -ENODEV || snd_pcm_state(a->pcm) == SND_PCM_STATE_DISCONNECTED) {
                device_gone(d);
                return 0;
        }
        log_error_errno(r, "Capture from microphone %s failed: %s", d->node, snd_strerror(r));
        device_report_error(d, r);
        return 0;
}

static bool list_contains(const uint32_t *l, size_t n, uint32_t v) {
        for (size_t i = 0; i < n; i++)
                if (l[i] == v)
                        return true;
        return false;
}

static int configure(Device *d, AlsaDevice *a, const CaptureFormat *fmt) {
        _cleanup_(hw_params_freep) snd_pcm_hw_params_t *hw = NULL;
        _cleanup_(sw_params_freep) snd_pcm_sw_params_t *sw = NULL;
        snd_pcm_uframes_t period = fmt->sample_rate / ALSA_PERIODS_PER_SECOND, buffer;
        int dir = 0, r;

        if (snd_pcm_hw_params_malloc(&hw) < 0 || snd_pcm_sw_params_malloc(&sw) < 0)
                return -ENOMEM;
        if ((r = snd_pcm_hw_params_any(a->pcm, hw)) < 0 ||
            (r = snd_pcm_hw_params_set_rate_resample(a->pcm, hw, 0)) < 0 ||
            (r = snd_pcm_hw_params_set_access(a->pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0 ||
            (r = snd_pcm_hw_params_set_format(a->pcm, hw, a->format)) < 0 ||
            (r = snd_pcm_hw_params_set_channels(a->pcm, hw, fmt->channels)) < 0 ||
            (r = snd_pcm_hw_params_set_rate(a->pcm, hw, fmt->sample_rate, 0)) < 0)
                return log_error_errno(r, "Microphone %s refused %u Hz, %u channels: %s", d->node, fmt->sample_rate,
                                       fmt->channels, snd_strerror(r));
        if ((r = snd_pcm_hw_params_set_period_size_near(a->pcm, hw, &period, &dir)) < 0)
                return log_error_errno(r, "Microphone %s refused a period of %lu frames: %s", d->node, period,
                                       snd_strerror(r));
        buffer = period * ALSA_BUFFER_PERIODS;
        if ((r = snd_pcm_hw_params_set_buffer_size_near(a->pcm, hw, &buffer)) < 0)
                return log_error_errno(r, "Microphone %s refused a buffer of %lu frames: %s", d->node, buffer,
                                       snd_strerror(r));
        r = snd_pcm_hw_params(a->pcm, hw);
        if (r == -EBUSY)
                return r; /* the caller's NotReadableError */
        if (r < 0)
                return log_error_errno(r, "Microphone %s refused its hardware parameters: %s", d->node,
                                       snd_strerror(r));
        if (snd_pcm_hw_params_get_period_size(hw, &period, &dir) < 0 || period == 0)
                return -EIO;
        a->period = period;

        /* Wake up once a period is there; start when we say so. */
        if ((r = snd_pcm_sw_params_current(a->pcm, sw)) < 0 ||
            (r = snd_pcm_sw_params_set_avail_min(a->pcm, sw, period)) < 0 ||
            (r = snd_pcm_sw_params_set_start_threshold(a->pcm, sw, buffer + 1)) < 0 ||
            (r = snd_pcm_sw_params(a->pcm, sw)) < 0)
                return log_error_errno(r, "Failed to set the software parameters of microphone %s: %s", d->node,
                                       snd_strerror(r));
        return 0;
}

/* One period as read, and as converted when the device's format is not S16_LE. */
static int allocate_buffers(AlsaDevice *a, const CaptureFormat *fmt) {
        a->frame_bytes = sample_format_size(a->sample_format) * fmt->channels;
        a->raw = malloc(a->period * a->frame_bytes);
        if (!a->raw)
                return -ENOMEM;
        if (a->format != SND_PCM_FORMAT_S16_LE) {
                a->s16 = malloc(a->period * fmt->channels * 2);
                if (!a->s16)
                        return -ENOMEM;
                /* Seeded from the device: captures are reproducible, devices independent. */
                sample_dither_init(&a->dither, ((uint64_t) a->card << 32) | a->device);
        }
        return 0;
}

/* Watch the PCM's poll descriptors on the event loop; *step says what failed. */
static int watch_poll_descriptors(Device *d, AlsaDevice *a, sd_event *event, const char **step) {
        int n, r;

        *step = "getting its poll descriptors";
        n = snd_pcm_poll_descriptors_count(a->pcm);
        if (n <= 0)
                return n < 0 ? n : -EIO;
        a->pfds = calloc((size_t) n, sizeof(struct pollfd));
        a->sources = calloc((size_t) n, sizeof(sd_event_source *));
        if (!a->pfds || !a->sources)
                return -ENOMEM;
        a->n_pfds = (size_t) n;
        r = snd_pcm_poll_descriptors(a->pcm, a->pfds, (unsigned) n);
        if (r < 0)
                return r;
        *step = "watching its poll descriptors";
        for (size_t i = 0; i < a->n_pfds; i++) {
                /* poll() and epoll share these bit values on Linux; POLLNVAL, which alsa-lib asks
                 * for too, has no epoll counterpart (and sd-event refuses unknown bits). */
                uint32_t events = (uint32_t) a->pfds[i].events & (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLERR | EPOLLHUP);

                r = sd_event_add_io(event, &a->sources[i], a->pfds[i].fd, events, on_io, d);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(a->sources[i], "alsa-capture");
        }
        return 0;
}

static int alsa_start(Device *d, const CaptureFormat *fmt) {
        AlsaDevice *a = d->backend_data;
        sd_event *event = device_registry_get_event(d->registry);
        const char *step = "setting it up";
        int r;

        if (!event)
                return -ENODEV;
        if (!list_contains(d->audio.sample_rates, d->audio.n_sample_rates, fmt->sample_rate) ||
            !list_contains(d->audio.channel_counts, d->audio.n_channel_counts, fmt->channels))
                return -EINVAL;

        capture_free(a);
        a->sequence = 0;
        a->n_recoveries = 0;

        r = open_pcm(a->card, a->device, a->devnum, &a->pcm);
        if (r < 0) {
                if (r == -EBUSY)
                        log_info("Microphone %s (%s) is busy.", d->node, d->label);
                else
                        log_error_errno(r, "Failed to open microphone %s: %s", d->node, snd_strerror(r));
                return r;
        }

        r = configure(d, a, fmt);
        if (r < 0) {
                /* configure() said why, unless it is busy */
                if (r == -EBUSY)
                        log_info("Microphone %s (%s) is busy.", d->node, d->label);
                capture_free(a);
                return r;
        }

        r = allocate_buffers(a, fmt);
        if (r < 0)
                goto fail;
        r = watch_poll_descriptors(d, a, event, &step);
        if (r < 0)
                goto fail;

        step = "starting it";
        r = snd_pcm_start(a->pcm);
        if (r < 0)
                goto fail;

        log_debug("Microphone %s captures %u Hz, %u channels, %s, periods of %lu frames.", d->node,
                  fmt->sample_rate, fmt->channels, snd_pcm_format_name(a->format), a->period);
        return 0;

fail:
        if (r != -EBUSY)
                log_error_errno(r, "Failed to start microphone %s (%s): %s", d->node, step, snd_strerror(r));
        capture_free(a);
        return r;
}

static void alsa_stop(Device *d) {
        AlsaDevice *a = d->backend_data;

        if (a)
                capture_free(a);
}

static void alsa_free(Device *d) {
        AlsaDevice *a = d->backend_data;

        if (!a)
                return;
        capture_free(a);
        free(a);
        d->backend_data = NULL;
}

static const DeviceOps alsa_ops = {
        .start = alsa_start,
        .stop = alsa_stop,
        .free = alsa_free,
};

/* The name of a capture PCM of the card, NULL if the device has no capture stream. */
static const char *capture_pcm_name(snd_ctl_t *ctl, snd_pcm_info_t *info, unsigned device) {
        snd_pcm_info_set_device(info, device);
        snd_pcm_info_set_subdevice(info, 0);
        snd_pcm_info_set_stream(info, SND_PCM_STREAM_CAPTURE);
        if (snd_ctl_pcm_info(ctl, info) < 0)
                return NULL;
        return strempty(snd_pcm_info_get_name(info));
}

/* The card's and the PCM's names from the control interface, and whether another capture PCM
 * of the card has that name too. -EAGAIN while the control device is not registered yet. */
static int read_names(unsigned card, unsigned device, char **ret_card, char **ret_pcm, bool *ret_shared) {
        _cleanup_(ctl_closep) snd_ctl_t *ctl = NULL;
        snd_ctl_card_info_t *card_info = NULL;
        snd_pcm_info_t *pcm_info = NULL;
        _cleanup_free_ char *card_name = NULL, *pcm_name = NULL;
        const char *name;
        bool shared = false;
        char ctl_name[32];
        int other = -1, r;

        snprintf(ctl_name, sizeof(ctl_name), "hw:%u", card);
        r = snd_ctl_open(&ctl, ctl_name, SND_CTL_NONBLOCK);
        if (r < 0)
                return r == -ENOENT || r == -ENODEV ? -EAGAIN : r;

        if (snd_ctl_card_info_malloc(&card_info) < 0 || snd_pcm_info_malloc(&pcm_info) < 0) {
                r = -ENOMEM;
                goto finish;
        }
        r = snd_ctl_card_info(ctl, card_info);
        if (r < 0)
                goto finish;
        card_name = strdup(strempty(snd_ctl_card_info_get_name(card_info)));
        name = capture_pcm_name(ctl, pcm_info, device);
        if (!name) {
                r = -ENODEV;
                goto finish;
        }
        pcm_name = strdup(name);
        if (!card_name || !pcm_name) {
                r = -ENOMEM;
                goto finish;
        }

        /* At most a few dozen PCMs on a card; bounded anyway against a driver that loops. */
        for (unsigned i = 0; i < 256 && snd_ctl_pcm_next_device(ctl, &other) >= 0 && other >= 0; i++) {
                if ((unsigned) other == device)
                        continue;
                name = capture_pcm_name(ctl, pcm_info, (unsigned) other);
                if (name && streq(name, pcm_name))
                        shared = true;
        }

        *ret_card = TAKE_PTR(card_name);
        *ret_pcm = TAKE_PTR(pcm_name);
        *ret_shared = shared;
        r = 0;
finish:
        snd_ctl_card_info_free(card_info);
        snd_pcm_info_free(pcm_info);
        return r;
}

/* The ids, node and label of a new device: the card's identity and group from udev, the label
 * from the card's and the PCM's names. */
static int set_identity(Device *d, sd_device *card_dev, const char *devname, unsigned device,
                        const char *card_name, const char *pcm_name, bool name_shared) {
        _cleanup_free_ char *identity = NULL, *group = NULL;
        int r;

        r = udev_device_identity(card_dev, &identity);
        if (r < 0)
                return r;
        if (asprintf(&d->hardware_id, "alsa:%s:%u", identity, device) < 0) {
                d->hardware_id = NULL;
                return -ENOMEM;
        }
        r = udev_device_group(card_dev, &group);
        if (r < 0)
                return r;
        d->group_hardware_id = TAKE_PTR(group);
        d->node = strdup(devname);
        d->facing_mode = strdup("");
        d->label = alsa_make_label(card_name, pcm_name, device, name_shared);
        if (!d->node || !d->facing_mode || !d->label)
                return -ENOMEM;
        return 0;
}

int alsa_device_new(sd_device *dev, Device **ret) {
        _cleanup_(device_unrefp) Device *d = NULL;
        _cleanup_(pcm_closep) snd_pcm_t *pcm = NULL;
        _cleanup_free_ char *card_name = NULL, *pcm_name = NULL;
        AudioCapabilities caps = {};
        const char *syspath, *sysname, *devname;
        snd_pcm_format_t format = SND_PCM_FORMAT_UNKNOWN;
        sd_device *card_dev;
        unsigned card, device;
        bool capture, name_shared = false;
        AlsaDevice *a;
        dev_t devnum;
        int r;

        if (!dev || !ret)
                return -EINVAL;

        r = sd_device_get_sysname(dev, &sysname);
        if (r < 0)
                return r;
        if (alsa_parse_pcm_sysname(sysname, &card, &device, &capture) < 0 || !capture)
                return -EOPNOTSUPP;
        r = sd_device_get_syspath(dev, &syspath);
        if (r < 0)
                return r;
        r = sd_device_get_devname(dev, &devname);
        if (r < 0)
                return r;
        r = sd_device_get_devnum(dev, &devnum);
        if (r < 0)
                return r;
        /* udev keeps ID_PATH and ID_SERIAL on the card, the PCM's parent. */
        r = sd_device_get_parent(dev, &card_dev);
        if (r < 0)
                return r;

        r = read_names(card, device, &card_name, &pcm_name, &name_shared);
        if (r < 0)
                return r;

        r = open_pcm(card, device, devnum, &pcm);
        if (r < 0)
                return r;
        r = probe_capabilities(pcm, &caps, &format);
        if (r < 0) {
                if (r == -EOPNOTSUPP)
                        log_info("Microphone %s has no S16_LE, S32_LE or S24 capture, or no rate, ignored.", devname);
                return r;
        }

        d = device_new(DEVICE_KIND_AUDIO, ALSA_BACKEND, syspath, &alsa_ops);
        if (!d) {
                free(caps.sample_rates);
                free(caps.channel_counts);
                free(caps.sample_sizes);
                return -ENOMEM;
        }
        d->audio = caps;
        a = calloc(1, sizeof(AlsaDevice));
        if (!a)
                return -ENOMEM;
        d->backend_data = a;
        a->card = card;
        a->device = device;
        a->devnum = devnum;
        a->format = format;
        a->sample_format = alsa_sample_format(format);

        r = set_identity(d, card_dev, devname, device, card_name, pcm_name, name_shared);
        if (r < 0)
                return r;

        log_debug("Microphone %s: \"%s\", %s, %zu rates, %zu channel counts, id %s.", devname, d->label,
                  snd_pcm_format_name(format), caps.n_sample_rates, caps.n_channel_counts, d->hardware_id);
        *ret = TAKE_PTR(d);
        return 0;
}
