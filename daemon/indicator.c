/* The indicator state: computed from the live tracks and the capturing devices, published on
 * the Manager object, held true for at least three seconds so that a short capture cannot
 * hide, and mirrored to sysfs LEDs. */
#include "indicator.h"

#include <fcntl.h>

#include "capture.h"
#include "caller.h"
#include "log.h"
#include "mediagate-names.h"
#include "sanitize.h"
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

typedef struct ClientEntry ClientEntry;
static void client_entries_free(ClientEntry *entries, size_t n);

struct Indicator {
        Manager *manager;
        HeldFlag accessible[_DEVICE_KIND_MAX];
        HeldFlag live[_DEVICE_KIND_MAX];
        char *clients_signature; /* the Clients value last published, to emit only changes */
        ClientEntry *shown;      /* ... and the entries it lists, held ones included */
        size_t n_shown;
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
        client_entries_free(ind->shown, ind->n_shown);
        free(ind);
        return NULL;
}

static bool track_is_live(Track *t) {
        return !t->ended && t->enabled && !track_is_muted(t) && capture_device_is_live(t->device);
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

static const char *client_kind_name(DeviceKind k) {
        return k == DEVICE_KIND_VIDEO ? "camera" : "microphone";
}

/* One entry of Clients and ClientDetails: a (client connection, kind) pair, copied out of its
 * tracks so that an entry can outlive them for the hold. */
struct ClientEntry {
        char *app_id, *origin, *owner, *process;
        DeviceKind kind;
        bool accessible, live;
        uint32_t pid, uid;
        uint64_t since_usec;  /* CLOCK_MONOTONIC: when its first track started */
        uint64_t listed_usec; /* CLOCK_MONOTONIC: when the entry was first published */
};

static void client_entries_free(ClientEntry *entries, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(entries[i].app_id);
                free(entries[i].origin);
                free(entries[i].owner);
                free(entries[i].process);
        }
        free(entries);
}

/* The process name (/proc/PID/comm) while the caller's own process still runs, so that a reused
 * pid never names another program. */
static char *caller_process_name(const Caller *c) {
        _cleanup_free_ char *path = NULL, *raw = NULL;
        char buf[64] = "";
        ssize_t n;
        int fd;

        if (c->pid <= 0 || asprintf(&path, "/proc/%i/comm", (int) c->pid) < 0)
                return NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return NULL;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0 || !caller_is_alive(c))
                return NULL;
        buf[strcspn(buf, "\n")] = '\0';
        return sanitize_label(buf);
}

static int client_entry_from_track(const Track *t, ClientEntry *ret) {
        ClientEntry e = {
                .app_id = strdup(strempty(t->caller->app_id)),
                .origin = strdup(strempty(t->origin)),
                .owner = strdup(t->owner),
                .process = caller_process_name(t->caller),
                .kind = t->kind,
                .accessible = true,
                .pid = t->caller->pid > 0 ? (uint32_t) t->caller->pid : 0,
                .uid = (uint32_t) t->caller->uid,
                .since_usec = t->started_usec,
        };

        if (!e.app_id || !e.origin || !e.owner) {
                free(e.app_id);
                free(e.origin);
                free(e.owner);
                free(e.process);
                return -ENOMEM;
        }
        *ret = e;
        return 0;
}

static ClientEntry *client_entry_find(ClientEntry *entries, size_t n, const char *owner, DeviceKind kind) {
        for (size_t i = 0; i < n; i++)
                if (entries[i].kind == kind && streq(entries[i].owner, owner))
                        return &entries[i];
        return NULL;
}

/* One entry per (client connection, kind) of the live tracks, in table order. */
static int collect_clients(Indicator *ind, ClientEntry **ret, size_t *ret_n) {
        Manager *m = ind->manager;
        HashmapIter it = {};
        ClientEntry *entries;
        size_t n = 0;
        Track *t;
        int r;

        entries = calloc(hashmap_size(m->tracks) + ind->n_shown + 1, sizeof(ClientEntry));
        if (!entries)
                return -ENOMEM;
        while (hashmap_iterate(m->tracks, &it, (void **) &t, NULL)) {
                ClientEntry *e;

                if (t->ended)
                        continue;
                e = client_entry_find(entries, n, t->owner, t->kind);
                if (!e) {
                        r = client_entry_from_track(t, &entries[n]);
                        if (r < 0) {
                                client_entries_free(entries, n);
                                return r;
                        }
                        e = &entries[n++];
                }
                e->live = e->live || track_is_live(t);
                e->since_usec = MIN(e->since_usec, t->started_usec);
        }
        *ret = entries;
        *ret_n = n;
        return 0;
}

/* An entry whose tracks ended less than INDICATOR_HOLD_USEC after it was first listed stays
 * listed (not accessible, not live) until then, as the Accessible and Live flags are held: a
 * short capture keeps its app's name beside the light. Appends the held entries of the last
 * published list to entries, which has room for them; lowers *next_check to when one goes. */
static int add_held_clients(Indicator *ind, ClientEntry *entries, size_t *n, uint64_t now, uint64_t *next_check) {
        size_t n_current = *n;

        for (size_t i = 0; i < ind->n_shown; i++) {
                ClientEntry *old = &ind->shown[i], *e;

                if (client_entry_find(entries, n_current, old->owner, old->kind))
                        continue;
                if (now >= old->listed_usec + INDICATOR_HOLD_USEC)
                        continue;
                *next_check = MIN(*next_check, old->listed_usec + INDICATOR_HOLD_USEC);
                e = &entries[(*n)++];
                *e = (ClientEntry) {
                        .app_id = strdup(old->app_id),
                        .origin = strdup(old->origin),
                        .owner = strdup(old->owner),
                        .process = old->process ? strdup(old->process) : NULL,
                        .kind = old->kind,
                        .pid = old->pid,
                        .uid = old->uid,
                        .since_usec = old->since_usec,
                        .listed_usec = old->listed_usec,
                };
                if (!e->app_id || !e->origin || !e->owner || (old->process && !e->process))
                        return -ENOMEM;
        }
        /* The entries still present keep the time they were first listed. */
        for (size_t i = 0; i < n_current; i++) {
                ClientEntry *old = client_entry_find(ind->shown, ind->n_shown, entries[i].owner, entries[i].kind);

                entries[i].listed_usec = old ? old->listed_usec : now;
        }
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
static char *clients_signature(const ClientEntry *entries, size_t n) {
        char *s = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&s, &size);
        if (!f)
                return NULL;
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s|%s|%d|%s|%d|%d\n", entries[i].app_id, entries[i].origin, entries[i].kind,
                        entries[i].owner, entries[i].accessible, entries[i].live);
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

/* The entries to publish now: the live tracks' and the held ones. On failure the last
 * published list stays. Returns whether the list changed. */
static bool update_clients(Indicator *ind, uint64_t now, uint64_t *next_check) {
        ClientEntry *entries = NULL;
        _cleanup_free_ char *signature = NULL;
        size_t n = 0;
        int r;

        r = collect_clients(ind, &entries, &n);
        if (r >= 0)
                r = add_held_clients(ind, entries, &n, now, next_check);
        if (r >= 0) {
                signature = clients_signature(entries, n);
                r = signature ? 0 : -ENOMEM;
        }
        if (r < 0) {
                client_entries_free(entries, n);
                log_warning_errno(r, "Failed to list the clients for the indicator: %m");
                return false;
        }
        client_entries_free(ind->shown, ind->n_shown);
        ind->shown = entries;
        ind->n_shown = n;
        if (streq_ptr(signature, ind->clients_signature))
                return false;
        free(ind->clients_signature);
        ind->clients_signature = TAKE_PTR(signature);
        return true;
}

void indicator_update(Indicator *ind) {
        Manager *m = ind->manager;
        bool accessible[_DEVICE_KIND_MAX], live[_DEVICE_KIND_MAX];
        const char *changed[2 * _DEVICE_KIND_MAX + 3];
        uint64_t now = now_usec(CLOCK_MONOTONIC), next_check = UINT64_MAX;
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
        if (update_clients(ind, now, &next_check)) {
                changed[n++] = "Clients";
                changed[n++] = "ClientDetails";
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
        const char *changed[2 * _DEVICE_KIND_MAX + 3];
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
        if (!isempty(ind->clients_signature)) {
                changed[n++] = "Clients";
                changed[n++] = "ClientDetails";
        }
        free(ind->clients_signature);
        ind->clients_signature = NULL;
        client_entries_free(ind->shown, ind->n_shown);
        ind->shown = NULL;
        ind->n_shown = 0;
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

/* The getters give the list last published (and announced), not a fresh one: what a reader
 * gets agrees with the signals it saw. */
int indicator_append_clients(Indicator *ind, sd_bus_message *reply) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ssssbb)");
        for (size_t i = 0; r >= 0 && i < ind->n_shown; i++) {
                const ClientEntry *e = &ind->shown[i];

                r = sd_bus_message_append(reply, "(ssssbb)", e->app_id, e->origin, client_kind_name(e->kind),
                                          e->owner, e->accessible, e->live);
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

int indicator_append_client_details(Indicator *ind, sd_bus_message *reply) {
        uint64_t now_monotonic = now_usec(CLOCK_MONOTONIC), now_realtime = now_usec(CLOCK_REALTIME);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ssssbba{sv})");
        for (size_t i = 0; r >= 0 && i < ind->n_shown; i++) {
                const ClientEntry *e = &ind->shown[i];
                uint64_t age = now_monotonic > e->since_usec ? now_monotonic - e->since_usec : 0;

                r = sd_bus_message_open_container(reply, 'r', "ssssbba{sv}");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "ssssbb", e->app_id, e->origin,
                                                  client_kind_name(e->kind), e->owner, e->accessible, e->live);
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'a', "{sv}");
                if (r >= 0 && e->pid > 0)
                        r = sd_bus_message_append(reply, "{sv}", "pid", "u", e->pid);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "{sv}{sv}", "uid", "u", e->uid, "since", "t",
                                                  now_realtime > age ? now_realtime - age : 0);
                if (r >= 0 && e->process)
                        r = sd_bus_message_append(reply, "{sv}", "process", "s", e->process);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}
