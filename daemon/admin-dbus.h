/* The bus surface of org.mediagate.MediaGate1.Admin on the root object. */
#pragma once

#include "manager.h"

int admin_dbus_register(Manager *m);
