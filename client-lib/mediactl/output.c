/* How mediactl prints: errors in one format, JSON through json-c, and aligned text tables
 * that keep untrusted strings (labels come from hardware) from steering the terminal. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libsmartcols.h>

#include "mediactl.h"
#include "sanitize.h"

static const char *errno_name(int r) {
        const char *name = strerrorname_np(r < 0 ? -r : r);

        return name ?: "EIO";
}

int print_error(const MgError *err, int r) {
        if (err && explain_error(err->name, err->message))
                return EXIT_FAILURE;
        if (err && err->name)
                fprintf(stderr, "mediactl: %s: %s\n", err->name, strempty(err->message));
        else
                fprintf(stderr, "mediactl: System.Error.%s: %s\n", errno_name(r), strerror(r < 0 ? -r : r));
        return EXIT_FAILURE;
}

int print_errno(int r, const char *context) {
        fprintf(stderr, "mediactl: System.Error.%s: %s: %s\n", errno_name(r), context, strerror(r < 0 ? -r : r));
        return EXIT_FAILURE;
}

int print_json(json_object *o) {
        const char *s;
        int ret = EXIT_SUCCESS;

        if (!o)
                return print_errno(-ENOMEM, "Failed to build the JSON output");
        s = json_object_to_json_string_ext(o, output_settings.json == JSON_SHORT ?
                                                      JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE :
                                                      JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                ret = print_errno(-ENOMEM, "Failed to format the JSON output");
        else if (puts(s) == EOF)
                ret = print_errno(-EIO, "Failed to write the output");
        json_object_put(o);
        return ret;
}

int print_json_line(json_object *o) {
        const char *s;
        int r = 0;

        if (!o)
                return -ENOMEM;
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                r = -ENOMEM;
        else if (puts(s) == EOF || fflush(stdout) == EOF)
                r = -EIO;
        json_object_put(o);
        return r;
}

int set_error(MgError *err, int error, const char *name, const char *format, ...) {
        va_list ap;
        char *message = NULL;

        mg_error_clear(err);
        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);
        err->error = error < 0 ? error : -EIO;
        err->name = strdup(name);
        err->message = message;
        return err->error;
}

int set_error_errno(MgError *err, int error, const char *format, ...) {
        _cleanup_free_ char *name = NULL;
        va_list ap;
        char *message = NULL;

        if (error >= 0)
                error = -EIO;
        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);
        if (asprintf(&name, "System.Error.%s", errno_name(error)) < 0)
                name = NULL;
        mg_error_clear(err);
        err->error = error;
        err->name = TAKE_PTR(name);
        err->message = message;
        return error;
}

int print_bus_error(const sd_bus_error *e, int r) {
        _cleanup_(mg_error_clear) MgError err = MG_ERROR_INIT;

        r = mg_error_set_from_bus(&err, e, r);
        return print_error(&err, r);
}

int json_add(json_object *o, const char *key, json_object *value) {
        if (!value)
                return -ENOMEM;
        if (json_object_object_add(o, key, value) < 0) {
                json_object_put(value);
                return -ENOMEM;
        }
        return 0;
}

int json_add_string(json_object *o, const char *key, const char *value) {
        return json_add(o, key, json_object_new_string(strempty(value)));
}

int json_append(json_object *array, json_object *value) {
        if (!value)
                return -ENOMEM;
        if (json_object_array_add(array, value) < 0) {
                json_object_put(value);
                return -ENOMEM;
        }
        return 0;
}

static json_object *number_to_json(double v, bool integral) {
        if (integral)
                return json_object_new_int64((int64_t) v);
        return json_object_new_double(v);
}

char *terminal_safe(const char *s) {
        return sanitize_text(s, SANITIZE_UNLIMITED);
}

void fput_markup_escaped(FILE *f, const char *s) {
        for (; s && *s; s++)
                switch (*s) {
                case '&':
                        fputs("&amp;", f);
                        break;
                case '<':
                        fputs("&lt;", f);
                        break;
                case '>':
                        fputs("&gt;", f);
                        break;
                default:
                        fputc(*s, f);
                }
}

/* The shape getCapabilities() has in JavaScript: {min, max}, or a list. */
json_object *capability_to_json(const MgCapability *cap) {
        json_object *o;

        switch (cap->type) {
        case MG_CAPABILITY_RANGE:
                o = json_object_new_object();
                if (!o)
                        return NULL;
                if (json_object_object_add(o, "min", number_to_json(cap->min, cap->integral)) < 0 ||
                    json_object_object_add(o, "max", number_to_json(cap->max, cap->integral)) < 0) {
                        json_object_put(o);
                        return NULL;
                }
                return o;
        case MG_CAPABILITY_STRINGS:
                o = json_object_new_array();
                for (size_t i = 0; o && i < cap->n_strings; i++)
                        if (json_object_array_add(o, json_object_new_string(cap->strings[i])) < 0) {
                                json_object_put(o);
                                return NULL;
                        }
                return o;
        case MG_CAPABILITY_BOOLEANS:
                o = json_object_new_array();
                for (size_t i = 0; o && i < cap->n_booleans; i++)
                        if (json_object_array_add(o, json_object_new_boolean(cap->booleans[i])) < 0) {
                                json_object_put(o);
                                return NULL;
                        }
                return o;
        }
        return NULL;
}

/* A table is a libsmartcols table (what lsblk and findmnt print with): widths follow the widest
 * cell, wide characters count as wide, and what is not printable is shown escaped. */
struct Table {
        struct libscols_table *table;
        size_t n_columns;
};

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        scols_unref_table(t->table);
        free(t);
        return NULL;
}

Table *table_new(size_t n_columns, const char *const *headers) {
        _cleanup_(table_freep) Table *t = NULL;

        t = calloc(1, sizeof(Table));
        if (!t)
                return NULL;
        t->n_columns = n_columns;
        t->table = scols_new_table();
        if (!t->table || scols_table_set_column_separator(t->table, "  ") < 0 ||
            scols_table_enable_noheadings(t->table, !output_settings.legend) < 0)
                return NULL;
        for (size_t i = 0; i < n_columns; i++)
                if (!scols_table_new_column(t->table, headers[i], 0, 0))
                        return NULL;
        return TAKE_PTR(t);
}

int table_add_row(Table *t, const char *const *cells) {
        struct libscols_line *line;

        line = scols_table_new_line(t->table, NULL);
        if (!line)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_columns; i++) {
                _cleanup_free_ char *safe = terminal_safe(cells[i]);
                int r;

                if (!safe)
                        return -ENOMEM;
                r = scols_line_set_data(line, i, safe);
                if (r < 0)
                        return r;
        }
        return 0;
}

int table_print(Table *t, FILE *f) {
        int r;

        r = scols_table_set_stream(t->table, f);
        if (r >= 0)
                r = scols_print_table(t->table);
        if (r < 0)
                return r;
        return ferror(f) ? -EIO : 0;
}

void format_realtime(uint64_t realtime_usec, bool iso, char *buf, size_t size) {
        time_t sec = (time_t) (realtime_usec / 1000000);
        struct tm tm;
        char date[32], zone[8] = "";

        if (!localtime_r(&sec, &tm)) {
                snprintf(buf, size, "@%" PRIu64, realtime_usec);
                return;
        }
        strftime(date, sizeof date, iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
        if (iso)
                strftime(zone, sizeof zone, "%z", &tm);
        snprintf(buf, size, "%s.%03u%s", date, (unsigned) (realtime_usec % 1000000 / 1000), zone);
}

int print_listing(bool json, json_object *array, Table *t, size_t n_rows, const char *empty_text) {
        int r;

        if (json)
                return print_json(array);
        json_object_put(array);
        if (n_rows == 0) {
                if (output_settings.legend)
                        puts(empty_text);
                return EXIT_SUCCESS;
        }
        pager_open();
        r = table_print(t, stdout);
        return r < 0 ? print_errno(r, "Failed to write the output") : EXIT_SUCCESS;
}
