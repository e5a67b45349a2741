/* Stable identities and physical groups of real devices, from the udev database when udevd
 * runs and from the sysfs topology when it does not. */
#include "udev-util.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "util.h"

bool udev_is_running(void) {
        static const struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/udev/control" };
        _cleanup_close_ int fd = -1;

        /* The socket file outlives udevd (udevadm control --exit leaves it behind): only a
         * refused connection tells a dead one from a live one. Not being allowed to connect
         * (we are not root) says nothing, so the file's existence decides then. */
        if (access(sa.sun_path, F_OK) < 0)
                return false;
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return true;
        if (connect(fd, (const struct sockaddr *) &sa, sizeof(sa)) < 0)
                return errno != ECONNREFUSED && errno != ENOENT;
        return true;
}

const char *udev_device_first_property(sd_device *dev, const char *const *names) {
        for (const char *const *n = names; *n; n++) {
                const char *v;

                if (sd_device_get_property_value(dev, *n, &v) >= 0 && !isempty(v))
                        return v;
        }
        return NULL;
}

int udev_device_hardware_devpath(sd_device *dev, const char **ret) {
        const char *subsystem = NULL, *devpath;
        sd_device *p = dev;
        int r;

        if (!dev || !ret)
                return -EINVAL;

        (void) sd_device_get_subsystem(dev, &subsystem);
        /* The numbered node (video0, pcmC0D0c) and, for sound, the card sit in the device's own
         * subsystem; the hardware they belong to is the first ancestor outside it. */
        while (sd_device_get_parent(p, &p) >= 0) {
                const char *s = NULL;

                (void) sd_device_get_subsystem(p, &s);
                if (!streq_ptr(s, subsystem))
                        return sd_device_get_devpath(p, ret);
        }

        r = sd_device_get_devpath(dev, &devpath);
        if (r < 0)
                return r;
        *ret = devpath;
        return 0;
}

int udev_device_identity(sd_device *dev, char **ret) {
        const char *serial_short, *v, *devpath;
        int r;

        if (!dev || !ret)
                return -EINVAL;

        /* ID_SERIAL without a serial number is just vendor and model: two identical webcams
         * would collide, so then the port is the better identity. */
        if (sd_device_get_property_value(dev, "ID_SERIAL_SHORT", &serial_short) >= 0 && !isempty(serial_short) &&
            sd_device_get_property_value(dev, "ID_SERIAL", &v) >= 0 && !isempty(v))
                return (*ret = strdup(v)) ? 0 : -ENOMEM;
        if (sd_device_get_property_value(dev, "ID_PATH", &v) >= 0 && !isempty(v))
                return (*ret = strdup(v)) ? 0 : -ENOMEM;

        r = udev_device_hardware_devpath(dev, &devpath);
        if (r < 0)
                return r;
        return asprintf(ret, "sysfs:%s", devpath) < 0 ? -ENOMEM : 0;
}

int udev_device_group(sd_device *dev, char **ret) {
        const char *devpath, *id_path;
        sd_device *usb;
        int r;

        if (!dev || !ret)
                return -EINVAL;

        /* A webcam's camera and microphone are two USB interfaces of one USB device. */
        if (sd_device_get_parent_with_subsystem_devtype(dev, "usb", "usb_device", &usb) >= 0) {
                if (sd_device_get_property_value(usb, "ID_PATH", &id_path) >= 0 && !isempty(id_path))
                        return asprintf(ret, "usb:%s", id_path) < 0 ? -ENOMEM : 0;
                r = sd_device_get_devpath(usb, &devpath);
                if (r < 0)
                        return r;
                return asprintf(ret, "usb:sysfs:%s", devpath) < 0 ? -ENOMEM : 0;
        }

        r = udev_device_hardware_devpath(dev, &devpath);
        if (r < 0)
                return r;
        return asprintf(ret, "sysfs:%s", devpath) < 0 ? -ENOMEM : 0;
}

int udev_check_node_fd(int fd, dev_t devnum) {
        struct stat st;

        if (fd < 0)
                return -EBADF;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISCHR(st.st_mode) || st.st_rdev != devnum)
                return -ENXIO;
        return 0;
}

int udev_open_node(const char *node, dev_t devnum) {
        _cleanup_close_ int fd = -1;
        int r;

        if (isempty(node))
                return -EINVAL;

        /* O_NONBLOCK also keeps a FIFO put in the node's place from blocking the open. */
        fd = open(node, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        r = udev_check_node_fd(fd, devnum);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}
