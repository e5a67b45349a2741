/* mediactl agent's shared parts: the agent, its open prompts, and how a prompt is answered;
 * agent.c asks on the terminal or answers alone, agent-notifications.c asks through desktop
 * notifications. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "mediactl.h"

typedef struct PromptDevice {
        char *id, *kind, *label; /* kind: "audioinput" or "videoinput" */
} PromptDevice;

typedef struct Agent Agent;

/* One Prompt call, answered later when the user has decided. */
typedef struct Prompt {
        Agent *agent;
        sd_bus_message *call; /* NULL once answered */
        char *request_id, *app_id, *origin, *reason;
        char **kinds;
        PromptDevice *devices;
        size_t n_devices;
        uint32_t uid, pid;
        bool have_uid, have_pid;

        /* --notifications */
        uint32_t notification_id; /* 0 until Notify answered */
        sd_bus_slot *notify_slot; /* Notify in flight */
        bool withdrawn;           /* answered already; close the notification once it has an id */

        struct Prompt *next;
} Prompt;

struct Agent {
        Context *ctx;
        sd_event *event;
        MgClient *client;
        sd_bus *bus;
        sd_bus_slot *object_slot, *owner_slot, *register_slot;
        char *daemon; /* unique name of the mediagated we registered with; only it may prompt us */

        /* --auto; NULL: ask the user */
        const char *auto_decision;
        uint32_t seconds;
        char **picks; /* --pick: device ids or labels */

        /* every prompt not answered yet; on the terminal its head is the question on screen */
        Prompt *queue;
        bool asking;
        FILE *out; /* what is said to the user: stdout, or stderr when stdout carries JSON */
        sd_event_source *input_source;
        char input[4096];
        size_t n_input;

        /* --notifications: the session bus, where the notification service is */
        bool notifications;
        sd_bus *session;
        sd_bus_slot *action_slot, *closed_slot;
};

Prompt *prompt_free(Prompt *p);
DEFINE_CLEANUP_FUNC(Prompt, prompt_free);
/* "camera" for "videoinput", "microphone" for "audioinput". */
const char *device_kind_name(const char *kind);
/* {"event": event, "request_id", "app_id", ..., "devices": [...]} */
json_object *prompt_to_json(const Prompt *p, const char *event);
/* "camera and microphone" */
void print_kinds(FILE *f, char *const *kinds);
/* "host:/usr/bin/foo", or "https://example.com in org.mozilla.firefox" (terminal-safe). */
void print_requester(FILE *f, const Prompt *p);
/* Send the answer (with "seconds" for allow-timed and "devices" when picked is not NULL). */
int prompt_reply(Prompt *p, const char *decision, uint32_t seconds, char *const *picked);
/* prompt_reply(), then say on stdout what was answered. */
void prompt_answer(Agent *a, Prompt *p, const char *decision, uint32_t seconds, char *const *picked);
/* The devices --pick names among those offered, as results "devices"; NULL when it names none. */
int pick_from_arguments(const Agent *a, const Prompt *p, char ***ret);
void queue_remove(Agent *a, Prompt *p);

/* ---- agent-notifications.c ---- */

/* Connect to the session bus and follow the notification service's signals. Prints errors. */
int agent_notifications_start(Agent *a);
/* Show a notification for p (already in the queue); it is answered when the user acts on it. */
void agent_notifications_ask(Agent *a, Prompt *p);
/* p was answered otherwise (withdrawn, or we are leaving): take its notification down. Returns
 * true when p may be freed now, false when it waits for the id of its notification. */
bool agent_notifications_withdraw(Agent *a, Prompt *p);
void agent_notifications_stop(Agent *a);
