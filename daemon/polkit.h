/* Asking polkit whether a bus connection may do something: asynchronous CheckAuthorization with
 * the system-bus-name subject, and systemd's re-dispatch pattern for method handlers. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "hashmap.h"

typedef struct PolkitQuery PolkitQuery;

/* allowed: 1 yes, 0 no. Every failure (an error reply, polkit not on the bus, a malformed reply,
 * the subject gone, a challenge in a non-interactive check) is 0 and logged once. The query is
 * freed by polkit.c as soon as the callback returns: forget the pointer in the callback. Never
 * called after polkit_query_cancel(), never called from within polkit_check(). */
typedef void (*polkit_callback_t)(int allowed, void *userdata);

/* Ask whether the connection subject_unique_name (":1.42") is authorized for action_id. With
 * interactive, polkit may ask the user to authenticate (flag AllowUserInteraction), which can
 * take minutes; otherwise it answers from its rules at once. Does not block. Returns 0 with
 * *ret set, or < 0 when the question could not be sent (the callback is then never called). */
int polkit_check(sd_bus *bus, const char *subject_unique_name, const char *action_id, bool interactive,
                 polkit_callback_t cb, void *userdata, PolkitQuery **ret);

/* Withdraw a pending check (polkit is told with CancelCheckAuthorization, so that an
 * authentication dialog goes away) and free it; the callback will not run. NULL is fine.
 * Not to be called from within the query's own callback (it is freed right after). */
PolkitQuery *polkit_query_cancel(PolkitQuery *q);

/* For method handlers of privileged members (the Admin interface), the way systemd's
 * bus_verify_polkit_async() works:
 *
 *     r = polkit_verify_method(message, MG_POLKIT_ACTION_MANAGE, &m->polkit_registry, error);
 *     if (r < 0)
 *             return r;            // denied (AccessDenied, or InteractiveAuthorizationRequired)
 *     if (r == 0)
 *             return 1;            // asked polkit; the message comes back when it answers
 *     ...authorized: act...
 *
 * On the first dispatch of a message it sends the check and returns 0; the handler must return 1
 * and change nothing. When polkit answers, the message is queued again (sd_bus_enqueue_for_read)
 * and the handler runs again from the top; this time the verdict is found: 1 authorized, -EACCES
 * with *error set when not. The check is interactive when the caller allowed it (the message's
 * ALLOW_INTERACTIVE_AUTHORIZATION flag, busctl --allow-interactive-authorization). The subject
 * is the message's sender. The verdict is kept until the loop is idle again, for the one
 * re-dispatched message only. Needs the bus attached to an sd-event loop. */
int polkit_verify_method(sd_bus_message *message, const char *action, Hashmap **registry, sd_bus_error *error);

/* Free what polkit_verify_method() keeps (pending checks are cancelled, their messages dropped
 * without a reply). Returns NULL. */
Hashmap *polkit_verify_registry_free(Hashmap *registry);
