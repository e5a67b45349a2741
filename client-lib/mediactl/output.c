/* How mediactl prints: errors in one format, JSON through json-c, and aligned text tables
 * that keep untrusted strings (labels come from hardware) from steering the terminal. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "mediactl.h"

static const char *errno_name(int r) {
        const char *name = strerrorname_np(r < 0 ? -r : r);

        return name ?: "EIO";
}

int print_error(const MgError *err, int r) {
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
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
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

struct Table {
        size_t n_columns;
        char **cells; /* rows * n_columns, the header row first */
        size_t n_rows;
};

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
        return NULL;
}

char *terminal_safe(const char *s) {
        char *copy = strdup(strempty(s));

        if (!copy)
                return NULL;
        for (unsigned char *p = (unsigned char *) copy; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        *p = '?';
        return copy;
}

int table_add_row(Table *t, const char *const *cells) {
        char **grown;

        grown = realloc(t->cells, (t->n_rows + 1) * t->n_columns * sizeof(char *));
        if (!grown)
                return -ENOMEM;
        t->cells = grown;
        for (size_t i = 0; i < t->n_columns; i++) {
                t->cells[t->n_rows * t->n_columns + i] = terminal_safe(cells[i]);
                if (!t->cells[t->n_rows * t->n_columns + i]) {
                        for (size_t j = 0; j < i; j++)
                                free(t->cells[t->n_rows * t->n_columns + j]);
                        return -ENOMEM;
                }
        }
        t->n_rows++;
        return 0;
}

Table *table_new(size_t n_columns, const char *const *headers) {
        Table *t;

        t = calloc(1, sizeof(Table));
        if (!t)
                return NULL;
        t->n_columns = n_columns;
        if (table_add_row(t, headers) < 0)
                return table_free(t);
        return t;
}

/* Columns on screen, for UTF-8 labels; bytes when the locale cannot tell. */
static size_t display_width(const char *s) {
        size_t n = mbstowcs(NULL, s, 0);
        wchar_t *w;
        int width;

        if (n == (size_t) -1)
                return strlen(s);
        w = calloc(n + 1, sizeof(wchar_t));
        if (!w)
                return strlen(s);
        mbstowcs(w, s, n + 1);
        width = wcswidth(w, n);
        free(w);
        return width < 0 ? strlen(s) : (size_t) width;
}

int table_print(Table *t, FILE *f) {
        _cleanup_free_ size_t *widths = NULL;

        widths = calloc(t->n_columns, sizeof(size_t));
        if (!widths)
                return -ENOMEM;
        for (size_t r = 0; r < t->n_rows; r++)
                for (size_t c = 0; c < t->n_columns; c++)
                        widths[c] = MAX(widths[c], display_width(t->cells[r * t->n_columns + c]));

        for (size_t r = 0; r < t->n_rows; r++) {
                for (size_t c = 0; c < t->n_columns; c++) {
                        const char *cell = t->cells[r * t->n_columns + c];

                        fputs(cell, f);
                        if (c + 1 < t->n_columns)
                                fprintf(f, "%*s", (int) (widths[c] - display_width(cell) + 2), "");
                }
                fputc('\n', f);
        }
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
                puts(empty_text);
                return EXIT_SUCCESS;
        }
        r = table_print(t, stdout);
        return r < 0 ? print_errno(r, "Failed to write the output") : EXIT_SUCCESS;
}
