/* The global privacy switches (Admin.SetMuted): per kind, persisted in the state directory so
 * that they survive restarts, applied to every live track of the kind. */
#pragma once

#include <stdbool.h>

#include "devices/device.h"
#include "manager-state.h"

/* Read DIR/privacy-switches into m->muted; a missing file means both off. A corrupt or
 * unreadable file is logged and means both ON: when unsure, keep the devices quiet. */
int mute_load(Manager *m);

/* Flip a switch: save it durably, then mute or resume every live track of the kind. A muted
 * switch is announced only after the tracks are cut; an unmuted one before they resume. When the
 * file cannot be written (or read: it is not written over then, -EIO) the call fails and nothing
 * changed, in memory or on disk. */
int mute_set(Manager *m, DeviceKind kind, bool muted);
