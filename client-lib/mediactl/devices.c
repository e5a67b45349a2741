/* `mediactl devices`: what EnumerateDevices tells this caller, as a table or as JSON. */
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

static void help(void) {
        printf("mediactl devices [--json] [--origin ORIGIN]\n\n"
               "List the cameras and microphones this caller may know about (EnumerateDevices).\n"
               "Until access to a kind is granted, one entry per kind is shown without details.\n\n"
               "  --json           Print a JSON array (with each device's capabilities)\n"
               "  --origin ORIGIN  Ask for a web origin (trusted brokers only)\n"
               "  -h --help        Show this help\n");
}

int verb_devices(Context *ctx, int argc, char *argv[]) {
        enum { ARG_JSON = 0x100, ARG_ORIGIN };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, ARG_JSON },
                { "origin", required_argument, NULL, ARG_ORIGIN },
                {},
        };
        _cleanup_(mg_client_unrefp) MgClient *client = NULL;
        _cleanup_(mg_device_list_freep) MgDeviceList *list = NULL;
        _cleanup_(mg_error_clear) MgError err = MG_ERROR_INIT;
        const char *origin = NULL;
        int c, r;

        optind = 0; /* restart getopt for the command's own arguments */
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case ARG_JSON:
                        ctx->json = true;
                        break;
                case ARG_ORIGIN:
                        origin = optarg;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "mediactl: devices takes no arguments, got '%s'.\n", argv[optind]);
                return EXIT_USAGE;
        }

        r = context_connect(ctx, &client);
        if (r < 0)
                return EXIT_FAILURE;
        r = mg_client_enumerate_devices(client, origin, &list, &err);
        if (r < 0)
                return print_error(&err, r);

        return ctx->json ? print_devices_json(list) : print_devices_table(list);
}
