/* The grant store in memory: a table keyed by (uid, app id, origin, kind), each entry a list
 * of decisions that differ by their device set. */
#include "grants.h"

#include "hashmap.h"
#include "util.h"

struct Grant {
        Grant *next;
        char **devices; /* NULL = all devices of the kind */
        GrantDecision decision;
        uint64_t expires; /* CLOCK_BOOTTIME µs, 0 = never */
        char *owner;
};

typedef struct GrantBucket {
        char *key;
        Grant *grants;
} GrantBucket;

struct GrantStore {
        Hashmap *buckets; /* key → GrantBucket */
};

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
        free(b);
}

GrantStore *grant_store_new(void) {
        GrantStore *s = calloc(1, sizeof(GrantStore));

        if (!s)
                return NULL;
        s->buckets = hashmap_new();
        if (!s->buckets) {
                free(s);
                return NULL;
        }
        return s;
}

GrantStore *grant_store_free(GrantStore *s) {
        GrantBucket *b;

        if (!s)
                return NULL;
        while ((b = hashmap_steal_first(s->buckets)))
                bucket_free(b);
        hashmap_free(s->buckets);
        free(s);
        return NULL;
}

/* The fields joined with NUL-free separators: app ids and origins never contain '\n'. */
static char *make_key(uid_t uid, const char *app_id, const char *origin, DeviceKind kind) {
        char *key;

        if (asprintf(&key, "%u\n%s\n%s%s\n%s", (unsigned) uid, app_id, origin ? "o:" : "-",
                     strempty(origin), device_kind_to_string(kind)) < 0)
                return NULL;
        return key;
}

static bool same_devices(char **a, char **b) {
        if (!a || !b)
                return a == b;
        if (strv_length(a) != strv_length(b))
                return false;
        for (char **i = a; *i; i++)
                if (!strv_contains(b, *i))
                        return false;
        return true;
}

int grant_store_set(GrantStore *s, uid_t uid, const char *app_id, const char *origin, DeviceKind kind,
                    char **devices, GrantDecision decision, uint64_t expires_boottime_usec,
                    const char *owner) {
        _cleanup_free_ char *key = make_key(uid, app_id, origin, kind);
        GrantBucket *b;
        Grant *g;

        if (!key)
                return -ENOMEM;
        b = hashmap_get(s->buckets, key);
        if (!b) {
                b = calloc(1, sizeof(GrantBucket));
                if (!b)
                        return -ENOMEM;
                b->key = TAKE_PTR(key);
                if (hashmap_put(s->buckets, b->key, b) < 0) {
                        bucket_free(b);
                        return -ENOMEM;
                }
        }
        for (g = b->grants; g; g = g->next)
                if (same_devices(g->devices, devices))
                        break;
        if (!g) {
                g = calloc(1, sizeof(Grant));
                if (!g)
                        return -ENOMEM;
                for (char **d = devices; d && *d; d++)
                        if (strv_extend(&g->devices, *d) < 0) {
                                grant_free(g);
                                return -ENOMEM;
                        }
                g->next = b->grants;
                b->grants = g;
        }
        g->decision = decision;
        g->expires = expires_boottime_usec;
        return free_and_strdup(&g->owner, owner);
}

GrantDecision grant_store_lookup(GrantStore *s, uid_t uid, const char *app_id, const char *origin,
                                 DeviceKind kind, const char *hardware_id, uint64_t now_boottime_usec) {
        _cleanup_free_ char *key = make_key(uid, app_id, origin, kind);
        GrantDecision result = GRANT_NONE;
        GrantBucket *b;

        if (!key)
                return GRANT_DENY; /* out of memory: fail closed */
        b = hashmap_get(s->buckets, key);
        if (!b)
                return GRANT_NONE;
        for (Grant **p = &b->grants; *p;) {
                Grant *g = *p;

                if (g->expires && g->expires <= now_boottime_usec) {
                        *p = g->next;
                        grant_free(g);
                        continue;
                }
                p = &g->next;
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

        while (hashmap_iterate(s->buckets, &it, (void **) &b, NULL)) {
                for (Grant **p = &b->grants; *p;) {
                        Grant *g = *p;

                        if (streq_ptr(g->owner, owner)) {
                                *p = g->next;
                                grant_free(g);
                        } else
                                p = &g->next;
                }
                if (!b->grants) {
                        hashmap_remove(s->buckets, b->key);
                        bucket_free(b);
                }
        }
}
