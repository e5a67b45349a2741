/* Who is calling: the uid and a pidfd from the bus (GetConnectionCredentials, asynchronously),
 * and the app id of that process (Flatpak, Snap, systemd app scope, else the host executable).
 * Identity comes from the bus and the kernel only, never from anything the client says. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "util.h"

#ifndef UID_INVALID
#define UID_INVALID ((uid_t) -1)
#endif

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
typedef enum CallerAppKind {
        CALLER_APP_HOST,
        CALLER_APP_FLATPAK,
        CALLER_APP_SNAP,
        CALLER_APP_SCOPE,
        _CALLER_APP_KIND_MAX,
        _CALLER_APP_KIND_INVALID = -EINVAL,
} CallerAppKind;

const char *caller_app_kind_to_string(CallerAppKind k); /* "host", "flatpak", "snap", "app-scope" */

typedef struct Caller {
        unsigned n_ref;
        uid_t uid;         /* UID_INVALID until the bus said otherwise; never 0 by default */
        pid_t pid;         /* 0 until known */
        int pidfd;         /* -1 until known; pins the process, the pid alone could be reused */
        uint64_t start_time; /* without pidfd_open only: the process's start time, pinning it instead */
        char *unique_name; /* the connection, ":1.42" */
        char *app_id;      /* NULL until identified */
        CallerAppKind app_kind;
        char *broker;      /* set when a trusted broker acts for app_id: the broker's own app id */
} Caller;

/* An empty Caller: uid UID_INVALID, pid 0, pidfd -1. */
int caller_new(Caller **ret);
Caller *caller_ref(Caller *c);
Caller *caller_unref(Caller *c); /* accepts NULL, returns NULL */
DEFINE_CLEANUP_FUNC(Caller, caller_unref);

/* A trusted broker acting for another app (api.md, Brokers): the broker's connection, uid and
 * process, with app_id the app it acts for (a valid app id) and broker the broker's own app id.
 * Decisions, grants, exposure and device ids then belong to app_id. */
int caller_new_brokered(const Caller *broker, const char *app_id, Caller **ret);

/* Called once with the outcome of caller_query(): error < 0 and c == NULL on failure (deny), or
 * error == 0 and a fully identified Caller. c is borrowed for the duration of the call: take
 * caller_ref() to keep it. Never called if the query's slot is dropped first. */
typedef void (*caller_callback_t)(int error, Caller *c, void *userdata);

/* Ask the bus driver for the credentials of unique_name (":1.42"; well-known names are refused:
 * their owner may change) without blocking, then identify the process. Returns < 0 if the call
 * could not even be sent (the callback is then not called). With ret_slot, the caller owns the
 * pending call: unref the slot to cancel it (the callback will not run). Without, the call is
 * tied to the bus connection. */
int caller_query(sd_bus *bus, const char *unique_name, caller_callback_t cb, void *userdata,
                 sd_bus_slot **ret_slot);

/* The synchronous half of caller_query(), split out for tests: turn a GetConnectionCredentials
 * reply (or error reply) into an identified Caller. UnixUserID and ProcessID (or ProcessFD) are
 * required; ProcessFD is used where the bus sends it (dbus-broker), otherwise the pid is turned
 * into a pidfd at once. Errors: the bus error's errno, -EBADMSG for a malformed reply, -ENODATA
 * for missing credentials, -ESRCH when the process is gone, and those of caller_identify_pid(). */
int caller_new_from_credentials(sd_bus_message *reply, const char *unique_name, Caller **ret);

/* Fill in app_id and app_kind from /proc/<pid>, c->pid and c->pidfd being set. The process must
 * still be the pidfd's process before and after /proc is read, else -ESRCH (its pid may have been
 * reused). A .flatpak-info that exists but is not a readable, well-formed regular file is -EACCES,
 * never "host". Reading another user's /proc/<pid>/root and exe takes CAP_SYS_PTRACE (or the same
 * uid): without it the answer is -EACCES, a denial. */
int caller_identify_pid(Caller *c);

/* Whether the pidfd's process still runs (it has not exited; a zombie counts as gone). */
bool caller_is_alive(const Caller *c);

/* Pure helpers, table-tested. */

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

/* Whether s has one of the four forms above (for app ids written in admin policy). */
bool app_id_is_valid(const char *s);
