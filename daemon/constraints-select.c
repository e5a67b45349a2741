/* SelectSettings (docs/constraints.md): every settings dictionary the candidates can produce, the
 * basic set's required constraints, the advanced sets in order, then the smallest fitness
 * distance and the tie-breaks. */
#include "constraints-select.h"

#include <assert.h>
#include <math.h>

#include "constraints-fitness.h"
#include "constraints-region.h"
#include "util.h"

/* One candidate settings dictionary (a native mode, a microphone combination), or a whole
 * crop-and-scale region of one mode. */
typedef struct Entry {
        SelectedSettings s; /* crop-and-scale: the native mode's values until the point is chosen */
        Region region;
        size_t order;       /* the device's own order of its settings */
        bool alive;
        double distance, default_distance;
} Entry;

typedef struct EntryList {
        Entry *entries;
        size_t n;
} EntryList;

static void entry_list_done(EntryList *l) {
        free(l->entries);
        *l = (EntryList) {};
}

static int entry_list_add(EntryList *l, const Entry *e) {
        Entry *grown;

        grown = reallocarray(l->entries, l->n + 1, sizeof(Entry));
        if (!grown)
                return -ENOMEM;
        l->entries = grown;
        l->entries[l->n] = *e;
        l->entries[l->n].order = l->n;
        l->n++;
        return 0;
}

static int add_video_entries(EntryList *l, size_t candidate, const Device *d) {
        int r;

        for (size_t i = 0; i < d->n_modes; i++) {
                const VideoMode *mode = &d->modes[i];
                Entry e = {
                        .s = {
                                .candidate = candidate,
                                .kind = DEVICE_KIND_VIDEO,
                                .mode = i,
                                .width = mode->width,
                                .height = mode->height,
                                .frame_rate = mode->frame_rate,
                                .aspect_ratio = mode->height > 0 ? aspect_ratio_of(mode->width, mode->height) : 0,
                        },
                        .alive = true,
                };

                if (mode->width == 0 || mode->height == 0 || !(mode->frame_rate > 0))
                        continue; /* not a mode anything can be captured in */

                r = entry_list_add(l, &e);
                if (r < 0)
                        return r;

                e.s.crop_and_scale = true;
                e.region = region_from_mode(mode);
                r = entry_list_add(l, &e);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_audio_entries(EntryList *l, size_t candidate, const Device *d) {
        static const uint32_t default_sizes[] = { 16 };
        const AudioCapabilities *a = &d->audio;
        const uint32_t *sizes = a->n_sample_sizes > 0 ? a->sample_sizes : default_sizes;
        size_t n_sizes = a->n_sample_sizes > 0 ? a->n_sample_sizes : ELEMENTSOF(default_sizes);
        int r;

        for (size_t ri = 0; ri < a->n_sample_rates; ri++)
                for (size_t ci = 0; ci < a->n_channel_counts; ci++)
                        for (size_t si = 0; si < n_sizes; si++)
                                /* false first: plain capture wins ties, see the header. */
                                for (unsigned ec = 0; ec <= (unsigned) a->echo_cancellation; ec++)
                                        for (unsigned agc = 0; agc <= (unsigned) a->auto_gain_control; agc++)
                                                for (unsigned ns = 0; ns <= (unsigned) a->noise_suppression; ns++) {
                                                        Entry e = {
                                                                .s = {
                                                                        .candidate = candidate,
                                                                        .kind = DEVICE_KIND_AUDIO,
                                                                        .sample_rate = a->sample_rates[ri],
                                                                        .sample_size = sizes[si],
                                                                        .channel_count = a->channel_counts[ci],
                                                                        .latency = a->latency,
                                                                        .echo_cancellation = ec,
                                                                        .auto_gain_control = agc,
                                                                        .noise_suppression = ns,
                                                                },
                                                                .alive = true,
                                                        };

                                                        r = entry_list_add(l, &e);
                                                        if (r < 0)
                                                                return r;
                                                }
        return 0;
}

/* Whether entry e (with its region narrowed into *ret_region) satisfies the required parts of set. */
static bool entry_satisfies(const Entry *e, const ConstraintSet *set, const ConstraintCandidate *cand, Region *ret_region) {
        if (!e->s.crop_and_scale)
                return constraint_set_satisfied_by(set, cand, &e->s);

        *ret_region = e->region;
        return region_narrow(ret_region, set, cand, &e->s);
}

/* The same, for one constraint only: whether it alone is satisfiable by e. */
static bool entry_satisfies_one(const Entry *e, ConstraintId id, const Constraint *c, const ConstraintCandidate *cand) {
        SettingValue v;
        Region r;

        if (!e->s.crop_and_scale) {
                v = setting_value(id, cand, &e->s);
                return constraint_satisfied(id, c, &v);
        }
        r = e->region;
        return region_narrow_one(&r, id, c, cand, &e->s);
}

static double default_distance(const SelectedSettings *s) {
        if (s->kind == DEVICE_KIND_VIDEO)
                return fitness_distance_numeric(s->width, 640) + fitness_distance_numeric(s->height, 480) +
                       fitness_distance_numeric(s->frame_rate, 30);
        return fitness_distance_numeric(s->sample_rate, 48000) + fitness_distance_numeric(s->channel_count, 1);
}

/* Distances are sums of a few quotients; equal ones may differ in the last bits. */
static int compare_distance(double a, double b) {
        if (fabs(a - b) <= 1e-12 * MAX(1.0, MAX(fabs(a), fabs(b))))
                return 0;
        return a < b ? -1 : 1;
}

/* The order of step 4 and the tie-breaks (a) to (d). */
static int entry_compare(const Entry *a, const Entry *b, const ConstraintCandidate *candidates) {
        bool a_default, b_default;
        int r;

        r = compare_distance(a->distance, b->distance);
        if (r != 0)
                return r;
        if (a->s.crop_and_scale != b->s.crop_and_scale)       /* (a) */
                return a->s.crop_and_scale ? 1 : -1;
        r = compare_distance(a->default_distance, b->default_distance); /* (b) */
        if (r != 0)
                return r;
        a_default = candidates[a->s.candidate].device->is_default;
        b_default = candidates[b->s.candidate].device->is_default;
        if (a_default != b_default)                            /* (c) */
                return a_default ? -1 : 1;
        if (a->s.candidate != b->s.candidate)
                return a->s.candidate < b->s.candidate ? -1 : 1;
        if (a->order != b->order)                              /* (d) */
                return a->order < b->order ? -1 : 1;
        return 0;
}

/* Step 1: every settings dictionary every device of the kind can produce. False when no
 * candidate is of the kind. */
static int collect_entries(const TrackConstraints *c, const ConstraintCandidate *candidates, size_t n,
                           EntryList *l) {
        bool have_device = false;
        int r;

        for (size_t i = 0; i < n; i++) {
                const Device *d = candidates[i].device;

                if (!d || d->kind != c->kind)
                        continue;
                have_device = true;
                r = d->kind == DEVICE_KIND_VIDEO ? add_video_entries(l, i, d) : add_audio_entries(l, i, d);
                if (r < 0)
                        return r;
        }
        return have_device;
}

/* Step 2: keep what the basic set's required constraints allow. When nothing is left, the
 * failing constraint is the first (in docs/constraints.md's order) that failed for every entry. */
static bool filter_basic(const TrackConstraints *c, const ConstraintCandidate *candidates, EntryList *l,
                         const char **ret_constraint) {
        bool failed_everywhere[_CONSTRAINT_MAX];
        bool any = false;

        for (ConstraintId id = 0; id < _CONSTRAINT_MAX; id++)
                failed_everywhere[id] = constraint_is_required(&c->basic.c[id]);
        for (size_t i = 0; i < l->n; i++) {
                Entry *e = &l->entries[i];
                const ConstraintCandidate *cand = &candidates[e->s.candidate];

                for (ConstraintId id = 0; id < _CONSTRAINT_MAX; id++)
                        if (failed_everywhere[id] && entry_satisfies_one(e, id, &c->basic.c[id], cand))
                                failed_everywhere[id] = false;

                e->alive = entry_satisfies(e, &c->basic, cand, &e->region);
                any = any || e->alive;
        }
        if (!any && ret_constraint)
                for (ConstraintId id = 0; id < _CONSTRAINT_MAX; id++)
                        if (failed_everywhere[id]) {
                                *ret_constraint = constraint_defs[id].name;
                                break;
                        }
        return any;
}

/* Step 3: each advanced set in order filters, unless nothing satisfies it. */
static int filter_advanced(const TrackConstraints *c, const ConstraintCandidate *candidates, EntryList *l) {
        _cleanup_free_ bool *satisfied = NULL;
        _cleanup_free_ Region *narrowed = NULL;

        satisfied = calloc(MAX(l->n, 1U), sizeof(bool));
        narrowed = calloc(MAX(l->n, 1U), sizeof(Region));
        if (!satisfied || !narrowed)
                return -ENOMEM;

        for (size_t k = 0; k < c->n_advanced; k++) {
                bool any = false;

                for (size_t i = 0; i < l->n; i++) {
                        Entry *e = &l->entries[i];

                        satisfied[i] = e->alive &&
                                       entry_satisfies(e, &c->advanced[k], &candidates[e->s.candidate], &narrowed[i]);
                        any = any || satisfied[i];
                }
                if (!any)
                        continue;
                for (size_t i = 0; i < l->n; i++) {
                        l->entries[i].alive = satisfied[i];
                        if (satisfied[i] && l->entries[i].s.crop_and_scale)
                                l->entries[i].region = narrowed[i];
                }
        }
        return 0;
}

/* Steps 4 and 5: the smallest basic-set distance, then the tie-breaks. NULL when no entry is
 * left (a crop-and-scale region without a whole size of the required aspect ratio). */
static const Entry *choose_best(const TrackConstraints *c, const ConstraintCandidate *candidates, EntryList *l) {
        const Entry *best = NULL;

        for (size_t i = 0; i < l->n; i++) {
                Entry *e = &l->entries[i];
                const ConstraintCandidate *cand = &candidates[e->s.candidate];

                if (!e->alive)
                        continue;
                if (e->s.crop_and_scale &&
                    !region_choose_point(&e->region, &cand->device->modes[e->s.mode], &c->basic, &e->s)) {
                        e->alive = false;
                        continue;
                }
                e->distance = constraint_set_distance(&c->basic, cand, &e->s);
                if (!isfinite(e->distance)) {
                        e->alive = false;
                        continue;
                }
                e->default_distance = default_distance(&e->s);

                if (!best || entry_compare(e, best, candidates) < 0)
                        best = e;
        }
        return best;
}

int select_settings(const TrackConstraints *c, const ConstraintCandidate *candidates, size_t n,
                    SelectedSettings *ret, const char **ret_constraint) {
        _cleanup_(entry_list_done) EntryList l = {};
        const Entry *best;
        int r;

        assert(c);
        assert(candidates || n == 0);
        assert(ret);

        if (ret_constraint)
                *ret_constraint = "";

        r = collect_entries(c, candidates, n, &l);
        if (r < 0)
                return r;
        if (r == 0)
                return SELECT_SETTINGS_NO_DEVICE;

        if (!filter_basic(c, candidates, &l, ret_constraint))
                return SELECT_SETTINGS_OVERCONSTRAINED;

        r = filter_advanced(c, candidates, &l);
        if (r < 0)
                return r;

        best = choose_best(c, candidates, &l);
        if (!best)
                return SELECT_SETTINGS_OVERCONSTRAINED;

        *ret = best->s;
        return SELECT_SETTINGS_FOUND;
}
