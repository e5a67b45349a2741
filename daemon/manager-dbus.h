/* The bus surface of the Manager interface on the root object. */
#pragma once

#include "manager-state.h"

int manager_dbus_register(Manager *m);
