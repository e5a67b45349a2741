/* `mediactl indicator`: a tray icon for desktops through the StatusNotifierItem protocol
 * (org.kde.StatusNotifierItem on the user's session bus), showing idle, accessible, live or
 * muted from the daemon's indicator properties, with a menu (indicator-menu.c) to stop an app
 * or pause every camera and microphone. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "indicator.h"
#include "mediagate-names.h"

#define SNI_PATH "/StatusNotifierItem"
#define SNI_IFACE "org.kde.StatusNotifierItem"
#define WATCHER_NAME "org.kde.StatusNotifierWatcher"
#define WATCHER_PATH "/StatusNotifierWatcher"
#define WATCHER_IFACE "org.kde.StatusNotifierWatcher"
#define NAME_OWNER_CHANGED_MATCH(name)                                                              \
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"                  \
        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" name "'"

typedef struct Indicator {
        Context *ctx;
        sd_event *event;
        MgClient *client;
        sd_bus *daemon_bus;  /* where mediagated is (system, or session with --session) */
        sd_bus *session;     /* where the tray is */
        char *item_name;
        IndicatorState state;
        bool daemon_present;
        Look look;
        IndicatorMenu *menu;
        sd_bus_slot *register_slot, *changed_slot, *daemon_owner_slot, *watcher_slot, *object_slot;
} Indicator;

/* ---- the menu's actions ---- */

static int on_admin_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                (void) print_bus_error(e, -sd_bus_message_get_errno(reply));
        return 0;
}

/* An Admin call that polkit may ask the user about; its failure is said when it comes. */
static int admin_call_async(Indicator *ind, const char *member, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(ind->daemon_bus, &m, MG_BUS_NAME, MG_OBJECT_PATH, MG_IFACE_ADMIN, member);
        if (r < 0)
                return r;
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r >= 0)
                r = sd_bus_message_set_allow_interactive_authorization(m, true);
        if (r >= 0)
                r = sd_bus_call_async(ind->daemon_bus, NULL, m, on_admin_reply, ind, 0);
        return r;
}

/* Stop: RevokeGrant for each kind the app (of that origin and user) uses, as `mediactl stop` does. */
static void menu_stop(const char *app_id, const char *origin, uint32_t uid, void *userdata) {
        Indicator *ind = userdata;

        for (size_t i = 0; i < ind->state.n_clients; i++) {
                const StateClient *c = &ind->state.clients[i];
                int r;

                if (!streq(c->app_id, app_id) || !streq(c->origin, origin) || c->uid != uid)
                        continue;
                if (uid == getuid())
                        r = admin_call_async(ind, "RevokeGrant", "sssa{sv}", app_id, origin, c->kind, 0);
                else
                        r = admin_call_async(ind, "RevokeGrant", "sssa{sv}", app_id, origin, c->kind, 1, "uid", "u", uid);
                if (r < 0)
                        fprintf(stderr, "mediactl indicator: failed to stop %s: %s\n", app_id, strerror(-r));
        }
        printf("mediactl indicator: stopping %s%s%s.\n", app_id, isempty(origin) ? "" : " for ", origin);
        fflush(stdout);
}

/* Pause all: the privacy switch of both kinds, on or off. */
static void menu_pause(bool pause, void *userdata) {
        Indicator *ind = userdata;
        int r;

        r = admin_call_async(ind, "SetMuted", "sb", "camera", pause);
        if (r >= 0)
                r = admin_call_async(ind, "SetMuted", "sb", "microphone", pause);
        if (r < 0)
                fprintf(stderr, "mediactl indicator: failed to %s: %s\n", pause ? "pause" : "resume", strerror(-r));
        printf("mediactl indicator: %s every camera and microphone.\n", pause ? "pausing" : "resuming");
        fflush(stdout);
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
        return sd_bus_message_append(reply, "o", INDICATOR_MENU_PATH);
}

/* Clicks on the icon itself: the menu (Menu) is where the actions are. */
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
        indicator_menu_update(ind->menu, &ind->state, ind->daemon_present);
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
               "and microphone are off, available to an app, in use, or muted, and names the apps. Its\n"
               "menu lists each app that uses a device, with Stop (its tracks end and what was stored\n"
               "for it is forgotten), and Pause all (the privacy switches of both kinds).\n"
               "It registers with the desktop's StatusNotifierWatcher when there is one, and again\n"
               "whenever one appears. Runs until SIGINT or SIGTERM.\n"
               "The daemon is asked on the system bus unless --session (or MEDIAGATE_BUS) says otherwise.\n\n"
               "  -h --help   Show this help\n");
}

static int indicator_setup_loop(Indicator *ind) {
        int r;

        r = event_loop_new(ind->client, on_signal, ind, &ind->event);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(ind->session, ind->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return print_errno(r, "Failed to set up the event loop"), r;
        return 0;
}

/* The daemon's side: subscribe, then read, so that no change falls in between. */
static int indicator_follow_daemon(Indicator *ind) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_match_signal(ind->daemon_bus, &ind->changed_slot, MG_BUS_NAME, MG_OBJECT_PATH,
                                "org.freedesktop.DBus.Properties", "PropertiesChanged", on_properties_changed, ind);
        if (r >= 0)
                r = sd_bus_add_match(ind->daemon_bus, &ind->daemon_owner_slot, NAME_OWNER_CHANGED_MATCH(MG_BUS_NAME),
                                     on_daemon_owner_changed, ind);
        if (r < 0)
                return print_errno(r, "Failed to watch mediagated"), r;
        r = indicator_state_read(ind->daemon_bus, &ind->state, &e);
        if (r < 0 && !sd_bus_error_has_names(&e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                return print_bus_error(&e, r), r;
        ind->daemon_present = r >= 0;
        return 0;
}

/* The tray's side: the look, the menu, the item and its name, then the watcher. */
static int indicator_publish(Indicator *ind) {
        const IndicatorMenuActions actions = { .stop = menu_stop, .pause = menu_pause, .userdata = ind };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *title = NULL;
        int r, has = 0;

        r = look_compute(&ind->state, ind->daemon_present, &ind->look);
        if (r < 0)
                return print_errno(r, "Failed to compute the icon"), r;
        r = indicator_menu_new(ind->session, &actions, &ind->menu);
        if (r < 0)
                return print_errno(r, "Failed to export the menu"), r;
        indicator_menu_update(ind->menu, &ind->state, ind->daemon_present);
        r = sd_bus_add_object_vtable(ind->session, &ind->object_slot, SNI_PATH, SNI_IFACE, item_vtable, ind);
        if (r < 0)
                return print_errno(r, "Failed to export the StatusNotifierItem"), r;
        r = sd_bus_request_name(ind->session, ind->item_name, 0);
        if (r < 0)
                return print_errno(r, "Failed to take the item's bus name"), r;
        r = sd_bus_add_match(ind->session, &ind->watcher_slot, NAME_OWNER_CHANGED_MATCH(WATCHER_NAME),
                             on_watcher_owner_changed, ind);
        if (r < 0)
                return print_errno(r, "Failed to watch for a StatusNotifierWatcher"), r;

        title = terminal_safe(ind->look.title);
        printf("mediactl indicator: %s, %s: %s\n", ind->look.status, ind->look.icon, strempty(title));
        r = sd_bus_call_method(ind->session, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", NULL, &reply, "s", WATCHER_NAME);
        if (r >= 0)
                r = sd_bus_message_read(reply, "b", &has);
        if (r >= 0 && has)
                indicator_register(ind);
        else
                printf("mediactl indicator: no StatusNotifierWatcher on the session bus yet; waiting for one.\n");
        fflush(stdout);
        return 0;
}

static void indicator_done(Indicator *ind) {
        sd_bus_slot_unref(ind->register_slot);
        sd_bus_slot_unref(ind->watcher_slot);
        sd_bus_slot_unref(ind->object_slot);
        sd_bus_slot_unref(ind->changed_slot);
        sd_bus_slot_unref(ind->daemon_owner_slot);
        indicator_menu_free(ind->menu);
        if (ind->session) {
                (void) sd_bus_flush(ind->session);
                ind->session = sd_bus_flush_close_unref(ind->session);
        }
        ind->client = mg_client_unref(ind->client);
        sd_event_unref(ind->event);
        indicator_state_clear(&ind->state);
        look_done(&ind->look);
        free(ind->item_name);
}

int verb_indicator(Context *ctx, int argc, char *argv[]) {
        Indicator ind = { .ctx = ctx };
        int r, ret = EXIT_FAILURE;

        r = parse_no_arguments(ctx, "indicator", argc, argv, help);
        if (r <= 0)
                return parse_verb_exit(r);
        if (context_connect(ctx, &ind.client) < 0)
                return EXIT_FAILURE;
        ind.daemon_bus = mg_client_get_bus(ind.client);
        r = sd_bus_open_user(&ind.session);
        if (r < 0) {
                explain_set_bus(true);
                ret = print_connect_error(r);
        } else if (asprintf(&ind.item_name, "org.kde.StatusNotifierItem-%d-1", (int) getpid()) < 0) {
                ind.item_name = NULL;
                ret = print_errno(-ENOMEM, "Failed to name the item");
        } else if (indicator_setup_loop(&ind) >= 0 && indicator_follow_daemon(&ind) >= 0 && indicator_publish(&ind) >= 0) {
                r = sd_event_loop(ind.event);
                ret = r < 0 ? print_errno(r, "Event loop failed") : r;
        }
        indicator_done(&ind);
        return ret;
}
