/* The grant store: lasting user decisions keyed by (uid, app id, origin, kind, optional
 * device set), allow or deny, with an expiry on CLOCK_BOOTTIME. Persistent grants (no owner)
 * are kept in the state directory (format: grants-file.h): a change is in force only once it is
 * on disk, and the write happens off the event loop. Connection-scoped grants (owner = a unique
 * bus name) live in memory and go with it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "device-kind.h"
#include "grants-file.h"

typedef struct Grant Grant;
typedef struct GrantStore GrantStore;

#define GRANTS_FILE "grants"
/* Persistent grants one uid may hold; a change that would store more fails with -EDQUOT
 * (LimitsExceeded on the bus). It bounds the file and the time each write takes. */
#define GRANTS_PER_UID_MAX 1024u

GrantStore *grant_store_new(void);
GrantStore *grant_store_free(GrantStore *s);
static inline void grant_store_freep(GrantStore **s) {
        if (*s)
                grant_store_free(*s);
}

/* The clocks the store reads when it converts between the in-memory CLOCK_BOOTTIME deadlines
 * and the CLOCK_REALTIME ones on disk and in listings (tests inject their own; NULL restores
 * the system clocks). boot_id: the kernel's boot id, 32 hex digits with or without dashes
 * (NULL reads /proc/sys/kernel/random/boot_id). */
typedef uint64_t (*GrantClockFunc)(clockid_t clock, void *userdata);
void grant_store_set_clock(GrantStore *s, GrantClockFunc now, void *userdata);
int grant_store_set_boot_id(GrantStore *s, const char *boot_id);
uint64_t grant_store_now(GrantStore *s, clockid_t clock);

/* How a change ended, called once for each change that was accepted. result < 0: it failed and
 * nothing changed, in memory or on disk: -EDQUOT (the uid holds GRANTS_PER_UID_MAX grants
 * already), -EIO (the grants file could not be read, see grant_store_load()), -ECANCELED (the
 * store was freed first), or the error of writing the file (-ENOSPC, ...). Else the change is on
 * disk and in force: 0 for grant_store_set(), the number of grants removed for
 * grant_store_revoke(). */
typedef void (*GrantDoneFunc)(int result, void *userdata);

/* Changes are written in the order they were made; those made while a write is in flight go
 * together in the next one. With an event loop attached the write runs on a thread and done
 * follows on the loop; without, everything happens within the call. done may be NULL (failures
 * are logged either way). Lookups and listings see a change only once done is due. */
int grant_store_attach_event(GrantStore *s, sd_event *event);
/* Whether changes are waiting or being written. */
bool grant_store_busy(GrantStore *s);
/* Wait until every change made so far has ended (at shutdown: answered before the bus closes). */
void grant_store_flush(GrantStore *s);

/* Add or replace the decision for (uid, app_id, origin, kind, devices). devices: hardware ids
 * the grant is limited to, NULL = every device of the kind (an empty list is -EINVAL).
 * expires_boottime_usec: 0 = until revoked. owner: NULL for a persistent grant, or the unique
 * name of the connection the decision belongs to (never written; in memory once done is due). A
 * persistent grant and a connection's grant for the same key are separate entries (a deny among
 * them wins). An empty origin is the same as NULL. Returns -EINVAL or -ENOMEM when the change is
 * refused at once (done is not called), else 0 and done tells how it ended. */
int grant_store_set(GrantStore *s, uid_t uid, const char *app_id, const char *origin, DeviceKind kind,
                    char **devices, GrantDecision decision, uint64_t expires_boottime_usec,
                    const char *owner, GrantDoneFunc done, void *userdata);

/* The decision for a caller and a device (hardware_id NULL: any device of the kind, i.e. a deny
 * for the kind or an allow without device limit). Expired entries are ignored (and removed by
 * grant_store_expire()). A deny that applies wins over any allow. */
GrantDecision grant_store_lookup(GrantStore *s, uid_t uid, const char *app_id, const char *origin,
                                 DeviceKind kind, const char *hardware_id, uint64_t now_boottime_usec);

/* Forget the decisions owned by a connection that left. No change callback (its tracks end
 * with it anyway), nothing written. */
void grant_store_drop_owner(GrantStore *s, const char *owner);

/* A grant as the store shows it; pointers are borrowed for the duration of a callback. */
typedef struct GrantInfo {
        uid_t uid;
        const char *app_id;
        const char *origin;   /* NULL: none */
        DeviceKind kind;
        char * const *devices; /* NULL: every device of the kind */
        GrantDecision decision;
        uint64_t expires_boottime_usec; /* 0: until revoked */
        uint64_t expires_realtime_usec; /* the same deadline on the wall clock of now, 0: never */
        const char *owner;    /* NULL: persistent */
} GrantInfo;

/* Filter for listing: GRANT_UID_INVALID, NULL and -1 match anything. */
typedef struct GrantFilter {
        uid_t uid;
        const char *app_id;
        const char *origin;   /* "" matches grants without an origin */
        int kind;             /* a DeviceKind or -1 */
} GrantFilter;
#define GRANT_FILTER_ALL ((GrantFilter){ .uid = GRANT_UID_INVALID, .kind = -1 })

/* Call cb for every unexpired grant matching the filter, in no particular order. A negative
 * return of cb stops the walk and is returned; else the number of grants visited. The store
 * must not be changed from cb. */
typedef int (*GrantListCallback)(const GrantInfo *g, void *userdata);
int grant_store_list(GrantStore *s, const GrantFilter *filter, GrantListCallback cb, void *userdata);

/* Remove the grants of (uid, app_id, origin, kind): with devices NULL every one of them
 * (whatever its device set and scope), else only those with exactly this device set. Fires the
 * change callback for each once the file was written. Returns like grant_store_set(); done gets
 * the number removed. */
int grant_store_revoke(GrantStore *s, uid_t uid, const char *app_id, const char *origin, DeviceKind kind,
                       char **devices, GrantDoneFunc done, void *userdata);

/* Remove every grant that has expired by now (the store's clock); returns how many. */
int grant_store_expire(GrantStore *s);
/* The earliest expiry (CLOCK_BOOTTIME µs) among the stored grants, 0 when none expires:
 * for a timer that calls grant_store_expire(). */
uint64_t grant_store_next_expiry(GrantStore *s);

/* Told about every change, after it is on disk and in memory: the owner ends the live tracks
 * that the store no longer allows (re-check them with grant_store_lookup()). */
typedef enum GrantChange {
        GRANT_CHANGE_SET,     /* added or replaced by grant_store_set(); g is the new grant */
        GRANT_CHANGE_REVOKED, /* removed by grant_store_revoke(); g as it was */
        GRANT_CHANGE_EXPIRED, /* removed by grant_store_expire(); g as it was */
} GrantChange;
typedef void (*GrantChangeCallback)(GrantStore *s, GrantChange change, const GrantInfo *g, void *userdata);
void grant_store_set_change_callback(GrantStore *s, GrantChangeCallback cb, void *userdata);

size_t grant_store_size(GrantStore *s); /* every grant held, expired or not, of both scopes */

/* Attach the state directory and read its grants file, replacing the persistent grants in
 * memory (connection-scoped ones stay). Timed grants come back as boottime deadlines that are
 * never later than the file allows (see grants-disk.c). Returns:
 *   0  loaded (or no file yet: no persistent grants);
 *   1  the file was corrupt, truncated or of another version: no persistent grants (fail
 *      closed), the file renamed to grants.corrupt-<UTC time>, logged; the next change writes
 *      a fresh file;
 *  <0  the directory or the file could not be read (not corruption): no persistent grants, and
 *      the unreadable file is never written over: each later change reads it again first and,
 *      while that fails, fails with -EIO;
 *  -EBUSY while changes are waiting (nothing done).
 * Leftovers of an interrupted write are removed. A store never loaded is memory only. */
int grant_store_load(GrantStore *s, const char *dir);
/* Write the persistent grants to the attached directory now, on this thread (durable-write.h).
 * 0 without a directory; -EIO when the file could not be read; -EBUSY while a write is in
 * flight. */
int grant_store_save(GrantStore *s);
