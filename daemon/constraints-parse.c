/* Reading MediaStreamConstraints and MediaTrackConstraints (docs/constraints.md, "What each
 * form means") into plain C: which names count, which shapes each takes, the limits, and every TypeError's reason. */
#include "constraints-parse.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>

#include "bus-number.h"
#include "util.h"

typedef struct Parser {
        const ConstraintSource *src;
        char **message; /* where a TypeError's reason goes */
} Parser;

/* The source's operations, as the parser calls them. */
static int src_peek(Parser *p, char *ret_type, const char **ret_contents) {
        return p->src->peek(p->src->userdata, ret_type, ret_contents);
}

static int src_enter(Parser *p, char type, const char *contents) {
        return p->src->enter(p->src->userdata, type, contents);
}

static int src_exit(Parser *p) {
        return p->src->exit(p->src->userdata);
}

static int src_skip(Parser *p, const char *types) {
        return p->src->skip(p->src->userdata, types);
}

static int src_read_basic(Parser *p, char type, void *ret) {
        return p->src->read_basic(p->src->userdata, type, ret);
}

/* Leave the n innermost containers. */
static int src_exit_n(Parser *p, unsigned n) {
        int r = 0;

        for (unsigned i = 0; i < n && r >= 0; i++)
                r = src_exit(p);
        return r;
}

/* Enter a variant holding an a{sv}, and the a{sv}. */
static int enter_dict_variant(Parser *p) {
        int r;

        r = src_enter(p, 'v', "a{sv}");
        if (r < 0)
                return r;
        return src_enter(p, 'a', "{sv}");
}

/* A variant holding a boolean. */
static int read_variant_bool(Parser *p, int *ret) {
        int r;

        r = src_enter(p, 'v', "b");
        if (r < 0)
                return r;
        r = src_read_basic(p, 'b', ret);
        if (r < 0)
                return r;
        return src_exit(p);
}

_printf_(2, 3) static int type_error(Parser *p, const char *format, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (p->message) {
                free(*p->message);
                *p->message = s;
        } else
                free(s);
        return -EINVAL;
}

/* A dictionary or variant where the format has a plain value: the client nests deeper than
 * any constraint can. */
static bool signature_is_nested(const char *sig) {
        return strchr(sig, 'v') || strchr(sig, '{');
}

static int wrong_type(Parser *p, const char *name, const char *member, const char *sig) {
        if (signature_is_nested(sig))
                return type_error(p, "nesting too deep in constraint '%s'", name);
        if (member)
                return type_error(p, "constraint '%s' member '%s' has wrong type '%s'", name, member, sig);
        return type_error(p, "constraint '%s' has wrong type '%s'", name, sig);
}

/* The signature of the variant at the read position. */
static int peek_variant(Parser *p, const char **ret) {
        const char *contents;
        char type;
        int r;

        r = src_peek(p, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0 || type != 'v')
                return -EBADMSG;
        *ret = contents;
        return 0;
}

static int read_string(Parser *p, const char *what, const char **ret) {
        const char *s;
        int r;

        r = src_read_basic(p, 's', &s);
        if (r < 0)
                return r;
        if (strlen(s) > CONSTRAINTS_MAX_STRING_BYTES)
                return type_error(p, "string in %s longer than %u bytes", what, CONSTRAINTS_MAX_STRING_BYTES);
        *ret = s;
        return 0;
}

/* Enter the next dictionary entry of an a{sv} and read its key. Returns 0 at the end. */
static int enter_entry(Parser *p, unsigned *count, const char *what, const char **ret_key) {
        int r;

        r = src_enter(p, 'e', "sv");
        if (r <= 0)
                return r;
        if (++*count > CONSTRAINTS_MAX_DICT_ENTRIES)
                return type_error(p, "more than %u entries in %s", CONSTRAINTS_MAX_DICT_ENTRIES, what);
        r = read_string(p, what, ret_key);
        if (r < 0)
                return r;
        return 1;
}

static bool signature_is_number(const char *sig) {
        return bus_type_is_numeric(sig[0]) && !sig[1];
}

/* Read a numeric variant (signature checked by the caller) as a double. */
static int read_number_variant(Parser *p, const char *sig, double *ret) {
        BusNumber v;
        int r;

        r = src_enter(p, 'v', sig);
        if (r < 0)
                return r;
        r = src_read_basic(p, sig[0], &v);
        if (r < 0)
                return r;
        r = src_exit(p);
        if (r < 0)
                return r;
        *ret = bus_number_to_double(sig[0], &v);
        return 0;
}

static int parse_number(Parser *p, ConstraintId id, const char *member, const char *sig, double *ret) {
        const ConstraintDef *def = &constraint_defs[id];
        double v;
        int r;

        if (!signature_is_number(sig))
                return wrong_type(p, def->name, member, sig);
        r = read_number_variant(p, sig, &v);
        if (r < 0)
                return r;
        if (!isfinite(v))
                return type_error(p, "constraint '%s' is not a finite number", def->name);

        if (def->type == CONSTRAINT_TYPE_WHOLE) {
                if (v != floor(v))
                        return type_error(p, "constraint '%s' must be a whole number", def->name);
                /* WebIDL [Clamp] unsigned long */
                v = CLAMP(v, 0.0, (double) UINT32_MAX);
        }
        *ret = v;
        return 0;
}

/* 's' or 'as'. *ret is NULL when nothing is left (an empty list, or an empty deviceId), which
 * makes the constraint (or member) as if absent. */
static int parse_strings(Parser *p, ConstraintId id, const char *member, const char *sig,
                         char ***ret, bool *ret_is_list) {
        const ConstraintDef *def = &constraint_defs[id];
        _cleanup_strv_free_ char **l = NULL;
        bool is_list;
        unsigned n = 0;
        int r;

        if (streq(sig, "s"))
                is_list = false;
        else if (streq(sig, "as"))
                is_list = true;
        else
                return wrong_type(p, def->name, member, sig);

        r = src_enter(p, 'v', sig);
        if (r < 0)
                return r;
        if (is_list) {
                r = src_enter(p, 'a', "s");
                if (r < 0)
                        return r;
        }
        for (;;) {
                const char *s;

                if (is_list) {
                        char type;

                        r = src_peek(p, &type, NULL);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                break;
                        if (++n > CONSTRAINTS_MAX_LIST_ENTRIES)
                                return type_error(p, "more than %u strings in constraint '%s'",
                                                  CONSTRAINTS_MAX_LIST_ENTRIES, def->name);
                }
                r = read_string(p, def->name, &s);
                if (r < 0)
                        return r;
                /* An empty deviceId is what enumeration gives before exposure; it asks for nothing. */
                if (!(id == CONSTRAINT_DEVICE_ID && isempty(s))) {
                        r = strv_extend(&l, s);
                        if (r < 0)
                                return r;
                }
                if (!is_list)
                        break;
        }
        r = src_exit_n(p, is_list ? 2 : 1);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(l);
        *ret_is_list = is_list;
        return 0;
}

static int parse_boolean_variant(Parser *p, ConstraintId id, const char *member, const char *sig, bool *ret) {
        int b, r;

        if (!streq(sig, "b"))
                return wrong_type(p, constraint_defs[id].name, member, sig);
        r = read_variant_bool(p, &b);
        if (r < 0)
                return r;
        *ret = b;
        return 0;
}

/* One value of a constraint (bare or a range member) into the slot for `which`. */
static int parse_value(Parser *p, ConstraintId id, const char *member, const char *sig, RangeMember which, Constraint *c) {
        switch (constraint_defs[id].type) {

        case CONSTRAINT_TYPE_WHOLE:
        case CONSTRAINT_TYPE_DOUBLE: {
                double *slot = which == RANGE_MIN ? &c->min : which == RANGE_MAX ? &c->max :
                               which == RANGE_EXACT ? &c->exact : &c->ideal;
                bool *has = which == RANGE_MIN ? &c->has_min : which == RANGE_MAX ? &c->has_max :
                            which == RANGE_EXACT ? &c->has_exact : &c->has_ideal;
                int r;

                r = parse_number(p, id, member, sig, slot);
                if (r < 0)
                        return r;
                *has = true;
                return 0;
        }

        case CONSTRAINT_TYPE_STRING: {
                char ***slot = which == RANGE_EXACT ? &c->exact_strv : &c->ideal_strv;
                bool *is_list = which == RANGE_EXACT ? &c->exact_is_list : &c->ideal_is_list;
                bool *has = which == RANGE_EXACT ? &c->has_exact : &c->has_ideal;
                int r;

                assert(which == RANGE_EXACT || which == RANGE_IDEAL);
                strv_free(*slot);
                *slot = NULL;
                r = parse_strings(p, id, member, sig, slot, is_list);
                if (r < 0)
                        return r;
                *has = !!*slot;
                return 0;
        }

        case CONSTRAINT_TYPE_BOOLEAN: {
                bool *slot = which == RANGE_EXACT ? &c->exact_bool : &c->ideal_bool;
                bool *has = which == RANGE_EXACT ? &c->has_exact : &c->has_ideal;
                int r;

                assert(which == RANGE_EXACT || which == RANGE_IDEAL);
                r = parse_boolean_variant(p, id, member, sig, slot);
                if (r < 0)
                        return r;
                *has = true;
                return 0;
        }
        }
        assert(false);
        return -EINVAL;
}

/* Called for each entry of a dictionary with the source at the entry's value, which it reads or
 * skips. */
typedef int (*entry_parser_t)(Parser *p, const char *key, void *userdata);

/* The entries of an a{sv} that is entered: each key to fn, in order. */
static int parse_entries(Parser *p, const char *what, entry_parser_t fn, void *userdata) {
        unsigned count = 0;
        const char *key;
        int r;

        while ((r = enter_entry(p, &count, what, &key)) > 0) {
                r = fn(p, key, userdata);
                if (r < 0)
                        return r;
                r = src_exit(p);
                if (r < 0)
                        return r;
        }
        return r;
}

/* The same for a variant holding an a{sv} (a constraint given as a dictionary): enter, read the
 * entries, leave. */
static int parse_dict_variant(Parser *p, const char *what, entry_parser_t fn, void *userdata) {
        int r;

        r = enter_dict_variant(p);
        if (r < 0)
                return r;
        r = parse_entries(p, what, fn, userdata);
        if (r < 0)
                return r;
        return src_exit_n(p, 2);
}

/* A constraint given as a dictionary of min/max/exact/ideal, being read. */
typedef struct RangeParse {
        ConstraintId id;
        Constraint *c;
        bool seen[_RANGE_MAX];
} RangeParse;

static int parse_range_member(Parser *p, const char *key, void *userdata) {
        RangeParse *rp = userdata;
        const ConstraintDef *def = &constraint_defs[rp->id];
        bool numeric = def->type == CONSTRAINT_TYPE_WHOLE || def->type == CONSTRAINT_TYPE_DOUBLE;
        int which = range_member_from_string(key);
        const char *member_sig;
        int r;

        /* As WebIDL does for dictionaries: members a type does not have (min/max of a string or
         * boolean constraint, typos) are dropped. */
        if (which < 0 || (!numeric && (which == RANGE_MIN || which == RANGE_MAX)))
                return src_skip(p, "v");

        if (rp->seen[which])
                return type_error(p, "constraint '%s' has member '%s' twice", def->name, key);
        rp->seen[which] = true;

        r = peek_variant(p, &member_sig);
        if (r < 0)
                return r;
        return parse_value(p, rp->id, range_member_to_string(which), member_sig, which, rp->c);
}

static int parse_range(Parser *p, ConstraintId id, Constraint *c) {
        RangeParse rp = { .id = id, .c = c };
        int r;

        r = parse_dict_variant(p, constraint_defs[id].name, parse_range_member, &rp);
        if (r < 0)
                return r;

        /* A dictionary left with nothing in it (`{}`, `{exact: []}`) asks for nothing, as an empty
         * list does. */
        c->present = c->has_min || c->has_max || c->has_exact || c->has_ideal;
        return 0;
}

/* Rule 4: a boolean for a non-boolean property asks whether the settings have the property. */
static int parse_existence(Parser *p, bool in_advanced, Constraint *c) {
        int b, r;

        r = read_variant_bool(p, &b);
        if (r < 0)
                return r;
        c->existence = true;
        if (in_advanced) {
                c->has_exact = true;
                c->exact_bool = b;
        } else {
                c->has_ideal = true;
                c->ideal_bool = b;
        }
        c->present = true;
        return 0;
}

/* A constraint's variant: a bare value, or an a{sv} of min/max/exact/ideal. */
static int parse_constraint(Parser *p, ConstraintId id, bool in_advanced, Constraint *c) {
        const char *sig;
        int r;

        r = peek_variant(p, &sig);
        if (r < 0)
                return r;

        if (streq(sig, "a{sv}"))
                return parse_range(p, id, c);

        c->bare = true;
        if (streq(sig, "b") && constraint_defs[id].type != CONSTRAINT_TYPE_BOOLEAN)
                return parse_existence(p, in_advanced, c);

        r = parse_value(p, id, NULL, sig, in_advanced ? RANGE_EXACT : RANGE_IDEAL, c);
        if (r < 0)
                return r;
        c->present = c->has_exact || c->has_ideal;
        return 0;
}

static int check_unselectable_member(Parser *p, const char *key, void *userdata) {
        const char *name = userdata;

        if (streq(key, "min") || streq(key, "max") || streq(key, "exact"))
                return type_error(p, "constraint '%s' cannot be required", name);
        return src_skip(p, "v");
}

/* A name the specs define but that may not select a device: a TypeError when required. In an
 * advanced set every bare value is exact, hence required. */
static int check_unselectable(Parser *p, const char *name, bool in_advanced) {
        const char *sig;
        int r;

        r = peek_variant(p, &sig);
        if (r < 0)
                return r;

        if (streq(sig, "a{sv}"))
                return parse_dict_variant(p, name, check_unselectable_member, (void *) name);

        if (in_advanced)
                return type_error(p, "constraint '%s' cannot be required", name);
        return src_skip(p, "v");
}

static int parse_advanced(Parser *p, TrackConstraints *t);

/* One constraint set being read. `track` is the track for the basic set (where `advanced` may
 * appear), NULL inside an advanced set. */
typedef struct SetParse {
        DeviceKind kind;
        ConstraintSet *set;
        TrackConstraints *track;
        bool seen[_CONSTRAINT_MAX];
        bool seen_advanced;
} SetParse;

static int parse_set_entry(Parser *p, const char *key, void *userdata) {
        SetParse *sp = userdata;
        int id = constraint_from_string(key);

        if (id >= 0) {
                if (sp->seen[id])
                        return type_error(p, "constraint '%s' given twice", key);
                sp->seen[id] = true;
                /* The other kind's properties are dropped, even required ones. */
                if (constraint_applies(id, sp->kind))
                        return parse_constraint(p, id, !sp->track, &sp->set->c[id]);
                return src_skip(p, "v");
        }
        if (streq(key, "advanced")) {
                if (!sp->track)
                        return type_error(p, "nesting too deep: 'advanced' inside an advanced set");
                if (sp->seen_advanced)
                        return type_error(p, "constraint 'advanced' given twice");
                sp->seen_advanced = true;
                return parse_advanced(p, sp->track);
        }
        if (constraint_is_unselectable(key, sp->kind))
                return check_unselectable(p, key, !sp->track);
        /* Unknown names may come from newer clients. */
        return src_skip(p, "v");
}

/* The entries of one constraint set; the a{sv} is entered. */
static int parse_set(Parser *p, DeviceKind kind, ConstraintSet *set, TrackConstraints *t) {
        SetParse sp = { .kind = kind, .set = set, .track = t };

        return parse_entries(p, t ? "track constraints" : "advanced constraint set", parse_set_entry, &sp);
}

static int parse_advanced(Parser *p, TrackConstraints *t) {
        const char *sig;
        int r;

        r = peek_variant(p, &sig);
        if (r < 0)
                return r;
        if (!streq(sig, "aa{sv}"))
                return type_error(p, "constraint 'advanced' has wrong type '%s'", sig);

        r = src_enter(p, 'v', "aa{sv}");
        if (r < 0)
                return r;
        r = src_enter(p, 'a', "a{sv}");
        if (r < 0)
                return r;
        for (;;) {
                ConstraintSet *grown;

                r = src_enter(p, 'a', "{sv}");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (t->n_advanced >= CONSTRAINTS_MAX_ADVANCED_SETS)
                        return type_error(p, "more than %u advanced constraint sets", CONSTRAINTS_MAX_ADVANCED_SETS);

                grown = reallocarray(t->advanced, t->n_advanced + 1, sizeof(ConstraintSet));
                if (!grown)
                        return -ENOMEM;
                t->advanced = grown;
                t->advanced[t->n_advanced++] = (ConstraintSet) {};

                r = parse_set(p, t->kind, &t->advanced[t->n_advanced - 1], NULL);
                if (r < 0)
                        return r;
                r = src_exit(p);
                if (r < 0)
                        return r;
        }
        return src_exit_n(p, 2);
}

/* A MediaTrackConstraints dictionary; the a{sv} is entered. */
static int parse_track(Parser *p, DeviceKind kind, TrackConstraints **ret) {
        _cleanup_(track_constraints_freep) TrackConstraints *t = NULL;
        int r;

        r = track_constraints_new_empty(kind, &t);
        if (r < 0)
                return r;
        r = parse_set(p, kind, &t->basic, t);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

static int enter_top_dict(Parser *p, const char *what) {
        const char *contents;
        char type;
        int r;

        r = src_peek(p, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0 || type != 'a' || !streq(contents, "{sv}"))
                return type_error(p, "%s must be a dictionary a{sv}", what);
        return src_enter(p, 'a', "{sv}");
}

int track_constraints_read(const ConstraintSource *src, DeviceKind kind, TrackConstraints **ret, char **ret_message) {
        _cleanup_(track_constraints_freep) TrackConstraints *t = NULL;
        Parser p = { .src = src, .message = ret_message };
        int r;

        assert(src);
        assert(kind >= 0 && kind < _DEVICE_KIND_MAX);
        assert(ret);

        r = enter_top_dict(&p, "track constraints");
        if (r < 0)
                return r;
        r = parse_track(&p, kind, &t);
        if (r < 0)
                return r;
        r = src_exit(&p);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(t);
        return 0;
}

/* audio or video of MediaStreamConstraints: true, false, or a MediaTrackConstraints. */
static int parse_stream_kind(Parser *p, const char *key, DeviceKind kind, MediaStreamConstraints *c) {
        bool *requested = kind == DEVICE_KIND_AUDIO ? &c->audio : &c->video;
        const char *sig;
        int r;

        r = peek_variant(p, &sig);
        if (r < 0)
                return r;
        if (streq(sig, "b")) {
                int b;

                r = read_variant_bool(p, &b);
                if (r < 0)
                        return r;
                *requested = b;
                return 0;
        }
        if (streq(sig, "a{sv}")) {
                r = enter_dict_variant(p);
                if (r < 0)
                        return r;
                r = parse_track(p, kind, kind == DEVICE_KIND_AUDIO ? &c->audio_constraints : &c->video_constraints);
                if (r < 0)
                        return r;
                r = src_exit_n(p, 2);
                if (r < 0)
                        return r;
                *requested = true;
                return 0;
        }
        if (signature_is_nested(sig))
                return type_error(p, "nesting too deep in '%s'", key);
        return type_error(p, "'%s' has wrong type '%s'", key, sig);
}

/* MediaStreamConstraints being read. */
typedef struct StreamParse {
        MediaStreamConstraints *c;
        bool seen[_DEVICE_KIND_MAX];
} StreamParse;

static int parse_stream_entry(Parser *p, const char *key, void *userdata) {
        StreamParse *sp = userdata;
        DeviceKind kind;

        if (streq(key, "audio"))
                kind = DEVICE_KIND_AUDIO;
        else if (streq(key, "video"))
                kind = DEVICE_KIND_VIDEO;
        else
                /* Unknown keys may come from newer clients. */
                return src_skip(p, "v");

        if (sp->seen[kind])
                return type_error(p, "'%s' given twice", key);
        sp->seen[kind] = true;
        return parse_stream_kind(p, key, kind, sp->c);
}

int media_stream_constraints_read(const ConstraintSource *src, MediaStreamConstraints **ret, char **ret_message) {
        _cleanup_(media_stream_constraints_freep) MediaStreamConstraints *c = NULL;
        Parser p = { .src = src, .message = ret_message };
        StreamParse sp = {};
        int r;

        assert(src);
        assert(ret);

        c = calloc(1, sizeof(MediaStreamConstraints));
        if (!c)
                return -ENOMEM;
        sp.c = c;

        r = enter_top_dict(&p, "constraints");
        if (r < 0)
                return r;
        r = parse_entries(&p, "constraints", parse_stream_entry, &sp);
        if (r < 0)
                return r;
        r = src_exit(&p);
        if (r < 0)
                return r;

        if (!c->audio && !c->video)
                return type_error(&p, "nothing requested");

        *ret = TAKE_PTR(c);
        return 0;
}
