/* The trusted brokers (the [Brokers] sections of the policy directory) under their old interface:
 * a thin layer over policy.c, which reads the directory once for brokers and rules alike. Kept
 * until the manager holds a Policy and asks policy_is_broker(); then this file goes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"
#include "util.h"

typedef struct Brokers Brokers;

#define BROKERS_FILE_MAX POLICY_FILE_MAX

/* policy_load_dir() with the NSS resolver, keeping the brokers; see policy.h for the format and
 * for broken files (they contribute no broker). */
int brokers_load_dir(const char *dir, Brokers **ret);

bool brokers_contains(const Brokers *b, const char *app_id); /* NULL b or app_id: false */
size_t brokers_count(const Brokers *b);
/* The ids, in the order first seen, NULL-terminated; owned by b. */
char *const *brokers_list(const Brokers *b);

Brokers *brokers_free(Brokers *b); /* accepts NULL, returns NULL */
DEFINE_CLEANUP_FUNC(Brokers, brokers_free);
