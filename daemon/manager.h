/* The daemon's life: building the Manager, wiring its modules together, connecting to the bus,
 * serving, shutting down. Only main.c uses this; the modules share manager-state.h. */
#pragma once

#include <stdbool.h>

#include "manager-state.h"

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
/* Wind down while the bus is still there: prompts withdrawn, streams ended, the indicators
 * published off. SIGTERM and SIGINT do it before the loop exits; manager_free() does it
 * otherwise. Once only. */
void manager_stop(Manager *m);

