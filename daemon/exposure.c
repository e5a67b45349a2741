/* Exposure of device information, decided in one place. */
#include "exposure.h"

#include "caller.h"
#include "grants.h"
#include "track.h"
#include "util.h"

bool exposure_holds(Manager *m, const Caller *caller, const char *origin, DeviceKind kind) {
        TrackKey key = { .uid = caller->uid, .app_id = caller->app_id, .origin = origin, .kind = kind };

        /* Per (uid, app, origin): another user's tracks and grants never expose anything. */
        if (tracks_live_for(m, &key))
                return true;
        return grant_store_lookup(m->grants, caller->uid, caller->app_id, origin, kind, NULL,
                                  now_usec(CLOCK_BOOTTIME)) == GRANT_ALLOW;
}
