/* The insides of the grant store, shared by its three files: the table (grants-table.c), the queue of
 * changes and their writes (grants-changes.c) and the file in the state directory
 * (grants-disk.c). Nothing else includes this. */
#pragma once

#include "background-worker.h"
#include "grants.h"
#include "hashmap.h"

typedef struct GrantBucket GrantBucket;
typedef struct GrantOp GrantOp;

struct Grant {
        Grant *next;
        GrantBucket *bucket;
        char **devices; /* NULL = all devices of the kind; else sorted, unique */
        GrantDecision decision;
        uint64_t expires; /* CLOCK_BOOTTIME µs, 0 = never */
        char *owner;      /* NULL = persistent */
};

struct GrantBucket {
        char *key;
        uid_t uid;
        char *app_id;
        char *origin; /* NULL = none */
        DeviceKind kind;
        Grant *grants;
        bool doomed; /* emptied, to be freed once the change callbacks have run */
        GrantBucket *next_doomed;
};

/* A change waiting for, or in, a write (grants-changes.c). */
struct GrantOp {
        GrantOp *next;
        bool revoke;
        uid_t uid;
        char *app_id;
        char *origin;   /* NULL: none */
        DeviceKind kind;
        char **devices; /* sorted; NULL: every device (set) or every device set (revoke) */
        GrantDecision decision;
        uint64_t expires;
        char *owner;
        int result;     /* < 0 once it failed; for a revoke, how many were removed */
        GrantDoneFunc done;
        void *userdata;
};

/* What the worker thread needs to write the file, taken on the loop when the write starts. */
typedef struct GrantWriteJob {
        uint64_t now_realtime, now_boottime;
} GrantWriteJob;

struct GrantStore {
        Hashmap *buckets;    /* key → GrantBucket */
        Hashmap *uid_counts; /* uid → UidCount: persistent grants per uid, for GRANTS_PER_UID_MAX */
        size_t n_grants;

        GrantClockFunc clock;
        void *clock_userdata;
        char boot_id[33];

        /* The file (grants-disk.c). */
        char *dir;      /* the state directory since grant_store_load(); NULL = memory only */
        int dir_fd;     /* -1 while it could not be opened */
        int load_error; /* < 0: the file could not be read; nothing is written until it can be */

        /* Changes (grants-changes.c): they reach memory only once they are on disk. */
        GrantStore *shadow; /* the persistent grants as the next write stores them; NULL: rebuild */
        GrantOp *queued, **queued_tail;
        GrantOp *batch;     /* the changes being written */
        bool finishing;     /* committing a batch: new changes wait in the queue */
        BackgroundWorker *worker; /* NULL: the write happens within the call */
        GrantWriteJob job;

        GrantChangeCallback change_cb;
        void *change_userdata;
};

uint64_t grant_add_sat(uint64_t a, uint64_t b);
/* -EINVAL unless a grant could be stored (and written back) as given. */
int grant_validate(uid_t uid, const char *app_id, const char *origin, DeviceKind kind, GrantDecision decision);
bool grant_expired(const Grant *g, uint64_t now_boottime);

/* The table (grants-table.c). */
GrantStore *grant_store_new_shadow(GrantStore *parent);
/* Insert or update in memory only: 1 when something changed, 0 when the grant was there as it
 * is, -EDQUOT when a new persistent grant would make more than limit for its uid (0: no limit),
 * other errors (nothing changed then). */
int grant_store_put(GrantStore *s, uid_t uid, const char *app_id, const char *origin, DeviceKind kind,
                    char **devices, GrantDecision decision, uint64_t expires, const char *owner, size_t limit,
                    Grant **ret);
/* Remove the grants of a key from memory (devices: NULL all, else that device set exactly),
 * telling the change callback; how many, or -ENOMEM (what was taken is removed all the same). */
int grant_store_remove(GrantStore *s, uid_t uid, const char *app_id, const char *origin, DeviceKind kind,
                       char **devices);
void grant_store_notify(GrantStore *s, GrantChange change, const Grant *g);
void grant_store_drop_persistent(GrantStore *s);

/* The file (grants-disk.c). Write content's persistent grants to s's file: runs on the worker
 * thread, so no logging and no clock reads. */
int grant_store_write_file(GrantStore *s, GrantStore *content, uint64_t now_realtime, uint64_t now_boottime);
/* (Re)read s->dir as grant_store_load() describes. */
int grant_store_read_file(GrantStore *s);

/* The queue (grants-changes.c). */
void grant_store_cancel_changes(GrantStore *s);
