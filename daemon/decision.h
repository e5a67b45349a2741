/* The one decision on whether an app may use a camera or microphone now: the admin policy, polkit
 * and the user's stored decisions, in that precedence (policy.h, policy_resolve()). GetUserMedia
 * takes it before prompting and again, against the policy and store in force, when the user has
 * answered and before any device opens; QueryPermission takes it without polkit's answer; a
 * policy reload or a stored deny takes it again for every live track. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "caller.h"
#include "denial.h"
#include "devices/device.h"
#include "grants.h"
#include "policy.h"

/* What decided. */
typedef enum DecisionSource {
        DECIDED_BY_POLICY,   /* an admin policy rule (its file and line are in the verdict) */
        DECIDED_BY_POLKIT,   /* polkit refused */
        DECIDED_BY_STORED,   /* the user's stored allow or deny */
        DECIDED_BY_NOTHING,  /* no rule, nothing stored: the user is asked */
        DECIDED_BY_ERROR,    /* the policy could not be evaluated for this caller: denied */
        _DECIDED_BY_MAX,
} DecisionSource;

const char *decision_source_to_string(DecisionSource s); /* "policy", "polkit", "stored", "none", "error" */

typedef enum PolkitAnswer {
        POLKIT_ANSWER_NO,
        POLKIT_ANSWER_YES,
        POLKIT_ANSWER_UNKNOWN, /* not asked (yet): decide as if yes; polkit can still refuse later */
} PolkitAnswer;

typedef struct AccessQuery {
        const Caller *subject;   /* uid and app id (a broker's subject: the app it acts for) */
        const char *origin;      /* normalized, NULL for none */
        DeviceKind kind;
        const char *hardware_id; /* the device, NULL: the kind as a whole */
        PolkitAnswer polkit;
} AccessQuery;

typedef struct AccessDecision {
        PolicyDecision outcome; /* POLICY_ALLOW (no prompt), POLICY_PROMPT or POLICY_DENY */
        DecisionSource source;
        GrantDecision stored;   /* the stored decision that applied, GRANT_NONE if none */
        PolicyVerdict verdict;  /* the admin policy's, with the deciding rule */
} AccessDecision;

/* Decide q against policy (NULL: none) and grants at now (CLOCK_BOOTTIME µs). Never fails: an
 * error is a deny (DECIDED_BY_ERROR). Release with access_decision_done(). */
void access_decide(const Policy *policy, GrantStore *grants, const AccessQuery *q, uint64_t now,
                   AccessDecision *ret);
void access_decision_done(AccessDecision *d);

/* What refused a denied access, as Response's "denied_by" names it. */
Denial access_decision_denial(const AccessDecision *d);
/* A sentence for people on why access was denied, naming the rule and what changes it
 * (denial_message()). Returns a new string, NULL on OOM. */
char *access_decision_explain(const AccessDecision *d, const char *app_id, DeviceKind kind);
