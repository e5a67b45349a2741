/* Calls to mediagated's Admin interface (grants, history, devices --all): the a{sv} options
 * built from the command line, and polkit allowed to ask the user for a password. */
#include <stdlib.h>

#include "bus-dict.h"
#include "mediactl.h"
#include "mediagate-names.h"

int admin_new_call(MgClient *client, const char *member, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(mg_client_get_bus(client), ret, MG_BUS_NAME, MG_OBJECT_PATH,
                                              MG_IFACE_ADMIN, member);
}

int append_options(sd_bus_message *m, const BusOption *options, size_t n) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const BusOption *o = &options[i];

                if (!o->set)
                        continue;
                switch (o->type) {
                case OPTION_STRING:
                        r = sd_bus_message_append(m, "{sv}", o->key, "s", o->string);
                        break;
                case OPTION_U32:
                        r = sd_bus_message_append(m, "{sv}", o->key, "u", o->u32);
                        break;
                case OPTION_U64:
                        r = sd_bus_message_append(m, "{sv}", o->key, "t", o->u64);
                        break;
                case OPTION_BOOL:
                        r = sd_bus_message_append(m, "{sv}", o->key, "b", (int) o->boolean);
                        break;
                case OPTION_STRV:
                        r = sd_bus_message_open_container(m, 'e', "sv");
                        if (r >= 0)
                                r = sd_bus_message_append(m, "s", o->key);
                        if (r >= 0)
                                r = sd_bus_message_open_container(m, 'v', "as");
                        if (r >= 0)
                                r = sd_bus_message_append_strv(m, o->strv);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        break;
                }
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

int admin_call(MgClient *client, sd_bus_message *m, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus *bus = mg_client_get_bus(client);
        int r;

        /* Another user's grants or the history of all need org.mediagate.manage: let polkit ask. */
        (void) sd_bus_set_allow_interactive_authorization(bus, true);
        r = sd_bus_call(bus, m, 0, &e, ret_reply);
        if (r < 0) {
                (void) print_bus_error(&e, r);
                return r;
        }
        return 0;
}

typedef struct StringDict {
        const char *strv_key;
        char **pairs, **strv;
} StringDict;

static int string_dict_entry(sd_bus_message *m, const char *key, void *userdata) {
        StringDict *d = userdata;
        const char *value;
        int r;

        r = read_known_variant(bus_read_typed_variant(m, "s", &value));
        if (r > 0 && (strv_extend(&d->pairs, key) < 0 || strv_extend(&d->pairs, value) < 0))
                return -ENOMEM;
        if (r != 0 || !d->strv_key || !streq(key, d->strv_key))
                return r; /* anything else was added later, or has a shape we do not show */
        r = sd_bus_message_enter_container(m, 'v', "as");
        if (r <= 0)
                return r;
        strv_free(d->strv);
        d->strv = NULL;
        r = sd_bus_message_read_strv(m, &d->strv);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 1;
}

int read_string_dict(sd_bus_message *m, const char *strv_key, char ***ret_pairs, char ***ret_strv) {
        StringDict d = { .strv_key = strv_key };
        int r;

        r = bus_dict_read(m, string_dict_entry, &d, NULL);
        if (r < 0) {
                strv_free(d.pairs);
                strv_free(d.strv);
                return r;
        }
        if (ret_pairs)
                *ret_pairs = TAKE_PTR(d.pairs);
        if (ret_strv)
                *ret_strv = TAKE_PTR(d.strv);
        strv_free(d.pairs);
        strv_free(d.strv);
        return 0;
}

json_object *strv_to_json(char *const *l) {
        json_object *a = json_object_new_array();

        for (char *const *s = l; a && s && *s; s++)
                if (json_append(a, json_object_new_string(*s)) < 0) {
                        json_object_put(a);
                        return NULL;
                }
        return a;
}

int parse_kind(const char *s, bool allow_all) {
        if (streq(s, "camera") || streq(s, "microphone"))
                return 0;
        fprintf(stderr, "mediactl: the kind is 'camera' or 'microphone'%s, not '%s'.\n", allow_all ? " (or left out)" : "",
                s);
        return -EINVAL;
}
