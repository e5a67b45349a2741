/* Per-key refusal counts and the time until which prompts are not shown. */
#include "prompt-backoff.h"

#include "hashmap.h"
#include "util.h"

typedef struct Entry {
        char *key;
        unsigned refusals;
        uint64_t blocked_until;
        uint64_t last_seen;
} Entry;

struct PromptBackoff {
        Hashmap *entries;
};

PromptBackoff *prompt_backoff_new(void) {
        PromptBackoff *b = calloc(1, sizeof(PromptBackoff));

        if (!b)
                return NULL;
        b->entries = hashmap_new();
        if (!b->entries) {
                free(b);
                return NULL;
        }
        return b;
}

static void entry_free(Entry *e) {
        if (e) {
                free(e->key);
                free(e);
        }
}

PromptBackoff *prompt_backoff_free(PromptBackoff *b) {
        Entry *e;

        if (!b)
                return NULL;
        while ((e = hashmap_steal_first(b->entries)))
                entry_free(e);
        hashmap_free(b->entries);
        free(b);
        return NULL;
}

bool prompt_backoff_allows(PromptBackoff *b, const char *key, uint64_t now_usec) {
        Entry *e = hashmap_get(b->entries, key);

        return !e || now_usec >= e->blocked_until;
}

static void forget_oldest(PromptBackoff *b) {
        HashmapIter it = {};
        Entry *e, *oldest = NULL;

        while (hashmap_iterate(b->entries, &it, (void **) &e, NULL))
                if (!oldest || e->last_seen < oldest->last_seen)
                        oldest = e;
        if (oldest) {
                hashmap_remove(b->entries, oldest->key);
                entry_free(oldest);
        }
}

void prompt_backoff_record(PromptBackoff *b, const char *key, bool refused, uint64_t now_usec) {
        Entry *e = hashmap_get(b->entries, key);

        if (!refused) {
                if (e) {
                        hashmap_remove(b->entries, key);
                        entry_free(e);
                }
                return;
        }
        if (!e) {
                if (hashmap_size(b->entries) >= PROMPT_BACKOFF_KEYS_MAX)
                        forget_oldest(b);
                e = calloc(1, sizeof(Entry));
                if (!e)
                        return; /* without memory we cannot back off: prompts still need consent */
                e->key = strdup(key);
                if (!e->key || hashmap_put(b->entries, e->key, e) < 0) {
                        entry_free(e);
                        return;
                }
        }
        e->refusals++;
        e->last_seen = now_usec;
        if (e->refusals >= PROMPT_BACKOFF_FREE_DENIALS) {
                unsigned shift = MIN(e->refusals - PROMPT_BACKOFF_FREE_DENIALS, 20u);
                uint64_t wait = MIN(PROMPT_BACKOFF_FIRST_USEC << shift, PROMPT_BACKOFF_MAX_USEC);

                e->blocked_until = now_usec + wait;
        }
}
