/* Whom a PipeWire consumer belongs to (see consumer-id.h). The process is identified exactly as the
 * daemon identifies its own callers (caller.c), so that a grant given to an app directly and one
 * given to it through the bridge are the same grant. */
#include <sys/syscall.h>
#include <pipewire/keys.h>

#include "consumer-id.h"
#include "caller.h"
#include "log.h"

#define KEY_PORTAL_APP_ID "pipewire.access.portal.app_id"
#define ACCESS_PORTAL "portal"

static int app_id_of_pid(pid_t pid, char **ret) {
        _cleanup_(caller_unrefp) Caller *c = NULL;
        int fd, r;

        r = caller_new(&c);
        if (r < 0)
                return r;
        c->pid = pid;
        /* Pin the process first: everything read from /proc afterwards is checked against it. */
        fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return errno == ESRCH ? -ESRCH : log_warning_errno(errno, "pidfd_open(%i) failed: %m", (int) pid);
        c->pidfd = fd;
        r = caller_identify_pid(c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c->app_id);
        return 0;
}

int consumer_app_id(const struct spa_dict *props, char **ret) {
        const char *access = spa_dict_lookup(props, PW_KEY_ACCESS);
        const char *pid_text = spa_dict_lookup(props, PW_KEY_SEC_PID);
        uint32_t pid;

        if (access && streq(access, ACCESS_PORTAL)) {
                const char *id = spa_dict_lookup(props, KEY_PORTAL_APP_ID);
                char *copy;

                /* The portal names sandboxed apps by their Flatpak id; anything else (a host path,
                 * nothing at all) is not an identity we can stand behind. */
                if (isempty(id) || !app_id_is_valid(id) || startswith(id, "host:"))
                        return -EACCES;
                copy = strdup(id);
                if (!copy)
                        return -ENOMEM;
                *ret = copy;
                return 0;
        }
        if (!pid_text || safe_atou32(pid_text, &pid) < 0 || pid == 0 || pid > INT32_MAX)
                return -ENODATA;
        return app_id_of_pid((pid_t) pid, ret);
}
