/* Asking polkit whether a bus connection may do something: asynchronous CheckAuthorization with
 * the system-bus-name subject, answers cached per (subject, action), and systemd's re-dispatch
 * pattern for method calls that wait for an answer. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

/* One per bus connection: the cache of answers and the method calls parked for polkit. */
typedef struct PolkitAuthority PolkitAuthority;

/* The cache is dropped whenever polkit says its rules or authorizations changed (its Changed
 * signal) or polkit itself comes or goes on the bus; a subject's entries go with the subject
 * (polkit_authority_forget_subject()). Only non-interactive answers that rest on polkit's rules
 * are cached: an answer that used a temporary authorization ("auth_*_keep") is not, since that
 * ends on polkit's own timer. */
int polkit_authority_new(sd_bus *bus, PolkitAuthority **ret);
/* Method calls parked for polkit are dropped without a reply; other pending checks are cancelled
 * and answer no. */
PolkitAuthority *polkit_authority_free(PolkitAuthority *a);
void polkit_authority_forget_subject(PolkitAuthority *a, const char *unique_name);
/* Forget every cached answer (for example when a session stops being active: polkit's
 * allow_active rules then answer differently without telling anybody). */
void polkit_authority_flush(PolkitAuthority *a);

typedef struct PolkitQuery PolkitQuery;

/* allowed: 1 yes, 0 no. Every failure (an error reply, polkit not on the bus, a malformed reply,
 * the subject gone, a challenge in a non-interactive check) is 0 and logged once. Called once,
 * never from within polkit_check() and never after polkit_query_cancel(). */
typedef void (*polkit_callback_t)(int allowed, void *userdata);

/* Ask whether the connection subject_unique_name (":1.42") is authorized for action_id. With
 * interactive, polkit may ask the user to authenticate (flag AllowUserInteraction), which can
 * take minutes; otherwise it answers from its rules at once, or from the cache on the next turn
 * of the loop. Does not block. Returns 0 with *ret holding a reference for the caller, or < 0
 * when the question could not be asked (the callback is then never called). */
int polkit_check(PolkitAuthority *a, const char *subject_unique_name, const char *action_id, bool interactive,
                 polkit_callback_t cb, void *userdata, PolkitQuery **ret);

/* The caller's reference. polkit.c keeps its own while the check is pending and while the
 * callback runs, so dropping the caller's reference from within the callback is fine. */
PolkitQuery *polkit_query_unref(PolkitQuery *q);
/* Withdraw a pending check (polkit is told with CancelCheckAuthorization, so that an
 * authentication dialog goes away): the callback will not run. Drops the caller's reference;
 * NULL is fine, and so is a query that already answered. */
PolkitQuery *polkit_query_cancel(PolkitQuery *q);

/* For the gate in front of privileged members, the way systemd's bus_verify_polkit_async()
 * works:
 *
 *     r = polkit_verify_method(authority, message, MG_POLKIT_ACTION_MANAGE, error);
 *     if (r < 0)
 *             return r;            // denied (AccessDenied, or InteractiveAuthorizationRequired)
 *     if (r == 0)
 *             return 1;            // asked polkit; the message comes back when it answers
 *     ...authorized: act...
 *
 * On the first dispatch of a message it sends the check and returns 0; the handler must return 1
 * and change nothing. When polkit answers, the message is queued again (sd_bus_enqueue_for_read)
 * and goes through dispatch again from the top; this time the verdict is found: 1 authorized,
 * -EACCES with *error set when not. The check is interactive when the caller allowed it (the
 * message's ALLOW_INTERACTIVE_AUTHORIZATION flag, busctl --allow-interactive-authorization). The
 * subject is the message's sender. The verdict is kept until the loop is idle again, for the one
 * re-dispatched message only. Needs the bus attached to an sd-event loop. */
int polkit_verify_method(PolkitAuthority *a, sd_bus_message *message, const char *action, sd_bus_error *error);

/* Method calls parked for polkit right now (for tests: nothing is kept once the loop is idle). */
size_t polkit_authority_n_parked(PolkitAuthority *a);
