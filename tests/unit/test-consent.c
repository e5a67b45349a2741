/* Unit tests for consent.c: the fail-closed reading of an agent's answer, the registration rules
 * (which agent is asked, limits, who may unregister), and whole prompts over a private
 * socketpair connection: sanitized details, answers, errors, time-out, Cancel, agents leaving. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "bus-pair.h"
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "caller.h"
#include "consent.h"
#include "manager.h"
#include "mediagate-names.h"
#include "util.h"

/* How a test agent answers, and the answers the parse table feeds to prompt_result_parse(). */

typedef struct Entry {
        const char *key;
        const char *type; /* "u", "i", "t", "s", "b", "as" */
        uint32_t u;
        const char *s;
        const char *strv[5];
} Entry;

typedef struct Answer {
        const char *shape; /* NULL: "sa{sv}"; else "", "s", "sa{ss}", "sa{sv}s" */
        const char *decision;
        Entry entries[4];  /* until key == NULL */
} Answer;

static void append_entry(sd_bus_message *m, const Entry *e) {
        assert_true(sd_bus_message_open_container(m, 'e', "sv") >= 0);
        assert_true(sd_bus_message_append(m, "s", e->key) >= 0);
        assert_true(sd_bus_message_open_container(m, 'v', e->type) >= 0);
        if (streq(e->type, "u"))
                assert_true(sd_bus_message_append(m, "u", e->u) >= 0);
        else if (streq(e->type, "i"))
                assert_true(sd_bus_message_append(m, "i", (int32_t) e->u) >= 0);
        else if (streq(e->type, "t"))
                assert_true(sd_bus_message_append(m, "t", (uint64_t) e->u) >= 0);
        else if (streq(e->type, "s"))
                assert_true(sd_bus_message_append(m, "s", e->s) >= 0);
        else if (streq(e->type, "b"))
                assert_true(sd_bus_message_append(m, "b", (int) e->u) >= 0);
        else if (streq(e->type, "as"))
                assert_true(sd_bus_message_append_strv(m, (char **) e->strv) >= 0);
        else
                fail_msg("unknown entry type %s", e->type);
        assert_true(sd_bus_message_close_container(m) >= 0);
        assert_true(sd_bus_message_close_container(m) >= 0);
}

static void append_answer(sd_bus_message *m, const Answer *a) {
        const char *shape = a->shape ?: "sa{sv}";

        if (streq(shape, ""))
                return;
        if (streq(shape, "s")) {
                assert_true(sd_bus_message_append(m, "s", a->decision) >= 0);
                return;
        }
        if (streq(shape, "sa{ss}")) {
                assert_true(sd_bus_message_append(m, "sa{ss}", a->decision, 1, "seconds", "60") >= 0);
                return;
        }
        assert_true(sd_bus_message_append(m, "s", a->decision) >= 0);
        assert_true(sd_bus_message_open_container(m, 'a', "{sv}") >= 0);
        for (const Entry *e = a->entries; e->key; e++)
                append_entry(m, e);
        assert_true(sd_bus_message_close_container(m) >= 0);
        if (streq(shape, "sa{sv}s"))
                assert_true(sd_bus_message_append(m, "s", "extra") >= 0);
}

/* Table 1: reading answers (pure). */

#define NO_ENTRIES { { NULL } }
#define U(k, v) { .key = k, .type = "u", .u = v }

typedef struct ParseCase {
        const char *name;
        Answer answer;
        bool nothing_offered;
        int expected;            /* 0 or -EBADMSG */
        Decision decision;
        uint32_t seconds;
        const char *devices[4];  /* expected picked ids, empty = NULL (all) */
} ParseCase;

static const ParseCase parse_cases[] = {
        { "allow-once", { NULL, "allow-once", NO_ENTRIES }, false, 0, DECISION_ALLOW_ONCE, 0, {} },
        { "allow-always", { NULL, "allow-always", NO_ENTRIES }, false, 0, DECISION_ALLOW_ALWAYS, 0, {} },
        { "deny-once", { NULL, "deny-once", NO_ENTRIES }, false, 0, DECISION_DENY_ONCE, 0, {} },
        { "deny-always", { NULL, "deny-always", NO_ENTRIES }, false, 0, DECISION_DENY_ALWAYS, 0, {} },
        { "dismissed", { NULL, "dismissed", NO_ENTRIES }, false, 0, DECISION_DISMISSED, 0, {} },
        { "unknown decision", { NULL, "allow", NO_ENTRIES }, false, -EBADMSG, 0, 0, {} },
        { "empty decision", { NULL, "", NO_ENTRIES }, false, -EBADMSG, 0, 0, {} },
        { "decision in capitals", { NULL, "Allow-Once", NO_ENTRIES }, false, -EBADMSG, 0, 0, {} },
        { "decision with trailing space", { NULL, "allow-once ", NO_ENTRIES }, false, -EBADMSG, 0, 0, {} },

        { "allow-timed 60 s", { NULL, "allow-timed", { U("seconds", 60) } }, false, 0, DECISION_ALLOW_TIMED, 60, {} },
        { "allow-timed 1 s", { NULL, "allow-timed", { U("seconds", 1) } }, false, 0, DECISION_ALLOW_TIMED, 1, {} },
        { "allow-timed a year", { NULL, "allow-timed", { U("seconds", 31536000) } }, false, 0, DECISION_ALLOW_TIMED,
          31536000, {} },
        { "allow-timed a year and a second", { NULL, "allow-timed", { U("seconds", 31536001) } }, false, -EBADMSG,
          0, 0, {} },
        { "allow-timed 0 s", { NULL, "allow-timed", { U("seconds", 0) } }, false, -EBADMSG, 0, 0, {} },
        { "allow-timed UINT32_MAX", { NULL, "allow-timed", { U("seconds", UINT32_MAX) } }, false, -EBADMSG, 0, 0, {} },
        { "allow-timed without seconds", { NULL, "allow-timed", NO_ENTRIES }, false, -EBADMSG, 0, 0, {} },
        { "allow-timed seconds as int32", { NULL, "allow-timed", { { "seconds", "i", 60 } } }, false, -EBADMSG, 0, 0,
          {} },
        { "allow-timed seconds as uint64", { NULL, "allow-timed", { { "seconds", "t", 60 } } }, false, -EBADMSG, 0, 0,
          {} },
        { "allow-timed seconds as string", { NULL, "allow-timed", { { "seconds", "s", 0, "60" } } }, false, -EBADMSG,
          0, 0, {} },
        { "seconds given twice", { NULL, "allow-timed", { U("seconds", 60), U("seconds", 60) } }, false, -EBADMSG, 0,
          0, {} },
        { "seconds ignored for allow-once", { NULL, "allow-once", { U("seconds", 60) } }, false, 0,
          DECISION_ALLOW_ONCE, 0, {} },
        { "seconds of a wrong type still malformed", { NULL, "allow-once", { { "seconds", "s", 0, "x" } } }, false,
          -EBADMSG, 0, 0, {} },

        { "devices: one", { NULL, "allow-once", { { "devices", "as", .strv = { "id-b" } } } }, false, 0,
          DECISION_ALLOW_ONCE, 0, { "id-b" } },
        { "devices: two", { NULL, "allow-always", { { "devices", "as", .strv = { "id-c", "id-a" } } } }, false, 0,
          DECISION_ALLOW_ALWAYS, 0, { "id-c", "id-a" } },
        { "devices: all three", { NULL, "allow-once", { { "devices", "as", .strv = { "id-a", "id-b", "id-c" } } } },
          false, 0, DECISION_ALLOW_ONCE, 0, { "id-a", "id-b", "id-c" } },
        { "devices: empty", { NULL, "allow-once", { { "devices", "as", .strv = { NULL } } } }, false, -EBADMSG, 0, 0,
          {} },
        { "devices: not offered", { NULL, "allow-once", { { "devices", "as", .strv = { "id-x" } } } }, false,
          -EBADMSG, 0, 0, {} },
        { "devices: one offered one not", { NULL, "allow-once", { { "devices", "as", .strv = { "id-a", "id-z" } } } },
          false, -EBADMSG, 0, 0, {} },
        { "devices: prefix of an offered id", { NULL, "allow-once", { { "devices", "as", .strv = { "id-" } } } },
          false, -EBADMSG, 0, 0, {} },
        { "devices: repeated", { NULL, "allow-once", { { "devices", "as", .strv = { "id-a", "id-a" } } } }, false,
          -EBADMSG, 0, 0, {} },
        { "devices: more than offered", { NULL, "allow-once", { { "devices", "as", .strv = { "id-a", "id-b", "id-c", "id-a" } } } },
          false, -EBADMSG, 0, 0, {} },
        { "devices: nothing was offered", { NULL, "allow-once", { { "devices", "as", .strv = { "id-a" } } } }, true,
          -EBADMSG, 0, 0, {} },
        { "devices as a string", { NULL, "allow-once", { { "devices", "s", 0, "id-a" } } }, false, -EBADMSG, 0, 0, {} },
        { "devices given twice", { NULL, "allow-once", { { "devices", "as", .strv = { "id-a" } },
                                                         { "devices", "as", .strv = { "id-a" } } } },
          false, -EBADMSG, 0, 0, {} },
        { "devices with allow-timed", { NULL, "allow-timed", { U("seconds", 5), { "devices", "as", .strv = { "id-a" } } } },
          false, 0, DECISION_ALLOW_TIMED, 5, { "id-a" } },

        { "unknown key ignored", { NULL, "deny-once", { { "remember", "b", 1 } } }, false, 0, DECISION_DENY_ONCE, 0,
          {} },
        { "unknown keys of any type ignored", { NULL, "allow-timed", { { "x", "as", .strv = { "a" } }, U("seconds", 9),
                                                                     { "y", "s", 0, "z" } } },
          false, 0, DECISION_ALLOW_TIMED, 9, {} },

        { "no results at all", { "s", "allow-once", NO_ENTRIES }, false, -EBADMSG, 0, 0, {} },
        { "empty body", { "", "allow-once", NO_ENTRIES }, false, -EBADMSG, 0, 0, {} },
        { "results of a{ss}", { "sa{ss}", "allow-timed", NO_ENTRIES }, false, -EBADMSG, 0, 0, {} },
        { "an extra argument", { "sa{sv}s", "allow-once", NO_ENTRIES }, false, -EBADMSG, 0, 0, {} },
};

static void test_parse(void **state) {
        static char *offered[] = { (char *) "id-a", (char *) "id-b", (char *) "id-c", NULL };
        Pair p = {};
        uint64_t cookie = 1;

        pair_open(&p);
        for (size_t i = 0; i < ELEMENTSOF(parse_cases); i++) {
                const ParseCase *c = &parse_cases[i];
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                _cleanup_(prompt_result_done) PromptResult result = { .decision = _DECISION_INVALID };
                size_t n = 0;
                int r;

                assert_int_equal(sd_bus_message_new_method_call(p.daemon, &m, NULL, "/agent", MG_IFACE_AGENT, "X"), 0);
                append_answer(m, &c->answer);
                assert_int_equal(sd_bus_message_seal(m, cookie++, 0), 0);
                assert_true(sd_bus_message_rewind(m, true) >= 0);

                r = prompt_result_parse(m, c->nothing_offered ? NULL : offered, &result);
                if (r != c->expected)
                        fail_msg("case \"%s\": returned %d, expected %d", c->name, r, c->expected);
                if (r < 0)
                        continue;
                if (result.decision != c->decision || result.seconds != c->seconds)
                        fail_msg("case \"%s\": got %s/%u", c->name, strempty(decision_to_string(result.decision)),
                                 result.seconds);
                while (n < ELEMENTSOF(c->devices) && c->devices[n])
                        n++;
                if (n == 0)
                        assert_null(result.devices);
                else {
                        assert_non_null(result.devices);
                        assert_int_equal(strv_length(result.devices), n);
                        for (size_t k = 0; k < n; k++)
                                assert_string_equal(result.devices[k], c->devices[k]);
                }
        }
        pair_close(&p);
}

typedef struct DecisionName {
        const char *s;
        Decision d;
} DecisionName;

static const DecisionName decision_names[] = {
        { "allow-once", DECISION_ALLOW_ONCE },
        { "allow-always", DECISION_ALLOW_ALWAYS },
        { "allow-timed", DECISION_ALLOW_TIMED },
        { "deny-once", DECISION_DENY_ONCE },
        { "deny-always", DECISION_DENY_ALWAYS },
        { "dismissed", DECISION_DISMISSED },
        { "allow_once", _DECISION_INVALID },
        { "deny", _DECISION_INVALID },
        { "", _DECISION_INVALID },
        { NULL, _DECISION_INVALID },
};

static void test_decision_names(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(decision_names); i++) {
                const DecisionName *c = &decision_names[i];

                assert_int_equal(decision_from_string(c->s), c->d);
                if (c->d >= 0)
                        assert_string_equal(decision_to_string(c->d), c->s);
        }
        assert_null(decision_to_string(_DECISION_MAX));
        assert_null(decision_to_string(_DECISION_INVALID));
}

/* The agents' end: Prompt and Cancel at a few object paths, with what each one received. */

typedef enum AgentMode {
        AGENT_HOLD,   /* keep the call open */
        AGENT_ANSWER, /* answer with `answer` */
        AGENT_ERROR,  /* answer with a D-Bus error */
} AgentMode;

typedef struct TestAgent {
        const char *path;
        AgentMode mode;
        const Answer *answer;

        unsigned n_prompts;
        bool prompted;
        char *request_id;
        sd_bus_message *held;
        char *app_id, *origin, *reason;
        char **kinds, **device_ids, **device_kinds, **device_labels;
        uint32_t uid, pid;
        bool got_uid, got_pid;

        unsigned n_cancels;
        char *cancelled;
        bool cancel_arrived;
} TestAgent;

#define N_AGENTS 4
static TestAgent agents[N_AGENTS];

static void agent_reset(TestAgent *a) {
        free(a->request_id);
        free(a->app_id);
        free(a->origin);
        free(a->reason);
        strv_free(a->kinds);
        strv_free(a->device_ids);
        strv_free(a->device_kinds);
        strv_free(a->device_labels);
        free(a->cancelled);
        sd_bus_message_unref(a->held);
        *a = (TestAgent){};
}

static int read_details(sd_bus_message *m, TestAgent *a) {
        const char *key;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        assert_int_equal(r, 1);
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                char **target = NULL;
                const char *s;

                assert_int_equal(sd_bus_message_read(m, "s", &key), 1);
                if (streq(key, "app_id"))
                        target = &a->app_id;
                else if (streq(key, "origin"))
                        target = &a->origin;
                else if (streq(key, "reason"))
                        target = &a->reason;
                if (target) {
                        assert_null(*target); /* each key once */
                        assert_int_equal(sd_bus_message_read(m, "v", "s", &s), 1);
                        *target = strdup(s);
                } else if (streq(key, "kinds")) {
                        assert_int_equal(sd_bus_message_enter_container(m, 'v', "as"), 1);
                        assert_true(sd_bus_message_read_strv(m, &a->kinds) >= 0);
                        assert_int_equal(sd_bus_message_exit_container(m), 1);
                } else if (streq(key, "devices")) {
                        const char *id, *kind, *label;

                        assert_int_equal(sd_bus_message_enter_container(m, 'v', "a(sss)"), 1);
                        assert_int_equal(sd_bus_message_enter_container(m, 'a', "(sss)"), 1);
                        while ((r = sd_bus_message_read(m, "(sss)", &id, &kind, &label)) > 0) {
                                assert_int_equal(strv_extend(&a->device_ids, id), 0);
                                assert_int_equal(strv_extend(&a->device_kinds, kind), 0);
                                assert_int_equal(strv_extend(&a->device_labels, label), 0);
                        }
                        assert_int_equal(r, 0);
                        assert_int_equal(sd_bus_message_exit_container(m), 1);
                        assert_int_equal(sd_bus_message_exit_container(m), 1);
                } else if (streq(key, "uid")) {
                        assert_int_equal(sd_bus_message_read(m, "v", "u", &a->uid), 1);
                        a->got_uid = true;
                } else if (streq(key, "pid")) {
                        assert_int_equal(sd_bus_message_read(m, "v", "u", &a->pid), 1);
                        a->got_pid = true;
                } else
                        fail_msg("unexpected details key %s", key);
                assert_int_equal(sd_bus_message_exit_container(m), 1);
        }
        assert_int_equal(r, 0);
        return sd_bus_message_exit_container(m);
}

static int method_prompt(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        TestAgent *a = userdata;
        const char *request_id;

        assert_int_equal(sd_bus_message_read(m, "s", &request_id), 1);
        a->n_prompts++;
        a->prompted = true;
        free(a->request_id);
        a->request_id = strdup(request_id);
        /* Forget the details of an earlier prompt: each key must come once in this one. */
        free(a->app_id);
        free(a->origin);
        free(a->reason);
        a->app_id = a->origin = a->reason = NULL;
        strv_free(a->kinds);
        strv_free(a->device_ids);
        strv_free(a->device_kinds);
        strv_free(a->device_labels);
        a->kinds = a->device_ids = a->device_kinds = a->device_labels = NULL;
        a->got_uid = a->got_pid = false;
        assert_true(read_details(m, a) >= 0);

        switch (a->mode) {
        case AGENT_HOLD:
                sd_bus_message_unref(a->held);
                a->held = sd_bus_message_ref(m);
                return 1;
        case AGENT_ERROR:
                return sd_bus_error_set(error, "org.example.Agent.Error.Closed", "The user closed the dialog.");
        case AGENT_ANSWER:
                assert_int_equal(sd_bus_message_new_method_return(m, &reply), 0);
                append_answer(reply, a->answer);
                return sd_bus_send(NULL, reply, NULL);
        }
        return -EINVAL;
}

static int method_cancel(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        TestAgent *a = userdata;
        const char *request_id;

        assert_int_equal(sd_bus_message_read(m, "s", &request_id), 1);
        /* The daemon does not wait for this answer. */
        assert_int_equal(sd_bus_message_get_expect_reply(m), 0);
        a->n_cancels++;
        free(a->cancelled);
        a->cancelled = strdup(request_id);
        a->cancel_arrived = true;
        return sd_bus_reply_method_return(m, NULL);
}

/* A plain object callback rather than a vtable: sd-bus enforces a vtable's reply signature, and
 * the agents here must be able to answer with any signature at all. */
static int agent_object(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        if (sd_bus_message_is_method_call(m, MG_IFACE_AGENT, "Prompt")) {
                assert_true(sd_bus_message_has_signature(m, "sa{sv}"));
                return method_prompt(m, userdata, error) < 0 ? -EIO : 1;
        }
        if (sd_bus_message_is_method_call(m, MG_IFACE_AGENT, "Cancel")) {
                assert_true(sd_bus_message_has_signature(m, "s"));
                method_cancel(m, userdata, error);
                return 1;
        }
        fail_msg("unexpected call %s.%s", strempty(sd_bus_message_get_interface(m)),
                 strempty(sd_bus_message_get_member(m)));
        return 0;
}

static const char *const agent_paths[N_AGENTS] = { "/agent/0", "/agent/1", "/agent/2", "/agent/3" };

/* A Manager as far as consent.c needs one, plus the agents' end. */
typedef struct Fixture {
        Pair pair;
        Manager m;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));

        assert_non_null(f);
        pair_open(&f->pair);
        f->m.bus = f->pair.daemon;
        f->m.event = f->pair.event;
        for (size_t i = 0; i < N_AGENTS; i++) {
                agent_reset(&agents[i]);
                agents[i].path = agent_paths[i];
                assert_int_equal(sd_bus_add_object(f->pair.peer, NULL, agent_paths[i], agent_object, &agents[i]), 0);
        }
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        consent_free_all(&f->m);
        for (size_t i = 0; i < N_AGENTS; i++)
                agent_reset(&agents[i]);
        pair_close(&f->pair);
        free(f);
        return 0;
}

static Caller make_caller(uid_t uid, const char *unique_name, CallerAppKind kind) {
        return (Caller){ .uid = uid, .pid = 4242, .pidfd = -1, .unique_name = (char *) unique_name,
                         .app_id = (char *) "host:/usr/bin/agent", .app_kind = kind };
}

static int register_agent(Manager *m, uid_t uid, const char *unique_name, const char *path) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Caller c = make_caller(uid, unique_name, CALLER_APP_HOST);

        return consent_register_agent(m, &c, path, &error);
}

/* What the daemon's callback saw. */
typedef struct Outcome {
        bool called;
        unsigned n_calls;
        int error;
        Decision decision;
        uint32_t seconds;
        char **devices;
        Prompt **slot; /* the pointer the "request" keeps */
} Outcome;

static void outcome_done(Outcome *o) {
        strv_free(o->devices);
        *o = (Outcome){};
}

static void on_answer(int error, const PromptResult *result, void *userdata) {
        Outcome *o = userdata;

        o->called = true;
        o->n_calls++;
        o->error = error;
        if (o->slot)
                *o->slot = prompt_unref(*o->slot); /* the asker's reference, dropped in the callback */
        if (error < 0) {
                assert_null(result);
                return;
        }
        assert_non_null(result);
        o->decision = result->decision;
        o->seconds = result->seconds;
        strv_free(o->devices);
        o->devices = NULL;
        for (char **d = result->devices; d && *d; d++)
                assert_int_equal(strv_extend(&o->devices, *d), 0);
}

static const PromptDevice two_devices[] = {
        { "dev-mic", "audioinput", "USB Microphone" },
        { "dev-cam", "videoinput", "Integrated Camera" },
};

static int ask(Manager *m, uid_t uid, const char *request_id, Outcome *o, Prompt **ret) {
        char *kinds[] = { (char *) "microphone", (char *) "camera", NULL };
        PromptDetails d = {
                .app_id = "org.example.App",
                .origin = "https://meet.example",
                .reason = "Weekly call",
                .kinds = kinds,
                .devices = two_devices,
                .n_devices = ELEMENTSOF(two_devices),
                .uid = uid,
                .pid = 777,
        };

        o->slot = ret;
        return consent_prompt(m, uid, request_id, &d, on_answer, o, ret);
}

/* Table 2: which agent is asked. Each row is a sequence of registrations (uid, connection, path
 * index) and unregistrations, then a question for one uid. */

typedef enum OpKind { OP_END, OP_REGISTER, OP_UNREGISTER, OP_GONE } OpKind;

typedef struct Op {
        OpKind kind;
        uid_t uid;
        const char *name;
        int agent;
} Op;

typedef struct SelectCase {
        const char *name;
        Op ops[6];
        uid_t ask_uid;
        int expected_agent; /* -1: no agent (PROMPT_NO_AGENT) */
} SelectCase;

#define REG(u, n, i) { OP_REGISTER, u, n, i }
#define UNREG(u, n, i) { OP_UNREGISTER, u, n, i }
#define GONE(n) { OP_GONE, 0, n, 0 }

static const SelectCase select_cases[] = {
        { "own agent", { REG(1000, ":1.1", 0) }, 1000, 0 },
        { "no agent at all", { { OP_END } }, 1000, -1 },
        { "another user's agent does not serve", { REG(1001, ":1.1", 0) }, 1000, -1 },
        { "root agent serves a user without one", { REG(0, ":1.1", 0) }, 1000, 0 },
        { "own agent before a newer root agent", { REG(1000, ":1.1", 0), REG(0, ":1.2", 1) }, 1000, 0 },
        { "own agent before an older root agent", { REG(0, ":1.2", 1), REG(1000, ":1.1", 0) }, 1000, 0 },
        { "root agent for root", { REG(1000, ":1.1", 0), REG(0, ":1.2", 1) }, 0, 1 },
        { "most recent own agent", { REG(1000, ":1.1", 0), REG(1000, ":1.2", 1) }, 1000, 1 },
        { "registering again makes it the most recent",
          { REG(1000, ":1.1", 0), REG(1000, ":1.2", 1), REG(1000, ":1.1", 0) }, 1000, 0 },
        { "same path on two connections is two agents", { REG(1000, ":1.1", 0), REG(1000, ":1.2", 0) }, 1000, 0 },
        { "after unregistering the newest, the older one",
          { REG(1000, ":1.1", 0), REG(1000, ":1.2", 1), UNREG(1000, ":1.2", 1) }, 1000, 0 },
        { "after the newest left the bus, the older one",
          { REG(1000, ":1.1", 0), REG(1000, ":1.2", 1), GONE(":1.2") }, 1000, 0 },
        { "after the own agent left, root's", { REG(0, ":1.1", 0), REG(1000, ":1.2", 1), GONE(":1.2") }, 1000, 0 },
        { "most recent root agent", { REG(0, ":1.1", 0), REG(0, ":1.2", 1), REG(1001, ":1.3", 2) }, 1000, 1 },
        { "uid 65534 is itself", { REG(65534, ":1.1", 0), REG(0, ":1.2", 1) }, 65534, 0 },
        { "uid 2^31 is itself", { REG(2147483648u, ":1.1", 0), REG(0, ":1.2", 1) }, 2147483648u, 0 },
        { "uid 4000000000 is itself", { REG(4000000000u, ":1.1", 0) }, 4000000000u, 0 },
        { "uid 4000000000 does not serve 65534", { REG(4000000000u, ":1.1", 0) }, 65534, -1 },
        { "the invalid uid gets no agent, not root's", { REG(0, ":1.1", 0) }, (uid_t) -1, -1 },
};

static void test_select(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(select_cases); i++) {
                const SelectCase *c = &select_cases[i];
                Fixture *f = *state;
                Outcome o = {};
                Prompt *p = NULL;
                int r;

                for (size_t k = 0; k < N_AGENTS; k++) {
                        agent_reset(&agents[k]);
                        agents[k].path = agent_paths[k];
                }
                consent_free_all(&f->m);

                for (const Op *op = c->ops; op->kind != OP_END; op++) {
                        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                        Caller caller = make_caller(op->uid, op->name, CALLER_APP_HOST);

                        if (op->kind == OP_REGISTER)
                                r = consent_register_agent(&f->m, &caller, agent_paths[op->agent], &error);
                        else if (op->kind == OP_UNREGISTER)
                                r = consent_unregister_agent(&f->m, &caller, agent_paths[op->agent], &error);
                        else {
                                consent_peer_gone(&f->m, op->name);
                                r = 0;
                        }
                        if (r < 0)
                                fail_msg("case \"%s\": step %zu failed: %d", c->name, (size_t) (op - c->ops), r);
                }

                assert_int_equal(consent_has_agent(&f->m, c->ask_uid), c->expected_agent >= 0);
                for (size_t k = 0; k < N_AGENTS; k++)
                        agents[k].mode = AGENT_HOLD;
                r = ask(&f->m, c->ask_uid, "/req/select", &o, &p);
                if (c->expected_agent < 0) {
                        if (r != PROMPT_NO_AGENT)
                                fail_msg("case \"%s\": expected no agent, got %d", c->name, r);
                        continue;
                }
                assert_int_equal(r, 0);
                assert_non_null(p);
                run_until(&f->pair, &agents[c->expected_agent].prompted);
                for (size_t k = 0; k < N_AGENTS; k++)
                        if (agents[k].n_prompts != (k == (size_t) c->expected_agent ? 1u : 0u))
                                fail_msg("case \"%s\": agent %zu got %u prompts", c->name, k, agents[k].n_prompts);

                /* Withdrawing tells that agent, and the answer to come is never reported. */
                p = prompt_cancel(p);
                run_until(&f->pair, &agents[c->expected_agent].cancel_arrived);
                assert_string_equal(agents[c->expected_agent].cancelled, "/req/select");
                assert_false(o.called);
                outcome_done(&o);
        }
}

/* Table 3: refused registrations. */

typedef struct RegisterCase {
        const char *name;
        uid_t uid;
        const char *unique_name;
        CallerAppKind kind;
        const char *path;
        int expected;
        const char *error_name;
} RegisterCase;

static const RegisterCase register_cases[] = {
        { "host app", 1000, ":1.5", CALLER_APP_HOST, "/org/example/Agent", 0, NULL },
        { "app scope", 1000, ":1.5", CALLER_APP_SCOPE, "/org/example/Agent2", 0, NULL },
        { "root path", 1000, ":1.5", CALLER_APP_HOST, "/", 0, NULL },
        { "flatpak", 1000, ":1.6", CALLER_APP_FLATPAK, "/org/example/Agent", -EACCES, SD_BUS_ERROR_ACCESS_DENIED },
        { "snap", 1000, ":1.6", CALLER_APP_SNAP, "/org/example/Agent", -EACCES, SD_BUS_ERROR_ACCESS_DENIED },
        { "unknown uid", (uid_t) -1, ":1.6", CALLER_APP_HOST, "/org/example/Agent", -EACCES,
          SD_BUS_ERROR_ACCESS_DENIED },
        { "no connection name", 1000, "", CALLER_APP_HOST, "/org/example/Agent", -EACCES, SD_BUS_ERROR_ACCESS_DENIED },
        { "relative path", 1000, ":1.6", CALLER_APP_HOST, "org/example", -EINVAL, SD_BUS_ERROR_INVALID_ARGS },
        { "trailing slash", 1000, ":1.6", CALLER_APP_HOST, "/org/example/", -EINVAL, SD_BUS_ERROR_INVALID_ARGS },
        { "empty path", 1000, ":1.6", CALLER_APP_HOST, "", -EINVAL, SD_BUS_ERROR_INVALID_ARGS },
};

static void test_register_refused(void **state) {
        Fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(register_cases); i++) {
                const RegisterCase *c = &register_cases[i];
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                Caller caller = make_caller(c->uid, c->unique_name, c->kind);
                int r;

                r = consent_register_agent(&f->m, &caller, c->path, &error);
                if (r != c->expected)
                        fail_msg("case \"%s\": returned %d, expected %d", c->name, r, c->expected);
                if (c->error_name)
                        assert_true(sd_bus_error_has_name(&error, c->error_name));
                else
                        assert_false(sd_bus_error_is_set(&error));
        }
        /* Only the refused ones left nothing behind: uid 1000 has an agent, nobody else. */
        assert_true(consent_has_agent(&f->m, 1000));
        assert_false(consent_has_agent(&f->m, 1001));
}

static void test_limits(void **state) {
        Fixture *f = *state;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Caller c;
        char path[64];
        size_t n = 0;

        /* Eight per uid. */
        for (unsigned i = 0; i < CONSENT_AGENTS_PER_UID_MAX; i++) {
                snprintf(path, sizeof path, "/a/%u", i);
                assert_int_equal(register_agent(&f->m, 1000, ":1.1", path), 0);
        }
        c = make_caller(1000, ":1.2", CALLER_APP_HOST);
        assert_int_equal(consent_register_agent(&f->m, &c, "/a/more", &error), -EDQUOT);
        assert_true(sd_bus_error_has_name(&error, MG_ERROR_LIMITS_EXCEEDED));
        sd_bus_error_free(&error);
        /* Registering one of the eight again is not a ninth. */
        assert_int_equal(register_agent(&f->m, 1000, ":1.1", "/a/3"), 0);
        /* After one goes, there is room again. */
        c = make_caller(1000, ":1.1", CALLER_APP_HOST);
        assert_int_equal(consent_unregister_agent(&f->m, &c, "/a/3", &error), 0);
        assert_int_equal(register_agent(&f->m, 1000, ":1.2", "/a/more"), 0);
        n = CONSENT_AGENTS_PER_UID_MAX;

        /* 256 in all, whatever the uids: one connection per uid here. */
        for (uid_t uid = 2000; n < CONSENT_AGENTS_MAX; uid++) {
                char name[32];

                snprintf(name, sizeof name, ":2.%u", (unsigned) uid);
                for (unsigned i = 0; i < CONSENT_AGENTS_PER_UID_MAX && n < CONSENT_AGENTS_MAX; i++, n++) {
                        snprintf(path, sizeof path, "/b/%u", i);
                        assert_int_equal(register_agent(&f->m, uid, name, path), 0);
                }
        }
        c = make_caller(99999, ":1.4", CALLER_APP_HOST);
        assert_int_equal(consent_register_agent(&f->m, &c, "/c", &error), -EDQUOT);
        assert_true(sd_bus_error_has_name(&error, MG_ERROR_LIMITS_EXCEEDED));
        sd_bus_error_free(&error);
        assert_false(consent_has_agent(&f->m, 99999));

        /* One connection leaving frees its places. */
        assert_true(consent_has_agent(&f->m, 2003));
        consent_peer_gone(&f->m, ":2.2003");
        assert_false(consent_has_agent(&f->m, 2003));
        assert_int_equal(register_agent(&f->m, 99999, ":1.4", "/c"), 0);
        assert_true(consent_has_agent(&f->m, 99999));
}

typedef struct UnregisterCase {
        const char *name;
        const char *unique_name;
        const char *path;
        int expected;
} UnregisterCase;

static const UnregisterCase unregister_cases[] = {
        { "another connection", ":1.9", "/agent/0", -EINVAL },
        { "a path not registered", ":1.1", "/agent/1", -EINVAL },
        { "a prefix of the path", ":1.1", "/agent", -EINVAL },
        { "the owner", ":1.1", "/agent/0", 0 },
        { "the owner again", ":1.1", "/agent/0", -EINVAL },
};

static void test_unregister(void **state) {
        Fixture *f = *state;

        assert_int_equal(register_agent(&f->m, 1000, ":1.1", "/agent/0"), 0);
        for (size_t i = 0; i < ELEMENTSOF(unregister_cases); i++) {
                const UnregisterCase *c = &unregister_cases[i];
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                Caller caller = make_caller(1000, c->unique_name, CALLER_APP_HOST);
                int r;

                r = consent_unregister_agent(&f->m, &caller, c->path, &error);
                if (r != c->expected)
                        fail_msg("case \"%s\": returned %d, expected %d", c->name, r, c->expected);
                if (r < 0)
                        assert_true(sd_bus_error_has_name(&error, SD_BUS_ERROR_INVALID_ARGS));
                /* Until the owner unregisters, the agent stays. */
                assert_int_equal(consent_has_agent(&f->m, 1000), i < 3);
        }
}

/* Table 4: whole prompts, answered by the agent. */

typedef struct AnswerCase {
        const char *name;
        AgentMode mode;
        Answer answer;
        int expected_error;
        Decision decision;
        uint32_t seconds;
        const char *devices[3];
} AnswerCase;

static const AnswerCase answer_cases[] = {
        { "allow-once", AGENT_ANSWER, { NULL, "allow-once", NO_ENTRIES }, 0, DECISION_ALLOW_ONCE, 0, {} },
        { "deny-always", AGENT_ANSWER, { NULL, "deny-always", NO_ENTRIES }, 0, DECISION_DENY_ALWAYS, 0, {} },
        { "allow-timed", AGENT_ANSWER, { NULL, "allow-timed", { U("seconds", 3600) } }, 0, DECISION_ALLOW_TIMED, 3600,
          {} },
        { "picked the camera", AGENT_ANSWER, { NULL, "allow-always", { { "devices", "as", .strv = { "dev-cam" } } } },
          0, DECISION_ALLOW_ALWAYS, 0, { "dev-cam" } },
        { "dismissed", AGENT_ANSWER, { NULL, "dismissed", NO_ENTRIES }, 0, DECISION_DISMISSED, 0, {} },
        { "an error reply is dismissed", AGENT_ERROR, { NULL, NULL, NO_ENTRIES }, 0, DECISION_DISMISSED, 0, {} },
        { "unknown decision fails closed", AGENT_ANSWER, { NULL, "yes", NO_ENTRIES }, -EBADMSG, 0, 0, {} },
        { "timed without seconds fails closed", AGENT_ANSWER, { NULL, "allow-timed", NO_ENTRIES }, -EBADMSG, 0, 0, {} },
        { "a device not offered fails closed", AGENT_ANSWER,
          { NULL, "allow-once", { { "devices", "as", .strv = { "dev-other" } } } }, -EBADMSG, 0, 0, {} },
        { "wrong signature fails closed", AGENT_ANSWER, { "s", "allow-once", NO_ENTRIES }, -EBADMSG, 0, 0, {} },
};

static void test_answers(void **state) {
        Fixture *f = *state;

        assert_int_equal(register_agent(&f->m, 1000, ":1.1", agent_paths[0]), 0);
        for (size_t i = 0; i < ELEMENTSOF(answer_cases); i++) {
                const AnswerCase *c = &answer_cases[i];
                Outcome o = {};
                Prompt *p = NULL;
                size_t n = 0;

                agents[0].mode = c->mode;
                agents[0].answer = &c->answer;
                assert_int_equal(ask(&f->m, 1000, "/req/answers", &o, &p), 0);
                run_until(&f->pair, &o.called);
                assert_null(p);
                if (o.error != c->expected_error)
                        fail_msg("case \"%s\": error %d, expected %d", c->name, o.error, c->expected_error);
                if (o.error == 0) {
                        if (o.decision != c->decision || o.seconds != c->seconds)
                                fail_msg("case \"%s\": got %s/%u", c->name, strempty(decision_to_string(o.decision)),
                                         o.seconds);
                        while (n < ELEMENTSOF(c->devices) && c->devices[n])
                                n++;
                        assert_int_equal(strv_length(o.devices), n);
                        for (size_t k = 0; k < n; k++)
                                assert_string_equal(o.devices[k], c->devices[k]);
                }
                /* Nothing more comes, and no Cancel for an answered prompt. */
                run_for(&f->pair, 20000);
                assert_int_equal(o.n_calls, 1);
                assert_int_equal(agents[0].n_cancels, 0);
                outcome_done(&o);
        }
        assert_int_equal(agents[0].n_prompts, ELEMENTSOF(answer_cases));
}

/* Table 5: what the agent is shown. */

typedef struct DetailsCase {
        const char *name;
        const char *app_id, *origin, *reason, *label;
        const char *shown_app_id, *shown_origin, *shown_reason, *shown_label;
} DetailsCase;

static const DetailsCase details_cases[] = {
        { "plain", "org.example.App", "https://meet.example", "Weekly call", "USB Microphone", "org.example.App",
          "https://meet.example", "Weekly call", "USB Microphone" },
        { "NULLs are empty", NULL, NULL, NULL, NULL, "", "", "", "" },
        { "escape sequences", "host:/tmp/\x1b[2Jevil", "https://a.example", "\x1b[31mURGENT\x1b[0m", "Cam\x1b]0;x\x07",
          "host:/tmp/[2Jevil", "https://a.example", "[31mURGENT[0m", "Cam]0;x" },
        { "newlines", "org.example.App", "https://a.example", "Line one\nAllow: yes\r\n", "Mic\n2",
          "org.example.App", "https://a.example", "Line one Allow: yes  ", "Mic 2" },
        { "bidi override", "host:/usr/bin/\xe2\x80\xaegpj.exe", "https://\xe2\x81\xa7moc.evil",
          "\xe2\x80\x8fok", "\xe2\x80\xadlabel", "host:/usr/bin/gpj.exe", "https://moc.evil", "ok", "label" },
        { "invalid UTF-8", "host:/usr/bin/\xff\xfe", "https://\xc0\xaf.example", "bad \xed\xa0\x80 surrogate",
          "\xe2\x82", "host:/usr/bin/\xef\xbf\xbd\xef\xbf\xbd", "https://\xef\xbf\xbd\xef\xbf\xbd.example",
          "bad \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd surrogate", "\xef\xbf\xbd" },
};

static void test_details(void **state) {
        Fixture *f = *state;

        assert_int_equal(register_agent(&f->m, 4000000000u, ":1.1", agent_paths[1]), 0);
        agents[1].mode = AGENT_HOLD;
        for (size_t i = 0; i < ELEMENTSOF(details_cases); i++) {
                const DetailsCase *c = &details_cases[i];
                char *kinds[] = { (char *) "camera", NULL };
                PromptDevice devices[] = { { "dev-1", "videoinput", c->label } };
                PromptDetails d = { .app_id = c->app_id, .origin = c->origin, .reason = c->reason, .kinds = kinds,
                                    .devices = devices, .n_devices = 1, .uid = 4000000000u, .pid = 123456 };
                TestAgent *a = &agents[1];
                Outcome o = {};
                Prompt *p = NULL;

                agent_reset(a);
                a->path = agent_paths[1];
                a->mode = AGENT_HOLD;
                o.slot = &p;
                assert_int_equal(consent_prompt(&f->m, 4000000000u, "/req/details", &d, on_answer, &o, &p), 0);
                run_until(&f->pair, &a->prompted);

                assert_string_equal(a->request_id, "/req/details");
                if (!streq_ptr(a->app_id, c->shown_app_id) || !streq_ptr(a->origin, c->shown_origin) ||
                    !streq_ptr(a->reason, c->shown_reason))
                        fail_msg("case \"%s\": shown \"%s\" \"%s\" \"%s\"", c->name, a->app_id, a->origin, a->reason);
                assert_int_equal(strv_length(a->device_labels), 1);
                assert_string_equal(a->device_labels[0], c->shown_label);
                assert_string_equal(a->device_ids[0], "dev-1");
                assert_string_equal(a->device_kinds[0], "videoinput");
                assert_int_equal(strv_length(a->kinds), 1);
                assert_string_equal(a->kinds[0], "camera");
                assert_true(a->got_uid && a->got_pid);
                assert_int_equal(a->uid, 4000000000u);
                assert_int_equal(a->pid, 123456);
                p = prompt_cancel(p);
                outcome_done(&o);
        }
}

static void test_details_capped(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *huge = malloc(64 * 1024 + 1);
        char *kinds[] = { (char *) "microphone", NULL };
        Outcome o = {};
        Prompt *p = NULL;
        PromptDevice devices[1];
        PromptDetails d;

        assert_non_null(huge);
        memset(huge, 'r', 64 * 1024);
        huge[64 * 1024] = '\0';
        devices[0] = (PromptDevice){ "dev-1", "audioinput", huge };
        d = (PromptDetails){ .app_id = huge, .origin = huge, .reason = huge, .kinds = kinds, .devices = devices,
                             .n_devices = 1, .uid = 1000, .pid = 1 };

        assert_int_equal(register_agent(&f->m, 1000, ":1.1", agent_paths[0]), 0);
        agents[0].mode = AGENT_HOLD;
        o.slot = &p;
        assert_int_equal(consent_prompt(&f->m, 1000, "/req/huge", &d, on_answer, &o, &p), 0);
        run_until(&f->pair, &agents[0].prompted);
        /* ids in bytes, the rest in characters; "…" marks the cut. */
        assert_int_equal(strlen(agents[0].app_id), 1024);
        assert_int_equal(strlen(agents[0].origin), 1024);
        assert_int_equal(strlen(agents[0].reason), 255 + 3);
        assert_int_equal(strlen(agents[0].device_labels[0]), 255 + 3);
        assert_string_equal(agents[0].reason + 255, "\xe2\x80\xa6");
        p = prompt_cancel(p);
        outcome_done(&o);
}

/* The ways a prompt ends without an answer. */

static void test_timeout(void **state) {
        Fixture *f = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *late = NULL;
        Outcome o = {};
        Prompt *p = NULL;
        uint64_t start;

        f->m.config.prompt_timeout_usec = 50000;
        assert_int_equal(register_agent(&f->m, 1000, ":1.1", agent_paths[0]), 0);
        agents[0].mode = AGENT_HOLD;
        start = now_usec(CLOCK_MONOTONIC);
        assert_int_equal(ask(&f->m, 1000, "/req/slow", &o, &p), 0);
        run_until(&f->pair, &o.called);
        assert_true(now_usec(CLOCK_MONOTONIC) - start >= 50000);
        assert_int_equal(o.error, -ETIMEDOUT);
        assert_null(p);
        run_until(&f->pair, &agents[0].cancel_arrived);
        assert_string_equal(agents[0].cancelled, "/req/slow");

        /* The agent answers after all: nobody hears it. */
        assert_non_null(agents[0].held);
        assert_int_equal(sd_bus_message_new_method_return(agents[0].held, &late), 0);
        assert_true(sd_bus_message_append(late, "sa{sv}", "allow-always", 0) >= 0);
        assert_true(sd_bus_send(NULL, late, NULL) >= 0);
        run_for(&f->pair, 30000);
        assert_int_equal(o.n_calls, 1);
        /* The agent is still registered: a slow answer is no reason to drop it. */
        assert_true(consent_has_agent(&f->m, 1000));
        outcome_done(&o);
}

/* A time-out that is not reached leaves no trace: an answer in time, or a withdrawn prompt, and
 * then the deadline passes. */
static void test_timeout_not_reached(void **state) {
        static const Answer allow = { NULL, "allow-once", NO_ENTRIES };
        Fixture *f = *state;
        Outcome answered = {}, withdrawn = {};
        Prompt *p1 = NULL, *p2 = NULL;

        f->m.config.prompt_timeout_usec = 40000;
        assert_int_equal(register_agent(&f->m, 1000, ":1.1", agent_paths[0]), 0);
        assert_int_equal(register_agent(&f->m, 1001, ":1.2", agent_paths[1]), 0);
        agents[0].mode = AGENT_ANSWER;
        agents[0].answer = &allow;
        agents[1].mode = AGENT_HOLD;

        assert_int_equal(ask(&f->m, 1000, "/req/quick", &answered, &p1), 0);
        assert_int_equal(ask(&f->m, 1001, "/req/withdrawn", &withdrawn, &p2), 0);
        run_until(&f->pair, &answered.called);
        assert_int_equal(answered.error, 0);
        assert_int_equal(answered.decision, DECISION_ALLOW_ONCE);
        run_until(&f->pair, &agents[1].prompted);
        p2 = prompt_cancel(p2);

        run_for(&f->pair, 100000);
        assert_int_equal(answered.n_calls, 1);
        assert_false(withdrawn.called);
        assert_int_equal(agents[0].n_cancels, 0);
        assert_int_equal(agents[1].n_cancels, 1);
        outcome_done(&answered);
}

static void test_no_timeout_configured(void **state) {
        Fixture *f = *state;
        Outcome o = {};
        Prompt *p = NULL;

        f->m.config.prompt_timeout_usec = 0;
        assert_int_equal(register_agent(&f->m, 1000, ":1.1", agent_paths[0]), 0);
        agents[0].mode = AGENT_HOLD;
        assert_int_equal(ask(&f->m, 1000, "/req/patient", &o, &p), 0);
        run_for(&f->pair, 100000);
        assert_false(o.called);
        assert_int_equal(agents[0].n_cancels, 0);
        p = prompt_cancel(p);
        run_until(&f->pair, &agents[0].cancel_arrived);
        assert_false(o.called);
}

typedef enum EndKind { END_PEER_GONE, END_UNREGISTER, END_FREE_ALL } EndKind;

typedef struct EndCase {
        const char *name;
        EndKind kind;
        bool expect_cancel;
} EndCase;

static const EndCase end_cases[] = {
        { "agent left the bus", END_PEER_GONE, false },
        { "agent unregistered", END_UNREGISTER, true },
        { "daemon shutting down", END_FREE_ALL, true },
};

static void test_agent_goes(void **state) {
        Fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(end_cases); i++) {
                const EndCase *c = &end_cases[i];
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                Caller caller = make_caller(1000, ":1.1", CALLER_APP_HOST);
                Outcome o1 = {}, o2 = {}, o3 = {};
                Prompt *p1 = NULL, *p2 = NULL, *p3 = NULL;

                for (size_t k = 0; k < N_AGENTS; k++) {
                        agent_reset(&agents[k]);
                        agents[k].path = agent_paths[k];
                        agents[k].mode = AGENT_HOLD;
                }
                consent_free_all(&f->m);
                assert_int_equal(register_agent(&f->m, 1000, ":1.1", agent_paths[0]), 0);
                assert_int_equal(register_agent(&f->m, 1001, ":1.2", agent_paths[1]), 0);
                assert_int_equal(ask(&f->m, 1000, "/req/one", &o1, &p1), 0);
                assert_int_equal(ask(&f->m, 1000, "/req/two", &o2, &p2), 0);
                assert_int_equal(ask(&f->m, 1001, "/req/other", &o3, &p3), 0);
                run_for(&f->pair, 20000);
                assert_int_equal(agents[0].n_prompts, 2);

                if (c->kind == END_PEER_GONE)
                        consent_peer_gone(&f->m, ":1.1");
                else if (c->kind == END_UNREGISTER)
                        assert_int_equal(consent_unregister_agent(&f->m, &caller, agent_paths[0], &error), 0);
                else
                        consent_free_all(&f->m);

                /* At once, from within the call: both prompts of that agent are dismissed. */
                if (!o1.called || !o2.called)
                        fail_msg("case \"%s\": prompts not completed", c->name);
                assert_int_equal(o1.error, 0);
                assert_int_equal(o1.decision, DECISION_DISMISSED);
                assert_int_equal(o2.decision, DECISION_DISMISSED);
                assert_null(p1);
                assert_null(p2);
                assert_false(consent_has_agent(&f->m, 1000));

                run_for(&f->pair, 30000);
                assert_int_equal(agents[0].n_cancels, c->expect_cancel ? 2u : 0u);
                assert_int_equal(o1.n_calls, 1);
                assert_int_equal(o2.n_calls, 1);

                /* The other uid's agent and prompt are untouched, unless everything went. */
                if (c->kind == END_FREE_ALL) {
                        assert_true(o3.called);
                        assert_null(f->m.consent);
                } else {
                        assert_false(o3.called);
                        assert_true(consent_has_agent(&f->m, 1001));
                        p3 = prompt_cancel(p3);
                }
                outcome_done(&o1);
                outcome_done(&o2);
                outcome_done(&o3);
        }
}

/* The bus itself answering for an agent that left (the error reply comes before or without
 * NameOwnerChanged) is an error reply like any other: dismissed. */
static void test_agent_disconnects(void **state) {
        Fixture *f = *state;
        Outcome o = {};
        Prompt *p = NULL;

        assert_int_equal(register_agent(&f->m, 1000, ":1.1", agent_paths[0]), 0);
        agents[0].mode = AGENT_HOLD;
        assert_int_equal(ask(&f->m, 1000, "/req/gone", &o, &p), 0);
        run_until(&f->pair, &agents[0].prompted);
        f->pair.peer = sd_bus_flush_close_unref(f->pair.peer);
        run_until(&f->pair, &o.called);
        assert_int_equal(o.error, 0);
        assert_int_equal(o.decision, DECISION_DISMISSED);
        assert_null(p);
        outcome_done(&o);
}

static void test_no_agent(void **state) {
        Fixture *f = *state;
        Outcome o = {};
        Prompt *p = NULL;

        assert_false(consent_has_agent(&f->m, 1000));
        assert_int_equal(ask(&f->m, 1000, "/req/alone", &o, &p), PROMPT_NO_AGENT);
        assert_null(p);
        assert_int_equal(register_agent(&f->m, 1001, ":1.1", agent_paths[0]), 0);
        assert_int_equal(ask(&f->m, 1000, "/req/alone", &o, &p), PROMPT_NO_AGENT);
        run_for(&f->pair, 10000);
        assert_false(o.called);
        assert_int_equal(agents[0].n_prompts, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_decision_names),
                cmocka_unit_test(test_parse),
                cmocka_unit_test_setup_teardown(test_select, setup, teardown),
                cmocka_unit_test_setup_teardown(test_register_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unregister, setup, teardown),
                cmocka_unit_test_setup_teardown(test_answers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_details, setup, teardown),
                cmocka_unit_test_setup_teardown(test_details_capped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeout_not_reached, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_timeout_configured, setup, teardown),
                cmocka_unit_test_setup_teardown(test_agent_goes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_agent_disconnects, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_agent, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
