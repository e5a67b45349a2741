/* Consent agents: who registered to answer for which uid, and the prompts sent to them
 * (org.mediagate.MediaGate1.Agent.Prompt/Cancel), with the validation of their answers. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "caller.h"
#include "manager-state.h"

/* Agents allowed at once: per uid, and in all. */
#define CONSENT_AGENTS_PER_UID_MAX 8
#define CONSENT_AGENTS_MAX 256

/* The longest allow-timed grant an agent may give: a year. */
#define CONSENT_TIMED_SECONDS_MAX 31536000u

typedef enum Decision {
        DECISION_ALLOW_ONCE,
        DECISION_ALLOW_ALWAYS,
        DECISION_ALLOW_TIMED,
        DECISION_DENY_ONCE,
        DECISION_DENY_ALWAYS,
        DECISION_DISMISSED,
        _DECISION_MAX,
        _DECISION_INVALID = -EINVAL,
} Decision;

/* "allow-once", "allow-always", "allow-timed", "deny-once", "deny-always", "dismissed". */
const char *decision_to_string(Decision d); /* NULL when out of range */
Decision decision_from_string(const char *s); /* _DECISION_INVALID for anything else */

typedef struct PromptDevice {
        const char *id, *kind, *label; /* kind "audioinput"/"videoinput" */
} PromptDevice;

typedef struct PromptDetails {
        const char *unique_name;               /* the asking connection: its login session picks the agent */
        const char *app_id, *origin, *reason; /* raw; consent.c sanitizes before sending */
        char **kinds;                          /* "camera", "microphone" */
        const PromptDevice *devices;
        size_t n_devices;
        uid_t uid;
        pid_t pid;
} PromptDetails;

typedef struct PromptResult {
        Decision decision;
        uint32_t seconds; /* allow-timed only (1..CONSENT_TIMED_SECONDS_MAX), else 0 */
        char **devices;   /* NULL = all candidates; else a non-empty subset of the ids sent */
} PromptResult;

void prompt_result_done(PromptResult *result);

/* The agent's answer: error < 0 when there is none: -ETIMEDOUT (the configured prompt timeout
 * passed; the agent was sent Cancel), -EBADMSG (the answer was malformed: fail closed). An agent
 * that answers with a D-Bus error, unregisters, or leaves the bus gives DECISION_DISMISSED with
 * error 0. result is borrowed for the call. Called once, never after prompt_cancel(), nor from
 * within consent_prompt(). consent.c holds its own reference while the callback runs: the asker
 * may drop its reference (prompt_unref() or prompt_cancel()) from within it. */
typedef void (*prompt_callback_t)(int error, const PromptResult *result, void *userdata);

typedef struct Prompt Prompt;
typedef struct ConsentRegistry ConsentRegistry;

/* The registry lives in m->consent. consent_register_agent() creates it when it is NULL.
 * Freeing it removes every agent: open prompts are withdrawn (Cancel) and complete as
 * DECISION_DISMISSED. */
ConsentRegistry *consent_registry_new(void); /* NULL when out of memory */
ConsentRegistry *consent_registry_free(ConsentRegistry *r);

/* RegisterAgent(o path): the agent at (caller's connection, path) serves caller->uid; uid 0
 * serves every uid without an agent of its own. Registering the same (connection, path) again
 * makes it the most recent one (the one asked) and is not an error. Errors (set in *error):
 * AccessDenied for sandboxed callers (Flatpak, Snap: an app must not answer its own prompts) and
 * callers without a valid uid, InvalidArgs for a bad path, LimitsExceeded past
 * CONSENT_AGENTS_PER_UID_MAX for the uid or CONSENT_AGENTS_MAX in all. */
int consent_register_agent(Manager *m, const Caller *caller, const char *object_path, sd_bus_error *error);

/* UnregisterAgent(o path): only by the connection that registered it, else InvalidArgs. Its open
 * prompts are withdrawn (Cancel) and complete as DECISION_DISMISSED. */
int consent_unregister_agent(Manager *m, const Caller *caller, const char *object_path, sd_bus_error *error);

/* Whether consent_prompt() would find an agent for uid. */
bool consent_has_agent(Manager *m, uid_t uid);

/* Ask the agent that serves uid (its most recent own agent, else the most recent agent of uid 0)
 * about a request; where logind is followed, only an agent the asking connection's session may be
 * shown in (sessions_agent_may_ask()), and never while that session is not in front. Every string of details is sanitized first (sanitize.h: sanitize_app_id(),
 * _origin(), _reason(), _label() give exactly what is shown; device ids and kinds are capped like
 * app ids). The call waits m->config.prompt_timeout_usec when it is not 0, else for as long as it
 * takes. Returns PROMPT_SENT with *ret holding the asker's reference, PROMPT_NO_AGENT when no agent
 * serves uid (NotAllowedError "no consent agent"), or a negative errno when the call could not be
 * sent (the callback is then never called). */
typedef enum PromptSent {
        PROMPT_SENT,
        PROMPT_NO_AGENT,
        PROMPT_NOT_IN_FRONT, /* the asking session (or, outside any, its uid's) is not in front */
} PromptSent;
int consent_prompt(Manager *m, uid_t uid, const char *request_id, const PromptDetails *details,
                   prompt_callback_t cb, void *userdata, Prompt **ret);

/* Withdraw an open prompt: the agent is sent Cancel(request_id) (no reply awaited) and the callback
 * does not run. Drops the asker's reference; NULL is fine, and so is a prompt already over. */
Prompt *prompt_cancel(Prompt *p);
/* Drop the asker's reference without withdrawing anything (for a prompt that is over). */
Prompt *prompt_unref(Prompt *p);

/* The connection left the bus: its agents go, their open prompts complete as DECISION_DISMISSED. */
void consent_peer_gone(Manager *m, const char *unique_name);

/* At shutdown: every agent goes, open prompts are withdrawn (Cancel) and complete as
 * DECISION_DISMISSED, the registry is freed and m->consent is NULL. */
void consent_free_all(Manager *m);

/* Pure: read an agent's answer `(s decision, a{sv} results)` from reply, positioned at its start,
 * against the device ids that were offered. Fail closed: an unknown decision, allow-timed without
 * results["seconds"] (u) in 1..CONSENT_TIMED_SECONDS_MAX, results["devices"] (as) that is empty,
 * repeats an id or names an id not offered, a known key of the wrong type, a key given twice, or
 * another signature are all -EBADMSG. Unknown keys are ignored. */
int prompt_result_parse(sd_bus_message *reply, char * const *offered_ids, PromptResult *ret);
