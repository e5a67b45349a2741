/* enumerateDevices(): Manager.EnumerateDevices and the device list it returns. */
#include "capabilities.h"
#include "client.h"
#include "mediagate-names.h"

struct MgDevice {
        char *id, *kind, *label, *group_id, *facing_mode;
        MgCapability *capabilities;
        size_t n_capabilities;
};

struct MgDeviceList {
        MgDevice *devices;
        size_t n_devices;
};

static void device_done(MgDevice *d) {
        free(d->id);
        free(d->kind);
        free(d->label);
        free(d->group_id);
        free(d->facing_mode);
        capabilities_free(d->capabilities, d->n_capabilities);
        *d = (MgDevice) {};
}

MgDeviceList *mg_device_list_free(MgDeviceList *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_devices; i++)
                device_done(l->devices + i);
        free(l->devices);
        free(l);
        return NULL;
}

/* The info a{sv} of one device: group_id, facing_mode, capabilities; other keys are for later
 * versions and skipped. */
typedef struct DeviceInfoRead {
        MgDevice *device;
        MgError *err;
        bool err_set;
} DeviceInfoRead;

static int read_device_capabilities(sd_bus_message *m, DeviceInfoRead *dr) {
        MgDevice *d = dr->device;
        int r;

        if (d->capabilities) {
                dr->err_set = true;
                return error_set_protocol(dr->err, "device capabilities listed twice");
        }
        r = sd_bus_message_enter_container(m, 'v', "a{sv}");
        if (r == -ENXIO) {
                dr->err_set = true;
                return error_set_protocol(dr->err, "device capabilities are not an a{sv}");
        }
        if (r < 0)
                return r;
        r = bus_read_capabilities(m, &d->capabilities, &d->n_capabilities);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_device_info_entry(sd_bus_message *m, const char *key, void *userdata) {
        DeviceInfoRead *dr = userdata;
        int r;

        if (streq(key, "group_id"))
                r = bus_read_string_variant(m, &dr->device->group_id);
        else if (streq(key, "facing_mode"))
                r = bus_read_string_variant(m, &dr->device->facing_mode);
        else if (streq(key, "capabilities"))
                r = read_device_capabilities(m, dr);
        else
                return 0;
        return r < 0 ? r : 1;
}

static int read_device_info(sd_bus_message *m, MgDevice *d, MgError *err) {
        DeviceInfoRead dr = { .device = d, .err = err };
        const char *key;
        int r;

        r = bus_dict_read(m, read_device_info_entry, &dr, &key);
        if (r == -ENXIO && key && !dr.err_set)
                return error_set_protocol(err, "device info '%s' has the wrong type", key);
        return r;
}

static int read_devices(sd_bus_message *reply, MgDeviceList *l, MgError *err) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "(sssa{sv})");
        if (r < 0)
                return r;
        for (;;) {
                const char *id, *kind, *label;
                MgDevice *grown, *d;

                r = sd_bus_message_enter_container(reply, 'r', "sssa{sv}");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(reply, "sss", &id, &kind, &label);
                if (r < 0)
                        return r;

                grown = realloc(l->devices, (l->n_devices + 1) * sizeof(MgDevice));
                if (!grown)
                        return -ENOMEM;
                l->devices = grown;
                d = l->devices + l->n_devices++;
                *d = (MgDevice) {
                        .id = strdup(id),
                        .kind = strdup(kind),
                        .label = strdup(label),
                };
                if (!d->id || !d->kind || !d->label)
                        return -ENOMEM;

                r = read_device_info(reply, d, err);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(reply);
}

int mg_client_enumerate_devices(MgClient *c, const char *origin, MgDeviceList **ret, MgError *err) {
        return mg_client_enumerate_devices_for(c, origin, NULL, ret, err);
}

int mg_client_enumerate_devices_for(MgClient *c, const char *origin, const char *app_id, MgDeviceList **ret,
                                    MgError *err) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(mg_device_list_freep) MgDeviceList *l = NULL;
        int r;

        if (!c || !ret)
                return error_set_errno(err, -EINVAL, NULL);

        r = sd_bus_message_new_method_call(c->bus, &m, MG_BUS_NAME, MG_OBJECT_PATH, MG_IFACE_MANAGER,
                                           "EnumerateDevices");
        if (r < 0)
                return error_set_errno(err, r, "Failed to build EnumerateDevices()");
        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && origin)
                r = sd_bus_message_append(m, "{sv}", "origin", "s", origin);
        if (r >= 0 && app_id)
                r = sd_bus_message_append(m, "{sv}", "app_id", "s", app_id);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return error_set_errno(err, r, "Failed to build EnumerateDevices()");

        r = sd_bus_call(c->bus, m, 0, &error, &reply);
        if (r < 0)
                return error_set_bus(err, &error, r);

        l = calloc(1, sizeof(MgDeviceList));
        if (!l)
                return error_set_errno(err, -ENOMEM, NULL);
        r = read_devices(reply, l, err);
        if (r == -EPROTO)
                return r; /* err already says what */
        if (r == -ENOMEM)
                return error_set_errno(err, r, NULL);
        if (r < 0)
                return error_set_protocol(err, "cannot read the EnumerateDevices() reply: %s", strerror(-r));

        mg_error_clear(err);
        *ret = TAKE_PTR(l);
        return 0;
}

size_t mg_device_list_get_count(const MgDeviceList *l) {
        return l ? l->n_devices : 0;
}

const MgDevice *mg_device_list_get(const MgDeviceList *l, size_t i) {
        if (!l || i >= l->n_devices)
                return NULL;
        return l->devices + i;
}

const char *mg_device_get_id(const MgDevice *d) {
        return d ? strempty(d->id) : "";
}

const char *mg_device_get_kind(const MgDevice *d) {
        return d ? strempty(d->kind) : "";
}

const char *mg_device_get_label(const MgDevice *d) {
        return d ? strempty(d->label) : "";
}

const char *mg_device_get_group_id(const MgDevice *d) {
        return d ? strempty(d->group_id) : "";
}

const char *mg_device_get_facing_mode(const MgDevice *d) {
        return d ? strempty(d->facing_mode) : "";
}

size_t mg_device_get_n_capabilities(const MgDevice *d) {
        return d ? d->n_capabilities : 0;
}

const MgCapability *mg_device_get_capability(const MgDevice *d, size_t i) {
        if (!d || i >= d->n_capabilities)
                return NULL;
        return d->capabilities + i;
}

const MgCapability *mg_device_find_capability(const MgDevice *d, const char *name) {
        if (!d || !name)
                return NULL;
        for (size_t i = 0; i < d->n_capabilities; i++)
                if (streq(d->capabilities[i].name, name))
                        return d->capabilities + i;
        return NULL;
}
