/* The fitness distance of docs/constraints.md: a property's value in a settings dictionary, whether
 * the required parts of a constraint hold for it (rule 2), and the distance from the ideals. */
#pragma once

#include "constraints.h"

/* A property's value in a settings dictionary. */
typedef struct SettingValue {
        bool present;
        double number;
        const char *string;
        bool boolean;
} SettingValue;

/* The value of property id in the settings s of the candidate (not present for the other
 * kind's properties, nor for a facingMode or id the device does not have). */
SettingValue setting_value(ConstraintId id, const ConstraintCandidate *cand, const SelectedSettings *s);

/* Whether the required parts of c hold for the value v (rule 2, negated). */
bool constraint_satisfied(ConstraintId id, const Constraint *c, const SettingValue *v);

/* The sum of the distances of the set's constraints for settings s (INFINITY when a required
 * part fails), and whether all of its required parts hold. */
double constraint_set_distance(const ConstraintSet *set, const ConstraintCandidate *cand, const SelectedSettings *s);
bool constraint_set_satisfied_by(const ConstraintSet *set, const ConstraintCandidate *cand,
                                 const SelectedSettings *s);

/* The fitness distance of one settings point against the basic set (for tests and ranking). */
double fitness_distance(const TrackConstraints *c, const ConstraintCandidate *cand, const SelectedSettings *s);
double fitness_distance_numeric(double actual, double ideal); /* rule 7 */
