/* Who may do what with the Admin interface's grants and history (docs/dbus-api.md, Admin): sandboxed apps
 * only about their own app and never raising access, host callers freely about their own uid
 * except storing an allow, and anything about other users through polkit. Pure: a table in the
 * unit tests holds every row of the rules. */
#pragma once

#include <sys/types.h>

#include "caller.h"

typedef enum AdminOperation {
        ADMIN_OP_LIST_GRANTS,
        ADMIN_OP_GET_HISTORY,
        ADMIN_OP_REVOKE_GRANT,
        ADMIN_OP_SET_DENY,   /* lowering access */
        ADMIN_OP_SET_ALLOW,  /* raising access: an allow, timed or not */
        _ADMIN_OP_MAX,
} AdminOperation;

/* What an Admin call is about. uid UID_INVALID: every user. app_id NULL: every app. */
typedef struct AdminTarget {
        uid_t uid;
        const char *app_id;
} AdminTarget;

typedef enum AdminAccess {
        ADMIN_ACCESS_DENIED,  /* AccessDenied, polkit is not even asked */
        ADMIN_ACCESS_ALLOWED, /* no proof needed */
        ADMIN_ACCESS_POLKIT,  /* allowed if polkit says yes to the action returned */
} AdminAccess;

/* Whether a caller is a sandboxed app (Flatpak, Snap), whose identity the sandbox vouches for. */
bool caller_is_sandboxed(const Caller *caller);

/* The rule for caller doing op on target; *ret_action is the polkit action for ADMIN_ACCESS_POLKIT
 * (NULL otherwise). A caller without a valid uid or app id is always denied. */
AdminAccess admin_access(const Caller *caller, AdminOperation op, const AdminTarget *target,
                         const char **ret_action);
