/* The daemon's state: the event loop, the bus, the configuration, the device registry and
 * the tables of callers, requests and tracks. One Manager per process. */
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
        Hashmap *requests;       /* object path → Request, pending */
        Hashmap *tracks;         /* object path → Track, live */
        GrantStore *grants;           /* lasting user decisions, kept in the state directory */
        History *history;             /* the access history, kept in the state directory */
        ConsentRegistry *consent;
        Indicator *indicator;
        PromptBackoff *backoff;       /* prompts refused again and again are not shown for a while */
        bool muted[_DEVICE_KIND_MAX]; /* the global privacy switches */
        Hashmap *polkit_registry;     /* privileged calls waiting for polkit */

        sd_bus_slot *manager_slot;
        sd_bus_slot *admin_slot;
        sd_bus_slot *request_slot;
        sd_bus_slot *track_slot;
        sd_bus_slot *testing_slot;
        sd_bus_slot *name_owner_slot;
        sd_bus_slot *gate_slot;       /* the authorization gate in front of every object */
} Manager;

typedef struct ManagerOptions {
        bool user_bus;       /* --session */
        bool test_controls;  /* --test-controls */
        const char *config_file;
        const char *synthetic_file;
} ManagerOptions;

int manager_new(const ManagerOptions *options, Manager **ret);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m) {
        if (*m)
                manager_free(*m);
}
/* Connect to the bus, export the objects, take the name; then serve until a signal. */
int manager_start(Manager *m);
int manager_run(Manager *m);

/* Re-read the admin policy (Admin.ReloadPolicy, SIGHUP) and end the live tracks it now denies.
 * When the directory cannot be read at all the old policy stays. */
int manager_reload_policy(Manager *m);

/* Append to the access history (and the journal); failures are logged, never fatal. extra: NULL
 * or key, value, ..., NULL. The caller's broker, if any, is named in the event. */
void history_record(Manager *m, HistoryEventType type, const Caller *caller, const char *origin, DeviceKind kind,
                    const char *device, uint64_t duration_usec, char **extra);
/* The same for an app named by its key rather than a caller (Admin's RevokeGrant). */
void history_record_key(Manager *m, HistoryEventType type, uid_t uid, const char *app_id, const char *origin,
                        DeviceKind kind, const char *device, uint64_t duration_usec, char **extra);

/* Called when a connection leaves the bus (NameOwnerChanged). */
void manager_peer_gone(Manager *m, const char *unique_name);
