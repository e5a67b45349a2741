/* The bus surface of org.mediagate.MediaGate1.Admin on the root object. */
#pragma once

#include <systemd/sd-bus.h>

#include "admin-access.h"
#include "manager-state.h"

int admin_dbus_register(Manager *m);

/* One call of ListGrants, GetHistory, SetGrant or RevokeGrant, read once by the gate (to judge
 * it with admin_access()) and again by its handler (to act on it). */
typedef struct AdminCall {
        AdminOperation op;
        AdminTarget target; /* target.app_id is app_id below */
        char *app_id;       /* NULL: every app (filters only) */
        char *origin;       /* SetGrant/RevokeGrant: normalized, NULL for none; ListGrants: the filter */
        int kind;           /* a DeviceKind, -1: any (filters only) */
        char **devices;     /* hardware ids; NULL: every device of the kind */
        int decision;       /* SetGrant: a GrantDecision */
        uint32_t seconds;   /* SetGrant: a timed allow */
        uint64_t since;     /* GetHistory */
} AdminCall;

/* Read the call's arguments (message at its start; the member decides which) for caller.
 * InvalidArgs in *error for bad input; -EINVAL for a member that is not one of the four. */
int admin_call_read(sd_bus_message *message, const Caller *caller, AdminCall *ret, sd_bus_error *error);
void admin_call_done(AdminCall *c);
