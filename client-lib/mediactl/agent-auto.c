/* The agent's automatic front end (--auto): every prompt gets the same answer at once, for
 * scripts, tests and the demo. --pick limits the answer to the devices it names. */
#include <inttypes.h>
#include <stdlib.h>

#include "agent.h"

static int auto_start(Agent *a) {
        return 0;
}

static void auto_ask(Agent *a, Prompt *p) {
        _cleanup_strv_free_ char **picked = NULL;

        if (agent_pick_from_arguments(a, p, &picked) < 0) {
                agent_dismiss(a, p, PROMPT_END_LEAVING);
                return;
        }
        agent_answer(a, p, a->options.auto_decision, a->options.seconds, picked);
}

static void auto_withdraw(Agent *a, Prompt *p, PromptEnd how) {
        /* Nothing is shown: every prompt is answered as it comes. */
}

static void auto_stop(Agent *a) {
}

static void auto_print_ready(Agent *a) {
        printf("mediactl agent: ready; answering every prompt with %s", a->options.auto_decision);
        if (streq(a->options.auto_decision, "allow-timed"))
                printf(" (%" PRIu32 " s)", a->options.seconds);
        printf(".\n");
}

const AgentFrontend agent_frontend_auto = {
        .mode = "auto",
        .start = auto_start,
        .ask = auto_ask,
        .withdraw = auto_withdraw,
        .stop = auto_stop,
        .print_ready = auto_print_ready,
};
