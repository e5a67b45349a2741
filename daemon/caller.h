/* Who is calling: the uid and a pidfd from the bus (GetConnectionCredentials, asynchronously),
 * and the app id of that process (Flatpak, Snap, systemd app scope, else the host executable).
 * Identity comes from the bus and the kernel only, never from anything the client says. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "app-id.h"
#include "util.h"

#ifndef UID_INVALID
#define UID_INVALID ((uid_t) -1)
#endif

/* The kinds of app id; app-id.h describes their four forms and what each is worth. */
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

/* A trusted broker acting for another app (docs/architecture.md, "Identity and trust"): the
 * broker's connection, uid and process, with app_id the app it acts for (a valid app id) and
 * broker the broker's own app id.
 * Decisions, grants, exposure and device ids then belong to app_id. */
int caller_new_brokered(const Caller *broker, const char *app_id, Caller **ret);

/* Called once with the outcome of caller_query(): error < 0 and c == NULL on failure (deny), or
 * error == 0 and a fully identified Caller. c is borrowed for the duration of the call: take
 * caller_ref() to keep it. Never called if the query's slot is dropped first. */
typedef void (*caller_callback_t)(int error, Caller *c, void *userdata);

/* connected_by below: a CLOCK_BOOTTIME time (µs) by which the connection already existed, or
 * this for "not known". */
#define CALLER_CONNECTED_ANY UINT64_MAX

/* Ask the bus driver for the credentials of unique_name (":1.42"; well-known names are refused:
 * their owner may change) without blocking, then identify the process. Returns < 0 if the call
 * could not even be sent (the callback is then not called). With ret_slot, the caller owns the
 * pending call: unref the slot to cancel it (the callback will not run). Without, the call is
 * tied to the bus connection. */
int caller_query(sd_bus *bus, const char *unique_name, uint64_t connected_by, caller_callback_t cb,
                 void *userdata, sd_bus_slot **ret_slot);

/* The synchronous half of caller_query(), split out for tests: turn a GetConnectionCredentials
 * reply (or error reply) into an identified Caller. UnixUserID and ProcessID (or ProcessFD) are
 * required. ProcessFD is used where the bus sends it (dbus-broker): it pins the process that
 * connected, which cannot be mistaken for another. Otherwise there is only the pid the bus saw
 * at connection time, which may belong to another process by now (the one that connected
 * handed the socket to a child and exited): it is turned into a pidfd at once, and a process
 * that started after connected_by cannot have made the connection and is refused (-ESRCH). The
 * start time is read in clock ticks (10 ms), so a reuse within the same tick is the window left.
 * Errors: the bus error's errno, -EBADMSG for a malformed reply, -ENODATA for missing
 * credentials, -ESRCH when the process is gone or came later, and those of
 * caller_identify_pid(). */
int caller_new_from_credentials(sd_bus_message *reply, const char *unique_name, uint64_t connected_by,
                                Caller **ret);

/* Fill in app_id and app_kind from /proc/<pid>, c->pid and c->pidfd being set. The process must
 * still be the pidfd's process before and after /proc is read, else -ESRCH (its pid may have been
 * reused). A .flatpak-info that exists but is not a readable, well-formed regular file is -EACCES,
 * never "host". Reading another user's /proc/<pid>/root and exe takes CAP_SYS_PTRACE (or the same
 * uid): without it the answer is -EACCES, a denial. */
int caller_identify_pid(Caller *c);

/* Whether the pidfd's process still runs (it has not exited; a zombie counts as gone). */
bool caller_is_alive(const Caller *c);
