/* The names of the two device kinds, one table per naming of docs/dbus-api.md. */
#include "device-kind.h"

#include "util.h"

static const char *const device_names[_DEVICE_KIND_MAX] = {
        [DEVICE_KIND_AUDIO] = "audioinput",
        [DEVICE_KIND_VIDEO] = "videoinput",
};

static const char *const track_names[_DEVICE_KIND_MAX] = {
        [DEVICE_KIND_AUDIO] = "audio",
        [DEVICE_KIND_VIDEO] = "video",
};

static const char *const permission_names[_DEVICE_KIND_MAX] = {
        [DEVICE_KIND_AUDIO] = "microphone",
        [DEVICE_KIND_VIDEO] = "camera",
};

static const char *name_of(const char *const table[_DEVICE_KIND_MAX], DeviceKind k) {
        if ((unsigned) k >= _DEVICE_KIND_MAX)
                return NULL;
        return table[k];
}

static int kind_of(const char *const table[_DEVICE_KIND_MAX], const char *s) {
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++)
                if (streq_ptr(s, table[k]))
                        return k;
        return -EINVAL;
}

const char *device_kind_to_string(DeviceKind k) {
        return name_of(device_names, k);
}

int device_kind_from_string(const char *s) {
        return kind_of(device_names, s);
}

const char *device_kind_to_track_kind(DeviceKind k) {
        return name_of(track_names, k);
}

int device_kind_from_track_kind(const char *s) {
        return kind_of(track_names, s);
}

const char *device_kind_to_permission(DeviceKind k) {
        return name_of(permission_names, k);
}

int device_kind_from_permission(const char *s) {
        return kind_of(permission_names, s);
}
