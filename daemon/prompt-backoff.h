/* Backing off after repeated denials (reliability 15): once the user has refused or dismissed
 * the prompts of an (uid, app, origin, kinds) several times in a row, further requests of that
 * key are refused without asking, for a while that doubles with every further refusal. Pure:
 * the caller passes the time. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define PROMPT_BACKOFF_FREE_DENIALS 3                 /* refusals before backing off */
#define PROMPT_BACKOFF_FIRST_USEC (10 * 1000000ULL)   /* then 10 s, 20 s, 40 s, ... */
#define PROMPT_BACKOFF_MAX_USEC (3600 * 1000000ULL)   /* at most an hour */
#define PROMPT_BACKOFF_KEYS_MAX 4096                  /* memory bound: the oldest entries go */

typedef struct PromptBackoff PromptBackoff;

PromptBackoff *prompt_backoff_new(void);
PromptBackoff *prompt_backoff_free(PromptBackoff *b);

/* Whether a prompt for key may be shown at now_usec (CLOCK_BOOTTIME). */
bool prompt_backoff_allows(PromptBackoff *b, const char *key, uint64_t now_usec);
/* The outcome of a prompt: a refusal or dismissal counts, an allow forgets the key. */
void prompt_backoff_record(PromptBackoff *b, const char *key, bool refused, uint64_t now_usec);
