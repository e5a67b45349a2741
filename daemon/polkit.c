/* polkit checks: CheckAuthorization without blocking the loop, the cache of answers, 
 * CancelCheckAuthorization when the asker goes away, and the re-dispatch of method calls once
 * polkit has answered. */
#include "polkit.h"

#include <inttypes.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "hashmap.h"
#include "log.h"
#include "util.h"

/* polkit's own names, not ours: they live here, the only place that speaks to polkit. */
#define POLKIT_BUS_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_OBJECT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
#define POLKIT_DETAIL_TEMPORARY_AUTHORIZATION "polkit.temporary_authorization_id"

/* CheckAuthorizationFlags */
#define POLKIT_CHECK_ALLOW_USER_INTERACTION 1u

/* A non-interactive check is answered from polkit's rules at once: sd-bus's default method
 * timeout (25 s) covers a stuck polkitd. An interactive one waits for a person to type a
 * password; give them time, but not forever, so that a vanished polkit cannot pin the call. */
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (5ULL * 60 * 1000000)

typedef struct VerifyQuery VerifyQuery;

struct PolkitAuthority {
        sd_bus *bus;
        Hashmap *cache;        /* "SUBJECT\nACTION" → CacheEntry */
        PolkitQuery *pending;  /* checks waiting for polkit or for their cached answer */
        VerifyQuery *parked;   /* method calls waiting for polkit, or for their re-dispatch */
        sd_bus_slot *changed_slot, *owner_slot;
};

typedef struct CacheEntry {
        char *key;
        bool allowed;
} CacheEntry;

struct PolkitQuery {
        unsigned n_ref;
        PolkitAuthority *authority; /* NULL once done, or when the authority went first */
        char *subject;
        char *action_id;
        char cancellation_id[64];
        bool interactive;
        sd_bus_slot *slot;     /* the pending CheckAuthorization */
        sd_event_source *defer; /* a cached answer, delivered on the next turn of the loop */
        int cached_allowed;
        polkit_callback_t cb;
        void *userdata;
        bool done;             /* answered or cancelled: the callback never runs (again) */
        bool challenge;        /* the answer was "not without authentication" */
        PolkitQuery *prev, *next;
};

/* ---- the cache ---- */

static char *cache_key(const char *subject, const char *action) {
        char *key;

        return asprintf(&key, "%s\n%s", subject, action) < 0 ? NULL : key;
}

static void cache_entry_free(CacheEntry *e) {
        if (e) {
                free(e->key);
                free(e);
        }
}

void polkit_authority_flush(PolkitAuthority *a) {
        CacheEntry *e;

        if (!a)
                return;
        while ((e = hashmap_steal_first(a->cache)))
                cache_entry_free(e);
}

void polkit_authority_forget_subject(PolkitAuthority *a, const char *unique_name) {
        HashmapIter it = {};
        const char *key;
        CacheEntry *e;
        size_t n;

        if (!a || !unique_name)
                return;
        n = strlen(unique_name);
        while (hashmap_iterate(a->cache, &it, (void **) &e, &key))
                if (strncmp(key, unique_name, n) == 0 && key[n] == '\n') {
                        hashmap_remove(a->cache, key); /* removing the current entry is allowed */
                        cache_entry_free(e);
                }
}

static void cache_store(PolkitAuthority *a, const char *subject, const char *action, bool allowed) {
        CacheEntry *e, *old = NULL;

        e = new0(CacheEntry, 1);
        if (!e || !(e->key = cache_key(subject, action))) {
                cache_entry_free(e);
                return; /* not cached: asked again next time */
        }
        e->allowed = allowed;
        if (hashmap_replace(a->cache, e->key, e, (void **) &old) < 0)
                cache_entry_free(e);
        else
                cache_entry_free(old);
}

static int on_polkit_changed(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        log_debug("polkit's rules or authorizations changed; asking it afresh.");
        polkit_authority_flush(userdata);
        return 0;
}

/* ---- checks ---- */

static void query_unlink(PolkitQuery *q) {
        PolkitAuthority *a = q->authority;

        if (!a)
                return;
        if (q->prev)
                q->prev->next = q->next;
        else
                a->pending = q->next;
        if (q->next)
                q->next->prev = q->prev;
        q->prev = q->next = NULL;
        q->authority = NULL;
}

static PolkitQuery *query_unref(PolkitQuery *q) {
        if (!q || --q->n_ref > 0)
                return NULL;
        query_unlink(q);
        sd_bus_slot_unref(q->slot);
        sd_event_source_disable_unref(q->defer);
        free(q->subject);
        free(q->action_id);
        free(q);
        return NULL;
}
DEFINE_CLEANUP_FUNC(PolkitQuery, query_unref);

PolkitQuery *polkit_query_unref(PolkitQuery *q) {
        return query_unref(q);
}

/* The one way a check ends with its callback. The pending reference is held until the callback
 * returned, so that the caller may drop its own from within it. */
static void query_deliver(PolkitQuery *q, int allowed) {
        q->done = true;
        query_unlink(q);
        q->slot = sd_bus_slot_unref(q->slot);
        q->defer = sd_event_source_disable_unref(q->defer);
        q->cb(allowed, q->userdata);
        query_unref(q);
}

/* Whether the details of an answer say that a temporary authorization gave it. */
static int answer_used_temporary_authorization(sd_bus_message *reply) {
        const char *key, *value;
        bool found = false;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{ss}");
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        while ((r = sd_bus_message_read(reply, "{ss}", &key, &value)) > 0)
                if (streq(key, POLKIT_DETAIL_TEMPORARY_AUTHORIZATION))
                        found = true;
        if (r < 0)
                return r;
        return found;
}

/* Turn polkit's answer into yes (1) or no (0), logging every way it can fail once; *cacheable
 * tells whether it rests on polkit's rules alone. */
static int read_verdict(PolkitQuery *q, sd_bus_message *reply, bool *cacheable) {
        int authorized, challenge, temporary, r;

        *cacheable = false;
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
        temporary = r > 0 ? answer_used_temporary_authorization(reply) : r;
        if (r <= 0 || temporary < 0) {
                log_warning_errno(r < 0 ? r : temporary < 0 ? temporary : EBADMSG,
                                  "Malformed answer from polkit about %s for %s, denying: %m",
                                  q->action_id, q->subject);
                return 0;
        }

        q->challenge = !authorized && challenge;
        *cacheable = !q->interactive && !temporary && !q->challenge;
        if (!authorized)
                log_debug("polkit denies %s to %s%s.", q->action_id, q->subject,
                          challenge ? " without authentication" : "");
        return authorized ? 1 : 0;
}

static int on_check_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        bool cacheable;
        int allowed;

        allowed = read_verdict(q, reply, &cacheable);
        if (cacheable && q->authority)
                cache_store(q->authority, q->subject, q->action_id, allowed > 0);
        query_deliver(q, allowed);
        return 0;
}

static int on_cached_answer(sd_event_source *s, void *userdata) {
        PolkitQuery *q = userdata;

        query_deliver(q, q->cached_allowed);
        return 0;
}

static int send_check(PolkitAuthority *a, PolkitQuery *q) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        static uint64_t n_checks = 0;
        int r;

        /* polkit keeps cancellation ids per connection: a counter for the process is unique enough. */
        snprintf(q->cancellation_id, sizeof q->cancellation_id, "mediagate-%" PRIu64, ++n_checks);
        r = sd_bus_message_new_method_call(a->bus, &call, POLKIT_BUS_NAME, POLKIT_OBJECT_PATH, POLKIT_INTERFACE,
                                           "CheckAuthorization");
        if (r < 0)
                return r;
        r = sd_bus_message_append(call, "(sa{sv})sa{ss}us",
                                  "system-bus-name", 1, "name", "s", q->subject,
                                  q->action_id,
                                  0, /* no details */
                                  q->interactive ? POLKIT_CHECK_ALLOW_USER_INTERACTION : 0u,
                                  q->cancellation_id);
        if (r < 0)
                return r;
        return sd_bus_call_async(a->bus, &q->slot, call, on_check_reply, q,
                                 q->interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : 0);
}

int polkit_check(PolkitAuthority *a, const char *subject_unique_name, const char *action_id, bool interactive,
                 polkit_callback_t cb, void *userdata, PolkitQuery **ret) {
        _cleanup_(query_unrefp) PolkitQuery *q = NULL;
        _cleanup_free_ char *key = NULL;
        CacheEntry *cached = NULL;
        int r;

        /* A well-known name could change owners between the check and its use. */
        if (!a || !subject_unique_name || subject_unique_name[0] != ':' || isempty(action_id) || !cb || !ret)
                return -EINVAL;

        q = new0(PolkitQuery, 1);
        if (!q)
                return -ENOMEM;
        q->n_ref = 1;
        q->interactive = interactive;
        q->cb = cb;
        q->userdata = userdata;
        q->subject = strdup(subject_unique_name);
        q->action_id = strdup(action_id);
        key = cache_key(subject_unique_name, action_id);
        if (!q->subject || !q->action_id || !key)
                return -ENOMEM;

        if (!interactive)
                cached = hashmap_get(a->cache, key);
        if (cached) {
                sd_event *event = sd_bus_get_event(a->bus);

                if (!event)
                        return -ENXIO;
                q->cached_allowed = cached->allowed;
                r = sd_event_add_defer(event, &q->defer, on_cached_answer, q);
        } else
                r = send_check(a, q);
        if (r < 0)
                return r;

        /* Pending: polkit.c's reference, until the callback has run. */
        q->n_ref++;
        q->authority = a;
        q->next = a->pending;
        if (a->pending)
                a->pending->prev = q;
        a->pending = q;
        *ret = TAKE_PTR(q);
        return 0;
}

static void send_cancel(sd_bus *bus, const char *cancellation_id) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        /* Tell polkit, so that an authentication dialog does not stay up for nobody. The answer does
         * not matter: the slot goes, and with it any late verdict. */
        r = sd_bus_message_new_method_call(bus, &call, POLKIT_BUS_NAME, POLKIT_OBJECT_PATH, POLKIT_INTERFACE,
                                           "CancelCheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(call, "s", cancellation_id);
        if (r >= 0)
                r = sd_bus_message_set_expect_reply(call, false);
        if (r >= 0)
                r = sd_bus_send(bus, call, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to cancel the polkit check %s: %m", cancellation_id);
}

/* End a pending check without its callback, dropping polkit.c's reference. */
static void query_withdraw(PolkitQuery *q) {
        if (q->done)
                return;
        q->done = true;
        if (q->slot)
                send_cancel(sd_bus_slot_get_bus(q->slot), q->cancellation_id);
        q->slot = sd_bus_slot_unref(q->slot);
        q->defer = sd_event_source_disable_unref(q->defer);
        query_unlink(q);
        query_unref(q);
}

PolkitQuery *polkit_query_cancel(PolkitQuery *q) {
        if (!q)
                return NULL;
        query_withdraw(q);
        return query_unref(q);
}

/* ---- polkit_verify_method(): method calls parked until polkit answers ---- */

typedef struct Verdict {
        char *action;
        bool allowed;
        bool challenge;
} Verdict;

struct VerifyQuery {
        PolkitAuthority *authority;
        sd_bus_message *request;  /* the parked call; its address is what finds it again */
        char *pending_action;     /* the action polkit is being asked about */
        PolkitQuery *check;       /* NULL when none is pending */
        Verdict *verdicts;        /* answered actions, for the re-dispatch */
        size_t n_verdicts;
        sd_event_source *cleanup; /* at idle, after the re-dispatch: forget the verdicts */
        VerifyQuery *prev, *next;
};

static VerifyQuery *verify_query_free(VerifyQuery *vq) {
        PolkitAuthority *a;

        if (!vq)
                return NULL;
        a = vq->authority;
        if (vq->prev)
                vq->prev->next = vq->next;
        else if (a)
                a->parked = vq->next;
        if (vq->next)
                vq->next->prev = vq->prev;
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

static VerifyQuery *verify_query_find(PolkitAuthority *a, sd_bus_message *message) {
        for (VerifyQuery *vq = a->parked; vq; vq = vq->next)
                if (vq->request == message)
                        return vq;
        return NULL;
}

static int on_verify_cleanup(sd_event_source *s, void *userdata) {
        VerifyQuery *vq = userdata;

        /* The re-dispatched call may have asked about a further action: keep the entry until that
         * answer too has been used. */
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
        vq->check = polkit_query_unref(vq->check);

        r = verify_query_redispatch(vq);
        if (r < 0)
                goto fail;
        return;

fail:
        vq->check = polkit_query_unref(vq->check);
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

int polkit_verify_method(PolkitAuthority *a, sd_bus_message *message, const char *action, sd_bus_error *error) {
        const char *sender;
        VerifyQuery *vq;
        bool interactive;
        int r;

        if (!a || !message || isempty(action))
                return -EINVAL;

        sender = sd_bus_message_get_sender(message);
        if (!sender || sender[0] != ':')
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "The caller has no unique name.");
        interactive = sd_bus_message_get_allow_interactive_authorization(message) > 0;

        vq = verify_query_find(a, message);
        if (vq) {
                for (size_t i = 0; i < vq->n_verdicts; i++)
                        if (streq(vq->verdicts[i].action, action))
                                return verdict_to_result(&vq->verdicts[i], interactive, error);
                /* A message is parked while its check runs; it cannot be here twice at once. */
                if (vq->check)
                        return -EBUSY;
        } else {
                vq = new0(VerifyQuery, 1);
                if (!vq)
                        return -ENOMEM;
                vq->authority = a;
                vq->request = sd_bus_message_ref(message);
                vq->next = a->parked;
                if (a->parked)
                        a->parked->prev = vq;
                a->parked = vq;
        }

        vq->pending_action = strdup(action);
        if (!vq->pending_action)
                r = -ENOMEM;
        else
                r = polkit_check(a, sender, action, interactive, on_verify_answer, vq, &vq->check);
        if (r < 0) {
                free(vq->pending_action);
                vq->pending_action = NULL;
                if (vq->n_verdicts == 0)
                        verify_query_free(vq);
                return r;
        }
        return 0;
}

size_t polkit_authority_n_parked(PolkitAuthority *a) {
        size_t n = 0;

        for (VerifyQuery *vq = a ? a->parked : NULL; vq; vq = vq->next)
                n++;
        return n;
}

/* ---- the authority ---- */

int polkit_authority_new(sd_bus *bus, PolkitAuthority **ret) {
        PolkitAuthority *a;
        int r;

        a = new0(PolkitAuthority, 1);
        if (!a)
                return -ENOMEM;
        a->bus = sd_bus_ref(bus);
        a->cache = hashmap_new();
        if (!a->cache) {
                polkit_authority_free(a);
                return -ENOMEM;
        }
        /* Rules or authorizations changed, or another polkitd took over: every cached answer goes. */
        r = sd_bus_match_signal_async(bus, &a->changed_slot, POLKIT_BUS_NAME, POLKIT_OBJECT_PATH, POLKIT_INTERFACE,
                                      "Changed", on_polkit_changed, NULL, a);
        if (r >= 0)
                r = sd_bus_add_match_async(bus, &a->owner_slot,
                                           "type='signal',sender='org.freedesktop.DBus',"
                                           "path='/org/freedesktop/DBus',interface='org.freedesktop.DBus',"
                                           "member='NameOwnerChanged',arg0='" POLKIT_BUS_NAME "'",
                                           on_polkit_changed, NULL, a);
        if (r < 0) {
                polkit_authority_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

PolkitAuthority *polkit_authority_free(PolkitAuthority *a) {
        if (!a)
                return NULL;
        while (a->parked)
                verify_query_free(a->parked);
        /* Checks still pending end as a no, so that whoever waits can let go. */
        while (a->pending) {
                PolkitQuery *q = a->pending;

                if (q->slot)
                        send_cancel(a->bus, q->cancellation_id);
                query_deliver(q, 0);
        }
        polkit_authority_flush(a);
        hashmap_free(a->cache);
        sd_bus_slot_unref(a->changed_slot);
        sd_bus_slot_unref(a->owner_slot);
        sd_bus_unref(a->bus);
        free(a);
        return NULL;
}
