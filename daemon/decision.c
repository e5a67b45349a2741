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

char *access_decision_explain(const AccessDecision *d, const char *app_id, DeviceKind kind) {
        const char *what = kind == DEVICE_KIND_VIDEO ? "camera" : "microphone";
        char *s = NULL;
        int r;

        switch (d->source) {
        case DECIDED_BY_POLICY:
                r = asprintf(&s, "The admin policy denies the %s (%s:%u); an administrator can change "
                                 "it (mediactl policy check).",
                             what, strempty(d->verdict.file), d->verdict.line);
                break;
        case DECIDED_BY_POLKIT:
                r = asprintf(&s, "polkit does not allow this user the %s here (for example outside an "
                                 "active local session).",
                             what);
                break;
        case DECIDED_BY_STORED:
                r = asprintf(&s, "The %s was denied to %s before; 'mediactl grants revoke %s %s' asks again.",
                             what, app_id, app_id, what);
                break;
        case DECIDED_BY_ERROR:
                r = asprintf(&s, "The admin policy could not be evaluated for this caller.");
                break;
        default:
                r = asprintf(&s, "Permission denied.");
                break;
        }
        return r < 0 ? NULL : s;
}
