/* a{sv} dictionaries, the shape every extensible argument, result and property of the API has:
 * one loop that reads them entry by entry, a strict reader of typed fields (method options),
 * readers of variant values, and the writer of one entry. The daemon and the library share it. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "bus-number.h"

/* ---- reading ---- */

/* Called for one entry with m at the entry's variant. Returns 1 when it read the variant, 0 to
 * have it skipped, or a negative errno, which ends the read. key lives as long as m. */
typedef int (*bus_dict_entry_t)(sd_bus_message *m, const char *key, void *userdata);

/* Read the a{sv} at the read position of m, calling fn for each entry in order. Returns 0, or
 * the negative errno of fn or of reading the dictionary; *ret_key (ret_key may be NULL) is then
 * the key fn failed on, or NULL when the dictionary itself could not be read. */
int bus_dict_read(sd_bus_message *m, bus_dict_entry_t fn, void *userdata, const char **ret_key);

/* One accepted key of a dictionary of options. `type` is "s", "u", "t", "b" or "as"; `ret`
 * points to a char * (an owned copy, freed by the caller or bus_dict_fields_free()), uint32_t,
 * uint64_t, bool (the int-sized "b" is converted) or char ** (strv). */
typedef struct BusDictField {
        const char *key;
        const char *type;
        void *ret;
        bool seen; /* set by bus_dict_read_fields() */
} BusDictField;

/* Read an a{sv} of options strictly: unknown keys, duplicate keys and values of the wrong type
 * are InvalidArgs errors with a message naming the key. Returns 0 or a negative errno (with
 * *error set for invalid input). */
int bus_dict_read_fields(sd_bus_message *m, BusDictField *fields, size_t n_fields, sd_bus_error *error);
/* Free what the string and strv fields hold and reset them to NULL. */
void bus_dict_fields_free(BusDictField *fields, size_t n_fields);

/* Leave the n innermost containers entered in m. */
int bus_message_exit_containers(sd_bus_message *m, unsigned n);

/* Readers of one variant value. Where the API leaves the exact type open (numbers in settings
 * and capabilities) they accept every numeric type; a value of another type is reported with
 * -ENXIO and nothing consumed, never trusted. */

/* Any numeric type into *ret; *ret_integral (may be NULL) tells whether it was a whole-number
 * type. NaN and infinities are -EBADMSG. */
int bus_read_number_variant(sd_bus_message *m, double *ret, bool *ret_integral);
/* A variant of signature `type` ("s", "b", "u", ...) into *ret as sd_bus_message_read() fills it. */
int bus_read_typed_variant(sd_bus_message *m, const char *type, void *ret);
/* A variant "s" into a newly allocated string, replacing (and freeing) *ret. */
int bus_read_string_variant(sd_bus_message *m, char **ret);
/* An "as" (not a variant) into a NULL-terminated list, never NULL itself (empty: { NULL }). */
int bus_read_strv(sd_bus_message *m, char ***ret);
/* One basic numeric value of D-Bus type `type` at the read position as a double (the members of
 * a range struct). -ENXIO for a type that is not numeric, -EBADMSG for a double that is not finite. */
int bus_read_basic_number(sd_bus_message *m, char type, double *ret, bool *ret_integral);

/* ---- writing ---- */

/* Open one {sv} entry of the a{sv} open in m and write its key; the caller writes the variant
 * and closes the entry. */
int bus_dict_open_entry(sd_bus_message *m, const char *key);
/* Close the n innermost containers open in m. */
int bus_message_close_containers(sd_bus_message *m, unsigned n);

/* Append one {sv} entry to the a{sv} open in m: key, and a variant of signature `type` whose
 * value the arguments give as sd_bus_message_append() takes them ("as" as a count and strings). */
int bus_dict_append(sd_bus_message *m, const char *key, const char *type, ...);
int bus_dict_appendv(sd_bus_message *m, const char *key, const char *type, va_list ap);
/* The same for a strv value (NULL: an empty list). */
int bus_dict_append_strv(sd_bus_message *m, const char *key, char **l);
