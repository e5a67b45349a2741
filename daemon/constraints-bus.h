/* The constraint engine on the bus: constraints read from and written to sd_bus_message a{sv}s,
 * and the Settings and Capabilities dictionaries. The engine itself is pure (constraints.h). */
#pragma once

#include <systemd/sd-bus.h>

#include "constraints.h"

/* Parse GetUserMedia's first argument. m is positioned at the a{sv}; on success it is consumed.
 * Returns 0, or -EINVAL for a TypeError with *ret_message set to a human readable reason
 * (e.g. "constraint 'width' has wrong type 's'", "nothing requested", "nesting too deep"),
 * -ENOMEM, or another negative errno if reading the message fails. Unknown top-level keys are
 * ignored; nothing requested at all ({}, both false, only unknown keys) is a TypeError. */
int media_stream_constraints_parse(sd_bus_message *m, MediaStreamConstraints **ret, char **ret_message);

/* Parse one MediaTrackConstraints a{sv} for `kind` (Track.ApplyConstraints). Same errors. */
int track_constraints_parse(sd_bus_message *m, DeviceKind kind, TrackConstraints **ret, char **ret_message);

/* Append the constraints as an a{sv} in the same shape the client sent, normalized: whole
 * numbers as 'u' after clamping, doubles as 'd', strings 's', lists 'as', booleans 'b', ranges
 * as a{sv} with min/max/exact/ideal, advanced as aa{sv}. Dropped names (unknown, other kind,
 * empty lists) do not appear. This is the Track "Constraints" property. */
int track_constraints_append(sd_bus_message *m, const TrackConstraints *c);

/* The Track "Settings" property (getSettings()) and getCapabilities() as a{sv}; the keys and
 * signatures are constraints-settings.h's. */
int selected_settings_append(sd_bus_message *m, const SelectedSettings *s, const ConstraintCandidate *cand);
int device_capabilities_append(sd_bus_message *m, const ConstraintCandidate *cand);
