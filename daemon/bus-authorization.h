/* The authorization table: every member of every interface the daemon serves, with who may
 * use it. The gate (bus-gate.c) applies it to every method call before a handler runs and
 * refuses whatever it does not list; a unit test fails when a vtable has a member that is not
 * in it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

typedef enum BusAuthRule {
        BUS_AUTH_PUBLIC,      /* anyone; the daemon judges the caller by its identity (uid, app id) */
        BUS_AUTH_OWNER,       /* only the connection that owns the object (requests, tracks) */
        BUS_AUTH_HOST,        /* identified callers that are not sandboxed apps */
        BUS_AUTH_POLKIT,      /* host callers that polkit authorizes for .action; sandboxed ones never */
        BUS_AUTH_ADMIN,       /* decided on the call's arguments by admin_access() (admin-access.h) */
        BUS_AUTH_PROPERTIES,  /* org.freedesktop.DBus.Properties: the rule of the property asked for */
        BUS_AUTH_TEST_UID,    /* --test-controls only, and only the daemon's own uid or root */
} BusAuthRule;

typedef struct BusAuthEntry {
        const char *interface;
        const char *member; /* method, property or signal name */
        BusAuthRule rule;
        const char *action; /* BUS_AUTH_POLKIT */
        const char *why;
        bool property;      /* a property (Properties.Get/GetAll judge by it), not a method or signal */
} BusAuthEntry;

extern const BusAuthEntry bus_authorization_table[];
extern const size_t bus_authorization_table_size;

const BusAuthEntry *bus_authorization_lookup(const char *interface, const char *member);
/* The first property entry of an interface, NULL when it has no properties: for
 * Properties.GetAll, as every property of one interface has the same rule (a unit test keeps
 * it so). */
const BusAuthEntry *bus_authorization_lookup_properties(const char *interface);

/* The vtables, for the table's test. */
extern const sd_bus_vtable manager_vtable[];
extern const sd_bus_vtable admin_vtable[];
extern const sd_bus_vtable request_vtable[];
extern const sd_bus_vtable track_vtable[];
extern const sd_bus_vtable testing_vtable[];
