/* The grant store: lasting user decisions keyed by (uid, app id, origin, kind, optional
 * device set), allow or deny, with an expiry on CLOCK_BOOTTIME. Decisions taken in a prompt
 * are scoped to the connection that asked (its unique name) and go when it leaves. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "devices/device.h"

typedef enum GrantDecision {
        GRANT_NONE,  /* nothing stored applies */
        GRANT_ALLOW,
        GRANT_DENY,
} GrantDecision;

typedef struct Grant Grant;
typedef struct GrantStore GrantStore;

GrantStore *grant_store_new(void);
GrantStore *grant_store_free(GrantStore *s);

/* Add or replace the decision for (uid, app_id, origin, kind, devices). devices: hardware ids
 * the grant is limited to, NULL = every device of the kind. expires_boottime_usec: 0 = until
 * revoked. owner: the connection the decision belongs to. */
int grant_store_set(GrantStore *s, uid_t uid, const char *app_id, const char *origin, DeviceKind kind,
                    char **devices, GrantDecision decision, uint64_t expires_boottime_usec,
                    const char *owner);

/* The decision for a caller and a device (hardware_id NULL: any device of the kind, i.e. a deny
 * for the kind or an allow without device limit). Expired entries are ignored and dropped. */
GrantDecision grant_store_lookup(GrantStore *s, uid_t uid, const char *app_id, const char *origin,
                                 DeviceKind kind, const char *hardware_id, uint64_t now_boottime_usec);

/* Forget the decisions owned by a connection that left. */
void grant_store_drop_owner(GrantStore *s, const char *owner);
