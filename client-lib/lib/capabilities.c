/* getCapabilities() as the daemon sends it: an a{sv} whose values are ranges, lists of strings
 * or of booleans. Where docs/dbus-api.md leaves the numeric type open every numeric type is accepted; a
 * value of a shape we do not know is skipped, never trusted. */
#include "capabilities.h"

#include "bus-dict.h"
#include "util.h"

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
        return strlen(s) == 4 && s[0] == '(' && bus_type_is_numeric(s[1]) && bus_type_is_numeric(s[2]) &&
               s[3] == ')';
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
        r = bus_read_basic_number(m, inner[0], &cap->min, &integral_min);
        if (r < 0)
                return r;
        r = bus_read_basic_number(m, inner[1], &cap->max, &integral_max);
        if (r < 0)
                return r;
        r = bus_message_exit_containers(m, 2);
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
        r = bus_message_exit_containers(m, single ? 1 : 2);
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

/* One capability value. Returns 1 when it was understood, 0 when it is of a shape we do not
 * know (left unread, for the dictionary reader to skip). */
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
        if (strlen(contents) == 1 && bus_type_is_numeric(contents[0])) {
                /* A single value: a range of one. */
                r = bus_read_number_variant(m, &cap->min, &cap->integral);
                if (r < 0)
                        return r;
                cap->max = cap->min;
                cap->type = MG_CAPABILITY_RANGE;
                return 1;
        }

        return 0;
}

typedef struct CapabilityList {
        MgCapability *caps;
        size_t n;
} CapabilityList;

static int read_capability(sd_bus_message *m, const char *name, void *userdata) {
        CapabilityList *l = userdata;
        MgCapability cap = {}, *grown;
        int r;

        for (size_t i = 0; i < l->n; i++)
                if (streq(l->caps[i].name, name))
                        return 0; /* the first one counts */

        cap.name = strdup(name);
        if (!cap.name)
                return -ENOMEM;
        r = read_capability_value(m, &cap);
        if (r <= 0) {
                capability_done(&cap);
                return r;
        }
        grown = realloc(l->caps, (l->n + 1) * sizeof(MgCapability));
        if (!grown) {
                capability_done(&cap);
                return -ENOMEM;
        }
        l->caps = grown;
        l->caps[l->n++] = cap;
        return 1;
}

int bus_read_capabilities(sd_bus_message *m, MgCapability **ret, size_t *ret_n) {
        CapabilityList l = {};
        int r;

        r = bus_dict_read(m, read_capability, &l, NULL);
        if (r < 0) {
                capabilities_free(l.caps, l.n);
                return r;
        }
        *ret = l.caps;
        *ret_n = l.n;
        return 0;
}
