/* A string-keyed hash table with chaining. Keys are borrowed (the value usually owns
 * its key); values are opaque pointers. Lookups stay O(1) at any size. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct Hashmap Hashmap;

Hashmap *hashmap_new(void);
Hashmap *hashmap_free(Hashmap *h); /* frees the table only, not keys or values */
/* -EEXIST if the key is there, -ENOMEM. */
int hashmap_put(Hashmap *h, const char *key, void *value);
/* Insert or replace; returns the old value via *ret_old (may be NULL). */
int hashmap_replace(Hashmap *h, const char *key, void *value, void **ret_old);
void *hashmap_get(const Hashmap *h, const char *key);
void *hashmap_remove(Hashmap *h, const char *key); /* returns the value, NULL if absent */
size_t hashmap_size(const Hashmap *h);

/* Iteration: `HashmapIter it = {}; while (hashmap_iterate(h, &it, &v, &key)) ...`. Removing
 * the entry just returned is allowed; other changes during iteration are not. */
typedef struct HashmapIter {
        size_t bucket;
        const void *next;
        bool started;
} HashmapIter;
bool hashmap_iterate(const Hashmap *h, HashmapIter *it, void **ret_value, const char **ret_key);

/* Remove and return an arbitrary value (for draining), NULL when empty. */
void *hashmap_steal_first(Hashmap *h);
