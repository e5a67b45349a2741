/* Why a request was refused, as a NotAllowedError's Response says it: the cause for programs
 * ("denied_by"), and for people a sentence naming what refused (the policy rule, the stored
 * decision, polkit, the missing agent, ...) and the command that changes it. Pure. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <sys/types.h>

#include "devices/device.h"

typedef enum Denial {
        DENIAL_POLICY,         /* a rule of the admin policy */
        DENIAL_POLICY_ERROR,   /* the policy could not be evaluated */
        DENIAL_POLKIT,         /* polkit said no, or could not be asked */
        DENIAL_STORED,         /* the user's stored "always deny" */
        DENIAL_USER,           /* the user answered deny just now */
        DENIAL_DISMISSED,      /* the prompt was closed without an answer */
        DENIAL_NOTHING_CHOSEN, /* the user picked no device of a kind */
        DENIAL_NO_AGENT,       /* nobody to ask */
        DENIAL_AGENT_FAILED,   /* the agent could not show or answer the prompt */
        DENIAL_TIMEOUT,        /* nobody answered within PromptTimeoutSec= */
        DENIAL_BACKOFF,        /* refused too often: not asked again for a while */
        DENIAL_NOT_IN_FRONT,   /* the asking session is not in front: nobody there to ask */
        _DENIAL_MAX,
        _DENIAL_INVALID = -EINVAL,
} Denial;

/* "policy", "policy-error", "polkit", "stored", "user", "dismissed", "nothing-chosen",
 * "no-agent", "agent-failed", "timeout", "backoff", "not-in-front": Response's
 * results["denied_by"]. */
const char *denial_to_string(Denial d);
Denial denial_from_string(const char *s);

/* What the sentence may name. */
typedef struct DenialContext {
        const char *app_id;    /* as the daemon identified the caller */
        const char *origin;    /* NULL or "": none */
        DeviceKind kind;
        const char *rule_file; /* DENIAL_POLICY: the deciding rule, when known */
        unsigned rule_line;
        uid_t uid;
} DenialContext;

/* One line: what refused, then what changes it ("... To be asked again: mediactl grants revoke
 * APP camera"). App ids and origins in commands are quoted for a POSIX shell where they need it.
 * NULL only when out of memory. */
char *denial_message(Denial d, const DenialContext *c);
