/* `mediactl agent`: a consent agent (org.mediagate.MediaGate1.Agent) that asks the user on the
 * terminal, or gives every prompt the same answer (--auto) for scripts, tests and the demo. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "agent.h"
#include "mediagate-names.h"

#define AGENT_PATH "/org/mediagate/mediactl/agent"
#define ALLOW_TIMED_MAX_SECONDS 31536000u /* a year, as the Agent interface allows */

static const char *const decisions[] = {
        "allow-once", "allow-always", "allow-timed", "deny-once", "deny-always", "dismissed",
};

static bool decision_is_valid(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(decisions); i++)
                if (streq(s, decisions[i]))
                        return true;
        return false;
}

Prompt *prompt_free(Prompt *p) {
        if (!p)
                return NULL;
        sd_bus_slot_unref(p->notify_slot);
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
        free(p);
        return NULL;
}

const char *device_kind_name(const char *kind) {
        if (streq(kind, "videoinput"))
                return "camera";
        if (streq(kind, "audioinput"))
                return "microphone";
        return kind;
}

/* ---- reading a Prompt call ---- */

static int read_string_variant(sd_bus_message *m, char **ret) {
        const char *s;
        int r;

        r = sd_bus_message_read(m, "v", "s", &s);
        if (r < 0)
                return r;
        return free_and_strdup(ret, s);
}

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

/* details a{sv}: the keys we know in the types the interface gives them; any other key (or a
 * known key in another type) is skipped, as the interface asks. */
static int prompt_read_details(sd_bus_message *m, Prompt *p) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key, *contents;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r < 0)
                        return r;
                if (streq(key, "app_id") && streq(contents, "s"))
                        r = read_string_variant(m, &p->app_id);
                else if (streq(key, "origin") && streq(contents, "s"))
                        r = read_string_variant(m, &p->origin);
                else if (streq(key, "reason") && streq(contents, "s"))
                        r = read_string_variant(m, &p->reason);
                else if (streq(key, "kinds") && streq(contents, "as")) {
                        r = sd_bus_message_enter_container(m, 'v', "as");
                        if (r >= 0) {
                                strv_free(p->kinds);
                                p->kinds = NULL;
                                r = sd_bus_message_read_strv(m, &p->kinds);
                        }
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                } else if (streq(key, "devices") && streq(contents, "a(sss)"))
                        r = read_devices_variant(m, p);
                else if (streq(key, "uid") && streq(contents, "u")) {
                        r = sd_bus_message_read(m, "v", "u", &p->uid);
                        p->have_uid = r >= 0;
                } else if (streq(key, "pid") && streq(contents, "u")) {
                        r = sd_bus_message_read(m, "v", "u", &p->pid);
                        p->have_pid = r >= 0;
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* ---- answering ---- */

/* Which devices the grant covers. matched[i]: the user named device i. A kind of which the user
 * named no device is left as offered (every candidate), so that naming a camera does not
 * refuse the microphone asked for with it. NULL (no "devices" key) when nothing was named. */
static int prompt_pick(const Prompt *p, const bool *matched, char ***ret) {
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
                       json_add_string(o, "app_id", p->app_id) < 0 ||
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

/* "camera", "camera and microphone" */
void print_kinds(FILE *f, char *const *kinds) {
        size_t n = strv_length(kinds);

        if (n == 0) {
                fputs("nothing", f);
                return;
        }
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s", i == 0 ? "" : i + 1 == n ? " and " : ", ", kinds[i]);
}

/* Who asks, in one phrase: "host:/usr/bin/foo", or "https://example.com in org.mozilla.firefox". */
void print_requester(FILE *f, const Prompt *p) {
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
        print_requester(stdout, p);
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

int prompt_reply(Prompt *p, const char *decision, uint32_t seconds, char *const *picked) {
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
                r = sd_bus_message_open_container(reply, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "s", "devices");
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(reply, (char **) picked);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
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

/* Answer, say so, and forget the prompt. */
void prompt_answer(Agent *a, Prompt *p, const char *decision, uint32_t seconds, char *const *picked) {
        int r;

        r = prompt_reply(p, decision, seconds, picked);
        if (r < 0) {
                fprintf(stderr, "mediactl agent: failed to answer %s: %s\n", p->request_id, strerror(-r));
                return;
        }
        print_answer(a, p, decision, seconds, picked);
}

/* --pick names a device by id or by label. */
int pick_from_arguments(const Agent *a, const Prompt *p, char ***ret) {
        _cleanup_free_ bool *matched = NULL;

        if (!a->picks) {
                *ret = NULL;
                return 0;
        }
        matched = calloc(MAX(p->n_devices, 1u), sizeof(bool));
        if (!matched)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_devices; i++)
                matched[i] = strv_contains(a->picks, p->devices[i].id) || strv_contains(a->picks, p->devices[i].label);
        return prompt_pick(p, matched, ret);
}

/* ---- the terminal ---- */

static void agent_ask_next(Agent *a);

void queue_remove(Agent *a, Prompt *p) {
        for (Prompt **i = &a->queue; *i; i = &(*i)->next)
                if (*i == p) {
                        *i = p->next;
                        p->next = NULL;
                        return;
                }
}

static void queue_append(Agent *a, Prompt *p) {
        Prompt **i = &a->queue;

        while (*i)
                i = &(*i)->next;
        *i = p;
}

static void print_choices(Agent *a) {
        fputs("Allow? [o]nce, [a]lways, [t N] for N minutes, [d]eny, [n]ever (deny always).\n"
              "Device numbers after the answer limit it to those devices (\"o 1\"): ", a->out);
        fflush(a->out);
}

static void print_question(Agent *a, const Prompt *p) {
        FILE *f = a->out;

        fputs("\nmediactl agent: ", f);
        print_requester(f, p);
        fputs(" asks to use your ", f);
        print_kinds(f, p->kinds);
        fputs(".\n", f);
        if (!isempty(p->reason)) {
                _cleanup_free_ char *reason = terminal_safe(p->reason);

                fprintf(f, "  It says:  \"%s\"\n", strempty(reason));
        }
        if (p->have_pid || p->have_uid)
                fprintf(f, "  Process:  pid %" PRIu32 ", uid %" PRIu32 "\n", p->pid, p->uid);
        for (size_t i = 0; i < p->n_devices; i++) {
                _cleanup_free_ char *label = terminal_safe(p->devices[i].label);

                fprintf(f, "  %s %zu. %-10s  %s\n", i == 0 ? "Devices:" : "        ", i + 1,
                        device_kind_name(p->devices[i].kind), strempty(label));
        }
        print_choices(a);
}

static void agent_ask_next(Agent *a) {
        if (a->asking || !a->queue)
                return;
        a->asking = true;
        print_question(a, a->queue);
}

/* One line the user typed: DECISION [MINUTES] [DEVICE NUMBERS...]. Returns false when the line
 * is not an answer (the question is then asked again). */
static bool handle_answer_line(Agent *a, char *line) {
        static const struct {
                const char *words[3];
                const char *decision;
        } answers[] = {
                { { "o", "once", "allow-once" }, "allow-once" },
                { { "a", "always", "allow-always" }, "allow-always" },
                { { "t", "timed", "allow-timed" }, "allow-timed" },
                { { "d", "deny", "deny-once" }, "deny-once" },
                { { "n", "never", "deny-always" }, "deny-always" },
        };
        Prompt *p = a->queue;
        _cleanup_free_ bool *matched = NULL;
        _cleanup_strv_free_ char **picked = NULL;
        const char *decision = NULL;
        uint32_t seconds = 0;
        char *word, *save = NULL;

        word = strtok_r(line, " \t\r", &save);
        if (!word)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(answers) && !decision; i++)
                for (size_t j = 0; j < ELEMENTSOF(answers[i].words); j++)
                        if (streq(word, answers[i].words[j]))
                                decision = answers[i].decision;
        if (!decision) {
                fprintf(a->out, "mediactl agent: '%s' is not an answer.\n", word);
                return false;
        }
        if (streq(decision, "allow-timed")) {
                uint32_t minutes;

                word = strtok_r(NULL, " \t\r", &save);
                if (!word || safe_atou32(word, &minutes) < 0 || minutes == 0 ||
                    minutes > ALLOW_TIMED_MAX_SECONDS / 60) {
                        fprintf(a->out, "mediactl agent: 't' needs a number of minutes, 1 to %u.\n",
                                ALLOW_TIMED_MAX_SECONDS / 60);
                        return false;
                }
                seconds = minutes * 60;
        }

        matched = calloc(MAX(p->n_devices, 1u), sizeof(bool));
        if (!matched)
                return false;
        while ((word = strtok_r(NULL, " \t\r", &save))) {
                uint32_t n;

                if (safe_atou32(word, &n) < 0 || n < 1 || n > p->n_devices) {
                        fprintf(a->out, "mediactl agent: '%s' is not one of the device numbers.\n", word);
                        return false;
                }
                matched[n - 1] = true;
        }
        if (prompt_pick(p, matched, &picked) < 0)
                return false;
        if (!picked && pick_from_arguments(a, p, &picked) < 0)
                return false;

        prompt_answer(a, p, decision, seconds, picked);
        queue_remove(a, p);
        prompt_free(p);
        a->asking = false;
        agent_ask_next(a);
        return true;
}

static void agent_quit(Agent *a, int code);

static int on_input(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Agent *a = userdata;
        ssize_t n;
        char *nl;

        n = read(fd, a->input + a->n_input, sizeof(a->input) - 1 - a->n_input);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                fprintf(stderr, "mediactl agent: failed to read the answer: %m\n");
                agent_quit(a, EXIT_FAILURE);
                return 0;
        }
        if (n == 0) {
                fprintf(a->out, "\nmediactl agent: end of input, nobody is left to ask; unregistering.\n");
                agent_quit(a, EXIT_SUCCESS);
                return 0;
        }
        a->n_input += (size_t) n;
        a->input[a->n_input] = '\0';

        while ((nl = strchr(a->input, '\n'))) {
                *nl = '\0';
                if (!a->asking)
                        fprintf(a->out, "mediactl agent: no question is open; ignoring the input.\n");
                else if (!handle_answer_line(a, a->input))
                        print_choices(a);
                memmove(a->input, nl + 1, a->n_input - (size_t) (nl + 1 - a->input) + 1);
                a->n_input -= (size_t) (nl + 1 - a->input);
        }
        if (a->n_input == sizeof(a->input) - 1) {
                fprintf(a->out, "mediactl agent: that line is too long; ignoring it.\n");
                a->n_input = 0;
        }
        return 0;
}

/* ---- the Agent object ---- */

static int method_prompt(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Agent *a = userdata;
        _cleanup_(prompt_freep) Prompt *p = NULL;
        const char *request_id;
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
        if (r < 0)
                return r;
        p->call = sd_bus_message_ref(m);

        if (a->auto_decision) {
                _cleanup_strv_free_ char **picked = NULL;

                r = pick_from_arguments(a, p, &picked);
                if (r < 0)
                        return r;
                prompt_answer(a, p, a->auto_decision, a->seconds, picked);
                return 1;
        }

        if (a->notifications) {
                Prompt *q = TAKE_PTR(p);

                queue_append(a, q);
                agent_notifications_ask(a, q);
                return 1;
        }
        queue_append(a, TAKE_PTR(p));
        agent_ask_next(a);
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
                if (!p->withdrawn && streq(p->request_id, request_id))
                        break;
        if (p) {
                bool on_screen = p == a->queue && a->asking;

                if (a->ctx->json)
                        (void) print_json_line(prompt_to_json(p, "cancel"));
                fputs(on_screen ? "\nmediactl agent: withdrawn: the request of " :
                      a->notifications ? "mediactl agent: withdrawn: the request of " :
                                         "mediactl agent: withdrawn before it was asked: the request of ",
                      a->out);
                print_requester(a->out, p);
                fputs(" went away.\n", a->out);
                fflush(a->out);
                /* The daemon discards answers to withdrawn prompts; answering still ends the call. */
                (void) prompt_reply(p, "dismissed", 0, NULL);
                if (a->notifications && !agent_notifications_withdraw(a, p))
                        p->withdrawn = true; /* forgotten once its notification has an id to close */
                else {
                        queue_remove(a, p);
                        prompt_free(p);
                }
                if (on_screen) {
                        a->asking = false;
                        agent_ask_next(a);
                }
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

/* Every open prompt is dismissed: we are leaving, or the daemon that asked is gone. */
static void agent_dismiss_all(Agent *a, bool reply) {
        while (a->queue) {
                Prompt *p = a->queue;

                a->queue = p->next;
                if (reply)
                        (void) prompt_reply(p, "dismissed", 0, NULL);
                if (a->notifications)
                        (void) agent_notifications_withdraw(a, p);
                prompt_free(p);
        }
        a->asking = false;
}

static void agent_quit(Agent *a, int code) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        agent_dismiss_all(a, true);
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
                agent_dismiss_all(a, false);
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

static void help(void) {
        printf("mediactl agent [--auto DECISION [--seconds N] | --notifications] [--pick DEVICE]... [--json[=pretty|short]]\n\n"
               "Register as the consent agent of this user and answer mediagated's prompts: on the\n"
               "terminal (app, origin, reason, devices; answers once, always, for N minutes, deny,\n"
               "always deny), through the desktop's notifications (--notifications: Allow once,\n"
               "Always allow, Deny; closing the notification dismisses), or with the same answer\n"
               "every time (--auto). Runs until SIGINT or SIGTERM (or the end of input when asking\n"
               "on the terminal), then unregisters.\n\n"
               "  --auto DECISION  Answer every prompt: allow-once, allow-always, allow-timed,\n"
               "                   deny-once, deny-always or dismissed\n"
               "  --notifications  Ask through org.freedesktop.Notifications on the session bus\n"
               "  --seconds N      How long allow-timed lasts (1 to 31536000)\n"
               "  --pick DEVICE    Grant only this device (an id or a label from the prompt); may be\n"
               "                   repeated. A kind without a picked device keeps every candidate.\n"
               "  --json           One JSON object per line and prompt answered or withdrawn\n"
               "  -h --help        Show this help\n");
}

int verb_agent(Context *ctx, int argc, char *argv[]) {
        enum { ARG_AUTO = 0x100, ARG_SECONDS, ARG_PICK, ARG_NOTIFICATIONS };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                OUTPUT_OPTIONS,
                { "auto", required_argument, NULL, ARG_AUTO },
                { "seconds", required_argument, NULL, ARG_SECONDS },
                { "pick", required_argument, NULL, ARG_PICK },
                { "notifications", no_argument, NULL, ARG_NOTIFICATIONS },
                {},
        };
        _cleanup_(mg_client_unrefp) MgClient *client = NULL;
        _cleanup_strv_free_ char **picks = NULL;
        Agent a = { .ctx = ctx, .out = stdout };
        bool have_seconds = false;
        sigset_t mask;
        int c, r, ret = EXIT_FAILURE;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case ARG_AUTO:
                        if (!decision_is_valid(optarg)) {
                                fprintf(stderr, "mediactl: unknown decision '%s'; one of allow-once, allow-always, "
                                        "allow-timed, deny-once, deny-always, dismissed.\n", optarg);
                                return EXIT_USAGE;
                        }
                        a.auto_decision = optarg;
                        break;
                case ARG_SECONDS:
                        if (safe_atou32(optarg, &a.seconds) < 0 || a.seconds < 1 || a.seconds > ALLOW_TIMED_MAX_SECONDS) {
                                fprintf(stderr, "mediactl: --seconds takes 1 to %u, not '%s'.\n", ALLOW_TIMED_MAX_SECONDS,
                                        optarg);
                                return EXIT_USAGE;
                        }
                        have_seconds = true;
                        break;
                case ARG_NOTIFICATIONS:
                        a.notifications = true;
                        break;
                case ARG_PICK:
                        if (strv_extend(&picks, optarg) < 0)
                                return print_errno(-ENOMEM, "Failed to parse the arguments");
                        break;
                default:
                        if (parse_output_option(ctx, c, optarg) > 0)
                                break;
                        return EXIT_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "mediactl: agent takes no arguments, got '%s'.\n", argv[optind]);
                return EXIT_USAGE;
        }
        if (a.notifications && a.auto_decision) {
                fprintf(stderr, "mediactl: --notifications asks the user, --auto does not; choose one.\n");
                return EXIT_USAGE;
        }
        if (streq_ptr(a.auto_decision, "allow-timed") != have_seconds) {
                fprintf(stderr, "mediactl: --seconds goes with --auto allow-timed, and only with it.\n");
                return EXIT_USAGE;
        }
        a.picks = picks;
        if (ctx->json)
                a.out = stderr;

        r = context_connect(ctx, &client);
        if (r < 0)
                return EXIT_FAILURE;
        a.client = client;
        a.bus = mg_client_get_bus(client);

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return print_errno(-errno, "Failed to block signals");
        r = sd_event_new(&a.event);
        if (r >= 0)
                r = sd_event_add_signal(a.event, NULL, SIGINT, on_signal, &a);
        if (r >= 0)
                r = sd_event_add_signal(a.event, NULL, SIGTERM, on_signal, &a);
        if (r >= 0)
                r = mg_client_attach_event(client, a.event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                ret = print_errno(r, "Failed to set up the event loop");
                goto finish;
        }
        if (a.notifications) {
                if (agent_notifications_start(&a) < 0)
                        goto finish;
        } else if (!a.auto_decision) {
                r = sd_event_add_io(a.event, &a.input_source, STDIN_FILENO, EPOLLIN, on_input, &a);
                if (r == -EPERM) {
                        fprintf(stderr, "mediactl: the agent asks on standard input, which must be a terminal or a "
                                "pipe; use --auto to answer without asking.\n");
                        goto finish;
                }
                if (r < 0) {
                        ret = print_errno(r, "Failed to watch standard input");
                        goto finish;
                }
        }

        if (agent_register(&a) != 0)
                goto finish;

        if (ctx->json) {
                json_object *o = json_object_new_object();

                if (o && (json_add_string(o, "event", "ready") < 0 ||
                          json_add_string(o, "mode", a.auto_decision ?: a.notifications ? "notifications" : "interactive") < 0)) {
                        json_object_put(o);
                        o = NULL;
                }
                (void) print_json_line(o);
        } else if (a.auto_decision) {
                printf("mediactl agent: ready; answering every prompt with %s", a.auto_decision);
                if (have_seconds)
                        printf(" (%" PRIu32 " s)", a.seconds);
                printf(".\n");
        } else if (a.notifications)
                printf("mediactl agent: ready; asking through desktop notifications. Ctrl-C to stop.\n");
        else
                printf("mediactl agent: ready; questions will appear here. Ctrl-C to stop.\n");
        fflush(stdout);

        r = sd_event_loop(a.event);
        ret = r < 0 ? print_errno(r, "Event loop failed") : r;

finish:
        agent_dismiss_all(&a, false);
        free(a.daemon);
        sd_bus_slot_unref(a.register_slot);
        sd_bus_slot_unref(a.owner_slot);
        sd_bus_slot_unref(a.object_slot);
        sd_event_source_disable_unref(a.input_source);
        agent_notifications_stop(&a);
        client = mg_client_unref(client); /* detaches the bus from the loop before the loop goes */
        sd_event_unref(a.event);
        return ret;
}
