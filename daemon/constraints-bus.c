/* The constraint engine on the bus: its parser bound to an sd_bus_message, and constraints,
 * settings and capabilities written back as a{sv}. The only part of the engine with bus code. */
#include "constraints-bus.h"

#include <assert.h>

#include "bus-dict.h"
#include "constraints-parse.h"
#include "constraints-settings.h"
#include "util.h"

/* ---- Reading constraints off a message ---- */

static int message_peek(void *userdata, char *ret_type, const char **ret_contents) {
        return sd_bus_message_peek_type(userdata, ret_type, ret_contents);
}

static int message_enter(void *userdata, char type, const char *contents) {
        return sd_bus_message_enter_container(userdata, type, contents);
}

static int message_exit(void *userdata) {
        return sd_bus_message_exit_container(userdata);
}

static int message_skip(void *userdata, const char *types) {
        return sd_bus_message_skip(userdata, types);
}

static int message_read_basic(void *userdata, char type, void *ret) {
        return sd_bus_message_read_basic(userdata, type, ret);
}

static ConstraintSource message_source(sd_bus_message *m) {
        return (ConstraintSource) {
                .userdata = m,
                .peek = message_peek,
                .enter = message_enter,
                .exit = message_exit,
                .skip = message_skip,
                .read_basic = message_read_basic,
        };
}

int media_stream_constraints_parse(sd_bus_message *m, MediaStreamConstraints **ret, char **ret_message) {
        ConstraintSource src;

        assert(m);
        src = message_source(m);
        return media_stream_constraints_read(&src, ret, ret_message);
}

int track_constraints_parse(sd_bus_message *m, DeviceKind kind, TrackConstraints **ret, char **ret_message) {
        ConstraintSource src;

        assert(m);
        src = message_source(m);
        return track_constraints_read(&src, kind, ret, ret_message);
}

/* ---- Appending constraints back (the Track "Constraints" property) ---- */

static int append_value(sd_bus_message *m, ConstraintId id, const Constraint *c, RangeMember which) {
        const ConstraintDef *def = &constraint_defs[id];
        bool exact_side = which == RANGE_EXACT;
        int r;

        if (c->existence)
                return sd_bus_message_append(m, "v", "b", (int) (exact_side ? c->exact_bool : c->ideal_bool));

        switch (def->type) {

        case CONSTRAINT_TYPE_WHOLE:
        case CONSTRAINT_TYPE_DOUBLE: {
                double v = which == RANGE_MIN ? c->min : which == RANGE_MAX ? c->max :
                           exact_side ? c->exact : c->ideal;

                if (def->type == CONSTRAINT_TYPE_WHOLE)
                        return sd_bus_message_append(m, "v", "u", (uint32_t) v);
                return sd_bus_message_append(m, "v", "d", v);
        }

        case CONSTRAINT_TYPE_STRING: {
                char **l = exact_side ? c->exact_strv : c->ideal_strv;

                if (!(exact_side ? c->exact_is_list : c->ideal_is_list))
                        return sd_bus_message_append(m, "v", "s", l[0]);
                r = sd_bus_message_open_container(m, 'v', "as");
                if (r < 0)
                        return r;
                r = sd_bus_message_append_strv(m, l);
                if (r < 0)
                        return r;
                return sd_bus_message_close_container(m);
        }

        case CONSTRAINT_TYPE_BOOLEAN:
                return sd_bus_message_append(m, "v", "b", (int) (exact_side ? c->exact_bool : c->ideal_bool));
        }
        assert(false);
        return -EINVAL;
}

/* Open a variant of signature "a<element>" and the array in it. */
static int open_array_variant(sd_bus_message *m, const char *element) {
        char signature[16];
        int r;

        assert(strlen(element) < sizeof signature - 1);
        snprintf(signature, sizeof signature, "a%s", element);
        r = sd_bus_message_open_container(m, 'v', signature);
        if (r < 0)
                return r;
        return sd_bus_message_open_container(m, 'a', element);
}

/* A constraint given as a dictionary: its min/max/exact/ideal, in that order. */
static int append_range(sd_bus_message *m, ConstraintId id, const Constraint *c) {
        const bool has[_RANGE_MAX] = {
                [RANGE_MIN] = c->has_min,
                [RANGE_MAX] = c->has_max,
                [RANGE_EXACT] = c->has_exact,
                [RANGE_IDEAL] = c->has_ideal,
        };
        int r;

        r = open_array_variant(m, "{sv}");
        if (r < 0)
                return r;
        for (RangeMember which = 0; which < _RANGE_MAX; which++) {
                if (!has[which])
                        continue;
                r = bus_dict_open_entry(m, range_member_to_string(which));
                if (r < 0)
                        return r;
                r = append_value(m, id, c, which);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        return bus_message_close_containers(m, 2);
}

static int append_set(sd_bus_message *m, const ConstraintSet *set, bool in_advanced) {
        int r;

        for (ConstraintId id = 0; id < _CONSTRAINT_MAX; id++) {
                const Constraint *c = &set->c[id];

                if (!c->present)
                        continue;

                r = bus_dict_open_entry(m, constraint_defs[id].name);
                if (r < 0)
                        return r;
                if (c->bare)
                        r = append_value(m, id, c, in_advanced ? RANGE_EXACT : RANGE_IDEAL);
                else
                        r = append_range(m, id, c);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* "advanced": the advanced sets as aa{sv}. */
static int append_advanced(sd_bus_message *m, const TrackConstraints *c) {
        int r;

        r = bus_dict_open_entry(m, "advanced");
        if (r < 0)
                return r;
        r = open_array_variant(m, "a{sv}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_advanced; i++) {
                r = sd_bus_message_open_container(m, 'a', "{sv}");
                if (r < 0)
                        return r;
                r = append_set(m, &c->advanced[i], true);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        return bus_message_close_containers(m, 3);
}

int track_constraints_append(sd_bus_message *m, const TrackConstraints *c) {
        int r;

        assert(m);
        assert(c);

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        r = append_set(m, &c->basic, false);
        if (r < 0)
                return r;
        if (c->n_advanced > 0) {
                r = append_advanced(m, c);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

/* ---- Settings and capabilities ---- */

static int settings_entry_append(sd_bus_message *m, const SettingsEntry *e) {
        switch (e->type) {
        case SETTINGS_U32:
                return bus_dict_append(m, e->key, "u", e->u32);
        case SETTINGS_DOUBLE:
                return bus_dict_append(m, e->key, "d", e->number);
        case SETTINGS_STRING:
                return bus_dict_append(m, e->key, "s", e->string);
        case SETTINGS_BOOLEAN:
                return bus_dict_append(m, e->key, "b", (int) e->boolean);
        case SETTINGS_RANGE_U32:
                return bus_dict_append(m, e->key, "(uu)", e->range_u32.min, e->range_u32.max);
        case SETTINGS_RANGE_DOUBLE:
                return bus_dict_append(m, e->key, "(dd)", e->range_double.min, e->range_double.max);
        case SETTINGS_STRINGS:
                return bus_dict_append_strv(m, e->key, (char **) e->strings.strings);
        case SETTINGS_BOOLEANS:
                if (e->booleans.n == 2)
                        return bus_dict_append(m, e->key, "ab", 2, (int) e->booleans.values[0],
                                               (int) e->booleans.values[1]);
                return bus_dict_append(m, e->key, "ab", 1, (int) e->booleans.values[0]);
        }
        assert(false);
        return -EINVAL;
}

static int settings_dict_append(sd_bus_message *m, const SettingsDict *d) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < d->n; i++) {
                r = settings_entry_append(m, &d->entries[i]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

int selected_settings_append(sd_bus_message *m, const SelectedSettings *s, const ConstraintCandidate *cand) {
        SettingsDict d;

        assert(m);
        selected_settings_describe(s, cand, &d);
        return settings_dict_append(m, &d);
}

int device_capabilities_append(sd_bus_message *m, const ConstraintCandidate *cand) {
        SettingsDict d;

        assert(m);
        device_capabilities_describe(cand, &d);
        return settings_dict_append(m, &d);
}
