/* The indicator state: computed from the live tracks and the capturing devices, published on
 * the Manager object, held true for at least three seconds so that a short capture cannot
 * hide, and mirrored to sysfs LEDs. */
#include "indicator.h"

#include <fcntl.h>

#include "capture.h"
#include "caller.h"
#include "log.h"
#include "mediagate-names.h"
#include "track.h"
#include "util.h"

typedef struct HeldFlag {
        bool published;
        uint64_t true_since; /* CLOCK_MONOTONIC µs when published turned true */
} HeldFlag;

typedef struct Led {
        char *path;
        bool kinds[_DEVICE_KIND_MAX];
        int state; /* -1 unknown, 0, 1 */
} Led;

struct Indicator {
        Manager *manager;
        HeldFlag accessible[_DEVICE_KIND_MAX];
        HeldFlag live[_DEVICE_KIND_MAX];
        char *clients_signature; /* the Clients value last published, to emit only changes */
        sd_event_source *hold_timer;
        Led *leds;
        size_t n_leds;
        bool stopped; /* everything published off for good: the daemon is stopping */
};

static const char *const accessible_names[] = { "MicrophoneAccessible", "CameraAccessible" };
static const char *const live_names[] = { "MicrophoneLive", "CameraLive" };

static int parse_led(const char *spec, Led *ret) {
        const char *path = spec;
        Led led = { .state = -1 };

        if (startswith(spec, "camera:")) {
                path = spec + strlen("camera:");
                led.kinds[DEVICE_KIND_VIDEO] = true;
        } else if (startswith(spec, "microphone:")) {
                path = spec + strlen("microphone:");
                led.kinds[DEVICE_KIND_AUDIO] = true;
        } else
                led.kinds[DEVICE_KIND_VIDEO] = led.kinds[DEVICE_KIND_AUDIO] = true;
        if (path[0] != '/')
                return -EINVAL;
        led.path = strdup(path);
        if (!led.path)
                return -ENOMEM;
        *ret = led;
        return 0;
}

/* The LEDs follow the published Live values. Each is written when its state differs from what
 * it was last set to, and at least once: a LED left on by a daemon that was killed is put out at
 * start. */
static void write_leds(Indicator *ind) {
        for (size_t i = 0; i < ind->n_leds; i++) {
                Led *led = &ind->leds[i];
                int on = 0, fd;

                for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++)
                        if (led->kinds[k] && ind->live[k].published)
                                on = 1;
                if (on == led->state)
                        continue;
                fd = open(led->path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_TRUNC);
                if (fd < 0 || write(fd, on ? "1\n" : "0\n", 2) != 2) {
                        log_warning_errno(errno, "Failed to switch the indicator LED %s %s: %m", led->path,
                                          on ? "on" : "off");
                        if (fd >= 0)
                                close(fd);
                        continue;
                }
                close(fd);
                led->state = on;
        }
}

int indicator_new(Manager *m, char **leds, Indicator **ret) {
        Indicator *ind;
        int r;

        ind = calloc(1, sizeof(Indicator));
        if (!ind)
                return -ENOMEM;
        ind->manager = m;
        ind->leds = calloc(strv_length(leds) + 1, sizeof(Led));
        if (!ind->leds) {
                free(ind);
                return -ENOMEM;
        }
        for (char **l = leds; l && *l; l++) {
                r = parse_led(*l, &ind->leds[ind->n_leds]);
                if (r < 0) {
                        indicator_free(ind);
                        return log_error_errno(r, "IndicatorLed=%s: want camera:PATH, microphone:PATH or an absolute PATH.",
                                               *l);
                }
                ind->n_leds++;
        }
        write_leds(ind);
        *ret = ind;
        return 0;
}

Indicator *indicator_free(Indicator *ind) {
        if (!ind)
                return NULL;
        sd_event_source_disable_unref(ind->hold_timer);
        for (size_t i = 0; i < ind->n_leds; i++)
                free(ind->leds[i].path);
        free(ind->leds);
        free(ind->clients_signature);
        free(ind);
        return NULL;
}

static bool track_is_live(Track *t) {
        return !t->ended && t->enabled && !t->muted && capture_device_is_live(t->device);
}

/* What is true right now, before the hold: Accessible from the tracks clients hold, Live from
 * the devices that capture (the light follows the hardware, also while a muted device waits
 * for its release). */
static void compute(Indicator *ind, bool accessible[], bool live[]) {
        Manager *m = ind->manager;
        HashmapIter it = {};
        Track *t;

        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++)
                accessible[k] = live[k] = false;
        while (hashmap_iterate(m->tracks, &it, (void **) &t, NULL))
                if (!t->ended)
                        accessible[t->kind] = true;
        for (size_t i = 0; i < device_registry_count(m->registry); i++) {
                Device *d = device_registry_get(m->registry, i);

                if (capture_device_is_live(d))
                        live[d->kind] = true;
        }
}

typedef struct ClientEntry {
        Track *track; /* the first track of the (connection, kind) pair */
        bool live;
} ClientEntry;

/* One entry per (client connection, kind), in table order. */
static int collect_clients(Indicator *ind, ClientEntry **ret, size_t *ret_n) {
        Manager *m = ind->manager;
        HashmapIter it = {};
        ClientEntry *entries;
        size_t n = 0;
        Track *t;

        entries = calloc(hashmap_size(m->tracks) + 1, sizeof(ClientEntry));
        if (!entries)
                return -ENOMEM;
        while (hashmap_iterate(m->tracks, &it, (void **) &t, NULL)) {
                size_t i;

                if (t->ended)
                        continue;
                for (i = 0; i < n; i++)
                        if (entries[i].track->kind == t->kind && streq(entries[i].track->owner, t->owner))
                                break;
                if (i == n)
                        entries[n++] = (ClientEntry){ .track = t };
                entries[i].live = entries[i].live || track_is_live(t);
        }
        *ret = entries;
        *ret_n = n;
        return 0;
}

static int on_hold_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Indicator *ind = userdata;

        ind->hold_timer = sd_event_source_disable_unref(ind->hold_timer);
        indicator_update(ind);
        return 0;
}

/* Publish want for one flag; returns whether the published value changed, and lowers *next_check
 * to when a held true may turn false. */
static bool apply_hold(HeldFlag *f, bool want, uint64_t now, uint64_t *next_check) {
        if (want == f->published)
                return false;
        if (want) {
                f->published = true;
                f->true_since = now;
                return true;
        }
        if (now < f->true_since + INDICATOR_HOLD_USEC) {
                *next_check = MIN(*next_check, f->true_since + INDICATOR_HOLD_USEC);
                return false;
        }
        f->published = false;
        return true;
}

/* The Clients value as text, to see whether it changed. */
static char *clients_signature(Indicator *ind) {
        _cleanup_free_ ClientEntry *entries = NULL;
        char *s = NULL;
        size_t n, size = 0;
        FILE *f;

        if (collect_clients(ind, &entries, &n) < 0)
                return NULL;
        f = open_memstream(&s, &size);
        if (!f)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                Track *t = entries[i].track;

                fprintf(f, "%s|%s|%d|%s|%d\n", t->caller->app_id, strempty(t->origin), t->kind, t->owner,
                        entries[i].live);
        }
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

void indicator_update(Indicator *ind) {
        Manager *m = ind->manager;
        bool accessible[_DEVICE_KIND_MAX], live[_DEVICE_KIND_MAX];
        const char *changed[2 * _DEVICE_KIND_MAX + 2];
        uint64_t now = now_usec(CLOCK_MONOTONIC), next_check = UINT64_MAX;
        _cleanup_free_ char *signature = NULL;
        size_t n = 0;
        int r;

        if (!ind || ind->stopped)
                return;
        compute(ind, accessible, live);
        /* Live first: an indicator never shows Live without Accessible for long. */
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++) {
                if (apply_hold(&ind->live[k], live[k], now, &next_check))
                        changed[n++] = live_names[k];
                if (apply_hold(&ind->accessible[k], accessible[k] || live[k], now, &next_check))
                        changed[n++] = accessible_names[k];
        }
        signature = clients_signature(ind);
        if (signature && !streq_ptr(signature, ind->clients_signature)) {
                free(ind->clients_signature);
                ind->clients_signature = TAKE_PTR(signature);
                changed[n++] = "Clients";
        }
        changed[n] = NULL;

        write_leds(ind);
        if (n > 0) {
                if (m->bus) {
                        r = sd_bus_emit_properties_changed_strv(m->bus, MG_OBJECT_PATH, MG_IFACE_MANAGER,
                                                                (char **) changed);
                        if (r < 0)
                                log_debug_errno(r, "Failed to announce the indicator state: %m");
                }
        }

        if (next_check != UINT64_MAX && !ind->hold_timer) {
                r = sd_event_add_time(m->event, &ind->hold_timer, CLOCK_MONOTONIC, next_check, 1000, on_hold_timer,
                                      ind);
                if (r < 0)
                        log_warning_errno(r, "Failed to schedule the indicator hold: %m");
        }
}

void indicator_stop(Indicator *ind) {
        Manager *m;
        const char *changed[2 * _DEVICE_KIND_MAX + 2];
        size_t n = 0;
        int r;

        if (!ind || ind->stopped)
                return;
        m = ind->manager;
        ind->stopped = true;
        ind->hold_timer = sd_event_source_disable_unref(ind->hold_timer);
        /* No hold now: a stopping daemon serves nobody, and the last word must be "off". */
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++) {
                if (ind->live[k].published)
                        changed[n++] = live_names[k];
                if (ind->accessible[k].published)
                        changed[n++] = accessible_names[k];
                ind->live[k].published = ind->accessible[k].published = false;
        }
        if (!isempty(ind->clients_signature))
                changed[n++] = "Clients";
        free(ind->clients_signature);
        ind->clients_signature = NULL;
        changed[n] = NULL;
        write_leds(ind);
        if (n > 0 && m->bus && sd_bus_is_open(m->bus) > 0) {
                r = sd_bus_emit_properties_changed_strv(m->bus, MG_OBJECT_PATH, MG_IFACE_MANAGER, (char **) changed);
                if (r < 0)
                        log_debug_errno(r, "Failed to announce the indicator state: %m");
        }
}

bool indicator_get_accessible(Indicator *ind, DeviceKind kind) {
        return ind->accessible[kind].published;
}

bool indicator_get_live(Indicator *ind, DeviceKind kind) {
        return ind->live[kind].published;
}

int indicator_append_clients(Indicator *ind, sd_bus_message *reply) {
        _cleanup_free_ ClientEntry *entries = NULL;
        size_t n;
        int r;

        if (ind->stopped)
                n = 0;
        else {
                r = collect_clients(ind, &entries, &n);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_open_container(reply, 'a', "(ssssbb)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                Track *t = entries[i].track;

                r = sd_bus_message_append(reply, "(ssssbb)", t->caller->app_id, strempty(t->origin),
                                          t->kind == DEVICE_KIND_VIDEO ? "camera" : "microphone", t->owner, true,
                                          entries[i].live);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}
