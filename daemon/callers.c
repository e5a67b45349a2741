/* The cache of identified callers and the queue of method calls waiting for an identity.
 * A connection's credentials do not change while it is on the bus, so each connection is
 * identified once; the entry goes when the connection leaves. */
#include "callers.h"

#include "bus-util.h"
#include "caller.h"
#include "log.h"
#include "util.h"

typedef struct Waiter {
        struct Waiter *next;
        sd_bus_message *message;
        caller_continuation_t cont;
} Waiter;

typedef struct CallerLookup {
        Manager *manager;
        char *unique_name;
        sd_bus_slot *slot;
        Waiter *waiters;  /* in arrival order */
        Waiter **tail;
} CallerLookup;

static void run_continuation(Manager *m, sd_bus_message *message, caller_continuation_t cont,
                             Caller *caller) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = cont(m, message, caller, &error);
        if (r < 0)
                bus_reply_error(message, r, &error);
}

static CallerLookup *caller_lookup_free(CallerLookup *l) {
        if (!l)
                return NULL;
        for (Waiter *w = l->waiters, *next; w; w = next) {
                next = w->next;
                sd_bus_message_unref(w->message);
                free(w);
        }
        sd_bus_slot_unref(l->slot);
        free(l->unique_name);
        free(l);
        return NULL;
}

static void on_caller_identified(int error, Caller *caller, void *userdata) {
        CallerLookup *l = userdata;
        Manager *m = l->manager;
        Waiter *waiters = TAKE_PTR(l->waiters);
        int r;

        hashmap_remove(m->caller_lookups, l->unique_name);

        if (error >= 0 && caller) {
                r = hashmap_put(m->callers, caller->unique_name, caller_ref(caller));
                if (r < 0) {
                        caller_unref(caller);
                        error = r;
                }
        }
        if (error < 0)
                log_info_errno(error, "Could not identify %s, denying its calls: %m", l->unique_name);

        for (Waiter *w = waiters, *next; w; w = next) {
                next = w->next;
                if (error < 0) {
                        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                        sd_bus_error_set(&e, SD_BUS_ERROR_ACCESS_DENIED,
                                         "The caller's identity could not be established.");
                        bus_reply_error(w->message, -EACCES, &e);
                } else
                        run_continuation(m, w->message, w->cont, caller);
                sd_bus_message_unref(w->message);
                free(w);
        }
        caller_lookup_free(l);
}

int manager_with_caller(Manager *m, sd_bus_message *message, caller_continuation_t cont,
                        sd_bus_error *error) {
        const char *sender = sd_bus_message_get_sender(message);
        CallerLookup *l;
        Caller *caller;
        Waiter *w;
        int r;

        if (!sender)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "No sender.");

        caller = hashmap_get(m->callers, sender);
        if (caller)
                return cont(m, message, caller, error);

        l = hashmap_get(m->caller_lookups, sender);
        if (!l) {
                l = calloc(1, sizeof(CallerLookup));
                if (!l)
                        return -ENOMEM;
                l->manager = m;
                l->tail = &l->waiters;
                l->unique_name = strdup(sender);
                if (!l->unique_name) {
                        free(l);
                        return -ENOMEM;
                }
                r = caller_query(m->bus, sender, on_caller_identified, l, &l->slot);
                if (r < 0) {
                        caller_lookup_free(l);
                        return r;
                }
                r = hashmap_put(m->caller_lookups, l->unique_name, l);
                if (r < 0) {
                        caller_lookup_free(l);
                        return r;
                }
        }

        w = calloc(1, sizeof(Waiter));
        if (!w)
                return -ENOMEM;
        w->message = sd_bus_message_ref(message);
        w->cont = cont;
        *l->tail = w;
        l->tail = &w->next;
        return 1; /* the reply comes later */
}

Caller *callers_find(Manager *m, const char *unique_name) {
        return unique_name ? hashmap_get(m->callers, unique_name) : NULL;
}

void callers_forget(Manager *m, const char *unique_name) {
        Caller *c = hashmap_remove(m->callers, unique_name);

        caller_unref(c);
        /* A lookup in flight for a departed connection completes with an error from the bus
         * (the name has no owner any more) and denies its waiters. */
}

void callers_free_all(Manager *m) {
        Caller *c;
        CallerLookup *l;

        while ((c = hashmap_steal_first(m->callers)))
                caller_unref(c);
        while ((l = hashmap_steal_first(m->caller_lookups)))
                caller_lookup_free(l);
}
