/* SelectSettings (constraints.md): the settings a track gets from its constraints and the
 * candidate devices. */
#pragma once

#include "constraints.h"

/* SelectSettings. Returns 0 and fills *ret; -ENODEV when no candidate of the constraints' kind
 * exists (NotFoundError); -ERANGE when no setting satisfies the required constraints
 * (OverconstrainedError), with *ret_constraint set to the failing constraint name per
 * constraints.md (a static string, "" if none). Candidates should be in enumeration order;
 * candidates of the other kind are ignored.
 *
 * Microphones: echoCancellation, autoGainControl and noiseSuppression are offered as false,
 * and also as true where the device can; without a constraint the result is false (the
 * device's plain capture), as the tie-break by offer order gives. */
int select_settings(const TrackConstraints *c, const ConstraintCandidate *candidates, size_t n,
                    SelectedSettings *ret, const char **ret_constraint);
