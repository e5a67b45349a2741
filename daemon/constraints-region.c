/* Crop-and-scale regions (docs/constraints.md, "A camera's candidates"): the sizes and
 * rates one native mode offers through cropping, scaling and decimation, narrowed by required
 * constraints, and the point of a region nearest to the ideals. */
#include "constraints-region.h"

#include <math.h>

#include "constraints-fitness.h"
#include "util.h"

/* Heights and widths scanned one by one at most, to find integer sizes of a required aspect ratio. */
#define REGION_SCAN_MAX 65536

Region region_from_mode(const VideoMode *mode) {
        return (Region) {
                .w_min = 1,
                .w_max = mode->width,
                .h_min = 1,
                .h_max = mode->height,
                /* Decimation goes down to a floor, never to 0. */
                .f_min = MIN(CONSTRAINTS_MIN_DECIMATED_FRAME_RATE, mode->frame_rate),
                .f_max = mode->frame_rate,
                .a_min = 0.0,
                .a_max = INFINITY,
        };
}

static bool region_aspect_ok(const Region *r, int64_t w, int64_t h) {
        double a = aspect_ratio_of(w, h);

        return aspect_at_least(a, r->a_min) && aspect_at_most(a, r->a_max);
}

/* The widths in the region that give height h a required aspect ratio: [*ret_a, *ret_b].
 * The aspect ratio grows with the width, so that is one interval; the estimate from the
 * bounds is off by rounding only, which the two steps either way correct. */
static bool region_widths_for_height(const Region *r, int64_t h, int64_t *ret_a, int64_t *ret_b) {
        int64_t a = r->w_min, b = r->w_max;

        if (r->a_min > 0) {
                double est = ceil((r->a_min - CONSTRAINTS_ASPECT_TOLERANCE) * (double) h);
                int64_t x = est <= (double) a ? a : est >= (double) (b + 1) ? b + 1 : (int64_t) est;

                while (x > a && aspect_at_least(aspect_ratio_of(x - 1, h), r->a_min))
                        x--;
                while (x <= b && !aspect_at_least(aspect_ratio_of(x, h), r->a_min))
                        x++;
                a = x;
        }
        if (isfinite(r->a_max)) {
                double est = floor((r->a_max + CONSTRAINTS_ASPECT_TOLERANCE) * (double) h);
                int64_t y = est <= (double) (a - 1) ? a - 1 : est >= (double) b ? b : (int64_t) est;

                while (y < b && aspect_at_most(aspect_ratio_of(y + 1, h), r->a_max))
                        y++;
                while (y >= a && !aspect_at_most(aspect_ratio_of(y, h), r->a_max))
                        y--;
                b = y;
        }
        *ret_a = a;
        *ret_b = b;
        return a <= b;
}

/* The heights in the region that give width w a required aspect ratio (it falls as h grows). */
static bool region_heights_for_width(const Region *r, int64_t w, int64_t *ret_a, int64_t *ret_b) {
        int64_t a = r->h_min, b = r->h_max;

        if (isfinite(r->a_max)) {
                double bound = r->a_max + CONSTRAINTS_ASPECT_TOLERANCE;
                double est = bound > 0 ? ceil((double) w / bound) : INFINITY;
                int64_t x = est <= (double) a ? a : est >= (double) (b + 1) ? b + 1 : (int64_t) est;

                while (x > a && aspect_at_most(aspect_ratio_of(w, x - 1), r->a_max))
                        x--;
                while (x <= b && !aspect_at_most(aspect_ratio_of(w, x), r->a_max))
                        x++;
                a = x;
        }
        if (r->a_min > 0) {
                double bound = r->a_min - CONSTRAINTS_ASPECT_TOLERANCE;
                double est = bound > 0 ? floor((double) w / bound) : INFINITY;
                int64_t y = est <= (double) (a - 1) ? a - 1 : est >= (double) b ? b : (int64_t) est;

                while (y < b && aspect_at_least(aspect_ratio_of(w, y + 1), r->a_min))
                        y++;
                while (y >= a && !aspect_at_least(aspect_ratio_of(w, y), r->a_min))
                        y--;
                b = y;
        }
        *ret_a = a;
        *ret_b = b;
        return a <= b;
}

static bool region_aspect_feasible(const Region *r) {
        double lo, hi;

        if (r->a_min <= 0 && !isfinite(r->a_max))
                return true;

        /* docs/constraints.md: [w_min / h_max, w_max / h_min] must meet the required interval... */
        lo = (double) r->w_min / (double) r->h_max;
        hi = (double) r->w_max / (double) r->h_min;
        if (!aspect_at_least(aspect_ratio_round(hi), r->a_min) || !aspect_at_most(aspect_ratio_round(lo), r->a_max))
                return false;

        /* ...and some whole width and height must give it (an exact ratio like pi has none in a
         * small frame). Too tall a region to scan is taken on the interval test alone. */
        if (r->h_max - r->h_min >= REGION_SCAN_MAX)
                return true;
        for (int64_t h = r->h_min; h <= r->h_max; h++) {
                int64_t a, b;

                if (region_widths_for_height(r, h, &a, &b))
                        return true;
        }
        return false;
}

static bool region_is_empty(const Region *r) {
        return r->w_min > r->w_max || r->h_min > r->h_max || r->f_min > r->f_max ||
               !region_aspect_feasible(r);
}

static void range_bounds(const Constraint *c, double *lo, double *hi) {
        *lo = -INFINITY;
        *hi = INFINITY;
        if (c->has_min)
                *lo = MAX(*lo, c->min);
        if (c->has_max)
                *hi = MIN(*hi, c->max);
        if (c->has_exact) {
                *lo = MAX(*lo, c->exact);
                *hi = MIN(*hi, c->exact);
        }
}

static void narrow_int(int64_t *min, int64_t *max, double lo, double hi) {
        if (lo > (double) *min)
                *min = lo > (double) INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t) ceil(lo);
        if (hi < (double) *max)
                *max = hi < (double) (INT64_MIN / 2) ? INT64_MIN / 2 : (int64_t) floor(hi);
}

/* Narrow r by the required parts of one constraint; false when nothing of the region satisfies
 * it. Non-numeric constraints hold or fail for the region as a whole (crop is the settings
 * template: the device and resizeMode "crop-and-scale"). */
bool region_narrow_one(Region *r, ConstraintId id, const Constraint *c, const ConstraintCandidate *cand,
                       const SelectedSettings *crop) {
        double lo, hi;

        if (!constraint_is_required(c) || !constraint_applies(id, DEVICE_KIND_VIDEO))
                return true;

        switch (id) {
        case CONSTRAINT_WIDTH:
        case CONSTRAINT_HEIGHT:
        case CONSTRAINT_FRAME_RATE:
        case CONSTRAINT_ASPECT_RATIO:
                if (c->existence)
                        return c->exact_bool; /* these settings always have the property */
                range_bounds(c, &lo, &hi);
                if (id == CONSTRAINT_WIDTH)
                        narrow_int(&r->w_min, &r->w_max, lo, hi);
                else if (id == CONSTRAINT_HEIGHT)
                        narrow_int(&r->h_min, &r->h_max, lo, hi);
                else if (id == CONSTRAINT_FRAME_RATE) {
                        r->f_min = MAX(r->f_min, lo);
                        r->f_max = MIN(r->f_max, hi);
                } else {
                        r->a_min = MAX(r->a_min, lo);
                        r->a_max = MIN(r->a_max, hi);
                }
                return !region_is_empty(r);

        default: {
                SettingValue v = setting_value(id, cand, crop);
                return constraint_satisfied(id, c, &v);
        }
        }
}

bool region_narrow(Region *r, const ConstraintSet *set, const ConstraintCandidate *cand,
                   const SelectedSettings *crop) {
        for (ConstraintId id = 0; id < _CONSTRAINT_MAX; id++)
                if (!region_narrow_one(r, id, &set->c[id], cand, crop))
                        return false;
        return true;
}

static int64_t clamp_round(double v, int64_t lo, int64_t hi) {
        if (isnan(v) || v <= (double) lo)
                return lo;
        if (v >= (double) hi)
                return hi;
        return CLAMP((int64_t) llround(v), lo, hi);
}

/* Whether c has an ideal value (not an existence test). */
static bool has_ideal_value(const Constraint *c) {
        return c->present && c->has_ideal && !c->existence;
}

/* The size nearest to the basic set's ideals: the ideal width and height where given, the other
 * one from the ideal aspect ratio (else the mode's), and without either the native size scaled
 * into the region, cut to the ideal ratio. */
static void region_ideal_size(const Region *r, const VideoMode *mode, const ConstraintSet *basic, int64_t *ret_w,
                              int64_t *ret_h) {
        const Constraint *cw = &basic->c[CONSTRAINT_WIDTH], *ch = &basic->c[CONSTRAINT_HEIGHT],
                         *ca = &basic->c[CONSTRAINT_ASPECT_RATIO];
        bool iw = has_ideal_value(cw), ih = has_ideal_value(ch);
        bool ia = has_ideal_value(ca) && ca->ideal > 0;
        double ratio = ia ? ca->ideal : (double) mode->width / (double) mode->height;

        if (iw && ih) {
                *ret_w = clamp_round(cw->ideal, r->w_min, r->w_max);
                *ret_h = clamp_round(ch->ideal, r->h_min, r->h_max);
        } else if (iw) {
                *ret_w = clamp_round(cw->ideal, r->w_min, r->w_max);
                *ret_h = clamp_round((double) *ret_w / ratio, r->h_min, r->h_max);
        } else if (ih) {
                *ret_h = clamp_round(ch->ideal, r->h_min, r->h_max);
                *ret_w = clamp_round((double) *ret_h * ratio, r->w_min, r->w_max);
        } else {
                double scale = MIN(1.0, MIN((double) r->w_max / mode->width, (double) r->h_max / mode->height));
                double ws = mode->width * scale, hs = mode->height * scale;

                if (ia) {
                        /* The largest size of the ideal ratio inside the scaled native size. */
                        if (ws / hs >= ratio)
                                ws = hs * ratio;
                        else
                                hs = ws / ratio;
                }
                *ret_w = clamp_round(ws, r->w_min, r->w_max);
                *ret_h = clamp_round(hs, r->h_min, r->h_max);
        }
}

/* The whole size of the region's required aspect ratio nearest to (*w, *h), by the sum of the
 * relative changes of both; false when there is none or the region is too tall to scan. */
static bool region_nearest_size(const Region *r, int64_t *w, int64_t *h) {
        double best = INFINITY;
        int64_t best_w = 0, best_h = 0, a, b;

        if (r->h_max - r->h_min >= REGION_SCAN_MAX)
                return false;
        for (int64_t y = r->h_min; y <= r->h_max; y++) {
                double cost;
                int64_t x;

                if (!region_widths_for_height(r, y, &a, &b))
                        continue;
                x = CLAMP(*w, a, b);
                cost = fabs((double) (x - *w)) / (double) *w + fabs((double) (y - *h)) / (double) *h;
                if (cost < best) {
                        best = cost;
                        best_w = x;
                        best_h = y;
                }
        }
        if (!isfinite(best))
                return false;
        *w = best_w;
        *h = best_h;
        return true;
}

/* Make (*w, *h) meet the region's required aspect ratio: move the dimension without an ideal
 * (else the height) to the nearest value that does; if it cannot, the other one; if neither can
 * alone, the nearest whole size that does. False when no whole size does. */
static bool region_fit_aspect(const Region *r, bool move_width_first, int64_t *w, int64_t *h) {
        int64_t a, b;

        if (region_aspect_ok(r, *w, *h))
                return true;
        for (unsigned attempt = 0; attempt < 2; attempt++) {
                bool move_width = move_width_first == (attempt == 0);

                if (move_width && region_widths_for_height(r, *h, &a, &b)) {
                        *w = CLAMP(*w, a, b);
                        return true;
                }
                if (!move_width && region_heights_for_width(r, *w, &a, &b)) {
                        *h = CLAMP(*h, a, b);
                        return true;
                }
        }
        return region_nearest_size(r, w, h);
}

/* The point of the final region nearest to the basic set's ideals (docs/constraints.md, "A
 * camera's candidates"). Fills width, height, frame rate and aspect ratio of s; false
 * when no whole width and height meet the required aspect ratio. */
bool region_choose_point(const Region *r, const VideoMode *mode, const ConstraintSet *basic, SelectedSettings *s) {
        const Constraint *cf = &basic->c[CONSTRAINT_FRAME_RATE];
        bool move_width_first = has_ideal_value(&basic->c[CONSTRAINT_HEIGHT]) &&
                                !has_ideal_value(&basic->c[CONSTRAINT_WIDTH]);
        int64_t w, h;

        region_ideal_size(r, mode, basic, &w, &h);
        if (!region_fit_aspect(r, move_width_first, &w, &h))
                return false;

        s->width = (uint32_t) w;
        s->height = (uint32_t) h;
        s->aspect_ratio = aspect_ratio_of(w, h);
        s->frame_rate = CLAMP(has_ideal_value(cf) ? cf->ideal : mode->frame_rate, r->f_min, r->f_max);
        return true;
}
