/* The grant store: a table keyed by (uid, app id, origin, kind), each entry a list of
 * decisions that differ by their device set and scope; expiry; the atomic grants file.
 *
 * Timed grants and the wall clock. In memory a deadline is on CLOCK_BOOTTIME, which counts
 * suspend and ignores changes of the wall clock, so while the daemon runs a five-minute grant
 * lasts five minutes of real time, whatever the clock does. CLOCK_BOOTTIME starts again at each
 * boot, so the file holds CLOCK_REALTIME deadlines plus, in its "saved" line, the realtime and
 * boottime of the moment it was written and the boot id. When the file is read again:
 *
 *     left     = deadline_realtime - saved_realtime        (time the grant had when written)
 *     elapsed  = max(0, now_realtime - saved_realtime,
 *                    now_boottime - saved_boottime if the boot id is the same)
 *     deadline = now_boottime + (left - elapsed), or expired if elapsed >= left
 *
 * so a loaded deadline is never later than the realtime deadline implies (elapsed counts at least
 * the wall clock), and never later than what was left when the file was written: a wall clock
 * set back a year while the daemon was down does not give a grant another year. In the same boot
 * the boottime elapsed is exact even when the wall clock jumped. Across a reboot with a clock
 * set back, the time the machine was off cannot be known, and the grant gets at most what it
 * had left when written. A clock set forward while the daemon was down ends grants early:
 * failing towards a new prompt, never towards access. */
#include "grants.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "grants-file.h"
#include "hashmap.h"
#include "log.h"
#include "util.h"

#define TMP_PREFIX GRANTS_FILE ".tmp"
#define CORRUPT_PREFIX GRANTS_FILE ".corrupt-"

typedef struct GrantBucket GrantBucket;

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

struct GrantStore {
        Hashmap *buckets; /* key → GrantBucket */
        size_t n_grants;

        GrantClockFunc clock;
        void *clock_userdata;
        char boot_id[33];

        int dir_fd; /* the state directory once loaded, -1 = memory only */
        char *dir;
        bool dirty; /* a persistent change that is not on disk yet */

        GrantChangeCallback change_cb;
        void *change_userdata;
};

static const char *const decision_table[] = {
        [GRANT_ALLOW] = "allow",
        [GRANT_DENY] = "deny",
};

const char *grant_decision_to_string(GrantDecision d) {
        if (d <= GRANT_NONE || d > GRANT_DENY)
                return NULL;
        return decision_table[d];
}

int grant_decision_from_string(const char *s) {
        for (GrantDecision d = GRANT_ALLOW; d <= GRANT_DENY; d++)
                if (streq_ptr(s, decision_table[d]))
                        return d;
        return -EINVAL;
}

static const char *const kind_table[_DEVICE_KIND_MAX] = {
        [DEVICE_KIND_AUDIO] = "microphone",
        [DEVICE_KIND_VIDEO] = "camera",
};

const char *grant_kind_to_string(DeviceKind k) {
        if (k < 0 || k >= _DEVICE_KIND_MAX)
                return NULL;
        return kind_table[k];
}

int grant_kind_from_string(const char *s) {
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++)
                if (streq_ptr(s, kind_table[k]))
                        return k;
        return -EINVAL;
}

static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static Grant *grant_free(Grant *g) {
        if (!g)
                return NULL;
        strv_free(g->devices);
        free(g->owner);
        free(g);
        return NULL;
}

static void bucket_free(GrantBucket *b) {
        for (Grant *g = b->grants, *next; g; g = next) {
                next = g->next;
                grant_free(g);
        }
        free(b->key);
        free(b->app_id);
        free(b->origin);
        free(b);
}

/* Lowercase hex without dashes into out (33 bytes); -EINVAL unless 32 hex digits. */
static int normalize_boot_id(const char *s, char out[33]) {
        size_t n = 0;

        for (; *s && *s != '\n'; s++) {
                if (*s == '-')
                        continue;
                if (n == 32 || !((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
                        return -EINVAL;
                out[n++] = (char) (*s >= 'A' && *s <= 'F' ? *s - 'A' + 'a' : *s);
        }
        if (n != 32)
                return -EINVAL;
        out[n] = 0;
        return 0;
}

static int read_boot_id(char ret[33]) {
        _cleanup_fclose_ FILE *f = NULL;
        char line[64];

        f = fopen("/proc/sys/kernel/random/boot_id", "re");
        if (!f)
                return -errno;
        if (!fgets(line, sizeof line, f))
                return -EIO;
        return normalize_boot_id(line, ret);
}

int grant_store_set_boot_id(GrantStore *s, const char *boot_id) {
        char id[33];
        int r;

        if (!boot_id) {
                if (read_boot_id(s->boot_id) < 0)
                        s->boot_id[0] = 0; /* unknown: a restart then always counts as a reboot */
                return 0;
        }
        if (isempty(boot_id)) {
                s->boot_id[0] = 0;
                return 0;
        }
        r = normalize_boot_id(boot_id, id);
        if (r < 0)
                return r;
        memcpy(s->boot_id, id, sizeof id);
        return 0;
}

GrantStore *grant_store_new(void) {
        GrantStore *s = calloc(1, sizeof(GrantStore));

        if (!s)
                return NULL;
        s->dir_fd = -1;
        s->buckets = hashmap_new();
        if (!s->buckets) {
                free(s);
                return NULL;
        }
        (void) grant_store_set_boot_id(s, NULL);
        return s;
}

GrantStore *grant_store_free(GrantStore *s) {
        HashmapIter it = {};
        GrantBucket *b;

        if (!s)
                return NULL;
        /* One walk (draining with hashmap_steal_first() would rescan the table each time). */
        while (hashmap_iterate(s->buckets, &it, (void **) &b, NULL))
                bucket_free(b);
        hashmap_free(s->buckets);
        safe_close(s->dir_fd);
        free(s->dir);
        free(s);
        return NULL;
}

void grant_store_set_clock(GrantStore *s, GrantClockFunc now, void *userdata) {
        s->clock = now;
        s->clock_userdata = userdata;
}

uint64_t grant_store_now(GrantStore *s, clockid_t clock) {
        if (s->clock)
                return s->clock(clock, s->clock_userdata);
        return now_usec(clock);
}

void grant_store_set_change_callback(GrantStore *s, GrantChangeCallback cb, void *userdata) {
        s->change_cb = cb;
        s->change_userdata = userdata;
}

size_t grant_store_size(GrantStore *s) {
        return s->n_grants;
}

/* Length-prefixed fields, so that no choice of strings makes two keys collide. */
static char *make_key(uid_t uid, const char *app_id, const char *origin, DeviceKind kind) {
        char *key;
        int r;

        if (origin)
                r = asprintf(&key, "%u:%d:%zu:%s:%zu:%s", (unsigned) uid, (int) kind, strlen(app_id), app_id,
                             strlen(origin), origin);
        else
                r = asprintf(&key, "%u:%d:%zu:%s:-", (unsigned) uid, (int) kind, strlen(app_id), app_id);
        return r < 0 ? NULL : key;
}

static bool same_devices(char * const *a, char * const *b) {
        size_t n;

        if (!a || !b)
                return a == b;
        n = strv_length(a);
        if (n != strv_length(b))
                return false;
        /* Both sorted (grant_devices_normalize). */
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

static bool grant_expired(const Grant *g, uint64_t now_boottime) {
        return g->expires && g->expires <= now_boottime;
}

static void grant_info(const Grant *g, uint64_t now_rt, uint64_t now_boot, GrantInfo *ret) {
        const GrantBucket *b = g->bucket;

        *ret = (GrantInfo){
                .uid = b->uid,
                .app_id = b->app_id,
                .origin = b->origin,
                .kind = b->kind,
                .devices = g->devices,
                .decision = g->decision,
                .expires_boottime_usec = g->expires,
                .owner = g->owner,
        };
        if (g->expires)
                ret->expires_realtime_usec = add_sat(now_rt, g->expires > now_boot ? g->expires - now_boot : 0);
}

static void notify(GrantStore *s, GrantChange change, const Grant *g) {
        GrantInfo info;

        if (!s->change_cb)
                return;
        grant_info(g, grant_store_now(s, CLOCK_REALTIME), grant_store_now(s, CLOCK_BOOTTIME), &info);
        s->change_cb(s, change, &info, s->change_userdata);
}

static int validate(uid_t uid, const char *app_id, const char *origin, DeviceKind kind, GrantDecision decision) {
        if (uid == GRANT_UID_INVALID || isempty(app_id) || strlen(app_id) > GRANT_FILE_FIELD_MAX ||
            (origin && strlen(origin) > GRANT_FILE_FIELD_MAX) || kind < 0 || kind >= _DEVICE_KIND_MAX ||
            (decision != GRANT_ALLOW && decision != GRANT_DENY))
                return -EINVAL;
        return 0;
}

static int bucket_get(GrantStore *s, uid_t uid, const char *app_id, const char *origin, DeviceKind kind,
                      bool create, GrantBucket **ret) {
        _cleanup_free_ char *key = make_key(uid, app_id, origin, kind);
        GrantBucket *b;

        if (!key)
                return -ENOMEM;
        b = hashmap_get(s->buckets, key);
        if (!b && create) {
                b = calloc(1, sizeof(GrantBucket));
                if (!b)
                        return -ENOMEM;
                b->uid = uid;
                b->kind = kind;
                b->key = TAKE_PTR(key);
                b->app_id = strdup(app_id);
                b->origin = origin ? strdup(origin) : NULL;
                if (!b->app_id || (origin && !b->origin) || hashmap_put(s->buckets, b->key, b) < 0) {
                        bucket_free(b);
                        return -ENOMEM;
                }
        }
        *ret = b;
        return 0;
}

static void bucket_drop_if_empty(GrantStore *s, GrantBucket *b) {
        if (b->grants)
                return;
        hashmap_remove(s->buckets, b->key);
        bucket_free(b);
}

/* Insert or update in memory only. Returns 1 when something changed, 0 when the grant was
 * already there as it is, <0 on error (nothing changed then). */
static int store_put(GrantStore *s, uid_t uid, const char *app_id, const char *origin, DeviceKind kind,
                     char **devices, GrantDecision decision, uint64_t expires, const char *owner, Grant **ret) {
        _cleanup_strv_free_ char **sorted = NULL;
        GrantBucket *b;
        Grant *g;
        int r;

        if (isempty(origin))
                origin = NULL;
        r = validate(uid, app_id, origin, kind, decision);
        if (r < 0)
                return r;
        if (devices) {
                for (char **d = devices; *d; d++)
                        if (strv_extend(&sorted, *d) < 0)
                                return -ENOMEM;
                r = grant_devices_normalize(sorted);
                if (r < 0)
                        return r;
        }

        r = bucket_get(s, uid, app_id, origin, kind, true, &b);
        if (r < 0)
                return r;
        for (g = b->grants; g; g = g->next)
                if (same_devices(g->devices, sorted) && streq_ptr(g->owner, owner))
                        break;
        if (g) {
                *ret = g;
                if (g->decision == decision && g->expires == expires)
                        return 0;
                g->decision = decision;
                g->expires = expires;
                return 1;
        }

        g = calloc(1, sizeof(Grant));
        if (!g || (owner && !(g->owner = strdup(owner)))) {
                grant_free(g);
                bucket_drop_if_empty(s, b);
                return -ENOMEM;
        }
        g->bucket = b;
        g->devices = TAKE_PTR(sorted);
        g->decision = decision;
        g->expires = expires;
        g->next = b->grants;
        b->grants = g;
        s->n_grants++;
        *ret = g;
        return 1;
}

int grant_store_set(GrantStore *s, uid_t uid, const char *app_id, const char *origin, DeviceKind kind,
                    char **devices, GrantDecision decision, uint64_t expires_boottime_usec,
                    const char *owner) {
        Grant *g;
        int r, q = 0;

        r = store_put(s, uid, app_id, origin, kind, devices, decision, expires_boottime_usec, owner, &g);
        if (r <= 0)
                return r;
        if (!owner) {
                s->dirty = true;
                q = grant_store_save(s);
        }
        notify(s, GRANT_CHANGE_SET, g);
        return q;
}

GrantDecision grant_store_lookup(GrantStore *s, uid_t uid, const char *app_id, const char *origin,
                                 DeviceKind kind, const char *hardware_id, uint64_t now_boottime_usec) {
        GrantDecision result = GRANT_NONE;
        GrantBucket *b;

        if (isempty(origin))
                origin = NULL;
        if (uid == GRANT_UID_INVALID || !app_id)
                return GRANT_NONE;
        if (bucket_get(s, uid, app_id, origin, kind, false, &b) < 0)
                return GRANT_DENY; /* out of memory: fail closed */
        if (!b)
                return GRANT_NONE;
        for (Grant *g = b->grants; g; g = g->next) {
                if (grant_expired(g, now_boottime_usec))
                        continue;
                /* A deny for the whole kind wins; a device-limited grant covers its devices only. */
                if (g->devices && (!hardware_id || !strv_contains(g->devices, hardware_id)))
                        continue;
                if (g->decision == GRANT_DENY)
                        return GRANT_DENY;
                result = GRANT_ALLOW;
        }
        return result;
}

void grant_store_drop_owner(GrantStore *s, const char *owner) {
        HashmapIter it = {};
        GrantBucket *b;

        if (!owner)
                return; /* persistent grants belong to no connection */
        while (hashmap_iterate(s->buckets, &it, (void **) &b, NULL)) {
                for (Grant **p = &b->grants; *p;) {
                        Grant *g = *p;

                        if (streq_ptr(g->owner, owner)) {
                                *p = g->next;
                                grant_free(g);
                                s->n_grants--;
                        } else
                                p = &g->next;
                }
                bucket_drop_if_empty(s, b);
        }
}

static bool filter_matches(const GrantFilter *f, const GrantBucket *b) {
        if (!f)
                return true;
        if (f->uid != GRANT_UID_INVALID && f->uid != b->uid)
                return false;
        if (f->app_id && !streq(f->app_id, b->app_id))
                return false;
        if (f->origin && !streq(f->origin, strempty(b->origin)))
                return false;
        if (f->kind >= 0 && (int) b->kind != f->kind)
                return false;
        return true;
}

int grant_store_list(GrantStore *s, const GrantFilter *filter, GrantListCallback cb, void *userdata) {
        uint64_t now_rt = grant_store_now(s, CLOCK_REALTIME), now_boot = grant_store_now(s, CLOCK_BOOTTIME);
        HashmapIter it = {};
        GrantBucket *b;
        int n = 0, r;

        /* A filter for one key needs no walk over the table. */
        if (filter && filter->uid != GRANT_UID_INVALID && filter->app_id && filter->origin && filter->kind >= 0) {
                r = bucket_get(s, filter->uid, filter->app_id, isempty(filter->origin) ? NULL : filter->origin,
                               filter->kind, false, &b);
                if (r < 0)
                        return r;
                for (Grant *g = b ? b->grants : NULL; g; g = g->next) {
                        GrantInfo info;

                        if (grant_expired(g, now_boot))
                                continue;
                        grant_info(g, now_rt, now_boot, &info);
                        r = cb(&info, userdata);
                        if (r < 0)
                                return r;
                        n++;
                }
                return n;
        }

        while (hashmap_iterate(s->buckets, &it, (void **) &b, NULL)) {
                if (!filter_matches(filter, b))
                        continue;
                for (Grant *g = b->grants; g; g = g->next) {
                        GrantInfo info;

                        if (grant_expired(g, now_boot))
                                continue;
                        grant_info(g, now_rt, now_boot, &info);
                        r = cb(&info, userdata);
                        if (r < 0)
                                return r;
                        n++;
                }
        }
        return n;
}

/* Grants taken out of their buckets by a revoke or an expiry: kept until the callbacks ran, so
 * that the GrantInfo they get can point into the bucket. */
typedef struct Removed {
        Grant **grants;
        size_t n, alloc;
        bool persistent;
} Removed;

static int removed_add(Removed *rm, Grant *g) {
        if (rm->n == rm->alloc) {
                size_t want = MAX(rm->alloc * 2, 8u);
                Grant **grown = realloc(rm->grants, want * sizeof(Grant *));

                if (!grown)
                        return -ENOMEM;
                rm->grants = grown;
                rm->alloc = want;
        }
        rm->grants[rm->n++] = g;
        if (!g->owner)
                rm->persistent = true;
        return 0;
}

/* Unlink *p from its bucket into rm. On ENOMEM the grant stays where it is. */
static int take_grant(GrantStore *s, Grant **p, Removed *rm) {
        Grant *g = *p;
        int r;

        r = removed_add(rm, g);
        if (r < 0)
                return r;
        *p = g->next;
        g->next = NULL;
        s->n_grants--;
        return 0;
}

/* Write the file if persistent grants went, tell the callback, then free everything. */
static int removed_finish(GrantStore *s, Removed *rm, GrantChange change) {
        uint64_t now_rt = grant_store_now(s, CLOCK_REALTIME), now_boot = grant_store_now(s, CLOCK_BOOTTIME);
        GrantBucket *doomed = NULL;
        int r = 0;

        if (rm->persistent) {
                s->dirty = true;
                r = grant_store_save(s);
        }
        for (size_t i = 0; i < rm->n && s->change_cb; i++) {
                GrantInfo info;

                grant_info(rm->grants[i], now_rt, now_boot, &info);
                s->change_cb(s, change, &info, s->change_userdata);
        }
        /* A bucket may appear more than once: chain the emptied ones first, free them after. */
        for (size_t i = 0; i < rm->n; i++) {
                GrantBucket *b = rm->grants[i]->bucket;

                if (!b->grants && !b->doomed) {
                        b->doomed = true;
                        b->next_doomed = doomed;
                        doomed = b;
                        hashmap_remove(s->buckets, b->key);
                }
                grant_free(rm->grants[i]);
        }
        while (doomed) {
                GrantBucket *next = doomed->next_doomed;

                bucket_free(doomed);
                doomed = next;
        }
        free(rm->grants);
        *rm = (Removed){};
        return r;
}

int grant_store_revoke(GrantStore *s, uid_t uid, const char *app_id, const char *origin, DeviceKind kind,
                       char **devices) {
        _cleanup_strv_free_ char **sorted = NULL;
        Removed rm = {};
        GrantBucket *b;
        int r;

        if (isempty(origin))
                origin = NULL;
        if (uid == GRANT_UID_INVALID || isempty(app_id) || kind < 0 || kind >= _DEVICE_KIND_MAX)
                return -EINVAL;
        if (devices) {
                for (char **d = devices; *d; d++)
                        if (strv_extend(&sorted, *d) < 0)
                                return -ENOMEM;
                r = grant_devices_normalize(sorted);
                if (r < 0)
                        return r;
        }
        r = bucket_get(s, uid, app_id, origin, kind, false, &b);
        if (r < 0)
                return r;
        if (!b)
                return 0;
        for (Grant **p = &b->grants; *p;) {
                if (devices && !same_devices((*p)->devices, sorted)) {
                        p = &(*p)->next;
                        continue;
                }
                r = take_grant(s, p, &rm);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                /* Out of memory half way: what was taken is revoked all the same. */
                (void) removed_finish(s, &rm, GRANT_CHANGE_REVOKED);
                return r;
        }
        r = (int) rm.n;
        return removed_finish(s, &rm, GRANT_CHANGE_REVOKED) ?: r;
}

int grant_store_expire(GrantStore *s) {
        uint64_t now_boot = grant_store_now(s, CLOCK_BOOTTIME);
        HashmapIter it = {};
        Removed rm = {};
        GrantBucket *b;
        int r = 0, n;

        while (r >= 0 && hashmap_iterate(s->buckets, &it, (void **) &b, NULL))
                for (Grant **p = &b->grants; *p && r >= 0;)
                        if (grant_expired(*p, now_boot))
                                r = take_grant(s, p, &rm);
                        else
                                p = &(*p)->next;
        n = (int) rm.n;
        /* Expired grants are never written, so a failed write changes nothing that counts. */
        (void) removed_finish(s, &rm, GRANT_CHANGE_EXPIRED);
        return r < 0 ? r : n;
}

uint64_t grant_store_next_expiry(GrantStore *s) {
        HashmapIter it = {};
        GrantBucket *b;
        uint64_t next = 0;

        while (hashmap_iterate(s->buckets, &it, (void **) &b, NULL))
                for (Grant *g = b->grants; g; g = g->next)
                        if (g->expires && (!next || g->expires < next))
                                next = g->expires;
        return next;
}

/* The file */

static int compare_records(const void *x, const void *y) {
        const GrantRecord *a = x, *b = y;
        int c;

        if (a->uid != b->uid)
                return a->uid < b->uid ? -1 : 1;
        c = strcmp(a->app_id, b->app_id);
        if (c)
                return c;
        c = strcmp(strempty(a->origin), strempty(b->origin));
        if (c)
                return c;
        if (!a->origin != !b->origin)
                return a->origin ? 1 : -1;
        if (a->kind != b->kind)
                return a->kind < b->kind ? -1 : 1;
        if (!a->devices || !b->devices)
                return (a->devices ? 1 : 0) - (b->devices ? 1 : 0);
        for (size_t i = 0;; i++) {
                if (!a->devices[i] || !b->devices[i])
                        return (a->devices[i] ? 1 : 0) - (b->devices[i] ? 1 : 0);
                c = strcmp(a->devices[i], b->devices[i]);
                if (c)
                        return c;
        }
}

/* The persistent, unexpired grants as file records (borrowing the store's strings), sorted so
 * that the same store always gives the same file. */
static int collect_records(GrantStore *s, uint64_t now_rt, uint64_t now_boot, GrantRecord **ret, size_t *ret_n) {
        _cleanup_free_ GrantRecord *records = NULL;
        HashmapIter it = {};
        GrantBucket *b;
        size_t n = 0;

        records = calloc(MAX(s->n_grants, 1u), sizeof(GrantRecord));
        if (!records)
                return -ENOMEM;
        while (hashmap_iterate(s->buckets, &it, (void **) &b, NULL))
                for (Grant *g = b->grants; g; g = g->next) {
                        if (g->owner || grant_expired(g, now_boot))
                                continue;
                        records[n++] = (GrantRecord){
                                .uid = b->uid,
                                .kind = b->kind,
                                .decision = g->decision,
                                .expires_realtime_usec = g->expires ? add_sat(now_rt, g->expires - now_boot) : 0,
                                .app_id = b->app_id,
                                .origin = b->origin,
                                .devices = g->devices,
                        };
                }
        qsort(records, n, sizeof(GrantRecord), compare_records);
        *ret = TAKE_PTR(records);
        *ret_n = n;
        return 0;
}

static int write_all(int fd, const char *p, size_t size) {
        while (size > 0) {
                ssize_t k = write(fd, p, size);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

/* A new file in the directory with a random name after prefix; O_EXCL, never following links. */
static int open_tmpfile(int dir_fd, const char *prefix, char *name, size_t size) {
        static const char letters[] = "abcdefghijklmnopqrstuvwxyz0123456789";

        for (int attempt = 0; attempt < 16; attempt++) {
                uint8_t rnd[8];
                int fd;

                if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
                        return -EIO;
                snprintf(name, size, "%s", prefix);
                for (size_t i = 0; i < sizeof rnd; i++)
                        name[strlen(prefix) + i] = letters[rnd[i] % (sizeof letters - 1)];
                name[strlen(prefix) + sizeof rnd] = 0;
                fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
                if (fd >= 0 || errno != EEXIST)
                        return fd >= 0 ? fd : -errno;
        }
        return -EEXIST;
}

int grant_store_save(GrantStore *s) {
        uint64_t now_rt = grant_store_now(s, CLOCK_REALTIME), now_boot = grant_store_now(s, CLOCK_BOOTTIME);
        _cleanup_free_ GrantRecord *records = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;
        GrantFileHeader header = {
                .saved_realtime_usec = now_rt,
                .saved_boottime_usec = now_boot,
        };
        char tmp[sizeof TMP_PREFIX + 16];
        size_t n, size;
        int r;

        if (s->dir_fd < 0)
                return 0;

        memcpy(header.boot_id, s->boot_id, sizeof header.boot_id);
        r = collect_records(s, now_rt, now_boot, &records, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to write the grants: %m");
        r = grant_file_serialize(&header, records, n, &text, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to write the grants: %m");

        fd = open_tmpfile(s->dir_fd, TMP_PREFIX, tmp, sizeof tmp);
        if (fd < 0)
                return log_error_errno(fd, "Failed to create a temporary grants file in %s: %m", s->dir);
        r = write_all(fd, text, size);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && close(TAKE_FD(fd)) < 0)
                r = -errno;
        /* The rename is the moment the new version replaces the old one, whole. */
        if (r >= 0 && renameat(s->dir_fd, tmp, s->dir_fd, GRANTS_FILE) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(s->dir_fd, tmp, 0);
                return log_error_errno(r, "Failed to write %s/%s: %m", s->dir, GRANTS_FILE);
        }
        /* Make the rename itself durable. */
        if (fsync(s->dir_fd) < 0)
                return log_error_errno(errno, "Failed to sync %s: %m", s->dir);
        s->dirty = false;
        return 0;
}

/* Remove the temporary files of writes that were interrupted: they were never the store. */
static void remove_stale_tmpfiles(int dir_fd) {
        _cleanup_close_ int fd = -1;
        DIR *d;
        struct dirent *de;

        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (!d)
                return;
        TAKE_FD(fd);
        while ((de = readdir(d)))
                if (startswith(de->d_name, TMP_PREFIX))
                        (void) unlinkat(dir_fd, de->d_name, 0);
        closedir(d);
}

/* Keep a damaged file for inspection under a name that says when it was found. */
static int set_aside(GrantStore *s, char *ret_name, size_t size) {
        time_t t = (time_t) (grant_store_now(s, CLOCK_REALTIME) / 1000000u);
        char stamp[32];
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm) == 0)
                snprintf(stamp, sizeof stamp, "%" PRIu64, (uint64_t) t);
        for (unsigned i = 0; i < 1000; i++) {
                if (i == 0)
                        snprintf(ret_name, size, "%s%s", CORRUPT_PREFIX, stamp);
                else
                        snprintf(ret_name, size, "%s%s-%u", CORRUPT_PREFIX, stamp, i);
                if (renameat2(s->dir_fd, GRANTS_FILE, s->dir_fd, ret_name, RENAME_NOREPLACE) >= 0) {
                        (void) fsync(s->dir_fd);
                        return 0;
                }
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

static void drop_persistent(GrantStore *s) {
        HashmapIter it = {};
        GrantBucket *b;

        while (hashmap_iterate(s->buckets, &it, (void **) &b, NULL)) {
                for (Grant **p = &b->grants; *p;) {
                        Grant *g = *p;

                        if (!g->owner) {
                                *p = g->next;
                                grant_free(g);
                                s->n_grants--;
                        } else
                                p = &g->next;
                }
                bucket_drop_if_empty(s, b);
        }
}

/* The boottime deadline of a loaded timed grant, by the rule at the top of this file; 0 when
 * it has expired. */
static uint64_t loaded_deadline(const GrantFileHeader *h, const char *boot_id, uint64_t expires_rt,
                                uint64_t now_rt, uint64_t now_boot) {
        uint64_t left, elapsed = 0;

        if (expires_rt <= h->saved_realtime_usec)
                return 0;
        left = expires_rt - h->saved_realtime_usec;
        if (now_rt > h->saved_realtime_usec)
                elapsed = now_rt - h->saved_realtime_usec;
        if (!isempty(h->boot_id) && streq(h->boot_id, boot_id) && now_boot >= h->saved_boottime_usec)
                elapsed = MAX(elapsed, now_boot - h->saved_boottime_usec);
        if (elapsed >= left)
                return 0;
        return add_sat(now_boot, left - elapsed) ?: 1;
}

static bool is_damage(int r) {
        return r == -EBADMSG || r == -EPROTONOSUPPORT || r == -EFBIG;
}

static void attach_dir(GrantStore *s, int *dir_fd, char **dir) {
        safe_close(s->dir_fd);
        s->dir_fd = TAKE_FD(*dir_fd);
        free(s->dir);
        s->dir = TAKE_PTR(*dir);
}

static int read_grants_file(int dir_fd, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        fd = openat(dir_fd, GRANTS_FILE, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return errno == ELOOP ? -EBADMSG : -errno; /* a symlink there is not our file */
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        return read_full_fd(fd, GRANT_FILE_SIZE_MAX, ret, ret_size);
}

int grant_store_load(GrantStore *s, const char *dir) {
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *text = NULL, *dir_copy = NULL;
        GrantRecord *records = NULL;
        GrantFileHeader header;
        uint64_t now_rt, now_boot;
        size_t size = 0, n = 0, loaded = 0;
        unsigned line = 0;
        int r;

        /* Whatever happens below, the old persistent grants are gone: the file is the truth. */
        drop_persistent(s);
        s->dir_fd = safe_close(s->dir_fd);
        s->dirty = false;

        dir_copy = strdup(dir);
        if (!dir_copy)
                return log_oom();
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return log_error_errno(errno, "Failed to open the state directory %s: %m", dir);

        remove_stale_tmpfiles(dir_fd);
        r = read_grants_file(dir_fd, &text, &size);
        if (r == -ENOENT) {
                log_debug("No %s/%s yet: no grants stored.", dir, GRANTS_FILE);
                goto attach;
        }
        if (r >= 0)
                r = grant_file_parse(text, size, &header, &records, &n, &line);
        if (is_damage(r)) {
                char name[sizeof CORRUPT_PREFIX + 48];
                int q;

                attach_dir(s, &dir_fd, &dir_copy);
                q = set_aside(s, name, sizeof name);
                if (q < 0)
                        log_error_errno(q, "Failed to set the damaged %s/%s aside: %m", dir, GRANTS_FILE);
                log_error_errno(r, "The grants file %s/%s is %s (line %u): no grants are in force. %s%s%s",
                                dir, GRANTS_FILE,
                                r == -EPROTONOSUPPORT ? "of another version" : "damaged or truncated", line,
                                q < 0 ? "" : "It was kept as ", q < 0 ? "" : name, q < 0 ? "" : ".");
                return 1;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to read %s/%s, no grants are in force: %m", dir, GRANTS_FILE);

        now_rt = grant_store_now(s, CLOCK_REALTIME);
        now_boot = grant_store_now(s, CLOCK_BOOTTIME);
        for (size_t i = 0; i < n; i++) {
                GrantRecord *g = &records[i];
                uint64_t expires = 0;
                Grant *added;

                if (g->expires_realtime_usec) {
                        expires = loaded_deadline(&header, s->boot_id, g->expires_realtime_usec, now_rt, now_boot);
                        if (expires == 0)
                                continue; /* ran out while we were away */
                }
                r = store_put(s, g->uid, g->app_id, g->origin, g->kind, g->devices, g->decision, expires, NULL,
                              &added);
                if (r < 0) {
                        /* All or nothing. */
                        drop_persistent(s);
                        grant_records_free(records, n);
                        return log_error_errno(r, "Failed to load %s/%s, no grants are in force: %m", dir,
                                               GRANTS_FILE);
                }
                loaded++;
        }
        grant_records_free(records, n);
        log_debug("Loaded %zu grant(s) from %s/%s.", loaded, dir, GRANTS_FILE);

attach:
        attach_dir(s, &dir_fd, &dir_copy);
        return 0;
}
