/* Readers for the values inside the daemon's a{sv} dictionaries. Where docs/dbus-api.md leaves the exact
 * type open (numbers in settings and capabilities) they accept every numeric type; a value of
 * an unexpected type is reported, never trusted. */
#include <math.h>

#include "internal.h"

static bool type_is_numeric(char t) {
        return t && strchr("ynqiuxtd", t);
}

/* Read one basic numeric value at the current position. */
static int read_basic_number(sd_bus_message *m, char type, double *ret, bool *ret_integral) {
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

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENXIO;

        *ret_integral = type != 'd';
        switch (type) {
        case 'y': *ret = v.y; break;
        case 'n': *ret = v.n; break;
        case 'q': *ret = v.q; break;
        case 'i': *ret = v.i; break;
        case 'u': *ret = v.u; break;
        case 'x': *ret = (double) v.x; break;
        case 't': *ret = (double) v.t; break;
        case 'd':
                if (!isfinite(v.d))
                        return -EBADMSG;
                *ret = v.d;
                break;
        default:
                return -ENXIO;
        }
        return 0;
}

int bus_read_number_variant(sd_bus_message *m, double *ret, bool *ret_integral) {
        const char *contents;
        double v;
        bool integral;
        int r;

        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        if (r == 0 || strlen(contents) != 1 || !type_is_numeric(contents[0]))
                return -ENXIO;

        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        r = read_basic_number(m, contents[0], &v, &integral);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = v;
        if (ret_integral)
                *ret_integral = integral;
        return 0;
}

int bus_read_typed_variant(sd_bus_message *m, const char *type, void *ret) {
        const char *contents;
        int r;

        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        if (r == 0 || !streq(contents, type))
                return -ENXIO;
        return sd_bus_message_read(m, "v", type, ret);
}

int bus_read_string_variant(sd_bus_message *m, char **ret) {
        const char *s;
        char *copy;
        int r;

        r = bus_read_typed_variant(m, "s", &s);
        if (r < 0)
                return r;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        free(*ret);
        *ret = copy;
        return 0;
}

int bus_read_strv(sd_bus_message *m, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;
        int r;

        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        r = sd_bus_message_enter_container(m, 'a', "s");
        if (r < 0)
                return r;
        for (;;) {
                const char *s;
                char **grown;

                r = sd_bus_message_read_basic(m, 's', &s);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                grown = realloc(l, (n + 2) * sizeof(char *));
                if (!grown)
                        return -ENOMEM;
                l = grown;
                l[n] = strdup(s);
                if (!l[n])
                        return -ENOMEM;
                l[++n] = NULL;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static void capability_done(MgCapability *cap) {
        free((char *) cap->name);
        strv_free((char **) cap->strings);
        free((bool *) cap->booleans);
        *cap = (MgCapability) {};
}

void capabilities_free(MgCapability *caps, size_t n) {
        for (size_t i = 0; i < n; i++)
                capability_done(caps + i);
        free(caps);
}

/* A (min, max) pair: a struct of two numbers, as getCapabilities() gives ranges. */
static bool signature_is_number_pair(const char *s) {
        return strlen(s) == 4 && s[0] == '(' && type_is_numeric(s[1]) && type_is_numeric(s[2]) && s[3] == ')';
}

static int read_range(sd_bus_message *m, const char *contents, MgCapability *cap) {
        char inner[3] = { contents[1], contents[2], 0 };
        bool integral_min, integral_max;
        int r;

        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'r', inner);
        if (r < 0)
                return r;
        r = read_basic_number(m, inner[0], &cap->min, &integral_min);
        if (r < 0)
                return r;
        r = read_basic_number(m, inner[1], &cap->max, &integral_max);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        cap->type = MG_CAPABILITY_RANGE;
        cap->integral = integral_min && integral_max;
        return 1;
}

static int read_booleans(sd_bus_message *m, bool single, MgCapability *cap) {
        _cleanup_free_ bool *values = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'v', single ? "b" : "ab");
        if (r < 0)
                return r;
        if (!single) {
                r = sd_bus_message_enter_container(m, 'a', "b");
                if (r < 0)
                        return r;
        }
        for (;;) {
                bool *grown;
                int b;

                if (single && n == 1)
                        break;
                r = sd_bus_message_read_basic(m, 'b', &b);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                grown = realloc(values, (n + 1) * sizeof(bool));
                if (!grown)
                        return -ENOMEM;
                values = grown;
                values[n++] = b;
        }
        if (!single) {
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        cap->type = MG_CAPABILITY_BOOLEANS;
        cap->booleans = TAKE_PTR(values);
        cap->n_booleans = n;
        return 1;
}

static int read_strings(sd_bus_message *m, bool single, MgCapability *cap) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        if (single) {
                const char *s;

                r = sd_bus_message_read(m, "v", "s", &s);
                if (r < 0)
                        return r;
                l = calloc(2, sizeof(char *));
                if (!l)
                        return -ENOMEM;
                l[0] = strdup(s);
                if (!l[0])
                        return -ENOMEM;
        } else {
                r = sd_bus_message_enter_container(m, 'v', "as");
                if (r < 0)
                        return r;
                r = bus_read_strv(m, &l);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        cap->type = MG_CAPABILITY_STRINGS;
        cap->n_strings = strv_length(l);
        cap->strings = (const char *const *) TAKE_PTR(l);
        return 1;
}

/* One capability value. Returns 1 when it was understood, 0 when it was skipped. */
static int read_capability_value(sd_bus_message *m, MgCapability *cap) {
        const char *contents;
        int r;

        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        if (r == 0)
                return -EBADMSG;

        if (signature_is_number_pair(contents))
                return read_range(m, contents, cap);
        if (streq(contents, "as") || streq(contents, "s"))
                return read_strings(m, contents[0] == 's', cap);
        if (streq(contents, "ab") || streq(contents, "b"))
                return read_booleans(m, contents[0] == 'b', cap);
        if (strlen(contents) == 1 && type_is_numeric(contents[0])) {
                /* A single value: a range of one. */
                r = bus_read_number_variant(m, &cap->min, &cap->integral);
                if (r < 0)
                        return r;
                cap->max = cap->min;
                cap->type = MG_CAPABILITY_RANGE;
                return 1;
        }

        r = sd_bus_message_skip(m, "v");
        return r < 0 ? r : 0;
}

int bus_read_capabilities(sd_bus_message *m, MgCapability **ret, size_t *ret_n) {
        MgCapability *caps = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                MgCapability cap = {}, *grown;
                const char *name;
                bool duplicate = false;

                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;
                r = sd_bus_message_read_basic(m, 's', &name);
                if (r < 0)
                        goto fail;
                for (size_t i = 0; i < n; i++)
                        duplicate = duplicate || streq(caps[i].name, name);
                if (duplicate) {
                        r = sd_bus_message_skip(m, "v");
                        if (r < 0)
                                goto fail;
                } else {
                        cap.name = strdup(name);
                        if (!cap.name) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        r = read_capability_value(m, &cap);
                        if (r <= 0) {
                                capability_done(&cap);
                                if (r < 0)
                                        goto fail;
                        } else {
                                grown = realloc(caps, (n + 1) * sizeof(MgCapability));
                                if (!grown) {
                                        capability_done(&cap);
                                        r = -ENOMEM;
                                        goto fail;
                                }
                                caps = grown;
                                caps[n++] = cap;
                        }
                }
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        goto fail;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                goto fail;

        *ret = caps;
        *ret_n = n;
        return 0;

fail:
        capabilities_free(caps, n);
        return r;
}
