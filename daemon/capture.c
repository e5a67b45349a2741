/* The capture fan-out: one running capture per device, the mode that covers every sink, the
 * stream groups of the device (one pool per output format), each frame written once per group,
 * and the release of idle devices. */
#include "capture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "audio-processing-set.h"
#include "log.h"
#include "mediagate-names.h"
#include "mediagate-wire.h"
#include "stream-group.h"
#include "util.h"

typedef struct Capture Capture;

struct CaptureSink {
        Capture *capture;
        CaptureSink *next;
        CaptureSinkRequest req;
        Stream *stream;  /* not owned */
        ScalePlan *plan; /* video, version 1: from the running mode to this sink's size */
        bool active;
};

struct Capture {
        Capture *next;
        Device *device;
        sd_event *event;

        CaptureSink *sinks;
        size_t n_sinks;

        /* Version-2 video streams, one group per output format: each frame is scaled and
         * written once per group. Version-1 streams are served sink by sink. */
        StreamGroup **groups;
        size_t n_groups;
        /* Audio: the processing the sinks asked for, once per combination of settings. */
        AudioProcessingSet *processing;

        /* The mode the device runs in, or resumes in after a release. */
        CaptureFormat format;
        bool running;       /* we started the device and have not seen it stop */
        bool failed;        /* it stopped on an error: no automatic restart */
        bool live_reported; /* what the live handler was last told */

        sd_event_source *release_timer;
        sd_event_source *error_event;
        int pending_error;
};

static Capture *captures;
static capture_event_handler_t event_handler;
static void *event_userdata;
static capture_live_handler_t live_handler;
static void *live_userdata;
static uint64_t release_delay_usec = CAPTURE_RELEASE_DELAY_USEC;

void capture_set_event_handler(capture_event_handler_t cb, void *userdata) {
        event_handler = cb;
        event_userdata = userdata;
}

void capture_set_live_handler(capture_live_handler_t cb, void *userdata) {
        live_handler = cb;
        live_userdata = userdata;
}

void capture_set_release_delay(uint64_t usec) {
        release_delay_usec = usec;
}

static Capture *capture_find(Device *d) {
        for (Capture *c = captures; c; c = c->next)
                if (c->device == d)
                        return c;
        return NULL;
}

/* The device may also have stopped behind our back: an unplug stops it without an event. */
static bool capture_running(Capture *c) {
        return c->running && c->device->capturing;
}

static bool any_sink_active(Capture *c) {
        for (CaptureSink *s = c->sinks; s; s = s->next)
                if (s->active)
                        return true;
        return false;
}

static void log_capture(Capture *c, bool started) {
        char device_field[256], format_field[128];
        char *fields[] = { device_field, format_field, NULL };
        const CaptureFormat *f = &c->format;

        snprintf(device_field, sizeof(device_field), "MEDIAGATE_DEVICE=%s", c->device->name);
        if (f->kind == DEVICE_KIND_VIDEO)
                snprintf(format_field, sizeof(format_field), "MEDIAGATE_FORMAT=%ux%u@%g", f->width, f->height,
                         f->frame_rate);
        else
                snprintf(format_field, sizeof(format_field), "MEDIAGATE_FORMAT=%u Hz %u ch", f->sample_rate,
                         f->channels);

        log_struct_internal(LOG_INFO, 0, started ? MG_MESSAGE_CAPTURE_STARTED : MG_MESSAGE_CAPTURE_STOPPED, fields,
                            "Capture on %s %s (%s).", c->device->name, started ? "started" : "stopped",
                            format_field + strlen("MEDIAGATE_FORMAT="));
}

static void update_live(Capture *c) {
        bool live = capture_running(c);

        if (live == c->live_reported)
                return;
        c->live_reported = live;
        log_capture(c, live);
        if (live_handler)
                live_handler(c->device, live, live_userdata);
}

static int on_error_event(sd_event_source *source, void *userdata) {
        Capture *c = userdata;
        Device *d = device_ref(c->device);
        int error = c->pending_error;

        c->pending_error = 0;
        /* The handler ends the tracks, which may free every sink and this capture with them. */
        if (event_handler)
                event_handler(d, error, event_userdata);
        device_unref(d);
        return 0;
}

/* Tell the owner from the event loop, so that it may free sinks, whatever called us. */
static void schedule_error(Capture *c, int error) {
        int r;

        c->failed = true;
        if (c->pending_error != 0)
                return; /* already on its way */
        c->pending_error = error < 0 ? error : -EIO;

        if (!c->error_event) {
                r = sd_event_add_defer(c->event, &c->error_event, on_error_event, c);
                if (r < 0) {
                        log_error_errno(r, "Failed to report the failure of %s: %m", c->device->name);
                        return;
                }
                (void) sd_event_source_set_description(c->error_event, "capture-error");
        }
        (void) sd_event_source_set_enabled(c->error_event, SD_EVENT_ONESHOT);
}

static void sink_update_plan(CaptureSink *s, uint32_t src_fourcc, uint32_t src_w, uint32_t src_h,
                             uint32_t src_stride);

/* Groups whose last stream left go (never from inside a push: only between frames). */
static void capture_prune_groups(Capture *c) {
        size_t n = 0;

        for (size_t i = 0; i < c->n_groups; i++) {
                if (stream_group_is_empty(c->groups[i]))
                        stream_group_free(c->groups[i]);
                else
                        c->groups[n++] = c->groups[i];
        }
        c->n_groups = n;
}

static void on_frame(Device *d, const Frame *f, void *userdata) {
        Capture *c = userdata;

        /* This is the place for a stage that works on the device's frames once, whatever the
         * streams: audio processing runs once per combination of settings in use (MJPEG is
         * decoded before on_frame, on the decoding thread). Everything below reads f. Streams
         * never call back from a push, so the lists stay as they are while we walk them. */
        if (d->kind == DEVICE_KIND_AUDIO)
                audio_processing_set_process(c->processing, f, c->format.sample_rate, c->format.channels);
        for (size_t i = 0; i < c->n_groups; i++)
                stream_group_push_video(c->groups[i], f, NULL);

        for (CaptureSink *s = c->sinks; s; s = s->next) {
                const Frame *processed;

                if (!s->stream || stream_is_shared(s->stream))
                        continue;
                if (d->kind == DEVICE_KIND_VIDEO) {
                        sink_update_plan(s, f->fourcc, f->width, f->height, f->stride);
                        stream_push_video(s->stream, f, s->plan);
                } else if ((processed = audio_processing_set_output(c->processing, &s->req.processing, f)))
                        stream_push_audio(s->stream, processed, c->format.channels);
        }
}

/* A group whose frames are the capture's own format can have them captured straight into its
 * pool: it lends a slot. */
static StreamGroup *capture_identity_group(Capture *c) {
        for (size_t i = 0; i < c->n_groups; i++) {
                StreamConfig cfg;

                stream_group_get_config(c->groups[i], &cfg);
                if (cfg.fourcc == c->format.fourcc && cfg.width == c->format.width && cfg.height == c->format.height)
                        return c->groups[i];
        }
        return NULL;
}

/* A stream left a group that lent slots to the device: the device gives them all back now. */
static void on_group_return_lent(void *userdata) {
        Capture *c = userdata;

        device_return_lent(c->device);
}

static bool on_lend(Device *d, size_t size, DeviceBuffer *ret, void *userdata) {
        Capture *c = userdata;
        StreamGroup *g;

        if (d->kind != DEVICE_KIND_VIDEO)
                return false;
        capture_prune_groups(c);
        g = capture_identity_group(c);
        if (!g || !stream_group_lend(g, ret))
                return false;
        if (ret->size < size) {
                stream_group_unlend(g, ret);
                return false;
        }
        stream_group_set_return_lent(g, on_group_return_lent, c);
        return true;
}

static void on_unlend(Device *d, const DeviceBuffer *b, void *userdata) {
        stream_group_unlend(b->owner, b);
}

static void on_device_event(Device *d, DeviceEvent ev, int error, void *userdata) {
        Capture *c = userdata;

        if (ev != DEVICE_EVENT_ERROR)
                return;
        /* The device has stopped itself already. */
        log_warning_errno(error, "Capture on %s failed: %m", d->name);
        c->running = false;
        update_live(c);
        schedule_error(c, error);
}

static const DeviceConsumer capture_consumer_template = {
        .frame = on_frame,
        .event = on_device_event,
        .lend = on_lend,
        .unlend = on_unlend,
};

static uint32_t default_stride(uint32_t fourcc, uint32_t width) {
        return fourcc == PIXEL_FORMAT_YUYV ? width * 2 : width;
}

/* The plan from the source geometry to the sink's size, in the attached stream's fourcc (a
 * stream keeps the fourcc it was opened with). Rebuilt only when something changed: the first
 * frame of a driver with padded rows, a restart in another mode, ApplyConstraints. */
static void sink_update_plan(CaptureSink *s, uint32_t src_fourcc, uint32_t src_w, uint32_t src_h,
                             uint32_t src_stride) {
        StreamConfig cfg;
        int r;

        /* A shared stream's frames are scaled by its group. */
        if (!s->stream || stream_is_shared(s->stream)) {
                s->plan = scale_plan_free(s->plan);
                return;
        }
        stream_get_config(s->stream, &cfg);

        if (s->plan && scale_plan_matches_source(s->plan, src_fourcc, src_w, src_h, src_stride) &&
            scale_plan_fourcc(s->plan) == cfg.fourcc && scale_plan_dst_width(s->plan) == s->req.width &&
            scale_plan_dst_height(s->plan) == s->req.height)
                return;

        s->plan = scale_plan_free(s->plan);
        r = scale_plan_new_convert(src_fourcc, src_w, src_h, src_stride, cfg.fourcc, s->req.width, s->req.height,
                                   &s->plan);
        if (r < 0)
                /* The stream falls back to a plan of its own, or drops what it cannot fit. */
                log_debug_errno(r, "No scale plan from %ux%u to %ux%u: %m", src_w, src_h, s->req.width,
                                s->req.height);
}

static void capture_rebuild_plans(Capture *c) {
        if (c->device->kind != DEVICE_KIND_VIDEO)
                return;
        for (CaptureSink *s = c->sinks; s; s = s->next)
                sink_update_plan(s, c->format.fourcc, c->format.width, c->format.height,
                                 default_stride(c->format.fourcc, c->format.width));
}

static bool format_equal(const CaptureFormat *a, const CaptureFormat *b) {
        if (a->kind != b->kind)
                return false;
        if (a->kind == DEVICE_KIND_VIDEO)
                return a->width == b->width && a->height == b->height && a->fourcc == b->fourcc &&
                       a->frame_rate == b->frame_rate;
        return a->sample_rate == b->sample_rate && a->channels == b->channels;
}

static int capture_start_device(Capture *c, const CaptureFormat *fmt) {
        DeviceConsumer consumer = capture_consumer_template;

        consumer.userdata = c;
        return device_start(c->device, fmt, &consumer);
}

/* Bring the device into fmt. If it runs, restart it (if that fails, go back to the old mode, and
 * if even that fails the sinks lose their device: the owner hears of it). If it is released,
 * only remember fmt, unless need_running. */
static int capture_ensure(Capture *c, const CaptureFormat *fmt, bool need_running) {
        bool was_running = capture_running(c);
        CaptureFormat old = c->format;
        int r;

        if (was_running && format_equal(&c->format, fmt))
                return 0;
        if (!was_running && !need_running) {
                c->format = *fmt;
                capture_rebuild_plans(c);
                return 0;
        }

        if (was_running) {
                log_info("Restarting capture on %s in another mode to serve every track.", c->device->name);
                device_stop(c->device);
                c->running = false;
        }

        r = capture_start_device(c, fmt);
        if (r < 0) {
                log_info_errno(r, "Failed to start capture on %s: %m", c->device->name);
                if (was_running) {
                        int k = capture_start_device(c, &old);

                        if (k >= 0)
                                c->running = true;
                        else
                                schedule_error(c, k);
                }
                update_live(c);
                return r;
        }

        c->running = true;
        c->failed = false;
        c->format = *fmt;
        capture_rebuild_plans(c);
        update_live(c);
        return 0;
}

static void capture_disarm_release(Capture *c) {
        if (c->release_timer)
                (void) sd_event_source_set_enabled(c->release_timer, SD_EVENT_OFF);
}

static int on_release_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Capture *c = userdata;

        if (any_sink_active(c) || !capture_running(c))
                return 0;
        log_debug("No active track on %s: releasing the device.", c->device->name);
        device_stop(c->device);
        c->running = false;
        update_live(c);
        return 0;
}

static void capture_arm_release(Capture *c) {
        uint64_t now;
        int r;

        if (c->release_timer) {
                int enabled = SD_EVENT_OFF;

                (void) sd_event_source_get_enabled(c->release_timer, &enabled);
                if (enabled != SD_EVENT_OFF)
                        return; /* already counting down: a second toggle does not extend it */
        }

        r = sd_event_now(c->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                now = now_usec(CLOCK_MONOTONIC);

        if (!c->release_timer) {
                /* 10 ms of slack: the default quarter second would eat into the 3 s promise. */
                r = sd_event_add_time(c->event, &c->release_timer, CLOCK_MONOTONIC, now + release_delay_usec,
                                      10 * 1000, on_release_timer, c);
                if (r < 0)
                        goto fail;
                (void) sd_event_source_set_description(c->release_timer, "capture-release");
        } else {
                r = sd_event_source_set_time(c->release_timer, now + release_delay_usec);
                if (r < 0)
                        goto fail;
        }
        r = sd_event_source_set_enabled(c->release_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                goto fail;
        return;

fail:
        /* Without a timer, release at once rather than keep the light on. */
        log_warning_errno(r, "Failed to schedule the release of %s, releasing now: %m", c->device->name);
        device_stop(c->device);
        c->running = false;
        update_live(c);
}

/* After any change of activity: keep the device running while a sink is active, release it
 * after the delay when none is, start it again when one becomes active. */
static void capture_update_activity(Capture *c) {
        int r;

        if (!any_sink_active(c)) {
                if (capture_running(c))
                        capture_arm_release(c);
                return;
        }

        capture_disarm_release(c);
        if (capture_running(c) || c->failed)
                return;

        r = capture_start_device(c, &c->format);
        if (r < 0) {
                log_warning_errno(r, "Failed to reacquire %s: %m", c->device->name);
                schedule_error(c, r);
                return;
        }
        c->running = true;
        update_live(c);
}

static Capture *capture_free(Capture *c) {
        Capture **p;

        if (!c)
                return NULL;
        for (p = &captures; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }

        if (c->running)
                device_stop(c->device);
        c->running = false;
        update_live(c);

        /* Every sink is gone, and its stream out of the groups with it. */
        capture_prune_groups(c);
        if (c->n_groups > 0)
                log_error("Capture on %s ends with %zu stream groups still in use.", c->device->name, c->n_groups);
        free(c->groups);
        audio_processing_set_free(c->processing);
        sd_event_source_disable_unref(c->release_timer);
        sd_event_source_disable_unref(c->error_event);
        sd_event_unref(c->event);
        device_unref(c->device);
        free(c);
        return NULL;
}

static int capture_new(Device *d, Capture **ret) {
        sd_event *event;
        Capture *c;

        /* A removed device has no registry: there is nothing to open. */
        event = d->registry ? device_registry_get_event(d->registry) : NULL;
        if (!event)
                return -ENODEV;

        c = calloc(1, sizeof(Capture));
        if (!c)
                return -ENOMEM;
        if (d->kind == DEVICE_KIND_AUDIO && audio_processing_set_new(&c->processing) < 0) {
                free(c);
                return -ENOMEM;
        }
        c->device = device_ref(d);
        c->event = sd_event_ref(event);
        c->next = captures;
        captures = c;
        *ret = c;
        return 0;
}

static bool video_mode_covers(const VideoMode *m, const CaptureSinkRequest *r) {
        /* Frame rates are doubles from the constraint engine; a hair of tolerance. */
        return m->width >= r->width && m->height >= r->height && m->frame_rate + 1e-6 >= r->frame_rate;
}

static bool format_covers(const CaptureFormat *f, const CaptureSinkRequest *r) {
        if (f->kind == DEVICE_KIND_VIDEO) {
                VideoMode m = { .width = f->width, .height = f->height, .frame_rate = f->frame_rate };

                return video_mode_covers(&m, r);
        }
        return f->sample_rate == r->sample_rate && f->channels >= r->channels;
}

static bool list_contains(const uint32_t *l, size_t n, uint32_t v) {
        for (size_t i = 0; i < n; i++)
                if (l[i] == v)
                        return true;
        return false;
}

/* Something the device cannot produce at all is the caller's mistake, not a conflict. */
static int validate_request(Device *d, const CaptureSinkRequest *req) {
        if (d->kind == DEVICE_KIND_VIDEO) {
                if (req->mode >= d->n_modes || req->width == 0 || req->height == 0 ||
                    !(req->frame_rate > 0) || !video_mode_covers(&d->modes[req->mode], req))
                        return -EINVAL;
                return 0;
        }

        if (req->sample_rate == 0 || req->channels == 0)
                return -EINVAL;
        if (d->audio.n_sample_rates > 0 &&
            !list_contains(d->audio.sample_rates, d->audio.n_sample_rates, req->sample_rate))
                return -EINVAL;
        if (d->audio.n_channel_counts > 0 &&
            !list_contains(d->audio.channel_counts, d->audio.n_channel_counts, req->channels))
                return -EINVAL;
        return 0;
}

static CaptureFormat format_from_mode(const VideoMode *m) {
        return (CaptureFormat) {
                .kind = DEVICE_KIND_VIDEO,
                .width = m->width,
                .height = m->height,
                .fourcc = m->fourcc,
                .frame_rate = m->frame_rate,
        };
}

/* The format that serves every sink but `skip`, plus req (which replaces skip's request): the
 * current one if it covers them, else for a camera the first native mode in the device's order
 * that covers all, for a microphone the common rate at the largest channel count. -EBUSY if
 * there is none. */
static int capture_choose_format(Capture *c, const CaptureSink *skip, const CaptureSinkRequest *req,
                                 CaptureFormat *ret) {
        Device *d = c->device;
        size_t others = c->n_sinks - (skip ? 1 : 0);

        if (others == 0) {
                /* Alone on the device: exactly what the constraint engine picked. */
                if (d->kind == DEVICE_KIND_VIDEO)
                        *ret = format_from_mode(&d->modes[req->mode]);
                else
                        *ret = (CaptureFormat) { .kind = DEVICE_KIND_AUDIO, .sample_rate = req->sample_rate,
                                                 .channels = req->channels };
                return 0;
        }

        if (format_covers(&c->format, req)) {
                *ret = c->format;
                return 0;
        }

        if (d->kind == DEVICE_KIND_VIDEO) {
                for (size_t i = 0; i < d->n_modes; i++) {
                        bool ok = video_mode_covers(&d->modes[i], req);

                        for (CaptureSink *s = c->sinks; ok && s; s = s->next)
                                if (s != skip && !video_mode_covers(&d->modes[i], &s->req))
                                        ok = false;
                        if (ok) {
                                *ret = format_from_mode(&d->modes[i]);
                                return 0;
                        }
                }
                return -EBUSY;
        }

        /* One rate for everybody; channels: the most any sink wants, downmixed per stream. */
        if (req->sample_rate != c->format.sample_rate)
                return -EBUSY;
        *ret = c->format;
        ret->channels = MAX(c->format.channels, req->channels);
        return 0;
}

int capture_sink_new(Device *d, const CaptureSinkRequest *req, CaptureSink **ret) {
        _cleanup_free_ CaptureSink *s = NULL;
        CaptureFormat fmt;
        Capture *c;
        bool created = false;
        int r;

        if (!d || !req || !ret)
                return -EINVAL;
        r = validate_request(d, req);
        if (r < 0)
                return r;

        c = capture_find(d);
        if (!c) {
                r = capture_new(d, &c);
                if (r < 0)
                        return r;
                created = true;
        }

        r = capture_choose_format(c, NULL, req, &fmt);
        if (r < 0)
                goto fail;

        s = calloc(1, sizeof(CaptureSink));
        if (!s) {
                r = -ENOMEM;
                goto fail;
        }
        s->capture = c;
        s->req = *req;
        s->active = true;

        /* A new sink is active: the device must run (again, if it was released), in a mode
         * that covers everybody. */
        r = capture_ensure(c, &fmt, true);
        if (r < 0)
                goto fail;

        s->next = c->sinks;
        c->sinks = s;
        c->n_sinks++;
        audio_processing_set_add_user(c->processing, &req->processing);
        capture_disarm_release(c);
        *ret = TAKE_PTR(s);
        return 0;

fail:
        if (created)
                capture_free(c);
        return r;
}

CaptureSink *capture_sink_free(CaptureSink *s) {
        Capture *c;

        if (!s)
                return NULL;
        c = s->capture;

        for (CaptureSink **p = &c->sinks; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        c->n_sinks--;
                        break;
                }
        audio_processing_set_remove_user(c->processing, &s->req.processing);
        scale_plan_free(s->plan);
        /* A shared stream leaves its group now: no frame of the device reaches it again. */
        if (s->stream && stream_is_shared(s->stream))
                stream_detach(s->stream);
        free(s);
        capture_prune_groups(c);

        if (c->n_sinks == 0)
                capture_free(c);
        else
                capture_update_activity(c);
        return NULL;
}

void capture_sink_set_stream(CaptureSink *s, Stream *stream) {
        Capture *c;

        if (!s)
                return;
        c = s->capture;
        if (s->stream && s->stream != stream && stream_is_shared(s->stream))
                stream_detach(s->stream);
        s->stream = stream;
        capture_prune_groups(c);
        if (c->device->kind == DEVICE_KIND_VIDEO)
                sink_update_plan(s, c->format.fourcc, c->format.width, c->format.height,
                                 default_stride(c->format.fourcc, c->format.width));
}

void capture_sink_set_active(CaptureSink *s, bool active) {
        if (!s || s->active == active)
                return;
        s->active = active;
        capture_update_activity(s->capture);
}

int capture_sink_reconfigure(CaptureSink *s, const CaptureSinkRequest *req) {
        CaptureFormat fmt;
        Capture *c;
        int r;

        if (!s || !req)
                return -EINVAL;
        c = s->capture;
        r = validate_request(c->device, req);
        if (r < 0)
                return r;

        r = capture_choose_format(c, s, req, &fmt);
        if (r < 0)
                return r;
        /* A released device only remembers the new mode; it starts in it when a sink is active. */
        r = capture_ensure(c, &fmt, any_sink_active(c));
        if (r < 0)
                return r;

        audio_processing_set_remove_user(c->processing, &s->req.processing);
        audio_processing_set_add_user(c->processing, &req->processing);
        s->req = *req;
        if (c->device->kind == DEVICE_KIND_VIDEO)
                sink_update_plan(s, c->format.fourcc, c->format.width, c->format.height,
                                 default_stride(c->format.fourcc, c->format.width));
        return 0;
}

bool capture_device_is_live(Device *d) {
        Capture *c = capture_find(d);

        return c && capture_running(c);
}

bool capture_get_format(Device *d, CaptureFormat *ret) {
        Capture *c = capture_find(d);

        if (!c)
                return false;
        if (ret)
                *ret = c->format;
        return true;
}

static StreamGroup *capture_find_group(Capture *c, const StreamConfig *cfg) {
        for (size_t i = 0; i < c->n_groups; i++)
                if (stream_group_matches(c->groups[i], cfg))
                        return c->groups[i];
        return NULL;
}

/* The group for version-2 video streams of cfg, made if there is none. */
static int capture_get_group(Capture *c, const StreamConfig *cfg, StreamGroup **ret) {
        _cleanup_free_ StreamGroup **grown = NULL;
        StreamGroup *g = capture_find_group(c, cfg);
        int r;

        if (g) {
                *ret = g;
                return 0;
        }
        grown = realloc(c->groups, (c->n_groups + 1) * sizeof(StreamGroup *));
        if (!grown)
                return -ENOMEM;
        c->groups = TAKE_PTR(grown);
        r = stream_group_new(c->event, cfg, &g);
        if (r < 0)
                return r;
        c->groups[c->n_groups++] = g;
        *ret = g;
        return 0;
}

static bool stream_wants_group(const StreamConfig *cfg, unsigned version) {
        return version >= MG_WIRE_VERSION_2 && cfg->kind == DEVICE_KIND_VIDEO;
}

int capture_sink_open_stream(CaptureSink *s, const StreamConfig *cfg, unsigned version, Stream **ret,
                             int *ret_control_fd, int *ret_pool_fd) {
        StreamGroup *g;
        Stream *stream;
        int r;

        if (!s || !cfg || !ret)
                return -EINVAL;
        if (!stream_wants_group(cfg, version)) {
                r = stream_new_version(s->capture->event, cfg, version, &stream, ret_control_fd, ret_pool_fd);
                if (r < 0)
                        return r;
                capture_sink_set_stream(s, stream);
                *ret = stream;
                return 0;
        }

        r = capture_get_group(s->capture, cfg, &g);
        if (r < 0)
                return r;
        r = stream_new_in_group(g, cfg, &stream, ret_control_fd, ret_pool_fd);
        if (r < 0) {
                capture_prune_groups(s->capture);
                return r;
        }
        capture_sink_set_stream(s, stream);
        *ret = stream;
        return 0;
}

int capture_sink_set_stream_format(CaptureSink *s, const StreamConfig *cfg) {
        StreamGroup *g;
        int r;

        if (!s || !s->stream || !cfg)
                return -EINVAL;
        if (!stream_is_shared(s->stream))
                return stream_set_format(s->stream, cfg);

        r = capture_get_group(s->capture, cfg, &g);
        if (r < 0)
                return r;
        r = stream_move_to_group(s->stream, g);
        capture_prune_groups(s->capture);
        return r;
}

size_t capture_sink_stream_charge(CaptureSink *s, const StreamConfig *cfg, unsigned version,
                                  const void *const *groups_in_use, size_t n_in_use) {
        StreamGroup *g;

        if (!s || !cfg)
                return 0;
        if (!stream_wants_group(cfg, version))
                return stream_group_estimate_charge(cfg, false);
        g = capture_find_group(s->capture, cfg);
        for (size_t i = 0; g && i < n_in_use; i++)
                if (groups_in_use[i] == g)
                        return 0; /* already counted for this user */
        return stream_group_estimate_charge(cfg, true);
}
