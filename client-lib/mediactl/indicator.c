/* `mediactl indicator`: a tray icon for desktops through the StatusNotifierItem protocol
 * (org.kde.StatusNotifierItem on the user's session bus), showing idle, accessible, live or
 * muted from the daemon's indicator properties and naming the apps. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "mediactl.h"
#include "mediagate-names.h"

#define SNI_PATH "/StatusNotifierItem"
#define SNI_IFACE "org.kde.StatusNotifierItem"
#define WATCHER_NAME "org.kde.StatusNotifierWatcher"
#define WATCHER_PATH "/StatusNotifierWatcher"
#define WATCHER_IFACE "org.kde.StatusNotifierWatcher"
/* Qt's spelling of "this item has no dbusmenu". */
#define NO_MENU_PATH "/NO_DBUSMENU"

/* What the tray shows; recomputed from the state on every change. */
typedef struct Look {
        const char *status;        /* Passive, Active, NeedsAttention */
        const char *icon;          /* a freedesktop icon name */
        char *title;               /* plain text */
        char *description;         /* the tooltip's body, in the protocol's markup subset */
} Look;

typedef struct Indicator {
        Context *ctx;
        sd_event *event;
        sd_bus *daemon_bus;  /* where mediagated is (system, or session with --session) */
        sd_bus *session;     /* where the tray is */
        char *item_name;
        IndicatorState state;
        bool daemon_present;
        Look look;
        sd_bus_slot *register_slot;
} Indicator;

static void look_done(Look *l) {
        free(l->title);
        free(l->description);
        *l = (Look) {};
}

/* The tooltip body may hold markup (the specification allows a subset of HTML): app ids and
 * origins come from other programs, so they are escaped. */
static void append_escaped(FILE *f, const char *s) {
        for (; *s; s++)
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

static const char *kind_title(bool camera, bool microphone) {
        return camera && microphone ? "Camera and microphone" : camera ? "Camera" : "Microphone";
}

static int look_compute(const IndicatorState *s, bool daemon_present, Look *ret) {
        bool camera_on = s->camera_accessible || s->camera_live, microphone_on = s->microphone_accessible || s->microphone_live;
        _cleanup_free_ char *body = NULL;
        size_t body_size = 0;
        Look l = {};
        FILE *f;
        int r;

        if (!daemon_present) {
                l.status = "Passive";
                l.icon = "camera-web-symbolic";
                l.title = strdup("Camera and microphone: mediagated is not running");
                l.description = strdup("No app can use the camera or the microphone through mediagated.");
                if (!l.title || !l.description) {
                        look_done(&l);
                        return -ENOMEM;
                }
                *ret = l;
                return 0;
        }

        if (s->camera_live || s->microphone_live) {
                l.status = "NeedsAttention";
                l.icon = s->camera_live ? "camera-web" : "audio-input-microphone";
                r = asprintf(&l.title, "%s in use", kind_title(s->camera_live, s->microphone_live));
        } else if (camera_on || microphone_on) {
                l.status = "Active";
                l.icon = camera_on ? "camera-web-symbolic" : "audio-input-microphone-symbolic";
                r = asprintf(&l.title, "%s available to an app", kind_title(camera_on, microphone_on));
        } else if (s->camera_muted || s->microphone_muted) {
                /* Shown rather than hidden: the user wants to see that the switch holds. */
                l.status = "Active";
                l.icon = s->camera_muted ? "camera-disabled-symbolic" : "microphone-sensitivity-muted-symbolic";
                r = asprintf(&l.title, "%s muted", kind_title(s->camera_muted, s->microphone_muted));
        } else {
                l.status = "Passive";
                l.icon = "camera-web-symbolic";
                r = asprintf(&l.title, "Camera and microphone off");
        }
        if (r < 0) {
                l.title = NULL;
                return -ENOMEM;
        }

        f = open_memstream(&body, &body_size);
        if (!f) {
                look_done(&l);
                return -ENOMEM;
        }
        fprintf(f, "Camera: %s%s\nMicrophone: %s%s", indicator_kind_state(s->camera_accessible, s->camera_live),
                s->camera_muted ? " (muted)" : "", indicator_kind_state(s->microphone_accessible, s->microphone_live),
                s->microphone_muted ? " (muted)" : "");
        for (size_t i = 0; i < s->n_clients; i++) {
                const StateClient *c = &s->clients[i];

                fputc('\n', f);
                append_escaped(f, c->app_id);
                if (!isempty(c->origin)) {
                        fputs(" for ", f);
                        append_escaped(f, c->origin);
                }
                fprintf(f, ": %s %s", c->kind, indicator_kind_state(c->accessible, c->live));
        }
        if (fclose(f) != 0) {
                look_done(&l);
                return -ENOMEM;
        }
        l.description = TAKE_PTR(body);
        *ret = l;
        return 0;
}

/* ---- the StatusNotifierItem object ---- */

static int property_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Indicator *ind = userdata;
        const char *value = "";

        if (streq(property, "Category"))
                value = "Hardware";
        else if (streq(property, "Id"))
                value = "mediagate";
        else if (streq(property, "Title"))
                value = ind->look.title;
        else if (streq(property, "Status"))
                value = ind->look.status;
        else if (streq(property, "IconName"))
                value = ind->look.icon;
        else if (streq(property, "AttentionIconName"))
                value = streq(ind->look.status, "NeedsAttention") ? ind->look.icon : "";
        /* OverlayIconName, AttentionMovieName, IconThemePath: none */
        return sd_bus_message_append(reply, "s", strempty(value));
}

static int property_empty_pixmap(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        /* Icons by name only; hosts draw them from the icon theme. */
        return sd_bus_message_append(reply, "a(iiay)", 0);
}

static int property_tooltip(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Indicator *ind = userdata;

        return sd_bus_message_append(reply, "(sa(iiay)ss)", ind->look.icon, 0, ind->look.title,
                                     strempty(ind->look.description));
}

static int property_window_id(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "i", 0);
}

static int property_item_is_menu(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", 0);
}

static int property_menu(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "o", NO_MENU_PATH);
}

/* Clicks: the icon only informs; there is nothing to open. */
static int method_ignore(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable item_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Category", "s", property_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Id", "s", property_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Title", "s", property_string, 0, 0),
        SD_BUS_PROPERTY("Status", "s", property_string, 0, 0),
        SD_BUS_PROPERTY("WindowId", "i", property_window_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("IconThemePath", "s", property_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("IconName", "s", property_string, 0, 0),
        SD_BUS_PROPERTY("IconPixmap", "a(iiay)", property_empty_pixmap, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("OverlayIconName", "s", property_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("OverlayIconPixmap", "a(iiay)", property_empty_pixmap, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("AttentionIconName", "s", property_string, 0, 0),
        SD_BUS_PROPERTY("AttentionIconPixmap", "a(iiay)", property_empty_pixmap, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("AttentionMovieName", "s", property_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ToolTip", "(sa(iiay)ss)", property_tooltip, 0, 0),
        SD_BUS_PROPERTY("ItemIsMenu", "b", property_item_is_menu, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Menu", "o", property_menu, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("ContextMenu", SD_BUS_ARGS("i", x, "i", y), SD_BUS_NO_RESULT, method_ignore, 0),
        SD_BUS_METHOD_WITH_ARGS("Activate", SD_BUS_ARGS("i", x, "i", y), SD_BUS_NO_RESULT, method_ignore, 0),
        SD_BUS_METHOD_WITH_ARGS("SecondaryActivate", SD_BUS_ARGS("i", x, "i", y), SD_BUS_NO_RESULT, method_ignore, 0),
        SD_BUS_METHOD_WITH_ARGS("Scroll", SD_BUS_ARGS("i", delta, "s", orientation), SD_BUS_NO_RESULT, method_ignore, 0),
        SD_BUS_SIGNAL("NewTitle", NULL, 0),
        SD_BUS_SIGNAL("NewIcon", NULL, 0),
        SD_BUS_SIGNAL("NewAttentionIcon", NULL, 0),
        SD_BUS_SIGNAL("NewOverlayIcon", NULL, 0),
        SD_BUS_SIGNAL("NewToolTip", NULL, 0),
        SD_BUS_SIGNAL_WITH_ARGS("NewStatus", SD_BUS_ARGS("s", status), 0),
        SD_BUS_VTABLE_END,
};

static int emit(Indicator *ind, const char *member) {
        return sd_bus_emit_signal(ind->session, SNI_PATH, SNI_IFACE, member, NULL);
}

/* Publish the look for the current state, with a New* signal for each part that changed. */
static void indicator_refresh(Indicator *ind) {
        Look old = ind->look, l;
        int r;

        r = look_compute(&ind->state, ind->daemon_present, &l);
        if (r < 0) {
                fprintf(stderr, "mediactl indicator: failed to compute the icon: %s\n", strerror(-r));
                return;
        }
        ind->look = l;

        if (!streq_ptr(old.status, l.status))
                r = sd_bus_emit_signal(ind->session, SNI_PATH, SNI_IFACE, "NewStatus", "s", l.status);
        if (r >= 0 && !streq_ptr(old.icon, l.icon))
                r = emit(ind, "NewIcon");
        if (r >= 0 && !streq_ptr(old.icon, l.icon) && streq(l.status, "NeedsAttention"))
                r = emit(ind, "NewAttentionIcon");
        if (r >= 0 && !streq_ptr(old.title, l.title))
                r = emit(ind, "NewTitle");
        if (r >= 0 && (!streq_ptr(old.title, l.title) || !streq_ptr(old.description, l.description) ||
                       !streq_ptr(old.icon, l.icon)))
                r = emit(ind, "NewToolTip");
        if (r < 0)
                fprintf(stderr, "mediactl indicator: failed to announce a change: %s\n", strerror(-r));

        if (!streq_ptr(old.status, l.status) || !streq_ptr(old.icon, l.icon) || !streq_ptr(old.title, l.title)) {
                _cleanup_free_ char *title = terminal_safe(l.title);

                printf("mediactl indicator: %s, %s: %s\n", l.status, l.icon, strempty(title));
                fflush(stdout);
        }
        look_done(&old);
}

/* ---- the watcher ---- */

static int on_registered(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Indicator *ind = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        ind->register_slot = sd_bus_slot_unref(ind->register_slot);
        if (e)
                fprintf(stderr, "mediactl indicator: the StatusNotifierWatcher refused the item: %s: %s\n", e->name,
                        strempty(e->message));
        else {
                printf("mediactl indicator: registered %s with the StatusNotifierWatcher.\n", ind->item_name);
                fflush(stdout);
        }
        return 0;
}

static void indicator_register(Indicator *ind) {
        int r;

        ind->register_slot = sd_bus_slot_unref(ind->register_slot);
        r = sd_bus_call_method_async(ind->session, &ind->register_slot, WATCHER_NAME, WATCHER_PATH, WATCHER_IFACE,
                                     "RegisterStatusNotifierItem", on_registered, ind, "s", ind->item_name);
        if (r < 0)
                fprintf(stderr, "mediactl indicator: failed to register with the StatusNotifierWatcher: %s\n",
                        strerror(-r));
}

/* A watcher that appears (the panel started, or restarted) knows nothing of us: register. */
static int on_watcher_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Indicator *ind = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !streq(name, WATCHER_NAME))
                return 0;
        if (!isempty(new_owner))
                indicator_register(ind);
        else {
                printf("mediactl indicator: the StatusNotifierWatcher left; waiting for another one.\n");
                fflush(stdout);
        }
        return 0;
}

/* ---- mediagated ---- */

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Indicator *ind = userdata;
        _cleanup_strv_free_ char **invalidated = NULL;
        const char *interface;
        int r;

        r = sd_bus_message_read(m, "s", &interface);
        if (r < 0 || !streq(interface, MG_IFACE_MANAGER))
                return 0;
        r = indicator_state_update(&ind->state, m, NULL);
        if (r >= 0)
                r = sd_bus_message_read_strv(m, &invalidated);
        if (r >= 0 && invalidated && invalidated[0])
                r = indicator_state_read(ind->daemon_bus, &ind->state, NULL);
        if (r < 0)
                fprintf(stderr, "mediactl indicator: failed to read a change of the indicator state: %s\n", strerror(-r));
        indicator_refresh(ind);
        return 0;
}

static int on_daemon_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Indicator *ind = userdata;
        const char *name, *old_owner, *new_owner;
        int r;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !streq(name, MG_BUS_NAME))
                return 0;
        indicator_state_clear(&ind->state);
        ind->daemon_present = false;
        if (!isempty(new_owner)) {
                r = indicator_state_read(ind->daemon_bus, &ind->state, NULL);
                ind->daemon_present = r >= 0;
        }
        indicator_refresh(ind);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Indicator *ind = userdata;

        return sd_event_exit(ind->event, EXIT_SUCCESS);
}

static void help(void) {
        printf("mediactl indicator\n\n"
               "Show a tray icon (StatusNotifierItem, on the session bus) that tells whether the camera\n"
               "and microphone are off, available to an app, in use, or muted, and names the apps.\n"
               "It registers with the desktop's StatusNotifierWatcher when there is one, and again\n"
               "whenever one appears. Runs until SIGINT or SIGTERM.\n"
               "The daemon is asked on the system bus unless --session (or MEDIAGATE_BUS) says otherwise.\n\n"
               "  -h --help   Show this help\n");
}

int verb_indicator(Context *ctx, int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(mg_client_unrefp) MgClient *client = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_slot *changed_slot = NULL, *daemon_owner_slot = NULL, *watcher_slot = NULL, *object_slot = NULL;
        Indicator ind = { .ctx = ctx };
        sigset_t mask;
        int c, r, ret = EXIT_FAILURE;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                default:
                        return EXIT_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "mediactl: indicator takes no arguments, got '%s'.\n", argv[optind]);
                return EXIT_USAGE;
        }

        r = context_connect(ctx, &client);
        if (r < 0)
                return EXIT_FAILURE;
        ind.daemon_bus = mg_client_get_bus(client);
        r = sd_bus_open_user(&ind.session);
        if (r < 0)
                return print_errno(r, "Failed to connect to the session bus");
        if (asprintf(&ind.item_name, "org.kde.StatusNotifierItem-%d-1", (int) getpid()) < 0) {
                ret = print_errno(-ENOMEM, "Failed to name the item");
                goto finish;
        }

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                ret = print_errno(-errno, "Failed to block signals");
                goto finish;
        }
        r = sd_event_new(&ind.event);
        if (r >= 0)
                r = sd_event_add_signal(ind.event, NULL, SIGINT, on_signal, &ind);
        if (r >= 0)
                r = sd_event_add_signal(ind.event, NULL, SIGTERM, on_signal, &ind);
        if (r >= 0)
                r = mg_client_attach_event(client, ind.event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_attach_event(ind.session, ind.event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                ret = print_errno(r, "Failed to set up the event loop");
                goto finish;
        }

        /* The daemon's side first: subscribe, then read, so that no change falls in between. */
        r = sd_bus_match_signal(ind.daemon_bus, &changed_slot, MG_BUS_NAME, MG_OBJECT_PATH,
                                "org.freedesktop.DBus.Properties", "PropertiesChanged", on_properties_changed, &ind);
        if (r >= 0)
                r = sd_bus_add_match(ind.daemon_bus, &daemon_owner_slot,
                                     "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" MG_BUS_NAME "'",
                                     on_daemon_owner_changed, &ind);
        if (r < 0) {
                ret = print_errno(r, "Failed to watch mediagated");
                goto finish;
        }
        r = indicator_state_read(ind.daemon_bus, &ind.state, &e);
        if (r < 0 && !sd_bus_error_has_names(&e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                ret = print_bus_error(&e, r);
                goto finish;
        }
        ind.daemon_present = r >= 0;
        r = look_compute(&ind.state, ind.daemon_present, &ind.look);
        if (r < 0) {
                ret = print_errno(r, "Failed to compute the icon");
                goto finish;
        }

        /* Then the tray's side: the object, the name, the watcher. */
        r = sd_bus_add_object_vtable(ind.session, &object_slot, SNI_PATH, SNI_IFACE, item_vtable, &ind);
        if (r < 0) {
                ret = print_errno(r, "Failed to export the StatusNotifierItem");
                goto finish;
        }
        r = sd_bus_request_name(ind.session, ind.item_name, 0);
        if (r < 0) {
                ret = print_errno(r, "Failed to take the item's bus name");
                goto finish;
        }
        r = sd_bus_add_match(ind.session, &watcher_slot,
                             "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                             "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" WATCHER_NAME "'",
                             on_watcher_owner_changed, &ind);
        if (r < 0) {
                ret = print_errno(r, "Failed to watch for a StatusNotifierWatcher");
                goto finish;
        }
        {
                _cleanup_free_ char *title = terminal_safe(ind.look.title);

                printf("mediactl indicator: %s, %s: %s\n", ind.look.status, ind.look.icon, strempty(title));
        }
        {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                int has = 0;

                r = sd_bus_call_method(ind.session, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner", NULL, &reply, "s", WATCHER_NAME);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "b", &has);
                if (r >= 0 && has)
                        indicator_register(&ind);
                else
                        printf("mediactl indicator: no StatusNotifierWatcher on the session bus yet; waiting for one.\n");
        }
        fflush(stdout);

        r = sd_event_loop(ind.event);
        ret = r < 0 ? print_errno(r, "Event loop failed") : r;

finish:
        sd_bus_slot_unref(ind.register_slot);
        sd_bus_slot_unref(watcher_slot);
        sd_bus_slot_unref(object_slot);
        sd_bus_slot_unref(changed_slot);
        sd_bus_slot_unref(daemon_owner_slot);
        if (ind.session) {
                (void) sd_bus_flush(ind.session);
                ind.session = sd_bus_flush_close_unref(ind.session);
        }
        client = mg_client_unref(client);
        sd_event_unref(ind.event);
        indicator_state_clear(&ind.state);
        look_done(&ind.look);
        free(ind.item_name);
        return ret;
}
