/* Re-reading the admin policy while the daemon runs. */
#include "policy-reload.h"

#include "config.h"
#include "log.h"
#include "policy.h"
#include "track.h"
#include "util.h"

int policy_reload(Manager *m) {
        _cleanup_(policy_freep) Policy *fresh = NULL;
        int r;

        r = policy_load_dir(m->config.policy_dir ?: DEFAULT_POLICY_DIR, NULL, &fresh);
        if (r < 0)
                return log_error_errno(r, "Failed to reload the admin policy, keeping the old one: %m");
        for (char * const *e = policy_errors(fresh); e && *e; e++)
                log_error("%s", *e);
        policy_free(m->policy);
        m->policy = TAKE_PTR(fresh);
        log_info("Admin policy reloaded: %zu rule(s).", policy_n_rules(m->policy));
        (void) tracks_end_denied(m, NULL, TRACK_END_POLICY);
        return 0;
}
