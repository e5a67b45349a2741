/* The authorization table: every member of every interface the daemon serves, with who may
 * use it. Handlers enforce their rule; this table is what reviewers and the tests read, and
 * a unit test fails when a vtable has a member that is not in it. */
#pragma once

#include <stddef.h>
#include <systemd/sd-bus.h>

typedef enum BusAuthRule {
        BUS_AUTH_PUBLIC,      /* anyone; the daemon judges the caller by its identity (uid, app id) */
        BUS_AUTH_OWNER,       /* only the connection that owns the object (requests, tracks) */
        BUS_AUTH_POLKIT,      /* the polkit action in .action */
        BUS_AUTH_SELF_OR_POLKIT, /* about the caller's own uid freely; about others the polkit action */
        BUS_AUTH_TEST_UID,    /* --test-controls only, and only the daemon's own uid or root */
} BusAuthRule;

typedef struct BusAuthEntry {
        const char *interface;
        const char *member; /* method, property or signal name */
        BusAuthRule rule;
        const char *action; /* BUS_AUTH_POLKIT */
        const char *why;
} BusAuthEntry;

extern const BusAuthEntry bus_authorization_table[];
extern const size_t bus_authorization_table_size;

const BusAuthEntry *bus_authorization_lookup(const char *interface, const char *member);

/* The vtables, for the table's test. */
extern const sd_bus_vtable manager_vtable[];
extern const sd_bus_vtable admin_vtable[];
extern const sd_bus_vtable request_vtable[];
extern const sd_bus_vtable track_vtable[];
extern const sd_bus_vtable testing_vtable[];
