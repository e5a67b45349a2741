/* Unit tests for denial.c: the cause names of Response's "denied_by" and the sentences that say
 * what refused and which command changes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "denial.h"
#include "util.h"

static void test_names_round_trip(void **state) {
        for (Denial d = 0; d < _DENIAL_MAX; d++) {
                const char *name = denial_to_string(d);

                assert_non_null(name);
                assert_int_equal(denial_from_string(name), d);
        }
        assert_null(denial_to_string(_DENIAL_MAX));
        assert_null(denial_to_string(_DENIAL_INVALID));
        assert_int_equal(denial_from_string("nobody"), _DENIAL_INVALID);
        assert_int_equal(denial_from_string(NULL), _DENIAL_INVALID);
}

typedef struct Case {
        const char *name;
        Denial denial;
        DenialContext context;
        const char *const contains[3]; /* every one must be in the sentence */
} Case;

static const Case cases[] = {
        { "policy rule named with the commands",
          DENIAL_POLICY,
          { .app_id = "org.example.App", .kind = DEVICE_KIND_VIDEO, .rule_file = "/etc/mediagate/policy.d/10-x.conf",
            .rule_line = 3 },
          { "admin policy denies the camera (rule /etc/mediagate/policy.d/10-x.conf:3)",
            "mediactl policy check --app org.example.App --kind camera", "mediactl policy reload" } },
        { "policy without a known rule",
          DENIAL_POLICY,
          { .app_id = "org.example.App", .kind = DEVICE_KIND_AUDIO },
          { "admin policy denies the microphone.", "--kind microphone", NULL } },
        { "stored deny with an origin",
          DENIAL_STORED,
          { .app_id = "org.mozilla.firefox", .origin = "https://meet.example.com", .kind = DEVICE_KIND_VIDEO },
          { "\"always deny\" is stored for the camera",
            "mediactl grants revoke org.mozilla.firefox camera --origin https://meet.example.com", NULL } },
        { "a host path with a space and a quote is quoted for the shell",
          DENIAL_STORED,
          { .app_id = "host:/opt/My App/it's", .kind = DEVICE_KIND_AUDIO },
          { "mediactl grants revoke 'host:/opt/My App/it'\\''s' microphone", NULL, NULL } },
        { "polkit names the action",
          DENIAL_POLKIT,
          { .app_id = "org.example.App", .kind = DEVICE_KIND_VIDEO },
          { "polkit", "org.mediagate.camera", "pkaction --verbose --action-id org.mediagate.camera" } },
        { "no agent names the unit",
          DENIAL_NO_AGENT,
          { .app_id = "org.example.App", .kind = DEVICE_KIND_VIDEO, .uid = 1000 },
          { "No consent agent is available to ask user 1000.", "systemctl --user start mediagate-agent.service",
            "mediactl agent" } },
        { "the user", DENIAL_USER, { .app_id = "a.b.C" }, { "Permission denied by the user.", NULL, NULL } },
        { "dismissed", DENIAL_DISMISSED, { .app_id = "a.b.C" }, { "The prompt was dismissed.", "asks again", NULL } },
        { "timeout", DENIAL_TIMEOUT, { .app_id = "a.b.C" }, { "Nobody answered the prompt in time", "PromptTimeoutSec=", NULL } },
        { "backoff", DENIAL_BACKOFF, { .app_id = "a.b.C" }, { "Refused too often", NULL, NULL } },
        { "not in front", DENIAL_NOT_IN_FRONT, { .app_id = "a.b.C" },
          { "not in front", "screen is locked", "Ask again from the active session" } },
        { "nothing chosen", DENIAL_NOTHING_CHOSEN, { .app_id = "a.b.C", .kind = DEVICE_KIND_VIDEO },
          { "No camera was chosen", NULL, NULL } },
};

static void test_sentences(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const Case *c = &cases[i];
                _cleanup_free_ char *s = denial_message(c->denial, &c->context);

                assert_non_null(s);
                if (strchr(s, '\n'))
                        fail_msg("case \"%s\": more than one line: %s", c->name, s);
                for (size_t j = 0; j < ELEMENTSOF(c->contains) && c->contains[j]; j++)
                        if (!strstr(s, c->contains[j]))
                                fail_msg("case \"%s\": \"%s\" is not in: %s", c->name, c->contains[j], s);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names_round_trip),
                cmocka_unit_test(test_sentences),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
