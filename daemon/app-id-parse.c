/* The pure parsers of caller identity: what /proc/<pid>/cgroup, a systemd unit name, a
 * .flatpak-info and the /proc/<pid>/exe link say the app id is. No bus and no /proc here. */
#include "app-id-parse.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "app-id.h"
#include "ini.h"
#include "log.h"
#include "util.h"

/* Bounds on what we read from the sandbox: far above real sizes. */
#define FLATPAK_INFO_MAX (64U * 1024U)

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
                return 0;
        body = startswith(unit, "app-");
        if (!body)
                return 0;
        len = strlen(body);

        if ((end = endswith_n(body, len, ".scope"))) {
                /* app[-<launcher>]-<id>-<random>.scope: the random part follows the last "-". */
                len = (size_t) (end - body);
                p = memrchr(body, '-', len);
                if (!p || !all_alnum(p + 1, len - (size_t) (p + 1 - body)))
                        return 0;
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
                return 0;

        /* An optional alphanumeric launcher ("gnome", "KDE", "flatpak") before the first "-";
         * the id itself has its dashes escaped. */
        p = memchr(body, '-', len);
        if (p && p > body && all_alnum(body, (size_t) (p - body)) && p + 1 < body + len) {
                len -= (size_t) (p + 1 - body);
                body = p + 1;
        }
        if (len == 0)
                return 0;

        r = unit_unescape(body, len, &id);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !app_id_desktop_id_is_valid(id))
                return 0; /* escaped wrong, or not a desktop-file id */
        *ret = TAKE_PTR(id);
        return 1;
}

/* "snap.<name>[.<anything>].scope|.service" → "snap.<name>". */
static int snap_id_from_unit_name(const char *unit, size_t len, char **ret) {
        const char *body, *end, *dot;
        size_t name_len;
        char *id;

        if (len < 5 || memcmp(unit, "snap.", 5) != 0)
                return 0;
        body = unit + 5;
        len -= 5;
        end = endswith_n(body, len, ".scope");
        if (!end)
                end = endswith_n(body, len, ".service");
        if (!end)
                return 0;
        len = (size_t) (end - body);
        dot = memchr(body, '.', len);
        name_len = dot ? (size_t) (dot - body) : len;
        if (!app_id_snap_name_is_valid_n(body, name_len))
                return 0;
        if (asprintf(&id, "snap.%.*s", (int) name_len, body) < 0)
                return -ENOMEM;
        *ret = id;
        return 1;
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

/* The findings of a cgroup file so far; `seen` holds the hierarchy ids met, to catch forged
 * duplicate lines. */
typedef struct CgroupIds {
        char *snap, *app;
        char seen[64];
} CgroupIds;

/* cgroup v1: snap-confine puts each snap into the freezer's /snap.<name>. */
static int cgroup_freezer_path(CgroupIds *ids, const char *path, size_t path_len) {
        const char *last = (const char *) memrchr(path, '/', path_len) + 1;
        size_t last_len = path_len - (size_t) (last - path);
        char *id;

        if (last_len <= 5 || memcmp(last, "snap.", 5) != 0 || !app_id_snap_name_is_valid_n(last + 5, last_len - 5))
                return 0;
        if (asprintf(&id, "%.*s", (int) last_len, last) < 0)
                return -ENOMEM;
        return found(&ids->snap, id);
}

/* The systemd hierarchy: a snap's unit anywhere, an app unit of the user manager. */
static int cgroup_systemd_path(CgroupIds *ids, const char *path, size_t path_len) {
        _cleanup_free_ char *u = NULL;
        const char *unit;
        size_t unit_len;
        bool user;
        char *id;
        int r;

        cgroup_path_unit(path, path_len, &unit, &unit_len, &user);
        if (!unit)
                return 0;
        r = snap_id_from_unit_name(unit, unit_len, &id);
        if (r < 0)
                return r;
        if (r > 0)
                return found(&ids->snap, id);
        if (!user)
                return 0;

        u = strndup(unit, unit_len);
        if (!u)
                return -ENOMEM;
        r = app_id_from_unit_name(u, &id);
        if (r <= 0)
                return r;
        return found(&ids->app, id);
}

/* One line: "<hierarchy-id>:<controllers>:<path>"; the path may itself contain ':'. */
static int cgroup_line(CgroupIds *ids, const char *line, size_t len) {
        const char *c1, *c2, *path;
        size_t ctl_len, path_len;
        unsigned long hid;
        int r;

        c1 = memchr(line, ':', len);
        c2 = c1 ? memchr(c1 + 1, ':', len - (size_t) (c1 + 1 - line)) : NULL;
        if (!c1 || !c2 || c1 == line)
                return -EBADMSG;
        for (const char *p = line; p < c1; p++)
                if (!isdigit((unsigned char) *p))
                        return -EBADMSG;
        hid = strtoul(line, NULL, 10);
        if (hid < sizeof ids->seen) {
                if (ids->seen[hid])
                        return -EBADMSG;
                ids->seen[hid] = 1;
        }
        path = c2 + 1;
        path_len = len - (size_t) (path - line);
        if (path_len == 0 || path[0] != '/')
                return -EBADMSG;
        ctl_len = (size_t) (c2 - c1 - 1);

        if (controllers_contain(c1 + 1, ctl_len, "freezer")) {
                r = cgroup_freezer_path(ids, path, path_len);
                if (r < 0)
                        return r;
        }
        if ((hid == 0 && ctl_len == 0) || controllers_contain(c1 + 1, ctl_len, "name=systemd"))
                return cgroup_systemd_path(ids, path, path_len);
        return 0;
}

int app_id_from_cgroup(const char *contents, char **ret) {
        _cleanup_free_ char *snap = NULL, *app = NULL;
        CgroupIds ids = {};
        int r = 0;

        if (!contents)
                return -EINVAL;

        for (const char *line = contents; *line && r >= 0;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t) (nl - line) : strlen(line);

                if (len > 0)
                        r = cgroup_line(&ids, line, len);
                if (!nl)
                        break;
                line = nl + 1;
        }
        snap = ids.snap;
        app = ids.app;
        if (r < 0)
                return r;

        /* A snap's confinement is set up by root; an app unit is chosen by the launcher. */
        if (snap) {
                *ret = TAKE_PTR(snap);
                return 1;
        }
        if (app) {
                *ret = TAKE_PTR(app);
                return 1;
        }
        return 0;
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
                return 0; /* a runtime, not an app */
        if (!app_id_flatpak_name_is_valid(info.name)) {
                free(info.name);
                return -EINVAL;
        }
        *ret = info.name;
        return 1;
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
                        return 0; /* the one answer that means "not a Flatpak" */
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
        if (r == 0)
                return log_debug_errno(EACCES, "Unusable .flatpak-info: it names no application.");
        return 1;
}

/* ---- the host executable ---- */

int app_id_from_exe_link(const char *target, char **ret) {
        size_t len;
        const char *deleted;

        if (!target || target[0] != '/')
                return -EBADMSG;
        len = strlen(target);
        /* An upgrade replaced the binary under a running program; it is still that program. */
        deleted = endswith_n(target, len, " (deleted)");
        if (deleted)
                len = (size_t) (deleted - target);
        if (asprintf(ret, "host:%.*s", (int) len, target) < 0)
                return -ENOMEM;
        return 0;
}
