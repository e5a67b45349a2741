/* Table tests for policy.c: parsing (every error with its line), evaluation (globs, origins, users
 * and groups through a fake resolver, kinds, devices, locks), the precedence of decisions, and
 * policy directories built in /tmp (lexical order, brokers, broken files). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "ini.h"
#include "log.h"
#include "policy.h"
#include "util.h"

/* ---- a fake user database ---- */

static const struct {
        const char *name;
        uid_t uid;
        int error;
} fake_users[] = {
        { "alice", 1000 },
        { "bob", 1001 },
        { "nobody", 65534 },
        { "big", 2147483648U },
        { "huge", 4000000000U },
        { "kiosk", 1500 },
        { "ldap-down", 0, -EIO },
        { "minus-one", UINT32_MAX },
};

static const struct {
        const char *name;
        gid_t gid;
        int error;
} fake_groups[] = {
        { "students", 2000 },
        { "staff", 3000 },
        { "nogroup", 65534 },
        { "ldap-down", 0, -EIO },
};

/* uid → its groups (primary first); uid 666's groups cannot be looked up. */
static const struct {
        uid_t uid;
        gid_t gids[3];
        size_t n;
        int error;
} fake_memberships[] = {
        { 1000, { 1000, 2000 }, 2 },
        { 1001, { 1001, 3000 }, 2 },
        { 65534, { 65534 }, 1 },
        { 2147483648U, { 3000 }, 1 },
        { 4000000000U, { 4000000000U, 2000 }, 2 },
        { 666, {}, 0, -EIO },
};

static unsigned fake_membership_lookups;

static int fake_user_by_name(const char *name, uid_t *ret, void *userdata) {
        for (size_t i = 0; i < ELEMENTSOF(fake_users); i++)
                if (streq(fake_users[i].name, name)) {
                        if (fake_users[i].error < 0)
                                return fake_users[i].error;
                        *ret = fake_users[i].uid;
                        return 1;
                }
        return 0; /* no such user or group */
}

static int fake_group_by_name(const char *name, gid_t *ret, void *userdata) {
        for (size_t i = 0; i < ELEMENTSOF(fake_groups); i++)
                if (streq(fake_groups[i].name, name)) {
                        if (fake_groups[i].error < 0)
                                return fake_groups[i].error;
                        *ret = fake_groups[i].gid;
                        return 1;
                }
        return 0; /* no such user or group */
}

static int fake_groups_of_uid(uid_t uid, gid_t **ret, size_t *ret_n, void *userdata) {
        fake_membership_lookups++;
        for (size_t i = 0; i < ELEMENTSOF(fake_memberships); i++)
                if (fake_memberships[i].uid == uid) {
                        if (fake_memberships[i].error < 0)
                                return fake_memberships[i].error;
                        *ret = calloc(fake_memberships[i].n + 1, sizeof(gid_t));
                        assert_non_null(*ret);
                        memcpy(*ret, fake_memberships[i].gids, fake_memberships[i].n * sizeof(gid_t));
                        *ret_n = fake_memberships[i].n;
                        return 1;
                }
        return 0; /* no such user or group */
}

static const PolicyResolver fake_resolver = {
        .user_by_name = fake_user_by_name,
        .group_by_name = fake_group_by_name,
        .groups_of_uid = fake_groups_of_uid,
};

static char *dump(const Policy *p) {
        char *s = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&s, &size);

        assert_non_null(f);
        assert_int_equal(policy_dump(p, f), 0);
        fclose(f);
        return s;
}

/* ---- parsing: text → what policy_dump() shows (brokers, effective rules, errors) ---- */

typedef struct ParseRow {
        const char *what;
        const char *text;
        size_t size; /* 0: strlen(text) */
        const char *expected;
} ParseRow;

#define NO_BROKERS "[Brokers] Apps=\n"
#define WITH_NUL "[Rule]\nDecision=allow\n\0\n"
#define DENY_ALL(line, message) \
        "T.conf:" #line ": deny: the file cannot be read or parsed and denies every request until it is fixed: " \
        "T.conf:" #line ": " message "\n"
#define BROKEN(line, message) ", which denies because its file is broken: T.conf:" #line ": " message "\n"

static const ParseRow parse_table[] = {
        { "empty file", "", 0, NO_BROKERS },
        { "comments only", "# nothing\n; here\n\n", 0, NO_BROKERS },
        { "every key, canonical order",
          "[Rule]\nDecision=deny\nLock=yes\nDevices=v4l2:* synthetic:front-camera\nKinds=microphone camera\n"
          "Groups=students 3000\nUsers=alice 4000000000\nOrigins=none https://*.example.com *\nApps=org.example.* host:/usr/bin/zoom\n",
          0,
          NO_BROKERS
          "T.conf:1: deny: [Rule] Apps=org.example.* host:/usr/bin/zoom Origins=none https://*.example.com * "
          "Users=alice 4000000000 Groups=students 3000 Kinds=camera microphone Devices=v4l2:* synthetic:front-camera "
          "Decision=deny Lock=yes\n" },
        { "no conditions, whitespace, repeated conditions accumulate",
          "  [ Rule ]  \n Decision =  allow \nApps=org.a.App\nApps=org.b.*\tsnap.firefox\nLock=no\n",
          0,
          NO_BROKERS "T.conf:1: allow: [Rule] Apps=org.a.App org.b.* snap.firefox Decision=allow\n" },
        { "Lock takes booleans",
          "[Rule]\nDecision=prompt\nLock=true\n[Rule]\nDecision=prompt\nLock=0\n",
          0,
          NO_BROKERS "T.conf:1: prompt: [Rule] Decision=prompt Lock=yes\nT.conf:4: prompt: [Rule] Decision=prompt\n" },
        { "uids at the edges are themselves",
          "[Rule]\nUsers=0 65534 2147483648 4000000000 4294967294 nobody big huge\nDecision=deny\n",
          0,
          NO_BROKERS
          "T.conf:1: deny: [Rule] Users=0 65534 2147483648 4000000000 4294967294 nobody big huge Decision=deny\n" },
        { "brokers and rules in one file",
          "[Brokers]\nApps=org.mozilla.firefox\n[Rule]\nApps=org.mozilla.firefox\nOrigins=https://meet.example.com\n"
          "Decision=prompt\nLock=yes\n[Brokers]\nApps=snap.chromium org.mozilla.firefox\n",
          0,
          "[Brokers] Apps=org.mozilla.firefox snap.chromium\n"
          "T.conf:3: prompt: [Rule] Apps=org.mozilla.firefox Origins=https://meet.example.com Decision=prompt Lock=yes\n" },

        /* Errors inside sections: the file grants nothing; its rules deny what their readable
         * conditions match. */
        { "unknown key in [Rule]",
          "[Brokers]\nApps=org.mozilla.firefox\n[Rule]\nApps=org.x.App\nUserz=alice\nDecision=allow\n",
          0,
          NO_BROKERS "T.conf:3: deny: [Rule] Apps=org.x.App Decision=allow" BROKEN(5, "unknown key \"Userz\" in [Rule].")
          "error: T.conf:5: unknown key \"Userz\" in [Rule].\n" },
        { "every rule of a broken file denies",
          "[Rule]\nApps=org.a.App\nDecision=allow\n[Rule]\nApps=org.b.App\nDecision=prompt\nLock=maybe\n",
          0,
          NO_BROKERS "T.conf:1: deny: [Rule] Apps=org.a.App Decision=allow" BROKEN(7, "Lock= takes yes or no, not \"maybe\".")
          "T.conf:4: deny: [Rule] Apps=org.b.App Decision=prompt" BROKEN(7, "Lock= takes yes or no, not \"maybe\".")
          "error: T.conf:7: Lock= takes yes or no, not \"maybe\".\n" },
        { "bad decision",
          "[Rule]\nKinds=camera\nDecision=alow\n",
          0,
          NO_BROKERS "T.conf:1: deny: [Rule] Kinds=camera" BROKEN(3, "unknown decision \"alow\" (allow, deny or prompt).")
          "error: T.conf:3: unknown decision \"alow\" (allow, deny or prompt).\n" },
        { "decision is case-sensitive",
          "[Rule]\nDecision=Allow\n",
          0,
          NO_BROKERS "T.conf:1: deny: [Rule]" BROKEN(2, "unknown decision \"Allow\" (allow, deny or prompt).")
          "error: T.conf:2: unknown decision \"Allow\" (allow, deny or prompt).\n" },
        { "no decision",
          "[Rule]\nApps=org.a.App\n\n[Rule]\nApps=org.b.App\nDecision=allow\n",
          0,
          NO_BROKERS "T.conf:1: deny: [Rule] Apps=org.a.App" BROKEN(1, "[Rule] without Decision= (allow, deny or prompt).")
          "T.conf:4: deny: [Rule] Apps=org.b.App Decision=allow" BROKEN(1, "[Rule] without Decision= (allow, deny or prompt).")
          "error: T.conf:1: [Rule] without Decision= (allow, deny or prompt).\n" },
        { "decision twice",
          "[Rule]\nDecision=allow\nDecision=deny\n",
          0,
          NO_BROKERS "T.conf:1: deny: [Rule] Decision=allow" BROKEN(3, "Decision= given twice in one [Rule].")
          "error: T.conf:3: Decision= given twice in one [Rule].\n" },
        { "lock twice",
          "[Rule]\nDecision=allow\nLock=no\nLock=yes\n",
          0,
          NO_BROKERS "T.conf:1: deny: [Rule] Decision=allow" BROKEN(4, "Lock= given twice in one [Rule].")
          "error: T.conf:4: Lock= given twice in one [Rule].\n" },
        { "a condition with a bad word is left out whole",
          "[Rule]\nApps=org.a.App firefox\nKinds=camera\nDecision=allow\n",
          0,
          NO_BROKERS "T.conf:1: deny: [Rule] Kinds=camera Decision=allow" BROKEN(2, "\"firefox\" is not an app id or glob.")
          "error: T.conf:2: \"firefox\" is not an app id or glob.\n" },
        { "a bad word in a repeated condition drops the earlier words too",
          "[Rule]\nApps=org.a.App\nApps=host:relative\nDecision=deny\n",
          0,
          NO_BROKERS "T.conf:1: deny: [Rule] Decision=deny" BROKEN(3, "\"host:relative\" is not an app id or glob.")
          "error: T.conf:3: \"host:relative\" is not an app id or glob.\n" },
        { "empty condition",
          "[Rule]\nApps=\nUsers=alice\nDecision=deny\n",
          0,
          NO_BROKERS "T.conf:1: deny: [Rule] Users=alice Decision=deny" BROKEN(2, "Apps= is empty; leave it out to match everything.")
          "error: T.conf:2: Apps= is empty; leave it out to match everything.\n" },
        { "bad origin patterns, each reported",
          "[Rule]\nOrigins=https://*example.com http://a.example.com/path\nApps=org.a.App\nDecision=deny\n",
          0,
          NO_BROKERS
          "T.conf:1: deny: [Rule] Apps=org.a.App Decision=deny" BROKEN(2, "\"https://*example.com\" is not an origin pattern (\"https://example.com\", \"https://*.example.com\", \"*\" or \"none\").")
          "error: T.conf:2: \"https://*example.com\" is not an origin pattern (\"https://example.com\", \"https://*.example.com\", \"*\" or \"none\").\n"
          "error: T.conf:2: \"http://a.example.com/path\" is not an origin pattern (\"https://example.com\", \"https://*.example.com\", \"*\" or \"none\").\n" },
        { "unknown user",
          "[Rule]\nUsers=alcie\nApps=org.a.App\nDecision=deny\n",
          0,
          NO_BROKERS "T.conf:1: deny: [Rule] Apps=org.a.App Decision=deny" BROKEN(2, "unknown user \"alcie\".")
          "error: T.conf:2: unknown user \"alcie\".\n" },
        { "user lookup fails",
          "[Rule]\nUsers=alice ldap-down\nDecision=allow\n",
          0,
          NO_BROKERS "T.conf:1: deny: [Rule] Decision=allow" BROKEN(2, "cannot look up user \"ldap-down\": Input/output error.")
          "error: T.conf:2: cannot look up user \"ldap-down\": Input/output error.\n" },
        { "a user whose id is invalid",
          "[Rule]\nUsers=minus-one\nDecision=allow\n",
          0,
          NO_BROKERS "T.conf:1: deny: [Rule] Decision=allow" BROKEN(2, "user \"minus-one\" has the invalid id 4294967295.")
          "error: T.conf:2: user \"minus-one\" has the invalid id 4294967295.\n" },
        { "invalid uids",
          "[Rule]\nUsers=4294967295 65535 4294967296 99999999999999999999\nDecision=allow\n",
          0,
          NO_BROKERS "T.conf:1: deny: [Rule] Decision=allow" BROKEN(2, "\"4294967295\" is not a valid user id.")
          "error: T.conf:2: \"4294967295\" is not a valid user id.\n"
          "error: T.conf:2: \"65535\" is not a valid user id.\n"
          "error: T.conf:2: \"4294967296\" is not a valid user id.\n"
          "error: T.conf:2: \"99999999999999999999\" is not a valid user id.\n" },
        { "unknown group, bad gid",
          "[Rule]\nGroups=stundents\nKinds=camera\nDecision=deny\n[Rule]\nGroups=4294967295\nDecision=allow\n",
          0,
          NO_BROKERS "T.conf:1: deny: [Rule] Kinds=camera Decision=deny" BROKEN(2, "unknown group \"stundents\".")
          "T.conf:5: deny: [Rule] Decision=allow" BROKEN(2, "unknown group \"stundents\".")
          "error: T.conf:2: unknown group \"stundents\".\n"
          "error: T.conf:6: \"4294967295\" is not a valid group id.\n" },
        { "group lookup fails",
          "[Rule]\nGroups=ldap-down\nDecision=deny\n",
          0,
          NO_BROKERS "T.conf:1: deny: [Rule] Decision=deny" BROKEN(2, "cannot look up group \"ldap-down\": Input/output error.")
          "error: T.conf:2: cannot look up group \"ldap-down\": Input/output error.\n" },
        { "unknown kind",
          "[Rule]\nKinds=camera screen\nApps=org.a.App\nDecision=deny\n",
          0,
          NO_BROKERS "T.conf:1: deny: [Rule] Apps=org.a.App Decision=deny" BROKEN(2, "unknown kind \"screen\" (camera or microphone).")
          "error: T.conf:2: unknown kind \"screen\" (camera or microphone).\n" },
        { "device with a non-ASCII byte",
          "[Rule]\nDevices=v4l2:caf\xc3\xa9\nDecision=deny\n",
          0,
          NO_BROKERS "T.conf:1: deny: [Rule] Decision=deny" BROKEN(2, "\"v4l2:caf\xc3\xa9\" is not a device hardware id or glob.")
          "error: T.conf:2: \"v4l2:caf\xc3\xa9\" is not a device hardware id or glob.\n" },
        { "unknown key in [Brokers]: no brokers, rules deny",
          "[Brokers]\nApps=org.mozilla.firefox\nApp=org.typo.App\n[Rule]\nDecision=allow\nApps=org.mozilla.firefox\n",
          0,
          NO_BROKERS "T.conf:4: deny: [Rule] Apps=org.mozilla.firefox Decision=allow" BROKEN(3, "unknown key \"App\" in [Brokers].")
          "error: T.conf:3: unknown key \"App\" in [Brokers].\n" },
        { "invalid broker",
          "[Brokers]\nApps=org.mozilla.firefox firefox\n",
          0,
          NO_BROKERS "error: T.conf:2: \"firefox\" is not an app id.\n" },

        /* What the file covers cannot be known: it denies everything. */
        { "syntax error stops the parse",
          "[Rule]\nApps=org.a.App\nDecision=allow\nthis is not an assignment\n[Rule]\nDecision=deny\n",
          0,
          NO_BROKERS DENY_ALL(4, "expected Key=Value or [Section].") "error: T.conf:4: expected Key=Value or [Section].\n" },
        { "malformed section header",
          "[Brokers]\nApps=org.mozilla.firefox\n[Rule\nDecision=deny\n",
          0,
          NO_BROKERS DENY_ALL(3, "malformed section header.") "error: T.conf:3: malformed section header.\n" },
        { "empty key",
          "[Rule]\n=allow\n",
          0,
          NO_BROKERS DENY_ALL(2, "empty key.") "error: T.conf:2: empty key.\n" },
        { "NUL byte",
          WITH_NUL, sizeof(WITH_NUL) - 1,
          NO_BROKERS DENY_ALL(3, "NUL byte in line.") "error: T.conf:3: NUL byte in line.\n" },
        { "unknown section",
          "[Rule]\nDecision=allow\n[Rules]\nApps=org.a.App\nDecision=deny\n",
          0,
          NO_BROKERS DENY_ALL(3, "unknown section [Rules] ([Rule] or [Brokers]).")
          "error: T.conf:3: unknown section [Rules] ([Rule] or [Brokers]).\n" },
        { "section names are case-sensitive",
          "[brokers]\nApps=org.mozilla.firefox\n",
          0,
          NO_BROKERS DENY_ALL(1, "unknown section [brokers] ([Rule] or [Brokers]).")
          "error: T.conf:1: unknown section [brokers] ([Rule] or [Brokers]).\n" },
        { "assignment before any section; later errors still reported",
          "Apps=org.a.App\nDecision=deny\n[Rule]\nDecision=maybe\n",
          0,
          NO_BROKERS DENY_ALL(1, "\"Apps=\" outside of any section.")
          "error: T.conf:1: \"Apps=\" outside of any section.\n"
          "error: T.conf:2: \"Decision=\" outside of any section.\n"
          "error: T.conf:4: unknown decision \"maybe\" (allow, deny or prompt).\n" },
};

static void test_parse(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(parse_table); i++) {
                const ParseRow *row = &parse_table[i];
                _cleanup_(policy_freep) Policy *p = NULL;
                _cleanup_free_ char *got = NULL;
                size_t size = row->size ?: strlen(row->text);
                int r;

                r = policy_load_text(row->text, size, "T.conf", &fake_resolver, &p);
                if (r < 0)
                        fail_msg("row %zu (%s): policy_load_text() failed: %d", i, row->what, r);
                got = dump(p);
                if (!streq(got, row->expected))
                        fail_msg("row %zu (%s):\ngot:\n%swant:\n%s", i, row->what, got, row->expected);
        }
}

/* ---- evaluation ---- */

#define CAM DEVICE_KIND_VIDEO
#define MIC DEVICE_KIND_AUDIO

typedef struct EvalRow {
        const char *what;
        const char *policy;
        uid_t uid;
        const char *app_id;
        const char *origin;
        DeviceKind kind;
        const char *hardware_id;
        PolicyDecision decision;
        bool locked;
        unsigned line;
        const char *explanation; /* NULL: not checked */
} EvalRow;

#define NOTHING "no rule matches: the user's stored decisions and prompts decide"

/* Every decision at once, to see how they combine. */
#define COMBINED \
        "[Rule]\nApps=org.x.*\nDecision=prompt\n"            /* 1 */ \
        "[Rule]\nApps=org.x.*\nDecision=prompt\nLock=yes\n"  /* 4 */ \
        "[Rule]\nApps=org.x.Allowed\nDecision=allow\n"       /* 8 */ \
        "[Rule]\nApps=org.x.Denied\nDecision=deny\n"         /* 11 */ \
        "[Rule]\nApps=org.x.Allowed\nDecision=allow\nLock=yes\n" /* 14 */ \
        "[Rule]\nApps=org.x.Denied\nDecision=allow\nLock=yes\n"  /* 18 */

#define SCHOOL "[Rule]\nApps=org.example.*\nKinds=camera\nDecision=deny\nLock=yes\n"

#define ORIGINS \
        "[Rule]\nOrigins=https://*.example.com\nDecision=deny\n"     /* 1 */ \
        "[Rule]\nOrigins=none\nDecision=allow\n"                     /* 4 */ \
        "[Rule]\nOrigins=https://meet.example.org:8443 http://localhost\nDecision=prompt\n" /* 7 */ \
        "[Rule]\nOrigins=*\nApps=org.star.App\nDecision=prompt\nLock=yes\n" /* 10 */

#define IDS \
        "[Rule]\nUsers=65534\nDecision=deny\n"           /* 1 */ \
        "[Rule]\nUsers=2147483648\nDecision=allow\n"     /* 4 */ \
        "[Rule]\nUsers=huge\nDecision=prompt\nLock=yes\n" /* 7 */ \
        "[Rule]\nUsers=alice 0\nKinds=microphone\nDecision=allow\nLock=yes\n" /* 11 */

#define GROUPS \
        "[Rule]\nGroups=students\nApps=org.exam.*\nDecision=deny\n" /* 1 */ \
        "[Rule]\nGroups=staff 65534\nDecision=allow\n"              /* 5 */ \
        "[Rule]\nGroups=students\nDecision=prompt\nLock=yes\n"      /* 8 */ \
        "[Rule]\nUsers=bob\nGroups=students\nDecision=deny\n"       /* 12 */

#define DEVICES \
        "[Rule]\nDevices=v4l2:*\nDecision=deny\n"                          /* 1 */ \
        "[Rule]\nDevices=synthetic:front-camera\nDecision=allow\nLock=yes\n" /* 4 */ \
        "[Rule]\nDevices=synthetic:*-mic?\nKinds=microphone\nDecision=prompt\nLock=yes\n" /* 8 */

#define BROKEN_RULES \
        "[Rule]\nApps=org.a.App\nUsers=alcie\nDecision=allow\n" /* 1: Users= dropped */ \
        "[Rule]\nApps=org.b.App\nKinds=camera\nDecision=prompt\n" /* 5 */

#define BROKEN_FILE "[Rule]\nApps=org.a.App\nDecision=allow\n[Rule\n"

static const EvalRow eval_table[] = {
        { "empty policy", "", 1000, "org.a.App", NULL, CAM, NULL, POLICY_NONE, false, 0, NOTHING },

        /* Globs. */
        { "glob matches, kind matches", SCHOOL, 1000, "org.example.Exam", NULL, CAM, NULL, POLICY_DENY, true, 1,
          "deny by T.conf:1 ([Rule] Apps=org.example.* Kinds=camera Decision=deny Lock=yes)" },
        { "glob, other kind", SCHOOL, 1000, "org.example.Exam", NULL, MIC, NULL, POLICY_NONE, false, 0, NOTHING },
        { "glob does not match the prefix itself", SCHOOL, 1000, "org.example", NULL, CAM, NULL, POLICY_NONE, false, 0, NULL },
        { "glob is case-sensitive", SCHOOL, 1000, "org.Example.Exam", NULL, CAM, NULL, POLICY_NONE, false, 0, NULL },
        { "* crosses dots", SCHOOL, 1000, "org.example.sub.App", NULL, CAM, NULL, POLICY_DENY, true, 1, NULL },
        { "host path glob", "[Rule]\nApps=host:/usr/bin/zoom*\nDecision=deny\n", 1000, "host:/usr/bin/zoom-client", NULL,
          CAM, NULL, POLICY_DENY, true, 1, NULL },
        { "* crosses /", "[Rule]\nApps=host:/opt/*\nDecision=deny\n", 1000, "host:/opt/zoom/bin/zoom", NULL, MIC,
          NULL, POLICY_DENY, true, 1, NULL },
        { "host path glob, other path", "[Rule]\nApps=host:/usr/bin/zoom*\nDecision=deny\n", 1000, "host:/opt/zoom",
          NULL, CAM, NULL, POLICY_NONE, false, 0, NULL },
        { "? and []", "[Rule]\nApps=snap.fire?ox org.[ab].App\nDecision=allow\n", 1000, "org.b.App", NULL, CAM, NULL,
          POLICY_ALLOW, false, 1, "allow by T.conf:1 ([Rule] Apps=snap.fire?ox org.[ab].App Decision=allow)" },
        { "? and [], no match", "[Rule]\nApps=snap.fire?ox org.[ab].App\nDecision=allow\n", 1000, "org.c.App", NULL, CAM,
          NULL, POLICY_NONE, false, 0, NULL },

        /* How decisions combine. */
        { "prompt rules only: the locked one decides", COMBINED, 1000, "org.x.Other", NULL, CAM, NULL, POLICY_PROMPT, true, 4,
          "prompt by T.conf:4 ([Rule] Apps=org.x.* Decision=prompt Lock=yes)" },
        { "allow beats prompt, a locked allow reported", COMBINED, 1000, "org.x.Allowed", NULL, CAM, NULL, POLICY_ALLOW,
          true, 14, "allow by T.conf:14 ([Rule] Apps=org.x.Allowed Decision=allow Lock=yes)" },
        { "deny beats a locked allow", COMBINED, 1000, "org.x.Denied", NULL, MIC, NULL, POLICY_DENY, true, 11,
          "deny by T.conf:11 ([Rule] Apps=org.x.Denied Decision=deny)" },
        { "nothing matches another app", COMBINED, 1000, "org.y.App", NULL, CAM, NULL, POLICY_NONE, false, 0, NOTHING },
        { "an unlocked prompt", "[Rule]\nDecision=prompt\n", 1000, "org.y.App", NULL, CAM, NULL, POLICY_PROMPT, false, 1,
          "prompt by T.conf:1 ([Rule] Decision=prompt)" },
        { "an unlocked allow", "[Rule]\nKinds=microphone\nDecision=allow\n", 1000, "org.y.App", NULL, MIC, NULL,
          POLICY_ALLOW, false, 1, NULL },
        { "the first matching rule of the decision reports",
          "[Rule]\nDecision=allow\n[Rule]\nApps=org.y.App\nDecision=allow\n", 1000, "org.y.App", NULL, MIC, NULL,
          POLICY_ALLOW, false, 1, NULL },

        /* Origins. */
        { "wildcard origin", ORIGINS, 1000, "org.a.App", "https://meet.example.com", CAM, NULL, POLICY_DENY, true, 1,
          "deny by T.conf:1 ([Rule] Origins=https://*.example.com Decision=deny)" },
        { "wildcard origin, deeper host", ORIGINS, 1000, "org.a.App", "https://a.b.example.com", CAM, NULL, POLICY_DENY,
          true, 1, NULL },
        { "wildcard origin, not the domain itself", ORIGINS, 1000, "org.a.App", "https://example.com", CAM, NULL,
          POLICY_NONE, false, 0, NULL },
        { "wildcard origin, other scheme", ORIGINS, 1000, "org.a.App", "http://meet.example.com", CAM, NULL, POLICY_NONE,
          false, 0, NULL },
        { "wildcard origin, other port", ORIGINS, 1000, "org.a.App", "https://meet.example.com:8443", CAM, NULL,
          POLICY_NONE, false, 0, NULL },
        { "no origin: none", ORIGINS, 1000, "org.a.App", NULL, CAM, NULL, POLICY_ALLOW, false, 4,
          "allow by T.conf:4 ([Rule] Origins=none Decision=allow)" },
        { "empty origin is none", ORIGINS, 1000, "org.a.App", "", CAM, NULL, POLICY_ALLOW, false, 4, NULL },
        { "exact origin with port", ORIGINS, 1000, "org.a.App", "https://meet.example.org:8443", CAM, NULL,
          POLICY_PROMPT, false, 7, NULL },
        { "exact origin, unnormalized query", ORIGINS, 1000, "org.a.App", "HTTPS://Meet.Example.org:8443", CAM, NULL,
          POLICY_PROMPT, false, 7, NULL },
        { "second origin of the list", ORIGINS, 1000, "org.a.App", "http://localhost", MIC, NULL, POLICY_PROMPT, false, 7,
          NULL },
        { "* is any origin", ORIGINS, 1000, "org.star.App", "https://other.net", CAM, NULL, POLICY_PROMPT, true, 10,
          "prompt by T.conf:10 ([Rule] Apps=org.star.App Origins=* Decision=prompt Lock=yes)" },
        { "* is not no origin", ORIGINS, 1000, "org.star.App", NULL, CAM, NULL, POLICY_ALLOW, false, 4, NULL },
        { "an origin that does not parse matches no pattern", ORIGINS, 1000, "org.star.App", "not an origin", CAM, NULL,
          POLICY_NONE, false, 0, NULL },
        { "absent Origins= matches every origin", SCHOOL, 1000, "org.example.App", "https://x.org", CAM, NULL,
          POLICY_DENY, true, 1, NULL },

        /* uids are themselves. */
        { "uid 65534", IDS, 65534, "org.a.App", NULL, CAM, NULL, POLICY_DENY, true, 1, NULL },
        { "uid 131070 is not 65534", IDS, 131070, "org.a.App", NULL, CAM, NULL, POLICY_NONE, false, 0, NULL },
        { "uid 65533", IDS, 65533, "org.a.App", NULL, CAM, NULL, POLICY_NONE, false, 0, NULL },
        { "uid 2^31", IDS, 2147483648U, "org.a.App", NULL, CAM, NULL, POLICY_ALLOW, false, 4,
          "allow by T.conf:4 ([Rule] Users=2147483648 Decision=allow)" },
        { "uid 2^31 - 1", IDS, 2147483647U, "org.a.App", NULL, CAM, NULL, POLICY_NONE, false, 0, NULL },
        { "uid 0 is not 2^31", IDS, 0, "org.a.App", NULL, CAM, NULL, POLICY_NONE, false, 0, NULL },
        { "uid 4000000000 by name", IDS, 4000000000U, "org.a.App", NULL, CAM, NULL, POLICY_PROMPT, true, 7,
          "prompt by T.conf:7 ([Rule] Users=huge Decision=prompt Lock=yes)" },
        { "uid 4000000000 mod 2^16", IDS, 10240, "org.a.App", NULL, CAM, NULL, POLICY_NONE, false, 0, NULL },
        { "uid 4000000000 - 2^31", IDS, 1852516352, "org.a.App", NULL, CAM, NULL, POLICY_NONE, false, 0, NULL },
        { "uid 4294967294", IDS, 4294967294U, "org.a.App", NULL, CAM, NULL, POLICY_NONE, false, 0, NULL },
        { "uid 0 in a list", IDS, 0, "org.a.App", NULL, MIC, NULL, POLICY_ALLOW, true, 11, NULL },
        { "alice by name", IDS, 1000, "org.a.App", NULL, MIC, NULL, POLICY_ALLOW, true, 11,
          "allow by T.conf:11 ([Rule] Users=alice 0 Kinds=microphone Decision=allow Lock=yes)" },
        { "alice, other kind", IDS, 1000, "org.a.App", NULL, CAM, NULL, POLICY_NONE, false, 0, NULL },

        /* Groups, through the fake resolver. */
        { "student, exam app: deny beats the locked prompt", GROUPS, 1000, "org.exam.Proctor", NULL, CAM, NULL,
          POLICY_DENY, true, 1, "deny by T.conf:1 ([Rule] Apps=org.exam.* Groups=students Decision=deny)" },
        { "student, other app: locked prompt", GROUPS, 1000, "org.a.App", NULL, CAM, NULL, POLICY_PROMPT, true, 8, NULL },
        { "staff by supplementary group", GROUPS, 1001, "org.exam.Proctor", NULL, CAM, NULL, POLICY_ALLOW, false, 5,
          "allow by T.conf:5 ([Rule] Groups=staff 65534 Decision=allow)" },
        { "primary group by gid", GROUPS, 65534, "org.a.App", NULL, MIC, NULL, POLICY_ALLOW, false, 5, NULL },
        { "uid 4000000000 in students", GROUPS, 4000000000U, "org.exam.X", NULL, CAM, NULL, POLICY_DENY, true, 1, NULL },
        { "uid 2^31 in staff", GROUPS, 2147483648U, "org.a.App", NULL, CAM, NULL, POLICY_ALLOW, false, 5, NULL },
        { "no user entry: in no group", GROUPS, 4242, "org.exam.X", NULL, CAM, NULL, POLICY_NONE, false, 0, NOTHING },
        { "Users= and Groups= both must match", GROUPS, 1001, "org.a.App", NULL, MIC, NULL, POLICY_ALLOW, false, 5, NULL },
        { "membership unknown: deny and prompt apply, allow does not", GROUPS, 666, "org.exam.X", NULL, CAM, NULL,
          POLICY_DENY, true, 1,
          "deny by T.conf:1 ([Rule] Apps=org.exam.* Groups=students Decision=deny); the groups of uid 666 could not be "
          "looked up (Input/output error), so it counts as a member" },
        { "membership unknown, other app: the locked prompt", GROUPS, 666, "org.a.App", NULL, CAM, NULL, POLICY_PROMPT,
          true, 8, NULL },

        /* Devices. */
        { "v4l2 device denied", DEVICES, 1000, "org.a.App", NULL, CAM, "v4l2:pci-0000:00:14.0-usb-0:1:1.0", POLICY_DENY,
          true, 1, "deny by T.conf:1 ([Rule] Devices=v4l2:* Decision=deny)" },
        { "front camera allowed", DEVICES, 1000, "org.a.App", NULL, CAM, "synthetic:front-camera", POLICY_ALLOW, true, 4,
          NULL },
        { "another synthetic camera", DEVICES, 1000, "org.a.App", NULL, CAM, "synthetic:rear-camera", POLICY_NONE, false,
          0, NULL },
        { "device glob with ?", DEVICES, 1000, "org.a.App", NULL, MIC, "synthetic:desk-mic1", POLICY_PROMPT, true, 8,
          NULL },
        { "device glob, other kind", DEVICES, 1000, "org.a.App", NULL, CAM, "synthetic:desk-mic1", POLICY_NONE, false, 0,
          NULL },
        { "the kind as a whole: device rules do not decide", DEVICES, 1000, "org.a.App", NULL, CAM, NULL, POLICY_NONE,
          false, 0, NOTHING },
        { "the kind as a whole: rules without Devices= do", SCHOOL, 1000, "org.example.A", NULL, CAM, NULL, POLICY_DENY,
          true, 1, NULL },

        /* Broken files. */
        { "a broken file's allow denies, its bad condition left out", BROKEN_RULES, 1001, "org.a.App", NULL, MIC, NULL,
          POLICY_DENY, true, 1,
          "deny by T.conf:1 ([Rule] Apps=org.a.App Decision=allow, which denies because its file is broken: "
          "T.conf:3: unknown user \"alcie\".)" },
        { "a broken file's prompt denies within its conditions", BROKEN_RULES, 1001, "org.b.App", NULL, CAM, NULL,
          POLICY_DENY, true, 5, NULL },
        { "a broken file's rules keep their good conditions", BROKEN_RULES, 1001, "org.b.App", NULL, MIC, NULL,
          POLICY_NONE, false, 0, NOTHING },
        { "a file that cannot be parsed denies everything", BROKEN_FILE, 1000, "org.z.App", NULL, MIC,
          "synthetic:x", POLICY_DENY, true, 4,
          "deny by T.conf:4 (the file cannot be read or parsed and denies every request until it is fixed: "
          "T.conf:4: malformed section header.)" },
        { "... even for the kind as a whole", BROKEN_FILE, 65534, "host:/usr/bin/x", "https://a.org", CAM, NULL,
          POLICY_DENY, true, 4, NULL },
};

static void test_evaluate(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(eval_table); i++) {
                const EvalRow *row = &eval_table[i];
                _cleanup_(policy_freep) Policy *p = NULL;
                PolicyQuery q = {
                        .uid = row->uid,
                        .app_id = row->app_id,
                        .origin = row->origin,
                        .kind = row->kind,
                        .hardware_id = row->hardware_id,
                };
                PolicyVerdict v;
                int r;

                assert_int_equal(policy_load_text(row->policy, strlen(row->policy), "T.conf", &fake_resolver, &p), 0);
                r = policy_evaluate(p, &q, &v);
                if (r < 0)
                        fail_msg("row %zu (%s): policy_evaluate() failed: %d", i, row->what, r);
                if (v.decision != row->decision || v.locked != row->locked || v.line != row->line ||
                    (row->explanation && !streq(v.explanation, row->explanation)))
                        fail_msg("row %zu (%s): got %s%s at line %u \"%s\", want %s%s at line %u \"%s\"", i, row->what,
                                 policy_decision_to_string(v.decision), v.locked ? " locked" : "", v.line,
                                 v.explanation, policy_decision_to_string(row->decision), row->locked ? " locked" : "",
                                 row->line, strempty(row->explanation));
                if (row->decision == POLICY_NONE)
                        assert_null(v.file);
                else
                        assert_string_equal(v.file, "T.conf");
                policy_verdict_done(&v);
                assert_null(v.explanation);
        }
}

/* Group memberships are looked up only when a rule with Groups= could match, once per query. */
static void test_group_lookups(void **state) {
        static const struct {
                const char *what;
                const char *app_id;
                unsigned lookups;
        } rows[] = {
                { "no rule gets as far as Groups=", "org.other.App", 0 },
                { "two rules need them: one lookup", "org.exam.App", 1 },
        };
        static const char text[] = "[Rule]\nApps=org.exam.*\nGroups=students\nDecision=deny\n"
                                   "[Rule]\nApps=org.exam.*\nGroups=staff\nDecision=allow\n";
        _cleanup_(policy_freep) Policy *p = NULL;

        assert_int_equal(policy_load_text(text, sizeof text - 1, "T.conf", &fake_resolver, &p), 0);
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                PolicyQuery q = { .uid = 1000, .app_id = rows[i].app_id, .kind = CAM };
                PolicyVerdict v;

                fake_membership_lookups = 0;
                assert_int_equal(policy_evaluate(p, &q, &v), 0);
                policy_verdict_done(&v);
                if (fake_membership_lookups != rows[i].lookups)
                        fail_msg("row %zu (%s): %u lookups, want %u", i, rows[i].what, fake_membership_lookups,
                                 rows[i].lookups);
        }
}

static void test_invalid_queries(void **state) {
        static const struct {
                const char *what;
                uid_t uid;
                const char *app_id;
                int kind;
        } rows[] = {
                { "uid -1", (uid_t) -1, "org.a.App", CAM },
                { "uid 65535", 65535, "org.a.App", CAM },
                { "no app id", 1000, NULL, CAM },
                { "kind out of range", 1000, "org.a.App", _DEVICE_KIND_MAX },
                { "negative kind", 1000, "org.a.App", -1 },
        };
        static const char text[] = "[Rule]\nDecision=allow\n";
        _cleanup_(policy_freep) Policy *p = NULL;
        PolicyVerdict v;

        assert_int_equal(policy_load_text(text, sizeof text - 1, "T.conf", &fake_resolver, &p), 0);
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                PolicyQuery q = { .uid = rows[i].uid, .app_id = rows[i].app_id, .kind = (DeviceKind) rows[i].kind };

                if (policy_evaluate(p, &q, &v) != -EINVAL)
                        fail_msg("row %zu (%s): not refused", i, rows[i].what);
        }

        /* No policy at all: nothing matches. */
        PolicyQuery q = { .uid = 1000, .app_id = "org.a.App", .kind = MIC };
        assert_int_equal(policy_evaluate(NULL, &q, &v), 0);
        assert_int_equal(v.decision, POLICY_NONE);
        policy_verdict_done(&v);
        assert_int_equal(policy_evaluate(p, NULL, &v), -EINVAL);
        assert_int_equal(policy_evaluate(p, &q, NULL), -EINVAL);
}

/* ---- precedence (docs/architecture.md): policy verdict, polkit, stored decision → outcome ---- */

#define N POLICY_NONE
#define A POLICY_ALLOW
#define D POLICY_DENY
#define P POLICY_PROMPT

static const struct {
        const char *what;
        PolicyDecision policy;
        bool locked;
        bool polkit;
        PolicyDecision stored;
        PolicyDecision outcome;
} resolve_table[] = {
        /* 1: a deny decides alone. */
        { "1 deny", D, true, true, N, D },
        { "1 deny over polkit no", D, true, false, N, D },
        { "1 deny over a stored allow", D, true, true, A, D },
        { "1 deny, even unlocked", D, false, true, A, D },
        /* 2: polkit no. */
        { "2 polkit no, allow", A, true, false, A, D },
        { "2 polkit no, no rule", N, false, false, A, D },
        { "2 polkit no, locked prompt", P, true, false, N, D },
        { "2 polkit no, nothing", N, false, false, N, D },
        /* 3: allow. */
        { "3 allow", A, false, true, N, A },
        { "3 allow over a stored allow", A, false, true, A, A },
        { "3 allow, the user's stored deny counts", A, false, true, D, D },
        { "3 locked allow over a stored deny", A, true, true, D, A },
        { "3 locked allow", A, true, true, N, A },
        /* 4: prompt. */
        { "4 locked prompt ignores a stored allow", P, true, true, A, P },
        { "4 locked prompt, nothing stored", P, true, true, N, P },
        { "4 locked prompt, a stored deny still denies", P, true, true, D, D },
        { "4 unlocked prompt: a stored allow decides", P, false, true, A, A },
        { "4 unlocked prompt: a stored deny decides", P, false, true, D, D },
        { "4 unlocked prompt, nothing stored", P, false, true, N, P },
        /* 5: stored decisions. */
        { "5 stored allow", N, false, true, A, A },
        { "5 stored deny", N, false, true, D, D },
        /* 6: prompt. */
        { "6 nothing: prompt", N, false, true, N, P },
        { "6 a stored 'prompt' is nothing", N, false, true, P, P },
};

static void test_resolve(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(resolve_table); i++) {
                PolicyVerdict v = { .decision = resolve_table[i].policy, .locked = resolve_table[i].locked };
                PolicyDecision got = policy_resolve(&v, resolve_table[i].polkit, resolve_table[i].stored);

                if (got != resolve_table[i].outcome)
                        fail_msg("row %zu (%s): got %s, want %s", i, resolve_table[i].what, policy_decision_to_string(got),
                                 policy_decision_to_string(resolve_table[i].outcome));
        }
        assert_int_equal(policy_resolve(NULL, true, N), P);
        assert_int_equal(policy_resolve(NULL, true, A), A);
}

/* From a policy file to the outcome, the way a request travels. */
static void test_end_to_end(void **state) {
        static const char text[] =
                "[Rule]\nApps=org.example.Exam\nKinds=camera\nDecision=deny\n"
                "[Rule]\nApps=us.zoom.Zoom\nGroups=students\nDecision=allow\nLock=yes\n"
                "[Rule]\nGroups=students\nDecision=prompt\nLock=yes\n";
        static const struct {
                uid_t uid;
                const char *app_id;
                DeviceKind kind;
                PolicyDecision stored;
                PolicyDecision outcome;
        } rows[] = {
                { 1000, "org.example.Exam", CAM, A, D },  /* never the exam camera */
                { 1000, "org.example.Exam", MIC, A, P },  /* students are asked, the stored allow ignored */
                { 1001, "org.example.Exam", MIC, A, A },  /* staff: their own decision */
                { 1000, "us.zoom.Zoom", CAM, D, A },      /* locked allow over the student's stored deny */
                { 1001, "us.zoom.Zoom", CAM, D, D },      /* not a student: the stored deny */
                { 1000, "org.other.App", CAM, D, D },     /* locked prompt, but the user said no for good */
                { 1001, "org.other.App", CAM, N, P },
        };
        _cleanup_(policy_freep) Policy *p = NULL;

        assert_int_equal(policy_load_text(text, sizeof text - 1, "T.conf", &fake_resolver, &p), 0);
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                PolicyQuery q = { .uid = rows[i].uid, .app_id = rows[i].app_id, .kind = rows[i].kind };
                PolicyVerdict v;
                PolicyDecision got;

                assert_int_equal(policy_evaluate(p, &q, &v), 0);
                got = policy_resolve(&v, true, rows[i].stored);
                if (got != rows[i].outcome)
                        fail_msg("row %zu (uid %u, %s): got %s, want %s (%s)", i, (unsigned) rows[i].uid, rows[i].app_id,
                                 policy_decision_to_string(got), policy_decision_to_string(rows[i].outcome), v.explanation);
                policy_verdict_done(&v);
        }
}

/* policy/example-rules.conf loads cleanly and does what its comments say (run from the top of
 * the source tree, as tools/check does). */
static void test_example_file(void **state) {
        static const struct {
                uid_t uid;
                const char *app_id;
                const char *origin;
                DeviceKind kind;
                const char *hardware_id;
                PolicyDecision stored;
                PolicyDecision outcome;
        } rows[] = {
                { 1000, "org.example.Exam", NULL, CAM, NULL, A, D },
                { 1001, "org.example.Exam", NULL, CAM, NULL, A, D },
                { 1000, "us.zoom.Zoom", NULL, CAM, NULL, D, A },
                { 1001, "us.zoom.Zoom", NULL, CAM, NULL, D, D },
                { 1000, "org.other.App", NULL, MIC, NULL, A, P },
                { 1001, "org.other.App", NULL, MIC, NULL, A, A },
                { 1001, "org.mozilla.firefox", "https://meet.example.com", CAM, NULL, A, P },
                { 1001, "org.mozilla.firefox", "https://example.com", CAM, NULL, A, P },
                { 1001, "org.mozilla.firefox", "https://example.org", CAM, NULL, A, A },
                { 1001, "org.mozilla.firefox", NULL, CAM, NULL, A, A },
                { 1001, "org.chromium.Chromium", "http://localhost:8080", MIC, NULL, A, D },
                { 1001, "org.chromium.Chromium", "http://localhost:8081", MIC, NULL, A, A },
                { 1500, "org.kiosk.App", NULL, CAM, "synthetic:front-camera", D, A },
                { 1500, "org.kiosk.App", NULL, CAM, "synthetic:rear-camera", A, D },
                { 1500, "org.kiosk.App", NULL, CAM, "v4l2:pci-0000:00:14.0-usb-0:1:1.0", A, D },
                { 1500, "org.kiosk.App", NULL, MIC, "alsa:usb-0:2", N, P },
                { 1001, "host:/opt/tool/bin/tool", NULL, MIC, NULL, A, D },
                { 1001, "host:/opt/tool/bin/tool", NULL, CAM, NULL, N, P },
        };
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_free_ char *text = NULL;
        size_t size;

        if (read_full_file("policy/example-rules.conf", POLICY_FILE_MAX, &text, &size) < 0)
                fail_msg("policy/example-rules.conf: run the test from the top of the source tree");
        assert_int_equal(policy_load_text(text, size, "example-rules.conf", &fake_resolver, &p), 0);
        if (policy_errors(p)[0])
                fail_msg("%s", policy_errors(p)[0]);
        assert_true(policy_is_broker(p, "org.mozilla.firefox"));
        assert_true(policy_is_broker(p, "snap.firefox"));

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                PolicyQuery q = { .uid = rows[i].uid, .app_id = rows[i].app_id, .origin = rows[i].origin,
                                  .kind = rows[i].kind, .hardware_id = rows[i].hardware_id };
                PolicyVerdict v;
                PolicyDecision got;

                assert_int_equal(policy_evaluate(p, &q, &v), 0);
                got = policy_resolve(&v, true, rows[i].stored);
                if (got != rows[i].outcome)
                        fail_msg("row %zu (uid %u, %s): got %s, want %s (%s)", i, (unsigned) rows[i].uid, rows[i].app_id,
                                 policy_decision_to_string(got), policy_decision_to_string(rows[i].outcome), v.explanation);
                policy_verdict_done(&v);
        }
}

/* ---- policy directories ---- */

typedef enum FileKind {
        FILE_REGULAR,
        FILE_MASKED,     /* a symlink to /dev/null */
        FILE_DIRECTORY,  /* a directory with a .conf name */
        FILE_UNREADABLE, /* mode 000 */
        FILE_HUGE,       /* content, then padding past POLICY_FILE_MAX */
        FILE_DANGLING,   /* a symlink to nothing */
} FileKind;

typedef struct FileSpec {
        const char *name;
        const char *content;
        FileKind kind;
        size_t size; /* 0: strlen(content) */
} FileSpec;

typedef struct DirRow {
        const char *what;
        bool no_directory;
        FileSpec files[5];
        const char *expected; /* policy_dump() with "D/" for the directory */
} DirRow;

#define GOOD "[Brokers]\nApps=org.mozilla.firefox\n"
#define FIREFOX "[Brokers] Apps=org.mozilla.firefox\n"
#define DIR_NUL "[Brokers]\nApps=org.evil.App\n\0\n"
#define EVERYTHING(file) " deny: the file cannot be read or parsed and denies every request until it is fixed: D/" file

static const DirRow dir_table[] = {
        { "missing directory", true, {}, NO_BROKERS },
        { "empty directory", false, {}, NO_BROKERS },
        { "brokers: every app id form", false,
          { { "50-browsers.conf",
              "[Brokers]\nApps=org.mozilla.firefox snap.firefox host:/usr/lib/firefox/firefox snap.chromium_beta\n" } },
          "[Brokers] Apps=org.mozilla.firefox snap.firefox host:/usr/lib/firefox/firefox snap.chromium_beta\n" },
        { "brokers: repeated Apps= accumulate, duplicates once, empty adds nothing", false,
          { { "50-browsers.conf",
              "[Brokers]\nApps=org.a.App org.b.App\nApps=\nApps=org.b.App org.c.App\n[Brokers]\nApps=org.a.App org.d.App\n" } },
          "[Brokers] Apps=org.a.App org.b.App org.c.App org.d.App\n" },
        { "files in lexical order, not numeric", false,
          { { "20-b.conf", "[Brokers]\nApps=org.b.App\n[Rule]\nApps=org.b.App\nDecision=deny\n" },
            { "10-a.conf", "[Brokers]\nApps=org.a.App org.b.App\n[Rule]\nApps=org.a.App\nDecision=allow\n" },
            { "9-c.conf", "[Brokers]\nApps=org.c.App\n[Rule]\nApps=org.c.App\nDecision=prompt\n" } },
          "[Brokers] Apps=org.a.App org.b.App org.c.App\n"
          "D/10-a.conf:3: allow: [Rule] Apps=org.a.App Decision=allow\n"
          "D/20-b.conf:3: deny: [Rule] Apps=org.b.App Decision=deny\n"
          "D/9-c.conf:3: prompt: [Rule] Apps=org.c.App Decision=prompt\n" },
        { "a broken file grants nothing; the others count", false,
          { { "10-good.conf", GOOD "[Rule]\nApps=org.good.App\nDecision=allow\n" },
            { "20-bad.conf", "[Brokers]\nApps=org.evil.App\n[Rule]\nApps=org.evil.App\nDecision=allow\nLock=sure\n" } },
          FIREFOX "D/10-good.conf:3: allow: [Rule] Apps=org.good.App Decision=allow\n"
          "D/20-bad.conf:3: deny: [Rule] Apps=org.evil.App Decision=allow, which denies because its file is broken: "
          "D/20-bad.conf:6: Lock= takes yes or no, not \"sure\".\n"
          "error: D/20-bad.conf:6: Lock= takes yes or no, not \"sure\".\n" },
        { "broken file first, good file after", false,
          { { "10-bad.conf", "[Brokers\n" }, { "20-good.conf", GOOD } },
          FIREFOX "D/10-bad.conf:1:" EVERYTHING("10-bad.conf:1: malformed section header.\n")
          "error: D/10-bad.conf:1: malformed section header.\n" },
        { "NUL byte", false,
          { { "10-good.conf", GOOD }, { "20-bad.conf", DIR_NUL, FILE_REGULAR, sizeof(DIR_NUL) - 1 } },
          FIREFOX "D/20-bad.conf:3:" EVERYTHING("20-bad.conf:3: NUL byte in line.\n")
          "error: D/20-bad.conf:3: NUL byte in line.\n" },
        { "only *.conf, no hidden files", false,
          { { "10-good.conf", GOOD },
            { "README", "[Brokers]\nApps=org.readme.App\n" },
            { "20-x.conf.bak", "[Brokers]\nApps=org.backup.App\n" },
            { ".30-hidden.conf", "[Brokers]\nApps=org.hidden.App\n" },
            { ".conf", "[Brokers]\nApps=org.bare.App\n" } },
          FIREFOX },
        { "masked with /dev/null", false,
          { { "10-good.conf", GOOD }, { "20-masked.conf", NULL, FILE_MASKED } },
          FIREFOX },
        { "a directory named .conf", false,
          { { "10-good.conf", GOOD }, { "20-dir.conf", NULL, FILE_DIRECTORY } },
          FIREFOX "D/20-dir.conf:" EVERYTHING("20-dir.conf: not a regular file.\n")
          "error: D/20-dir.conf: not a regular file.\n" },
        { "a dangling symlink", false,
          { { "10-good.conf", GOOD }, { "20-gone.conf", NULL, FILE_DANGLING } },
          FIREFOX "D/20-gone.conf:" EVERYTHING("20-gone.conf: cannot read: No such file or directory.\n")
          "error: D/20-gone.conf: cannot read: No such file or directory.\n" },
        { "unreadable file", false,
          { { "10-good.conf", GOOD }, { "20-secret.conf", "[Brokers]\nApps=org.evil.App\n", FILE_UNREADABLE } },
          FIREFOX "D/20-secret.conf:" EVERYTHING("20-secret.conf: cannot read: Permission denied.\n")
          "error: D/20-secret.conf: cannot read: Permission denied.\n" },
        { "file over the size limit", false,
          { { "10-good.conf", GOOD }, { "20-huge.conf", "[Brokers]\nApps=org.evil.App\n", FILE_HUGE } },
          FIREFOX "D/20-huge.conf:" EVERYTHING("20-huge.conf: larger than 1048576 bytes.\n")
          "error: D/20-huge.conf: larger than 1048576 bytes.\n" },
};

static void make_file(const char *dir, const FileSpec *f) {
        char path[256];
        size_t size;
        int fd;

        snprintf(path, sizeof path, "%s/%s", dir, f->name);
        switch (f->kind) {
        case FILE_MASKED:
                assert_int_equal(symlink("/dev/null", path), 0);
                return;
        case FILE_DANGLING:
                assert_int_equal(symlink("/nonexistent/mediagate-policy.conf", path), 0);
                return;
        case FILE_DIRECTORY:
                assert_int_equal(mkdir(path, 0755), 0);
                return;
        default:
                break;
        }

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        /* An explicit size: a row may carry a NUL byte on purpose. */
        size = f->size ?: strlen(f->content);
        assert_int_equal(write(fd, f->content, size), (ssize_t) size);
        if (f->kind == FILE_HUGE) {
                char pad[4096];

                memset(pad, '#', sizeof pad);
                pad[0] = '\n';
                for (size_t n = 0; n <= POLICY_FILE_MAX; n += sizeof pad)
                        assert_int_equal(write(fd, pad, sizeof pad), (ssize_t) sizeof pad);
        }
        if (f->kind == FILE_UNREADABLE)
                assert_int_equal(fchmod(fd, 0000), 0);
        close(fd);
}

static void remove_file(const char *dir, const FileSpec *f) {
        char path[256];

        snprintf(path, sizeof path, "%s/%s", dir, f->name);
        if (f->kind == FILE_DIRECTORY)
                assert_int_equal(rmdir(path), 0);
        else
                assert_int_equal(unlink(path), 0);
}

/* The dump with the temporary directory's name replaced by "D". */
static char *load_and_dump(const char *dir) {
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_free_ char *raw = NULL;
        char *s = NULL;
        size_t size = 0, dl = strlen(dir);
        FILE *f;
        int r;

        r = policy_load_dir(dir, &fake_resolver, &p);
        if (r < 0)
                return NULL;
        raw = dump(p);
        f = open_memstream(&s, &size);
        assert_non_null(f);
        for (const char *c = raw; *c;)
                if (strncmp(c, dir, dl) == 0) {
                        fputc('D', f);
                        c += dl;
                } else
                        fputc(*c++, f);
        fclose(f);
        return s;
}

/* Load as an unprivileged user (root reads mode-000 files) and hand the dump back. */
static char *load_as_nobody(const char *dir) {
        char buf[8192];
        size_t n = 0;
        int pipefd[2], status;
        pid_t pid;

        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                _cleanup_free_ char *s = NULL;

                if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
                        _exit(2);
                s = load_and_dump(dir);
                if (!s)
                        _exit(3);
                if (write(pipefd[1], s, strlen(s)) < 0)
                        _exit(4);
                _exit(0);
        }
        close(pipefd[1]);
        for (;;) {
                ssize_t k = read(pipefd[0], buf + n, sizeof buf - 1 - n);

                if (k <= 0)
                        break;
                n += (size_t) k;
        }
        close(pipefd[0]);
        buf[n] = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        return strdup(buf);
}

static void test_load_dir(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(dir_table); i++) {
                const DirRow *row = &dir_table[i];
                char dir[] = "/tmp/test-policy.XXXXXX";
                _cleanup_free_ char *got = NULL;
                bool unreadable = false;

                assert_non_null(mkdtemp(dir));
                assert_int_equal(chmod(dir, 0755), 0);
                for (const FileSpec *f = row->files; f < row->files + ELEMENTSOF(row->files) && f->name; f++) {
                        make_file(dir, f);
                        unreadable = unreadable || f->kind == FILE_UNREADABLE;
                }
                if (row->no_directory)
                        assert_int_equal(rmdir(dir), 0);

                if (unreadable && geteuid() == 0)
                        got = load_as_nobody(dir);
                else
                        got = load_and_dump(dir);

                for (const FileSpec *f = row->files; f < row->files + ELEMENTSOF(row->files) && f->name; f++)
                        remove_file(dir, f);
                if (!row->no_directory)
                        assert_int_equal(rmdir(dir), 0);

                if (!got)
                        fail_msg("row %zu (%s): policy_load_dir() failed", i, row->what);
                if (!streq(got, row->expected))
                        fail_msg("row %zu (%s):\ngot:\n%swant:\n%s", i, row->what, got, row->expected);
        }
}

/* The verdict names the deciding rule's file: the first in lexical order. */
static void test_deciding_file(void **state) {
        static const FileSpec files[] = {
                { "b.conf", "[Rule]\nKinds=camera\nDecision=deny\n" },
                { "a.conf", "\n[Rule]\nDecision=allow\n[Rule]\nKinds=microphone\nDecision=deny\n" },
                { "c.conf", "[Rule]\nDecision=deny\nLock=yes\n" },
        };
        static const struct {
                DeviceKind kind;
                const char *file;
                unsigned line;
        } rows[] = {
                { CAM, "b.conf", 1 }, /* before c.conf, though c.conf's deny is locked */
                { MIC, "a.conf", 4 },
        };
        char dir[] = "/tmp/test-policy.XXXXXX", want[256];
        _cleanup_(policy_freep) Policy *p = NULL;

        assert_non_null(mkdtemp(dir));
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                make_file(dir, &files[i]);
        assert_int_equal(policy_load_dir(dir, &fake_resolver, &p), 0);
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                remove_file(dir, &files[i]);
        assert_int_equal(rmdir(dir), 0);
        assert_int_equal(policy_n_rules(p), 4);

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                PolicyQuery q = { .uid = 1000, .app_id = "org.a.App", .kind = rows[i].kind };
                PolicyVerdict v;

                assert_int_equal(policy_evaluate(p, &q, &v), 0);
                snprintf(want, sizeof want, "%s/%s", dir, rows[i].file);
                assert_int_equal(v.decision, POLICY_DENY);
                if (!streq(v.file, want) || v.line != rows[i].line)
                        fail_msg("row %zu: %s:%u, want %s:%u", i, v.file, v.line, want, rows[i].line);
                policy_verdict_done(&v);
        }
}

static void test_brokers(void **state) {
        static const struct {
                const char *app_id;
                bool contained;
        } queries[] = {
                { "org.mozilla.firefox", true },
                { "snap.firefox", true },
                { "host:/usr/lib/firefox/firefox", true },
                { "org.mozilla.Firefox", false },
                { "org.mozilla", false },
                { "org.mozilla.firefox.evil", false },
                { "org.mozilla.*", false },
                { "host:/usr/lib/firefox", false },
                { "", false },
                { NULL, false },
        };
        static const char text[] = "[Brokers]\nApps=org.mozilla.firefox snap.firefox host:/usr/lib/firefox/firefox\n";
        _cleanup_(policy_freep) Policy *p = NULL;

        assert_int_equal(policy_load_text(text, sizeof text - 1, "T.conf", &fake_resolver, &p), 0);
        for (size_t i = 0; i < ELEMENTSOF(queries); i++)
                if (policy_is_broker(p, queries[i].app_id) != queries[i].contained)
                        fail_msg("row %zu \"%s\": want %s", i, strempty(queries[i].app_id),
                                 queries[i].contained ? "contained" : "not contained");

        assert_false(policy_is_broker(NULL, "org.mozilla.firefox"));
        assert_null(policy_brokers(NULL)[0]);
        assert_null(policy_errors(NULL)[0]);
        assert_null(policy_errors(p)[0]);
        assert_int_equal(policy_n_rules(NULL), 0);
        assert_null(policy_free(NULL));
        assert_int_equal(policy_load_dir(NULL, NULL, &p), -EINVAL);
}

/* The real user database: root exists everywhere, with uid 0 in gid 0. */
static void test_nss(void **state) {
        static const struct {
                const char *text;
                uid_t uid;
                PolicyDecision decision;
        } rows[] = {
                { "[Rule]\nUsers=root\nDecision=deny\n", 0, POLICY_DENY },
                { "[Rule]\nUsers=root\nDecision=deny\n", 1, POLICY_NONE },
                { "[Rule]\nGroups=root\nDecision=deny\n", 0, POLICY_DENY },
                { "[Rule]\nGroups=0\nDecision=allow\n", 0, POLICY_ALLOW },
                { "[Rule]\nGroups=root\nDecision=allow\n", 4000000000U, POLICY_NONE }, /* no such user: no group */
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                _cleanup_(policy_freep) Policy *p = NULL;
                PolicyQuery q = { .uid = rows[i].uid, .app_id = "org.a.App", .kind = CAM };
                PolicyVerdict v;

                if (rows[i].uid == 4000000000U && getpwuid(4000000000U))
                        continue;
                assert_int_equal(policy_load_text(rows[i].text, strlen(rows[i].text), "T.conf", NULL, &p), 0);
                if (policy_errors(p)[0])
                        fail_msg("row %zu: %s", i, policy_errors(p)[0]);
                assert_int_equal(policy_evaluate(p, &q, &v), 0);
                if (v.decision != rows[i].decision)
                        fail_msg("row %zu: got %s", i, v.explanation);
                policy_verdict_done(&v);
        }

        {
                static const char text[] = "[Rule]\nUsers=no-such-user-mediagate\nDecision=allow\n";
                _cleanup_(policy_freep) Policy *p = NULL;

                assert_int_equal(policy_load_text(text, sizeof text - 1, "T.conf", NULL, &p), 0);
                assert_non_null(policy_errors(p)[0]);
                assert_string_equal(policy_errors(p)[0], "T.conf:2: unknown user \"no-such-user-mediagate\".");
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_evaluate),
                cmocka_unit_test(test_group_lookups),
                cmocka_unit_test(test_invalid_queries),
                cmocka_unit_test(test_resolve),
                cmocka_unit_test(test_end_to_end),
                cmocka_unit_test(test_example_file),
                cmocka_unit_test(test_load_dir),
                cmocka_unit_test(test_deciding_file),
                cmocka_unit_test(test_brokers),
                cmocka_unit_test(test_nss),
        };

        log_set_max_level(LOG_CRIT); /* the rows provoke errors on purpose */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
