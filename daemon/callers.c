/* The cache of identified callers and the queue of method calls waiting for an identity.
 * A connection's credentials do not change while it is on the bus, so each connection is
 * identified once; the entry goes when the connection leaves. And when each connection
 * appeared, which bounds the start of the process that made it (caller.h). */
#include "callers.h"

#include "bus-util.h"
#include "caller.h"
#include "log.h"
#include "sessions.h"
#include "util.h"

typedef struct Waiter {
        struct Waiter *next;
        sd_bus_message *message;
        caller_continuation_t cont;
} Waiter;

typedef struct ConnectionSeen {
        char *unique_name;
        uint64_t boottime; /* when its NameOwnerChanged arrived */
} ConnectionSeen;

typedef struct CallerLookup {
        Manager *manager;
        char *unique_name;
        sd_bus_slot *slot;
        Caller *caller;                 /* identified, while its login session is learned */
        SessionsLookup *session_lookup;
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
        sessions_lookup_cancel(l->session_lookup);
        caller_unref(l->caller);
        free(l->unique_name);
        free(l);
        return NULL;
}

/* The caller is known, its session too: cache it and run what waited. */
static void callers_finish(CallerLookup *l, int error, Caller *caller) {
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

static void on_session_known(void *userdata) {
        CallerLookup *l = userdata;

        l->session_lookup = NULL; /* done with it */
        callers_finish(l, 0, l->caller);
}

static void on_caller_identified(int error, Caller *caller, void *userdata) {
        CallerLookup *l = userdata;
        int r;

        /* Its login session is part of who calls: prompts and tracks follow it (sessions.h). */
        if (error >= 0 && caller) {
                l->caller = caller_ref(caller);
                r = sessions_resolve(l->manager->sessions, caller->unique_name, caller->pid, on_session_known, l,
                                     &l->session_lookup);
                if (r == 0)
                        return;
                if (r < 0)
                        log_warning_errno(r, "Could not learn the login session of %s; it counts as outside any: %m",
                                          caller->unique_name);
        }
        callers_finish(l, error, caller);
}

static ConnectionSeen *connection_seen_free(ConnectionSeen *c) {
        if (c) {
                free(c->unique_name);
                free(c);
        }
        return NULL;
}

void callers_watch_started(Manager *m) {
        m->connections_seen_since = now_usec(CLOCK_BOOTTIME);
}

void callers_connection_appeared(Manager *m, const char *unique_name) {
        ConnectionSeen *c;

        if (!m->connections_seen && !(m->connections_seen = hashmap_new()))
                return (void) log_oom();
        c = new0(ConnectionSeen, 1);
        if (!c || !(c->unique_name = strdup(unique_name))) {
                connection_seen_free(c);
                return (void) log_oom(); /* it counts as there since the watch began: stricter */
        }
        c->boottime = now_usec(CLOCK_BOOTTIME);
        connection_seen_free(hashmap_remove(m->connections_seen, unique_name));
        if (hashmap_put(m->connections_seen, c->unique_name, c) < 0)
                connection_seen_free(c);
}

/* The latest time by which the connection existed: when its name appeared, else (it was there
 * before the daemon watched) when the watch began, else (not watching yet) now. */
static uint64_t connected_by(Manager *m, const char *unique_name) {
        ConnectionSeen *c = m->connections_seen ? hashmap_get(m->connections_seen, unique_name) : NULL;

        if (c)
                return c->boottime;
        return m->connections_seen_since ?: now_usec(CLOCK_BOOTTIME);
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
                r = caller_query(m->bus, sender, connected_by(m, sender), on_caller_identified, l, &l->slot);
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
        CallerLookup *l = hashmap_get(m->caller_lookups, unique_name);

        caller_unref(c);
        /* Identified, still learning its session: nobody is left to answer. */
        if (l && l->caller) {
                hashmap_remove(m->caller_lookups, unique_name);
                caller_lookup_free(l);
        }
        if (m->connections_seen)
                connection_seen_free(hashmap_remove(m->connections_seen, unique_name));
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
        if (m->connections_seen) {
                ConnectionSeen *seen;

                while ((seen = hashmap_steal_first(m->connections_seen)))
                        connection_seen_free(seen);
                m->connections_seen = hashmap_free(m->connections_seen);
        }
}
