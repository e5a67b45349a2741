/* The two kinds of device and the names docs/dbus-api.md gives them: "videoinput"/"audioinput" for a
 * device, "video"/"audio" for a track, "camera"/"microphone" for a permission. Spelled here once. */
#pragma once

typedef enum DeviceKind {
        DEVICE_KIND_AUDIO, /* "audioinput" */
        DEVICE_KIND_VIDEO, /* "videoinput" */
        _DEVICE_KIND_MAX,
} DeviceKind;

/* Each returns NULL for a value outside the enum; each *_from_* returns -EINVAL for anything but
 * its two names (NULL included). */
const char *device_kind_to_string(DeviceKind k);     /* "audioinput" / "videoinput" */
int device_kind_from_string(const char *s);
const char *device_kind_to_track_kind(DeviceKind k); /* "audio" / "video" */
int device_kind_from_track_kind(const char *s);
const char *device_kind_to_permission(DeviceKind k); /* "microphone" / "camera" */
int device_kind_from_permission(const char *s);
