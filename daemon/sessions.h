/* The login sessions of the callers, as logind (org.freedesktop.login1) tells them: which session
 * each connection's process belongs to, and which sessions are in front (active on their seat and
 * not locked). A prompt goes only to an agent of a session in front, and a live track whose
 * session is not in front is muted. Without logind on the bus every connection counts as in
 * front, as before sessions were followed. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

typedef struct Sessions Sessions;

int sessions_new(sd_bus *bus, Sessions **ret);
Sessions *sessions_free(Sessions *s);

/* Called after any change of what is in front (a session activated, deactivated, locked,
 * unlocked, started or ended, logind appearing or leaving). */
void sessions_set_change_handler(Sessions *s, void (*handler)(void *userdata), void *userdata);

typedef struct SessionsLookup SessionsLookup;

/* Learn the session of a connection's process (logind's GetSessionByPID). Returns 1 when it is
 * known already, or there is nothing to learn (no logind); 0 when done(userdata) runs once it is
 * known (a connection outside any session is known too), with *ret the pending lookup, which the
 * caller may cancel (done then never runs) until then; or a negative errno. */
int sessions_resolve(Sessions *s, const char *unique_name, pid_t pid, void (*done)(void *userdata), void *userdata,
                     SessionsLookup **ret);
void sessions_lookup_cancel(SessionsLookup *l); /* NULL is fine */
/* The connection left the bus. */
void sessions_forget(Sessions *s, const char *unique_name);

/* Whether a connection of uid is in front: its session is active and unlocked, or, for one
 * outside any session, uid has such a session. */
bool sessions_in_front(Sessions *s, const char *unique_name, uid_t uid);

typedef enum SessionsAgentVerdict {
        SESSIONS_AGENT_MAY_ASK,
        SESSIONS_AGENT_ELSEWHERE,    /* the agent is in another session than the caller's */
        SESSIONS_CALLER_NOT_IN_FRONT, /* the caller's session (or its uid) is not in front */
} SessionsAgentVerdict;

/* Whether the agent on connection agent_name may show a prompt of the caller: the caller's
 * session (for a caller outside any session: one of its uid's) must be in front, and the agent
 * in that session, or outside any session (a user service). */
SessionsAgentVerdict sessions_agent_may_ask(Sessions *s, const char *agent_name, const char *caller_name,
                                            uid_t caller_uid);
