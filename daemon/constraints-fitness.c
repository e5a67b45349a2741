/* The fitness distance of docs/constraints.md: a property's value in a settings dictionary, whether
 * the required parts of a constraint hold for it (rule 2) and how far it is from the ideal
 * (rules 3 to 8), for one constraint and for a whole set. */
#include "constraints-fitness.h"

#include <assert.h>
#include <math.h>

#include "util.h"

double fitness_distance_numeric(double actual, double ideal) {
        if (actual == ideal)
                return 0.0;
        return fabs(actual - ideal) / MAX(fabs(actual), fabs(ideal));
}

SettingValue setting_value(ConstraintId id, const ConstraintCandidate *cand, const SelectedSettings *s) {
        const Device *d = cand->device;

        if (!constraint_applies(id, s->kind))
                return (SettingValue) {};

        switch (id) {
        case CONSTRAINT_DEVICE_ID:
                return (SettingValue) { .present = !isempty(cand->device_id), .string = cand->device_id };
        case CONSTRAINT_GROUP_ID:
                return (SettingValue) { .present = !isempty(cand->group_id), .string = cand->group_id };
        case CONSTRAINT_FACING_MODE:
                /* A camera that does not know where it faces lacks the property. */
                return (SettingValue) { .present = !isempty(d->facing_mode), .string = d->facing_mode };
        case CONSTRAINT_RESIZE_MODE:
                return (SettingValue) { .present = true, .string = s->crop_and_scale ? "crop-and-scale" : "none" };
        case CONSTRAINT_WIDTH:
                return (SettingValue) { .present = true, .number = s->width };
        case CONSTRAINT_HEIGHT:
                return (SettingValue) { .present = true, .number = s->height };
        case CONSTRAINT_ASPECT_RATIO:
                return (SettingValue) { .present = true, .number = s->aspect_ratio };
        case CONSTRAINT_FRAME_RATE:
                return (SettingValue) { .present = true, .number = s->frame_rate };
        case CONSTRAINT_SAMPLE_RATE:
                return (SettingValue) { .present = true, .number = s->sample_rate };
        case CONSTRAINT_SAMPLE_SIZE:
                return (SettingValue) { .present = true, .number = s->sample_size };
        case CONSTRAINT_CHANNEL_COUNT:
                return (SettingValue) { .present = true, .number = s->channel_count };
        case CONSTRAINT_LATENCY:
                return (SettingValue) { .present = true, .number = s->latency };
        case CONSTRAINT_ECHO_CANCELLATION:
                return (SettingValue) { .present = true, .boolean = s->echo_cancellation };
        case CONSTRAINT_AUTO_GAIN_CONTROL:
                return (SettingValue) { .present = true, .boolean = s->auto_gain_control };
        case CONSTRAINT_NOISE_SUPPRESSION:
                return (SettingValue) { .present = true, .boolean = s->noise_suppression };
        default:
                assert(false);
                return (SettingValue) {};
        }
}

static bool number_satisfies(ConstraintId id, const Constraint *c, double v) {
        if (id == CONSTRAINT_ASPECT_RATIO)
                return (!c->has_min || aspect_at_least(v, c->min)) &&
                       (!c->has_max || aspect_at_most(v, c->max)) &&
                       (!c->has_exact || (aspect_at_least(v, c->exact) && aspect_at_most(v, c->exact)));
        return (!c->has_min || v >= c->min) && (!c->has_max || v <= c->max) &&
               (!c->has_exact || v == c->exact);
}

/* Whether the required parts of c hold for the value (rule 2, negated). */
bool constraint_satisfied(ConstraintId id, const Constraint *c, const SettingValue *v) {
        if (!constraint_is_required(c))
                return true;
        if (c->existence)
                return c->exact_bool == v->present;
        if (!v->present)
                return false;

        switch (constraint_defs[id].type) {
        case CONSTRAINT_TYPE_WHOLE:
        case CONSTRAINT_TYPE_DOUBLE:
                return number_satisfies(id, c, v->number);
        case CONSTRAINT_TYPE_STRING:
                return strv_contains(c->exact_strv, v->string);
        case CONSTRAINT_TYPE_BOOLEAN:
                return c->exact_bool == v->boolean;
        }
        return false;
}

static double constraint_distance(ConstraintId id, const Constraint *c, const SettingValue *v) {
        if (!c->present)
                return 0.0;
        if (!constraint_satisfied(id, c, v))                    /* rule 2 */
                return INFINITY;
        if (c->existence)                                       /* rule 4 */
                return c->has_ideal && c->ideal_bool != v->present ? 1.0 : 0.0;
        if (!v->present)                                        /* rule 5 */
                return 1.0;
        if (!c->has_ideal)                                      /* rule 6 */
                return 0.0;

        switch (constraint_defs[id].type) {
        case CONSTRAINT_TYPE_WHOLE:
        case CONSTRAINT_TYPE_DOUBLE:                            /* rule 7 */
                return fitness_distance_numeric(v->number, c->ideal);
        case CONSTRAINT_TYPE_STRING:                            /* rule 8 */
                return strv_contains(c->ideal_strv, v->string) ? 0.0 : 1.0;
        case CONSTRAINT_TYPE_BOOLEAN:
                return c->ideal_bool == v->boolean ? 0.0 : 1.0;
        }
        return 0.0;
}

double constraint_set_distance(const ConstraintSet *set, const ConstraintCandidate *cand, const SelectedSettings *s) {
        double sum = 0.0;

        for (ConstraintId id = 0; id < _CONSTRAINT_MAX; id++) {
                SettingValue v;

                /* Rule 3: the other kind's properties count 0 (parsing drops them anyway). */
                if (!set->c[id].present || !constraint_applies(id, s->kind))
                        continue;
                v = setting_value(id, cand, s);
                sum += constraint_distance(id, &set->c[id], &v);
        }
        return sum;
}

bool constraint_set_satisfied_by(const ConstraintSet *set, const ConstraintCandidate *cand, const SelectedSettings *s) {
        for (ConstraintId id = 0; id < _CONSTRAINT_MAX; id++) {
                SettingValue v;

                if (!constraint_is_required(&set->c[id]) || !constraint_applies(id, s->kind))
                        continue;
                v = setting_value(id, cand, s);
                if (!constraint_satisfied(id, &set->c[id], &v))
                        return false;
        }
        return true;
}

double fitness_distance(const TrackConstraints *c, const ConstraintCandidate *cand, const SelectedSettings *s) {
        assert(c);
        assert(cand);
        assert(s);

        return constraint_set_distance(&c->basic, cand, s);
}
