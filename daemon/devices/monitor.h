/* Enumeration and hotplug of the real devices: one watcher on video4linux and sound that hands
 * new nodes to the V4L2 and ALSA backends and takes vanished ones out of the registry. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "device.h"
#include "util.h"

typedef struct DeviceMonitor DeviceMonitor;

/* Follow hotplug on the registry's event loop and add every camera (backends has
 * BACKEND_V4L2 of config.h) and microphone (BACKEND_ALSA) present now, before returning.
 * Listening starts before the enumeration, so that nothing plugged in meanwhile is missed.
 *
 * With udevd running the monitor is an sd_device_monitor (events after udev's rules ran,
 * identities from its database); without it (a minimal VM or container) it reads the kernel's
 * own uevents and identities fall back to sysfs paths. A probe that finds a device busy is
 * tried again every few seconds; one that races the driver's registration on a fresh add is
 * tried again shortly. Removal takes every registered device at or below the removed sysfs
 * path out of the registry (the registry's owner ends its tracks). The first real device of a
 * kind is made the default while no device of that kind is one.
 *
 * Fails only when the event loop or memory fails; a device that cannot be probed is logged
 * and skipped. */
int device_monitor_start(DeviceRegistry *r, unsigned backends, DeviceMonitor **ret);

/* Stops following hotplug; the devices stay in the registry. Returns NULL. */
DeviceMonitor *device_monitor_free(DeviceMonitor *m);
DEFINE_CLEANUP_FUNC(DeviceMonitor, device_monitor_free)

/* Real devices this monitor has in the registry, of one kind (for "synthetic only when no
 * real device of a kind exists"). */
size_t device_monitor_count(DeviceMonitor *m, DeviceKind kind);

/* One kernel uevent from NETLINK_KOBJECT_UEVENT: "ACTION@DEVPATH" and NUL-terminated
 * KEY=VALUE strings. The pointers point into the buffer. */
typedef struct UEvent {
        const char *action;    /* "add", "remove", "change", ... */
        const char *devpath;   /* "/devices/...", never with a ".." component */
        const char *subsystem;
        const char *devname;   /* NULL if the event has none */
        uint64_t seqnum;
} UEvent;

/* -EBADMSG for anything that is not a well-formed kernel uevent (udev's "libudev" messages
 * included), so that a bad message is dropped rather than half understood. */
int monitor_parse_uevent(const char *buf, size_t len, UEvent *ret);

/* path is prefix or lies below it ("/sys/a/b" is below "/sys/a", "/sys/ab" is not). */
bool monitor_path_is_under(const char *path, const char *prefix);
