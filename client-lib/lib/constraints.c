/* MediaStreamConstraints: JSON in JavaScript's shape, the builder that produces the same
 * shape, and the one conversion of that shape into the daemon's a{sv} (docs/constraints.md, "On the bus"). */
#include "constraints.h"

#include <limits.h>
#include <math.h>

#include "internal.h"
#include "mediagate-names.h"

/* Deeper than any real constraint dictionary (constraints → video → advanced → set → width →
 * {exact}); the daemon refuses deep a{sv} anyway, this keeps the recursion bounded. */
#define CONSTRAINTS_MAX_DEPTH 16

static const char *kind_key(MgMediaKind kind) {
        if (kind != MG_MEDIA_AUDIO && kind != MG_MEDIA_VIDEO)
                return NULL;
        return device_kind_to_track_kind(media_kind_to_device_kind(kind));
}

/* sd-bus refuses strings that are not valid UTF-8; find them first, so that the app gets a
 * TypeError naming the property instead of an anonymous EINVAL. */
static bool utf8_is_valid(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                uint32_t cp;
                int n;

                if (*p < 0x80) {
                        p++;
                        continue;
                } else if ((*p & 0xe0) == 0xc0) {
                        cp = *p & 0x1f;
                        n = 1;
                } else if ((*p & 0xf0) == 0xe0) {
                        cp = *p & 0x0f;
                        n = 2;
                } else if ((*p & 0xf8) == 0xf0) {
                        cp = *p & 0x07;
                        n = 3;
                } else
                        return false;
                p++;
                for (int i = 0; i < n; i++, p++) {
                        if ((*p & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (*p & 0x3f);
                }
                /* overlong forms, surrogates, beyond Unicode */
                if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
                    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                        return false;
        }
        return true;
}

static int type_error(MgError *err, const char *path, const char *what) {
        return error_setf(err, -EINVAL, MG_ERROR_NAME_TYPE, "Constraint %s: %s", path, what);
}

static int append_object(sd_bus_message *m, const char *path, json_object *object, unsigned depth, MgError *err);

static int append_failed(MgError *err, int r) {
        return error_set_errno(err, r, "Failed to build the constraints message");
}

/* A list: "advanced" is a list of constraint sets, everything else a list of strings. */
static int append_array(sd_bus_message *m, const char *path, const char *key, json_object *array,
                        unsigned depth, MgError *err) {
        bool advanced = streq(key, "advanced");
        size_t n = json_object_array_length(array);
        int r;

        if (m) {
                r = sd_bus_message_open_container(m, 'v', advanced ? "aa{sv}" : "as");
                if (r < 0)
                        return append_failed(err, r);
                r = sd_bus_message_open_container(m, 'a', advanced ? "a{sv}" : "s");
                if (r < 0)
                        return append_failed(err, r);
        }
        for (size_t i = 0; i < n; i++) {
                json_object *element = json_object_array_get_idx(array, i);
                _cleanup_free_ char *element_path = NULL;

                if (asprintf(&element_path, "%s[%zu]", path, i) < 0)
                        return error_set_errno(err, -ENOMEM, NULL);
                if (advanced) {
                        if (!json_object_is_type(element, json_type_object))
                                return type_error(err, element_path, "an advanced constraint set must be an object");
                        r = append_object(m, element_path, element, depth + 1, err);
                        if (r < 0)
                                return r;
                } else {
                        const char *s;

                        if (!json_object_is_type(element, json_type_string))
                                return type_error(err, element_path, "a list may only hold strings");
                        s = json_object_get_string(element);
                        if ((size_t) json_object_get_string_len(element) != strlen(s) || !utf8_is_valid(s))
                                return type_error(err, element_path, "not a valid UTF-8 string");
                        if (m) {
                                r = sd_bus_message_append_basic(m, 's', s);
                                if (r < 0)
                                        return append_failed(err, r);
                        }
                }
        }
        if (m) {
                r = bus_message_close_containers(m, 2);
                if (r < 0)
                        return append_failed(err, r);
        }
        return 0;
}

/* Whole numbers go out as 'i' when they fit, as the README's busctl example does; larger ones
 * as 'x' or 't' (the daemon accepts u, i, t, x and integral d for whole-number properties). */
static int append_integer(sd_bus_message *m, json_object *value) {
        int64_t i = json_object_get_int64(value);

        if (!m)
                return 0;
        if (i >= INT32_MIN && i <= INT32_MAX)
                return sd_bus_message_append(m, "v", "i", (int32_t) i);
        if (i == INT64_MAX) {
                /* json-c keeps values above INT64_MAX as unsigned */
                uint64_t u = json_object_get_uint64(value);

                if (u > (uint64_t) INT64_MAX)
                        return sd_bus_message_append(m, "v", "t", u);
        }
        return sd_bus_message_append(m, "v", "x", i);
}

static int append_value(sd_bus_message *m, const char *path, const char *key, json_object *value,
                        unsigned depth, MgError *err) {
        int r = 0;

        switch (json_object_get_type(value)) {
        case json_type_boolean:
                if (m)
                        r = sd_bus_message_append(m, "v", "b", (int) json_object_get_boolean(value));
                break;
        case json_type_int:
                r = append_integer(m, value);
                break;
        case json_type_double: {
                double d = json_object_get_double(value);

                if (!isfinite(d))
                        return type_error(err, path, "NaN and infinities are not allowed");
                if (m)
                        r = sd_bus_message_append(m, "v", "d", d);
                break;
        }
        case json_type_string: {
                const char *s = json_object_get_string(value);

                if ((size_t) json_object_get_string_len(value) != strlen(s) || !utf8_is_valid(s))
                        return type_error(err, path, "not a valid UTF-8 string");
                if (m)
                        r = sd_bus_message_append(m, "v", "s", s);
                break;
        }
        case json_type_array:
                return append_array(m, path, key, value, depth, err);
        case json_type_object:
                if (m) {
                        r = sd_bus_message_open_container(m, 'v', "a{sv}");
                        if (r < 0)
                                return append_failed(err, r);
                }
                r = append_object(m, path, value, depth + 1, err);
                if (r < 0)
                        return r;
                if (m)
                        r = sd_bus_message_close_container(m);
                break;
        case json_type_null:
        default:
                return type_error(err, path, "null is not a constraint value");
        }
        if (r < 0)
                return append_failed(err, r);
        return 0;
}

static int append_object(sd_bus_message *m, const char *path, json_object *object, unsigned depth, MgError *err) {
        int r;

        if (depth > CONSTRAINTS_MAX_DEPTH)
                return type_error(err, path, "nested too deeply");

        if (m) {
                r = sd_bus_message_open_container(m, 'a', "{sv}");
                if (r < 0)
                        return append_failed(err, r);
        }
        json_object_object_foreach(object, key, value) {
                _cleanup_free_ char *child_path = NULL;

                if (asprintf(&child_path, "%s%s%s", path, isempty(path) ? "" : ".", key) < 0)
                        return error_set_errno(err, -ENOMEM, NULL);
                if (!utf8_is_valid(key))
                        return type_error(err, child_path, "the name is not valid UTF-8");

                if (m) {
                        r = bus_dict_open_entry(m, key);
                        if (r < 0)
                                return append_failed(err, r);
                }
                r = append_value(m, child_path, key, value, depth, err);
                if (r < 0)
                        return r;
                if (m) {
                        r = sd_bus_message_close_container(m);
                        if (r < 0)
                                return append_failed(err, r);
                }
        }
        if (m) {
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return append_failed(err, r);
        }
        return 0;
}

int constraints_append_json(sd_bus_message *m, json_object *object, MgError *err) {
        if (!json_object_is_type(object, json_type_object))
                return error_setf(err, -EINVAL, MG_ERROR_NAME_TYPE, "Constraints must be a JSON object.");
        return append_object(m, "", object, 1, err);
}

int constraints_parse_json(const char *json, json_object **ret, MgError *err) {
        _cleanup_(json_object_putp) json_object *object = NULL;
        json_tokener *tok;
        enum json_tokener_error e;
        size_t len, end;

        if (!json)
                return error_setf(err, -EINVAL, MG_ERROR_NAME_TYPE, "No constraints given.");
        len = strlen(json);
        if (len >= INT_MAX)
                return error_setf(err, -EINVAL, ERROR_NAME_SYNTAX, "Constraints JSON is too long.");

        tok = json_tokener_new();
        if (!tok)
                return error_set_errno(err, -ENOMEM, NULL);
        /* Strict: JavaScript's JSON.parse() refuses trailing commas and invalid UTF-8 too. */
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        /* The terminating NUL is part of the input, so that a bare literal ("true") ends. */
        object = json_tokener_parse_ex(tok, json, (int) len + 1);
        e = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);

        if (e == json_tokener_continue || (!object && e == json_tokener_success))
                return error_setf(err, -EINVAL, ERROR_NAME_SYNTAX, "Constraints JSON ends early.");
        if (e != json_tokener_success)
                return error_setf(err, -EINVAL, ERROR_NAME_SYNTAX, "Constraints JSON: %s at offset %zu.",
                                  json_tokener_error_desc(e), end);
        for (size_t i = end; i < len; i++)
                if (!strchr(" \t\r\n", json[i]))
                        return error_setf(err, -EINVAL, ERROR_NAME_SYNTAX,
                                          "Constraints JSON: unexpected text at offset %zu.", i);
        if (!json_object_is_type(object, json_type_object))
                return error_setf(err, -EINVAL, MG_ERROR_NAME_TYPE, "Constraints must be a JSON object.");

        *ret = TAKE_PTR(object);
        return 0;
}

int mg_constraints_new(MgConstraints **ret) {
        MgConstraints *c;

        if (!ret)
                return -EINVAL;
        c = calloc(1, sizeof(MgConstraints));
        if (!c)
                return -ENOMEM;
        c->root = json_object_new_object();
        if (!c->root) {
                free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

int mg_constraints_new_from_json(MgConstraints **ret, const char *json, MgError *err) {
        _cleanup_(mg_constraints_freep) MgConstraints *c = NULL;
        json_object *object = NULL;
        int r;

        if (!ret)
                return error_setf(err, -EINVAL, MG_ERROR_NAME_TYPE, "No place for the result given.");
        r = constraints_parse_json(json, &object, err);
        if (r < 0)
                return r;
        c = calloc(1, sizeof(MgConstraints));
        if (!c) {
                json_object_put(object);
                return error_set_errno(err, -ENOMEM, NULL);
        }
        c->root = object;

        /* Refuse now what could not be sent later. */
        r = constraints_append_json(NULL, c->root, err);
        if (r < 0)
                return r;

        mg_error_clear(err);
        *ret = TAKE_PTR(c);
        return 0;
}

MgConstraints *mg_constraints_free(MgConstraints *c) {
        if (!c)
                return NULL;
        json_object_put(c->root);
        free(c);
        return NULL;
}

int mg_constraints_to_json(const MgConstraints *c, char **ret) {
        const char *s;
        char *copy;

        if (!c || !ret)
                return -EINVAL;
        s = json_object_to_json_string_ext(c->root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

int mg_constraints_request(MgConstraints *c, MgMediaKind kind, bool requested) {
        const char *key = kind_key(kind);
        json_object *b;

        if (!c || !key)
                return -EINVAL;
        b = json_object_new_boolean(requested);
        if (!b)
                return -ENOMEM;
        if (json_object_object_add(c->root, key, b) < 0) {
                json_object_put(b);
                return -ENOMEM;
        }
        return 0;
}

/* The constraint set of a kind, turning `true`, `false` or nothing into {}. */
static int kind_set(MgConstraints *c, MgMediaKind kind, json_object **ret) {
        const char *key = kind_key(kind);
        json_object *set;

        if (!c || !key)
                return -EINVAL;
        set = json_object_object_get(c->root, key);
        if (json_object_is_type(set, json_type_object)) {
                *ret = set;
                return 0;
        }
        set = json_object_new_object();
        if (!set)
                return -ENOMEM;
        if (json_object_object_add(c->root, key, set) < 0) {
                json_object_put(set);
                return -ENOMEM;
        }
        *ret = set;
        return 0;
}

static json_object *number_new(double v) {
        /* Whole values as 'i', so that the builder and the JSON form agree. */
        if (v == trunc(v) && v >= INT32_MIN && v <= INT32_MAX)
                return json_object_new_int((int32_t) v);
        return json_object_new_double(v);
}

/* Store `value` (consumed) under name in the kind's set, bare or as {ideal|exact: value}. */
static int set_property(MgConstraints *c, MgMediaKind kind, const char *name, json_object *value, MgMatch match) {
        _cleanup_(json_object_putp) json_object *v = value;
        json_object *set;
        int r;

        if (!v)
                return -ENOMEM;
        if (isempty(name) || streq(name, "advanced") || !utf8_is_valid(name))
                return -EINVAL;
        if (match == MG_MATCH_IDEAL || match == MG_MATCH_EXACT) {
                json_object *wrapper = json_object_new_object();

                if (!wrapper)
                        return -ENOMEM;
                if (json_object_object_add(wrapper, match == MG_MATCH_EXACT ? "exact" : "ideal", v) < 0) {
                        json_object_put(wrapper);
                        return -ENOMEM;
                }
                v = wrapper;
        } else if (match != MG_MATCH_BARE)
                return -EINVAL;

        r = kind_set(c, kind, &set);
        if (r < 0)
                return r;
        if (json_object_object_add(set, name, v) < 0)
                return -ENOMEM;
        TAKE_PTR(v);
        return 0;
}

int mg_constraints_set_number(MgConstraints *c, MgMediaKind kind, const char *name, double value, MgMatch match) {
        if (!isfinite(value))
                return -EINVAL;
        return set_property(c, kind, name, number_new(value), match);
}

int mg_constraints_set_string(MgConstraints *c, MgMediaKind kind, const char *name, const char *value, MgMatch match) {
        if (!value || !utf8_is_valid(value))
                return -EINVAL;
        return set_property(c, kind, name, json_object_new_string(value), match);
}

int mg_constraints_set_strings(MgConstraints *c, MgMediaKind kind, const char *name, const char *const *values,
                               MgMatch match) {
        _cleanup_(json_object_putp) json_object *array = NULL;

        if (!values)
                return -EINVAL;
        array = json_object_new_array();
        if (!array)
                return -ENOMEM;
        for (const char *const *v = values; *v; v++) {
                json_object *s;

                if (!utf8_is_valid(*v))
                        return -EINVAL;
                s = json_object_new_string(*v);
                if (!s)
                        return -ENOMEM;
                if (json_object_array_add(array, s) < 0) {
                        json_object_put(s);
                        return -ENOMEM;
                }
        }
        return set_property(c, kind, name, TAKE_PTR(array), match);
}

int mg_constraints_set_boolean(MgConstraints *c, MgMediaKind kind, const char *name, bool value, MgMatch match) {
        return set_property(c, kind, name, json_object_new_boolean(value), match);
}

int mg_constraints_set_range(MgConstraints *c, MgMediaKind kind, const char *name, const MgRange *range) {
        static const struct {
                unsigned flag;
                const char *key;
                size_t offset;
        } members[] = {
                { MG_RANGE_MIN, "min", offsetof(MgRange, min) },
                { MG_RANGE_MAX, "max", offsetof(MgRange, max) },
                { MG_RANGE_EXACT, "exact", offsetof(MgRange, exact) },
                { MG_RANGE_IDEAL, "ideal", offsetof(MgRange, ideal) },
        };
        _cleanup_(json_object_putp) json_object *object = NULL;

        if (!range || (range->set & (MG_RANGE_MIN | MG_RANGE_MAX | MG_RANGE_EXACT | MG_RANGE_IDEAL)) == 0 ||
            (range->set & ~(unsigned) (MG_RANGE_MIN | MG_RANGE_MAX | MG_RANGE_EXACT | MG_RANGE_IDEAL)))
                return -EINVAL;
        object = json_object_new_object();
        if (!object)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(members); i++) {
                double v;
                json_object *n;

                if (!(range->set & members[i].flag))
                        continue;
                memcpy(&v, (const uint8_t *) range + members[i].offset, sizeof(double));
                if (!isfinite(v))
                        return -EINVAL;
                n = number_new(v);
                if (!n)
                        return -ENOMEM;
                if (json_object_object_add(object, members[i].key, n) < 0) {
                        json_object_put(n);
                        return -ENOMEM;
                }
        }
        return set_property(c, kind, name, TAKE_PTR(object), MG_MATCH_BARE);
}

int mg_constraints_add_advanced(MgConstraints *c, MgMediaKind kind, const MgConstraints *set) {
        _cleanup_(json_object_putp) json_object *copy = NULL;
        json_object *source, *target, *list;
        const char *key = kind_key(kind);
        int r;

        if (!c || !set || !key || c == set)
                return -EINVAL;
        source = json_object_object_get(set->root, key);
        if (source) {
                if (!json_object_is_type(source, json_type_object) || json_object_object_get_ex(source, "advanced", NULL))
                        return -EINVAL;
                r = json_object_deep_copy(source, &copy, NULL);
                if (r < 0)
                        return -ENOMEM;
        } else {
                copy = json_object_new_object();
                if (!copy)
                        return -ENOMEM;
        }

        r = kind_set(c, kind, &target);
        if (r < 0)
                return r;
        list = json_object_object_get(target, "advanced");
        if (!json_object_is_type(list, json_type_array)) {
                list = json_object_new_array();
                if (!list)
                        return -ENOMEM;
                if (json_object_object_add(target, "advanced", list) < 0) {
                        json_object_put(list);
                        return -ENOMEM;
                }
        }
        if (json_object_array_add(list, copy) < 0)
                return -ENOMEM;
        TAKE_PTR(copy);
        return 0;
}
