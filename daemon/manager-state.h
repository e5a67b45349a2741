/* The daemon's state: the event loop, the bus, the configuration, the device registry and
 * the tables of callers, requests and tracks. One Manager per process. The modules read and
 * change it; manager.c (manager.h) builds it, wires the modules together and runs the loop. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "device-id.h"
#include "devices/device.h"
#include "hashmap.h"
#include "history.h"

typedef struct Caller Caller;
typedef struct Policy Policy;
typedef struct SyntheticBackend SyntheticBackend;
typedef struct DeviceMonitor DeviceMonitor;
typedef struct GrantStore GrantStore;
typedef struct ConsentRegistry ConsentRegistry;
typedef struct Indicator Indicator;
typedef struct PromptBackoff PromptBackoff;
typedef struct History History;
typedef struct PolkitAuthority PolkitAuthority;
typedef struct Sessions Sessions;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        Config config;
        bool test_controls;
        char *state_dir;
        DeviceIdSecret device_id_secret;

        DeviceRegistry *registry;
        SyntheticBackend *synthetic;
        DeviceMonitor *monitor;       /* the real devices and their hotplug */
        Policy *policy;           /* the admin policy (policy.d) */

        Hashmap *callers;        /* unique name → Caller, identified connections */
        Hashmap *caller_lookups; /* unique name → CallerLookup, identification in flight */
        Hashmap *connections_seen; /* unique name → when it appeared on the bus (callers.c) */
        uint64_t connections_seen_since; /* CLOCK_BOOTTIME µs the watch of appearances began */
        Hashmap *requests;       /* object path → Request, pending */
        Hashmap *tracks;         /* object path → Track, live */
        GrantStore *grants;           /* lasting user decisions, kept in the state directory */
        History *history;             /* the access history, kept in the state directory */
        ConsentRegistry *consent;
        Indicator *indicator;
        PromptBackoff *backoff;       /* prompts refused again and again are not shown for a while */
        bool muted[_DEVICE_KIND_MAX]; /* the global privacy switches */
        bool stopped;                 /* manager_stop() ran */
        PolkitAuthority *polkit;      /* polkit checks, their cache, calls parked for polkit */
        Sessions *sessions;           /* logind: each caller's session, and which are in front */

        sd_bus_slot *manager_slot;
        sd_bus_slot *admin_slot;
        sd_bus_slot *request_slot;
        sd_bus_slot *track_slot;
        sd_bus_slot *testing_slot;
        sd_bus_slot *name_owner_slot;
        sd_bus_slot *gate_slot;       /* the authorization gate in front of every object */

        /* Called after every change the indicators show (a track starting, ending, enabled,
         * muted): manager.c wires the indicator to it, so that no module below calls up. */
        void (*on_tracks_changed)(struct Manager *m);
} Manager;

static inline void manager_tracks_changed(Manager *m) {
        if (m->on_tracks_changed)
                m->on_tracks_changed(m);
}
