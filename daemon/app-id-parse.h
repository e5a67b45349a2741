/* The pure parsers of caller identity: what /proc/<pid>/cgroup, a systemd unit name, a
 * .flatpak-info and the /proc/<pid>/exe link say the app id is (forms in app-id.h). Table-tested
 * and free of the bus; caller.c reads /proc and hands the text over. */
#pragma once

#include <stddef.h>

/* The app id a /proc/<pid>/cgroup (v1, hybrid or v2) gives: a snap ("snap.<name>", from a
 * snap.<name>.* unit or the v1 freezer's /snap.<name>) before a systemd app unit ("<id>").
 * -ENOENT when it names neither, -EBADMSG when the file is malformed or contradicts itself. */
int app_id_from_cgroup(const char *cgroup_file_contents, char **ret);

/* The app id of one systemd unit name following https://systemd.io/DESKTOP_ENVIRONMENTS/:
 * app[-<launcher>]-<id>-<random>.scope or app[-<launcher>]-<id>[@<random>|-autostart].service,
 * with \xNN escapes undone. -ENOENT for anything else, including ids that are not valid. */
int app_id_from_unit_name(const char *unit, char **ret);

/* [Application] name= of a .flatpak-info. -EINVAL on a syntax error or an invalid name,
 * -ENODATA without one (a runtime, not an app), -EBADMSG when given twice. */
int app_id_from_flatpak_info(const char *text, size_t size, char **ret);

/* The Flatpak app id of the root directory root_fd (an O_PATH fd of /proc/<pid>/root, or of a
 * test directory): 0 and the id; -ENOENT only when .flatpak-info does not exist at all; -EACCES
 * when it is a symlink, FIFO, directory, device, unreadable, too big, or unparsable. */
int flatpak_app_id_at(int root_fd, char **ret);

/* The host app id of a /proc/<pid>/exe link target: "host:" + the path, a trailing " (deleted)"
 * (the binary was replaced by an upgrade) dropped. -EBADMSG when the target is not absolute. */
int app_id_from_exe_link(const char *target, char **ret);
