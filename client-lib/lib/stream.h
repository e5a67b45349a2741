/* MgStream: the frames of an open track, from the control socket and the shared pool. */
#pragma once

#include "internal.h"

/* Read Track.Open()'s format a{sv} strictly: every key of docs/dbus-api.md, as 'u'/'s'. */
int stream_format_parse(sd_bus_message *m, MgStreamFormat *ret, MgError *err);
/* Build a stream from a control socket and a pool the caller hands over (always consumed,
 * also on failure): checks the socket type, the pool's size and its shrink seal, maps it. */
int stream_new(int control_fd, int pool_fd, const MgStreamFormat *format, MgStream **ret, MgError *err);
