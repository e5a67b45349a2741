/* The global privacy switches (Admin.SetMuted): per kind, persisted in the state directory so
 * that they survive restarts, applied to every live track of the kind. */
#pragma once

#include <stdbool.h>

#include "devices/device.h"
#include "manager-state.h"

/* Read DIR/privacy-switches into m->muted; a missing file means both off. A corrupt file is
 * logged and means both ON: when unsure, keep the devices quiet. */
int mute_load(Manager *m);

/* Flip a switch: save it, then mute or resume every live track of the kind. */
int mute_set(Manager *m, DeviceKind kind, bool muted);
