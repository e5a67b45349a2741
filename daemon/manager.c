/* The daemon's life: building the Manager, connecting to the bus, serving, shutting down. */
#include "manager.h"

#include <signal.h>
#include <systemd/sd-daemon.h>

#include "admin-dbus.h"
#include "bus-errors.h"
#include "bus-gate.h"
#include "callers.h"
#include "capture.h"
#include "consent.h"
#include "decision.h"
#include "grants.h"
#include "history.h"
#include "indicator.h"
#include "mute.h"
#include "policy.h"
#include "prompt-backoff.h"
#include "polkit.h"
#include "policy-reload.h"
#include "request.h"
#include "sessions.h"
#include "track.h"
#include "devices/monitor.h"
#include "devices/synthetic.h"
#include "devices/synthetic-file.h"
#include "exposure.h"
#include "caller.h"
#include "log.h"
#include "manager-dbus.h"
#include "mediagate-names.h"
#include "testing-dbus.h"
#include "util.h"

static void send_devices_changed(Manager *m, const char *destination) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *signal = NULL;
        int r;

        r = sd_bus_message_new_signal(m->bus, &signal, MG_OBJECT_PATH, MG_IFACE_MANAGER, "DevicesChanged");
        if (r >= 0 && destination)
                r = sd_bus_message_set_destination(signal, destination);
        if (r >= 0)
                r = sd_bus_send(m->bus, signal, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to send DevicesChanged: %m");
}

/* DevicesChanged only when what a caller may see changes. Without exposure a caller sees one
 * empty entry per kind, so that view changes only when a kind appears or disappears, or the
 * default device changes: then everyone is told (*ret_broadcast). Otherwise only the connections
 * to which the kind is exposed learn of it, each on its own: taken before the change, so that a
 * caller exposed only by a live track on a removed device hears of it too. */
static int devices_changed_recipients(Manager *m, Device *d, RegistryEvent ev, bool *ret_broadcast,
                                      char ***ret_names) {
        size_t n = device_registry_count_kind(m->registry, d->kind);
        _cleanup_strv_free_ char **names = NULL;
        HashmapIter it = {};
        Caller *caller;

        *ret_broadcast = d->is_default || (ev == REGISTRY_DEVICE_ADDED ? n == 1 : n == 0);
        if (!*ret_broadcast)
                while (hashmap_iterate(m->callers, &it, (void **) &caller, NULL))
                        if (exposure_holds(m, caller, NULL, d->kind) && strv_extend(&names, caller->unique_name) < 0)
                                return -ENOMEM;
        *ret_names = TAKE_PTR(names);
        return 0;
}

static void registry_callback(DeviceRegistry *r, RegistryEvent ev, Device *d, void *userdata) {
        _cleanup_strv_free_ char **recipients = NULL;
        Manager *m = userdata;
        bool broadcast;
        int k;

        log_struct_internal(LOG_INFO, 0, ev == REGISTRY_DEVICE_ADDED ? MG_MESSAGE_DEVICE_ADDED : MG_MESSAGE_DEVICE_REMOVED,
                            NULL, "Device %s %s (%s, %s).", d->name,
                            ev == REGISTRY_DEVICE_ADDED ? "added" : "removed", device_kind_to_string(d->kind),
                            d->backend);
        k = devices_changed_recipients(m, d, ev, &broadcast, &recipients);
        if (ev == REGISTRY_DEVICE_REMOVED)
                tracks_end_for_device(m, d, TRACK_END_DEVICE_REMOVED);
        if (k < 0) {
                log_oom();
                broadcast = true; /* telling everyone is safe: the signal carries nothing */
        }
        if (!m->bus || !sd_bus_is_ready(m->bus))
                return;
        if (broadcast)
                send_devices_changed(m, NULL);
        else
                for (char **name = recipients; name && *name; name++)
                        send_devices_changed(m, *name);
}

/* A device started or stopped capturing: the indicator follows at once (Live before the first
 * frame, and not false before the device stopped). */
static void on_capture_live(Device *d, bool live, void *userdata) {
        Manager *m = userdata;

        indicator_update(m->indicator);
}

static void on_tracks_changed(Manager *m) {
        indicator_update(m->indicator);
}

/* A session came to the front or left it (switch user, seat change, lock): tracks follow. */
static void on_sessions_changed(void *userdata) {
        tracks_follow_sessions(userdata);
}

/* A stored deny ends the live tracks it covers within the call. Revoking is RevokeGrant's to
 * follow up (it ends every track of the app), and expiry stops new requests, not a stream the
 * user let start. */
static void on_grant_changed(GrantStore *s, GrantChange change, const GrantInfo *g, void *userdata) {
        TrackKey key = { .uid = g->uid, .app_id = g->app_id, .origin = g->origin, .kind = g->kind };

        if (change == GRANT_CHANGE_SET && g->decision == GRANT_DENY)
                (void) tracks_end_denied(userdata, &key, TRACK_END_REVOKED);
}

/* A capturing device failed: its tracks end. */
static void on_capture_error(Device *d, int error, void *userdata) {
        Manager *m = userdata;

        log_warning_errno(error, "Device %s failed: %m", d->name);
        tracks_end_for_device(m, d, TRACK_END_DEVICE_ERROR);
}

/* The built-in synthetic devices of one kind: the stand-ins for a machine without a real one. */
static int load_default_synthetic_kind(Manager *m, DeviceKind kind) {
        _cleanup_free_ char *error = NULL;
        SyntheticSpec *specs = NULL;
        size_t n = 0, kept = 0;
        int r;

        r = synthetic_file_parse(synthetic_default_devices, strlen(synthetic_default_devices), NULL, &specs, &n,
                                 &error);
        if (r < 0)
                return log_error_errno(r, "The built-in synthetic devices do not parse: %s", strempty(error));
        for (size_t i = 0; i < n; i++) {
                SyntheticSpec tmp;

                if (specs[i].kind != kind)
                        continue;
                tmp = specs[kept];
                specs[kept] = specs[i];
                specs[i] = tmp;
                kept++;
        }
        r = synthetic_backend_add_specs(m->synthetic, specs, kept, NULL, &error);
        synthetic_specs_free(specs, n);
        if (r < 0)
                return log_error_errno(r, "Failed to add the built-in synthetic devices: %s", strempty(error));
        return 0;
}

/* Backends= decides; by default the real ones, plus synthetic stand-ins for a kind of which no
 * real device exists, so that the daemon (and the demo) is useful on any machine. A synthetic
 * device file (--synthetic, SyntheticDevices=) is an explicit wish and always loaded. */
static int load_devices(Manager *m, const ManagerOptions *options) {
        const char *file = options->synthetic_file ?: m->config.synthetic_devices;
        unsigned backends = m->config.backends;
        _cleanup_free_ char *error = NULL;
        int r;

        if (backends & (BACKEND_V4L2 | BACKEND_ALSA)) {
                r = device_monitor_start(m->registry, backends, &m->monitor);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch the real devices: %m");
        }
        log_info("Backends:%s%s%s.", backends & BACKEND_V4L2 ? " v4l2" : "", backends & BACKEND_ALSA ? " alsa" : "",
                 file || (backends & BACKEND_SYNTHETIC) || !m->config.backends_set ? " synthetic" : "");

        r = synthetic_backend_new(m->registry, &m->synthetic);
        if (r < 0)
                return log_error_errno(r, "Failed to set up synthetic devices: %m");
        if (file) {
                r = synthetic_backend_load_file(m->synthetic, file, &error);
                if (r < 0)
                        return log_error_errno(r, "Failed to load synthetic devices: %s", error ?: strerror(-r));
                log_info("Synthetic devices from %s.", file);
                return 0;
        }
        if (backends & BACKEND_SYNTHETIC)
                return synthetic_backend_load_defaults(m->synthetic);
        if (m->config.backends_set)
                return 0;
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++)
                if (!m->monitor || device_monitor_count(m->monitor, k) == 0) {
                        log_info("No real %s: the built-in synthetic one stands in.",
                                 k == DEVICE_KIND_VIDEO ? "camera" : "microphone");
                        r = load_default_synthetic_kind(m, k);
                        if (r < 0)
                                return r;
                }
        return 0;
}

/* The state directory: StateDirectory=, else the system's, or for a development daemon on the
 * session bus the user's ($XDG_STATE_HOME/mediagate). Created if missing. */
static int setup_state_dir(Manager *m, bool user_bus) {
        const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        int r;

        if (m->config.state_dir)
                r = free_and_strdup(&m->state_dir, m->config.state_dir);
        else if (!user_bus)
                r = free_and_strdup(&m->state_dir, DEFAULT_STATE_DIR);
        else if (!isempty(xdg))
                r = asprintf(&m->state_dir, "%s/mediagate", xdg) < 0 ? -ENOMEM : 0;
        else if (!isempty(home))
                r = asprintf(&m->state_dir, "%s/.local/state/mediagate", home) < 0 ? -ENOMEM : 0;
        else
                return log_error_errno(EINVAL, "No state directory: set StateDirectory= or $HOME.");
        if (r < 0)
                return log_oom();
        if (mkdir_parents_and_self(m->state_dir, 0700) < 0)
                return log_error_errno(errno, "Failed to create the state directory %s: %m", m->state_dir);
        return device_id_secret_load(m->state_dir, &m->device_id_secret);
}

/* --config names the one file to read; without it, the vendor's and the admin's files and their
 * drop-ins (config.h). */
static int load_config(Manager *m, const ManagerOptions *options) {
        _cleanup_free_ char *error = NULL;
        int r;

        r = config_load(&m->config, options->config_file, &error);
        if (r == -ENOENT)
                return log_error_errno(r, "Configuration file %s does not exist.", options->config_file);
        else if (r < 0)
                return log_error_errno(r, "Bad configuration: %s", error ?: strerror(-r));
        return 0;
}

/* The grants and the history in the state directory. Either may be unreadable: the daemon serves
 * on, deciding as if nothing were stored (and writing nothing over what it could not read). */
static int open_stores(Manager *m) {
        int r;

        r = grant_store_load(m->grants, m->state_dir);
        if (r < 0)
                log_error_errno(r, "Failed to read the grants in %s; no stored decision applies until it is fixed: %m",
                                m->state_dir);
        grant_store_set_change_callback(m->grants, on_grant_changed, m);
        /* Grant writes fsync: off the loop, so that live streams never wait for the disk. */
        r = grant_store_attach_event(m->grants, m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the grant writer: %m");
        r = history_open(m->state_dir, NULL, &m->history);
        if (r < 0)
                log_error_errno(r, "Failed to open the access history in %s, not recording it: %m", m->state_dir);
        return 0;
}

int manager_new(const ManagerOptions *options, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return log_oom();
        config_init(&m->config);
        m->test_controls = options->test_controls;

        r = load_config(m, options);
        if (r < 0)
                return r;
        r = setup_state_dir(m, options->user_bus);
        if (r < 0)
                return r;

        m->callers = hashmap_new();
        m->caller_lookups = hashmap_new();
        m->requests = hashmap_new();
        m->tracks = hashmap_new();
        m->grants = grant_store_new();
        m->consent = consent_registry_new();
        m->backoff = prompt_backoff_new();
        if (!m->callers || !m->caller_lookups || !m->requests || !m->tracks || !m->grants || !m->consent ||
            !m->backoff)
                return log_oom();

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to get the event loop: %m");

        r = device_registry_new(m->event, &m->registry);
        if (r < 0)
                return log_error_errno(r, "Failed to create the device registry: %m");
        r = open_stores(m);
        if (r < 0)
                return r;

        device_registry_set_callback(m->registry, registry_callback, m);
        capture_set_event_handler(on_capture_error, m);
        capture_set_live_handler(on_capture_live, m);

        r = indicator_new(m, m->config.indicator_leds, &m->indicator);
        m->on_tracks_changed = on_tracks_changed;
        if (r < 0)
                return r;
        r = mute_load(m);
        if (r < 0)
                return r;

        r = policy_load_dir(m->config.policy_dir ?: DEFAULT_POLICY_DIR, NULL, &m->policy);
        if (r < 0)
                return log_error_errno(r, "Failed to load the admin policy: %m");
        for (char * const *e = policy_errors(m->policy); e && *e; e++)
                log_error("%s", *e);

        r = load_devices(m, options);
        if (r < 0)
                return r;

        r = options->user_bus ? sd_bus_open_user(&m->bus) : sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the %s bus: %m",
                                       options->user_bus ? "session" : "system");

        *ret = TAKE_PTR(m);
        return 0;
}

void manager_stop(Manager *m) {
        if (m->stopped)
                return;
        m->stopped = true;
        /* The order is what indicators and agents rely on: open prompts are withdrawn (agents get
         * Cancel), streams end and devices stop, accepted grant changes are answered, then the
         * indicators say "off"; all of it reaches the bus before it closes. */
        if (m->requests)
                requests_free_all(m);
        consent_free_all(m);
        if (m->tracks)
                tracks_drop_all(m, TRACK_END_SHUTDOWN);
        if (m->grants)
                grant_store_flush(m->grants);
        indicator_stop(m->indicator);
        if (m->bus && sd_bus_is_open(m->bus) > 0)
                (void) sd_bus_flush(m->bus);
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        manager_stop(m);
        requests_free_all(m);
        m->polkit = polkit_authority_free(m->polkit);
        if (m->tracks)
                tracks_drop_all(m, TRACK_END_SHUTDOWN);
        consent_free_all(m);
        capture_set_live_handler(NULL, NULL);
        capture_set_event_handler(NULL, NULL);
        m->on_tracks_changed = NULL;
        m->indicator = indicator_free(m->indicator);
        grant_store_free(m->grants);
        history_free(m->history);
        prompt_backoff_free(m->backoff);
        callers_free_all(m);
        m->sessions = sessions_free(m->sessions); /* after the callers, whose lookups it holds */
        hashmap_free(m->callers);
        hashmap_free(m->caller_lookups);
        hashmap_free(m->requests);
        hashmap_free(m->tracks);
        sd_bus_slot_unref(m->manager_slot);
        sd_bus_slot_unref(m->admin_slot);
        sd_bus_slot_unref(m->request_slot);
        sd_bus_slot_unref(m->track_slot);
        sd_bus_slot_unref(m->testing_slot);
        sd_bus_slot_unref(m->name_owner_slot);
        sd_bus_slot_unref(m->gate_slot);
        device_monitor_free(m->monitor);
        synthetic_backend_free(m->synthetic);
        device_registry_free(m->registry);
        policy_free(m->policy);
        if (m->bus) {
                sd_bus_flush(m->bus);
                sd_bus_close_unref(m->bus);
        }
        sd_event_unref(m->event);
        config_done(&m->config);
        free(m->state_dir);
        free(m);
        return NULL;
}

/* A connection left the bus (NameOwnerChanged): whatever it had goes. */
static void manager_peer_gone(Manager *m, const char *unique_name) {
        requests_cancel_for_owner(m, unique_name);
        tracks_drop_owner(m, unique_name);
        consent_peer_gone(m, unique_name);
        grant_store_drop_owner(m->grants, unique_name);
        polkit_authority_forget_subject(m->polkit, unique_name);
        callers_forget(m, unique_name);
        sessions_forget(m->sessions, unique_name);
}

static int on_name_owner_changed(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name, *old_owner, *new_owner;
        int r;

        r = sd_bus_message_read(message, "sss", &name, &old_owner, &new_owner);
        if (r < 0) {
                log_debug_errno(r, "Bad NameOwnerChanged signal: %m");
                return 0;
        }
        if (name[0] == ':' && isempty(new_owner))
                manager_peer_gone(m, name);
        else if (name[0] == ':' && isempty(old_owner))
                callers_connection_appeared(m, name);
        return 0;
}

static int on_name_owner_watched(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        if (!sd_bus_message_is_method_error(message, NULL))
                callers_watch_started(userdata);
        return 0;
}

/* The gate's question: whose is the request or track at path? */
static const char *object_owner(const char *interface, const char *path, void *userdata) {
        Manager *m = userdata;

        if (streq(interface, MG_IFACE_REQUEST)) {
                Request *r = hashmap_get(m->requests, path);

                return r ? request_get_owner(r) : NULL;
        }
        if (streq(interface, MG_IFACE_TRACK)) {
                Track *t = hashmap_get(m->tracks, path);

                return t ? t->owner : NULL;
        }
        return NULL;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) policy_reload(userdata);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received %s, stopping.", strsignal((int) si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1");
        /* Before the loop exits: leaving it closes the bus (sd-bus's exit handler). */
        manager_stop(m);
        return sd_event_exit(m->event, 0);
}

static int watch_signals(Manager *m) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");
        return 0;
}

static int attach_bus(Manager *m) {
        int r;

        /* Without the bus there is nothing to serve: leave the loop when it goes. */
        r = sd_bus_set_exit_on_disconnect(m->bus, true);
        if (r < 0)
                return log_error_errno(r, "Failed to set exit on disconnect: %m");
        /* Under systemd with WatchdogSec=, the loop itself pings the watchdog (none otherwise). */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the watchdog: %m");
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        /* Departures of connections end their requests, tracks and agents. */
        r = sd_bus_match_signal_async(m->bus, &m->name_owner_slot, "org.freedesktop.DBus",
                                      "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                      "NameOwnerChanged", on_name_owner_changed, on_name_owner_watched, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch connections coming and leaving: %m");
        r = polkit_authority_new(m->bus, &m->polkit);
        if (r < 0)
                return log_error_errno(r, "Failed to set up polkit checks: %m");
        r = sessions_new(m->bus, &m->sessions);
        if (r < 0)
                return log_error_errno(r, "Failed to follow logind's sessions: %m");
        sessions_set_change_handler(m->sessions, on_sessions_changed, m);
        return 0;
}

/* The gate first: no call reaches a handler without passing it. Then every object. */
static int export_objects(Manager *m) {
        int r;

        r = bus_gate_install(m, object_owner, m, &m->gate_slot);
        if (r < 0)
                return log_error_errno(r, "Failed to install the authorization gate: %m");
        r = manager_dbus_register(m);
        if (r < 0)
                return log_error_errno(r, "Failed to export the Manager object: %m");
        r = admin_dbus_register(m);
        if (r < 0)
                return log_error_errno(r, "Failed to export the Admin interface: %m");
        r = request_dbus_register(m);
        if (r < 0)
                return log_error_errno(r, "Failed to export the request objects: %m");
        r = track_dbus_register(m);
        if (r < 0)
                return log_error_errno(r, "Failed to export the track objects: %m");
        if (m->test_controls) {
                r = testing_dbus_register(m->bus, m->synthetic, &m->testing_slot);
                if (r < 0)
                        return log_error_errno(r, "Failed to export the Testing interface: %m");
                log_warning("Test controls enabled: devices can be added, removed and broken over the bus.");
        }
        r = sd_bus_add_object_manager(m->bus, NULL, MG_OBJECT_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to add the object manager: %m");
        return 0;
}

int manager_start(Manager *m) {
        int r;

        r = mediagate_error_map_register();
        if (r < 0)
                return log_error_errno(r, "Failed to register the error map: %m");
        r = watch_signals(m);
        if (r >= 0)
                r = attach_bus(m);
        if (r >= 0)
                r = export_objects(m);
        if (r < 0)
                return r;

        /* Synchronous on purpose: nothing is served before the name is ours, and a taken name
         * is a fatal configuration problem the admin must see. */
        r = sd_bus_request_name(m->bus, MG_BUS_NAME, 0);
        if (r == -EEXIST)
                return log_error_errno(r, "The bus name %s is already taken: is another mediagated running?",
                                       MG_BUS_NAME);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire the bus name %s: %m", MG_BUS_NAME);

        /* A new instance says where things stand, so that indicators never keep a stale state. */
        r = sd_bus_emit_properties_changed(m->bus, MG_OBJECT_PATH, MG_IFACE_MANAGER, "CameraAccessible",
                                           "MicrophoneAccessible", "CameraLive", "MicrophoneLive", "CameraMuted",
                                           "MicrophoneMuted", "Clients", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to publish the indicator state: %m");

        (void) sd_notify(false, "READY=1\nSTATUS=Serving cameras and microphones.");
        log_struct_internal(LOG_INFO, 0, MG_MESSAGE_DAEMON_STARTED, NULL,
                            "mediagated %s serving %zu device(s).", MEDIAGATE_VERSION,
                            device_registry_count(m->registry));
        return 0;
}

int manager_run(Manager *m) {
        return sd_event_loop(m->event);
}
