/* The Admin interface's rules about grants and history (docs/dbus-api.md, Admin), decided in one place. */
#include "admin-access.h"

#include "mediagate-names.h"
#include "util.h"

bool caller_is_sandboxed(const Caller *caller) {
        return caller->app_kind == CALLER_APP_FLATPAK || caller->app_kind == CALLER_APP_SNAP;
}

AdminAccess admin_access(const Caller *caller, AdminOperation op, const AdminTarget *target,
                         const char **ret_action) {
        *ret_action = NULL;
        if (!caller || caller->uid == UID_INVALID || isempty(caller->app_id) || !target || op >= _ADMIN_OP_MAX)
                return ADMIN_ACCESS_DENIED;

        /* A sandboxed app lists, reads the history of and revokes only its own app's grants, for
         * its own uid; SetGrant is not for it at all. Even polkit's blessing does not change that:
         * the sandbox is the boundary, and polkit would ask the user on the app's behalf. */
        if (caller_is_sandboxed(caller)) {
                if (op != ADMIN_OP_LIST_GRANTS && op != ADMIN_OP_GET_HISTORY && op != ADMIN_OP_REVOKE_GRANT)
                        return ADMIN_ACCESS_DENIED;
                if (target->uid != caller->uid || !streq_ptr(target->app_id, caller->app_id))
                        return ADMIN_ACCESS_DENIED;
                return ADMIN_ACCESS_ALLOWED;
        }

        if (target->uid != caller->uid) {
                *ret_action = MG_POLKIT_ACTION_MANAGE;
                return ADMIN_ACCESS_POLKIT;
        }
        /* Any program of the user could otherwise grant itself the camera: an allow needs the user
         * to prove presence (org.mediagate.grant, auth_self_keep). Lowering needs no proof. */
        if (op == ADMIN_OP_SET_ALLOW) {
                *ret_action = MG_POLKIT_ACTION_GRANT;
                return ADMIN_ACCESS_POLKIT;
        }
        return ADMIN_ACCESS_ALLOWED;
}
