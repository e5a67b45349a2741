/* a{sv} dictionaries: the one reading loop, the strict options reader built on it, the
 * tolerant readers of variant values, and the writer of one entry. */
#include "bus-dict.h"

#include <math.h>

#include "util.h"

int bus_dict_read(sd_bus_message *m, bus_dict_entry_t fn, void *userdata, const char **ret_key) {
        int r;

        if (ret_key)
                *ret_key = NULL;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key;

                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read_basic(m, 's', &key);
                if (r < 0)
                        return r;

                r = fn(m, key, userdata);
                if (r < 0) {
                        if (ret_key)
                                *ret_key = key;
                        return r;
                }
                if (r == 0) {
                        r = sd_bus_message_skip(m, "v");
                        if (r < 0)
                                return r;
                }

                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

/* ---- strict fields ---- */

typedef struct FieldsRead {
        BusDictField *fields;
        size_t n_fields;
        sd_bus_error *error;
} FieldsRead;

static int read_field_value(sd_bus_message *m, BusDictField *f, sd_bus_error *error) {
        int r;

        if (streq(f->type, "s")) {
                const char *s;

                r = sd_bus_message_read(m, "s", &s);
                if (r < 0)
                        return r;
                return free_and_strdup((char **) f->ret, s);
        }
        if (streq(f->type, "u"))
                return sd_bus_message_read(m, "u", (uint32_t *) f->ret);
        if (streq(f->type, "t"))
                return sd_bus_message_read(m, "t", (uint64_t *) f->ret);
        if (streq(f->type, "b")) {
                int b;

                r = sd_bus_message_read(m, "b", &b);
                if (r < 0)
                        return r;
                *(bool *) f->ret = b;
                return 0;
        }
        if (streq(f->type, "as")) {
                char **l = NULL;

                r = sd_bus_message_read_strv(m, &l);
                if (r < 0)
                        return r;
                strv_free(*(char ***) f->ret);
                *(char ***) f->ret = l;
                return 0;
        }
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unsupported option type");
}

static int read_field(sd_bus_message *m, const char *key, void *userdata) {
        FieldsRead *fr = userdata;
        BusDictField *f = NULL;
        const char *contents;
        int r;

        for (size_t i = 0; i < fr->n_fields; i++)
                if (streq(fr->fields[i].key, key))
                        f = &fr->fields[i];
        if (!f)
                return sd_bus_error_setf(fr->error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%.64s'", key);
        if (f->seen)
                return sd_bus_error_setf(fr->error, SD_BUS_ERROR_INVALID_ARGS, "Option '%s' given twice", f->key);
        f->seen = true;

        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        if (!streq(contents, f->type))
                return sd_bus_error_setf(fr->error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option '%s' must be of type '%s', not '%.16s'", f->key, f->type,
                                         contents);
        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        r = read_field_value(m, f, fr->error);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        return 1;
}

int bus_dict_read_fields(sd_bus_message *m, BusDictField *fields, size_t n_fields, sd_bus_error *error) {
        FieldsRead fr = { .fields = fields, .n_fields = n_fields, .error = error };

        for (size_t i = 0; i < n_fields; i++)
                fields[i].seen = false;
        return bus_dict_read(m, read_field, &fr, NULL);
}

void bus_dict_fields_free(BusDictField *fields, size_t n_fields) {
        for (size_t i = 0; i < n_fields; i++) {
                if (streq(fields[i].type, "s")) {
                        free(*(char **) fields[i].ret);
                        *(char **) fields[i].ret = NULL;
                } else if (streq(fields[i].type, "as")) {
                        strv_free(*(char ***) fields[i].ret);
                        *(char ***) fields[i].ret = NULL;
                }
        }
}

/* ---- variant values ---- */

int bus_message_exit_containers(sd_bus_message *m, unsigned n) {
        int r = 0;

        for (unsigned i = 0; i < n && r >= 0; i++)
                r = sd_bus_message_exit_container(m);
        return r;
}

int bus_read_basic_number(sd_bus_message *m, char type, double *ret, bool *ret_integral) {
        BusNumber v;
        int r;

        if (!bus_type_is_numeric(type))
                return -ENXIO;
        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENXIO;
        if (type == 'd' && !isfinite(v.d))
                return -EBADMSG;

        *ret = bus_number_to_double(type, &v);
        if (ret_integral)
                *ret_integral = type != 'd';
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
        if (r == 0 || strlen(contents) != 1 || !bus_type_is_numeric(contents[0]))
                return -ENXIO;

        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        r = bus_read_basic_number(m, contents[0], &v, &integral);
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

/* ---- writing ---- */

int bus_dict_open_entry(sd_bus_message *m, const char *key) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r < 0)
                return r;
        return sd_bus_message_append_basic(m, 's', key);
}

int bus_message_close_containers(sd_bus_message *m, unsigned n) {
        int r = 0;

        for (unsigned i = 0; i < n && r >= 0; i++)
                r = sd_bus_message_close_container(m);
        return r;
}

int bus_dict_appendv(sd_bus_message *m, const char *key, const char *type, va_list ap) {
        int r;

        r = bus_dict_open_entry(m, key);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'v', type);
        if (r < 0)
                return r;
        r = sd_bus_message_appendv(m, type, ap);
        if (r < 0)
                return r;
        return bus_message_close_containers(m, 2);
}

int bus_dict_append(sd_bus_message *m, const char *key, const char *type, ...) {
        va_list ap;
        int r;

        va_start(ap, type);
        r = bus_dict_appendv(m, key, type, ap);
        va_end(ap);
        return r;
}

int bus_dict_append_strv(sd_bus_message *m, const char *key, char **l) {
        int r;

        r = bus_dict_open_entry(m, key);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'v', "as");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(m, l);
        if (r < 0)
                return r;
        return bus_message_close_containers(m, 2);
}
