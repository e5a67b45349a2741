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

#include "ini.h"
#include "log.h"

/* Bounds on what we read from /proc and the sandbox: far above real sizes. */
#define CGROUP_FILE_MAX (64U * 1024U)
#define FLATPAK_INFO_MAX (64U * 1024U)
#define APP_ID_NAME_MAX 255U

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

/* ---- app id forms ---- */

static bool dotted_name_is_valid(const char *s, unsigned min_elements, bool flatpak_rules) {
        unsigned elements = 1;
        size_t len = 0;
        bool at_element_start = true, dash_seen = false;

        if (isempty(s) || strlen(s) > APP_ID_NAME_MAX)
                return false;
        for (const char *p = s; *p; p++, len++) {
                unsigned char c = (unsigned char) *p;

                if (c == '.') {
                        if (at_element_start)
                                return false; /* empty element */
                        /* Flatpak allows "-" only in the last element. */
                        if (flatpak_rules && dash_seen)
                                return false;
                        elements++;
                        at_element_start = true;
                        continue;
                }
                if (!isalnum(c) && c != '_' && c != '-')
                        return false;
                if (flatpak_rules && at_element_start && !isalpha(c) && c != '_')
                        return false;
                if (c == '-')
                        dash_seen = true;
                at_element_start = false;
        }
        if (at_element_start)
                return false; /* trailing dot */
        if (elements < min_elements)
                return false;
        /* "snap." belongs to snaps: a reverse-DNS id may not pretend to be one. */
        return !startswith(s, "snap.");
}

static bool flatpak_name_is_valid(const char *s) {
        return dotted_name_is_valid(s, 3, true);
}

static bool desktop_id_is_valid(const char *s) {
        return dotted_name_is_valid(s, 2, false);
}

/* A snap instance name: <name>[_<key>], name of [a-z0-9-] with a letter, no leading, trailing or
 * double "-", at most 40; key of [a-z0-9], 1 to 10. */
static bool snap_name_is_valid_n(const char *s, size_t len) {
        const char *underscore = memchr(s, '_', len);
        size_t name_len = underscore ? (size_t) (underscore - s) : len;
        bool letter = false;

        if (name_len == 0 || name_len > 40 || s[0] == '-' || s[name_len - 1] == '-')
                return false;
        for (size_t i = 0; i < name_len; i++) {
                char c = s[i];

                if (c >= 'a' && c <= 'z')
                        letter = true;
                else if (c == '-') {
                        if (s[i + 1] == '-')
                                return false;
                } else if (!(c >= '0' && c <= '9'))
                        return false;
        }
        if (!letter)
                return false;
        if (underscore) {
                size_t key_len = len - name_len - 1;

                if (key_len == 0 || key_len > 10)
                        return false;
                for (size_t i = name_len + 1; i < len; i++)
                        if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' && s[i] <= '9'))
                                return false;
        }
        return true;
}

bool app_id_is_valid(const char *s) {
        const char *rest;

        if (!s)
                return false;
        rest = startswith(s, "host:");
        if (rest) {
                if (rest[0] != '/' || strlen(rest) >= PATH_MAX)
                        return false;
                for (const char *p = rest; *p; p++)
                        if ((unsigned char) *p < ' ' || *p == 0x7f)
                                return false;
                return true;
        }
        rest = startswith(s, "snap.");
        if (rest)
                return snap_name_is_valid_n(rest, strlen(rest));
        return desktop_id_is_valid(s);
}

/* ---- cgroup and unit names ---- */

static bool all_alnum(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (!isalnum((unsigned char) s[i]))
                        return false;
        return true;
}

static const char *endswith_n(const char *s, size_t len, const char *suffix) {
        size_t sl = strlen(suffix);

        if (len < sl || memcmp(s + len - sl, suffix, sl) != 0)
                return NULL;
        return s + len - sl;
}

static int unhexchar(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

/* Undo systemd's unit name escaping ("\x2d" for "-"); any other backslash, and NUL, is refused. */
static int unit_unescape(const char *s, size_t len, char **ret) {
        _cleanup_free_ char *out = malloc(len + 1);
        size_t n = 0;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                int hi, lo;

                if (s[i] != '\\') {
                        out[n++] = s[i];
                        continue;
                }
                if (i + 3 >= len || s[i + 1] != 'x')
                        return -EINVAL;
                hi = unhexchar(s[i + 2]);
                lo = unhexchar(s[i + 3]);
                if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                        return -EINVAL;
                out[n++] = (char) (hi << 4 | lo);
                i += 3;
        }
        out[n] = 0;
        *ret = TAKE_PTR(out);
        return 0;
}

int app_id_from_unit_name(const char *unit, char **ret) {
        _cleanup_free_ char *id = NULL;
        const char *body, *end, *p;
        size_t len;
        int r;

        if (!unit)
                return -ENOENT;
        body = startswith(unit, "app-");
        if (!body)
                return -ENOENT;
        len = strlen(body);

        if ((end = endswith_n(body, len, ".scope"))) {
                /* app[-<launcher>]-<id>-<random>.scope: the random part follows the last "-". */
                len = (size_t) (end - body);
                p = memrchr(body, '-', len);
                if (!p || !all_alnum(p + 1, len - (size_t) (p + 1 - body)))
                        return -ENOENT;
                len = (size_t) (p - body);
        } else if ((end = endswith_n(body, len, ".service"))) {
                /* app[-<launcher>]-<id>[@<random>].service, or the pre-v248 "-autostart". */
                len = (size_t) (end - body);
                p = memrchr(body, '@', len);
                if (p && all_alnum(p + 1, len - (size_t) (p + 1 - body)))
                        len = (size_t) (p - body);
                else if ((end = endswith_n(body, len, "-autostart")))
                        len = (size_t) (end - body);
        } else
                return -ENOENT;

        /* An optional alphanumeric launcher ("gnome", "KDE", "flatpak") before the first "-";
         * the id itself has its dashes escaped. */
        p = memchr(body, '-', len);
        if (p && p > body && all_alnum(body, (size_t) (p - body)) && p + 1 < body + len) {
                len -= (size_t) (p + 1 - body);
                body = p + 1;
        }
        if (len == 0)
                return -ENOENT;

        r = unit_unescape(body, len, &id);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !desktop_id_is_valid(id))
                return -ENOENT;
        *ret = TAKE_PTR(id);
        return 0;
}

/* "snap.<name>[.<anything>].scope|.service" → "snap.<name>". */
static int snap_id_from_unit_name(const char *unit, size_t len, char **ret) {
        const char *body, *end, *dot;
        size_t name_len;
        char *id;

        if (len < 5 || memcmp(unit, "snap.", 5) != 0)
                return -ENOENT;
        body = unit + 5;
        len -= 5;
        end = endswith_n(body, len, ".scope");
        if (!end)
                end = endswith_n(body, len, ".service");
        if (!end)
                return -ENOENT;
        len = (size_t) (end - body);
        dot = memchr(body, '.', len);
        name_len = dot ? (size_t) (dot - body) : len;
        if (!snap_name_is_valid_n(body, name_len))
                return -ENOENT;
        if (asprintf(&id, "snap.%.*s", (int) name_len, body) < 0)
                return -ENOMEM;
        *ret = id;
        return 0;
}

/* Record a finding; two different findings of one kind mean the file contradicts itself. */
static int found(char **slot, char *id) {
        if (!*slot) {
                *slot = id;
                return 0;
        }
        if (streq(*slot, id)) {
                free(id);
                return 0;
        }
        free(id);
        return -EBADMSG;
}

static bool controllers_contain(const char *list, size_t len, const char *name) {
        size_t nl = strlen(name);

        for (const char *p = list; p < list + len;) {
                const char *comma = memchr(p, ',', (size_t) (list + len - p));
                size_t l = comma ? (size_t) (comma - p) : (size_t) (list + len - p);

                if (l == nl && memcmp(p, name, nl) == 0)
                        return true;
                p += l + 1;
        }
        return false;
}

/* The unit a systemd-managed cgroup path belongs to, like sd_pid_get_user_unit(): slices are
 * skipped; below "user@<uid>.service" the user manager's unit is taken. *ret_user tells which. */
static void cgroup_path_unit(const char *path, size_t len, const char **ret, size_t *ret_len,
                             bool *ret_user) {
        const char *end = path + len;
        bool user = false;

        *ret = NULL;
        *ret_len = 0;
        *ret_user = false;
        for (const char *p = path; p < end;) {
                const char *slash = memchr(p, '/', (size_t) (end - p));
                size_t l = slash ? (size_t) (slash - p) : (size_t) (end - p);

                if (l > 0 && !endswith_n(p, l, ".slice")) {
                        if (!user && l > 13 && memcmp(p, "user@", 5) == 0 &&
                            endswith_n(p, l, ".service")) {
                                user = true; /* the user manager: its units are below */
                        } else {
                                *ret = p;
                                *ret_len = l;
                                *ret_user = user;
                                return;
                        }
                }
                p += l + 1;
        }
}

int app_id_from_cgroup(const char *contents, char **ret) {
        _cleanup_free_ char *snap = NULL, *app = NULL;
        char seen[64] = {}; /* hierarchy ids seen, to catch forged duplicate lines */
        int r;

        if (!contents)
                return -EINVAL;

        for (const char *line = contents; *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t) (nl - line) : strlen(line);
                const char *c1, *c2, *path, *unit;
                size_t ctl_len, path_len, unit_len;
                unsigned long hid;
                bool systemd, freezer, user;
                char *id;

                if (len == 0) {
                        if (!nl)
                                break;
                        line = nl + 1;
                        continue;
                }

                /* "<hierarchy-id>:<controllers>:<path>"; the path may itself contain ':'. */
                c1 = memchr(line, ':', len);
                c2 = c1 ? memchr(c1 + 1, ':', len - (size_t) (c1 + 1 - line)) : NULL;
                if (!c1 || !c2 || c1 == line)
                        return -EBADMSG;
                for (const char *p = line; p < c1; p++)
                        if (!isdigit((unsigned char) *p))
                                return -EBADMSG;
                hid = strtoul(line, NULL, 10);
                if (hid < sizeof seen) {
                        if (seen[hid])
                                return -EBADMSG;
                        seen[hid] = 1;
                }
                path = c2 + 1;
                path_len = len - (size_t) (path - line);
                if (path_len == 0 || path[0] != '/')
                        return -EBADMSG;
                ctl_len = (size_t) (c2 - c1 - 1);

                systemd = (hid == 0 && ctl_len == 0) ||
                          controllers_contain(c1 + 1, ctl_len, "name=systemd");
                freezer = controllers_contain(c1 + 1, ctl_len, "freezer");

                if (freezer) {
                        /* cgroup v1: snap-confine puts each snap into the freezer's /snap.<name>. */
                        const char *last = memrchr(path, '/', path_len) + 1;
                        size_t last_len = path_len - (size_t) (last - path);

                        if (last_len > 5 && memcmp(last, "snap.", 5) == 0 &&
                            snap_name_is_valid_n(last + 5, last_len - 5)) {
                                if (asprintf(&id, "%.*s", (int) last_len, last) < 0)
                                        return -ENOMEM;
                                r = found(&snap, id);
                                if (r < 0)
                                        return r;
                        }
                }

                if (systemd) {
                        cgroup_path_unit(path, path_len, &unit, &unit_len, &user);
                        if (unit) {
                                r = snap_id_from_unit_name(unit, unit_len, &id);
                                if (r == -ENOMEM)
                                        return r;
                                if (r >= 0) {
                                        r = found(&snap, id);
                                        if (r < 0)
                                                return r;
                                } else if (user) {
                                        _cleanup_free_ char *u = strndup(unit, unit_len);

                                        if (!u)
                                                return -ENOMEM;
                                        r = app_id_from_unit_name(u, &id);
                                        if (r == -ENOMEM)
                                                return r;
                                        if (r >= 0) {
                                                r = found(&app, id);
                                                if (r < 0)
                                                        return r;
                                        }
                                }
                        }
                }

                if (!nl)
                        break;
                line = nl + 1;
        }

        /* A snap's confinement is set up by root; an app unit is chosen by the launcher. */
        if (snap) {
                *ret = TAKE_PTR(snap);
                return 0;
        }
        if (app) {
                *ret = TAKE_PTR(app);
                return 0;
        }
        return -ENOENT;
}

/* ---- Flatpak ---- */

typedef struct FlatpakInfo {
        char *name;
        int error;
} FlatpakInfo;

static int flatpak_info_handler(const char *filename, unsigned line, const char *section,
                                const char *key, const char *value, void *userdata) {
        FlatpakInfo *info = userdata;

        if (!key || !section || !streq(section, "Application") || !streq(key, "name"))
                return 0;
        if (info->name)
                return (info->error = -EBADMSG);
        info->name = strdup(value);
        if (!info->name)
                return (info->error = -ENOMEM);
        return 0;
}

int app_id_from_flatpak_info(const char *text, size_t size, char **ret) {
        FlatpakInfo info = {};
        int r;

        r = ini_parse_text(text, size, ".flatpak-info", flatpak_info_handler, NULL, &info);
        if (r < 0) {
                free(info.name);
                return info.error < 0 ? info.error : r;
        }
        if (!info.name)
                return -ENODATA;
        if (!flatpak_name_is_valid(info.name)) {
                free(info.name);
                return -EINVAL;
        }
        *ret = info.name;
        return 0;
}

int flatpak_app_id_at(int root_fd, char **ret) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *text = NULL;
        struct stat st;
        size_t size;
        int r;

        /* O_NOFOLLOW: a symlink is refused, not followed into the host. O_NONBLOCK: a FIFO must
         * not hang the daemon; fstat() below refuses it anyway. */
        fd = openat(root_fd, ".flatpak-info", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return -ENOENT; /* the one answer that means "not a Flatpak" */
                return log_debug_errno(EACCES, "Cannot open .flatpak-info: %s", strerror(errno));
        }
        if (fstat(fd, &st) < 0)
                return log_debug_errno(EACCES, "Cannot stat .flatpak-info: %s", strerror(errno));
        if (!S_ISREG(st.st_mode))
                return log_debug_errno(EACCES, ".flatpak-info is not a regular file.");

        r = read_full_fd(fd, FLATPAK_INFO_MAX, &text, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return log_debug_errno(EACCES, "Cannot read .flatpak-info: %s", strerror(-r));

        r = app_id_from_flatpak_info(text, size, ret);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return log_debug_errno(EACCES, "Unusable .flatpak-info: %s", strerror(-r));
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
        const char *deleted;
        ssize_t n;

        n = readlinkat(proc_fd, "exe", buf, sizeof buf);
        if (n < 0)
                return -errno;
        if ((size_t) n >= sizeof buf)
                return -ENAMETOOLONG;
        buf[n] = 0;
        if (buf[0] != '/')
                return -EBADMSG;
        /* An upgrade replaced the binary under a running program; it is still that program. */
        deleted = endswith_n(buf, (size_t) n, " (deleted)");
        if (deleted)
                buf[deleted - buf] = 0;
        if (asprintf(ret, "host:%s", buf) < 0)
                return -ENOMEM;
        return 0;
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
        if (r >= 0)
                kind = CALLER_APP_FLATPAK;
        else if (r == -ENOMEM)
                return r;
        else if (r != -ENOENT)
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
                if (r >= 0)
                        kind = startswith(id, "snap.") ? CALLER_APP_SNAP : CALLER_APP_SCOPE;
                else if (r != -ENOENT)
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

int caller_new_from_credentials(sd_bus_message *reply, const char *unique_name, Caller **ret) {
        _cleanup_(caller_unrefp) Caller *c = NULL;
        _cleanup_close_ int bus_pidfd = -1;
        bool have_uid = false, have_pid = false;
        uint32_t uid = UINT32_MAX, pid = 0;
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
                        if (have_uid || read_u32_variant(reply, &uid) < 0)
                                return -EBADMSG;
                        have_uid = true;
                } else if (streq(key, "ProcessID")) {
                        if (have_pid || read_u32_variant(reply, &pid) < 0)
                                return -EBADMSG;
                        have_pid = true;
                } else if (streq(key, "ProcessFD")) {
                        int fd;

                        if (bus_pidfd >= 0 || sd_bus_message_enter_container(reply, 'v', "h") < 0 ||
                            sd_bus_message_read(reply, "h", &fd) < 0 ||
                            sd_bus_message_exit_container(reply) < 0)
                                return -EBADMSG;
                        /* The message owns its fd; keep our own. */
                        bus_pidfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                        if (bus_pidfd < 0)
                                return -errno;
                } else {
                        r = sd_bus_message_skip(reply, "v");
                        if (r < 0)
                                return -EBADMSG;
                }
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return -EBADMSG;
        }
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return -EBADMSG;

        if (!have_uid || (!have_pid && bus_pidfd < 0))
                return log_warning_errno(ENODATA, "The bus gave no uid or pid for %s.",
                                         unique_name);
        if (uid == UINT32_MAX || (have_pid && pid == 0) || pid > INT32_MAX)
                return -EBADMSG;
        c->uid = (uid_t) uid;

        if (bus_pidfd >= 0) {
                pid_t fd_pid = -1;

                r = pidfd_get_pid(bus_pidfd, &fd_pid);
                if (r < 0)
                        return -EBADMSG;
                if (fd_pid < 0)
                        return -ESRCH; /* gone already */
                if (have_pid && fd_pid > 0 && fd_pid != (pid_t) pid)
                        return -EBADMSG;
                if (!have_pid && fd_pid == 0)
                        return -ENODATA; /* a pid we cannot see: no /proc to read */
                c->pid = have_pid ? (pid_t) pid : fd_pid;
                c->pidfd = TAKE_FD(bus_pidfd);
        } else {
                /* dbus-daemon gives only the pid: pin it now. What exits between the bus's reply
                 * and this line and has its pid reused is the one window left; the pidfd closes
                 * every later one. */
                c->pid = (pid_t) pid;
                r = pidfd_open_checked(c->pid);
                if (r == -ENOSYS) {
                        /* Kernels before 5.3, and valgrind, have no pidfd_open: pin the process by
                         * its start time instead, checked again after every use (polkit's way). */
                        c->start_time = process_start_time(c->pid);
                        if (c->start_time == 0)
                                return -ESRCH;
                } else if (r == -ESRCH)
                        return r;
                else if (r < 0)
                        return log_warning_errno(r, "pidfd_open(%i) failed: %m", (int) c->pid);
                else
                        c->pidfd = r;
        }

        r = caller_identify_pid(c);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

typedef struct CallerQuery {
        char *unique_name;
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

        r = caller_new_from_credentials(reply, q->unique_name, &c);
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

int caller_query(sd_bus *bus, const char *unique_name, caller_callback_t cb, void *userdata,
                 sd_bus_slot **ret_slot) {
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
