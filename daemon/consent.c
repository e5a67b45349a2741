/* The consent agents of each uid and the prompts sent to them: registration rules and limits,
 * the Prompt call with sanitized details, time-outs, Cancel, and fail-closed answers. */
#include "consent.h"

#include <systemd/sd-event.h>

#include "log.h"
#include "mediagate-names.h"
#include "sanitize.h"
#include "sessions.h"
#include "util.h"

typedef struct Agent Agent;

struct Agent {
        ConsentRegistry *registry;
        char *unique_name; /* the agent's connection */
        char *object_path;
        uid_t uid;
        Prompt *prompts; /* open prompts asked of this agent */
        Agent *prev, *next;
};

struct ConsentRegistry {
        Agent *agents; /* most recently registered first: the first match is the one asked */
        size_t n_agents;
};

struct Prompt {
        unsigned n_ref;
        Agent *agent; /* NULL once the prompt is over */
        sd_bus *bus;
        char *request_id;
        char **offered_ids; /* the device ids as sent: an answer may only pick among them */
        sd_bus_slot *slot;  /* the pending Prompt call */
        sd_event_source *timeout;
        prompt_callback_t cb;
        void *userdata;
        bool done; /* answered or withdrawn: the callback never runs (again) */
        Prompt *prev, *next; /* in agent->prompts */
};

static const char *const decision_names[_DECISION_MAX] = {
        [DECISION_ALLOW_ONCE] = "allow-once",
        [DECISION_ALLOW_ALWAYS] = "allow-always",
        [DECISION_ALLOW_TIMED] = "allow-timed",
        [DECISION_DENY_ONCE] = "deny-once",
        [DECISION_DENY_ALWAYS] = "deny-always",
        [DECISION_DISMISSED] = "dismissed",
};

const char *decision_to_string(Decision d) {
        if (d < 0 || d >= _DECISION_MAX)
                return NULL;
        return decision_names[d];
}

Decision decision_from_string(const char *s) {
        if (!s)
                return _DECISION_INVALID;
        for (Decision d = 0; d < _DECISION_MAX; d++)
                if (streq(decision_names[d], s))
                        return d;
        return _DECISION_INVALID;
}

void prompt_result_done(PromptResult *result) {
        strv_free(result->devices);
        result->devices = NULL;
}

/* Prompts */

static void prompt_detach(Prompt *p) {
        Agent *a = p->agent;

        if (a) {
                if (p->prev)
                        p->prev->next = p->next;
                else
                        a->prompts = p->next;
                if (p->next)
                        p->next->prev = p->prev;
                p->prev = p->next = NULL;
                p->agent = NULL;
        }
        /* Dropping the slot drops the reply callback: an answer that comes later is discarded
         * by sd-bus and can never reach a closed prompt. */
        p->slot = sd_bus_slot_unref(p->slot);
        p->timeout = sd_event_source_disable_unref(p->timeout);
}

static Prompt *prompt_free(Prompt *p) {
        prompt_detach(p);
        sd_bus_unref(p->bus);
        free(p->request_id);
        strv_free(p->offered_ids);
        free(p);
        return NULL;
}
Prompt *prompt_unref(Prompt *p) {
        if (!p || --p->n_ref > 0)
                return NULL;
        return prompt_free(p);
}
DEFINE_CLEANUP_FUNC(Prompt, prompt_unref);

/* Agent.Cancel(request_id), not waiting for an answer: a dead or stuck agent must not hold
 * anything up, and there is nothing to do with its reply. */
static void prompt_send_cancel(Prompt *p) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        if (!p->agent)
                return;
        r = sd_bus_message_new_method_call(p->bus, &call, p->agent->unique_name, p->agent->object_path,
                                           MG_IFACE_AGENT, "Cancel");
        if (r >= 0)
                r = sd_bus_message_append(call, "s", p->request_id);
        if (r >= 0)
                r = sd_bus_message_set_expect_reply(call, false);
        if (r >= 0)
                r = sd_bus_send(p->bus, call, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to send Cancel(%s) to the consent agent %s: %m", p->request_id,
                                p->agent->unique_name);
}

/* The one way a prompt ends with its callback: detach, tell, drop consent.c's reference (held
 * until the callback returned, so that the asker may drop its own from within it). */
static void prompt_complete(Prompt *p, int error, const PromptResult *result) {
        p->done = true;
        prompt_detach(p);
        p->cb(error, result, p->userdata);
        prompt_unref(p);
}

static void prompt_dismiss(Prompt *p) {
        prompt_complete(p, 0, &(const PromptResult){ .decision = DECISION_DISMISSED });
}

static int on_prompt_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Prompt *p = userdata;

        log_info("The consent agent %s did not answer %s in time; withdrawing the prompt.",
                 p->agent->unique_name, p->request_id);
        prompt_send_cancel(p);
        prompt_complete(p, -ETIMEDOUT, NULL);
        return 0;
}

static int on_prompt_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(prompt_result_done) PromptResult result = {};
        Prompt *p = userdata;
        const char *sender;
        int r;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                /* The agent refused, failed, or left the bus (the bus then answers for it). */
                log_info("The consent agent %s gave no answer to %s (%s: %s); dismissed.", p->agent->unique_name,
                         p->request_id, e->name, strempty(e->message));
                prompt_dismiss(p);
                return 0;
        }

        /* The bus delivers a method return only from the connection it was addressed to (it
         * matches the reply serial and the sender); a real bus never breaks this, and the check
         * keeps it so on any other transport. */
        sender = sd_bus_message_get_sender(reply);
        if (sender && !streq(sender, p->agent->unique_name)) {
                log_warning("An answer to %s came from %s instead of the consent agent %s, denying.",
                            p->request_id, sender, p->agent->unique_name);
                prompt_complete(p, -EBADMSG, NULL);
                return 0;
        }

        r = prompt_result_parse(reply, p->offered_ids, &result);
        if (r < 0) {
                log_warning_errno(r, "Malformed answer from the consent agent %s to %s, denying: %m",
                                  p->agent->unique_name, p->request_id);
                prompt_complete(p, r, NULL);
                return 0;
        }
        prompt_complete(p, 0, &result);
        return 0;
}

Prompt *prompt_cancel(Prompt *p) {
        if (!p)
                return NULL;
        if (!p->done) {
                p->done = true;
                prompt_send_cancel(p);
                prompt_detach(p);
                prompt_unref(p); /* consent.c's reference: the prompt is over */
        }
        return prompt_unref(p);
}

/* Agents */

static Agent *agent_free(Agent *a) {
        if (!a)
                return NULL;
        free(a->unique_name);
        free(a->object_path);
        free(a);
        return NULL;
}

static void agent_link_first(ConsentRegistry *reg, Agent *a) {
        a->registry = reg;
        a->prev = NULL;
        a->next = reg->agents;
        if (reg->agents)
                reg->agents->prev = a;
        reg->agents = a;
        reg->n_agents++;
}

static void agent_unlink(Agent *a) {
        ConsentRegistry *reg = a->registry;

        if (!reg)
                return;
        if (a->prev)
                a->prev->next = a->next;
        else
                reg->agents = a->next;
        if (a->next)
                a->next->prev = a->prev;
        a->prev = a->next = NULL;
        a->registry = NULL;
        reg->n_agents--;
}

/* The agent goes: out of the registry first, so that nothing run from a prompt's callback can
 * pick it again; then its open prompts end as dismissed (with Cancel when it is still there to
 * be told). */
static void agent_remove(Agent *a, bool send_cancel) {
        Prompt *p;

        agent_unlink(a);
        while ((p = a->prompts)) {
                if (send_cancel)
                        prompt_send_cancel(p);
                prompt_dismiss(p);
        }
        agent_free(a);
}

static Agent *agent_find(ConsentRegistry *reg, const char *unique_name, const char *object_path) {
        if (!reg)
                return NULL;
        for (Agent *a = reg->agents; a; a = a->next)
                if (streq(a->unique_name, unique_name) && streq(a->object_path, object_path))
                        return a;
        return NULL;
}

static Agent *agent_for_uid(ConsentRegistry *reg, uid_t uid) {
        Agent *root = NULL;

        if (!reg || uid == UID_INVALID)
                return NULL;
        for (Agent *a = reg->agents; a; a = a->next) {
                if (a->uid == uid)
                        return a;
                if (a->uid == 0 && !root)
                        root = a;
        }
        return root;
}

/* As agent_for_uid(), among the agents the caller's session may be shown in. *ret_not_in_front:
 * whether the caller's session being away is what left none. */
static Agent *agent_for_caller(Manager *m, uid_t uid, const char *caller_name, bool *ret_not_in_front) {
        Agent *root = NULL;

        *ret_not_in_front = false;
        if (!m->consent || uid == UID_INVALID)
                return NULL;
        for (Agent *a = m->consent->agents; a; a = a->next) {
                if (a->uid != uid && a->uid != 0)
                        continue;
                switch (sessions_agent_may_ask(m->sessions, a->unique_name, caller_name, uid)) {
                case SESSIONS_CALLER_NOT_IN_FRONT:
                        *ret_not_in_front = true;
                        return NULL;
                case SESSIONS_AGENT_ELSEWHERE:
                        continue;
                default:
                        break;
                }
                if (a->uid == uid)
                        return a;
                if (!root)
                        root = a;
        }
        return root;
}

ConsentRegistry *consent_registry_new(void) {
        return calloc(1, sizeof(ConsentRegistry));
}

ConsentRegistry *consent_registry_free(ConsentRegistry *reg) {
        if (!reg)
                return NULL;
        while (reg->agents)
                agent_remove(reg->agents, true);
        free(reg);
        return NULL;
}

int consent_register_agent(Manager *m, const Caller *caller, const char *object_path, sd_bus_error *error) {
        size_t n_same_uid = 0;
        Agent *a;

        if (!caller || caller->uid == UID_INVALID || isempty(caller->unique_name)) {
                sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "The caller's identity is not known.");
                return -EACCES;
        }
        /* An agent answers for every app of its uid; an app in a sandbox could then grant itself
         * what its sandbox is meant to hold back. */
        if (caller->app_kind == CALLER_APP_FLATPAK || caller->app_kind == CALLER_APP_SNAP) {
                sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                 "Sandboxed applications cannot act as consent agents.");
                return -EACCES;
        }
        if (!object_path || !sd_bus_object_path_is_valid(object_path)) {
                sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid object path.");
                return -EINVAL;
        }

        if (!m->consent) {
                m->consent = consent_registry_new();
                if (!m->consent)
                        return -ENOMEM;
        }

        a = agent_find(m->consent, caller->unique_name, object_path);
        if (a) {
                /* Registering again is how an agent becomes the one asked once more. */
                agent_unlink(a);
                agent_link_first(m->consent, a);
                log_debug("Consent agent %s %s registered again for uid %u.", a->unique_name, a->object_path,
                          (unsigned) a->uid);
                return 0;
        }

        for (Agent *i = m->consent->agents; i; i = i->next)
                if (i->uid == caller->uid)
                        n_same_uid++;
        if (n_same_uid >= CONSENT_AGENTS_PER_UID_MAX || m->consent->n_agents >= CONSENT_AGENTS_MAX) {
                sd_bus_error_setf(error, MG_ERROR_LIMITS_EXCEEDED, "Too many consent agents%s.",
                                  n_same_uid >= CONSENT_AGENTS_PER_UID_MAX ? " for this user" : "");
                return -EDQUOT;
        }

        a = calloc(1, sizeof(Agent));
        if (!a)
                return -ENOMEM;
        a->uid = caller->uid;
        a->unique_name = strdup(caller->unique_name);
        a->object_path = strdup(object_path);
        if (!a->unique_name || !a->object_path) {
                agent_free(a);
                return -ENOMEM;
        }
        agent_link_first(m->consent, a);
        log_info("Consent agent %s %s (%s) registered for uid %u.", a->unique_name, a->object_path,
                 strempty(caller->app_id), (unsigned) a->uid);
        return 0;
}

int consent_unregister_agent(Manager *m, const Caller *caller, const char *object_path, sd_bus_error *error) {
        Agent *a;

        if (!caller || !object_path)
                return -EINVAL;
        a = agent_find(m->consent, caller->unique_name, object_path);
        if (!a) {
                sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                  "No consent agent at %.256s was registered by this connection.", object_path);
                return -EINVAL;
        }
        log_info("Consent agent %s %s unregistered.", a->unique_name, a->object_path);
        agent_remove(a, true);
        return 0;
}

bool consent_has_agent(Manager *m, uid_t uid) {
        return agent_for_uid(m->consent, uid) != NULL;
}

void consent_peer_gone(Manager *m, const char *unique_name) {
        Agent *a;

        if (!unique_name)
                return;
        /* Look again from the start after each removal: the callbacks of its prompts run in
         * between and may change the list. */
        for (;;) {
                a = NULL;
                for (Agent *i = m->consent ? m->consent->agents : NULL; i; i = i->next)
                        if (streq(i->unique_name, unique_name)) {
                                a = i;
                                break;
                        }
                if (!a)
                        return;
                log_info("Consent agent %s %s left the bus.", a->unique_name, a->object_path);
                agent_remove(a, false);
        }
}

void consent_free_all(Manager *m) {
        m->consent = consent_registry_free(m->consent);
}

/* Building the Prompt call. Each string is sanitized into a temporary that the message copies. */

static int append_string_entry(sd_bus_message *call, const char *key, char *sanitized) {
        _cleanup_free_ char *s = sanitized;

        if (!s)
                return -ENOMEM;
        return sd_bus_message_append(call, "{sv}", key, "s", s);
}

static int append_kinds(sd_bus_message *call, char **kinds) {
        int r;

        r = sd_bus_message_open_container(call, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(call, "s", "kinds");
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "s");
        for (char **k = kinds; r >= 0 && k && *k; k++) {
                _cleanup_free_ char *s = sanitize_app_id(*k);

                r = s ? sd_bus_message_append(call, "s", s) : -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        return r;
}

static int append_devices(sd_bus_message *call, const PromptDevice *devices, size_t n, char ***offered_ids) {
        int r;

        r = sd_bus_message_open_container(call, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(call, "s", "devices");
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'v', "a(sss)");
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "(sss)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *id = sanitize_app_id(devices[i].id), *kind = sanitize_app_id(devices[i].kind),
                                    *label = sanitize_label(devices[i].label);

                if (!id || !kind || !label)
                        return -ENOMEM;
                r = sd_bus_message_append(call, "(sss)", id, kind, label);
                if (r >= 0)
                        r = strv_extend(offered_ids, id);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        return r;
}

int consent_prompt(Manager *m, uid_t uid, const char *request_id, const PromptDetails *details,
                   prompt_callback_t cb, void *userdata, Prompt **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(prompt_unrefp) Prompt *p = NULL;
        bool not_in_front;
        Agent *a;
        int r;

        if (!m || isempty(request_id) || !details || !cb || !ret)
                return -EINVAL;
        a = agent_for_caller(m, uid, details->unique_name, &not_in_front);
        if (!a)
                return not_in_front ? PROMPT_NOT_IN_FRONT : PROMPT_NO_AGENT;

        p = calloc(1, sizeof(Prompt));
        if (!p)
                return -ENOMEM;
        p->n_ref = 1;
        p->bus = sd_bus_ref(m->bus);
        p->cb = cb;
        p->userdata = userdata;
        p->request_id = strdup(request_id);
        if (!p->request_id)
                return -ENOMEM;

        r = sd_bus_message_new_method_call(m->bus, &call, a->unique_name, a->object_path, MG_IFACE_AGENT, "Prompt");
        if (r < 0)
                return r;
        r = sd_bus_message_append(call, "s", request_id);
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "{sv}");
        if (r >= 0)
                r = append_string_entry(call, "app_id", sanitize_app_id(details->app_id));
        if (r >= 0)
                r = append_string_entry(call, "origin", sanitize_origin(details->origin));
        if (r >= 0)
                r = append_string_entry(call, "reason", sanitize_reason(details->reason));
        if (r >= 0)
                r = append_kinds(call, details->kinds);
        if (r >= 0)
                r = append_devices(call, details->devices, details->n_devices, &p->offered_ids);
        if (r >= 0)
                r = sd_bus_message_append(call, "{sv}{sv}", "uid", "u", (uint32_t) details->uid,
                                          "pid", "u", (uint32_t) details->pid);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r < 0)
                return r;

        /* The spec lets a prompt wait forever; a configured time-out is ours to keep, with our
         * own timer, so that a time-out and an agent that left (the bus answers NoReply for it)
         * cannot be mistaken for one another. */
        r = sd_bus_call_async(m->bus, &p->slot, call, on_prompt_reply, p, UINT64_MAX);
        if (r < 0)
                return r;
        if (m->config.prompt_timeout_usec > 0) {
                if (!m->event)
                        return -ENXIO;
                r = sd_event_add_time_relative(m->event, &p->timeout, CLOCK_MONOTONIC,
                                               m->config.prompt_timeout_usec, 1000, on_prompt_timeout, p);
                if (r < 0)
                        return r;
        }

        /* Open: consent.c's own reference, until the prompt is over. */
        p->n_ref++;
        p->agent = a;
        p->next = a->prompts;
        if (a->prompts)
                a->prompts->prev = p;
        a->prompts = p;
        log_debug("Asked the consent agent %s %s about %s.", a->unique_name, a->object_path, request_id);
        *ret = TAKE_PTR(p);
        return PROMPT_SENT;
}

/* Answers */

static int read_result_entry(sd_bus_message *reply, bool *seen_seconds, uint32_t *seconds, bool *seen_devices,
                             char ***devices) {
        const char *key;
        int r;

        r = sd_bus_message_read(reply, "s", &key);
        if (r < 0)
                return r;

        if (streq(key, "seconds")) {
                if (*seen_seconds)
                        return -EBADMSG;
                *seen_seconds = true;
                r = sd_bus_message_enter_container(reply, 'v', "u");
                if (r <= 0)
                        return -EBADMSG;
                r = sd_bus_message_read(reply, "u", seconds);
        } else if (streq(key, "devices")) {
                if (*seen_devices)
                        return -EBADMSG;
                *seen_devices = true;
                r = sd_bus_message_enter_container(reply, 'v', "as");
                if (r <= 0)
                        return -EBADMSG;
                r = sd_bus_message_read_strv(reply, devices);
        } else
                /* Unknown keys are for future agents; what they hold does not matter here. */
                return sd_bus_message_skip(reply, "v");
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

int prompt_result_parse(sd_bus_message *reply, char * const *offered_ids, PromptResult *ret) {
        _cleanup_strv_free_ char **devices = NULL;
        bool seen_seconds = false, seen_devices = false;
        const char *signature, *decision_string;
        uint32_t seconds = 0;
        Decision decision;
        int r;

        if (!reply || !ret)
                return -EINVAL;

        signature = sd_bus_message_get_signature(reply, true);
        if (!streq_ptr(signature, "sa{sv}"))
                return -EBADMSG;

        r = sd_bus_message_read(reply, "s", &decision_string);
        if (r <= 0)
                return -EBADMSG;
        decision = decision_from_string(decision_string);
        if (decision < 0)
                return -EBADMSG;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r <= 0)
                return -EBADMSG;
        for (;;) {
                r = sd_bus_message_enter_container(reply, 'e', "sv");
                if (r < 0)
                        return -EBADMSG;
                if (r == 0)
                        break;
                r = read_result_entry(reply, &seen_seconds, &seconds, &seen_devices, &devices);
                if (r < 0)
                        return r == -ENOMEM ? r : -EBADMSG;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return -EBADMSG;
        }
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return -EBADMSG;

        if (decision == DECISION_ALLOW_TIMED) {
                if (!seen_seconds || seconds < 1 || seconds > CONSENT_TIMED_SECONDS_MAX)
                        return -EBADMSG;
        } else
                seconds = 0;

        if (seen_devices) {
                /* A picked subset narrows the grant; anything that is not one is no answer. The
                 * length check first keeps the duplicate search below small. */
                if (!devices || !devices[0] || strv_length(devices) > strv_length(offered_ids))
                        return -EBADMSG;
                for (char **d = devices; *d; d++) {
                        if (!strv_contains(offered_ids, *d))
                                return -EBADMSG;
                        for (char **e = devices; e < d; e++)
                                if (streq(*e, *d))
                                        return -EBADMSG;
                }
        }

        *ret = (PromptResult){
                .decision = decision,
                .seconds = seconds,
                .devices = TAKE_PTR(devices),
        };
        return 0;
}
