/* polkit checks: CheckAuthorization without blocking the loop, CancelCheckAuthorization when the
 * asker goes away, and the re-dispatch of method calls once polkit has answered. */
#include "polkit.h"

#include <inttypes.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "log.h"
#include "util.h"

/* polkit's own names, not ours: they live here, the only place that speaks to polkit. */
#define POLKIT_BUS_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_OBJECT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"

/* CheckAuthorizationFlags */
#define POLKIT_CHECK_ALLOW_USER_INTERACTION 1u

/* A non-interactive check is answered from polkit's rules at once: sd-bus's default method
 * timeout (25 s) covers a stuck polkitd. An interactive one waits for a person to type a
 * password; give them time, but not forever, so that a vanished polkit cannot pin the call. */
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (5ULL * 60 * 1000000)

struct PolkitQuery {
        sd_bus *bus;
        sd_bus_slot *slot; /* the pending CheckAuthorization; NULL once answered */
        char *subject;
        char *action_id;
        char cancellation_id[64];
        polkit_callback_t cb;
        void *userdata;
        bool dispatching; /* in the callback: freed by on_check_reply() afterwards */
        bool challenge;   /* the answer was "not without authentication" */
};

static PolkitQuery *polkit_query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
        sd_bus_unref(q->bus);
        free(q->subject);
        free(q->action_id);
        free(q);
        return NULL;
}
DEFINE_CLEANUP_FUNC(PolkitQuery, polkit_query_free);

/* Turn polkit's answer into yes (1) or no (0), logging every way it can fail once. */
static int read_verdict(PolkitQuery *q, sd_bus_message *reply) {
        int authorized, challenge, r;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                if (sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
                    sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        log_warning("polkit is not on the bus: %s is denied to %s.", q->action_id, q->subject);
                else
                        log_warning("polkit could not check %s for %s, denying: %s: %s", q->action_id,
                                    q->subject, e->name, strempty(e->message));
                return 0;
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r > 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r <= 0) {
                log_warning_errno(r < 0 ? r : EBADMSG,
                                  "Malformed answer from polkit about %s for %s, denying: %m",
                                  q->action_id, q->subject);
                return 0;
        }
        /* The details dictionary (a{ss}) carries nothing we act on. */

        q->challenge = !authorized && challenge;
        if (!authorized)
                log_debug("polkit denies %s to %s%s.", q->action_id, q->subject,
                          challenge ? " without authentication" : "");
        return authorized ? 1 : 0;
}

static int on_check_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        int allowed;

        allowed = read_verdict(q, reply);
        q->slot = sd_bus_slot_unref(q->slot); /* sd-bus holds its own reference while we run */

        q->dispatching = true;
        q->cb(allowed, q->userdata);
        polkit_query_free(q);
        return 0;
}

int polkit_check(sd_bus *bus, const char *subject_unique_name, const char *action_id, bool interactive,
                 polkit_callback_t cb, void *userdata, PolkitQuery **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(polkit_query_freep) PolkitQuery *q = NULL;
        static uint64_t n_checks = 0;
        int r;

        /* A well-known name could change owners between the check and its use. */
        if (!bus || !subject_unique_name || subject_unique_name[0] != ':' || isempty(action_id) || !cb || !ret)
                return -EINVAL;

        q = calloc(1, sizeof(PolkitQuery));
        if (!q)
                return -ENOMEM;
        q->bus = sd_bus_ref(bus);
        q->cb = cb;
        q->userdata = userdata;
        q->subject = strdup(subject_unique_name);
        q->action_id = strdup(action_id);
        if (!q->subject || !q->action_id)
                return -ENOMEM;
        /* polkit keeps cancellation ids per connection: a counter is unique enough. */
        snprintf(q->cancellation_id, sizeof q->cancellation_id, "mediagate-%" PRIu64, ++n_checks);

        r = sd_bus_message_new_method_call(bus, &call, POLKIT_BUS_NAME, POLKIT_OBJECT_PATH, POLKIT_INTERFACE,
                                           "CheckAuthorization");
        if (r < 0)
                return r;
        r = sd_bus_message_append(call, "(sa{sv})sa{ss}us",
                                  "system-bus-name", 1, "name", "s", subject_unique_name,
                                  action_id,
                                  0, /* no details */
                                  interactive ? POLKIT_CHECK_ALLOW_USER_INTERACTION : 0u,
                                  q->cancellation_id);
        if (r < 0)
                return r;
        r = sd_bus_call_async(bus, &q->slot, call, on_check_reply, q,
                              interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : 0);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(q);
        return 0;
}

PolkitQuery *polkit_query_cancel(PolkitQuery *q) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        if (!q)
                return NULL;
        if (q->dispatching)
                return NULL; /* answered: on_check_reply() frees it when the callback returns */

        if (q->slot) {
                /* Tell polkit, so that an authentication dialog does not stay up for nobody. The
                 * answer does not matter: the slot goes below, and with it any late verdict. */
                r = sd_bus_message_new_method_call(q->bus, &call, POLKIT_BUS_NAME, POLKIT_OBJECT_PATH,
                                                   POLKIT_INTERFACE, "CancelCheckAuthorization");
                if (r >= 0)
                        r = sd_bus_message_append(call, "s", q->cancellation_id);
                if (r >= 0)
                        r = sd_bus_message_set_expect_reply(call, false);
                if (r >= 0)
                        r = sd_bus_send(q->bus, call, NULL);
                if (r < 0)
                        log_debug_errno(r, "Failed to cancel the polkit check %s: %m", q->cancellation_id);
        }
        return polkit_query_free(q);
}

/* polkit_verify_method(): one entry per parked method call, keyed by the message's address
 * (the entry holds a reference, so the address is not reused while the entry lives). */

typedef struct Verdict {
        char *action;
        bool allowed;
        bool challenge;
} Verdict;

typedef struct VerifyQuery {
        Hashmap *registry;
        char key[2 + 2 * sizeof(void *) + 1];
        sd_bus_message *request;
        char *pending_action;     /* the action polkit is being asked about */
        PolkitQuery *check;       /* NULL when none is pending */
        Verdict *verdicts;        /* answered actions, for the re-dispatch */
        size_t n_verdicts;
        sd_event_source *cleanup; /* at idle, after the re-dispatch: forget the verdicts */
} VerifyQuery;

static VerifyQuery *verify_query_free(VerifyQuery *vq) {
        if (!vq)
                return NULL;
        if (vq->registry)
                hashmap_remove(vq->registry, vq->key);
        polkit_query_cancel(vq->check);
        sd_event_source_disable_unref(vq->cleanup);
        sd_bus_message_unref(vq->request);
        for (size_t i = 0; i < vq->n_verdicts; i++)
                free(vq->verdicts[i].action);
        free(vq->verdicts);
        free(vq->pending_action);
        free(vq);
        return NULL;
}

static int on_verify_cleanup(sd_event_source *s, void *userdata) {
        VerifyQuery *vq = userdata;

        /* The re-dispatched handler may have asked about a further action: keep the entry
         * until that answer too has been used. */
        if (!vq->check)
                verify_query_free(vq);
        return 0;
}

static int verify_query_redispatch(VerifyQuery *vq) {
        sd_bus *bus = sd_bus_message_get_bus(vq->request);
        sd_event *event = sd_bus_get_event(bus);
        int r;

        if (!event)
                return -ENXIO;
        if (!vq->cleanup) {
                r = sd_event_add_defer(event, &vq->cleanup, on_verify_cleanup, vq);
                if (r < 0)
                        return r;
                /* Idle: after the bus has dispatched the message we queue below. */
                r = sd_event_source_set_priority(vq->cleanup, SD_EVENT_PRIORITY_IDLE);
                if (r < 0)
                        return r;
        }
        r = sd_event_source_set_enabled(vq->cleanup, SD_EVENT_ONESHOT);
        if (r < 0)
                return r;

        r = sd_bus_message_rewind(vq->request, true);
        if (r < 0)
                return r;
        return sd_bus_enqueue_for_read(bus, vq->request);
}

static void on_verify_answer(int allowed, void *userdata) {
        VerifyQuery *vq = userdata;
        Verdict *v;
        int r;

        /* vq->check is still valid during its callback, and freed by polkit.c afterwards. */
        v = realloc(vq->verdicts, (vq->n_verdicts + 1) * sizeof(Verdict));
        if (!v) {
                r = -ENOMEM;
                goto fail;
        }
        vq->verdicts = v;
        vq->verdicts[vq->n_verdicts++] = (Verdict){
                .action = TAKE_PTR(vq->pending_action),
                .allowed = allowed > 0,
                .challenge = vq->check->challenge,
        };
        vq->check = NULL;

        r = verify_query_redispatch(vq);
        if (r < 0)
                goto fail;
        return;

fail:
        vq->check = NULL;
        log_warning_errno(r, "Failed to resume a method call after polkit answered: %m");
        (void) sd_bus_reply_method_errno(vq->request, r, NULL);
        verify_query_free(vq);
}

static int verdict_to_result(const Verdict *v, bool interactive, sd_bus_error *error) {
        if (v->allowed)
                return 1;
        if (v->challenge && !interactive)
                sd_bus_error_set(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                 "Authentication is required; allow interactive authorization to be asked.");
        else
                sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized for %s.", v->action);
        return -EACCES;
}

int polkit_verify_method(sd_bus_message *message, const char *action, Hashmap **registry, sd_bus_error *error) {
        const char *sender;
        VerifyQuery *vq = NULL;
        char key[sizeof vq->key];
        bool interactive;
        int r;

        if (!message || isempty(action) || !registry)
                return -EINVAL;

        sender = sd_bus_message_get_sender(message);
        if (!sender || sender[0] != ':')
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "The caller has no unique name.");
        interactive = sd_bus_message_get_allow_interactive_authorization(message) > 0;

        snprintf(key, sizeof key, "%p", (void *) message);
        if (*registry)
                vq = hashmap_get(*registry, key);
        if (vq) {
                for (size_t i = 0; i < vq->n_verdicts; i++)
                        if (streq(vq->verdicts[i].action, action))
                                return verdict_to_result(&vq->verdicts[i], interactive, error);
                /* A message is parked while its check runs; it cannot be here twice at once. */
                if (vq->check)
                        return -EBUSY;
        } else {
                if (!*registry) {
                        *registry = hashmap_new();
                        if (!*registry)
                                return -ENOMEM;
                }
                vq = calloc(1, sizeof(VerifyQuery));
                if (!vq)
                        return -ENOMEM;
                memcpy(vq->key, key, sizeof key);
                vq->request = sd_bus_message_ref(message);
                r = hashmap_put(*registry, vq->key, vq);
                if (r < 0) {
                        verify_query_free(vq);
                        return r;
                }
                vq->registry = *registry;
        }

        vq->pending_action = strdup(action);
        if (!vq->pending_action)
                r = -ENOMEM;
        else
                r = polkit_check(sd_bus_message_get_bus(message), sender, action, interactive, on_verify_answer,
                                 vq, &vq->check);
        if (r < 0) {
                free(vq->pending_action);
                vq->pending_action = NULL;
                if (vq->n_verdicts == 0)
                        verify_query_free(vq);
                return r;
        }
        return 0;
}

Hashmap *polkit_verify_registry_free(Hashmap *registry) {
        VerifyQuery *vq;

        while ((vq = hashmap_steal_first(registry))) {
                vq->registry = NULL;
                verify_query_free(vq);
        }
        return hashmap_free(registry);
}
