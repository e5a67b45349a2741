/* The admin policy: the .conf files of /etc/mediagate/policy.d parsed into [Rule]s and the
 * [Brokers] list, and the evaluation of a request against the rules. Pure: no bus, no devices. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "device-kind.h"
#include "util.h"

/* The policy directory
 * ====================
 *
 * Every "*.conf" in the directory (not hidden files, not other names) is read in lexical (strcmp)
 * order. A "*.conf" that is a symlink to /dev/null is masked and ignored. Files hold [Brokers]
 * and [Rule] sections, "#" and ";" comments.
 *
 *   [Brokers]
 *   Apps=org.mozilla.firefox snap.firefox
 *
 * lists the trusted brokers: the app ids that may pass a web origin for the pages they show.
 * Repeated, in one file or across files, the lists accumulate; duplicates count once.
 *
 *   [Rule]
 *   Apps=org.example.* host:/usr/bin/zoom*    app id globs (fnmatch, "*" also crosses "." and "/")
 *   Origins=https://meet.example.com none     origin patterns (origin.h): an origin, "https://"
 *                                             followed by "*.example.com" for the hosts below
 *                                             example.com (one word; C comments cannot hold it),
 *                                             "*" for any origin, "none" for a caller without one
 *   Users=alice 1000                          user names or uids
 *   Groups=students 2000                      group names or gids (primary or supplementary)
 *   Kinds=camera microphone
 *   Devices=synthetic:front-camera v4l2:*     device hardware ids or globs
 *   Decision=allow|deny|prompt                required
 *   Lock=yes|no                               default no
 *
 * A rule matches a request when every condition it has matches (AND); a condition matches when
 * one of its words does (OR); a condition left out matches everything. To match "alice or the
 * students", write two rules. A condition given twice in one rule accumulates words; an empty one
 * ("Apps=") is an error, so that it cannot be misread as either "every app" or "no app".
 * User and group names are resolved when the policy is loaded; a name that does not resolve is an
 * error. Numeric uids and gids are taken as they are (0 to 4294967294, not 65535), so uid 65534,
 * 2^31 and 4000000000 are each judged as themselves. Group membership is looked up when a rule
 * with Groups= is evaluated; when it cannot be determined (a failing NSS module), the uid counts
 * as a member for deny and prompt rules and as not a member for allow rules.
 * Devices=: a request is evaluated per device (its hardware id, e.g. "synthetic:<section>" or a
 * udev ID_PATH/ID_SERIAL based id). A query for a kind as a whole (no device, e.g. a permission
 * query) is matched only by rules without Devices=: a rule about some devices decides neither for
 * nor against all of them.
 *
 * Decisions and their precedence (docs/architecture.md)
 * ================================================
 *
 * All matching rules are combined, whatever their order: deny beats allow, allow beats prompt;
 * the result is locked when any matching rule of the winning decision has Lock=yes. The rule
 * reported as deciding is the first matching rule (files in lexical order, then line order) of
 * the winning decision (for a locked allow or prompt, the first locked one). A deny is always
 * reported as locked: nothing overrides it. Then (policy_resolve()):
 *
 *   1. deny                 → denied; no polkit, no prompt, stored grants do not matter.
 *   2. polkit says no       → denied.
 *   3. allow, Lock=yes      → granted without a prompt, even over a stored user deny.
 *      allow                → granted without a prompt, unless the user stored a deny (the user
 *                             may refuse what the admin allows, unless the admin locked it).
 *   4. prompt, Lock=yes     → a prompt every time: stored allows are ignored. A stored deny still
 *                             denies: refusing is never overriding the admin.
 *      prompt               → changes nothing by itself (stored decisions, else a prompt: the
 *                             default); it documents intent and shows in `mediactl policy check`.
 *   5. a stored user allow or deny that has not expired.
 *   6. otherwise a prompt.
 *
 * Examples:
 *
 *   # 10-school.conf: no camera for the exam app, and users cannot allow it themselves.
 *   [Rule]
 *   Apps=org.example.Exam
 *   Kinds=camera
 *   Decision=deny
 *
 *   # 20-meetings.conf: students use the meeting app without being asked, and a student's stored
 *   # "deny always" does not block it (Lock=yes); every other app asks students every time.
 *   # Allow beats prompt, so the meeting app is not asked about, whatever the file order.
 *   [Rule]
 *   Groups=students
 *   Decision=prompt
 *   Lock=yes
 *   [Rule]
 *   Apps=us.zoom.Zoom
 *   Groups=students
 *   Decision=allow
 *   Lock=yes
 *
 *   # 30-web.conf: pages of https://meet.example.com in Firefox are asked every time, even if
 *   # the user chose "always allow" before; Firefox's own windows (no origin) are not affected.
 *   [Brokers]
 *   Apps=org.mozilla.firefox
 *   [Rule]
 *   Apps=org.mozilla.firefox
 *   Origins=https://meet.example.com
 *   Decision=prompt
 *   Lock=yes
 *
 *   # 40-kiosk.conf: the kiosk user gets the front camera without a prompt, and no other camera.
 *   [Rule]
 *   Users=kiosk
 *   Devices=synthetic:front-camera
 *   Decision=allow
 *   Lock=yes
 *   [Rule]
 *   Users=kiosk
 *   Kinds=camera
 *   Devices=synthetic:rear-camera v4l2:*
 *   Decision=deny
 *
 * Broken files
 * ============
 *
 * Every problem is logged as "FILE:LINE: message" (policy_errors() keeps them) and the other files
 * still load. A broken file grants nothing: its [Brokers] count for nothing, and
 *
 *   - when the file could be read and split into sections, but a [Rule] or [Brokers] section has
 *     an unknown key, a bad value, Decision= or Lock= twice, or no Decision=: every [Rule] of the
 *     file becomes Decision=deny Lock=yes, matching what its conditions match, where a condition
 *     with an error is left out (so it matches more, never less: "Users=alcie" denies everyone
 *     the rule's other conditions cover);
 *   - when what the file would have covered cannot be known (it cannot be read, is not a regular
 *     file, is over POLICY_FILE_MAX, has a syntax error (the parser stops there), an unknown
 *     section or an assignment before any section): the file denies every request until it is
 *     fixed.
 *
 * Either way the admin sees why in the log, in policy_errors() and in `mediactl policy check`, and
 * fixes the file; the rest of the machine keeps its policy.
 *
 * policy/example-rules.conf has these examples and more, with wildcard origins. */

typedef struct Policy Policy;

/* Files larger than this in the policy directory are refused (and deny everything). */
#define POLICY_FILE_MAX (1024U * 1024U)

typedef enum PolicyDecision {
        POLICY_NONE, /* no rule matches */
        POLICY_ALLOW,
        POLICY_DENY,
        POLICY_PROMPT,
        _POLICY_DECISION_MAX,
} PolicyDecision;

const char *policy_decision_to_string(PolicyDecision d); /* "none", "allow", "deny", "prompt" */

/* How names and group memberships are looked up. Every function returns 1 and the answer, 0 when
 * there is no such user or group (an answer, not an error of the lookup), or a negative errno
 * when the lookup itself failed. */
typedef struct PolicyResolver {
        int (*user_by_name)(const char *name, uid_t *ret, void *userdata);
        int (*group_by_name)(const char *name, gid_t *ret, void *userdata);
        /* The groups of uid: its primary group and every supplementary one. 0 when the uid has no
         * user entry (it is then in no group). An error: membership unknown. */
        int (*groups_of_uid)(uid_t uid, gid_t **ret, size_t *ret_n, void *userdata);
        void *userdata;
} PolicyResolver;

/* NSS: getpwnam_r, getgrnam_r, getpwuid_r + getgrouplist. These may block (LDAP, SSSD). */
extern const PolicyResolver policy_resolver_nss;

/* Load the policy directory. A missing directory is an empty policy. Bad files never fail the
 * load (see above); returns -ENOMEM, -EINVAL for a NULL argument, or another negative errno when
 * the directory exists but cannot be listed (the caller should then deny everything: the daemon
 * cannot know the policy). resolver NULL: policy_resolver_nss; it is copied and used again by
 * policy_evaluate(). */
int policy_load_dir(const char *dir, const PolicyResolver *resolver, Policy **ret);

/* One file's text as if it were the only file of the directory, named filename in messages
 * (for tests and the fuzzer). */
int policy_load_text(const char *text, size_t size, const char *filename, const PolicyResolver *resolver,
                     Policy **ret);

Policy *policy_free(Policy *p); /* accepts NULL, returns NULL */
DEFINE_CLEANUP_FUNC(Policy, policy_free);

/* A request, per kind and device. */
typedef struct PolicyQuery {
        uid_t uid;               /* must be valid: an unidentified caller is not evaluated */
        const char *app_id;      /* required */
        const char *origin;      /* normalized; NULL or "" for none */
        DeviceKind kind;
        const char *hardware_id; /* NULL: the kind as a whole (rules with Devices= do not match) */
} PolicyQuery;

typedef struct PolicyVerdict {
        PolicyDecision decision; /* POLICY_NONE: no rule matches */
        bool locked;
        const char *file;        /* the deciding rule (owned by the Policy); NULL with POLICY_NONE */
        unsigned line;           /* its [Rule] line; for a file that denies everything, its error's */
        char *explanation;       /* "deny by FILE:LINE ([Rule] ...)" or "no rule matches: ..." */
} PolicyVerdict;

void policy_verdict_done(PolicyVerdict *v); /* frees the explanation; the verdict can be reused */

/* Evaluate q. p NULL: no policy, POLICY_NONE. Returns 0, -EINVAL for an invalid query (uid
 * UID_INVALID or 65535, no app id, an unknown kind: the caller must deny), -ENOMEM.
 * *ret is set on success only; release it with policy_verdict_done(). */
int policy_evaluate(const Policy *p, const PolicyQuery *q, PolicyVerdict *ret);

/* The final word for one kind (and device), following the precedence above: POLICY_ALLOW
 * (granted without a prompt), POLICY_DENY, or POLICY_PROMPT. stored is the user's stored decision
 * for the same query: POLICY_NONE, POLICY_ALLOW or POLICY_DENY. polkit_allowed is only consulted
 * when the policy does not deny, so a deny needs no polkit round trip. */
PolicyDecision policy_resolve(const PolicyVerdict *v, bool polkit_allowed, PolicyDecision stored);

/* Whether app_id is a trusted broker. NULL p or app_id: false. */
bool policy_is_broker(const Policy *p, const char *app_id);
/* The brokers in the order first seen, NULL-terminated; owned by p. */
char *const *policy_brokers(const Policy *p);
/* Every problem found while loading, "FILE:LINE: message" (or "FILE: message"), in order; owned
 * by p, NULL-terminated. Empty when the policy loaded cleanly. */
char *const *policy_errors(const Policy *p);
size_t policy_n_rules(const Policy *p);

/* The policy: the brokers, then one line per effective rule ("FILE:LINE: [Rule] ...
 * Decision=deny Lock=yes"), then the errors. A rule of a broken file quotes the error that broke
 * it; in policy_dump_once() (what `mediactl policy show` prints) it points to the errors listed
 * after the rules instead, so that each problem is printed once. */
int policy_dump(const Policy *p, FILE *f);
int policy_dump_once(const Policy *p, FILE *f);
