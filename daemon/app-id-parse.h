/* The pure parsers of caller identity: what /proc/<pid>/cgroup, a systemd unit name, a
 * .flatpak-info and the /proc/<pid>/exe link say the app id is (forms in app-id.h). Table-tested
 * and free of the bus; caller.c reads /proc and hands the text over. Finding no app id is an
 * answer, not a failure: each returns 1 and the id when it found one, 0 when the input names
 * none, and a negative errno only when the input is unusable (or for -ENOMEM). */
#pragma once

#include <stddef.h>

/* The app id a /proc/<pid>/cgroup (v1, hybrid or v2) gives: a snap ("snap.<name>", from a
 * snap.<name>.* unit or the v1 freezer's /snap.<name>) before a systemd app unit ("<id>").
 * 0 when it names neither, -EBADMSG when the file is malformed or contradicts itself. */
int app_id_from_cgroup(const char *cgroup_file_contents, char **ret);

/* The app id of one systemd unit name following https://systemd.io/DESKTOP_ENVIRONMENTS/:
 * app[-<launcher>]-<id>-<random>.scope or app[-<launcher>]-<id>[@<random>|-autostart].service,
 * with \xNN escapes undone. 0 for anything else, including ids that are not valid. */
int app_id_from_unit_name(const char *unit, char **ret);

/* [Application] name= of a .flatpak-info. 0 without one (a runtime, not an app), -EINVAL on a
 * syntax error or an invalid name, -EBADMSG when given twice. */
int app_id_from_flatpak_info(const char *text, size_t size, char **ret);

/* The Flatpak app id of the root directory root_fd (an O_PATH fd of /proc/<pid>/root, or of a
 * test directory): 1 and the id; 0 only when .flatpak-info does not exist at all (not a
 * Flatpak); -EACCES when it is a symlink, FIFO, directory, device, unreadable, too big,
 * unparsable, or names no application. */
int flatpak_app_id_at(int root_fd, char **ret);

/* The host app id of a /proc/<pid>/exe link target: "host:" + the path, a trailing " (deleted)"
 * (the binary was replaced by an upgrade) dropped: 0, or -EBADMSG when the target is not absolute. */
int app_id_from_exe_link(const char *target, char **ret);
