/* org.mediagate.MediaGate1.Track: every track is served from the Manager's table through one
 * fallback vtable; only the owning connection may see or call it. Signals go to the owner
 * alone, so that a listener on the bus learns nothing about other clients' tracks. */
#include "track.h"

#include "bus-util.h"
#include "caller.h"
#include "capture.h"
#include "constraints-bus.h"
#include "constraints-select.h"
#include "log.h"
#include "mediagate-names.h"
#include "stream.h"
#include "util.h"

static int track_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                      void **ret_found, sd_bus_error *error) {
        Manager *m = userdata;
        sd_bus_message *message = sd_bus_get_current_message(bus);
        Track *t = hashmap_get(m->tracks, path);

        if (!t)
                return 0;
        if (!message || !streq_ptr(sd_bus_message_get_sender(message), t->owner))
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "The track belongs to another connection.");
        *ret_found = t;
        return 1;
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface,
                               const char *property, sd_bus_message *reply, void *userdata,
                               sd_bus_error *error) {
        Track *t = userdata;
        const char *v;

        if (streq(property, "Kind"))
                v = device_kind_to_track_kind(t->kind);
        else if (streq(property, "DeviceId"))
                v = t->device_id;
        else if (streq(property, "Label"))
                v = t->device->label;
        else if (streq(property, "GroupId"))
                v = t->group_id;
        else /* ReadyState */
                v = t->ended ? "ended" : "live";
        return sd_bus_message_append(reply, "s", strempty(v));
}

static int property_get_settings(sd_bus *bus, const char *path, const char *interface,
                                 const char *property, sd_bus_message *reply, void *userdata,
                                 sd_bus_error *error) {
        Track *t = userdata;
        ConstraintCandidate cand = track_candidate(t);

        return selected_settings_append(reply, &t->settings, &cand);
}

static int property_get_capabilities(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply, void *userdata,
                                     sd_bus_error *error) {
        Track *t = userdata;
        ConstraintCandidate cand = track_candidate(t);

        return device_capabilities_append(reply, &cand);
}

static int property_get_constraints(sd_bus *bus, const char *path, const char *interface,
                                    const char *property, sd_bus_message *reply, void *userdata,
                                    sd_bus_error *error) {
        Track *t = userdata;

        return track_constraints_append(reply, t->constraints);
}

static int property_get_bool(sd_bus *bus, const char *path, const char *interface,
                             const char *property, sd_bus_message *reply, void *userdata,
                             sd_bus_error *error) {
        Track *t = userdata;

        if (streq(property, "Enabled"))
                return sd_bus_message_append(reply, "b", t->enabled);
        return sd_bus_message_append(reply, "b", track_is_muted(t));
}

/* The stream configuration for the track's current settings. Slots are sized for the largest
 * frame the device can give, so that ApplyConstraints never needs a new pool. */
static int stream_config_for(Track *t, StreamConfig *ret) {
        const Device *d = t->device;
        StreamConfig cfg = { .kind = t->kind };
        size_t largest = 0;
        int r;

        if (t->kind == DEVICE_KIND_VIDEO) {
                const VideoMode *native = &d->modes[t->settings.mode];

                for (size_t i = 0; i < d->n_modes; i++) {
                        StreamConfig probe = { .kind = DEVICE_KIND_VIDEO, .width = d->modes[i].width,
                                               .height = d->modes[i].height, .fourcc = d->modes[i].fourcc };
                        size_t size;

                        r = stream_config_frame_size(&probe, NULL, &size);
                        if (r < 0)
                                return r;
                        largest = MAX(largest, size);
                }
                cfg.width = t->settings.width;
                cfg.height = t->settings.height;
                cfg.fourcc = native->fourcc;
                cfg.frame_rate = t->settings.frame_rate;
                cfg.n_slots = 4;
        } else {
                uint32_t max_channels = 1;

                for (size_t i = 0; i < d->audio.n_channel_counts; i++)
                        max_channels = MAX(max_channels, d->audio.channel_counts[i]);
                cfg.sample_rate = t->settings.sample_rate;
                cfg.channels = t->settings.channel_count;
                /* 100 ms a slot: a client that reads late still gets whole periods. */
                cfg.frames_per_slot = MAX(1u, cfg.sample_rate / 10);
                largest = (size_t) cfg.frames_per_slot * max_channels * 2;
                cfg.n_slots = 8;
        }
        cfg.slot_size = largest;
        *ret = cfg;
        return 0;
}

static void on_stream_closed(Stream *s, void *userdata) {
        Track *t = userdata;

        /* The client closed its control socket: the track stays live, it may Open() again. */
        if (t->stream != s)
                return;
        capture_sink_set_stream(t->sink, NULL);
        t->stream = stream_free(t->stream);
}

static int append_format(sd_bus_message *reply, const StreamFormat *f) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        if (f->kind == DEVICE_KIND_VIDEO) {
                char fourcc[5] = { f->fourcc & 0xff, (f->fourcc >> 8) & 0xff, (f->fourcc >> 16) & 0xff,
                                   (f->fourcc >> 24) & 0xff, 0 };

                r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}{sv}", "fourcc", "s", fourcc, "width",
                                          "u", f->width, "height", "u", f->height, "stride", "u", f->stride,
                                          "frame_size", "u", f->frame_size);
        } else
                r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}", "sample_format", "s", "S16_LE", "rate",
                                          "u", f->rate, "channels", "u", f->channels, "frames_per_slot", "u",
                                          f->frames_per_slot);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}{sv}", "slots", "u", f->slots, "slot_size", "u", f->slot_size);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int method_open(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_close_ int control_fd = -1, pool_fd = -1;
        _cleanup_(stream_freep) Stream *stream = NULL;
        Track *t = userdata;
        StreamConfig cfg;
        StreamFormat format;
        int r;

        if (t->ended)
                return sd_bus_error_set(error, MG_ERROR_ABORT, "The track has ended.");
        if (t->stream && stream_is_open(t->stream))
                return sd_bus_error_set(error, MG_ERROR_LIMITS_EXCEEDED, "The track already has an open stream.");
        r = stream_config_for(t, &cfg);
        if (r < 0)
                return r;
        r = stream_new(t->manager->event, &cfg, &stream, &control_fd, &pool_fd);
        if (r < 0)
                goto fail;
        stream_set_enabled(stream, t->enabled);
        stream_set_muted(stream, track_is_muted(t));
        stream_get_format(stream, &format);

        /* sd-bus duplicates the fds into the reply: that can run out of descriptors too. */
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "hh", control_fd, pool_fd);
        if (r >= 0)
                r = append_format(reply, &format);
        if (r < 0)
                goto fail;

        stream_set_closed_callback(stream, on_stream_closed, t);
        t->stream = stream_free(t->stream);
        t->stream = TAKE_PTR(stream);
        capture_sink_set_stream(t->sink, t->stream);
        return sd_bus_send(NULL, reply, NULL);

fail:
        /* Nothing half-built stays: the stream and its fds go with the cleanup variables. */
        if (r == -EMFILE || r == -ENFILE)
                return sd_bus_error_set(error, MG_ERROR_LIMITS_EXCEEDED, "Out of file descriptors.");
        return r;
}

static int method_stop(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Track *t = userdata;

        track_end(t, TRACK_END_STOPPED);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_set_enabled(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Track *t = userdata;
        int enabled, r;

        r = sd_bus_message_read(message, "b", &enabled);
        if (r < 0)
                return r;
        track_set_enabled(t, enabled);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_apply_constraints(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(track_constraints_freep) TrackConstraints *c = NULL;
        _cleanup_free_ char *type_error = NULL;
        Track *t = userdata;
        ConstraintCandidate cand = track_candidate(t);
        SelectedSettings settings;
        CaptureSinkRequest req;
        const char *failed = "";
        int r;

        if (t->ended)
                return sd_bus_error_set(error, MG_ERROR_ABORT, "The track has ended.");
        r = track_constraints_parse(message, t->kind, &c, &type_error);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, MG_ERROR_TYPE, "%s", strempty(type_error));
        if (r < 0)
                return r;
        r = select_settings(c, &cand, 1, &settings, &failed);
        if (r != SELECT_SETTINGS_FOUND) {
                /* The caller has a live track of this kind, so device information is exposed to it. */
                log_info("ApplyConstraints on %s failed: %s.", t->path, failed);
                return sd_bus_error_setf(error, MG_ERROR_OVERCONSTRAINED, "%s", failed);
        }

        req = (CaptureSinkRequest){ .mode = settings.mode, .width = settings.width, .height = settings.height,
                                    .frame_rate = settings.frame_rate, .sample_rate = settings.sample_rate,
                                    .channels = settings.channel_count };
        r = capture_sink_reconfigure(t->sink, &req);
        if (r == -EBUSY)
                return sd_bus_error_set(error, MG_ERROR_NOT_READABLE,
                                        "The device is in use in a mode that cannot serve these settings.");
        if (r < 0)
                return r;
        t->settings = settings;
        track_constraints_free(t->constraints);
        t->constraints = TAKE_PTR(c);
        if (t->stream) {
                StreamConfig cfg;

                r = stream_config_for(t, &cfg);
                if (r >= 0)
                        r = stream_set_format(t->stream, &cfg);
                if (r < 0)
                        log_warning_errno(r, "Failed to announce the new format on %s: %m", t->path);
        }
        track_dbus_emit_changed(t, "Settings");
        track_dbus_emit_changed(t, "Constraints");
        return sd_bus_reply_method_return(message, NULL);
}

const sd_bus_vtable track_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Kind", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("DeviceId", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Label", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("GroupId", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Settings", "a{sv}", property_get_settings, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Capabilities", "a{sv}", property_get_capabilities, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Constraints", "a{sv}", property_get_constraints, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ReadyState", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Muted", "b", property_get_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Enabled", "b", property_get_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Open", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("h", control, "h", pool, "a{sv}", format),
                                method_open, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_stop,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetEnabled", SD_BUS_ARGS("b", enabled), SD_BUS_NO_RESULT,
                                method_set_enabled, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ApplyConstraints", SD_BUS_ARGS("a{sv}", constraints), SD_BUS_NO_RESULT,
                                method_apply_constraints, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("Ended", SD_BUS_ARGS("s", reason), 0),
        SD_BUS_VTABLE_END,
};

int track_dbus_register(Manager *m) {
        return sd_bus_add_fallback_vtable(m->bus, &m->track_slot, MG_TRACK_PATH_PREFIX, MG_IFACE_TRACK,
                                          track_vtable, track_find, m);
}

static void send_to_owner(Track *t, sd_bus_message *signal) {
        int r;

        r = sd_bus_message_set_destination(signal, t->owner);
        if (r >= 0)
                r = sd_bus_send(t->manager->bus, signal, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to signal %s: %m", t->owner);
}

void track_dbus_emit_ended(Track *t, const char *reason) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *signal = NULL;

        if (sd_bus_message_new_signal(t->manager->bus, &signal, t->path, MG_IFACE_TRACK, "Ended") >= 0 &&
            sd_bus_message_append(signal, "s", reason) >= 0)
                send_to_owner(t, signal);
}

void track_dbus_emit_changed(Track *t, const char *property) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *signal = NULL;
        ConstraintCandidate cand = track_candidate(t);
        int r;

        r = sd_bus_message_new_signal(t->manager->bus, &signal, t->path, "org.freedesktop.DBus.Properties",
                                      "PropertiesChanged");
        if (r >= 0)
                r = sd_bus_message_append(signal, "s", MG_IFACE_TRACK);
        if (r >= 0)
                r = sd_bus_message_open_container(signal, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_open_container(signal, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(signal, "s", property);
        if (r >= 0) {
                if (streq(property, "Enabled"))
                        r = sd_bus_message_append(signal, "v", "b", t->enabled);
                else if (streq(property, "Muted"))
                        r = sd_bus_message_append(signal, "v", "b", track_is_muted(t));
                else if (streq(property, "ReadyState"))
                        r = sd_bus_message_append(signal, "v", "s", t->ended ? "ended" : "live");
                else {
                        r = sd_bus_message_open_container(signal, 'v', "a{sv}");
                        if (r >= 0)
                                r = streq(property, "Settings") ? selected_settings_append(signal, &t->settings, &cand)
                                                                : track_constraints_append(signal, t->constraints);
                        if (r >= 0)
                                r = sd_bus_message_close_container(signal);
                }
        }
        if (r >= 0)
                r = sd_bus_message_close_container(signal);
        if (r >= 0)
                r = sd_bus_message_close_container(signal);
        if (r >= 0)
                r = sd_bus_message_append(signal, "as", 0);
        if (r < 0) {
                log_debug_errno(r, "Failed to build PropertiesChanged: %m");
                return;
        }
        send_to_owner(t, signal);
}
