/* Access decisions: admin policy, polkit and stored user decisions combined in one place. */
#include "decision.h"

#include <stdio.h>

#include "util.h"

static const char *const source_names[_DECIDED_BY_MAX] = {
        [DECIDED_BY_POLICY] = "policy",
        [DECIDED_BY_POLKIT] = "polkit",
        [DECIDED_BY_STORED] = "stored",
        [DECIDED_BY_NOTHING] = "none",
        [DECIDED_BY_ERROR] = "error",
};

const char *decision_source_to_string(DecisionSource s) {
        return s < _DECIDED_BY_MAX ? source_names[s] : NULL;
}

static PolicyDecision stored_as_policy(GrantDecision g) {
        return g == GRANT_ALLOW ? POLICY_ALLOW : g == GRANT_DENY ? POLICY_DENY : POLICY_NONE;
}

/* Which of the three inputs made the outcome, following policy_resolve()'s precedence. */
static DecisionSource source_of(const AccessDecision *d, bool polkit_allowed) {
        PolicyDecision rule = d->verdict.decision;

        if (rule == POLICY_DENY)
                return DECIDED_BY_POLICY;
        if (!polkit_allowed)
                return DECIDED_BY_POLKIT;
        if (rule == POLICY_ALLOW && (d->verdict.locked || d->stored != GRANT_DENY))
                return DECIDED_BY_POLICY;
        if (d->stored == GRANT_DENY)
                return DECIDED_BY_STORED;
        if (rule == POLICY_PROMPT && d->verdict.locked)
                return DECIDED_BY_POLICY;
        if (d->stored == GRANT_ALLOW)
                return DECIDED_BY_STORED;
        return DECIDED_BY_NOTHING;
}

void access_decide(const Policy *policy, GrantStore *grants, const AccessQuery *q, uint64_t now,
                   AccessDecision *ret) {
        PolicyQuery pq = {
                .uid = q->subject->uid,
                .app_id = q->subject->app_id,
                .origin = q->origin,
                .kind = q->kind,
                .hardware_id = q->hardware_id,
        };
        bool polkit_allowed = q->polkit != POLKIT_ANSWER_NO;

        *ret = (AccessDecision){ .outcome = POLICY_DENY, .source = DECIDED_BY_ERROR };
        if (policy_evaluate(policy, &pq, &ret->verdict) < 0) {
                ret->verdict = (PolicyVerdict){};
                return;
        }
        ret->stored = grants ? grant_store_lookup(grants, pq.uid, pq.app_id, pq.origin, pq.kind, pq.hardware_id, now)
                             : GRANT_NONE;
        ret->outcome = policy_resolve(&ret->verdict, polkit_allowed, stored_as_policy(ret->stored));
        ret->source = source_of(ret, polkit_allowed);
}

void access_decision_done(AccessDecision *d) {
        policy_verdict_done(&d->verdict);
}

Denial access_decision_denial(const AccessDecision *d) {
        switch (d->source) {
        case DECIDED_BY_POLICY:
                return DENIAL_POLICY;
        case DECIDED_BY_POLKIT:
                return DENIAL_POLKIT;
        case DECIDED_BY_STORED:
                return DENIAL_STORED;
        default:
                return DENIAL_POLICY_ERROR;
        }
}

char *access_decision_explain(const AccessDecision *d, const char *app_id, DeviceKind kind) {
        const DenialContext c = {
                .app_id = app_id,
                .kind = kind,
                .rule_file = d->verdict.file,
                .rule_line = d->verdict.line,
        };

        return denial_message(access_decision_denial(d), &c);
}
