/* SelectSettings (docs/constraints.md): the settings a track gets from its constraints and the
 * candidate devices. */
#pragma once

#include "constraints.h"

typedef enum SelectSettingsResult {
        SELECT_SETTINGS_FOUND,           /* *ret is filled */
        SELECT_SETTINGS_NO_DEVICE,       /* no candidate of the constraints' kind: NotFoundError */
        SELECT_SETTINGS_OVERCONSTRAINED, /* no setting satisfies the required constraints */
} SelectSettingsResult;

/* SelectSettings. Returns a SelectSettingsResult, or -ENOMEM. When overconstrained,
 * *ret_constraint is the failing constraint's name per docs/constraints.md (a static string, "" if
 * none: OverconstrainedError). Candidates should be in enumeration order; candidates of the
 * other kind are ignored.
 *
 * Microphones: echoCancellation, autoGainControl and noiseSuppression are offered as false,
 * and also as true where the device can; without a constraint the result is false (the
 * device's plain capture), as the tie-break by offer order gives. */
int select_settings(const TrackConstraints *c, const ConstraintCandidate *candidates, size_t n,
                    SelectedSettings *ret, const char **ret_constraint);
