/* The identified callers: a method that needs to know who calls it hands its message to
 * manager_with_caller(); the continuation runs once the caller's credentials and app id are
 * known (at once when cached, else after an asynchronous query). */
#pragma once

#include <systemd/sd-bus.h>

#include "manager-state.h"

/* Runs with the identified caller. Returns like a method handler: < 0 (with error set or as
 * an errno) makes the caller reply with that error; >= 0 means it replied itself. */
typedef int (*caller_continuation_t)(Manager *m, sd_bus_message *message, Caller *caller,
                                     sd_bus_error *error);

/* Use from a method handler: `return manager_with_caller(m, message, continuation, error);` */
int manager_with_caller(Manager *m, sd_bus_message *message, caller_continuation_t cont,
                        sd_bus_error *error);

/* The identified caller of a connection, NULL while it is not known (yet). */
Caller *callers_find(Manager *m, const char *unique_name);

/* When connections appeared (NameOwnerChanged with no old owner), as the bound a caller's process
 * start is checked against: a pid the bus reports may by now belong to a process that came later
 * (caller.h). callers_watch_started() marks when the watch began (names already there count as
 * appeared then). */
void callers_watch_started(Manager *m);
void callers_connection_appeared(Manager *m, const char *unique_name);

/* Forget everything about a connection that left the bus. */
void callers_forget(Manager *m, const char *unique_name);
void callers_free_all(Manager *m);
