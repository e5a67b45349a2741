/* `mediactl devices`: what EnumerateDevices tells this caller, or with --all the admin's view
 * (Admin.ListDevices), as a table or as JSON. */
#include <getopt.h>
#include <stdlib.h>

#include "mediactl.h"

/* Without exposure the daemon lists one entry per kind with every identifying field empty. */
static bool device_is_hidden(const MgDevice *d) {
        return isempty(mg_device_get_id(d)) && isempty(mg_device_get_label(d));
}

static json_object *device_to_json(const MgDevice *d) {
        json_object *o, *caps;

        o = json_object_new_object();
        caps = json_object_new_object();
        if (!o || !caps)
                goto fail;
        if (json_object_object_add(o, "device_id", json_object_new_string(mg_device_get_id(d))) < 0 ||
            json_object_object_add(o, "kind", json_object_new_string(mg_device_get_kind(d))) < 0 ||
            json_object_object_add(o, "label", json_object_new_string(mg_device_get_label(d))) < 0 ||
            json_object_object_add(o, "group_id", json_object_new_string(mg_device_get_group_id(d))) < 0 ||
            json_object_object_add(o, "facing_mode", json_object_new_string(mg_device_get_facing_mode(d))) < 0)
                goto fail;
        for (size_t i = 0; i < mg_device_get_n_capabilities(d); i++) {
                const MgCapability *cap = mg_device_get_capability(d, i);
                json_object *value = capability_to_json(cap);

                if (!value || json_object_object_add(caps, cap->name, value) < 0) {
                        json_object_put(value);
                        goto fail;
                }
        }
        if (json_object_object_add(o, "capabilities", caps) < 0)
                goto fail;
        return o;

fail:
        json_object_put(caps);
        json_object_put(o);
        return NULL;
}

static int print_devices_json(const MgDeviceList *l) {
        json_object *array = json_object_new_array();

        for (size_t i = 0; array && i < mg_device_list_get_count(l); i++) {
                json_object *d = device_to_json(mg_device_list_get(l, i));

                if (!d || json_object_array_add(array, d) < 0) {
                        json_object_put(d);
                        json_object_put(array);
                        array = NULL;
                }
        }
        return print_json(array);
}

static int print_devices_table(const MgDeviceList *l) {
        static const char *const headers[] = { "KIND", "LABEL", "DEVICE ID", "GROUP ID", "FACING" };
        _cleanup_(table_freep) Table *t = NULL;
        int r;

        if (mg_device_list_get_count(l) == 0) {
                puts("No devices.");
                return EXIT_SUCCESS;
        }

        t = table_new(ELEMENTSOF(headers), headers);
        if (!t)
                return print_errno(-ENOMEM, "Failed to build the table");
        for (size_t i = 0; i < mg_device_list_get_count(l); i++) {
                const MgDevice *d = mg_device_list_get(l, i);
                bool hidden = device_is_hidden(d);
                const char *cells[] = {
                        mg_device_get_kind(d),
                        hidden ? "(hidden until access is granted)" : mg_device_get_label(d),
                        isempty(mg_device_get_id(d)) ? "-" : mg_device_get_id(d),
                        isempty(mg_device_get_group_id(d)) ? "-" : mg_device_get_group_id(d),
                        isempty(mg_device_get_facing_mode(d)) ? "-" : mg_device_get_facing_mode(d),
                };

                r = table_add_row(t, cells);
                if (r < 0)
                        return print_errno(r, "Failed to build the table");
        }
        r = table_print(t, stdout);
        if (r < 0)
                return print_errno(r, "Failed to write the output");
        return EXIT_SUCCESS;
}

/* ---- --all: Admin.ListDevices ---- */

typedef struct AdminDevice {
        const char *hardware_id, *kind, *label, *state;
        const char *backend, *name, *node, *group, *facing_mode;
        int is_default;
        json_object *clients; /* [{unique_name, app_id, origin, uid}] */
        size_t n_clients;
        char *client_apps;    /* "app, app" for the table */
} AdminDevice;

static int read_admin_clients(sd_bus_message *m, AdminDevice *d) {
        _cleanup_free_ char *apps = NULL;
        size_t size = 0;
        const char *unique_name, *app_id, *origin;
        uint32_t uid;
        FILE *f;
        int r;

        d->clients = json_object_new_array();
        f = open_memstream(&apps, &size);
        if (!d->clients || !f) {
                if (f)
                        fclose(f);
                return -ENOMEM;
        }
        r = sd_bus_message_enter_container(m, 'v', "a(sssu)");
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "(sssu)");
        while (r >= 0 && (r = sd_bus_message_read(m, "(sssu)", &unique_name, &app_id, &origin, &uid)) > 0) {
                json_object *o = json_object_new_object();

                if (!o || json_add_string(o, "unique_name", unique_name) < 0 || json_add_string(o, "app_id", app_id) < 0 ||
                    json_add_string(o, "origin", origin) < 0 || json_add(o, "uid", json_object_new_int64(uid)) < 0 ||
                    json_append(d->clients, o) < 0) {
                        json_object_put(o);
                        r = -ENOMEM;
                        break;
                }
                fprintf(f, "%s%s%s%s", d->n_clients == 0 ? "" : ", ", app_id, isempty(origin) ? "" : " for ", origin);
                d->n_clients++;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r >= 0)
                d->client_apps = TAKE_PTR(apps);
        return r;
}

static int read_admin_device(sd_bus_message *m, AdminDevice *d) {
        int r;

        *d = (AdminDevice) { .is_default = -1 };
        r = sd_bus_message_read(m, "ssss", &d->hardware_id, &d->kind, &d->label, &d->state);
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const struct {
                        const char *key;
                        const char **field;
                } strings[] = {
                        { "backend", &d->backend }, { "name", &d->name }, { "node", &d->node },
                        { "group", &d->group }, { "facing_mode", &d->facing_mode },
                };
                const char *key, *contents;
                bool done = false;

                r = sd_bus_message_read(m, "s", &key);
                if (r >= 0)
                        r = sd_bus_message_peek_type(m, NULL, &contents);
                for (size_t i = 0; r >= 0 && i < ELEMENTSOF(strings) && !done; i++)
                        if (streq(key, strings[i].key) && streq(contents, "s")) {
                                r = sd_bus_message_read(m, "v", "s", strings[i].field);
                                done = true;
                        }
                if (r >= 0 && !done && streq(key, "default") && streq(contents, "b")) {
                        r = sd_bus_message_read(m, "v", "b", &d->is_default);
                        done = true;
                }
                if (r >= 0 && !done && streq(key, "clients") && streq(contents, "a(sssu)") && !d->clients) {
                        r = read_admin_clients(m, d);
                        done = true;
                }
                if (r >= 0 && !done)
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r;
}

static void admin_device_done(AdminDevice *d) {
        json_object_put(d->clients);
        free(d->client_apps);
}

static json_object *admin_device_to_json(AdminDevice *d) {
        json_object *o = json_object_new_object();

        if (!o || json_add_string(o, "hardware_id", d->hardware_id) < 0 || json_add_string(o, "kind", d->kind) < 0 ||
            json_add_string(o, "label", d->label) < 0 || json_add_string(o, "state", d->state) < 0 ||
            json_add_string(o, "backend", d->backend) < 0 || json_add_string(o, "name", d->name) < 0 ||
            json_add_string(o, "node", d->node) < 0 || json_add_string(o, "group", d->group) < 0 ||
            json_add_string(o, "facing_mode", d->facing_mode) < 0 ||
            json_add(o, "default", json_object_new_boolean(d->is_default > 0)) < 0 ||
            json_add(o, "clients", d->clients ? json_object_get(d->clients) : json_object_new_array()) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static int print_admin_devices(MgClient *client, bool json) {
        static const char *const headers[] = { "KIND", "LABEL", "STATE", "HARDWARE ID", "NODE", "APPS" };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(json_object_putp) json_object *array = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        size_t n = 0;
        int r;

        r = admin_new_call(client, "ListDevices", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        if (r < 0)
                return print_errno(r, "Failed to build ListDevices()");
        if (admin_call(client, m, &reply) < 0)
                return EXIT_FAILURE;

        array = json_object_new_array();
        t = table_new(ELEMENTSOF(headers), headers);
        if (!array || !t)
                return print_errno(-ENOMEM, "Failed to build the output");
        r = sd_bus_message_enter_container(reply, 'a', "(ssssa{sv})");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'r', "ssssa{sv}")) > 0) {
                AdminDevice d;

                r = read_admin_device(reply, &d);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r >= 0) {
                        const char *cells[] = { d.kind, d.label, d.state, d.hardware_id, isempty(d.node) ? "-" : d.node,
                                                isempty(d.client_apps) ? "-" : d.client_apps };

                        r = json ? json_append(array, admin_device_to_json(&d)) : table_add_row(t, cells);
                        n++;
                }
                admin_device_done(&d);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return print_errno(r, "Failed to read the devices");

        if (json)
                return print_json(TAKE_PTR(array));
        if (n == 0) {
                puts("No devices.");
                return EXIT_SUCCESS;
        }
        r = table_print(t, stdout);
        return r < 0 ? print_errno(r, "Failed to write the output") : EXIT_SUCCESS;
}

static void help(void) {
        printf("mediactl devices [--origin ORIGIN] [--json[=pretty|short]] [--no-legend] [--no-pager]\n"
               "mediactl devices --all [--json[=pretty|short]] [--no-legend] [--no-pager]\n\n"
               "List the cameras and microphones this caller may know about (EnumerateDevices).\n"
               "Until access to a kind is granted, one entry per kind is shown without details.\n"
               "With --all, the admin's view: every device with its hardware identity, whether it\n"
               "captures, and which apps use it (needs the admin's authorization).\n\n"
               "  --all            Every device (Admin.ListDevices)\n"
               "  --origin ORIGIN  Ask for a web origin (trusted brokers only)\n"
               OUTPUT_OPTIONS_HELP
               "  -h --help        Show this help\n");
}

typedef struct DevicesArgs {
        const char *origin;
        bool all;
} DevicesArgs;

enum { ARG_ORIGIN = 0x100, ARG_ALL };

static int devices_option(int c, const char *arg, void *userdata) {
        DevicesArgs *a = userdata;

        if (c == ARG_ALL)
                a->all = true;
        else
                a->origin = arg;
        return 0;
}

int verb_devices(Context *ctx, int argc, char *argv[]) {
        static const struct option options[] = {
                { "origin", required_argument, NULL, ARG_ORIGIN },
                { "all", no_argument, NULL, ARG_ALL },
                {},
        };
        static const VerbSyntax syntax = {
                .name = "devices", .help = help, .output = true, .options = options, .on_option = devices_option,
        };
        _cleanup_(mg_client_unrefp) MgClient *client = NULL;
        _cleanup_(mg_device_list_freep) MgDeviceList *list = NULL;
        _cleanup_(mg_error_clear) MgError err = MG_ERROR_INIT;
        DevicesArgs a = {};
        int r;

        r = parse_verb(ctx, &syntax, argc, argv, &a);
        if (r <= 0)
                return parse_verb_exit(r);
        if (a.all && a.origin) {
                fprintf(stderr, "mediactl: --all shows every device as it is; --origin does not apply.\n");
                return EXIT_USAGE;
        }

        r = context_connect(ctx, &client);
        if (r < 0)
                return EXIT_FAILURE;
        if (a.all)
                return print_admin_devices(client, ctx->json);
        r = mg_client_enumerate_devices(client, a.origin, &list, &err);
        if (r < 0)
                return print_error(&err, r);

        return ctx->json ? print_devices_json(list) : print_devices_table(list);
}
