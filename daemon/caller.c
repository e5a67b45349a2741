/* Caller identity: credentials from the bus driver (asynchronously), a pidfd that pins the
 * process, and the app id read from /proc (Flatpak, Snap, systemd app unit, host executable). */
#include "caller.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "app-id-parse.h"
#include "log.h"

/* Bounds on what we read from /proc: far above real sizes. */
#define CGROUP_FILE_MAX (64U * 1024U)

static const char *const app_kind_table[_CALLER_APP_KIND_MAX] = {
        [CALLER_APP_HOST] = "host",
        [CALLER_APP_FLATPAK] = "flatpak",
        [CALLER_APP_SNAP] = "snap",
        [CALLER_APP_SCOPE] = "app-scope",
};

const char *caller_app_kind_to_string(CallerAppKind k) {
        if (k < 0 || k >= _CALLER_APP_KIND_MAX)
                return NULL;
        return app_kind_table[k];
}

int caller_new(Caller **ret) {
        Caller *c;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->uid = UID_INVALID;
        c->pidfd = -1;
        c->app_kind = _CALLER_APP_KIND_INVALID;
        *ret = c;
        return 0;
}

Caller *caller_ref(Caller *c) {
        if (c)
                c->n_ref++;
        return c;
}

Caller *caller_unref(Caller *c) {
        if (!c)
                return NULL;
        if (--c->n_ref > 0)
                return NULL;
        safe_close(c->pidfd);
        free(c->unique_name);
        free(c->app_id);
        free(c->broker);
        free(c);
        return NULL;
}

/* The kind of app an id names, from its form alone (see caller.h). A reverse-DNS id may be a
 * Flatpak or an app scope: counted as sandboxed, the stricter of the two. */
static CallerAppKind app_kind_of_id(const char *app_id) {
        if (startswith(app_id, "host:"))
                return CALLER_APP_HOST;
        if (startswith(app_id, "snap."))
                return CALLER_APP_SNAP;
        return CALLER_APP_FLATPAK;
}

int caller_new_brokered(const Caller *broker, const char *app_id, Caller **ret) {
        _cleanup_(caller_unrefp) Caller *c = NULL;
        int r;

        if (!broker || !broker->app_id || !app_id_is_valid(app_id))
                return -EINVAL;
        r = caller_new(&c);
        if (r < 0)
                return r;
        c->uid = broker->uid;
        c->pid = broker->pid;
        c->start_time = broker->start_time;
        if (broker->pidfd >= 0) {
                c->pidfd = fcntl(broker->pidfd, F_DUPFD_CLOEXEC, 3);
                if (c->pidfd < 0)
                        return -errno;
        }
        c->app_kind = app_kind_of_id(app_id);
        c->unique_name = strdup(broker->unique_name);
        c->app_id = strdup(app_id);
        c->broker = strdup(broker->app_id);
        if (!c->unique_name || !c->app_id || !c->broker)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- the process ---- */

static int pidfd_open_checked(pid_t pid) {
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);

        return fd < 0 ? -errno : fd;
}

/* The start time of a process (field 22 of /proc/<pid>/stat, in clock ticks since boot), which
 * with the pid names one process for the machine's uptime. 0 when it cannot be read. */
static uint64_t process_start_time(pid_t pid) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;
        unsigned long long start = 0;
        char path[64];
        const char *p;

        snprintf(path, sizeof path, "/proc/%i/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read_full_fd(fd, 4096, &text, NULL) < 0)
                return 0;
        /* The command name may hold spaces and parentheses: count fields after the last ')'. */
        p = strrchr(text, ')');
        if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                         &start) != 1)
                return 0;
        return start;
}

/* Whether the process of pid was already running at CLOCK_BOOTTIME connected_by. The start time
 * in /proc/<pid>/stat counts on the same clock, in ticks; read after the pid was pinned, and
 * trusted once caller_identify_pid() found the pinned process still alive. */
static int started_by(const Caller *c, uint64_t connected_by) {
        uint64_t start = c->start_time ?: process_start_time(c->pid);
        long hz = sysconf(_SC_CLK_TCK);

        if (connected_by == CALLER_CONNECTED_ANY)
                return 0;
        if (start == 0 || hz <= 0)
                return -ESRCH;
        if (start > connected_by * (uint64_t) hz / 1000000u)
                return log_warning_errno(ESRCH, "pid %i started after the connection %s appeared: its pid was reused, "
                                         "refusing the connection.", (int) c->pid, c->unique_name);
        return 0;
}

bool caller_is_alive(const Caller *c) {
        struct pollfd p;

        if (!c)
                return false;
        if (c->pidfd < 0) {
                /* No pidfd (a kernel or tool without pidfd_open): the pid and its start time. */
                if (c->pid <= 0 || c->start_time == 0)
                        return false;
                if (kill(c->pid, 0) < 0 && errno != EPERM)
                        return false;
                return process_start_time(c->pid) == c->start_time;
        }
        /* A pidfd polls readable once its process has exited, zombie or not. */
        p = (struct pollfd) { .fd = c->pidfd, .events = POLLIN };
        if (poll(&p, 1, 0) != 0)
                return false;
        /* Signal 0 checks existence; EPERM (another user's process) still means it exists. */
        if (syscall(SYS_pidfd_send_signal, c->pidfd, 0, NULL, 0) < 0 && errno != EPERM)
                return false;
        return true;
}

/* The pid a pidfd refers to, from /proc/self/fdinfo: -1 once it exited, 0 if it lives in a pid
 * namespace we cannot see. */
static int pidfd_get_pid(int pidfd, pid_t *ret) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;
        char path[64];
        const char *p;
        int r;

        snprintf(path, sizeof path, "/proc/self/fdinfo/%i", pidfd);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = read_full_fd(fd, 4096, &text, NULL);
        if (r < 0)
                return r;
        p = strstr(text, "\nPid:");
        if (!p)
                return -ENOTTY; /* not a pidfd */
        *ret = (pid_t) strtol(p + 5, NULL, 10);
        return 0;
}

static int read_exe(int proc_fd, char **ret) {
        char buf[PATH_MAX + 1];
        ssize_t n;

        n = readlinkat(proc_fd, "exe", buf, sizeof buf);
        if (n < 0)
                return -errno;
        if ((size_t) n >= sizeof buf)
                return -ENAMETOOLONG;
        buf[n] = 0;
        return app_id_from_exe_link(buf, ret);
}

int caller_identify_pid(Caller *c) {
        _cleanup_close_ int proc_fd = -1, root_fd = -1, cgroup_fd = -1;
        _cleanup_free_ char *id = NULL, *cgroup = NULL;
        CallerAppKind kind;
        char path[64];
        int r;

        if (!c || c->pid <= 0 || (c->pidfd < 0 && c->start_time == 0))
                return -EINVAL;

        snprintf(path, sizeof path, "/proc/%i", (int) c->pid);
        proc_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (proc_fd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        /* The /proc directory stays bound to the process that had the pid when it was opened.
         * If the pidfd's process still runs now, that is the same process. */
        if (!caller_is_alive(c))
                return -ESRCH;

        root_fd = openat(proc_fd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0) {
                if (errno == ENOENT)
                        return -ESRCH; /* it exited meanwhile: nothing to report */
                return log_warning_errno(errno, "Cannot open the root of pid %i: %m", (int) c->pid);
        }

        r = flatpak_app_id_at(root_fd, &id);
        if (r > 0)
                kind = CALLER_APP_FLATPAK;
        else if (r == -ENOMEM)
                return r;
        else if (r < 0)
                return log_warning_errno(EACCES,
                                         "pid %i has an unusable /.flatpak-info, refusing it.",
                                         (int) c->pid);
        else {
                cgroup_fd = openat(proc_fd, "cgroup", O_RDONLY | O_CLOEXEC);
                if (cgroup_fd < 0)
                        return log_warning_errno(errno, "Cannot open the cgroup of pid %i: %m",
                                                 (int) c->pid);
                r = read_full_fd(cgroup_fd, CGROUP_FILE_MAX, &cgroup, NULL);
                if (r < 0)
                        return log_warning_errno(r, "Cannot read the cgroup of pid %i: %m",
                                                 (int) c->pid);
                r = app_id_from_cgroup(cgroup, &id);
                if (r > 0)
                        kind = startswith(id, "snap.") ? CALLER_APP_SNAP : CALLER_APP_SCOPE;
                else if (r < 0)
                        return log_warning_errno(r, "Cannot parse the cgroup of pid %i: %m",
                                                 (int) c->pid);
                else {
                        r = read_exe(proc_fd, &id);
                        if (r == -ENOENT)
                                return -ESRCH;
                        if (r < 0)
                                return log_warning_errno(r, "Cannot read the executable of pid %i: %m",
                                                         (int) c->pid);
                        kind = CALLER_APP_HOST;
                }
        }

        /* Everything above was read through proc_fd; make sure it was the pidfd's process all
         * along and not one that inherited the pid in between. */
        if (!caller_is_alive(c))
                return -ESRCH;

        free(c->app_id);
        c->app_id = TAKE_PTR(id);
        c->app_kind = kind;
        return 0;
}

/* ---- the bus ---- */

static bool unique_name_is_valid(const char *s) {
        size_t len;

        if (!s || s[0] != ':')
                return false;
        len = strlen(s);
        if (len < 2 || len > 255)
                return false;
        for (const char *p = s + 1; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("._-", *p))
                        return false;
        return true;
}

static int read_u32_variant(sd_bus_message *m, uint32_t *ret) {
        int r;

        r = sd_bus_message_enter_container(m, 'v', "u");
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "u", ret);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* What a GetConnectionCredentials reply says. */
typedef struct Credentials {
        bool have_uid, have_pid;
        uint32_t uid, pid;
        int pidfd; /* ProcessFD, our own copy; -1 without */
} Credentials;

static int read_credentials(sd_bus_message *reply, Credentials *cr) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return -EBADMSG;
        for (;;) {
                const char *key;

                r = sd_bus_message_enter_container(reply, 'e', "sv");
                if (r < 0)
                        return -EBADMSG;
                if (r == 0)
                        break;
                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return -EBADMSG;

                if (streq(key, "UnixUserID")) {
                        if (cr->have_uid || read_u32_variant(reply, &cr->uid) < 0)
                                return -EBADMSG;
                        cr->have_uid = true;
                } else if (streq(key, "ProcessID")) {
                        if (cr->have_pid || read_u32_variant(reply, &cr->pid) < 0)
                                return -EBADMSG;
                        cr->have_pid = true;
                } else if (streq(key, "ProcessFD")) {
                        int fd;

                        if (cr->pidfd >= 0 || sd_bus_message_enter_container(reply, 'v', "h") < 0 ||
                            sd_bus_message_read(reply, "h", &fd) < 0 || sd_bus_message_exit_container(reply) < 0)
                                return -EBADMSG;
                        /* The message owns its fd; keep our own. */
                        cr->pidfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                        if (cr->pidfd < 0)
                                return -errno;
                } else if (sd_bus_message_skip(reply, "v") < 0)
                        return -EBADMSG;
                if (sd_bus_message_exit_container(reply) < 0)
                        return -EBADMSG;
        }
        return sd_bus_message_exit_container(reply) < 0 ? -EBADMSG : 0;
}

/* Pin the process the credentials name: the bus's ProcessFD, else a pidfd of the pid (or, without
 * pidfd_open, its start time), refusing a process that started after connected_by. */
static int pin_process(Caller *c, Credentials *cr, uint64_t connected_by) {
        int r;

        if (cr->pidfd >= 0) {
                pid_t fd_pid = -1;

                r = pidfd_get_pid(cr->pidfd, &fd_pid);
                if (r < 0)
                        return -EBADMSG;
                if (fd_pid < 0)
                        return -ESRCH; /* gone already */
                if (cr->have_pid && fd_pid > 0 && fd_pid != (pid_t) cr->pid)
                        return -EBADMSG;
                if (!cr->have_pid && fd_pid == 0)
                        return -ENODATA; /* a pid we cannot see: no /proc to read */
                c->pid = cr->have_pid ? (pid_t) cr->pid : fd_pid;
                c->pidfd = TAKE_FD(cr->pidfd);
                return 0;
        }

        /* dbus-daemon gives only the pid: pin it now. What exits between the bus's reply and this
         * line and has its pid reused is one window left; the pidfd closes every later one. */
        c->pid = (pid_t) cr->pid;
        r = pidfd_open_checked(c->pid);
        if (r == -ENOSYS) {
                /* Kernels before 5.3, and valgrind, have no pidfd_open: pin the process by its
                 * start time instead, checked again after every use (polkit's way). */
                c->start_time = process_start_time(c->pid);
                if (c->start_time == 0)
                        return -ESRCH;
        } else if (r == -ESRCH)
                return r;
        else if (r < 0)
                return log_warning_errno(r, "pidfd_open(%i) failed: %m", (int) c->pid);
        else
                c->pidfd = r;
        /* The other: the process that connected handed the socket on and exited, and its pid
         * went to a process that came later. */
        return started_by(c, connected_by);
}

int caller_new_from_credentials(sd_bus_message *reply, const char *unique_name, uint64_t connected_by,
                                Caller **ret) {
        _cleanup_(caller_unrefp) Caller *c = NULL;
        Credentials cr = { .uid = UINT32_MAX, .pidfd = -1 };
        int r;

        if (!reply || !ret || !unique_name_is_valid(unique_name))
                return -EINVAL;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);
                int err = sd_bus_error_get_errno(e);

                log_debug("GetConnectionCredentials(%s) failed: %s", unique_name,
                          e && e->message ? e->message : "unknown error");
                return err > 0 ? -err : -EIO;
        }

        r = caller_new(&c);
        if (r < 0)
                return r;
        c->unique_name = strdup(unique_name);
        if (!c->unique_name)
                return -ENOMEM;

        r = read_credentials(reply, &cr);
        if (r >= 0 && (!cr.have_uid || (!cr.have_pid && cr.pidfd < 0)))
                r = log_warning_errno(ENODATA, "The bus gave no uid or pid for %s.", unique_name);
        if (r >= 0 && (cr.uid == UINT32_MAX || (cr.have_pid && cr.pid == 0) || cr.pid > INT32_MAX))
                r = -EBADMSG;
        if (r >= 0) {
                c->uid = (uid_t) cr.uid;
                r = pin_process(c, &cr, connected_by);
        }
        safe_close(cr.pidfd);
        if (r < 0)
                return r;

        r = caller_identify_pid(c);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

typedef struct CallerQuery {
        char *unique_name;
        uint64_t connected_by;
        caller_callback_t callback;
        void *userdata;
} CallerQuery;

static void caller_query_free(void *p) {
        CallerQuery *q = p;

        if (!q)
                return;
        free(q->unique_name);
        free(q);
}

static int on_credentials(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(caller_unrefp) Caller *c = NULL;
        CallerQuery *q = userdata;
        int r;

        r = caller_new_from_credentials(reply, q->unique_name, q->connected_by, &c);
        if (r < 0) {
                log_debug_errno(r, "Cannot identify %s: %m", q->unique_name);
                q->callback(r, NULL, q->userdata);
                return 0;
        }
        log_debug("%s is uid %u, pid %i, app %s (%s).", c->unique_name, (unsigned) c->uid,
                  (int) c->pid, c->app_id, caller_app_kind_to_string(c->app_kind));
        q->callback(0, c, q->userdata);
        return 0;
}

int caller_query(sd_bus *bus, const char *unique_name, uint64_t connected_by, caller_callback_t cb,
                 void *userdata, sd_bus_slot **ret_slot) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        CallerQuery *q;
        int r;

        if (!bus || !cb || !unique_name_is_valid(unique_name))
                return -EINVAL;

        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        q->unique_name = strdup(unique_name);
        if (!q->unique_name) {
                caller_query_free(q);
                return -ENOMEM;
        }
        q->connected_by = connected_by;
        q->callback = cb;
        q->userdata = userdata;

        r = sd_bus_call_method_async(bus, &slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus", "GetConnectionCredentials",
                                     on_credentials, q, "s", unique_name);
        if (r < 0) {
                caller_query_free(q);
                return r;
        }
        /* The query context lives exactly as long as the slot, whoever ends up dropping it. */
        r = sd_bus_slot_set_destroy_callback(slot, caller_query_free);
        if (r < 0) {
                caller_query_free(q);
                return r;
        }

        if (ret_slot)
                *ret_slot = TAKE_PTR(slot);
        else {
                r = sd_bus_slot_set_floating(slot, 1);
                if (r < 0)
                        return r;
        }
        return 0;
}
