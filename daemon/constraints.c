/* The constraint engine: reading MediaStreamConstraints/MediaTrackConstraints off the bus, the
 * fitness distance and SelectSettings, as constraints.md specifies them. */
#include "constraints.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>

#include "util.h"

/* In the fixed order constraints.md names the failing constraint in. */
typedef enum ConstraintId {
        CONSTRAINT_DEVICE_ID,
        CONSTRAINT_GROUP_ID,
        CONSTRAINT_FACING_MODE,
        CONSTRAINT_RESIZE_MODE,
        CONSTRAINT_WIDTH,
        CONSTRAINT_HEIGHT,
        CONSTRAINT_ASPECT_RATIO,
        CONSTRAINT_FRAME_RATE,
        CONSTRAINT_SAMPLE_RATE,
        CONSTRAINT_SAMPLE_SIZE,
        CONSTRAINT_ECHO_CANCELLATION,
        CONSTRAINT_AUTO_GAIN_CONTROL,
        CONSTRAINT_NOISE_SUPPRESSION,
        CONSTRAINT_LATENCY,
        CONSTRAINT_CHANNEL_COUNT,
        _CONSTRAINT_MAX,
} ConstraintId;

typedef enum ConstraintType {
        CONSTRAINT_TYPE_WHOLE,   /* WebIDL [Clamp] unsigned long */
        CONSTRAINT_TYPE_DOUBLE,
        CONSTRAINT_TYPE_STRING,  /* DOMString or sequence<DOMString> */
        CONSTRAINT_TYPE_BOOLEAN,
} ConstraintType;

#define KIND_AUDIO (1U << DEVICE_KIND_AUDIO)
#define KIND_VIDEO (1U << DEVICE_KIND_VIDEO)
#define KIND_ANY (KIND_AUDIO | KIND_VIDEO)

typedef struct ConstraintDef {
        const char *name;
        ConstraintType type;
        unsigned kinds;
} ConstraintDef;

static const ConstraintDef constraint_defs[_CONSTRAINT_MAX] = {
        [CONSTRAINT_DEVICE_ID] = { "deviceId", CONSTRAINT_TYPE_STRING, KIND_ANY },
        [CONSTRAINT_GROUP_ID] = { "groupId", CONSTRAINT_TYPE_STRING, KIND_ANY },
        [CONSTRAINT_FACING_MODE] = { "facingMode", CONSTRAINT_TYPE_STRING, KIND_VIDEO },
        [CONSTRAINT_RESIZE_MODE] = { "resizeMode", CONSTRAINT_TYPE_STRING, KIND_VIDEO },
        [CONSTRAINT_WIDTH] = { "width", CONSTRAINT_TYPE_WHOLE, KIND_VIDEO },
        [CONSTRAINT_HEIGHT] = { "height", CONSTRAINT_TYPE_WHOLE, KIND_VIDEO },
        [CONSTRAINT_ASPECT_RATIO] = { "aspectRatio", CONSTRAINT_TYPE_DOUBLE, KIND_VIDEO },
        [CONSTRAINT_FRAME_RATE] = { "frameRate", CONSTRAINT_TYPE_DOUBLE, KIND_VIDEO },
        [CONSTRAINT_SAMPLE_RATE] = { "sampleRate", CONSTRAINT_TYPE_WHOLE, KIND_AUDIO },
        [CONSTRAINT_SAMPLE_SIZE] = { "sampleSize", CONSTRAINT_TYPE_WHOLE, KIND_AUDIO },
        [CONSTRAINT_ECHO_CANCELLATION] = { "echoCancellation", CONSTRAINT_TYPE_BOOLEAN, KIND_AUDIO },
        [CONSTRAINT_AUTO_GAIN_CONTROL] = { "autoGainControl", CONSTRAINT_TYPE_BOOLEAN, KIND_AUDIO },
        [CONSTRAINT_NOISE_SUPPRESSION] = { "noiseSuppression", CONSTRAINT_TYPE_BOOLEAN, KIND_AUDIO },
        [CONSTRAINT_LATENCY] = { "latency", CONSTRAINT_TYPE_DOUBLE, KIND_AUDIO },
        [CONSTRAINT_CHANNEL_COUNT] = { "channelCount", CONSTRAINT_TYPE_WHOLE, KIND_AUDIO },
};

/* Constrainable properties that the W3C specs (Media Capture and Streams, Image Capture, Screen
 * Capture, the extensions) define but that may not select a device. Requiring one is a
 * TypeError; an ideal of one is ignored, as is any unknown name. */
static const struct {
        const char *name;
        unsigned kinds;
} unselectable_constraints[] = {
        { "backgroundBlur", KIND_VIDEO },
        { "backgroundSegmentationMask", KIND_VIDEO },
        { "brightness", KIND_VIDEO },
        { "colorTemperature", KIND_VIDEO },
        { "contrast", KIND_VIDEO },
        { "cursor", KIND_VIDEO },
        { "displaySurface", KIND_VIDEO },
        { "exposureCompensation", KIND_VIDEO },
        { "exposureMode", KIND_VIDEO },
        { "exposureTime", KIND_VIDEO },
        { "eyeGazeCorrection", KIND_VIDEO },
        { "faceFraming", KIND_VIDEO },
        { "focusDistance", KIND_VIDEO },
        { "focusMode", KIND_VIDEO },
        { "iso", KIND_VIDEO },
        { "lightingCorrection", KIND_VIDEO },
        { "logicalSurface", KIND_VIDEO },
        { "pan", KIND_VIDEO },
        { "pointsOfInterest", KIND_VIDEO },
        { "restrictOwnAudio", KIND_AUDIO },
        { "saturation", KIND_VIDEO },
        { "screenPixelRatio", KIND_VIDEO },
        { "sharpness", KIND_VIDEO },
        { "suppressLocalAudioPlayback", KIND_AUDIO },
        { "tilt", KIND_VIDEO },
        { "torch", KIND_VIDEO },
        { "voiceIsolation", KIND_AUDIO },
        { "whiteBalanceMode", KIND_VIDEO },
        { "zoom", KIND_VIDEO },
};

/* One constraint as the client gave it. A bare value is kept in `ideal` (basic set) or `exact`
 * (advanced set) with `bare` set, so that it is appended back in the same shape. */
typedef struct Constraint {
        bool present;
        bool bare;
        /* Rule 4: a boolean for a non-boolean property asks whether the settings have the
         * property; exact_bool/ideal_bool hold the wanted answer. */
        bool existence;
        bool has_min, has_max, has_exact, has_ideal;
        double min, max, exact, ideal;    /* numeric constraints */
        char **exact_strv, **ideal_strv;  /* string constraints: never empty when set */
        bool exact_is_list, ideal_is_list; /* the client sent 'as' rather than 's' */
        bool exact_bool, ideal_bool;      /* boolean constraints and existence */
} Constraint;

typedef struct ConstraintSet {
        Constraint c[_CONSTRAINT_MAX];
} ConstraintSet;

struct TrackConstraints {
        DeviceKind kind;
        ConstraintSet basic;
        ConstraintSet *advanced;
        size_t n_advanced;
};

static bool constraint_applies(ConstraintId id, DeviceKind kind) {
        return constraint_defs[id].kinds & (1U << kind);
}

static bool constraint_is_required(const Constraint *c) {
        return c->present && (c->has_min || c->has_max || c->has_exact);
}

static void constraint_done(Constraint *c) {
        strv_free(c->exact_strv);
        strv_free(c->ideal_strv);
        *c = (Constraint) {};
}

static void constraint_set_done(ConstraintSet *set) {
        for (size_t i = 0; i < _CONSTRAINT_MAX; i++)
                constraint_done(&set->c[i]);
}

TrackConstraints *track_constraints_free(TrackConstraints *c) {
        if (!c)
                return NULL;
        constraint_set_done(&c->basic);
        for (size_t i = 0; i < c->n_advanced; i++)
                constraint_set_done(&c->advanced[i]);
        free(c->advanced);
        free(c);
        return NULL;
}

int track_constraints_new_empty(DeviceKind kind, TrackConstraints **ret) {
        TrackConstraints *c;

        assert(kind >= 0 && kind < _DEVICE_KIND_MAX);
        assert(ret);

        c = calloc(1, sizeof(TrackConstraints));
        if (!c)
                return -ENOMEM;
        c->kind = kind;
        *ret = c;
        return 0;
}

DeviceKind track_constraints_get_kind(const TrackConstraints *c) {
        return c->kind;
}

MediaStreamConstraints *media_stream_constraints_free(MediaStreamConstraints *c) {
        if (!c)
                return NULL;
        track_constraints_free(c->audio_constraints);
        track_constraints_free(c->video_constraints);
        free(c);
        return NULL;
}

/* ---- Parsing ---- */

typedef struct Parser {
        sd_bus_message *m;
        char **message; /* where a TypeError's reason goes */
} Parser;

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

        r = sd_bus_message_peek_type(p->m, &type, &contents);
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

        r = sd_bus_message_read_basic(p->m, 's', &s);
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

        r = sd_bus_message_enter_container(p->m, 'e', "sv");
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
        return sig[0] && !sig[1] && strchr("ynqiuxtd", sig[0]);
}

/* Read a numeric variant (signature checked by the caller) as a double. */
static int read_number_variant(Parser *p, const char *sig, double *ret) {
        union {
                uint8_t y;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
                double d;
        } v;
        int r;

        r = sd_bus_message_enter_container(p->m, 'v', sig);
        if (r < 0)
                return r;
        r = sd_bus_message_read_basic(p->m, sig[0], &v);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(p->m);
        if (r < 0)
                return r;

        switch (sig[0]) {
        case 'y': *ret = v.y; break;
        case 'n': *ret = v.n; break;
        case 'q': *ret = v.q; break;
        case 'i': *ret = v.i; break;
        case 'u': *ret = v.u; break;
        case 'x': *ret = (double) v.x; break;
        case 't': *ret = (double) v.t; break;
        default: *ret = v.d; break;
        }
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

        r = sd_bus_message_enter_container(p->m, 'v', sig);
        if (r < 0)
                return r;
        if (is_list) {
                r = sd_bus_message_enter_container(p->m, 'a', "s");
                if (r < 0)
                        return r;
        }
        for (;;) {
                const char *s;

                if (is_list) {
                        char type;

                        r = sd_bus_message_peek_type(p->m, &type, NULL);
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
        if (is_list) {
                r = sd_bus_message_exit_container(p->m);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(p->m);
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
        r = sd_bus_message_read(p->m, "v", "b", &b);
        if (r < 0)
                return r;
        *ret = b;
        return 0;
}

typedef enum RangeMember {
        RANGE_MIN,
        RANGE_MAX,
        RANGE_EXACT,
        RANGE_IDEAL,
        _RANGE_MAX,
} RangeMember;

static const char *const range_members[_RANGE_MAX] = {
        [RANGE_MIN] = "min",
        [RANGE_MAX] = "max",
        [RANGE_EXACT] = "exact",
        [RANGE_IDEAL] = "ideal",
};

static int range_member_from_string(const char *s) {
        for (int i = 0; i < _RANGE_MAX; i++)
                if (streq(range_members[i], s))
                        return i;
        return -1;
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

/* A constraint's variant: a bare value, or an a{sv} of min/max/exact/ideal. */
static int parse_constraint(Parser *p, ConstraintId id, bool in_advanced, Constraint *c) {
        const ConstraintDef *def = &constraint_defs[id];
        const char *sig;
        int r;

        r = peek_variant(p, &sig);
        if (r < 0)
                return r;

        if (streq(sig, "a{sv}")) {
                bool numeric = def->type == CONSTRAINT_TYPE_WHOLE || def->type == CONSTRAINT_TYPE_DOUBLE;
                bool seen[_RANGE_MAX] = {};
                unsigned count = 0;
                const char *key;

                r = sd_bus_message_enter_container(p->m, 'v', "a{sv}");
                if (r < 0)
                        return r;
                r = sd_bus_message_enter_container(p->m, 'a', "{sv}");
                if (r < 0)
                        return r;
                while ((r = enter_entry(p, &count, def->name, &key)) > 0) {
                        const char *member_sig;
                        int which = range_member_from_string(key);

                        /* As WebIDL does for dictionaries: members a type does not have
                         * (min/max of a string or boolean constraint, typos) are dropped. */
                        if (which < 0 || (!numeric && (which == RANGE_MIN || which == RANGE_MAX))) {
                                r = sd_bus_message_skip(p->m, "v");
                                if (r < 0)
                                        return r;
                        } else {
                                if (seen[which])
                                        return type_error(p, "constraint '%s' has member '%s' twice", def->name, key);
                                seen[which] = true;

                                r = peek_variant(p, &member_sig);
                                if (r < 0)
                                        return r;
                                r = parse_value(p, id, range_members[which], member_sig, which, c);
                                if (r < 0)
                                        return r;
                        }
                        r = sd_bus_message_exit_container(p->m);
                        if (r < 0)
                                return r;
                }
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(p->m);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(p->m);
                if (r < 0)
                        return r;

                /* A dictionary left with nothing in it (`{}`, `{exact: []}`) asks for
                 * nothing, as an empty list does. */
                c->present = c->has_min || c->has_max || c->has_exact || c->has_ideal;
                return 0;
        }

        c->bare = true;
        if (streq(sig, "b") && def->type != CONSTRAINT_TYPE_BOOLEAN) {
                int b;

                r = sd_bus_message_read(p->m, "v", "b", &b);
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

        r = parse_value(p, id, NULL, sig, in_advanced ? RANGE_EXACT : RANGE_IDEAL, c);
        if (r < 0)
                return r;
        c->present = c->has_exact || c->has_ideal;
        return 0;
}

/* A name the specs define but that may not select a device: a TypeError when required. In an
 * advanced set every bare value is exact, hence required. */
static int check_unselectable(Parser *p, const char *name, bool in_advanced) {
        const char *sig;
        int r;

        r = peek_variant(p, &sig);
        if (r < 0)
                return r;

        if (streq(sig, "a{sv}")) {
                unsigned count = 0;
                const char *key;

                r = sd_bus_message_enter_container(p->m, 'v', "a{sv}");
                if (r < 0)
                        return r;
                r = sd_bus_message_enter_container(p->m, 'a', "{sv}");
                if (r < 0)
                        return r;
                while ((r = enter_entry(p, &count, name, &key)) > 0) {
                        if (streq(key, "min") || streq(key, "max") || streq(key, "exact"))
                                return type_error(p, "constraint '%s' cannot be required", name);
                        r = sd_bus_message_skip(p->m, "v");
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(p->m);
                        if (r < 0)
                                return r;
                }
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(p->m);
                if (r < 0)
                        return r;
                return sd_bus_message_exit_container(p->m);
        }

        if (in_advanced)
                return type_error(p, "constraint '%s' cannot be required", name);
        return sd_bus_message_skip(p->m, "v");
}

static int constraint_from_string(const char *s) {
        for (int i = 0; i < _CONSTRAINT_MAX; i++)
                if (streq(constraint_defs[i].name, s))
                        return i;
        return -1;
}

static int unselectable_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(unselectable_constraints); i++)
                if (streq(unselectable_constraints[i].name, s))
                        return (int) i;
        return -1;
}

static int parse_advanced(Parser *p, TrackConstraints *t);

/* The entries of one constraint set; the a{sv} is entered. `t` is the track for the basic set
 * (where `advanced` may appear), NULL inside an advanced set. */
static int parse_set(Parser *p, DeviceKind kind, ConstraintSet *set, TrackConstraints *t) {
        bool seen[_CONSTRAINT_MAX] = {}, seen_advanced = false;
        const char *what = t ? "track constraints" : "advanced constraint set";
        unsigned count = 0;
        const char *key;
        int r;

        while ((r = enter_entry(p, &count, what, &key)) > 0) {
                int id = constraint_from_string(key), u;

                if (id >= 0) {
                        if (seen[id])
                                return type_error(p, "constraint '%s' given twice", key);
                        seen[id] = true;
                        /* The other kind's properties are dropped, even required ones. */
                        if (constraint_applies(id, kind))
                                r = parse_constraint(p, id, !t, &set->c[id]);
                        else
                                r = sd_bus_message_skip(p->m, "v");
                } else if (streq(key, "advanced")) {
                        if (!t)
                                return type_error(p, "nesting too deep: 'advanced' inside an advanced set");
                        if (seen_advanced)
                                return type_error(p, "constraint 'advanced' given twice");
                        seen_advanced = true;
                        r = parse_advanced(p, t);
                } else if ((u = unselectable_from_string(key)) >= 0 &&
                           (unselectable_constraints[u].kinds & (1U << kind)))
                        r = check_unselectable(p, key, !t);
                else
                        /* Unknown names may come from newer clients. */
                        r = sd_bus_message_skip(p->m, "v");
                if (r < 0)
                        return r;

                r = sd_bus_message_exit_container(p->m);
                if (r < 0)
                        return r;
        }
        return r;
}

static int parse_advanced(Parser *p, TrackConstraints *t) {
        const char *sig;
        int r;

        r = peek_variant(p, &sig);
        if (r < 0)
                return r;
        if (!streq(sig, "aa{sv}"))
                return type_error(p, "constraint 'advanced' has wrong type '%s'", sig);

        r = sd_bus_message_enter_container(p->m, 'v', "aa{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(p->m, 'a', "a{sv}");
        if (r < 0)
                return r;
        for (;;) {
                ConstraintSet *grown;

                r = sd_bus_message_enter_container(p->m, 'a', "{sv}");
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
                r = sd_bus_message_exit_container(p->m);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(p->m);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(p->m);
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

        r = sd_bus_message_peek_type(p->m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0 || type != 'a' || !streq(contents, "{sv}"))
                return type_error(p, "%s must be a dictionary a{sv}", what);
        return sd_bus_message_enter_container(p->m, 'a', "{sv}");
}

int track_constraints_parse(sd_bus_message *m, DeviceKind kind, TrackConstraints **ret, char **ret_message) {
        _cleanup_(track_constraints_freep) TrackConstraints *t = NULL;
        Parser p = { .m = m, .message = ret_message };
        int r;

        assert(m);
        assert(kind >= 0 && kind < _DEVICE_KIND_MAX);
        assert(ret);

        r = enter_top_dict(&p, "track constraints");
        if (r < 0)
                return r;
        r = parse_track(&p, kind, &t);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(t);
        return 0;
}

int media_stream_constraints_parse(sd_bus_message *m, MediaStreamConstraints **ret, char **ret_message) {
        _cleanup_(media_stream_constraints_freep) MediaStreamConstraints *c = NULL;
        Parser p = { .m = m, .message = ret_message };
        bool seen[_DEVICE_KIND_MAX] = {};
        unsigned count = 0;
        const char *key;
        int r;

        assert(m);
        assert(ret);

        c = calloc(1, sizeof(MediaStreamConstraints));
        if (!c)
                return -ENOMEM;

        r = enter_top_dict(&p, "constraints");
        if (r < 0)
                return r;
        while ((r = enter_entry(&p, &count, "constraints", &key)) > 0) {
                DeviceKind kind;
                const char *sig;

                if (streq(key, "audio"))
                        kind = DEVICE_KIND_AUDIO;
                else if (streq(key, "video"))
                        kind = DEVICE_KIND_VIDEO;
                else {
                        /* Unknown keys may come from newer clients. */
                        r = sd_bus_message_skip(m, "v");
                        if (r < 0)
                                return r;
                        goto next;
                }

                if (seen[kind])
                        return type_error(&p, "'%s' given twice", key);
                seen[kind] = true;

                r = peek_variant(&p, &sig);
                if (r < 0)
                        return r;
                if (streq(sig, "b")) {
                        int b;

                        r = sd_bus_message_read(m, "v", "b", &b);
                        if (r < 0)
                                return r;
                        if (kind == DEVICE_KIND_AUDIO)
                                c->audio = b;
                        else
                                c->video = b;
                } else if (streq(sig, "a{sv}")) {
                        TrackConstraints **slot = kind == DEVICE_KIND_AUDIO ? &c->audio_constraints : &c->video_constraints;

                        r = sd_bus_message_enter_container(m, 'v', "a{sv}");
                        if (r < 0)
                                return r;
                        r = sd_bus_message_enter_container(m, 'a', "{sv}");
                        if (r < 0)
                                return r;
                        r = parse_track(&p, kind, slot);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                        if (kind == DEVICE_KIND_AUDIO)
                                c->audio = true;
                        else
                                c->video = true;
                } else if (signature_is_nested(sig))
                        return type_error(&p, "nesting too deep in '%s'", key);
                else
                        return type_error(&p, "'%s' has wrong type '%s'", key, sig);
        next:
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        if (!c->audio && !c->video)
                return type_error(&p, "nothing requested");

        *ret = TAKE_PTR(c);
        return 0;
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

static int append_set(sd_bus_message *m, const ConstraintSet *set, bool in_advanced) {
        int r;

        for (ConstraintId id = 0; id < _CONSTRAINT_MAX; id++) {
                const Constraint *c = &set->c[id];

                if (!c->present)
                        continue;

                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r < 0)
                        return r;
                r = sd_bus_message_append_basic(m, 's', constraint_defs[id].name);
                if (r < 0)
                        return r;

                if (c->bare)
                        r = append_value(m, id, c, in_advanced ? RANGE_EXACT : RANGE_IDEAL);
                else {
                        const bool has[_RANGE_MAX] = {
                                [RANGE_MIN] = c->has_min,
                                [RANGE_MAX] = c->has_max,
                                [RANGE_EXACT] = c->has_exact,
                                [RANGE_IDEAL] = c->has_ideal,
                        };

                        r = sd_bus_message_open_container(m, 'v', "a{sv}");
                        if (r < 0)
                                return r;
                        r = sd_bus_message_open_container(m, 'a', "{sv}");
                        if (r < 0)
                                return r;
                        for (RangeMember which = 0; which < _RANGE_MAX; which++) {
                                if (!has[which])
                                        continue;
                                r = sd_bus_message_open_container(m, 'e', "sv");
                                if (r < 0)
                                        return r;
                                r = sd_bus_message_append_basic(m, 's', range_members[which]);
                                if (r < 0)
                                        return r;
                                r = append_value(m, id, c, which);
                                if (r < 0)
                                        return r;
                                r = sd_bus_message_close_container(m);
                                if (r < 0)
                                        return r;
                        }
                        r = sd_bus_message_close_container(m);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_close_container(m);
                }
                if (r < 0)
                        return r;

                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        return 0;
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
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r < 0)
                        return r;
                r = sd_bus_message_append_basic(m, 's', "advanced");
                if (r < 0)
                        return r;
                r = sd_bus_message_open_container(m, 'v', "aa{sv}");
                if (r < 0)
                        return r;
                r = sd_bus_message_open_container(m, 'a', "a{sv}");
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
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

/* ---- Fitness distance ---- */

static double round10(double v) {
        return round(v * 1e10) / 1e10;
}

double fitness_distance_numeric(double actual, double ideal) {
        if (actual == ideal)
                return 0.0;
        return fabs(actual - ideal) / MAX(fabs(actual), fabs(ideal));
}

/* A property's value in a settings dictionary. */
typedef struct SettingValue {
        bool present;
        double number;
        const char *string;
        bool boolean;
} SettingValue;

static SettingValue setting_value(ConstraintId id, const ConstraintCandidate *cand, const SelectedSettings *s) {
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

static bool aspect_at_least(double aspect, double lo) {
        return aspect >= lo - CONSTRAINTS_ASPECT_TOLERANCE;
}
static bool aspect_at_most(double aspect, double hi) {
        return aspect <= hi + CONSTRAINTS_ASPECT_TOLERANCE;
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
static bool constraint_satisfied(ConstraintId id, const Constraint *c, const SettingValue *v) {
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

static double set_distance(const ConstraintSet *set, const ConstraintCandidate *cand, const SelectedSettings *s) {
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

static bool set_satisfied_by(const ConstraintSet *set, const ConstraintCandidate *cand, const SelectedSettings *s) {
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

        return set_distance(&c->basic, cand, s);
}

/* ---- Crop-and-scale regions ---- */

/* The crop-and-scale candidates of one native mode, narrowed by required constraints.
 * a_min/a_max are the required aspect-ratio bounds as given (0 and infinity: none);
 * the tolerance applies where they are compared. */
typedef struct Region {
        int64_t w_min, w_max, h_min, h_max;
        double f_min, f_max;
        double a_min, a_max;
} Region;

/* Heights and widths scanned one by one at most, to find integer sizes of a required aspect ratio. */
#define REGION_SCAN_MAX 65536

static Region region_from_mode(const VideoMode *mode) {
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

static double aspect_of(int64_t w, int64_t h) {
        return round10((double) w / (double) h);
}

static bool region_aspect_ok(const Region *r, int64_t w, int64_t h) {
        double a = aspect_of(w, h);

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

                while (x > a && aspect_at_least(aspect_of(x - 1, h), r->a_min))
                        x--;
                while (x <= b && !aspect_at_least(aspect_of(x, h), r->a_min))
                        x++;
                a = x;
        }
        if (isfinite(r->a_max)) {
                double est = floor((r->a_max + CONSTRAINTS_ASPECT_TOLERANCE) * (double) h);
                int64_t y = est <= (double) (a - 1) ? a - 1 : est >= (double) b ? b : (int64_t) est;

                while (y < b && aspect_at_most(aspect_of(y + 1, h), r->a_max))
                        y++;
                while (y >= a && !aspect_at_most(aspect_of(y, h), r->a_max))
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

                while (x > a && aspect_at_most(aspect_of(w, x - 1), r->a_max))
                        x--;
                while (x <= b && !aspect_at_most(aspect_of(w, x), r->a_max))
                        x++;
                a = x;
        }
        if (r->a_min > 0) {
                double bound = r->a_min - CONSTRAINTS_ASPECT_TOLERANCE;
                double est = bound > 0 ? floor((double) w / bound) : INFINITY;
                int64_t y = est <= (double) (a - 1) ? a - 1 : est >= (double) b ? b : (int64_t) est;

                while (y < b && aspect_at_least(aspect_of(w, y + 1), r->a_min))
                        y++;
                while (y >= a && !aspect_at_least(aspect_of(w, y), r->a_min))
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

        /* constraints.md: [w_min / h_max, w_max / h_min] must meet the required interval... */
        lo = (double) r->w_min / (double) r->h_max;
        hi = (double) r->w_max / (double) r->h_min;
        if (!aspect_at_least(round10(hi), r->a_min) || !aspect_at_most(round10(lo), r->a_max))
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
static bool region_narrow_one(Region *r, ConstraintId id, const Constraint *c,
                              const ConstraintCandidate *cand, const SelectedSettings *crop) {
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

static bool region_narrow(Region *r, const ConstraintSet *set, const ConstraintCandidate *cand,
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

/* The point of the final region nearest to the basic set's ideals (constraints.md, "The
 * candidate space of a camera"). Fills width, height, frame rate and aspect ratio of s; false
 * when no whole width and height meet the required aspect ratio. */
static bool region_choose_point(const Region *r, const VideoMode *mode, const ConstraintSet *basic, SelectedSettings *s) {
        const Constraint *cw = &basic->c[CONSTRAINT_WIDTH], *ch = &basic->c[CONSTRAINT_HEIGHT],
                         *ca = &basic->c[CONSTRAINT_ASPECT_RATIO], *cf = &basic->c[CONSTRAINT_FRAME_RATE];
        bool iw = cw->present && cw->has_ideal && !cw->existence;
        bool ih = ch->present && ch->has_ideal && !ch->existence;
        bool ia = ca->present && ca->has_ideal && !ca->existence && ca->ideal > 0;
        bool ifr = cf->present && cf->has_ideal && !cf->existence;
        double ratio = ia ? ca->ideal : (double) mode->width / (double) mode->height;
        int64_t w, h;

        if (iw && ih) {
                w = clamp_round(cw->ideal, r->w_min, r->w_max);
                h = clamp_round(ch->ideal, r->h_min, r->h_max);
        } else if (iw) {
                w = clamp_round(cw->ideal, r->w_min, r->w_max);
                h = clamp_round((double) w / ratio, r->h_min, r->h_max);
        } else if (ih) {
                h = clamp_round(ch->ideal, r->h_min, r->h_max);
                w = clamp_round((double) h * ratio, r->w_min, r->w_max);
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
                w = clamp_round(ws, r->w_min, r->w_max);
                h = clamp_round(hs, r->h_min, r->h_max);
        }

        if (!region_aspect_ok(r, w, h)) {
                /* Move the dimension without an ideal (else the height) to the nearest value
                 * that meets the required ratio; if it cannot, the other one; if neither can
                 * alone, the nearest whole size that does. */
                bool move_width_first = ih && !iw;
                bool fixed = false;
                int64_t a, b;

                for (unsigned attempt = 0; attempt < 2 && !fixed; attempt++) {
                        bool move_width = move_width_first == (attempt == 0);

                        if (move_width && region_widths_for_height(r, h, &a, &b)) {
                                w = CLAMP(w, a, b);
                                fixed = true;
                        } else if (!move_width && region_heights_for_width(r, w, &a, &b)) {
                                h = CLAMP(h, a, b);
                                fixed = true;
                        }
                }

                if (!fixed && r->h_max - r->h_min < REGION_SCAN_MAX) {
                        double best = INFINITY;
                        int64_t best_w = 0, best_h = 0;

                        for (int64_t y = r->h_min; y <= r->h_max; y++) {
                                double cost;
                                int64_t x;

                                if (!region_widths_for_height(r, y, &a, &b))
                                        continue;
                                x = CLAMP(w, a, b);
                                cost = fabs((double) (x - w)) / (double) w + fabs((double) (y - h)) / (double) h;
                                if (cost < best) {
                                        best = cost;
                                        best_w = x;
                                        best_h = y;
                                }
                        }
                        if (isfinite(best)) {
                                w = best_w;
                                h = best_h;
                                fixed = true;
                        }
                }
                if (!fixed)
                        return false;
        }

        s->width = (uint32_t) w;
        s->height = (uint32_t) h;
        s->aspect_ratio = aspect_of(w, h);
        s->frame_rate = CLAMP(ifr ? cf->ideal : mode->frame_rate, r->f_min, r->f_max);
        return true;
}

/* ---- SelectSettings ---- */

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
                                .aspect_ratio = mode->height > 0 ? aspect_of(mode->width, mode->height) : 0,
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
                return set_satisfied_by(set, cand, &e->s);

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

int select_settings(const TrackConstraints *c, const ConstraintCandidate *candidates, size_t n,
                    SelectedSettings *ret, const char **ret_constraint) {
        _cleanup_free_ bool *satisfied = NULL;
        _cleanup_free_ Region *narrowed = NULL;
        bool failed_everywhere[_CONSTRAINT_MAX];
        EntryList l = {};
        Entry *best = NULL;
        bool have_device = false, any;
        int r;

        assert(c);
        assert(candidates || n == 0);
        assert(ret);

        if (ret_constraint)
                *ret_constraint = "";

        /* 1. Every settings dictionary every device of the kind can produce. */
        for (size_t i = 0; i < n; i++) {
                const Device *d = candidates[i].device;

                if (!d || d->kind != c->kind)
                        continue;
                have_device = true;
                r = d->kind == DEVICE_KIND_VIDEO ? add_video_entries(&l, i, d) : add_audio_entries(&l, i, d);
                if (r < 0)
                        goto finish;
        }
        if (!have_device) {
                r = -ENODEV;
                goto finish;
        }

        /* 2. Keep what the basic set's required constraints allow, noting which of them failed
         * for every candidate examined. */
        for (ConstraintId id = 0; id < _CONSTRAINT_MAX; id++)
                failed_everywhere[id] = constraint_is_required(&c->basic.c[id]);
        any = false;
        for (size_t i = 0; i < l.n; i++) {
                Entry *e = &l.entries[i];
                const ConstraintCandidate *cand = &candidates[e->s.candidate];

                for (ConstraintId id = 0; id < _CONSTRAINT_MAX; id++)
                        if (failed_everywhere[id] && entry_satisfies_one(e, id, &c->basic.c[id], cand))
                                failed_everywhere[id] = false;

                e->alive = entry_satisfies(e, &c->basic, cand, &e->region);
                any = any || e->alive;
        }
        if (!any) {
                if (ret_constraint)
                        for (ConstraintId id = 0; id < _CONSTRAINT_MAX; id++)
                                if (failed_everywhere[id]) {
                                        *ret_constraint = constraint_defs[id].name;
                                        break;
                                }
                r = -ERANGE;
                goto finish;
        }

        /* 3. Each advanced set in order filters, unless nothing satisfies it. */
        satisfied = calloc(MAX(l.n, 1U), sizeof(bool));
        narrowed = calloc(MAX(l.n, 1U), sizeof(Region));
        if (!satisfied || !narrowed) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t k = 0; k < c->n_advanced; k++) {
                any = false;
                for (size_t i = 0; i < l.n; i++) {
                        Entry *e = &l.entries[i];

                        satisfied[i] = e->alive &&
                                       entry_satisfies(e, &c->advanced[k], &candidates[e->s.candidate], &narrowed[i]);
                        any = any || satisfied[i];
                }
                if (!any)
                        continue;
                for (size_t i = 0; i < l.n; i++) {
                        l.entries[i].alive = satisfied[i];
                        if (satisfied[i] && l.entries[i].s.crop_and_scale)
                                l.entries[i].region = narrowed[i];
                }
        }

        /* 4. and 5. The smallest basic-set distance, then the tie-breaks. */
        for (size_t i = 0; i < l.n; i++) {
                Entry *e = &l.entries[i];
                const ConstraintCandidate *cand = &candidates[e->s.candidate];

                if (!e->alive)
                        continue;
                if (e->s.crop_and_scale &&
                    !region_choose_point(&e->region, &cand->device->modes[e->s.mode], &c->basic, &e->s)) {
                        e->alive = false;
                        continue;
                }
                e->distance = set_distance(&c->basic, cand, &e->s);
                if (!isfinite(e->distance)) {
                        e->alive = false;
                        continue;
                }
                e->default_distance = default_distance(&e->s);

                if (!best || entry_compare(e, best, candidates) < 0)
                        best = e;
        }
        if (!best) {
                r = -ERANGE;
                goto finish;
        }

        *ret = best->s;
        r = 0;
finish:
        free(l.entries);
        return r;
}

/* ---- Settings and capabilities ---- */

static int append_entry(sd_bus_message *m, const char *key, const char *type, ...) {
        va_list ap;
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append_basic(m, 's', key);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'v', type);
        if (r < 0)
                return r;
        va_start(ap, type);
        r = sd_bus_message_appendv(m, type, ap);
        va_end(ap);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int append_ids(sd_bus_message *m, const ConstraintCandidate *cand) {
        int r;

        r = append_entry(m, "deviceId", "s", strempty(cand->device_id));
        if (r < 0)
                return r;
        return append_entry(m, "groupId", "s", strempty(cand->group_id));
}

int selected_settings_append(sd_bus_message *m, const SelectedSettings *s, const ConstraintCandidate *cand) {
        int r;

        assert(m);
        assert(s);
        assert(cand && cand->device);

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;

        if (s->kind == DEVICE_KIND_VIDEO) {
                if ((r = append_entry(m, "width", "u", s->width)) < 0 ||
                    (r = append_entry(m, "height", "u", s->height)) < 0 ||
                    (r = append_entry(m, "frameRate", "d", s->frame_rate)) < 0 ||
                    (r = append_entry(m, "aspectRatio", "d", s->aspect_ratio)) < 0 ||
                    (r = append_entry(m, "resizeMode", "s", s->crop_and_scale ? "crop-and-scale" : "none")) < 0 ||
                    (r = append_entry(m, "facingMode", "s", strempty(cand->device->facing_mode))) < 0)
                        return r;
        } else {
                if ((r = append_entry(m, "sampleRate", "u", s->sample_rate)) < 0 ||
                    (r = append_entry(m, "sampleSize", "u", s->sample_size)) < 0 ||
                    (r = append_entry(m, "channelCount", "u", s->channel_count)) < 0 ||
                    (r = append_entry(m, "latency", "d", s->latency)) < 0 ||
                    (r = append_entry(m, "echoCancellation", "b", (int) s->echo_cancellation)) < 0 ||
                    (r = append_entry(m, "autoGainControl", "b", (int) s->auto_gain_control)) < 0 ||
                    (r = append_entry(m, "noiseSuppression", "b", (int) s->noise_suppression)) < 0)
                        return r;
        }
        r = append_ids(m, cand);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

/* [true, false]: the client may turn it on and off; [false]: the device cannot do it (the
 * spec's rules for boolean capabilities; the order is the one browsers report). */
static int append_bool_capability(sd_bus_message *m, const char *key, bool capable) {
        if (capable)
                return append_entry(m, key, "ab", 2, 1, 0);
        return append_entry(m, key, "ab", 1, 0);
}

static int append_range_u32(sd_bus_message *m, const char *key, const uint32_t *values, size_t n) {
        uint32_t lo = UINT32_MAX, hi = 0;

        if (n == 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                lo = MIN(lo, values[i]);
                hi = MAX(hi, values[i]);
        }
        return append_entry(m, key, "(uu)", lo, hi);
}

int device_capabilities_append(sd_bus_message *m, const ConstraintCandidate *cand) {
        const Device *d;
        int r;

        assert(m);
        assert(cand && cand->device);
        d = cand->device;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;

        if (d->kind == DEVICE_KIND_VIDEO) {
                uint32_t max_w = 0, max_h = 0;
                double min_f = INFINITY, max_f = 0;

                for (size_t i = 0; i < d->n_modes; i++) {
                        if (d->modes[i].width == 0 || d->modes[i].height == 0 || !(d->modes[i].frame_rate > 0))
                                continue;
                        max_w = MAX(max_w, d->modes[i].width);
                        max_h = MAX(max_h, d->modes[i].height);
                        min_f = MIN(min_f, d->modes[i].frame_rate);
                        max_f = MAX(max_f, d->modes[i].frame_rate);
                }
                if (max_w > 0) {
                        if ((r = append_entry(m, "width", "(uu)", 1U, max_w)) < 0 ||
                            (r = append_entry(m, "height", "(uu)", 1U, max_h)) < 0 ||
                            (r = append_entry(m, "frameRate", "(dd)",
                                              MIN(CONSTRAINTS_MIN_DECIMATED_FRAME_RATE, min_f), max_f)) < 0 ||
                            (r = append_entry(m, "aspectRatio", "(dd)",
                                              round10(1.0 / max_h), (double) max_w)) < 0)
                                return r;
                }

                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(m, "s", "facingMode");
                if (r < 0)
                        return r;
                if (isempty(d->facing_mode))
                        r = sd_bus_message_append(m, "v", "as", 0);
                else
                        r = sd_bus_message_append(m, "v", "as", 1, d->facing_mode);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;

                r = append_entry(m, "resizeMode", "as", 2, "none", "crop-and-scale");
                if (r < 0)
                        return r;
        } else {
                const AudioCapabilities *a = &d->audio;
                static const uint32_t default_sizes[] = { 16 };

                if ((r = append_range_u32(m, "sampleRate", a->sample_rates, a->n_sample_rates)) < 0 ||
                    (r = append_range_u32(m, "sampleSize",
                                          a->n_sample_sizes > 0 ? a->sample_sizes : default_sizes,
                                          a->n_sample_sizes > 0 ? a->n_sample_sizes : 1)) < 0 ||
                    (r = append_range_u32(m, "channelCount", a->channel_counts, a->n_channel_counts)) < 0 ||
                    (r = append_entry(m, "latency", "(dd)", a->latency, a->latency)) < 0 ||
                    (r = append_bool_capability(m, "echoCancellation", a->echo_cancellation)) < 0 ||
                    (r = append_bool_capability(m, "autoGainControl", a->auto_gain_control)) < 0 ||
                    (r = append_bool_capability(m, "noiseSuppression", a->noise_suppression)) < 0)
                        return r;
        }

        r = append_ids(m, cand);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}
