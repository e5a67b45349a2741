/* The access history: who was asked for, granted, denied, started, stopped or lost a camera
 * or microphone, kept on disk in the state directory (bounded, rotated) and sent to the
 * journal as structured entries.
 *
 * The history file, version 1 (`$STATE_DIRECTORY/history`, the older half in `history.1`):
 *
 *     mediagate-history 1
 *     1767225600000000 prompted 1000 camera 0 org.example.Meet https://meet.example -
 *     1767225603000000 granted 1000 camera 0 org.example.Meet https://meet.example - decision=allow-timed seconds=300
 *     1767225603100000 started 1000 camera 0 org.example.Meet https://meet.example usb-0000:00:14.0-1
 *     1767225663100000 stopped 1000 camera 60000000 org.example.Meet https://meet.example usb-0000:00:14.0-1
 *
 * One event a line: TIME EVENT UID KIND DURATION APP_ID ORIGIN DEVICE [KEY=VALUE ...], fields
 * separated by one space, the line ended by "\n".
 *   TIME      µs since the epoch (CLOCK_REALTIME)
 *   EVENT     prompted, granted, denied, started, stopped, revoked
 *   UID       decimal
 *   KIND      camera or microphone
 *   DURATION  µs the capture lasted (stopped), else 0
 *   APP_ID, ORIGIN, DEVICE, KEY, VALUE  escaped as in grants-file.h; ORIGIN and DEVICE `-`
 *             when absent; DEVICE is a hardware id or a label
 * A reader skips any line it cannot parse (a line cut by a crash, damage) and keeps the rest.
 *
 * Each event is one write() on a descriptor opened with O_APPEND, so a line is never
 * interleaved or half-replaced; there is no fsync per event: the history is a record for
 * people, not a decision (the grants file is), the journal holds a copy of every event, and a
 * flush per capture start and stop would cost a disk write each. A power cut may lose the last
 * events or leave half a line, which the reader skips.
 *
 * When `history` would grow past the size limit (1 MiB unless configured), it is renamed to
 * `history.1` (replacing the older one) and a new `history` begins, so the two together hold
 * between one and two limits of the most recent events. A new file is created with its header in
 * one durable write (durable-write.h), so that it never exists without one. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "devices/device.h"

#define HISTORY_MAGIC "mediagate-history"
#define HISTORY_VERSION 1
#define HISTORY_FILE "history"
#define HISTORY_FILE_OLD "history.1"
#define HISTORY_SIZE_MAX_DEFAULT (1024u * 1024u)
#define HISTORY_FIELD_MAX 4096u /* longer strings are cut when written */
#define HISTORY_EXTRA_MAX 16u   /* key/value pairs kept per event */

typedef enum HistoryEventType {
        HISTORY_PROMPTED,
        HISTORY_GRANTED,
        HISTORY_DENIED,
        HISTORY_STARTED,
        HISTORY_STOPPED,
        HISTORY_REVOKED,
        _HISTORY_EVENT_MAX,
        _HISTORY_EVENT_INVALID = -EINVAL,
} HistoryEventType;

const char *history_event_type_to_string(HistoryEventType t); /* "prompted", ...; NULL if out of range */
HistoryEventType history_event_type_from_string(const char *s);

/* One event. For appending, the strings are the caller's; in a query callback they are borrowed
 * for the duration of the call. */
typedef struct HistoryEvent {
        uint64_t time_usec; /* CLOCK_REALTIME; 0 when appending = now */
        HistoryEventType type;
        uid_t uid;
        DeviceKind kind;
        uint64_t duration_usec; /* stopped: how long it captured; else 0 */
        const char *app_id;
        const char *origin; /* NULL: none */
        const char *device; /* hardware id or label, NULL: none */
        char **extra;       /* NULL or a NULL-terminated list: key, value, key, value, ... */
} HistoryEvent;

typedef struct History History;

typedef struct HistoryOptions {
        uint64_t size_max; /* bytes of one file before it rotates; 0 = HISTORY_SIZE_MAX_DEFAULT */
        bool no_journal;   /* tests: do not log each event */
} HistoryOptions;

/* Open (create) the history in dir. options may be NULL. */
int history_open(const char *dir, const HistoryOptions *options, History **ret);
History *history_free(History *h);
static inline void history_freep(History **h) {
        if (*h)
                history_free(*h);
}

/* Record an event: one line in the file, one journal entry with the event's MESSAGE_ID and the
 * fields MEDIAGATE_EVENT, MEDIAGATE_UID, MEDIAGATE_APP_ID, MEDIAGATE_ORIGIN, MEDIAGATE_KIND,
 * MEDIAGATE_DEVICE (and MEDIAGATE_DURATION_USEC for stopped). -EINVAL for an event without
 * app id or with an odd extra list; the error of the write otherwise (the journal entry is sent
 * regardless). */
int history_append(History *h, const HistoryEvent *e);

/* Filter for queries: 0, (uid_t) -1, NULL and -1 match anything. */
typedef struct HistoryFilter {
        uint64_t since_usec; /* events at or after this time */
        uid_t uid;
        const char *app_id;
        int kind; /* a DeviceKind or -1 */
} HistoryFilter;
#define HISTORY_FILTER_ALL ((HistoryFilter){ .uid = (uid_t) -1, .kind = -1 })

/* Call cb for each matching event, oldest first (history.1, then history). A negative return
 * of cb stops and is returned; else the number of events given. */
typedef int (*HistoryCallback)(const HistoryEvent *e, void *userdata);
int history_query(History *h, const HistoryFilter *filter, HistoryCallback cb, void *userdata);
