/* The string-keyed hash table declared in hashmap.h. */
#include "hashmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

typedef struct Entry {
        struct Entry *next;
        const char *key;
        void *value;
        uint64_t hash;
} Entry;

struct Hashmap {
        Entry **buckets;
        size_t n_buckets; /* a power of two */
        size_t size;
};

/* FNV-1a, with a per-process random basis so that chains cannot be forced from outside. */
static uint64_t hash_string(const char *s) {
        static uint64_t basis;
        uint64_t h;

        if (!basis && (getrandom(&basis, sizeof basis, GRND_NONBLOCK) != sizeof basis || !basis))
                basis = 0xcbf29ce484222325ULL;
        h = basis;
        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= 0x100000001b3ULL;
        }
        return h ^ (h >> 29);
}

Hashmap *hashmap_new(void) {
        Hashmap *h = calloc(1, sizeof(Hashmap));

        if (!h)
                return NULL;
        h->n_buckets = 16;
        h->buckets = calloc(h->n_buckets, sizeof(Entry *));
        if (!h->buckets) {
                free(h);
                return NULL;
        }
        return h;
}

Hashmap *hashmap_free(Hashmap *h) {
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n_buckets; i++)
                for (Entry *e = h->buckets[i], *next; e; e = next) {
                        next = e->next;
                        free(e);
                }
        free(h->buckets);
        free(h);
        return NULL;
}

static Entry **find_slot(const Hashmap *h, const char *key, uint64_t hash) {
        Entry **p = &h->buckets[hash & (h->n_buckets - 1)];

        for (; *p; p = &(*p)->next)
                if ((*p)->hash == hash && strcmp((*p)->key, key) == 0)
                        break;
        return p;
}

static int grow(Hashmap *h) {
        size_t n = h->n_buckets * 2;
        Entry **buckets = calloc(n, sizeof(Entry *));

        if (!buckets)
                return -ENOMEM;
        for (size_t i = 0; i < h->n_buckets; i++)
                for (Entry *e = h->buckets[i], *next; e; e = next) {
                        next = e->next;
                        e->next = buckets[e->hash & (n - 1)];
                        buckets[e->hash & (n - 1)] = e;
                }
        free(h->buckets);
        h->buckets = buckets;
        h->n_buckets = n;
        return 0;
}

int hashmap_replace(Hashmap *h, const char *key, void *value, void **ret_old) {
        uint64_t hash = hash_string(key);
        Entry **p = find_slot(h, key, hash), *e;

        if (*p) {
                if (ret_old)
                        *ret_old = (*p)->value;
                (*p)->value = value;
                (*p)->key = key;
                return 0;
        }
        if (h->size + 1 > h->n_buckets * 3 / 4 && grow(h) == 0)
                p = find_slot(h, key, hash);
        e = malloc(sizeof(Entry));
        if (!e)
                return -ENOMEM;
        *e = (Entry){ .key = key, .value = value, .hash = hash };
        *p = e;
        h->size++;
        if (ret_old)
                *ret_old = NULL;
        return 1;
}

int hashmap_put(Hashmap *h, const char *key, void *value) {
        if (hashmap_get(h, key))
                return -EEXIST;
        return hashmap_replace(h, key, value, NULL);
}

void *hashmap_get(const Hashmap *h, const char *key) {
        Entry **p;

        if (!h)
                return NULL;
        p = find_slot(h, key, hash_string(key));
        return *p ? (*p)->value : NULL;
}

void *hashmap_remove(Hashmap *h, const char *key) {
        Entry **p, *e;
        void *v;

        if (!h)
                return NULL;
        p = find_slot(h, key, hash_string(key));
        if (!*p)
                return NULL;
        e = *p;
        *p = e->next;
        v = e->value;
        free(e);
        h->size--;
        return v;
}

size_t hashmap_size(const Hashmap *h) {
        return h ? h->size : 0;
}

bool hashmap_iterate(const Hashmap *h, HashmapIter *it, void **ret_value, const char **ret_key) {
        const Entry *e;

        if (!h)
                return false;
        if (!it->started) {
                it->started = true;
                it->bucket = 0;
                it->next = h->buckets[0];
        }
        while (!it->next) {
                if (++it->bucket >= h->n_buckets)
                        return false;
                it->next = h->buckets[it->bucket];
        }
        e = it->next;
        it->next = e->next; /* taken before the caller may remove e */
        if (ret_value)
                *ret_value = e->value;
        if (ret_key)
                *ret_key = e->key;
        return true;
}

void *hashmap_steal_first(Hashmap *h) {
        if (!h || h->size == 0)
                return NULL;
        for (size_t i = 0; i < h->n_buckets; i++)
                if (h->buckets[i])
                        return hashmap_remove(h, h->buckets[i]->key);
        return NULL;
}
