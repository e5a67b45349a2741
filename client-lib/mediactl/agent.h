/* `mediactl agent`: the consent agent's core (agent.c: the Agent object on the bus, its open
 * prompts and how they are answered) and the one small interface its front ends implement: the
 * terminal (agent-terminal.c), desktop notifications (agent-notifications.c) and the automatic
 * answer (agent-auto.c). The core knows no front end; agent-command.c picks one. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "mediactl.h"

#define ALLOW_TIMED_MAX_SECONDS 31536000u /* a year, as the Agent interface allows */

typedef struct PromptDevice {
        char *id, *kind, *label; /* kind: "audioinput" or "videoinput" */
} PromptDevice;

typedef struct Agent Agent;

/* One Prompt call, answered later when the user has decided. */
typedef struct Prompt {
        Agent *agent;
        sd_bus_message *call; /* NULL once answered */
        unsigned number;      /* 1, 2, ... in the order asked: how people name it */
        char *request_id, *app_id, *origin, *reason; /* sanitized again here */
        char **kinds;         /* "camera", "microphone" */
        PromptDevice *devices;
        size_t n_devices;
        uint32_t uid, pid;
        bool have_uid, have_pid;
        AppInfo app;          /* the app's name and icon from its desktop entry */
        sd_event_source *timeout_source; /* --timeout */
        struct Prompt *next;
} Prompt;

/* Why a prompt ends without the user's answer. */
typedef enum PromptEnd {
        PROMPT_END_WITHDRAWN, /* the daemon cancelled it: the request went away */
        PROMPT_END_TIMEOUT,   /* nobody answered within --timeout */
        PROMPT_END_LEAVING,   /* the agent quits, or the daemon left */
} PromptEnd;

/* How prompts reach a person. The core queues each prompt and calls ask(); the front end answers
 * it later with agent_answer(), or gives up with agent_dismiss(). When a prompt ends otherwise,
 * the core calls withdraw() first: the front end takes down what it shows and forgets p, which
 * is freed right after. */
typedef struct AgentFrontend {
        const char *mode; /* "interactive", "notifications", "auto": --json's "ready" event */
        int (*start)(Agent *a); /* prints its errors */
        void (*ask)(Agent *a, Prompt *p);
        void (*withdraw)(Agent *a, Prompt *p, PromptEnd how);
        void (*stop)(Agent *a);
        /* the "ready" line, translated */
        void (*print_ready)(Agent *a);
} AgentFrontend;

extern const AgentFrontend agent_frontend_terminal;
extern const AgentFrontend agent_frontend_notifications;
extern const AgentFrontend agent_frontend_auto;

typedef struct AgentOptions {
        const char *auto_decision; /* --auto */
        uint32_t seconds;          /* --seconds, for --auto allow-timed */
        char **picks;              /* --pick: device ids or labels */
        uint32_t minutes;          /* --minutes: the timed allow the notifications offer */
        uint64_t timeout_usec;     /* --timeout: nobody answered after this long; 0: wait */
} AgentOptions;

struct Agent {
        Context *ctx;
        AgentOptions options;
        const AgentFrontend *frontend;
        void *frontend_state; /* the front end's own */
        sd_event *event;
        MgClient *client;
        sd_bus *bus;
        sd_bus_slot *object_slot, *owner_slot, *register_slot;
        char *daemon; /* unique name of the mediagated we registered with; only it may prompt us */
        Prompt *queue; /* every prompt not answered yet, oldest first */
        unsigned n_asked;
        FILE *out;     /* what is said to the user: stdout, or stderr when stdout carries JSON */
};

/* Register, run until SIGINT/SIGTERM or agent_quit(), unregister. Returns an exit code. */
int agent_run(Agent *a);
void agent_quit(Agent *a, int code);

/* The answer: reply to the daemon (with "seconds" for allow-timed and "devices" when picked is
 * not NULL), report it, and free p. */
void agent_answer(Agent *a, Prompt *p, const char *decision, uint32_t seconds, char *const *picked);
/* No answer could be had (the front end failed, the user closed it): "dismissed", said as
 * "nobody answered" when how is PROMPT_END_TIMEOUT. Frees p. */
void agent_dismiss(Agent *a, Prompt *p, PromptEnd how);

Prompt *agent_find_prompt(Agent *a, unsigned number);
/* The devices --pick names among those offered, as results "devices"; NULL when it names none. */
int agent_pick_from_arguments(const Agent *a, const Prompt *p, char ***ret);
/* matched[i]: the user named device i. A kind of which no device is named keeps every candidate,
 * so that naming a camera does not refuse the microphone asked for with it. NULL when nothing
 * was named. */
int prompt_pick(const Prompt *p, const bool *matched, char ***ret);
/* Who asks, for the log lines: "host:/usr/bin/foo", or "https://example.com in org.mozilla.firefox". */
void prompt_print_requester(FILE *f, const Prompt *p);
/* {"event": event, "request_id", "app_id", "app_name", ..., "devices": [...]} */
json_object *prompt_to_json(const Prompt *p, const char *event);

/* ---- prompt-text.c: the words of a prompt, shared by the front ends ---- */

/* "Cheese wants to use your camera", or "https://meet.example.com wants to ..." for a web page. */
char *prompt_summary(const Prompt *p);
/* "camera", "microphone" (translated) for a device kind "videoinput"/"audioinput" */
const char *prompt_device_kind_name(const char *kind);
/* The body lines, each "Label: value": App, Web site, It says, Process, Devices (numbered). */
char *prompt_details(const Prompt *p, const char *indent, bool markup);
/* "Allow? [o]nce, [t N] for N minutes, ..." */
const char *prompt_choices_text(void);

/* One answer as the terminal and `mediactl answer` take it: DECISION [MINUTES] [DEVICE NUMBERS...]
 * with DECISION o|once, a|always, t|timed, d|deny, n|never. On success 0 with the decision, the
 * seconds of a timed allow and the picked devices (NULL: as offered); else -EINVAL and
 * *ret_error says what is wrong, in words for the user. */
int prompt_parse_answer(const Prompt *p, const char *line, const char **ret_decision, uint32_t *ret_seconds,
                        char ***ret_picked, char **ret_error);
