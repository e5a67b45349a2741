/* Exposure: whether device information of a kind may be shown to a caller (app id + origin).
 * The one place that decides it (docs/architecture.md, "What a caller may learn"). */
#pragma once

#include <stdbool.h>

#include "devices/device.h"
#include "manager-state.h"

/* True when the caller (uid, app id, origin) holds a granted permission for the kind or has a
 * live track of it. */
bool exposure_holds(Manager *m, const Caller *caller, const char *origin, DeviceKind kind);
