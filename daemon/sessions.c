/* Following logind: the sessions there are (ListSessions, SessionNew, SessionRemoved), whether
 * each is active and locked (their properties, and PropertiesChanged), and the session of each
 * connection's process (GetSessionByPID). All asynchronous; logind's answers only ever narrow
 * what is in front. */
#include "sessions.h"

#include "bus-dict.h"
#include "caller.h"
#include "hashmap.h"
#include "log.h"
#include "util.h"

#define LOGIN1_NAME "org.freedesktop.login1"
#define LOGIN1_PATH "/org/freedesktop/login1"
#define LOGIN1_MANAGER "org.freedesktop.login1.Manager"
#define LOGIN1_SESSION "org.freedesktop.login1.Session"
#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"

typedef struct Session {
        Sessions *sessions;
        char *path;
        uid_t uid;
        bool known;        /* its properties were read; until then it is not in front */
        bool active, locked;
        sd_bus_slot *slot; /* GetAll in flight */
        struct Session *next;
} Session;

/* A connection whose session is known. */
typedef struct Connection {
        char *unique_name; /* the key */
        char *session;     /* its session's path, NULL outside any */
} Connection;

static Connection *connection_free(Connection *c) {
        if (!c)
                return NULL;
        free(c->unique_name);
        free(c->session);
        free(c);
        return NULL;
}

static void connections_clear(Hashmap *h) {
        Connection *c;

        while ((c = hashmap_steal_first(h)))
                connection_free(c);
}

/* A connection whose session is being learned. */
struct SessionsLookup {
        Sessions *sessions;
        char *unique_name;
        char *session;     /* its session's path, once GetSessionByPID answered */
        sd_bus_slot *slot;
        void (*done)(void *userdata);
        void *userdata;
        struct SessionsLookup *next;
};

struct Sessions {
        sd_bus *bus;
        bool logind;          /* logind is on the bus: sessions are followed */
        bool logind_known;    /* logind answered (or was found missing) at least once */
        Session *sessions;
        Hashmap *connections; /* unique name → Connection */
        SessionsLookup *lookups;
        sd_bus_slot *owner_slot, *changed_slot, *new_slot, *removed_slot, *list_slot;
        void (*handler)(void *userdata);
        void *userdata;
};

static void changed(Sessions *s) {
        if (s->handler)
                s->handler(s->userdata);
}

/* ---- sessions ---- */

static Session *session_free(Session *x) {
        if (!x)
                return NULL;
        sd_bus_slot_unref(x->slot);
        free(x->path);
        free(x);
        return NULL;
}

static Session *session_find(Sessions *s, const char *path) {
        for (Session *x = s->sessions; x && path; x = x->next)
                if (streq(x->path, path))
                        return x;
        return NULL;
}

static void session_remove(Sessions *s, const char *path) {
        for (Session **i = &s->sessions; *i; i = &(*i)->next)
                if (streq((*i)->path, path)) {
                        Session *x = *i;

                        *i = x->next;
                        session_free(x);
                        return;
                }
}

static bool session_in_front(const Session *x) {
        return x && x->known && x->active && !x->locked;
}

static void lookups_session_known(Sessions *s, const char *path);
static void lookups_finish_waiting(Sessions *s);

static int session_property_entry(sd_bus_message *m, const char *name, void *userdata) {
        Session *x = userdata;
        const char *user_path;
        uint32_t uid;
        int r, b;

        if (streq(name, "Active") || streq(name, "LockedHint")) {
                r = bus_read_typed_variant(m, "b", &b);
                if (r == -ENXIO)
                        return 0;
                if (r >= 0)
                        *(streq(name, "Active") ? &x->active : &x->locked) = b;
                return r < 0 ? r : 1;
        }
        if (streq(name, "User") && sd_bus_message_enter_container(m, 'v', "(uo)") > 0) {
                r = sd_bus_message_read(m, "(uo)", &uid, &user_path);
                if (r >= 0)
                        x->uid = (uid_t) uid;
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                return r < 0 ? r : 1;
        }
        return 0;
}

/* Active, LockedHint and User from an a{sv} (GetAll's reply, PropertiesChanged's changes).
 * Returns whether what is in front changed. */
static bool session_read_properties(Session *x, sd_bus_message *m) {
        bool was = session_in_front(x);
        int r;

        r = bus_dict_read(m, session_property_entry, x, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to read the properties of session %s: %m", x->path);
        return was != session_in_front(x);
}

static int on_session_properties(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Session *x = userdata;
        Sessions *s = x->sessions;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        x->slot = sd_bus_slot_unref(x->slot);
        /* Unreadable: known, and not in front (fail closed). */
        x->known = true;
        if (e) {
                log_debug("Failed to read session %s: %s", x->path, e->message);
                x->active = false;
        } else
                (void) session_read_properties(x, reply);
        log_debug("Session %s of uid %u: %s%s.", x->path, (unsigned) x->uid, x->active ? "active" : "inactive",
                  x->locked ? ", locked" : "");
        lookups_session_known(s, x->path);
        changed(s);
        return 0;
}

/* The session at path, read when it is new to us. */
static Session *session_add(Sessions *s, const char *path, uid_t uid) {
        Session *x = session_find(s, path);
        int r;

        if (x)
                return x;
        x = calloc(1, sizeof(Session));
        if (!x || !(x->path = strdup(path))) {
                free(x);
                log_oom();
                return NULL;
        }
        x->sessions = s;
        x->uid = uid;
        x->next = s->sessions;
        s->sessions = x;
        r = sd_bus_call_method_async(s->bus, &x->slot, LOGIN1_NAME, path, PROPERTIES_IFACE, "GetAll",
                                     on_session_properties, x, "s", LOGIN1_SESSION);
        if (r < 0) {
                log_warning_errno(r, "Failed to read session %s: %m", path);
                x->known = true; /* not in front */
        }
        return x;
}

/* ---- logind's signals ---- */

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Sessions *s = userdata;
        Session *x = session_find(s, sd_bus_message_get_path(m));
        const char *interface;

        if (!x || sd_bus_message_read(m, "s", &interface) < 0 || !streq(interface, LOGIN1_SESSION))
                return 0;
        if (session_read_properties(x, m))
                changed(s);
        return 0;
}

static int on_session_new(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Sessions *s = userdata;
        const char *id, *path;

        if (sd_bus_message_read(m, "so", &id, &path) >= 0)
                (void) session_add(s, path, UID_INVALID);
        return 0;
}

static int on_session_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Sessions *s = userdata;
        const char *id, *path;

        if (sd_bus_message_read(m, "so", &id, &path) < 0)
                return 0;
        session_remove(s, path);
        lookups_session_known(s, path); /* gone: not in front */
        changed(s);
        return 0;
}

static int on_list_sessions(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Sessions *s = userdata;
        const char *id, *user, *seat, *path;
        uint32_t uid;
        int r;

        s->list_slot = sd_bus_slot_unref(s->list_slot);
        s->logind_known = true;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                /* Not there (a container, a test bus): nothing to follow. */
                log_debug("logind is not available (%s); sessions are not followed.",
                          sd_bus_message_get_error(reply)->name);
                return 0;
        }
        s->logind = true;
        r = sd_bus_message_enter_container(reply, 'a', "(susso)");
        while (r > 0 && (r = sd_bus_message_read(reply, "(susso)", &id, &uid, &user, &seat, &path)) > 0)
                (void) session_add(s, path, (uid_t) uid);
        if (r < 0)
                log_warning_errno(r, "Bad answer to ListSessions: %m");
        log_info("Following logind's sessions.");
        changed(s);
        return 0;
}

static void logind_appeared(Sessions *s) {
        int r;

        s->list_slot = sd_bus_slot_unref(s->list_slot);
        r = sd_bus_call_method_async(s->bus, &s->list_slot, LOGIN1_NAME, LOGIN1_PATH, LOGIN1_MANAGER, "ListSessions",
                                     on_list_sessions, s, "");
        if (r < 0)
                log_warning_errno(r, "Failed to ask logind for its sessions: %m");
}

/* logind left: what we knew of it goes; every connection counts as in front until it is back. */
static void logind_gone(Sessions *s) {
        s->logind = false;
        while (s->sessions)
                session_remove(s, s->sessions->path);
        connections_clear(s->connections);
        lookups_finish_waiting(s);
        log_info("logind left the bus; sessions are not followed until it is back.");
        changed(s);
}

static int on_logind_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Sessions *s = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !streq(name, LOGIN1_NAME))
                return 0;
        if (!isempty(old_owner))
                logind_gone(s);
        if (!isempty(new_owner))
                logind_appeared(s);
        return 0;
}

/* ---- connections ---- */

static SessionsLookup *lookup_free(SessionsLookup *l) {
        if (!l)
                return NULL;
        for (SessionsLookup **i = &l->sessions->lookups; *i; i = &(*i)->next)
                if (*i == l) {
                        *i = l->next;
                        break;
                }
        sd_bus_slot_unref(l->slot);
        free(l->unique_name);
        free(l->session);
        free(l);
        return NULL;
}

void sessions_lookup_cancel(SessionsLookup *l) {
        lookup_free(l);
}

/* The connection's session is known: keep it and let the waiter go on. */
static void lookup_finish(SessionsLookup *l) {
        Sessions *s = l->sessions;
        void (*done)(void *userdata) = l->done;
        void *userdata = l->userdata;
        Connection *c = calloc(1, sizeof(Connection)), *old = NULL;

        if (c) {
                c->unique_name = strdup(l->unique_name);
                c->session = l->session ? strdup(l->session) : NULL;
        }
        if (!c || !c->unique_name || (l->session && !c->session) ||
            hashmap_replace(s->connections, c->unique_name, c, (void **) &old) < 0) {
                connection_free(c); /* unknown counts as outside any session */
                log_oom();
        }
        connection_free(old);
        log_debug("Connection %s: %s%s.", l->unique_name, l->session ? "in session " : "outside any session",
                  strempty(l->session));
        lookup_free(l);
        done(userdata);
}

static void lookups_session_known(Sessions *s, const char *path) {
        SessionsLookup *l;

        /* Finishing runs the waiter, which may add or cancel lookups: start over each time. */
        do
                for (l = s->lookups; l; l = l->next)
                        if (!l->slot && streq_ptr(l->session, path)) {
                                lookup_finish(l);
                                break;
                        }
        while (l);
}

/* Every lookup that waits for a session's properties goes on (logind left). */
static void lookups_finish_waiting(Sessions *s) {
        SessionsLookup *l;

        do
                for (l = s->lookups; l; l = l->next)
                        if (!l->slot) {
                                lookup_finish(l);
                                break;
                        }
        while (l);
}

static int on_session_by_pid(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        SessionsLookup *l = userdata;
        Sessions *s = l->sessions;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *path;
        Session *x;

        l->slot = sd_bus_slot_unref(l->slot);
        if (e) {
                /* NoSessionForPID (or another refusal): outside any session. */
                if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        s->logind = false;
                lookup_finish(l);
                return 0;
        }
        if (sd_bus_message_read(reply, "o", &path) < 0 || free_and_strdup(&l->session, path) < 0) {
                lookup_finish(l);
                return 0;
        }
        x = session_add(s, path, UID_INVALID);
        if (!x || x->known)
                lookup_finish(l);
        /* else: finished once the session's properties are read */
        return 0;
}

int sessions_resolve(Sessions *s, const char *unique_name, pid_t pid, void (*done)(void *userdata), void *userdata,
                     SessionsLookup **ret) {
        SessionsLookup *l;
        int r;

        if (!s || (s->logind_known && !s->logind) || pid <= 0 || hashmap_get(s->connections, unique_name))
                return 1;
        l = calloc(1, sizeof(SessionsLookup));
        if (!l)
                return -ENOMEM;
        l->sessions = s;
        l->done = done;
        l->userdata = userdata;
        l->unique_name = strdup(unique_name);
        l->next = s->lookups;
        s->lookups = l;
        if (!l->unique_name) {
                lookup_free(l);
                return -ENOMEM;
        }
        r = sd_bus_call_method_async(s->bus, &l->slot, LOGIN1_NAME, LOGIN1_PATH, LOGIN1_MANAGER, "GetSessionByPID",
                                     on_session_by_pid, l, "u", (uint32_t) pid);
        if (r < 0) {
                lookup_free(l);
                return r;
        }
        *ret = l;
        return 0;
}

void sessions_forget(Sessions *s, const char *unique_name) {
        if (s)
                connection_free(hashmap_remove(s->connections, unique_name));
}

/* ---- what is in front ---- */

static const char *session_of(Sessions *s, const char *unique_name) {
        Connection *c = unique_name ? hashmap_get(s->connections, unique_name) : NULL;

        return c ? c->session : NULL;
}

static bool uid_in_front(Sessions *s, uid_t uid) {
        for (Session *x = s->sessions; x; x = x->next)
                if (x->uid == uid && session_in_front(x))
                        return true;
        return false;
}

bool sessions_in_front(Sessions *s, const char *unique_name, uid_t uid) {
        const char *path;

        if (!s || !s->logind)
                return true;
        path = session_of(s, unique_name);
        return path ? session_in_front(session_find(s, path)) : uid_in_front(s, uid);
}

SessionsAgentVerdict sessions_agent_may_ask(Sessions *s, const char *agent_name, const char *caller_name,
                                            uid_t caller_uid) {
        const char *caller_session, *agent_session;

        if (!s || !s->logind)
                return SESSIONS_AGENT_MAY_ASK;
        if (!sessions_in_front(s, caller_name, caller_uid))
                return SESSIONS_CALLER_NOT_IN_FRONT;
        caller_session = session_of(s, caller_name);
        agent_session = session_of(s, agent_name);
        /* An agent outside any session (a user service) shows its prompts in front. */
        if (!agent_session)
                return SESSIONS_AGENT_MAY_ASK;
        if (caller_session)
                return streq(agent_session, caller_session) ? SESSIONS_AGENT_MAY_ASK : SESSIONS_AGENT_ELSEWHERE;
        return session_in_front(session_find(s, agent_session)) ? SESSIONS_AGENT_MAY_ASK : SESSIONS_AGENT_ELSEWHERE;
}

/* ---- the object ---- */

void sessions_set_change_handler(Sessions *s, void (*handler)(void *userdata), void *userdata) {
        s->handler = handler;
        s->userdata = userdata;
}

int sessions_new(sd_bus *bus, Sessions **ret) {
        Sessions *s;
        int r;

        s = calloc(1, sizeof(Sessions));
        if (!s)
                return -ENOMEM;
        s->bus = sd_bus_ref(bus);
        s->connections = hashmap_new();
        if (!s->connections) {
                sessions_free(s);
                return -ENOMEM;
        }
        /* The signals first, then the list, so that no change falls in between. */
        r = sd_bus_match_signal_async(bus, &s->owner_slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                      "org.freedesktop.DBus", "NameOwnerChanged", on_logind_owner_changed, NULL, s);
        if (r >= 0)
                r = sd_bus_match_signal_async(bus, &s->changed_slot, LOGIN1_NAME, NULL, PROPERTIES_IFACE,
                                              "PropertiesChanged", on_properties_changed, NULL, s);
        if (r >= 0)
                r = sd_bus_match_signal_async(bus, &s->new_slot, LOGIN1_NAME, LOGIN1_PATH, LOGIN1_MANAGER, "SessionNew",
                                              on_session_new, NULL, s);
        if (r >= 0)
                r = sd_bus_match_signal_async(bus, &s->removed_slot, LOGIN1_NAME, LOGIN1_PATH, LOGIN1_MANAGER,
                                              "SessionRemoved", on_session_removed, NULL, s);
        if (r < 0) {
                sessions_free(s);
                return r;
        }
        logind_appeared(s);
        *ret = s;
        return 0;
}

Sessions *sessions_free(Sessions *s) {
        if (!s)
                return NULL;
        while (s->lookups)
                lookup_free(s->lookups);
        while (s->sessions)
                session_remove(s, s->sessions->path);
        connections_clear(s->connections);
        hashmap_free(s->connections);
        sd_bus_slot_unref(s->owner_slot);
        sd_bus_slot_unref(s->changed_slot);
        sd_bus_slot_unref(s->new_slot);
        sd_bus_slot_unref(s->removed_slot);
        sd_bus_slot_unref(s->list_slot);
        sd_bus_unref(s->bus);
        free(s);
        return NULL;
}
