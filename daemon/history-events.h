/* The access history's events as the modules record them: from a caller (a request, a track) or
 * from a grant's key (Admin's RevokeGrant), naming a broker when one asked. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "devices/device.h"
#include "history.h"
#include "manager-state.h"

/* Append to the access history (and the journal); failures are logged, never fatal. extra: NULL
 * or key, value, ..., NULL. The caller's broker, if any, is named in the event. */
void history_record(Manager *m, HistoryEventType type, const Caller *caller, const char *origin, DeviceKind kind,
                    const char *device, uint64_t duration_usec, char **extra);
/* The same for an app named by its key rather than a caller (Admin's RevokeGrant). */
void history_record_key(Manager *m, HistoryEventType type, uid_t uid, const char *app_id, const char *origin,
                        DeviceKind kind, const char *device, uint64_t duration_usec, char **extra);
