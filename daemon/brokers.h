/* The trusted brokers: the app ids that admin policy allows to pass a web `origin` on behalf of
 * the pages they show (browsers), read from the [Brokers] sections of the policy directory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

typedef struct Brokers Brokers;

/* Files larger than this in the policy directory are refused. */
#define BROKERS_FILE_MAX (1024U * 1024U)

/* Read every "*.conf" in dir (not those starting with "."), in lexical (strcmp) order:
 *
 *   [Brokers]
 *   Apps=org.mozilla.firefox org.chromium.Chromium
 *   Apps=snap.firefox host:/usr/lib/firefox/firefox
 *
 * Apps= is a space-separated list of app ids (see caller.h for their forms); repeated, in one
 * file or across files, the lists accumulate. An empty Apps= adds nothing. Other sections
 * ([Rule] and whatever policy.c reads) are not this loader's business and are skipped.
 * A file that cannot be read or parsed, has an unknown key in [Brokers], an invalid app id, or an
 * assignment before any section header is logged ("FILE:LINE: message") and contributes no
 * broker at all: a broken file grants nothing. The other files still count.
 * A missing directory means no brokers. Returns -ENOMEM, or another negative errno when the
 * directory exists but cannot be listed; 0 otherwise, with *ret set (possibly empty). */
int brokers_load_dir(const char *dir, Brokers **ret);

bool brokers_contains(const Brokers *b, const char *app_id); /* NULL b or app_id: false */
size_t brokers_count(const Brokers *b);
/* The ids, in the order first seen, NULL-terminated; owned by b. */
char * const *brokers_list(const Brokers *b);

Brokers *brokers_free(Brokers *b); /* accepts NULL, returns NULL */
DEFINE_CLEANUP_FUNC(Brokers, brokers_free);
