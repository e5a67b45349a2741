/* Whom a PipeWire consumer belongs to: the app id mediagate's decisions are about. */
#pragma once

#include <spa/utils/dict.h>

/* The app id of a PipeWire client from its properties:
 *  - a connection the desktop portal opened for a sandboxed app (PipeWire's access module marks
 *    it pipewire.access=portal; the client cannot set that itself): the portal's
 *    pipewire.access.portal.app_id;
 *  - any other connection: what mediagated finds for the client's process (pipewire.sec.pid, from
 *    the socket's credentials): a Flatpak's or snap's id, a systemd app scope's, else
 *    "host:<executable>".
 * -EACCES when the identity cannot be established (an unusable .flatpak-info, a portal
 * connection without a valid app id), -ESRCH when the process is gone, -ENODATA without a pid. */
int consumer_app_id(const struct spa_dict *client_props, char **ret);
