/* The tray's menu (com.canonical.dbusmenu, version 3): one submenu per app that uses a camera or
 * microphone, named by its desktop entry, with "Stop"; then "Pause all", the privacy switches
 * of both kinds. Item ids are never reused, so that a click on an item that has gone since the
 * menu was drawn does nothing. */
#include <stdlib.h>

#include "indicator.h"

#define MENU_IFACE "com.canonical.dbusmenu"
#define MENU_VERSION 3u

enum {
        ITEM_ROOT = 0,
        ITEM_NOTHING = 1,   /* "No app uses ..." when the list is empty */
        ITEM_SEPARATOR = 2,
        ITEM_PAUSE = 3,
        ITEM_FIRST_APP = 100, /* each app: its submenu id, and id + 1 its Stop */
};

typedef struct MenuApp {
        int id;
        char *app_id, *origin, *label;
        uint32_t uid;
} MenuApp;

typedef struct CachedName {
        char *app_id;
        AppInfo info;
} CachedName;

struct IndicatorMenu {
        sd_bus *session;
        sd_bus_slot *slot;
        IndicatorMenuActions actions;
        uint32_t revision;
        int next_id;
        MenuApp *apps;
        size_t n_apps;
        bool paused, daemon_present;
        CachedName *names; /* desktop entries are read once per app id */
        size_t n_names;
};

static void menu_apps_free(MenuApp *apps, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(apps[i].app_id);
                free(apps[i].origin);
                free(apps[i].label);
        }
        free(apps);
}

IndicatorMenu *indicator_menu_free(IndicatorMenu *m) {
        if (!m)
                return NULL;
        sd_bus_slot_unref(m->slot);
        menu_apps_free(m->apps, m->n_apps);
        for (size_t i = 0; i < m->n_names; i++) {
                free(m->names[i].app_id);
                app_info_done(&m->names[i].info);
        }
        free(m->names);
        free(m);
        return NULL;
}

/* ---- the items ---- */

static const MenuApp *find_app(const IndicatorMenu *m, int id) {
        for (size_t i = 0; i < m->n_apps; i++)
                if (m->apps[i].id == id || m->apps[i].id + 1 == id)
                        return &m->apps[i];
        return NULL;
}

static bool item_exists(const IndicatorMenu *m, int id) {
        return id == ITEM_ROOT || id == ITEM_SEPARATOR || id == ITEM_PAUSE || (id == ITEM_NOTHING && m->n_apps == 0) ||
               find_app(m, id);
}

/* An item's properties; NULL and false ones are left out (the defaults of the specification). */
typedef struct ItemProperties {
        const char *label, *type, *icon, *children;
        bool disabled, toggle;
} ItemProperties;

static ItemProperties item_properties(const IndicatorMenu *m, int id) {
        const MenuApp *app = id >= ITEM_FIRST_APP ? find_app(m, id) : NULL;

        if (id == ITEM_ROOT)
                return (ItemProperties) { .children = "submenu" };
        if (id == ITEM_NOTHING)
                return (ItemProperties) {
                        .label = m->daemon_present ? _("No app uses the camera or microphone") :
                                                     _("mediagated is not running"),
                        .disabled = true,
                };
        if (id == ITEM_SEPARATOR)
                return (ItemProperties) { .type = "separator" };
        if (id == ITEM_PAUSE)
                return (ItemProperties) { .label = _("Pause all"), .toggle = true, .disabled = !m->daemon_present };
        if (app && app->id == id)
                return (ItemProperties) { .label = app->label, .children = "submenu" };
        return (ItemProperties) { .label = _("Stop"), .icon = "media-playback-stop" };
}

/* One property as {sv} (whole: with the dict entry) or v; 0 when the item does not have it. */
static int append_property(sd_bus_message *reply, const IndicatorMenu *m, const ItemProperties *p, const char *name,
                           bool entry) {
        const char *s = streq(name, "label") ? p->label : streq(name, "type") ? p->type :
                        streq(name, "icon-name") ? p->icon : streq(name, "children-display") ? p->children : NULL;
        int r = 1;

        if (entry)
                r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0 && entry)
                r = sd_bus_message_append(reply, "s", name);
        if (r < 0)
                return r;
        if (s)
                r = sd_bus_message_append(reply, "v", "s", s);
        else if (streq(name, "enabled") && p->disabled)
                r = sd_bus_message_append(reply, "v", "b", 0);
        else if (streq(name, "toggle-type") && p->toggle)
                r = sd_bus_message_append(reply, "v", "s", "checkmark");
        else if (streq(name, "toggle-state") && p->toggle)
                r = sd_bus_message_append(reply, "v", "i", (int32_t) m->paused);
        else
                return 0; /* nothing appended: the caller drops the open entry */
        if (r >= 0 && entry)
                r = sd_bus_message_close_container(reply);
        return r < 0 ? r : 1;
}

static bool has_property(const IndicatorMenu *m, const ItemProperties *p, const char *name) {
        return (streq(name, "label") && p->label) || (streq(name, "type") && p->type) ||
               (streq(name, "icon-name") && p->icon) || (streq(name, "children-display") && p->children) ||
               (streq(name, "enabled") && p->disabled) ||
               ((streq(name, "toggle-type") || streq(name, "toggle-state")) && p->toggle);
}

/* One item's a{sv}: the properties asked for (all when names is empty). */
static int append_properties(sd_bus_message *reply, const IndicatorMenu *m, int id, char *const *names) {
        static const char *const all[] = { "label", "type", "icon-name", "children-display", "enabled",
                                           "toggle-type", "toggle-state" };
        ItemProperties p = item_properties(m, id);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(all); i++)
                if (has_property(m, &p, all[i]) && (strv_length(names) == 0 || strv_contains(names, all[i])))
                        r = append_property(reply, m, &p, all[i], true);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* The children of an item, in order. */
static size_t children_of(const IndicatorMenu *m, int id, int *ret, size_t max) {
        size_t n = 0;

        if (id == ITEM_ROOT) {
                for (size_t i = 0; i < m->n_apps && n < max; i++)
                        ret[n++] = m->apps[i].id;
                if (m->n_apps == 0 && n < max)
                        ret[n++] = ITEM_NOTHING;
                if (n + 2 <= max) {
                        ret[n++] = ITEM_SEPARATOR;
                        ret[n++] = ITEM_PAUSE;
                }
        } else if (id >= ITEM_FIRST_APP && find_app(m, id) && find_app(m, id)->id == id && max > 0)
                ret[n++] = id + 1;
        return n;
}

/* (ia{sv}av), children down to depth (-1: all). */
static int append_layout(sd_bus_message *reply, const IndicatorMenu *m, int id, int depth, char *const *names) {
        _cleanup_free_ int *children = calloc(m->n_apps + 4, sizeof(int));
        size_t n;
        int r;

        if (!children)
                return -ENOMEM;
        n = depth == 0 ? 0 : children_of(m, id, children, m->n_apps + 4);
        r = sd_bus_message_open_container(reply, 'r', "ia{sv}av");
        if (r >= 0)
                r = sd_bus_message_append(reply, "i", id);
        if (r >= 0)
                r = append_properties(reply, m, id, names);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "v");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_open_container(reply, 'v', "(ia{sv}av)");
                if (r >= 0)
                        r = append_layout(reply, m, children[i], depth < 0 ? -1 : depth - 1, names);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* ---- the bus methods ---- */

static int method_get_layout(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        IndicatorMenu *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **names = NULL;
        int32_t parent, depth;
        int r;

        r = sd_bus_message_read(call, "ii", &parent, &depth);
        if (r >= 0)
                r = sd_bus_message_read_strv(call, &names);
        if (r < 0)
                return r;
        if (!item_exists(m, parent))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "No menu item %d.", parent);
        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "u", m->revision);
        if (r >= 0)
                r = append_layout(reply, m, parent, depth, names);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_group_properties(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        IndicatorMenu *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **names = NULL;
        const int32_t *ids;
        size_t size;
        int r;

        r = sd_bus_message_read_array(call, 'i', (const void **) &ids, &size);
        if (r >= 0)
                r = sd_bus_message_read_strv(call, &names);
        if (r >= 0)
                r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ia{sv})");
        for (size_t i = 0; r >= 0 && i < size / sizeof(int32_t); i++) {
                if (!item_exists(m, ids[i]))
                        continue;
                r = sd_bus_message_open_container(reply, 'r', "ia{sv}");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "i", ids[i]);
                if (r >= 0)
                        r = append_properties(reply, m, ids[i], names);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_property(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        IndicatorMenu *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        ItemProperties p;
        const char *name;
        int32_t id;
        int r;

        r = sd_bus_message_read(call, "is", &id, &name);
        if (r < 0)
                return r;
        if (!item_exists(m, id))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "No menu item %d.", id);
        p = item_properties(m, id);
        if (!has_property(m, &p, name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Menu item %d has no property %s.", id, name);
        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = append_property(reply, m, &p, name, false);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* A click: Stop of an app, or Pause all. Other events (hovered, opened, closed) do nothing. */
static bool handle_event(IndicatorMenu *m, int32_t id, const char *event) {
        const MenuApp *app = id >= ITEM_FIRST_APP ? find_app(m, id) : NULL;

        if (!item_exists(m, id))
                return false;
        if (!streq(event, "clicked"))
                return true;
        if (id == ITEM_PAUSE && m->daemon_present)
                m->actions.pause(!m->paused, m->actions.userdata);
        else if (app && app->id + 1 == id)
                m->actions.stop(app->app_id, app->origin, app->uid, m->actions.userdata);
        return true;
}

static int method_event(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        IndicatorMenu *m = userdata;
        const char *event;
        int32_t id;
        int r;

        r = sd_bus_message_read(call, "is", &id, &event);
        if (r < 0)
                return r;
        if (!handle_event(m, id, event))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "No menu item %d.", id);
        return sd_bus_reply_method_return(call, NULL);
}

static int method_event_group(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        IndicatorMenu *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "i");
        if (r >= 0)
                r = sd_bus_message_enter_container(call, 'a', "(isvu)");
        while (r >= 0 && (r = sd_bus_message_enter_container(call, 'r', "isvu")) > 0) {
                const char *event;
                int32_t id;

                r = sd_bus_message_read(call, "is", &id, &event);
                if (r >= 0)
                        r = sd_bus_message_skip(call, "vu");
                if (r >= 0 && !handle_event(m, id, event))
                        r = sd_bus_message_append(reply, "i", id);
                if (r >= 0)
                        r = sd_bus_message_exit_container(call);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The menu is kept current; nothing needs an update before it shows. */
static int method_about_to_show(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(call, "b", 0);
}

static int method_about_to_show_group(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(call, "aiai", 0, 0);
}

static int property_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "u", MENU_VERSION);
}

static int property_text_direction(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", "ltr");
}

static int property_status(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", "normal");
}

static int property_icon_theme_path(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "as", 0);
}

static const sd_bus_vtable menu_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "u", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("TextDirection", "s", property_text_direction, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Status", "s", property_status, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("IconThemePath", "as", property_icon_theme_path, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("GetLayout", SD_BUS_ARGS("i", parent_id, "i", recursion_depth, "as", property_names),
                                SD_BUS_RESULT("u", revision, "(ia{sv}av)", layout), method_get_layout, 0),
        SD_BUS_METHOD_WITH_ARGS("GetGroupProperties", SD_BUS_ARGS("ai", ids, "as", property_names),
                                SD_BUS_RESULT("a(ia{sv})", properties), method_get_group_properties, 0),
        SD_BUS_METHOD_WITH_ARGS("GetProperty", SD_BUS_ARGS("i", id, "s", name), SD_BUS_RESULT("v", value),
                                method_get_property, 0),
        SD_BUS_METHOD_WITH_ARGS("Event", SD_BUS_ARGS("i", id, "s", event_id, "v", data, "u", timestamp),
                                SD_BUS_NO_RESULT, method_event, 0),
        SD_BUS_METHOD_WITH_ARGS("EventGroup", SD_BUS_ARGS("a(isvu)", events), SD_BUS_RESULT("ai", id_errors),
                                method_event_group, 0),
        SD_BUS_METHOD_WITH_ARGS("AboutToShow", SD_BUS_ARGS("i", id), SD_BUS_RESULT("b", need_update),
                                method_about_to_show, 0),
        SD_BUS_METHOD_WITH_ARGS("AboutToShowGroup", SD_BUS_ARGS("ai", ids),
                                SD_BUS_RESULT("ai", updates_needed, "ai", id_errors), method_about_to_show_group, 0),
        SD_BUS_SIGNAL_WITH_ARGS("ItemsPropertiesUpdated",
                                SD_BUS_ARGS("a(ia{sv})", updated_props, "a(ias)", removed_props), 0),
        SD_BUS_SIGNAL_WITH_ARGS("LayoutUpdated", SD_BUS_ARGS("u", revision, "i", parent), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ItemActivationRequested", SD_BUS_ARGS("i", id, "u", timestamp), 0),
        SD_BUS_VTABLE_END,
};

int indicator_menu_new(sd_bus *session, const IndicatorMenuActions *actions, IndicatorMenu **ret) {
        _cleanup_(indicator_menu_freep) IndicatorMenu *m = NULL;
        int r;

        m = calloc(1, sizeof(IndicatorMenu));
        if (!m)
                return -ENOMEM;
        m->session = session;
        m->actions = *actions;
        m->revision = 1;
        m->next_id = ITEM_FIRST_APP;
        r = sd_bus_add_object_vtable(session, &m->slot, INDICATOR_MENU_PATH, MENU_IFACE, menu_vtable, m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* ---- following the state ---- */

static const AppInfo *app_name(IndicatorMenu *m, const char *app_id) {
        CachedName *grown;

        for (size_t i = 0; i < m->n_names; i++)
                if (streq(m->names[i].app_id, app_id))
                        return &m->names[i].info;
        grown = realloc(m->names, (m->n_names + 1) * sizeof(CachedName));
        if (!grown)
                return NULL;
        m->names = grown;
        grown[m->n_names] = (CachedName) { .app_id = strdup(app_id) };
        if (!grown[m->n_names].app_id || app_info_lookup(app_id, &grown[m->n_names].info) < 0) {
                free(grown[m->n_names].app_id);
                return NULL;
        }
        return &m->names[m->n_names++].info;
}

/* "Cheese: camera and microphone (in use)", "https://meet.example.com in Firefox: camera"; "_"
 * doubled, as dbusmenu takes "_" for a mnemonic. */
static char *app_label(IndicatorMenu *m, const StateClient *c, bool camera, bool microphone, bool live) {
        const AppInfo *info = app_name(m, c->app_id);
        const char *name = info ? info->name : c->app_id;
        _cleanup_free_ char *label = NULL, *who = NULL;
        char *doubled, *d;

        if (!isempty(c->origin) ? asprintf(&who, _("%s in %s"), c->origin, name) < 0 : !(who = strdup(name)))
                return NULL;
        if (asprintf(&label, "%s: %s%s", who,
                     camera && microphone ? _("camera and microphone") : camera ? _("camera") : _("microphone"),
                     live ? _(" (in use)") : "") < 0)
                return NULL;
        doubled = d = malloc(strlen(label) * 2 + 1);
        if (!doubled)
                return NULL;
        for (const char *s = label; *s; s++) {
                if (*s == '_')
                        *d++ = '_';
                *d++ = *s;
        }
        *d = '\0';
        return doubled;
}

/* The apps (app id, origin, uid) that hold a device now, in the state's order. */
static int collect_apps(IndicatorMenu *m, const IndicatorState *s, MenuApp **ret, size_t *ret_n) {
        MenuApp *apps = calloc(s->n_clients + 1, sizeof(MenuApp));
        size_t n = 0;

        if (!apps)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_clients; i++) {
                const StateClient *c = &s->clients[i];
                bool camera = false, microphone = false, live = false, seen = false;

                if (!c->accessible && !c->live)
                        continue; /* ended, listed only while the indicator holds */
                for (size_t j = 0; j < n && !seen; j++)
                        seen = streq(apps[j].app_id, c->app_id) && streq(apps[j].origin, c->origin) && apps[j].uid == c->uid;
                if (seen)
                        continue;
                for (size_t j = i; j < s->n_clients; j++) {
                        const StateClient *o = &s->clients[j];

                        if (!streq(o->app_id, c->app_id) || !streq(o->origin, c->origin) || o->uid != c->uid ||
                            (!o->accessible && !o->live))
                                continue;
                        camera = camera || streq(o->kind, "camera");
                        microphone = microphone || streq(o->kind, "microphone");
                        live = live || o->live;
                }
                apps[n] = (MenuApp) { .app_id = strdup(c->app_id), .origin = strdup(c->origin), .uid = c->uid,
                                      .label = app_label(m, c, camera, microphone, live) };
                if (!apps[n].app_id || !apps[n].origin || !apps[n].label) {
                        menu_apps_free(apps, n + 1);
                        return -ENOMEM;
                }
                n++;
        }
        *ret = apps;
        *ret_n = n;
        return 0;
}

void indicator_menu_update(IndicatorMenu *m, const IndicatorState *s, bool daemon_present) {
        bool paused = daemon_present && s->camera_muted && s->microphone_muted, changed;
        MenuApp *apps;
        size_t n;
        int r;

        if (collect_apps(m, s, &apps, &n) < 0) {
                fprintf(stderr, "mediactl indicator: failed to build the menu: %s\n", strerror(ENOMEM));
                return;
        }
        changed = n != m->n_apps || paused != m->paused || daemon_present != m->daemon_present;
        /* An app still there keeps its id; a new one gets fresh ones. */
        for (size_t i = 0; i < n; i++) {
                const MenuApp *old = NULL;

                for (size_t j = 0; j < m->n_apps && !old; j++)
                        if (streq(m->apps[j].app_id, apps[i].app_id) && streq(m->apps[j].origin, apps[i].origin) &&
                            m->apps[j].uid == apps[i].uid)
                                old = &m->apps[j];
                apps[i].id = old ? old->id : (m->next_id += 2) - 2;
                changed = changed || !old || !streq(old->label, apps[i].label) || old != &m->apps[i];
        }
        menu_apps_free(m->apps, m->n_apps);
        m->apps = apps;
        m->n_apps = n;
        m->paused = paused;
        m->daemon_present = daemon_present;
        if (!changed)
                return;
        m->revision++;
        r = sd_bus_emit_signal(m->session, INDICATOR_MENU_PATH, MENU_IFACE, "LayoutUpdated", "ui", m->revision, 0);
        if (r < 0)
                fprintf(stderr, "mediactl indicator: failed to announce the new menu: %s\n", strerror(-r));
}
