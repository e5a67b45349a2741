/* MgClient: the connection to mediagated and the bus-wide signals that concern its requests and
 * tracks, routed to the handlers request.c wires (the client knows neither). */
#pragma once

#include "internal.h"

/* What the client's signal subscriptions report, for the layers above to act on. */
typedef struct ClientHandlers {
        /* A track's Ended signal; the reason as the daemon gave it. */
        void (*track_ended)(MgClient *c, const char *path, const char *reason);
        /* A track's PropertiesChanged; m is at its changed properties' a{sv}. */
        void (*track_properties_changed)(MgClient *c, const char *path, sd_bus_message *m);
        /* mediagated left the bus: nothing pending will be answered and every track is gone. */
        void (*daemon_vanished)(MgClient *c);
} ClientHandlers;

struct MgClient {
        unsigned n_ref;
        sd_bus *bus;

        /* Installed before the first GetUserMedia, so that no signal of a new track is missed. */
        bool watching;
        sd_bus_slot *track_ended_slot;
        sd_bus_slot *track_properties_slot;
        sd_bus_slot *owner_slot;

        sd_bus_slot *devices_changed_slot;
        MgDevicesChangedCallback devices_changed;
        void *devices_changed_userdata;

        MgRequest *requests; /* pending, not referenced */
        MgTrack *tracks;     /* every track object alive, not referenced */

        const ClientHandlers *handlers; /* set by client_watch() */
};

/* Subscribe to the signals of mediagated's tracks and to its leaving the bus, and route them to
 * handlers (which must outlive the client). Once per client; later calls change nothing. */
int client_watch(MgClient *c, const ClientHandlers *handlers, MgError *err);
