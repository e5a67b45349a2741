/* What the real backends learn about a device from udev and sysfs: stable identities, the
 * physical device a node belongs to, labels, and whether udevd is there to ask at all. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-device.h>

/* udevd runs: /run/udev/control exists and takes connections. Without it there are no udev
 * events (and usually no database: no ID_PATH, no ID_SERIAL), so hotplug listens to the
 * kernel's uevents instead and identities fall back to sysfs paths. */
bool udev_is_running(void);

/* The stable identity of the hardware behind dev: udev's ID_SERIAL when the device has a real
 * serial number (ID_SERIAL_SHORT is set, so two identical webcams differ), else ID_PATH (the
 * port it is plugged into), else "sysfs:" and the devpath of the first ancestor of dev that
 * is not in dev's own subsystem (the hardware, not the numbered node). The properties are read
 * from dev itself: for a sound card that is the card device, for a camera the node. */
int udev_device_identity(sd_device *dev, char **ret);

/* The physical device dev belongs to, shared by a webcam's camera and microphone: the nearest
 * USB device above dev ("usb:" and its ID_PATH, or its devpath without a udev database), else
 * the hardware parent as above ("sysfs:" and its devpath). */
int udev_device_group(sd_device *dev, char **ret);

/* "/devices/platform/vivid.0" for the first ancestor of dev outside dev's subsystem (dev
 * itself if it has no such parent). */
int udev_device_hardware_devpath(sd_device *dev, const char **ret);

/* The first non-empty property of names (NULL-terminated), or NULL. */
const char *udev_device_first_property(sd_device *dev, const char *const *names);

/* Reliability 31: the node must be the character device udev reported, not a symlink, FIFO
 * or another device put in its place. udev_open_node() opens it O_RDWR with O_NOFOLLOW,
 * O_NONBLOCK and O_CLOEXEC and returns the fd, or -errno (-EBUSY stays -EBUSY, a symlink
 * gives -ELOOP); a file that is not that device is refused with -ENXIO.
 * udev_check_node_fd() applies the same check to an fd someone else opened (alsa-lib). */
int udev_open_node(const char *node, dev_t devnum);
int udev_check_node_fd(int fd, dev_t devnum);
