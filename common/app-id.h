/* App ids: the four forms a caller's application is named by, and whether a string has one.
 * Pure: used by caller identification and by the admin policy (daemon and mediactl). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* App ids. Four forms that cannot be mistaken for one another:
 *
 *   Flatpak     "org.mozilla.firefox"   [Application] name= of the process's /.flatpak-info, a
 *                                       valid Flatpak name (three or more dot-separated elements
 *                                       of [A-Za-z0-9_-], not starting with a digit, "-" only in
 *                                       the last one).
 *   Snap        "snap.firefox"          "snap." + the snap (instance) name from the cgroup; snap
 *                                       names are [a-z0-9-] (plus "_<key>"), they have no dot.
 *   app scope   "org.gnome.Epiphany"    the desktop-file id of a systemd app unit
 *                                       (app[-<launcher>]-<id>-<random>.scope or
 *                                       app[-<launcher>]-<id>[@<random>].service), unescaped; two
 *                                       or more dot-separated elements of [A-Za-z0-9_-].
 *   host        "host:/usr/bin/foo"     "host:" + the executable (/proc/<pid>/exe; a trailing
 *                                       " (deleted)" from a package upgrade is dropped).
 *
 * Only host ids contain ":" or "/"; only snap ids start with "snap." followed by a single element
 * (reverse-DNS ids starting with "snap." are refused, so that prefix stays the snaps' own).
 * Flatpak and app-scope ids share one namespace on purpose: a Flatpak's app id is its desktop-file
 * id, so "org.gnome.Epiphany" is the same application to the user whichever way it was installed,
 * as in xdg-desktop-portal.
 *
 * What an app id is worth: it is a boundary for sandboxed apps (a Flatpak cannot change its
 * /.flatpak-info nor a snap its cgroup). It is not one between host processes of the same user:
 * those can start themselves in any systemd scope, run a Flatpak's command, or build a mount
 * namespace with any file at any path. Admin policy that allows a host executable therefore
 * trusts every unconfined process of the users it applies to. */

/* The longest Flatpak or app-scope id (snap names and host paths have their own bounds). */
#define APP_ID_NAME_MAX 255U

/* Whether s has one of the four forms above (for app ids written in admin policy). */
bool app_id_is_valid(const char *s);

/* The parts of the forms, for the parsers that find app ids: a Flatpak name, a desktop-file id
 * (app scope), and a snap instance name <name>[_<key>] (name of [a-z0-9-] with a letter, no
 * leading, trailing or double "-", at most 40; key of [a-z0-9], 1 to 10) of len bytes. */
bool app_id_flatpak_name_is_valid(const char *s);
bool app_id_desktop_id_is_valid(const char *s);
bool app_id_snap_name_is_valid_n(const char *s, size_t len);
