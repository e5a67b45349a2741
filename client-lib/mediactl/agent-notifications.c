/* `mediactl agent --notifications`: each prompt becomes a desktop notification
 * (org.freedesktop.Notifications on the session bus) with the actions Allow once, Always allow
 * and Deny; closing it without an action dismisses the prompt. */
#include <stdlib.h>

#include "agent.h"

#define NOTIFY_NAME "org.freedesktop.Notifications"
#define NOTIFY_PATH "/org/freedesktop/Notifications"
#define NOTIFY_IFACE "org.freedesktop.Notifications"
#define NOTIFY_URGENCY_CRITICAL 2

/* The action keys, their labels, and what each answers. */
static const struct {
        const char *key, *label, *decision;
} actions[] = {
        { "allow-once", "Allow once", "allow-once" },
        { "allow-always", "Always allow", "allow-always" },
        { "deny", "Deny", "deny-once" },
};

static Prompt *find_by_notification(Agent *a, uint32_t id) {
        for (Prompt *p = a->queue; p; p = p->next)
                if (p->notification_id == id && id != 0)
                        return p;
        return NULL;
}

static void close_notification(Agent *a, uint32_t id) {
        int r;

        r = sd_bus_call_method_async(a->session, NULL, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_IFACE, "CloseNotification", NULL,
                                     NULL, "u", id);
        if (r < 0)
                fprintf(stderr, "mediactl agent: failed to close notification %u: %s\n", id, strerror(-r));
}

static void forget(Agent *a, Prompt *p) {
        queue_remove(a, p);
        prompt_free(p);
}

/* The body may carry markup (the specification's "body-markup" subset): what the app and the
 * daemon say is text, so it is escaped. */
static void put_escaped(FILE *f, const char *s) {
        for (; s && *s; s++)
                switch (*s) {
                case '&':
                        fputs("&amp;", f);
                        break;
                case '<':
                        fputs("&lt;", f);
                        break;
                case '>':
                        fputs("&gt;", f);
                        break;
                default:
                        fputc(*s, f);
                }
}

static int build_texts(const Prompt *p, char **ret_summary, char **ret_body) {
        _cleanup_free_ char *summary = NULL, *body = NULL;
        size_t summary_size = 0, body_size = 0;
        FILE *f;

        f = open_memstream(&summary, &summary_size);
        if (!f)
                return -ENOMEM;
        /* The summary is plain text in every server. */
        if (!isempty(p->origin))
                fprintf(f, "%s in %s", p->origin, isempty(p->app_id) ? "an unknown app" : p->app_id);
        else
                fputs(isempty(p->app_id) ? "An unknown app" : p->app_id, f);
        fputs(" wants to use your ", f);
        print_kinds(f, p->kinds);
        if (fclose(f) != 0)
                return -ENOMEM;

        f = open_memstream(&body, &body_size);
        if (!f)
                return -ENOMEM;
        if (!isempty(p->reason)) {
                fputs("It says: \xe2\x80\x9c", f);
                put_escaped(f, p->reason);
                fputs("\xe2\x80\x9d\n", f);
        }
        for (size_t i = 0; i < p->n_devices; i++) {
                fputs(i == 0 ? "Devices: " : ", ", f);
                put_escaped(f, p->devices[i].label);
        }
        if (fclose(f) != 0)
                return -ENOMEM;

        *ret_summary = TAKE_PTR(summary);
        *ret_body = TAKE_PTR(body);
        return 0;
}

static int on_notified(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Prompt *p = userdata;
        Agent *a = p->agent;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint32_t id;
        int r;

        p->notify_slot = sd_bus_slot_unref(p->notify_slot);
        if (e) {
                /* Nobody can be asked: refuse rather than leave the request hanging. */
                fprintf(stderr, "mediactl agent: the notification service failed: %s: %s\n", e->name, strempty(e->message));
                if (!p->withdrawn)
                        prompt_answer(a, p, "dismissed", 0, NULL);
                forget(a, p);
                return 0;
        }
        r = sd_bus_message_read(reply, "u", &id);
        if (r < 0 || id == 0) {
                fprintf(stderr, "mediactl agent: the notification service answered Notify() with no id.\n");
                if (!p->withdrawn)
                        prompt_answer(a, p, "dismissed", 0, NULL);
                forget(a, p);
                return 0;
        }
        p->notification_id = id;
        if (p->withdrawn) {
                close_notification(a, id);
                forget(a, p);
        }
        return 0;
}

void agent_notifications_ask(Agent *a, Prompt *p) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *summary = NULL, *body = NULL;
        bool camera = strv_contains(p->kinds, "camera");
        int r;

        r = build_texts(p, &summary, &body);
        if (r >= 0)
                r = sd_bus_message_new_method_call(a->session, &m, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_IFACE, "Notify");
        if (r >= 0)
                r = sd_bus_message_append(m, "susss", "mediagate", 0,
                                          camera ? "camera-web" : "audio-input-microphone", summary, body);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "s");
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(actions); i++)
                r = sd_bus_message_append(m, "ss", actions[i].key, actions[i].label);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        /* Critical and resident: the question stays until the user answers it. */
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 3, "urgency", "y", (uint8_t) NOTIFY_URGENCY_CRITICAL, "category",
                                          "s", "device", "resident", "b", 1);
        if (r >= 0)
                r = sd_bus_message_append(m, "i", 0); /* never expires */
        if (r >= 0)
                r = sd_bus_call_async(a->session, &p->notify_slot, m, on_notified, p, 0);
        if (r < 0) {
                fprintf(stderr, "mediactl agent: failed to show a notification: %s\n", strerror(-r));
                prompt_answer(a, p, "dismissed", 0, NULL);
                forget(a, p);
                return;
        }
        if (a->ctx->json)
                (void) print_json_line(prompt_to_json(p, "asking"));
        else {
                fputs("mediactl agent: asking about ", a->out);
                print_requester(a->out, p);
                fputs(" (", a->out);
                print_kinds(a->out, p->kinds);
                fputs(") through a notification.\n", a->out);
                fflush(a->out);
        }
}

static int on_action_invoked(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Agent *a = userdata;
        _cleanup_strv_free_ char **picked = NULL;
        const char *key;
        uint32_t id;
        Prompt *p;

        if (sd_bus_message_read(m, "us", &id, &key) < 0)
                return 0;
        p = find_by_notification(a, id);
        if (!p || p->withdrawn)
                return 0; /* another program's notification */

        for (size_t i = 0; i < ELEMENTSOF(actions); i++)
                if (streq(key, actions[i].key)) {
                        if (pick_from_arguments(a, p, &picked) < 0)
                                picked = NULL;
                        prompt_answer(a, p, actions[i].decision, 0, picked);
                        /* Resident notifications stay after an action; this one is answered. */
                        close_notification(a, id);
                        forget(a, p);
                        return 0;
                }
        /* "default" (a click on the body) and keys we did not offer decide nothing. */
        return 0;
}

static int on_notification_closed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Agent *a = userdata;
        uint32_t id, reason;
        Prompt *p;

        if (sd_bus_message_read(m, "uu", &id, &reason) < 0)
                return 0;
        p = find_by_notification(a, id);
        if (!p || p->withdrawn)
                return 0;
        /* Closed without an action (dismissed, expired, or taken down): the user did not decide. */
        prompt_answer(a, p, "dismissed", 0, NULL);
        forget(a, p);
        return 0;
}

bool agent_notifications_withdraw(Agent *a, Prompt *p) {
        if (p->notify_slot)
                return false;
        if (p->notification_id != 0)
                close_notification(a, p->notification_id);
        p->notification_id = 0; /* its NotificationClosed must not find it */
        return true;
}

int agent_notifications_start(Agent *a) {
        int r;

        r = sd_bus_open_user(&a->session);
        if (r < 0)
                return print_errno(r, "Failed to connect to the session bus for notifications");
        r = sd_bus_attach_event(a->session, a->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return print_errno(r, "Failed to set up the event loop");
        r = sd_bus_match_signal(a->session, &a->action_slot, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_IFACE, "ActionInvoked",
                                on_action_invoked, a);
        if (r >= 0)
                r = sd_bus_match_signal(a->session, &a->closed_slot, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_IFACE,
                                        "NotificationClosed", on_notification_closed, a);
        if (r < 0)
                return print_errno(r, "Failed to follow the notification service");
        return 0;
}

void agent_notifications_stop(Agent *a) {
        a->action_slot = sd_bus_slot_unref(a->action_slot);
        a->closed_slot = sd_bus_slot_unref(a->closed_slot);
        if (a->session)
                a->session = sd_bus_flush_close_unref(a->session);
}
