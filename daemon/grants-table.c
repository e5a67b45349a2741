/* The grant store's table: decisions keyed by (uid, app id, origin, kind), each entry a list of
 * decisions that differ by their device set and scope; lookups, listings, expiry, and the
 * in-memory half of every change. How changes reach the disk first: grants-changes.c. */
#include "grants.h"

#include <fcntl.h>
#include <inttypes.h>

#include "grants-file.h"
#include "grants-table.h"
#include "log.h"
#include "util.h"

/* Persistent grants per uid, for GRANTS_PER_UID_MAX. */
typedef struct UidCount {
        char key[16];
        size_t n;
} UidCount;

uint64_t grant_add_sat(uint64_t a, uint64_t b) {
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
        s->queued_tail = &s->queued;
        s->buckets = hashmap_new();
        s->uid_counts = hashmap_new();
        if (!s->buckets || !s->uid_counts)
                return grant_store_free(s);
        (void) grant_store_set_boot_id(s, NULL);
        return s;
}

/* An empty store on the same clocks, for the persistent grants as the next write stores them. */
GrantStore *grant_store_new_shadow(GrantStore *parent) {
        GrantStore *s = grant_store_new();

        if (!s)
                return NULL;
        s->clock = parent->clock;
        s->clock_userdata = parent->clock_userdata;
        memcpy(s->boot_id, parent->boot_id, sizeof s->boot_id);
        return s;
}

static void uid_counts_clear(GrantStore *s) {
        UidCount *c;

        while ((c = hashmap_steal_first(s->uid_counts)))
                free(c);
}

GrantStore *grant_store_free(GrantStore *s) {
        HashmapIter it = {};
        GrantBucket *b;

        if (!s)
                return NULL;
        /* The write in flight ends first (its thread reads the shadow); waiting changes fail. */
        s->worker = background_worker_free(s->worker);
        grant_store_cancel_changes(s);
        grant_store_free(s->shadow);
        /* One walk (draining with hashmap_steal_first() would rescan the table each time). */
        while (hashmap_iterate(s->buckets, &it, (void **) &b, NULL))
                bucket_free(b);
        hashmap_free(s->buckets);
        if (s->uid_counts)
                uid_counts_clear(s);
        hashmap_free(s->uid_counts);
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

/* A copy of a grant's device list in the order grants are compared in: NULL for none (every
 * device); an empty or malformed list is -EINVAL, never taken for "every device". */
static int devices_sorted(char **devices, char ***ret) {
        _cleanup_strv_free_ char **sorted = NULL;
        int r;

        for (char **d = devices; d && *d; d++)
                if (strv_extend(&sorted, *d) < 0)
                        return -ENOMEM;
        if (devices) {
                r = grant_devices_normalize(sorted);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(sorted);
        return 0;
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

bool grant_expired(const Grant *g, uint64_t now_boottime) {
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
                ret->expires_realtime_usec = grant_add_sat(now_rt, g->expires > now_boot ? g->expires - now_boot : 0);
}

void grant_store_notify(GrantStore *s, GrantChange change, const Grant *g) {
        GrantInfo info;

        if (!s->change_cb)
                return;
        grant_info(g, grant_store_now(s, CLOCK_REALTIME), grant_store_now(s, CLOCK_BOOTTIME), &info);
        s->change_cb(s, change, &info, s->change_userdata);
}

int grant_validate(uid_t uid, const char *app_id, const char *origin, DeviceKind kind, GrantDecision decision) {
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

static UidCount *uid_count(GrantStore *s, uid_t uid, bool create) {
        char key[16];
        UidCount *c;

        snprintf(key, sizeof key, "%u", (unsigned) uid);
        c = hashmap_get(s->uid_counts, key);
        if (c || !create)
                return c;
        c = calloc(1, sizeof(UidCount));
        if (!c)
                return NULL;
        memcpy(c->key, key, sizeof key);
        if (hashmap_put(s->uid_counts, c->key, c) < 0) {
                free(c);
                return NULL;
        }
        return c;
}

/* A persistent grant went: one less for its uid. */
static void uid_count_drop(GrantStore *s, const Grant *g) {
        UidCount *c;

        if (g->owner || !(c = uid_count(s, g->bucket->uid, false)))
                return;
        if (--c->n == 0) {
                hashmap_remove(s->uid_counts, c->key);
                free(c);
        }
}

int grant_store_put(GrantStore *s, uid_t uid, const char *app_id, const char *origin, DeviceKind kind,
                    char **devices, GrantDecision decision, uint64_t expires, const char *owner, size_t limit,
                    Grant **ret) {
        _cleanup_strv_free_ char **sorted = NULL;
        UidCount *count = NULL;
        GrantBucket *b;
        Grant *g;
        int r;

        if (isempty(origin))
                origin = NULL;
        r = grant_validate(uid, app_id, origin, kind, decision);
        if (r < 0)
                return r;
        r = devices_sorted(devices, &sorted);
        if (r < 0)
                return r;

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

        if (!owner) {
                count = uid_count(s, uid, true);
                r = !count ? -ENOMEM : limit > 0 && count->n >= limit ? -EDQUOT : 0;
        }
        g = r < 0 ? NULL : calloc(1, sizeof(Grant));
        if (!g || (owner && !(g->owner = strdup(owner)))) {
                grant_free(g);
                bucket_drop_if_empty(s, b);
                return r < 0 ? r : -ENOMEM;
        }
        g->bucket = b;
        g->devices = TAKE_PTR(sorted);
        g->decision = decision;
        g->expires = expires;
        g->next = b->grants;
        b->grants = g;
        s->n_grants++;
        if (count)
                count->n++;
        *ret = g;
        return 1;
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

/* The unexpired grants of one bucket to cb: how many, or cb's error. */
static int list_bucket(GrantBucket *b, uint64_t now_rt, uint64_t now_boot, GrantListCallback cb, void *userdata) {
        int n = 0, r;

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
        return n;
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
                return b ? list_bucket(b, now_rt, now_boot, cb, userdata) : 0;
        }

        while (hashmap_iterate(s->buckets, &it, (void **) &b, NULL)) {
                if (!filter_matches(filter, b))
                        continue;
                r = list_bucket(b, now_rt, now_boot, cb, userdata);
                if (r < 0)
                        return r;
                n += r;
        }
        return n;
}

/* Grants taken out of their buckets by a revoke or an expiry: kept until the callbacks ran, so
 * that the GrantInfo they get can point into the bucket. */
typedef struct Removed {
        Grant **grants;
        size_t n, alloc;
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
        uid_count_drop(s, g);
        return 0;
}

/* Tell the callback, then free everything. */
static void removed_finish(GrantStore *s, Removed *rm, GrantChange change) {
        uint64_t now_rt = grant_store_now(s, CLOCK_REALTIME), now_boot = grant_store_now(s, CLOCK_BOOTTIME);
        GrantBucket *doomed = NULL;

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
}

int grant_store_remove(GrantStore *s, uid_t uid, const char *app_id, const char *origin, DeviceKind kind,
                       char **devices) {
        _cleanup_strv_free_ char **sorted = NULL;
        Removed rm = {};
        GrantBucket *b;
        int r;

        if (isempty(origin))
                origin = NULL;
        if (uid == GRANT_UID_INVALID || isempty(app_id) || kind < 0 || kind >= _DEVICE_KIND_MAX)
                return -EINVAL;
        r = devices_sorted(devices, &sorted);
        if (r < 0)
                return r;
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
        if (r >= 0)
                r = (int) rm.n;
        /* Out of memory half way: what was taken is revoked all the same. */
        removed_finish(s, &rm, GRANT_CHANGE_REVOKED);
        return r;
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
        /* Expired grants are never written: nothing to write for them. */
        removed_finish(s, &rm, GRANT_CHANGE_EXPIRED);
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

void grant_store_drop_persistent(GrantStore *s) {
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
        uid_counts_clear(s);
}
