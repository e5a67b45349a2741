/* The agent's desktop front end (--notifications): each prompt becomes a notification
 * (org.freedesktop.Notifications on the session bus) naming the app by its desktop entry, with
 * its icon, the web site apart. Where the server has actions, it first asks which device when a
 * kind has several, then offers Allow once, Deny, Allow for N minutes, Always allow and Always
 * deny. Where it has none, the notification says how to answer from a terminal (`mediactl
 * answer N ...`, served here on the session bus as org.mediagate.mediactl.Agent). Closing the
 * notification dismisses the prompt; one that expires, or --timeout, is "nobody answered". */
#include <stdlib.h>

#include "agent.h"

#define NOTIFY_NAME "org.freedesktop.Notifications"
#define NOTIFY_PATH "/org/freedesktop/Notifications"
#define NOTIFY_IFACE "org.freedesktop.Notifications"
#define NOTIFY_URGENCY_NORMAL 1
#define NOTIFY_URGENCY_CRITICAL 2
#define NOTIFY_CLOSED_EXPIRED 1

#define ANSWERS_NAME "org.mediagate.mediactl.Agent"
#define ANSWERS_PATH "/org/mediagate/mediactl/agent"
#define ANSWERS_IFACE "org.mediagate.mediactl.Agent"

/* One prompt's notification. It outlives its prompt while Notify is in flight, so that a
 * notification shown after its prompt went away is still taken down. */
typedef struct Asked {
        Agent *agent;
        Prompt *prompt;        /* NULL once the prompt is gone */
        uint32_t id;           /* the notification's, 0 until Notify answered */
        sd_bus_slot *notify_slot;
        bool *matched;         /* the devices picked so far */
        size_t stage;          /* index into the kinds to pick a device of; past them: the decision */
        char *pick_kinds[3];   /* "videoinput"/"audioinput" of which there are several devices */
        struct Asked *next;
} Asked;

typedef struct Notifications {
        sd_bus *session;
        sd_bus_slot *action_slot, *closed_slot, *answers_slot;
        bool have_actions, have_markup;
        Asked *asked;
} Notifications;

static Notifications *state_of(Agent *a) {
        return a->frontend_state;
}

static Asked *asked_free(Notifications *n, Asked *x) {
        for (Asked **i = &n->asked; *i; i = &(*i)->next)
                if (*i == x) {
                        *i = x->next;
                        break;
                }
        sd_bus_slot_unref(x->notify_slot);
        free(x->matched);
        free(x);
        return NULL;
}

static Asked *find_by_prompt(Notifications *n, const Prompt *p) {
        for (Asked *x = n->asked; x; x = x->next)
                if (x->prompt == p)
                        return x;
        return NULL;
}

static Asked *find_by_id(Notifications *n, uint32_t id) {
        for (Asked *x = n->asked; x && id != 0; x = x->next)
                if (x->id == id && x->prompt)
                        return x;
        return NULL;
}

static void close_notification(Notifications *n, uint32_t id) {
        int r;

        r = sd_bus_call_method_async(n->session, NULL, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_IFACE, "CloseNotification", NULL,
                                     NULL, "u", id);
        if (r < 0)
                fprintf(stderr, "mediactl agent: failed to close notification %u: %s\n", id, strerror(-r));
}

/* ---- what a notification says ---- */

static int append_action(sd_bus_message *m, const char *key, const char *label) {
        return sd_bus_message_append(m, "ss", key, label);
}

/* Pick a device of a kind: one action per device of it, and Deny. */
static int append_device_actions(sd_bus_message *m, const Prompt *p, const char *kind) {
        int r = 0;

        for (size_t i = 0; r >= 0 && i < p->n_devices; i++) {
                char key[32];

                if (!streq(p->devices[i].kind, kind))
                        continue;
                snprintf(key, sizeof key, "device-%zu", i);
                r = append_action(m, key, p->devices[i].label);
        }
        if (r >= 0)
                r = append_action(m, "deny", _("Deny"));
        return r;
}

/* The decision, most used first: servers that show few buttons show these. */
static int append_decision_actions(sd_bus_message *m, const Agent *a) {
        _cleanup_free_ char *timed = NULL;
        int r;

        if (asprintf(&timed, ngettext("Allow for %u minute", "Allow for %u minutes", a->options.minutes),
                     a->options.minutes) < 0)
                return -ENOMEM;
        r = append_action(m, "allow-once", _("Allow once"));
        if (r >= 0)
                r = append_action(m, "deny", _("Deny"));
        if (r >= 0)
                r = append_action(m, "allow-timed", timed);
        if (r >= 0)
                r = append_action(m, "allow-always", _("Always allow"));
        if (r >= 0)
                r = append_action(m, "deny-always", _("Always deny"));
        return r;
}

/* The summary and the body of x's current stage. */
static int build_texts(const Agent *a, const Asked *x, char **ret_summary, char **ret_body) {
        Notifications *n = a->frontend_state;
        const Prompt *p = x->prompt;
        _cleanup_free_ char *summary = prompt_summary(p), *details = prompt_details(p, "", n->have_markup), *body = NULL;
        const char *question;

        if (!summary || !details)
                return -ENOMEM;
        if (!n->have_actions)
                question = NULL;
        else if (x->pick_kinds[x->stage])
                question = streq(x->pick_kinds[x->stage], "videoinput") ? _("Which camera?") : _("Which microphone?");
        else
                question = _("Allow?");
        if (question && asprintf(&body, "%s\n%s", details, question) < 0)
                return -ENOMEM;
        if (!question && asprintf(&body, _("%s\nThis notification service has no buttons. Answer in a terminal:\n"
                                           "mediactl answer %u once|always|deny|never|timed MINUTES [DEVICE NUMBERS]"),
                                  details, p->number) < 0)
                return -ENOMEM;
        *ret_summary = TAKE_PTR(summary);
        *ret_body = TAKE_PTR(body);
        return 0;
}

/* ---- showing ---- */

static int on_notified(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error);

/* Show x's current stage, replacing what it showed before. */
static int show(Agent *a, Asked *x) {
        Notifications *n = state_of(a);
        const Prompt *p = x->prompt;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *summary = NULL, *body = NULL;
        const char *icon = p->app.icon ?: strv_contains(p->kinds, "camera") ? "camera-web" : "audio-input-microphone";
        int r;

        r = build_texts(a, x, &summary, &body);
        if (r >= 0)
                r = sd_bus_message_new_method_call(n->session, &m, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_IFACE, "Notify");
        if (r >= 0)
                r = sd_bus_message_append(m, "susss", "mediagate", x->id, icon, summary, body);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "s");
        if (r >= 0 && n->have_actions)
                r = x->pick_kinds[x->stage] ? append_device_actions(m, p, x->pick_kinds[x->stage]) :
                                              append_decision_actions(m, a);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        /* Critical and resident: the question stays until the user answers it. */
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 3, "urgency", "y", (uint8_t) NOTIFY_URGENCY_CRITICAL, "category",
                                          "s", "device", "resident", "b", 1);
        if (r >= 0)
                r = sd_bus_message_append(m, "i", a->options.timeout_usec > 0 ? (int32_t) (a->options.timeout_usec / 1000) : 0);
        if (r >= 0)
                r = sd_bus_call_async(n->session, &x->notify_slot, m, on_notified, x, 0);
        return r;
}

/* Tell, without a question, that nobody answered. */
static void show_nobody_answered(Agent *a, const Prompt *p, uint32_t replaces) {
        Notifications *n = state_of(a);
        _cleanup_free_ char *summary = prompt_summary(p);
        int r;

        r = sd_bus_call_method_async(n->session, NULL, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_IFACE, "Notify", NULL, NULL,
                                     "susssasa{sv}i", "mediagate", replaces, "dialog-information",
                                     _("Nobody answered"), strempty(summary), 0, 2, "urgency", "y",
                                     (uint8_t) NOTIFY_URGENCY_NORMAL, "transient", "b", 1, -1);
        if (r < 0)
                fprintf(stderr, "mediactl agent: failed to say that nobody answered: %s\n", strerror(-r));
}

static int on_notified(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Asked *x = userdata; /* kept while its Notify is in flight */
        Agent *a = x->agent;
        Notifications *n = state_of(a);
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint32_t id = 0;

        x->notify_slot = sd_bus_slot_unref(x->notify_slot);
        if (!e && (sd_bus_message_read(reply, "u", &id) < 0 || id == 0))
                fprintf(stderr, "mediactl agent: the notification service answered Notify() with no id.\n");
        else if (e)
                fprintf(stderr, "mediactl agent: the notification service failed: %s: %s\n", e->name, strempty(e->message));
        if (!x->prompt) {
                /* Its prompt went away meanwhile. */
                if (id != 0)
                        close_notification(n, id);
                asked_free(n, x);
                return 0;
        }
        if (id == 0) {
                /* Nobody can be asked: refuse rather than leave the request hanging. */
                Prompt *p = x->prompt;

                asked_free(n, x);
                agent_dismiss(a, p, PROMPT_END_LEAVING);
                return 0;
        }
        x->id = id;
        return 0;
}

static void notifications_ask(Agent *a, Prompt *p) {
        Notifications *n = state_of(a);
        size_t k = 0;
        Asked *x;
        int r;

        x = calloc(1, sizeof(Asked));
        if (x)
                x->matched = calloc(MAX(p->n_devices, 1u), sizeof(bool));
        if (!x || !x->matched) {
                free(x);
                agent_dismiss(a, p, PROMPT_END_LEAVING);
                return;
        }
        x->agent = a;
        x->prompt = p;
        /* A device to pick for each kind that has several, unless --pick named one already. */
        for (const char *const *kind = (const char *const[]){ "videoinput", "audioinput", NULL }; *kind; kind++) {
                size_t count = 0;

                for (size_t i = 0; i < p->n_devices; i++)
                        count += streq(p->devices[i].kind, *kind);
                if (count > 1 && !a->options.picks)
                        x->pick_kinds[k++] = (char *) *kind;
        }
        x->next = n->asked;
        n->asked = x;

        r = show(a, x);
        if (r < 0) {
                fprintf(stderr, "mediactl agent: failed to show a notification: %s\n", strerror(-r));
                asked_free(n, x);
                agent_dismiss(a, p, PROMPT_END_LEAVING);
                return;
        }
        if (a->ctx->json)
                (void) print_json_line(prompt_to_json(p, "asking"));
        else {
                fputs("mediactl agent: asking about ", a->out);
                prompt_print_requester(a->out, p);
                fprintf(a->out, " (%s) through a notification.\n", strv_contains(p->kinds, "camera") ?
                        strv_contains(p->kinds, "microphone") ? "camera and microphone" : "camera" : "microphone");
                fflush(a->out);
        }
}

/* ---- answers ---- */

/* The decision stage's answer: with the devices picked before it, or --pick's. */
static void answer(Agent *a, Asked *x, const char *decision) {
        Notifications *n = state_of(a);
        Prompt *p = x->prompt;
        _cleanup_strv_free_ char **picked = NULL;
        uint32_t seconds = streq(decision, "allow-timed") ? a->options.minutes * 60 : 0;
        int r;

        r = prompt_pick(p, x->matched, &picked);
        if (r >= 0 && !picked)
                r = agent_pick_from_arguments(a, p, &picked);
        if (r < 0)
                picked = NULL;
        /* Resident notifications stay after an action; this one is answered. */
        close_notification(n, x->id);
        asked_free(n, x);
        agent_answer(a, p, decision, seconds, picked);
}

static int on_action_invoked(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        static const char *const decisions[] = { "allow-once", "allow-timed", "allow-always", "deny-always" };
        Agent *a = userdata;
        const char *key, *device;
        uint32_t id, index;
        Asked *x;

        if (sd_bus_message_read(m, "us", &id, &key) < 0)
                return 0;
        x = find_by_id(state_of(a), id);
        if (!x || x->notify_slot)
                return 0; /* another program's notification, or one being replaced */

        if (streq(key, "deny"))
                answer(a, x, "deny-once");
        else if (!x->pick_kinds[x->stage]) {
                for (size_t i = 0; i < ELEMENTSOF(decisions); i++)
                        if (streq(key, decisions[i]))
                                answer(a, x, decisions[i]);
        } else if ((device = startswith(key, "device-")) && safe_atou32(device, &index) >= 0 &&
                   index < x->prompt->n_devices && streq(x->prompt->devices[index].kind, x->pick_kinds[x->stage])) {
                x->matched[index] = true;
                x->stage++;
                if (show(a, x) < 0) {
                        Prompt *p = x->prompt;

                        close_notification(state_of(a), x->id);
                        asked_free(state_of(a), x);
                        agent_dismiss(a, p, PROMPT_END_LEAVING);
                }
        }
        /* "default" (a click on the body) and keys we did not offer decide nothing. */
        return 0;
}

static int on_notification_closed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Agent *a = userdata;
        uint32_t id, reason;
        Prompt *p;
        Asked *x;

        if (sd_bus_message_read(m, "uu", &id, &reason) < 0)
                return 0;
        x = find_by_id(state_of(a), id);
        if (!x || x->notify_slot)
                return 0;
        p = x->prompt;
        asked_free(state_of(a), x);
        /* Closed without an action: the user did not decide. Expired: nobody was there. */
        if (reason == NOTIFY_CLOSED_EXPIRED)
                show_nobody_answered(a, p, 0);
        agent_dismiss(a, p, reason == NOTIFY_CLOSED_EXPIRED ? PROMPT_END_TIMEOUT : PROMPT_END_LEAVING);
        return 0;
}

/* `mediactl answer N ANSWER`, for servers without actions (or anyone at a terminal). */
static int method_answer(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Agent *a = userdata;
        Notifications *n = state_of(a);
        _cleanup_strv_free_ char **picked = NULL;
        _cleanup_free_ char *problem = NULL;
        const char *line, *decision;
        uint32_t number, seconds;
        Prompt *p;
        Asked *x;
        int r;

        r = sd_bus_message_read(m, "us", &number, &line);
        if (r < 0)
                return r;
        p = agent_find_prompt(a, number);
        if (!p)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, _("No open question has the number %u."), number);
        r = prompt_parse_answer(p, line, &decision, &seconds, &picked, &problem);
        if (r == -EINVAL)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, problem);
        if (r >= 0 && !picked)
                r = agent_pick_from_arguments(a, p, &picked);
        if (r < 0)
                return r;
        x = find_by_prompt(n, p);
        if (x && x->id != 0)
                close_notification(n, x->id);
        if (x)
                x->prompt = NULL; /* forgotten once its Notify, if in flight, has answered */
        if (x && !x->notify_slot)
                asked_free(n, x);
        agent_answer(a, p, decision, seconds, picked);
        return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable answers_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Answer", SD_BUS_ARGS("u", number, "s", answer), SD_BUS_NO_RESULT, method_answer,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static void notifications_withdraw(Agent *a, Prompt *p, PromptEnd how) {
        Notifications *n = state_of(a);
        Asked *x = find_by_prompt(n, p);

        if (how == PROMPT_END_WITHDRAWN) {
                fputs("mediactl agent: withdrawn: the request of ", a->out);
                prompt_print_requester(a->out, p);
                fputs(" went away.\n", a->out);
                fflush(a->out);
        }
        if (!x)
                return;
        if (how == PROMPT_END_TIMEOUT && x->id != 0)
                show_nobody_answered(a, p, x->id); /* in place of the question */
        else if (x->id != 0)
                close_notification(n, x->id);
        x->prompt = NULL;
        if (!x->notify_slot)
                asked_free(n, x);
}

/* ---- setting up ---- */

static int read_capabilities(Notifications *n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **caps = NULL;
        int r;

        r = sd_bus_call_method(n->session, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_IFACE, "GetCapabilities", NULL, &reply, "");
        if (r >= 0)
                r = sd_bus_message_read_strv(reply, &caps);
        if (r < 0)
                return r;
        n->have_actions = strv_contains(caps, "actions");
        n->have_markup = strv_contains(caps, "body-markup");
        return 0;
}

static int notifications_start(Agent *a) {
        Notifications *n;
        int r;

        n = calloc(1, sizeof(Notifications));
        if (!n)
                return print_errno(-ENOMEM, "Failed to set up notifications"), -ENOMEM;
        a->frontend_state = n;
        r = sd_bus_open_user(&n->session);
        if (r < 0)
                return print_errno(r, "Failed to connect to the session bus for notifications"), r;
        r = sd_bus_attach_event(n->session, a->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_match_signal(n->session, &n->action_slot, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_IFACE,
                                        "ActionInvoked", on_action_invoked, a);
        if (r >= 0)
                r = sd_bus_match_signal(n->session, &n->closed_slot, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_IFACE,
                                        "NotificationClosed", on_notification_closed, a);
        if (r >= 0)
                r = sd_bus_add_object_vtable(n->session, &n->answers_slot, ANSWERS_PATH, ANSWERS_IFACE, answers_vtable, a);
        if (r < 0)
                return print_errno(r, "Failed to follow the notification service"), r;
        r = sd_bus_request_name(n->session, ANSWERS_NAME, 0);
        if (r < 0)
                fprintf(stderr, "mediactl agent: another agent answers 'mediactl answer' (%s); this one still asks.\n",
                        strerror(-r));
        /* Without a server now, each prompt finds out (and is dismissed) when it asks. */
        if (read_capabilities(n) < 0)
                n->have_actions = n->have_markup = false;
        return 0;
}

static void notifications_stop(Agent *a) {
        Notifications *n = state_of(a);

        if (!n)
                return;
        while (n->asked)
                asked_free(n, n->asked);
        sd_bus_slot_unref(n->action_slot);
        sd_bus_slot_unref(n->closed_slot);
        sd_bus_slot_unref(n->answers_slot);
        if (n->session)
                sd_bus_flush_close_unref(n->session);
        free(n);
        a->frontend_state = NULL;
}

static void notifications_print_ready(Agent *a) {
        fputs(_("mediactl agent: ready; asking through desktop notifications. Ctrl-C to stop.\n"), stdout);
}

const AgentFrontend agent_frontend_notifications = {
        .mode = "notifications",
        .start = notifications_start,
        .ask = notifications_ask,
        .withdraw = notifications_withdraw,
        .stop = notifications_stop,
        .print_ready = notifications_print_ready,
};
