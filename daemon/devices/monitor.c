/* Enumeration and hotplug of cameras and microphones: sd-device (or, without udevd, the
 * kernel's uevents) feeding the V4L2 and ALSA backends and the registry. */
#include "monitor.h"

#include <linux/netlink.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <systemd/sd-device.h>

#include "alsa.h"
#include "config.h"
#include "log.h"
#include "udev-util.h"
#include "v4l2.h"

/* A device another program holds when we probe it is tried again this often. */
#define RETRY_BUSY_USEC (5 * 1000000ULL)
/* A node probed straight on the kernel's add event can be a step ahead of its driver (the
 * V4L2 core marks a node usable only after announcing it): tried again this often, this
 * many times. */
#define RETRY_EARLY_USEC (200 * 1000ULL)
#define RETRY_EARLY_TRIES 15
#define PENDING_MAX 64
#define UEVENT_BUFFER_SIZE (16 * 1024)
#define UEVENTS_PER_WAKEUP 64

typedef struct Pending {
        char *syspath;
        uint64_t next_usec;
        unsigned tries; /* early retries left; busy devices are retried for as long as they exist */
        bool busy;
} Pending;

struct DeviceMonitor {
        DeviceRegistry *registry;
        sd_event *event;
        unsigned backends;
        bool udev;

        sd_device_monitor *udev_monitor;
        int kernel_fd;
        sd_event_source *kernel_source;

        Pending *pending;
        size_t n_pending;
        sd_event_source *retry_timer;
};

/* ---- pure parts ---- */

bool monitor_path_is_under(const char *path, const char *prefix) {
        const char *rest;

        if (!path || !prefix || !*prefix)
                return false;
        rest = startswith(path, prefix);
        return rest && (*rest == '\0' || *rest == '/' || prefix[strlen(prefix) - 1] == '/');
}

static bool devpath_is_safe(const char *p) {
        if (p[0] != '/')
                return false;
        for (const char *c = p; (c = strstr(c, "/..")); c += 3)
                if (c[3] == '/' || c[3] == '\0')
                        return false;
        return true;
}

int monitor_parse_uevent(const char *buf, size_t len, UEvent *ret) {
        UEvent u = {};
        const char *p, *end, *at;
        bool have_seqnum = false;

        if (!buf || !ret || len == 0 || buf[len - 1] != '\0')
                return -EBADMSG;
        end = buf + len;

        /* The header "ACTION@DEVPATH"; udev's own messages start with "libudev" instead. */
        at = strchr(buf, '@');
        if (!at || at == buf)
                return -EBADMSG;

        for (p = buf + strlen(buf) + 1; p < end; p += strlen(p) + 1) {
                const char *v;

                if ((v = startswith(p, "ACTION=")))
                        u.action = v;
                else if ((v = startswith(p, "DEVPATH=")))
                        u.devpath = v;
                else if ((v = startswith(p, "SUBSYSTEM=")))
                        u.subsystem = v;
                else if ((v = startswith(p, "DEVNAME=")))
                        u.devname = v;
                else if ((v = startswith(p, "SEQNUM="))) {
                        if (safe_atou64(v, &u.seqnum) < 0)
                                return -EBADMSG;
                        have_seqnum = true;
                }
        }

        if (isempty(u.action) || isempty(u.devpath) || isempty(u.subsystem) || !have_seqnum)
                return -EBADMSG;
        /* The header must agree with the body, and the path must stay inside /sys. */
        if ((size_t) (at - buf) != strlen(u.action) || strncmp(buf, u.action, strlen(u.action)) != 0 ||
            !streq(at + 1, u.devpath))
                return -EBADMSG;
        if (!devpath_is_safe(u.devpath))
                return -EBADMSG;
        if (u.devname && isempty(u.devname))
                u.devname = NULL;

        *ret = u;
        return 0;
}

/* ---- the registry side ---- */

static bool is_real_backend(const Device *d) {
        return streq(d->backend, V4L2_BACKEND) || streq(d->backend, ALSA_BACKEND);
}

size_t device_monitor_count(DeviceMonitor *m, DeviceKind kind) {
        size_t n = 0;

        if (!m)
                return 0;
        for (size_t i = 0; i < device_registry_count(m->registry); i++) {
                Device *d = device_registry_get(m->registry, i);

                if (is_real_backend(d) && d->kind == kind)
                        n++;
        }
        return n;
}

static bool kind_has_default(DeviceMonitor *m, DeviceKind kind) {
        for (size_t i = 0; i < device_registry_count(m->registry); i++) {
                Device *d = device_registry_get(m->registry, i);

                if (d->kind == kind && d->is_default)
                        return true;
        }
        return false;
}

/* After a default went away: the next real device of its kind takes over. */
static void promote_default(DeviceMonitor *m, DeviceKind kind) {
        if (kind_has_default(m, kind))
                return;
        for (size_t i = 0; i < device_registry_count(m->registry); i++) {
                Device *d = device_registry_get(m->registry, i);

                if (d->kind == kind && is_real_backend(d)) {
                        d->is_default = true;
                        log_debug("%s is now the default %s.", d->label, device_kind_to_string(kind));
                        return;
                }
        }
}

static Pending *pending_find(DeviceMonitor *m, const char *syspath) {
        for (size_t i = 0; i < m->n_pending; i++)
                if (streq(m->pending[i].syspath, syspath))
                        return m->pending + i;
        return NULL;
}

static void pending_drop_at(DeviceMonitor *m, size_t i) {
        free(m->pending[i].syspath);
        memmove(m->pending + i, m->pending + i + 1, (m->n_pending - i - 1) * sizeof(Pending));
        m->n_pending--;
}

static void pending_drop_under(DeviceMonitor *m, const char *syspath) {
        for (size_t i = m->n_pending; i > 0; i--)
                if (monitor_path_is_under(m->pending[i - 1].syspath, syspath))
                        pending_drop_at(m, i - 1);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata);

static void arm_retry_timer(DeviceMonitor *m) {
        uint64_t next = UINT64_MAX;
        int r;

        for (size_t i = 0; i < m->n_pending; i++)
                next = MIN(next, m->pending[i].next_usec);
        if (next == UINT64_MAX) {
                if (m->retry_timer)
                        (void) sd_event_source_set_enabled(m->retry_timer, SD_EVENT_OFF);
                return;
        }
        if (!m->retry_timer) {
                r = sd_event_add_time(m->event, &m->retry_timer, CLOCK_MONOTONIC, next, 10 * 1000, on_retry, m);
                if (r < 0) {
                        log_warning_errno(r, "Failed to schedule probing devices again: %m");
                        return;
                }
                (void) sd_event_source_set_description(m->retry_timer, "device-probe-retry");
        } else
                (void) sd_event_source_set_time(m->retry_timer, next);
        (void) sd_event_source_set_enabled(m->retry_timer, SD_EVENT_ONESHOT);
}

static void pending_add(DeviceMonitor *m, const char *syspath, bool busy) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        Pending *p = pending_find(m, syspath), *grown;

        if (p) {
                if (busy) {
                        p->busy = true;
                        p->next_usec = now + RETRY_BUSY_USEC;
                } else if (p->tries == 0) {
                        /* Out of early retries: it stays as it is, unplugged and plugged in
                         * again it gets a fresh start. */
                        pending_drop_at(m, (size_t) (p - m->pending));
                        return;
                } else {
                        p->tries--;
                        p->next_usec = now + RETRY_EARLY_USEC;
                }
                return;
        }
        if (m->n_pending >= PENDING_MAX) {
                log_warning("Too many devices to probe again, not retrying %s.", syspath);
                return;
        }
        grown = reallocarray(m->pending, m->n_pending + 1, sizeof(Pending));
        if (!grown)
                return (void) log_oom();
        m->pending = grown;
        p = m->pending + m->n_pending;
        *p = (Pending) {
                .syspath = strdup(syspath),
                .next_usec = now + (busy ? RETRY_BUSY_USEC : RETRY_EARLY_USEC),
                .tries = RETRY_EARLY_TRIES,
                .busy = busy,
        };
        if (!p->syspath)
                return (void) log_oom();
        m->n_pending++;
}

typedef int (*probe_t)(sd_device *dev, Device **ret);

/* What a node says while its driver is still registering it (or the card its control). */
static bool error_is_transient(int r) {
        return r == -ENODEV || r == -ENOENT || r == -EAGAIN;
}

/* Probe one node and add what it is. early: the node was just announced by the kernel, an
 * error that says "not there (yet)" is worth another try. */
static void probe_and_add(DeviceMonitor *m, sd_device *dev, const char *backend, probe_t probe, bool early) {
        _cleanup_(device_unrefp) Device *d = NULL;
        const char *syspath;
        Pending *p;
        int r;

        if (sd_device_get_syspath(dev, &syspath) < 0)
                return;
        p = pending_find(m, syspath);
        if (device_registry_find(m->registry, backend, syspath)) {
                /* Seen already: enumeration and an add event, or a change. */
                if (p)
                        pending_drop_at(m, (size_t) (p - m->pending));
                goto finish;
        }

        r = probe(dev, &d);
        if (r == -EBUSY) {
                if (!p || !p->busy)
                        log_info("%s is held by another program; trying again every %llu s.", syspath,
                                 (unsigned long long) (RETRY_BUSY_USEC / 1000000));
                pending_add(m, syspath, true);
                goto finish;
        }
        if (error_is_transient(r) && (early || (p && !p->busy))) {
                log_debug_errno(r, "%s is not ready yet (%m), trying again.", syspath);
                pending_add(m, syspath, false);
                goto finish;
        }
        if (p)
                pending_drop_at(m, (size_t) (p - m->pending));
        if (r == -EAGAIN) {
                log_debug("%s waits for its card's control device.", syspath);
                goto finish;
        }
        if (r == -EOPNOTSUPP) {
                log_debug("%s is not a device we use.", syspath);
                goto finish;
        }
        if (r < 0) {
                log_warning_errno(r, "Failed to probe %s, ignored: %m", syspath);
                goto finish;
        }

        /* Set before it is added, so that whoever hears of it sees it as it stays. */
        if (!kind_has_default(m, d->kind))
                d->is_default = true;
        r = device_registry_add(m->registry, d);
        if (r < 0) {
                log_warning_errno(r, "Failed to add %s: %m", syspath);
                goto finish;
        }
        log_info("Found %s %s \"%s\" (%s).", device_kind_to_permission(d->kind), d->node,
                 d->label, d->hardware_id);

finish:
        arm_retry_timer(m);
}

/* The card's capture PCMs, once its control device is there (it registers after them). */
static void scan_card(DeviceMonitor *m, sd_device *some_card_device, bool early) {
        _cleanup_(sd_device_enumerator_unrefp) sd_device_enumerator *e = NULL;
        sd_device *card = some_card_device;
        const char *sysname;

        if (sd_device_get_sysname(card, &sysname) >= 0 && startswith(sysname, "controlC") &&
            sd_device_get_parent(card, &card) < 0)
                return;

        if (sd_device_enumerator_new(&e) < 0 ||
            sd_device_enumerator_add_match_subsystem(e, "sound", true) < 0 ||
            sd_device_enumerator_add_match_sysname(e, "pcmC*D*c") < 0 ||
            sd_device_enumerator_add_match_parent(e, card) < 0)
                return (void) log_oom();
        if (!m->udev)
                (void) sd_device_enumerator_allow_uninitialized(e);
        for (sd_device *d = sd_device_enumerator_get_device_first(e); d; d = sd_device_enumerator_get_device_next(e))
                probe_and_add(m, d, ALSA_BACKEND, alsa_device_new, early);
}

static void handle_add(DeviceMonitor *m, sd_device *dev, bool early) {
        const char *subsystem, *sysname;

        if (sd_device_get_subsystem(dev, &subsystem) < 0 || sd_device_get_sysname(dev, &sysname) < 0)
                return;

        if (streq(subsystem, "video4linux") && (m->backends & BACKEND_V4L2))
                probe_and_add(m, dev, V4L2_BACKEND, v4l2_device_new, early);
        else if (streq(subsystem, "sound") && (m->backends & BACKEND_ALSA)) {
                if (alsa_parse_pcm_sysname(sysname, NULL, NULL, NULL) >= 0)
                        probe_and_add(m, dev, ALSA_BACKEND, alsa_device_new, early);
                else if (alsa_parse_card_sysname(sysname, NULL) >= 0)
                        /* controlC<N> came (it is the last of a card), or udev says the card is
                         * ready (a change event on card<N>): its PCMs can be opened now. */
                        scan_card(m, dev, early);
        }
}

static void handle_remove(DeviceMonitor *m, const char *syspath) {
        bool removed[_DEVICE_KIND_MAX] = {};
        bool again = true;

        pending_drop_under(m, syspath);
        arm_retry_timer(m);

        /* A card or USB device going takes everything below it; the registry changes with
         * each removal, so look again from the start each time. */
        while (again) {
                again = false;
                for (size_t i = 0; i < device_registry_count(m->registry); i++) {
                        Device *d = device_registry_get(m->registry, i);

                        if (!is_real_backend(d) || !monitor_path_is_under(d->name, syspath))
                                continue;
                        log_info("Lost %s %s \"%s\".", device_kind_to_permission(d->kind),
                                 d->node, d->label);
                        if (d->is_default)
                                removed[d->kind] = true;
                        device_registry_remove(m->registry, d);
                        again = true;
                        break;
                }
        }
        for (unsigned k = 0; k < _DEVICE_KIND_MAX; k++)
                if (removed[k])
                        promote_default(m, (DeviceKind) k);
}

/* Everything present now; with udevd only what it has finished with (the rest comes as
 * events), without it everything sysfs has. */
static void scan_all(DeviceMonitor *m) {
        _cleanup_(sd_device_enumerator_unrefp) sd_device_enumerator *e = NULL;

        if (sd_device_enumerator_new(&e) < 0)
                return (void) log_oom();
        if ((m->backends & BACKEND_V4L2) && sd_device_enumerator_add_match_subsystem(e, "video4linux", true) < 0)
                return (void) log_oom();
        if ((m->backends & BACKEND_ALSA) && sd_device_enumerator_add_match_subsystem(e, "sound", true) < 0)
                return (void) log_oom();
        if (!m->udev)
                (void) sd_device_enumerator_allow_uninitialized(e);

        for (sd_device *d = sd_device_enumerator_get_device_first(e); d; d = sd_device_enumerator_get_device_next(e)) {
                const char *sysname;

                /* PCMs come by themselves; the card and control would only scan them again. */
                if (sd_device_get_sysname(d, &sysname) >= 0 && alsa_parse_card_sysname(sysname, NULL) >= 0)
                        continue;
                handle_add(m, d, false);
        }
}

/* After lost events: drop what is gone, add what is new. */
static void resync(DeviceMonitor *m) {
        bool again = true;

        log_warning("Missed device events, scanning all devices again.");
        while (again) {
                again = false;
                for (size_t i = 0; i < device_registry_count(m->registry); i++) {
                        Device *d = device_registry_get(m->registry, i);

                        if (is_real_backend(d) && access(d->name, F_OK) < 0) {
                                _cleanup_free_ char *gone = strdup(d->name);

                                if (!gone)
                                        return (void) log_oom();
                                handle_remove(m, gone);
                                again = true;
                                break;
                        }
                }
        }
        scan_all(m);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        DeviceMonitor *m = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        _cleanup_strv_free_ char **due = NULL;

        /* Collect first: probing changes the list. Each is put off by the long delay first, so
         * that one the probe does not come back to (it is no longer a node of ours) cannot
         * make the timer spin; the probe sets the delay it needs. */
        for (size_t i = 0; i < m->n_pending; i++) {
                if (m->pending[i].next_usec > now)
                        continue;
                if (strv_extend(&due, m->pending[i].syspath) < 0)
                        return log_oom();
                m->pending[i].next_usec = now + RETRY_BUSY_USEC;
        }

        for (char **p = due; p && *p; p++) {
                _cleanup_(sd_device_unrefp) sd_device *dev = NULL;

                if (sd_device_new_from_syspath(&dev, *p) < 0) {
                        /* Gone without us hearing of it. */
                        Pending *gone = pending_find(m, *p);

                        if (gone)
                                pending_drop_at(m, (size_t) (gone - m->pending));
                        continue;
                }
                handle_add(m, dev, false);
        }
        arm_retry_timer(m);
        return 0;
}

static int on_udev_event(sd_device_monitor *monitor, sd_device *dev, void *userdata) {
        DeviceMonitor *m = userdata;
        sd_device_action_t action;
        const char *syspath;

        if (sd_device_get_action(dev, &action) < 0 || sd_device_get_syspath(dev, &syspath) < 0)
                return 0;
        if (action == SD_DEVICE_REMOVE)
                handle_remove(m, syspath);
        else if (action == SD_DEVICE_ADD || action == SD_DEVICE_CHANGE)
                /* udev has run its rules: the node is ready, no early retries needed. */
                handle_add(m, dev, false);
        return 0;
}

static void handle_kernel_uevent(DeviceMonitor *m, const UEvent *u) {
        _cleanup_(sd_device_unrefp) sd_device *dev = NULL;
        _cleanup_free_ char *syspath = NULL;
        int r;

        if (!((streq(u->subsystem, "video4linux") && (m->backends & BACKEND_V4L2)) ||
              (streq(u->subsystem, "sound") && (m->backends & BACKEND_ALSA))))
                return;
        if (asprintf(&syspath, "/sys%s", u->devpath) < 0)
                return (void) log_oom();

        if (streq(u->action, "remove")) {
                handle_remove(m, syspath);
                return;
        }
        if (!streq(u->action, "add") && !streq(u->action, "change"))
                return;
        r = sd_device_new_from_syspath(&dev, syspath);
        if (r < 0) {
                log_debug_errno(r, "%s vanished before it could be probed: %m", syspath);
                return;
        }
        handle_add(m, dev, streq(u->action, "add"));
}

static int on_kernel_uevent(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        DeviceMonitor *m = userdata;

        for (unsigned i = 0; i < UEVENTS_PER_WAKEUP; i++) {
                _cleanup_free_ char *buf = malloc(UEVENT_BUFFER_SIZE);
                union {
                        struct cmsghdr header;
                        uint8_t space[CMSG_SPACE(sizeof(struct ucred))];
                } control = {};
                struct sockaddr_nl sender = {};
                struct iovec iov = { .iov_base = buf, .iov_len = UEVENT_BUFFER_SIZE };
                struct msghdr msg = {
                        .msg_name = &sender,
                        .msg_namelen = sizeof(sender),
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = &control,
                        .msg_controllen = sizeof(control),
                };
                struct ucred *cred = NULL;
                UEvent u;
                ssize_t n;

                if (!buf)
                        return log_oom();
                n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 0;
                        if (errno == EINTR)
                                continue;
                        if (errno == ENOBUFS) {
                                resync(m);
                                continue;
                        }
                        log_warning_errno(errno, "Failed to read a kernel uevent: %m");
                        return 0;
                }
                if (msg.msg_flags & MSG_TRUNC)
                        continue;

                /* Only the kernel (port 0, root) speaks on this group; anything else is a
                 * forgery from a process in our network namespace. */
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
                            c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
                                cred = (struct ucred *) CMSG_DATA(c);
                if (sender.nl_pid != 0 || !cred || cred->uid != 0)
                        continue;

                if (monitor_parse_uevent(buf, (size_t) n, &u) < 0)
                        continue;
                handle_kernel_uevent(m, &u);
        }
        return 0;
}

static int start_kernel_monitor(DeviceMonitor *m) {
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 /* the kernel's group */ };
        int one = 1, size = 1024 * 1024, r;

        m->kernel_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
        if (m->kernel_fd < 0)
                return log_error_errno(errno, "Failed to open the kernel uevent socket: %m");
        if (setsockopt(m->kernel_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
                return log_error_errno(errno, "Failed to ask for uevent credentials: %m");
        /* Room for a burst (a USB hub with cameras on it); beyond what an unprivileged
         * process may ask for only when we are root. */
        if (setsockopt(m->kernel_fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void) setsockopt(m->kernel_fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        if (bind(m->kernel_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return log_error_errno(errno, "Failed to listen to kernel uevents: %m");

        r = sd_event_add_io(m->event, &m->kernel_source, m->kernel_fd, EPOLLIN, on_kernel_uevent, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch kernel uevents: %m");
        (void) sd_event_source_set_description(m->kernel_source, "kernel-uevents");
        return 0;
}

static int start_udev_monitor(DeviceMonitor *m) {
        int r;

        r = sd_device_monitor_new(&m->udev_monitor);
        if (r < 0)
                return log_error_errno(r, "Failed to create the device monitor: %m");
        if ((m->backends & BACKEND_V4L2) &&
            (r = sd_device_monitor_filter_add_match_subsystem_devtype(m->udev_monitor, "video4linux", NULL)) < 0)
                return log_error_errno(r, "Failed to filter device events: %m");
        if ((m->backends & BACKEND_ALSA) &&
            (r = sd_device_monitor_filter_add_match_subsystem_devtype(m->udev_monitor, "sound", NULL)) < 0)
                return log_error_errno(r, "Failed to filter device events: %m");
        r = sd_device_monitor_attach_event(m->udev_monitor, m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the device monitor: %m");
        (void) sd_device_monitor_set_description(m->udev_monitor, "device-monitor");
        r = sd_device_monitor_start(m->udev_monitor, on_udev_event, m);
        if (r < 0)
                return log_error_errno(r, "Failed to start the device monitor: %m");
        return 0;
}

int device_monitor_start(DeviceRegistry *r, unsigned backends, DeviceMonitor **ret) {
        _cleanup_(device_monitor_freep) DeviceMonitor *m = NULL;
        sd_event *event = device_registry_get_event(r);
        int k;

        if (!r || !event || !ret)
                return -EINVAL;

        m = calloc(1, sizeof(DeviceMonitor));
        if (!m)
                return -ENOMEM;
        m->registry = r;
        m->event = sd_event_ref(event);
        m->backends = backends & (BACKEND_V4L2 | BACKEND_ALSA);
        m->kernel_fd = -1;
        m->udev = udev_is_running();

        if (m->backends == 0) {
                *ret = TAKE_PTR(m);
                return 0;
        }

        k = m->udev ? start_udev_monitor(m) : start_kernel_monitor(m);
        if (k < 0)
                return k;
        if (m->udev)
                log_debug("Following hotplug through udev.");
        else
                log_info("Following hotplug through kernel uevents: udevd is not running.");

        scan_all(m);
        *ret = TAKE_PTR(m);
        return 0;
}

DeviceMonitor *device_monitor_free(DeviceMonitor *m) {
        if (!m)
                return NULL;
        sd_device_monitor_unref(m->udev_monitor);
        sd_event_source_disable_unref(m->kernel_source);
        safe_close(m->kernel_fd);
        sd_event_source_disable_unref(m->retry_timer);
        for (size_t i = 0; i < m->n_pending; i++)
                free(m->pending[i].syspath);
        free(m->pending);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}
