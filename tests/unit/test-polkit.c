/* Unit tests for polkit.c against a fake polkit on a private socketpair connection: what is asked
 * (subject, action, flags, cancellation id), how every kind of answer is read (only an explicit
 * "authorized" is yes), cancellation, the cache of answers, and the re-dispatch of a parked
 * method call. */
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

#include "mediagate-names.h"
#include "polkit.h"
#include "util.h"

#define SUBJECT ":1.42"

/* The fake polkit. */

typedef enum PolkitMode {
        PK_ANSWER,    /* (authorized, challenge, {}) */
        PK_ERROR,     /* a D-Bus error named error_name */
        PK_HOLD,      /* no answer for now */
        PK_MALFORMED, /* a reply of signature `shape` */
} PolkitMode;

typedef struct FakePolkit {
        PolkitMode mode;
        int authorized, challenge;
        bool temporary; /* the answer names a temporary authorization */
        const char *error_name;
        const char *shape;

        unsigned n_checks;
        bool checked;
        char *subject_kind, *subject_name, *action, *cancellation_id;
        unsigned n_details;
        uint32_t flags;
        sd_bus_message *held;

        unsigned n_cancels;
        bool cancel_arrived;
        char *cancelled_id;
} FakePolkit;

static FakePolkit pk;

static void fake_polkit_reset(void) {
        free(pk.subject_kind);
        free(pk.subject_name);
        free(pk.action);
        free(pk.cancellation_id);
        free(pk.cancelled_id);
        sd_bus_message_unref(pk.held);
        pk = (FakePolkit){};
}

static int send_answer(sd_bus_message *call) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

        assert_int_equal(sd_bus_message_new_method_return(call, &reply), 0);
        if (pk.mode == PK_MALFORMED) {
                if (streq(pk.shape, "b"))
                        assert_true(sd_bus_message_append(reply, "b", 1) >= 0);
                else if (streq(pk.shape, "(bb)"))
                        assert_true(sd_bus_message_append(reply, "(bb)", 1, 0) >= 0);
                else if (streq(pk.shape, "(sba{ss})"))
                        assert_true(sd_bus_message_append(reply, "(sba{ss})", "yes", 0, 0) >= 0);
                else
                        assert_string_equal(pk.shape, ""); /* an empty reply */
        } else if (pk.temporary)
                assert_true(sd_bus_message_append(reply, "(bba{ss})", pk.authorized, pk.challenge, 1,
                                                  "polkit.temporary_authorization_id", "tmpauthz1") >= 0);
        else
                assert_true(sd_bus_message_append(reply, "(bba{ss})", pk.authorized, pk.challenge, 1,
                                                  "polkit.retains_authorization_after_challenge", "true") >= 0);
        return sd_bus_send(NULL, reply, NULL);
}

static int fake_check_authorization(sd_bus_message *m) {
        const char *kind, *action, *id, *key;
        int r;

        assert_true(sd_bus_message_has_signature(m, "(sa{sv})sa{ss}us"));
        pk.n_checks++;
        pk.checked = true;

        assert_int_equal(sd_bus_message_enter_container(m, 'r', "sa{sv}"), 1);
        assert_int_equal(sd_bus_message_read(m, "s", &kind), 1);
        free(pk.subject_kind);
        pk.subject_kind = strdup(kind);
        assert_int_equal(sd_bus_message_enter_container(m, 'a', "{sv}"), 1);
        free(pk.subject_name);
        pk.subject_name = NULL;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;

                assert_int_equal(sd_bus_message_read(m, "s", &key), 1);
                assert_string_equal(key, "name");
                assert_int_equal(sd_bus_message_read(m, "v", "s", &name), 1);
                pk.subject_name = strdup(name);
                assert_int_equal(sd_bus_message_exit_container(m), 1);
        }
        assert_int_equal(r, 0);
        assert_int_equal(sd_bus_message_exit_container(m), 1);
        assert_int_equal(sd_bus_message_exit_container(m), 1);

        assert_int_equal(sd_bus_message_read(m, "s", &action), 1);
        free(pk.action);
        pk.action = strdup(action);

        pk.n_details = 0;
        assert_int_equal(sd_bus_message_enter_container(m, 'a', "{ss}"), 1);
        while ((r = sd_bus_message_skip(m, "{ss}")) > 0)
                pk.n_details++;
        assert_int_equal(sd_bus_message_exit_container(m), 1);

        assert_int_equal(sd_bus_message_read(m, "us", &pk.flags, &id), 1);
        free(pk.cancellation_id);
        pk.cancellation_id = strdup(id);

        switch (pk.mode) {
        case PK_HOLD:
                sd_bus_message_unref(pk.held);
                pk.held = sd_bus_message_ref(m);
                return 1;
        case PK_ERROR:
                return sd_bus_reply_method_errorf(m, pk.error_name, "The fake polkit says no.");
        default:
                return send_answer(m);
        }
}

/* A plain object callback, not a vtable: sd-bus would enforce a vtable's reply signature, and
 * this polkit must be able to answer with a wrong one. */
static int fake_polkit_object(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *id;

        if (sd_bus_message_is_method_call(m, "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization"))
                return fake_check_authorization(m) < 0 ? -EIO : 1;
        if (sd_bus_message_is_method_call(m, "org.freedesktop.PolicyKit1.Authority", "CancelCheckAuthorization")) {
                assert_int_equal(sd_bus_message_read(m, "s", &id), 1);
                assert_int_equal(sd_bus_message_get_expect_reply(m), 0);
                pk.n_cancels++;
                pk.cancel_arrived = true;
                free(pk.cancelled_id);
                pk.cancelled_id = strdup(id);
                return 1;
        }
        fail_msg("unexpected call to polkit: %s", strempty(sd_bus_message_get_member(m)));
        return 0;
}

static void add_fake_polkit(Pair *p) {
        assert_int_equal(sd_bus_add_object(p->peer, NULL, "/org/freedesktop/PolicyKit1/Authority",
                                           fake_polkit_object, NULL),
                         0);
}

/* Table 1: polkit_check(). */

typedef struct Answer {
        bool called;
        unsigned n_calls;
        int allowed;
        PolkitQuery **slot;
} Answer;

static void on_answer(int allowed, void *userdata) {
        Answer *a = userdata;

        a->called = true;
        a->n_calls++;
        a->allowed = allowed;
        if (a->slot)
                *a->slot = polkit_query_unref(*a->slot); /* the caller's reference, dropped in the callback */
}

typedef struct CheckCase {
        const char *name;
        PolkitMode mode;
        int authorized, challenge;
        const char *error_name;
        const char *shape;
        bool interactive;
        int expected;
} CheckCase;

static const CheckCase check_cases[] = {
        { "authorized", PK_ANSWER, 1, 0, NULL, NULL, false, 1 },
        { "not authorized", PK_ANSWER, 0, 0, NULL, NULL, false, 0 },
        { "challenge is no", PK_ANSWER, 0, 1, NULL, NULL, false, 0 },
        { "interactive, authorized", PK_ANSWER, 1, 0, NULL, NULL, true, 1 },
        { "interactive, not authorized", PK_ANSWER, 0, 1, NULL, NULL, true, 0 },
        { "polkit failed", PK_ERROR, 0, 0, "org.freedesktop.PolicyKit1.Error.Failed", NULL, false, 0 },
        { "polkit not on the bus", PK_ERROR, 0, 0, SD_BUS_ERROR_SERVICE_UNKNOWN, NULL, false, 0 },
        { "subject gone", PK_ERROR, 0, 0, SD_BUS_ERROR_NAME_HAS_NO_OWNER, NULL, false, 0 },
        { "no reply", PK_ERROR, 0, 0, SD_BUS_ERROR_NO_REPLY, NULL, false, 0 },
        { "malformed: b", PK_MALFORMED, 0, 0, NULL, "b", false, 0 },
        { "malformed: (bb)", PK_MALFORMED, 0, 0, NULL, "(bb)", false, 0 },
        { "malformed: (sba{ss})", PK_MALFORMED, 0, 0, NULL, "(sba{ss})", false, 0 },
        { "malformed: empty", PK_MALFORMED, 0, 0, NULL, "", false, 0 },
};

static void test_check(void **state) {
        _cleanup_free_ char *previous_id = NULL;
        PolkitAuthority *authority = NULL;
        Pair p = {};

        pair_open(&p);
        add_fake_polkit(&p);
        for (size_t i = 0; i < ELEMENTSOF(check_cases); i++) {
                const CheckCase *c = &check_cases[i];
                PolkitQuery *q = NULL;
                Answer a = { .allowed = -1, .slot = &q };

                fake_polkit_reset();
                pk.mode = c->mode;
                pk.authorized = c->authorized;
                pk.challenge = c->challenge;
                pk.error_name = c->error_name;
                pk.shape = c->shape;

                /* A fresh authority each time: nothing answers from the cache here. */
                assert_int_equal(polkit_authority_new(p.daemon, &authority), 0);
                assert_int_equal(polkit_check(authority, SUBJECT, MG_POLKIT_ACTION_CAMERA, c->interactive, on_answer, &a, &q),
                                 0);
                assert_non_null(q);
                assert_false(a.called); /* never from within polkit_check() */
                run_until(&p, &a.called);
                if (a.allowed != c->expected)
                        fail_msg("case \"%s\": allowed %d, expected %d", c->name, a.allowed, c->expected);
                assert_null(q);

                assert_int_equal(pk.n_checks, 1);
                assert_string_equal(pk.subject_kind, "system-bus-name");
                assert_string_equal(pk.subject_name, SUBJECT);
                assert_string_equal(pk.action, MG_POLKIT_ACTION_CAMERA);
                assert_int_equal(pk.n_details, 0);
                assert_int_equal(pk.flags, c->interactive ? 1u : 0u);
                assert_false(isempty(pk.cancellation_id));
                if (previous_id)
                        assert_string_not_equal(pk.cancellation_id, previous_id);
                free(previous_id);
                previous_id = strdup(pk.cancellation_id);

                run_for(&p, 5000);
                assert_int_equal(a.n_calls, 1);
                assert_int_equal(pk.n_cancels, 0); /* nothing to cancel once answered */
                authority = polkit_authority_free(authority);
        }
        fake_polkit_reset();
        pair_close(&p);
}

typedef struct InvalidCase {
        const char *name;
        const char *subject, *action;
        bool with_callback;
} InvalidCase;

static const InvalidCase invalid_cases[] = {
        { "well-known name as subject", "org.example.App", MG_POLKIT_ACTION_CAMERA, true },
        { "empty subject", "", MG_POLKIT_ACTION_CAMERA, true },
        { "no subject", NULL, MG_POLKIT_ACTION_CAMERA, true },
        { "empty action", SUBJECT, "", true },
        { "no action", SUBJECT, NULL, true },
        { "no callback", SUBJECT, MG_POLKIT_ACTION_CAMERA, false },
};

static void test_check_invalid(void **state) {
        PolkitAuthority *authority = NULL;
        Pair p = {};

        pair_open(&p);
        assert_int_equal(polkit_authority_new(p.daemon, &authority), 0);
        for (size_t i = 0; i < ELEMENTSOF(invalid_cases); i++) {
                const InvalidCase *c = &invalid_cases[i];
                PolkitQuery *q = NULL;
                Answer a = {};

                if (polkit_check(authority, c->subject, c->action, false, c->with_callback ? on_answer : NULL, &a, &q) !=
                    -EINVAL)
                        fail_msg("case \"%s\" was not refused", c->name);
                assert_null(q);
        }
        assert_int_equal(polkit_check(NULL, SUBJECT, MG_POLKIT_ACTION_CAMERA, false, on_answer, &(Answer){}, &(PolkitQuery *){ NULL }),
                         -EINVAL);
        polkit_authority_free(authority);
        pair_close(&p);
}

static void test_cancel(void **state) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *late = NULL;
        PolkitAuthority *authority = NULL;
        Pair p = {};
        PolkitQuery *q = NULL;
        Answer a = { .slot = &q };

        pair_open(&p);
        add_fake_polkit(&p);
        fake_polkit_reset();
        pk.mode = PK_HOLD;
        assert_int_equal(polkit_authority_new(p.daemon, &authority), 0);
        assert_int_equal(polkit_check(authority, SUBJECT, MG_POLKIT_ACTION_MICROPHONE, true, on_answer, &a, &q), 0);
        run_until(&p, &pk.checked);

        assert_null(polkit_query_cancel(q));
        q = NULL;
        run_until(&p, &pk.cancel_arrived);
        assert_string_equal(pk.cancelled_id, pk.cancellation_id);

        /* polkit answers anyway: nobody hears it. */
        pk.mode = PK_ANSWER;
        pk.authorized = 1;
        assert_true(send_answer(pk.held) >= 0);
        run_for(&p, 20000);
        assert_false(a.called);

        assert_null(polkit_query_cancel(NULL));
        polkit_authority_free(authority);
        fake_polkit_reset();
        pair_close(&p);
}

/* A check whose caller lets go of it from within its own callback, and one cancelled after it
 * answered: both are fine (references, not "forget the pointer"). */
static void test_reference_after_answer(void **state) {
        PolkitAuthority *authority = NULL;
        PolkitQuery *q = NULL;
        Answer a = {};
        Pair p = {};

        pair_open(&p);
        add_fake_polkit(&p);
        fake_polkit_reset();
        pk.authorized = 1;
        assert_int_equal(polkit_authority_new(p.daemon, &authority), 0);
        assert_int_equal(polkit_check(authority, SUBJECT, MG_POLKIT_ACTION_CAMERA, false, on_answer, &a, &q), 0);
        run_until(&p, &a.called);
        assert_int_equal(a.allowed, 1);
        assert_null(polkit_query_cancel(q)); /* answered already: only the reference goes */
        assert_int_equal(pk.n_cancels, 0);
        polkit_authority_free(authority);
        fake_polkit_reset();
        pair_close(&p);
}

/* Table 3: the cache. Each row asks twice in a row; the second is answered from the cache only
 * when the first answer rested on polkit's rules alone. */
typedef struct CacheCase {
        const char *name;
        PolkitMode mode;
        int authorized, challenge;
        bool temporary, interactive;
        int expected;
        unsigned expected_checks; /* after both questions */
} CacheCase;

static const CacheCase cache_cases[] = {
        { "yes is kept", PK_ANSWER, 1, 0, false, false, 1, 1 },
        { "no is kept", PK_ANSWER, 0, 0, false, false, 0, 1 },
        { "a challenge is not", PK_ANSWER, 0, 1, false, false, 0, 2 },
        { "a temporary authorization is not", PK_ANSWER, 1, 0, true, false, 1, 2 },
        { "interactive checks always ask", PK_ANSWER, 1, 0, false, true, 1, 2 },
        { "errors are not", PK_ERROR, 0, 0, false, false, 0, 2 },
};

static void ask_once(Pair *p, PolkitAuthority *authority, const char *subject, bool interactive, int expected) {
        PolkitQuery *q = NULL;
        Answer a = { .allowed = -1, .slot = &q };

        assert_int_equal(polkit_check(authority, subject, MG_POLKIT_ACTION_CAMERA, interactive, on_answer, &a, &q), 0);
        assert_false(a.called); /* even a cached answer comes from the loop */
        run_until(p, &a.called);
        assert_int_equal(a.allowed, expected);
        assert_null(q);
}

static void test_cache(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(cache_cases); i++) {
                const CacheCase *c = &cache_cases[i];
                PolkitAuthority *authority = NULL;
                Pair p = {};

                pair_open(&p);
                add_fake_polkit(&p);
                fake_polkit_reset();
                pk.mode = c->mode;
                pk.authorized = c->authorized;
                pk.challenge = c->challenge;
                pk.temporary = c->temporary;
                pk.error_name = "org.freedesktop.PolicyKit1.Error.Failed";
                assert_int_equal(polkit_authority_new(p.daemon, &authority), 0);
                ask_once(&p, authority, SUBJECT, c->interactive, c->expected);
                ask_once(&p, authority, SUBJECT, c->interactive, c->expected);
                if (pk.n_checks != c->expected_checks)
                        fail_msg("case \"%s\": %u checks, expected %u", c->name, pk.n_checks, c->expected_checks);
                polkit_authority_free(authority);
                fake_polkit_reset();
                pair_close(&p);
        }
}

/* What drops cached answers: polkit's Changed signal, and the subject leaving. */
static void test_cache_invalidation(void **state) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *changed = NULL;
        PolkitAuthority *authority = NULL;
        Pair p = {};

        pair_open(&p);
        add_fake_polkit(&p);
        fake_polkit_reset();
        pk.authorized = 1;
        assert_int_equal(polkit_authority_new(p.daemon, &authority), 0);
        ask_once(&p, authority, SUBJECT, false, 1);
        ask_once(&p, authority, ":1.43", false, 1);
        assert_int_equal(pk.n_checks, 2);

        /* The rules changed: polkit now says no, and is asked again. */
        pk.authorized = 0;
        assert_int_equal(sd_bus_message_new_signal(p.peer, &changed, "/org/freedesktop/PolicyKit1/Authority",
                                                   "org.freedesktop.PolicyKit1.Authority", "Changed"),
                         0);
        assert_true(sd_bus_message_set_sender(changed, "org.freedesktop.PolicyKit1") >= 0);
        assert_true(sd_bus_send(p.peer, changed, NULL) >= 0);
        run_for(&p, 20000);
        ask_once(&p, authority, SUBJECT, false, 0);
        assert_int_equal(pk.n_checks, 3);
        ask_once(&p, authority, SUBJECT, false, 0);
        assert_int_equal(pk.n_checks, 3);

        /* A subject that left is forgotten, the others are not. */
        ask_once(&p, authority, ":1.43", false, 0);
        assert_int_equal(pk.n_checks, 4);
        polkit_authority_forget_subject(authority, SUBJECT);
        ask_once(&p, authority, SUBJECT, false, 0);
        ask_once(&p, authority, ":1.43", false, 0);
        assert_int_equal(pk.n_checks, 5);

        polkit_authority_flush(authority);
        ask_once(&p, authority, ":1.43", false, 0);
        assert_int_equal(pk.n_checks, 6);
        polkit_authority_free(authority);
        fake_polkit_reset();
        pair_close(&p);
}

/* Table 2: polkit_verify_method() in a method handler. */

typedef struct Handler {
        PolkitAuthority *authority;
        const char *actions[2];
        unsigned n_dispatches;
        unsigned n_acted;
} Handler;

static int method_do(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Handler *h = userdata;
        int r;

        h->n_dispatches++;
        for (size_t i = 0; i < ELEMENTSOF(h->actions) && h->actions[i]; i++) {
                r = polkit_verify_method(h->authority, m, h->actions[i], error);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 1; /* parked until polkit answers */
        }
        h->n_acted++;
        return sd_bus_reply_method_return(m, "s", "done");
}

static const sd_bus_vtable test_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Do", "", "s", method_do, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

typedef struct Reply {
        bool arrived;
        char *error_name;
        char *result;
} Reply;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Reply *r = userdata;
        const char *s;

        r->arrived = true;
        if (sd_bus_message_is_method_error(m, NULL))
                r->error_name = strdup(sd_bus_message_get_error(m)->name);
        else {
                assert_int_equal(sd_bus_message_read(m, "s", &s), 1);
                r->result = strdup(s);
        }
        return 0;
}

static void call_do(Pair *p, bool allow_interactive, Reply *reply, sd_bus_slot **slot) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;

        assert_int_equal(sd_bus_message_new_method_call(p->peer, &call, NULL, "/test", "org.example.Test", "Do"), 0);
        /* What the bus would fill in on a real bus. */
        assert_true(sd_bus_message_set_sender(call, SUBJECT) >= 0);
        assert_true(sd_bus_message_set_allow_interactive_authorization(call, allow_interactive) >= 0);
        assert_true(sd_bus_call_async(p->peer, slot, call, on_reply, reply, 0) >= 0);
}

typedef struct VerifyCase {
        const char *name;
        const char *actions[2];
        PolkitMode mode;
        int authorized, challenge;
        bool allow_interactive;
        const char *expected_error; /* NULL: "done" */
        unsigned expected_checks;
} VerifyCase;

static const VerifyCase verify_cases[] = {
        { "authorized", { MG_POLKIT_ACTION_MANAGE }, PK_ANSWER, 1, 0, false, NULL, 1 },
        { "denied", { MG_POLKIT_ACTION_MANAGE }, PK_ANSWER, 0, 0, false, SD_BUS_ERROR_ACCESS_DENIED, 1 },
        { "challenge without interaction", { MG_POLKIT_ACTION_MANAGE }, PK_ANSWER, 0, 1, false,
          SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED, 1 },
        { "challenge with interaction allowed", { MG_POLKIT_ACTION_MANAGE }, PK_ANSWER, 0, 1, true,
          SD_BUS_ERROR_ACCESS_DENIED, 1 },
        { "interactive and authorized", { MG_POLKIT_ACTION_MANAGE }, PK_ANSWER, 1, 0, true, NULL, 1 },
        { "polkit error", { MG_POLKIT_ACTION_MANAGE }, PK_ERROR, 0, 0, false, SD_BUS_ERROR_ACCESS_DENIED, 1 },
        { "polkit malformed", { MG_POLKIT_ACTION_MANAGE }, PK_MALFORMED, 0, 0, false, SD_BUS_ERROR_ACCESS_DENIED, 1 },
        { "two actions, both authorized", { MG_POLKIT_ACTION_MANAGE, MG_POLKIT_ACTION_MUTE }, PK_ANSWER, 1, 0, false,
          NULL, 2 },
        { "two actions, denied", { MG_POLKIT_ACTION_MANAGE, MG_POLKIT_ACTION_MUTE }, PK_ANSWER, 0, 0, false,
          SD_BUS_ERROR_ACCESS_DENIED, 1 },
};

static void test_verify(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(verify_cases); i++) {
                const VerifyCase *c = &verify_cases[i];
                _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *call_slot = NULL;
                Handler h = { .actions = { c->actions[0], c->actions[1] } };
                Reply reply = {};
                Pair p = {};

                pair_open(&p);
                add_fake_polkit(&p);
                assert_int_equal(sd_bus_add_object_vtable(p.daemon, NULL, "/test", "org.example.Test", test_vtable, &h), 0);
                assert_int_equal(polkit_authority_new(p.daemon, &h.authority), 0);
                fake_polkit_reset();
                pk.mode = c->mode;
                pk.authorized = c->authorized;
                pk.challenge = c->challenge;
                pk.error_name = "org.freedesktop.PolicyKit1.Error.Failed";
                pk.shape = "b";

                call_do(&p, c->allow_interactive, &reply, &call_slot);
                run_until(&p, &reply.arrived);
                if (!streq_ptr(reply.error_name, c->expected_error))
                        fail_msg("case \"%s\": error %s, expected %s", c->name, reply.error_name ?: "(none)",
                                 c->expected_error ?: "(none)");
                if (!c->expected_error)
                        assert_string_equal(reply.result, "done");
                assert_int_equal(h.n_acted, c->expected_error ? 0u : 1u);
                /* The first dispatch, then one more per answer from polkit. */
                assert_int_equal(h.n_dispatches, 1 + c->expected_checks);
                assert_int_equal(pk.n_checks, c->expected_checks);
                assert_string_equal(pk.subject_name, SUBJECT);
                assert_int_equal(pk.flags, c->allow_interactive ? 1u : 0u);

                /* Once the loop is idle, nothing is kept. */
                run_for(&p, 10000);
                assert_int_equal(polkit_authority_n_parked(h.authority), 0);
                h.authority = polkit_authority_free(h.authority);

                free(reply.error_name);
                free(reply.result);
                fake_polkit_reset();
                call_slot = sd_bus_slot_unref(call_slot);
                pair_close(&p);
        }
}

/* Shutting down with a call parked: the check is withdrawn, the call dropped, nothing crashes. */
static void test_verify_registry_free_pending(void **state) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *call_slot = NULL;
        Handler h = { .actions = { MG_POLKIT_ACTION_MANAGE } };
        Reply reply = {};
        Pair p = {};

        pair_open(&p);
        add_fake_polkit(&p);
        assert_int_equal(sd_bus_add_object_vtable(p.daemon, NULL, "/test", "org.example.Test", test_vtable, &h), 0);
        assert_int_equal(polkit_authority_new(p.daemon, &h.authority), 0);
        fake_polkit_reset();
        pk.mode = PK_HOLD;

        call_do(&p, false, &reply, &call_slot);
        run_until(&p, &pk.checked);
        assert_int_equal(polkit_authority_n_parked(h.authority), 1);
        h.authority = polkit_authority_free(h.authority);
        run_until(&p, &pk.cancel_arrived);
        assert_string_equal(pk.cancelled_id, pk.cancellation_id);

        /* polkit's late answer goes nowhere; the call is never acted on. */
        pk.mode = PK_ANSWER;
        pk.authorized = 1;
        assert_true(send_answer(pk.held) >= 0);
        run_for(&p, 20000);
        assert_int_equal(h.n_dispatches, 1);
        assert_int_equal(h.n_acted, 0);
        assert_false(reply.arrived);

        fake_polkit_reset();
        call_slot = sd_bus_slot_unref(call_slot);
        pair_close(&p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_check),
                cmocka_unit_test(test_check_invalid),
                cmocka_unit_test(test_cancel),
                cmocka_unit_test(test_reference_after_answer),
                cmocka_unit_test(test_cache),
                cmocka_unit_test(test_cache_invalidation),
                cmocka_unit_test(test_verify),
                cmocka_unit_test(test_verify_registry_free_pending),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
