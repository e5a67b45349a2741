/* Exposure of device information, decided in one place. */
#include "exposure.h"

bool exposure_holds(Manager *m, const Caller *caller, const char *origin, DeviceKind kind) {
        /* No permission can be granted yet, and without a grant there is no track: nothing
         * is exposed. Grants and tracks extend this. */
        return false;
}
