/* The consent agent's core: the org.mediagate.MediaGate1.Agent object, the prompts it holds until
 * they are answered, and the answers it sends; registered again whenever mediagated restarts.
 * How a prompt reaches a person is the front end's (agent.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "agent.h"
#include "bus-dict.h"
#include "mediagate-names.h"
#include "sanitize.h"

#define AGENT_PATH "/org/mediagate/mediactl/agent"

static Prompt *prompt_free(Prompt *p) {
        if (!p)
                return NULL;
        sd_event_source_disable_unref(p->timeout_source);
        sd_bus_message_unref(p->call);
        free(p->request_id);
        free(p->app_id);
        free(p->origin);
        free(p->reason);
        strv_free(p->kinds);
        for (size_t i = 0; i < p->n_devices; i++) {
                free(p->devices[i].id);
                free(p->devices[i].kind);
                free(p->devices[i].label);
        }
        free(p->devices);
        app_info_done(&p->app);
        free(p);
        return NULL;
}
DEFINE_CLEANUP_FUNC(Prompt, prompt_free);

/* ---- reading a Prompt call ---- */

static int read_devices_variant(sd_bus_message *m, Prompt *p) {
        const char *id, *kind, *label;
        int r;

        r = sd_bus_message_enter_container(m, 'v', "a(sss)");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "(sss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(sss)", &id, &kind, &label)) > 0) {
                PromptDevice *grown = realloc(p->devices, (p->n_devices + 1) * sizeof(PromptDevice));

                if (!grown)
                        return -ENOMEM;
                p->devices = grown;
                p->devices[p->n_devices] = (PromptDevice) { strdup(id), strdup(kind), strdup(label) };
                p->n_devices++;
                if (!grown[p->n_devices - 1].id || !grown[p->n_devices - 1].kind || !grown[p->n_devices - 1].label)
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* One entry of details: the keys we know in the types the interface gives them; any other key
 * (or a known key in another type) is skipped, as the interface asks. */
static int prompt_detail_entry(sd_bus_message *m, const char *key, void *userdata) {
        Prompt *p = userdata;
        const char *contents;
        int r;

        if (streq(key, "app_id"))
                return read_known_variant(bus_read_string_variant(m, &p->app_id));
        if (streq(key, "origin"))
                return read_known_variant(bus_read_string_variant(m, &p->origin));
        if (streq(key, "reason"))
                return read_known_variant(bus_read_string_variant(m, &p->reason));
        if (streq(key, "uid")) {
                r = read_known_variant(bus_read_typed_variant(m, "u", &p->uid));
                p->have_uid = r > 0;
                return r;
        }
        if (streq(key, "pid")) {
                r = read_known_variant(bus_read_typed_variant(m, "u", &p->pid));
                p->have_pid = r > 0;
                return r;
        }
        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        if (streq(key, "kinds") && streq(contents, "as")) {
                r = sd_bus_message_enter_container(m, 'v', "as");
                if (r >= 0) {
                        strv_free(p->kinds);
                        p->kinds = NULL;
                        r = sd_bus_message_read_strv(m, &p->kinds);
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                return r < 0 ? r : 1;
        }
        if (streq(key, "devices") && streq(contents, "a(sss)")) {
                r = read_devices_variant(m, p);
                return r < 0 ? r : 1;
        }
        return 0;
}

static int prompt_read_details(sd_bus_message *m, Prompt *p) {
        return bus_dict_read(m, prompt_detail_entry, p, NULL);
}

/* The daemon sanitizes what it sends; the agent does not rely on it: what a person reads here
 * goes through the same rules again. */
static int prompt_sanitize(Prompt *p) {
        char **fields[] = { &p->app_id, &p->origin, &p->reason };

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                char *clean;

                if (!*fields[i])
                        continue;
                clean = fields[i] == &p->reason ? sanitize_reason(*fields[i]) : sanitize_app_id(*fields[i]);
                if (!clean)
                        return -ENOMEM;
                free(*fields[i]);
                *fields[i] = clean;
        }
        for (size_t i = 0; i < p->n_devices; i++) {
                char *clean = sanitize_label(p->devices[i].label);

                if (!clean)
                        return -ENOMEM;
                free(p->devices[i].label);
                p->devices[i].label = clean;
        }
        return 0;
}

/* ---- answering ---- */

/* Which devices the grant covers. matched[i]: the user named device i. A kind of which the user
 * named no device is left as offered (every candidate), so that naming a camera does not
 * refuse the microphone asked for with it. NULL (no "devices" key) when nothing was named. */
int prompt_pick(const Prompt *p, const bool *matched, char ***ret) {
        _cleanup_strv_free_ char **picked = NULL;
        bool any = false;
        int r;

        for (size_t i = 0; i < p->n_devices; i++)
                any = any || matched[i];
        if (!any) {
                *ret = NULL;
                return 0;
        }
        for (size_t i = 0; i < p->n_devices; i++) {
                bool kind_named = false;

                for (size_t j = 0; j < p->n_devices; j++)
                        if (matched[j] && streq(p->devices[j].kind, p->devices[i].kind))
                                kind_named = true;
                if (kind_named && !matched[i])
                        continue;
                if (strv_contains(picked, p->devices[i].id))
                        continue;
                r = strv_extend(&picked, p->devices[i].id);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(picked);
        return 0;
}

static const char *device_label_of(const Prompt *p, const char *id) {
        for (size_t i = 0; i < p->n_devices; i++)
                if (streq(p->devices[i].id, id))
                        return p->devices[i].label;
        return id;
}

json_object *prompt_to_json(const Prompt *p, const char *event) {
        json_object *o = json_object_new_object(), *devices = json_object_new_array();
        int r = o && devices ? 0 : -ENOMEM;

        for (size_t i = 0; r >= 0 && i < p->n_devices; i++) {
                json_object *d = json_object_new_object();

                if (!d ||
                    json_add_string(d, "device_id", p->devices[i].id) < 0 ||
                    json_add_string(d, "kind", p->devices[i].kind) < 0 ||
                    json_add_string(d, "label", p->devices[i].label) < 0) {
                        json_object_put(d);
                        r = -ENOMEM;
                } else
                        r = json_append(devices, d);
        }
        if (r >= 0 && (json_add_string(o, "event", event) < 0 ||
                       json_add_string(o, "request_id", p->request_id) < 0 ||
                       json_add(o, "number", json_object_new_int64(p->number)) < 0 ||
                       json_add_string(o, "app_id", p->app_id) < 0 ||
                       json_add_string(o, "app_name", p->app.name) < 0 ||
                       json_object_object_add(o, "app_icon", p->app.icon ? json_object_new_string(p->app.icon) : NULL) < 0 ||
                       json_object_object_add(o, "desktop_id", p->app.desktop_id ?
                                                                       json_object_new_string(p->app.desktop_id) : NULL) < 0 ||
                       json_add_string(o, "origin", p->origin) < 0 ||
                       json_add_string(o, "reason", p->reason) < 0 ||
                       json_add(o, "kinds", strv_to_json(p->kinds)) < 0 ||
                       json_add(o, "devices", TAKE_PTR(devices)) < 0 ||
                       (p->have_uid && json_add(o, "uid", json_object_new_int64(p->uid)) < 0) ||
                       (p->have_pid && json_add(o, "pid", json_object_new_int64(p->pid)) < 0)))
                r = -ENOMEM;
        json_object_put(devices);
        if (r < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

/* Who asks, in one phrase: "host:/usr/bin/foo", or "https://example.com in org.mozilla.firefox". */
void prompt_print_requester(FILE *f, const Prompt *p) {
        _cleanup_free_ char *app = terminal_safe(p->app_id), *origin = terminal_safe(p->origin);

        if (!isempty(origin))
                fprintf(f, "%s in %s", origin, isempty(app) ? "an unknown app" : app);
        else
                fputs(isempty(app) ? "an unknown app" : app, f);
}

static void print_answer(Agent *a, const Prompt *p, const char *decision, uint32_t seconds, char *const *picked) {
        if (a->ctx->json) {
                json_object *o = prompt_to_json(p, "prompt");

                if (o && (json_add_string(o, "decision", decision) < 0 ||
                          (streq(decision, "allow-timed") && json_add(o, "seconds", json_object_new_int64(seconds)) < 0) ||
                          (picked && json_add(o, "picked", strv_to_json(picked)) < 0))) {
                        json_object_put(o);
                        o = NULL;
                }
                if (print_json_line(o) < 0)
                        fprintf(stderr, "mediactl agent: failed to write the answer to %s\n", p->request_id);
                return;
        }

        printf("mediactl agent: %s", decision);
        if (streq(decision, "allow-timed"))
                printf(" (%" PRIu32 " s)", seconds);
        fputs(" for ", stdout);
        prompt_print_requester(stdout, p);
        fputs(" (", stdout);
        for (char **k = p->kinds; k && *k; k++)
                printf("%s%s", k == p->kinds ? "" : ", ", *k);
        fputs(")", stdout);
        if (picked) {
                fputs(", devices: ", stdout);
                for (char *const *d = picked; *d; d++) {
                        _cleanup_free_ char *label = terminal_safe(device_label_of(p, *d));

                        printf("%s%s", d == picked ? "" : ", ", strempty(label));
                }
        }
        putchar('\n');
        fflush(stdout);
}

static int prompt_reply(Prompt *p, const char *decision, uint32_t seconds, char *const *picked) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (!p->call)
                return -EALREADY; /* only the first answer counts */
        r = sd_bus_message_new_method_return(p->call, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "s", decision);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        if (streq(decision, "allow-timed")) {
                r = sd_bus_message_append(reply, "{sv}", "seconds", "u", seconds);
                if (r < 0)
                        return r;
        }
        if (picked) {
                r = bus_dict_append_strv(reply, "devices", (char **) picked);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        r = sd_bus_send(NULL, reply, NULL);
        if (r < 0)
                return r;
        p->call = sd_bus_message_unref(p->call);
        return 0;
}

/* --pick names a device by id or by label. */
int agent_pick_from_arguments(const Agent *a, const Prompt *p, char ***ret) {
        _cleanup_free_ bool *matched = NULL;

        if (!a->options.picks) {
                *ret = NULL;
                return 0;
        }
        matched = calloc(MAX(p->n_devices, 1u), sizeof(bool));
        if (!matched)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_devices; i++)
                matched[i] = strv_contains(a->options.picks, p->devices[i].id) || strv_contains(a->options.picks, p->devices[i].label);
        return prompt_pick(p, matched, ret);
}

static void queue_append(Agent *a, Prompt *p) {
        Prompt **i = &a->queue;

        while (*i)
                i = &(*i)->next;
        *i = p;
}

static void queue_remove(Agent *a, Prompt *p) {
        for (Prompt **i = &a->queue; *i; i = &(*i)->next)
                if (*i == p) {
                        *i = p->next;
                        p->next = NULL;
                        return;
                }
}

Prompt *agent_find_prompt(Agent *a, unsigned number) {
        for (Prompt *p = a->queue; p; p = p->next)
                if (p->number == number)
                        return p;
        return NULL;
}

void agent_answer(Agent *a, Prompt *p, const char *decision, uint32_t seconds, char *const *picked) {
        int r;

        r = prompt_reply(p, decision, seconds, picked);
        if (r < 0)
                fprintf(stderr, "mediactl agent: failed to answer %s: %s\n", p->request_id, strerror(-r));
        else
                print_answer(a, p, decision, seconds, picked);
        queue_remove(a, p);
        prompt_free(p);
}

void agent_dismiss(Agent *a, Prompt *p, PromptEnd how) {
        if (how == PROMPT_END_TIMEOUT) {
                _cleanup_free_ char *summary = prompt_summary(p);

                fprintf(a->out, _("mediactl agent: nobody answered in time: %s. Nothing was allowed; it may ask again.\n"),
                        strempty(summary));
                fflush(a->out);
        }
        agent_answer(a, p, "dismissed", 0, NULL);
}

/* The core's own end of a prompt: the front end forgets it, then it is answered and freed. */
static void prompt_end(Agent *a, Prompt *p, PromptEnd how) {
        a->frontend->withdraw(a, p, how);
        if (how == PROMPT_END_TIMEOUT)
                agent_dismiss(a, p, how);
        else {
                /* The daemon discards answers to withdrawn prompts; answering still ends the call. */
                (void) prompt_reply(p, "dismissed", 0, NULL);
                queue_remove(a, p);
                prompt_free(p);
        }
}

static int on_prompt_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Prompt *p = userdata;

        prompt_end(p->agent, p, PROMPT_END_TIMEOUT);
        return 0;
}

/* ---- the Agent object ---- */

static int method_prompt(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Agent *a = userdata;
        _cleanup_(prompt_freep) Prompt *p = NULL;
        const char *request_id;
        Prompt *q;
        int r;

        /* Anyone on the bus can call us; only the daemon's prompts are real ones. */
        if (!a->daemon || !streq_ptr(sd_bus_message_get_sender(m), a->daemon))
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Only mediagated may prompt this agent.");

        p = calloc(1, sizeof(Prompt));
        if (!p)
                return -ENOMEM;
        p->agent = a;
        r = sd_bus_message_read(m, "s", &request_id);
        if (r < 0)
                return r;
        p->request_id = strdup(request_id);
        if (!p->request_id)
                return -ENOMEM;
        r = prompt_read_details(m, p);
        if (r >= 0)
                r = prompt_sanitize(p);
        if (r >= 0)
                r = app_info_lookup(p->app_id, &p->app);
        if (r < 0)
                return r;
        if (a->options.timeout_usec > 0) {
                r = sd_event_add_time_relative(a->event, &p->timeout_source, CLOCK_MONOTONIC, a->options.timeout_usec,
                                               0, on_prompt_timeout, p);
                if (r < 0)
                        return r;
        }
        p->call = sd_bus_message_ref(m);
        p->number = ++a->n_asked;

        q = TAKE_PTR(p);
        queue_append(a, q);
        a->frontend->ask(a, q);
        return 1;
}

static int method_cancel(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Agent *a = userdata;
        const char *request_id;
        Prompt *p;
        int r;

        if (!a->daemon || !streq_ptr(sd_bus_message_get_sender(m), a->daemon))
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Only mediagated may cancel prompts.");
        r = sd_bus_message_read(m, "s", &request_id);
        if (r < 0)
                return r;

        for (p = a->queue; p; p = p->next)
                if (streq(p->request_id, request_id))
                        break;
        if (p) {
                if (a->ctx->json)
                        (void) print_json_line(prompt_to_json(p, "cancel"));
                prompt_end(a, p, PROMPT_END_WITHDRAWN);
        }
        return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable agent_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Prompt",
                                SD_BUS_ARGS("s", request_id, "a{sv}", details),
                                SD_BUS_RESULT("s", decision, "a{sv}", results),
                                method_prompt, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Cancel", SD_BUS_ARGS("s", request_id), SD_BUS_NO_RESULT,
                                method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* Every open prompt ends: we are leaving, or the daemon that asked is gone (reply: whether the
 * calls are still worth answering). */
static void agent_end_all(Agent *a, bool reply) {
        while (a->queue) {
                Prompt *p = a->queue;

                a->frontend->withdraw(a, p, PROMPT_END_LEAVING);
                if (reply)
                        (void) prompt_reply(p, "dismissed", 0, NULL);
                queue_remove(a, p);
                prompt_free(p);
        }
}

void agent_quit(Agent *a, int code) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        agent_end_all(a, true);
        if (a->daemon)
                (void) sd_bus_call_method(a->bus, MG_BUS_NAME, MG_OBJECT_PATH, MG_IFACE_MANAGER, "UnregisterAgent",
                                          &e, NULL, "o", AGENT_PATH);
        (void) sd_bus_flush(a->bus);
        (void) sd_event_exit(a->event, code);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        agent_quit(userdata, EXIT_SUCCESS);
        return 0;
}

static int on_registered(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Agent *a = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        a->register_slot = sd_bus_slot_unref(a->register_slot);
        if (e) {
                (void) print_bus_error(e, -sd_bus_message_get_errno(reply));
                return 0;
        }
        fprintf(stderr, "mediactl agent: registered with the new mediagated.\n");
        return 0;
}

/* mediagated restarted (or left): registrations do not survive it, so register again. */
static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Agent *a = userdata;
        const char *name, *old_owner, *new_owner;
        int r;

        r = sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner);
        if (r < 0 || !streq(name, MG_BUS_NAME))
                return 0;

        if (!isempty(old_owner) && streq_ptr(old_owner, a->daemon)) {
                if (a->queue)
                        fprintf(a->out, "\nmediactl agent: mediagated left the bus; its questions are void.\n");
                else
                        fprintf(stderr, "mediactl agent: mediagated left the bus; waiting for it to come back.\n");
                agent_end_all(a, false);
                free(a->daemon);
                a->daemon = NULL;
        }
        if (!isempty(new_owner)) {
                r = free_and_strdup(&a->daemon, new_owner);
                if (r < 0)
                        return r;
                a->register_slot = sd_bus_slot_unref(a->register_slot);
                r = sd_bus_call_method_async(a->bus, &a->register_slot, MG_BUS_NAME, MG_OBJECT_PATH, MG_IFACE_MANAGER,
                                             "RegisterAgent", on_registered, a, "oa{sv}", AGENT_PATH, 0);
                if (r < 0)
                        fprintf(stderr, "mediactl agent: failed to register again: %s\n", strerror(-r));
        }
        return 0;
}

static int agent_register(Agent *a) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *owner;
        int r;

        r = sd_bus_add_object_vtable(a->bus, &a->object_slot, AGENT_PATH, MG_IFACE_AGENT, agent_vtable, a);
        if (r < 0)
                return print_errno(r, "Failed to export the agent object");

        /* Before asking for the owner, so that a restart in between is not missed. */
        r = sd_bus_add_match(a->bus, &a->owner_slot,
                             "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                             "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" MG_BUS_NAME "'",
                             on_owner_changed, a);
        if (r < 0)
                return print_errno(r, "Failed to watch mediagated on the bus");

        r = sd_bus_call_method(a->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetNameOwner", &e, &reply, "s", MG_BUS_NAME);
        if (r < 0)
                return print_bus_error(&e, r);
        r = sd_bus_message_read(reply, "s", &owner);
        if (r < 0)
                return print_errno(r, "Failed to read the owner of " MG_BUS_NAME);
        r = free_and_strdup(&a->daemon, owner);
        if (r < 0)
                return print_errno(r, "Failed to register");

        r = sd_bus_call_method(a->bus, MG_BUS_NAME, MG_OBJECT_PATH, MG_IFACE_MANAGER, "RegisterAgent", &e, NULL,
                               "oa{sv}", AGENT_PATH, 0);
        if (r < 0)
                return print_bus_error(&e, r);
        return 0;
}

static void print_ready(Agent *a) {
        json_object *o;

        if (!a->ctx->json) {
                a->frontend->print_ready(a);
                fflush(stdout);
                return;
        }
        o = json_object_new_object();
        if (o && (json_add_string(o, "event", "ready") < 0 ||
                  json_add_string(o, "mode", a->options.auto_decision ?: a->frontend->mode) < 0)) {
                json_object_put(o);
                o = NULL;
        }
        (void) print_json_line(o);
}

static int agent_setup_loop(Agent *a) {
        return event_loop_new(a->client, on_signal, a, &a->event);
}

int agent_run(Agent *a) {
        int r, ret = EXIT_FAILURE;

        a->out = a->ctx->json ? stderr : stdout;
        r = context_connect(a->ctx, &a->client);
        if (r < 0)
                return EXIT_FAILURE;
        a->bus = mg_client_get_bus(a->client);

        if (agent_setup_loop(a) >= 0 && a->frontend->start(a) >= 0 && agent_register(a) == 0) {
                print_ready(a);
                r = sd_event_loop(a->event);
                ret = r < 0 ? print_errno(r, "Event loop failed") : r;
        }

        agent_end_all(a, false);
        free(a->daemon);
        sd_bus_slot_unref(a->register_slot);
        sd_bus_slot_unref(a->owner_slot);
        sd_bus_slot_unref(a->object_slot);
        a->frontend->stop(a);
        a->client = mg_client_unref(a->client); /* detaches the bus from the loop before the loop goes */
        a->event = sd_event_unref(a->event);
        return ret;
}
