/* Backing off after repeated refusals: a table of (time, event) steps and what is allowed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "prompt-backoff.h"
#include "util.h"

#define S 1000000ULL

typedef struct Step {
        uint64_t at;
        const char *key;
        enum { CHECK, REFUSE, ALLOW } what;
        bool expect_allowed; /* CHECK */
} Step;

static const Step steps[] = {
        { 0, "a", CHECK, true },
        { 1 * S, "a", REFUSE },
        { 2 * S, "a", REFUSE },
        { 3 * S, "a", CHECK, true },         /* two refusals are free */
        { 3 * S, "a", REFUSE },              /* the third: 10 s of quiet */
        { 4 * S, "a", CHECK, false },
        { 4 * S, "b", CHECK, true },         /* other keys are not affected */
        { 12 * S, "a", CHECK, false },
        { 13 * S, "a", CHECK, true },
        { 13 * S, "a", REFUSE },             /* the fourth: 20 s */
        { 32 * S, "a", CHECK, false },
        { 33 * S, "a", CHECK, true },
        { 33 * S, "a", ALLOW },              /* an allow forgets everything */
        { 34 * S, "a", REFUSE },
        { 35 * S, "a", CHECK, true },
};

static void test_steps(void **state) {
        PromptBackoff *b = prompt_backoff_new();

        assert_non_null(b);
        for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                const Step *s = &steps[i];

                if (s->what == CHECK) {
                        if (prompt_backoff_allows(b, s->key, s->at) != s->expect_allowed)
                                fail_msg("step %zu: at %llu s key %s: expected %s", i,
                                         (unsigned long long) (s->at / S), s->key,
                                         s->expect_allowed ? "allowed" : "blocked");
                } else
                        prompt_backoff_record(b, s->key, s->what == REFUSE, s->at);
        }
        prompt_backoff_free(b);
}

static void test_backoff_is_capped_and_bounded(void **state) {
        PromptBackoff *b = prompt_backoff_new();
        char key[32];

        for (int i = 0; i < 100; i++)
                prompt_backoff_record(b, "k", true, 0);
        assert_false(prompt_backoff_allows(b, "k", PROMPT_BACKOFF_MAX_USEC - 1));
        assert_true(prompt_backoff_allows(b, "k", PROMPT_BACKOFF_MAX_USEC));
        /* Many keys: memory stays bounded, the oldest go first. */
        for (int i = 0; i < PROMPT_BACKOFF_KEYS_MAX + 10; i++) {
                snprintf(key, sizeof key, "key%d", i);
                for (int j = 0; j < 3; j++)
                        prompt_backoff_record(b, key, true, (uint64_t) i + 1);
        }
        assert_true(prompt_backoff_allows(b, "key0", 2));      /* forgotten */
        snprintf(key, sizeof key, "key%d", PROMPT_BACKOFF_KEYS_MAX + 9);
        assert_false(prompt_backoff_allows(b, key, 100));
        prompt_backoff_free(b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_steps),
                cmocka_unit_test(test_backoff_is_capped_and_bounded),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
