/* mediactl's shared declarations: the global options every command sees, the command table
 * entries, and the printing helpers of output.c. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "mediagate.h"
#include "util.h"

typedef struct Context {
        MgBusType bus; /* MG_BUS_DEFAULT: $MEDIAGATE_BUS, else the system bus */
        bool json;
} Context;

/* Exit codes: 0 success, 1 the operation failed, 2 the command line was wrong. */
#define EXIT_USAGE 2

/* Connect as the global options say; prints the error and returns a negative errno on failure. */
int context_connect(const Context *ctx, MgClient **ret);

/* Commands: argv[0] is the command's name; they return an exit code. */
int verb_devices(Context *ctx, int argc, char *argv[]);

/* ---- output.c ---- */

/* "mediactl: <ErrorName>: <message>" on stderr; returns EXIT_FAILURE. */
int print_error(const MgError *err, int r);
/* The same for local failures named after the errno ("System.Error.ENOENT"). */
int print_errno(int r, const char *context);
/* Pretty JSON and a newline on stdout; consumes o. Returns an exit code. */
int print_json(json_object *o);
json_object *capability_to_json(const MgCapability *cap);

/* A text table: the widths follow the widest cell; control characters are shown as '?'. */
typedef struct Table Table;
Table *table_new(size_t n_columns, const char *const *headers);
Table *table_free(Table *t);
int table_add_row(Table *t, const char *const *cells);
int table_print(Table *t, FILE *f);

DEFINE_CLEANUP_FUNC(MgClient, mg_client_unref);
DEFINE_CLEANUP_FUNC(MgDeviceList, mg_device_list_free);
DEFINE_CLEANUP_FUNC(Table, table_free);
