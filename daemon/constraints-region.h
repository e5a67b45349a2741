/* Crop-and-scale regions (docs/constraints.md, "A camera's candidates"): what one native mode
 * offers through cropping, scaling and decimation, narrowed by required constraints. */
#pragma once

#include "constraints.h"

/* The crop-and-scale candidates of one native mode, narrowed by required constraints.
 * a_min/a_max are the required aspect-ratio bounds as given (0 and infinity: none);
 * the tolerance applies where they are compared. */
typedef struct Region {
        int64_t w_min, w_max, h_min, h_max;
        double f_min, f_max;
        double a_min, a_max;
} Region;

/* Everything a mode offers: sizes from 1x1 to its own, rates from the decimation floor to its own. */
Region region_from_mode(const VideoMode *mode);

/* Narrow r by the required parts of one constraint, or of every constraint of a set; false when
 * nothing of the region satisfies them. Non-numeric constraints hold or fail for the region as a
 * whole (crop is the settings template: the device and resizeMode "crop-and-scale"). */
bool region_narrow_one(Region *r, ConstraintId id, const Constraint *c, const ConstraintCandidate *cand,
                       const SelectedSettings *crop);
bool region_narrow(Region *r, const ConstraintSet *set, const ConstraintCandidate *cand,
                   const SelectedSettings *crop);

/* The point of the final region nearest to the basic set's ideals. Fills width, height, frame
 * rate and aspect ratio of s; false when no whole width and height meet the required aspect ratio. */
bool region_choose_point(const Region *r, const VideoMode *mode, const ConstraintSet *basic, SelectedSettings *s);
