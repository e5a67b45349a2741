/* Admin.ReloadPolicy and SIGHUP: the admin policy read again, and the live tracks it now denies
 * ended. */
#pragma once

#include "manager-state.h"

/* When the directory cannot be read at all, the old policy stays (and the error is returned). */
int policy_reload(Manager *m);
