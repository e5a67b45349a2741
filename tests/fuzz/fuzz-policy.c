/* libFuzzer harness for admin policy files: the input is one file of the policy directory, loaded
 * with a fixed user database, evaluated against a spread of requests and dumped. Besides memory
 * errors it checks what policy.h promises about any file: a broken file grants nothing, a deny is
 * always locked, and policy_resolve() never lets anything override a deny. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "policy.h"
#include "util.h"

/* A small, fixed user database: NSS would make runs depend on the machine and be slow. */
static const struct {
        const char *name;
        uint32_t id;
} users[] = { { "root", 0 }, { "alice", 1000 }, { "kiosk", 1001 }, { "nobody", 65534 } },
  groups[] = { { "root", 0 }, { "students", 2000 }, { "video", 44 }, { "nogroup", 65534 } };

static int fake_user_by_name(const char *name, uid_t *ret, void *userdata) {
        for (size_t i = 0; i < ELEMENTSOF(users); i++)
                if (streq(name, users[i].name)) {
                        *ret = users[i].id;
                        return 1;
                }
        return 0; /* no such user or group */
}

static int fake_group_by_name(const char *name, gid_t *ret, void *userdata) {
        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                if (streq(name, groups[i].name)) {
                        *ret = groups[i].id;
                        return 1;
                }
        return 0; /* no such user or group */
}

/* alice is a student; uid 4000000000 is in a directory that does not answer. */
static int fake_groups_of_uid(uid_t uid, gid_t **ret, size_t *ret_n, void *userdata) {
        gid_t *g;
        size_t n = 0;

        if (uid == 4000000000u)
                return -EIO;
        if (uid != 0 && uid != 1000 && uid != 1001 && uid != 65534)
                return 0;
        g = calloc(2, sizeof(gid_t));
        if (!g)
                return -ENOMEM;
        g[n++] = uid == 0 ? 0 : uid == 65534 ? 65534 : 100;
        if (uid == 1000)
                g[n++] = 2000;
        *ret = g;
        *ret_n = n;
        return 1;
}

static const PolicyResolver resolver = {
        .user_by_name = fake_user_by_name,
        .group_by_name = fake_group_by_name,
        .groups_of_uid = fake_groups_of_uid,
};

static const PolicyQuery queries[] = {
        { 1000, "org.example.App", NULL, DEVICE_KIND_VIDEO, NULL },
        { 1000, "org.example.Exam", NULL, DEVICE_KIND_VIDEO, "synthetic:front-camera" },
        { 1000, "us.zoom.Zoom", "", DEVICE_KIND_AUDIO, "synthetic:microphone" },
        { 1001, "org.mozilla.firefox", "https://meet.example.com", DEVICE_KIND_VIDEO, "synthetic:front-camera" },
        { 1001, "org.mozilla.firefox", "https://a.b.example.com:8443", DEVICE_KIND_AUDIO, NULL },
        { 0, "host:/usr/bin/zoom", "http://localhost:8080", DEVICE_KIND_VIDEO, "v4l2:pci-0000:00:14.0-usb-0:1:1.0" },
        { 65534, "snap.firefox", "https://[::1]", DEVICE_KIND_AUDIO, "alsa:pci-0000:00:1f.3" },
        { 2147483648u, "org.example.App", NULL, DEVICE_KIND_AUDIO, NULL },
        { 4000000000u, "org.example.Exam", "https://example.com", DEVICE_KIND_VIDEO, "synthetic:rear-camera" },
};

static bool debug; /* MEDIAGATE_FUZZ_DEBUG: print the policy each input gives */

static const char *const apps[] = { "org.mozilla.firefox", "snap.firefox", "org.example.App", "host:/usr/bin/zoom" };

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        if (!getenv("MEDIAGATE_FUZZ_LOG"))
                log_set_max_level(-1);
        debug = getenv("MEDIAGATE_FUZZ_DEBUG");
        return 0;
}

static void check_verdict(const Policy *p, const PolicyQuery *q, bool broken) {
        PolicyVerdict v = {};
        int r;

        r = policy_evaluate(p, q, &v);
        if (r < 0) {
                fprintf(stderr, "policy_evaluate: %s\n", strerror(-r));
                abort();
        }
        if (v.decision >= _POLICY_DECISION_MAX || !v.explanation)
                abort();
        if ((v.decision == POLICY_NONE) != !v.file) {
                fprintf(stderr, "decision %s, deciding file %s\n", policy_decision_to_string(v.decision),
                        v.file ?: "(none)");
                abort();
        }
        if (v.decision == POLICY_DENY && !v.locked) {
                fprintf(stderr, "a deny that is not locked: %s\n", v.explanation);
                abort();
        }
        if (broken && (v.decision == POLICY_ALLOW || v.decision == POLICY_PROMPT)) {
                fprintf(stderr, "a broken file decided %s: %s\n", policy_decision_to_string(v.decision),
                        v.explanation);
                abort();
        }

        for (PolicyDecision stored = POLICY_NONE; stored <= POLICY_DENY; stored++)
                for (int polkit = 0; polkit <= 1; polkit++) {
                        PolicyDecision d;

                        if (stored == POLICY_PROMPT)
                                continue;
                        d = policy_resolve(&v, polkit, stored);
                        if (d != POLICY_ALLOW && d != POLICY_DENY && d != POLICY_PROMPT)
                                abort();
                        /* Nothing overrides a deny of the admin, of polkit or of the user. */
                        if (d != POLICY_DENY &&
                            (v.decision == POLICY_DENY || !polkit || stored == POLICY_DENY) &&
                            !(stored == POLICY_DENY && v.decision == POLICY_ALLOW && v.locked && polkit)) {
                                fprintf(stderr, "resolved to %s over a deny (stored %s, polkit %d): %s\n",
                                        policy_decision_to_string(d), policy_decision_to_string(stored), polkit,
                                        v.explanation);
                                abort();
                        }
                }
        policy_verdict_done(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_free_ char *dump = NULL;
        size_t dump_size = 0;
        bool broken;
        FILE *f;
        int r;

        if (size > POLICY_FILE_MAX)
                return -1; /* the loader refuses such files before parsing them */

        r = policy_load_text((const char *) data, size, "fuzz.conf", &resolver, &p);
        if (r == -ENOMEM)
                return 0;
        if (r < 0) {
                fprintf(stderr, "policy_load_text: %s\n", strerror(-r));
                abort(); /* bad files never fail the load */
        }

        broken = policy_errors(p)[0] != NULL;
        if (broken && policy_brokers(p)[0]) {
                fprintf(stderr, "a broken file named brokers: %s\n", policy_brokers(p)[0]);
                abort();
        }
        for (size_t i = 0; i < ELEMENTSOF(apps); i++)
                if (policy_is_broker(p, apps[i]) != strv_contains(policy_brokers(p), apps[i]))
                        abort();
        for (size_t i = 0; i < ELEMENTSOF(queries); i++)
                check_verdict(p, &queries[i], broken);

        f = open_memstream(&dump, &dump_size);
        if (!f)
                abort();
        if (policy_dump(p, f) < 0)
                abort();
        fclose(f);
        if (debug)
                fputs(dump, stderr);
        return 0;
}
