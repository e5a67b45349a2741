/* Tests for caller.c and app-id-parse.c: the cgroup, unit-name and .flatpak-info parsers
 * (tables), the safe opening of .flatpak-info in a fake root, identification of live, dead and
 * reused pids, and credentials from a private dbus-daemon (skipped with a message when there is
 * none). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>

#include "app-id-parse.h"
#include "caller.h"
#include "util.h"

#define assert_ok(expr) assert_true((expr) >= 0)

static const char *show(const char *s) {
        return s ? s : "(null)";
}

static int pidfd_open_raw(pid_t pid) {
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

static char *self_exe_id(void) {
        char buf[PATH_MAX + 1], *s;
        ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);

        assert_true(n > 0);
        buf[n] = 0;
        assert_true(asprintf(&s, "host:%s", buf) >= 0);
        return s;
}

/* The id this test process should get: its cgroup's, if it runs in an app unit or snap. */
static char *self_expected_id(void) {
        char buf[65536];
        char *id = NULL;
        ssize_t n;
        int fd, r;

        fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        assert_true(n >= 0);
        buf[n] = 0;
        r = app_id_from_cgroup(buf, &id);
        if (r > 0)
                return id;
        assert_int_equal(r, 0);
        return self_exe_id();
}

/* ---- pure parsers ---- */

static void test_unit_name(void **state) {
        static const struct {
                const char *unit;
                int r;
                const char *id;
        } table[] = {
                { "app-gnome-org.gnome.Epiphany-182352.scope", 1, "org.gnome.Epiphany" },
                { "app-org.gnome.Evince-12345.scope", 1, "org.gnome.Evince" },
                { "app-gnome-org.gnome.Evolution\\x2dalarm\\x2dnotify-2437.scope", 1,
                  "org.gnome.Evolution-alarm-notify" },
                { "app-com.obsproject.Studio-d70acc38b5154a3a8b4a60accc4b15f4.scope", 1,
                  "com.obsproject.Studio" },
                { "app-flatpak-org.telegram.desktop-12345.scope", 1, "org.telegram.desktop" },
                { "app-org.gnome.Evince-.scope", 1, "org.gnome.Evince" },
                { "app-KDE-org.kde.okular@12345.service", 1, "org.kde.okular" },
                { "app-gnome-org.gnome.Evince@.service", 1, "org.gnome.Evince" },
                { "app-org.kde.amarok.service", 1, "org.kde.amarok" },
                { "app-gnome-org.gnome.SettingsDaemon.DiskUtilityNotify-autostart.service", 1,
                  "org.gnome.SettingsDaemon.DiskUtilityNotify" },
                { "app-gnome-org.example.My_App-1.scope", 1, "org.example.My_App" },
                { "app-glib-spice\\x2dvdagent-1839.scope", 0, NULL },
                { "app-gnome-firefox-1234.scope", 0, NULL },
                { "app-not-a-well-formed-unit-name", 0, NULL },
                { "app-gnome-org.gnome.Terminal-92502.slice", 0, NULL },
                { "app-gnome-snap.firefox-1234.scope", 0, NULL },
                { "app-gnome-org.evil\\x2fpath-1.scope", 0, NULL },
                { "app-gnome-org.evil\\x3apath-1.scope", 0, NULL },
                { "app-gnome-org.x\\x00y.z-1.scope", 0, NULL },
                { "app-gnome-org.x.y\\x2-1.scope", 0, NULL },
                { "app-gnome-org.x.y\\n-1.scope", 0, NULL },
                { "app-gnome-org.x.y\\", 0, NULL },
                { "app-gnome-org.gnome.Epiphany-12 34.scope", 0, NULL },
                { "app-gnome-org.gnome.Epiphany-12_34.scope", 0, NULL },
                { "app-gnome-org.gnome.Epiphany-182352.scope.extra", 0, NULL },
                { "app-org.gnome.Epiphany.scope", 0, NULL },
                { "app-.scope", 0, NULL },
                { "app--1.scope", 0, NULL },
                { "app-", 0, NULL },
                { "vte-spawn-228ae109-a869-4533-8988-65ea4c10b492.scope", 0, NULL },
                { "session-2.scope", 0, NULL },
                { "snap.firefox.firefox-1.scope", 0, NULL },
                { "", 0, NULL },
                { NULL, 0, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *id = NULL;
                int r = app_id_from_unit_name(table[i].unit, &id);

                if (r != table[i].r)
                        fail_msg("row %zu \"%s\": got %d, want %d", i, show(table[i].unit), r,
                                 table[i].r);
                if (r > 0 && !streq(id, table[i].id))
                        fail_msg("row %zu \"%s\": got \"%s\", want \"%s\"", i, table[i].unit, id,
                                 table[i].id);
        }
}

#define USER "/user.slice/user-1000.slice/user@1000.service"
#define V1_ROOTS                        \
        "12:pids:/\n"                   \
        "11:perf_event:/\n"             \
        "10:net_cls,net_prio:/\n"       \
        "9:cpuset:/\n"                  \
        "8:memory:/\n"                  \
        "4:hugetlb:/\n"                 \
        "2:cpu,cpuacct:/user.slice\n"

static void test_cgroup(void **state) {
        static const struct {
                const char *what;
                const char *contents;
                int r;
                const char *id;
        } table[] = {
                { "v2 app scope", "0::" USER "/app.slice/app-gnome-org.gnome.Epiphany-182352.scope\n", 1,
                  "org.gnome.Epiphany" },
                { "v2 app scope, no newline", "0::" USER "/app.slice/app-org.gnome.Evince-1.scope", 1,
                  "org.gnome.Evince" },
                { "v2 app scope, sub-cgroup",
                  "0::" USER "/app.slice/app-gnome-org.gnome.Epiphany-1.scope/tab/renderer\n", 1,
                  "org.gnome.Epiphany" },
                { "v2 app scope, escaped id",
                  "0::" USER "/app.slice/app-gnome-org.gnome.Evolution\\x2dalarm\\x2dnotify-2437.scope\n",
                  1, "org.gnome.Evolution-alarm-notify" },
                { "v2 app service", "0::" USER "/app.slice/app-KDE-org.kde.okular@12345.service\n", 1,
                  "org.kde.okular" },
                { "v2 app scope in a nested slice",
                  "0::" USER "/app.slice/app-graphical.slice/app-org.example.Cam-7.scope\n", 1,
                  "org.example.Cam" },
                { "v2 snap app", "0::" USER "/app.slice/snap.firefox.firefox-7f5b0c2a-1c1e-4d9f-9b8e-2f1e5e0b6c3d.scope\n",
                  1, "snap.firefox" },
                { "v2 snap app, old naming", "0::" USER "/app.slice/snap.firefox.firefox.7f5b0c2a-1c1e.scope\n",
                  1, "snap.firefox" },
                { "v2 snap hook", "0::" USER "/app.slice/snap.zoom-client.hook.configure-1a2b.scope\n", 1,
                  "snap.zoom-client" },
                { "v2 snap instance", "0::" USER "/app.slice/snap.firefox_beta.firefox-1a2b.scope\n", 1,
                  "snap.firefox_beta" },
                { "v2 snap without app part", "0::" USER "/apps.slice/snap.something.scope\n", 1,
                  "snap.something" },
                { "v2 snap daemon (system)", "0::/system.slice/snap.lxd.daemon.service\n", 1, "snap.lxd" },
                { "v1 freezer snap beside a terminal scope",
                  V1_ROOTS "3:freezer:/snap.portal-test\n"
                  "1:name=systemd:" USER "/apps.slice/apps-org.gnome.Terminal.slice/vte-spawn-228ae109.scope\n"
                  "0::" USER "/apps.slice/apps-org.gnome.Terminal.slice/vte-spawn-228ae109.scope\n",
                  1, "snap.portal-test" },
                { "v1 freezer in a controller list", "2:cpu,freezer:/snap.x1\n", 1, "snap.x1" },
                { "v1 freezer snap wins over an app scope",
                  "3:freezer:/snap.portal-test\n"
                  "1:name=systemd:" USER "/app.slice/app-gnome-org.gnome.Epiphany-1.scope\n",
                  1, "snap.portal-test" },
                { "v1 name=systemd app scope",
                  V1_ROOTS "3:freezer:/\n1:name=systemd:" USER "/app.slice/app-gnome-org.gnome.Epiphany-1.scope\n0::/\n",
                  1, "org.gnome.Epiphany" },
                { "hybrid, both hierarchies agree",
                  "1:name=systemd:" USER "/app.slice/app-org.example.Cam-7.scope\n"
                  "0::" USER "/app.slice/app-org.example.Cam-7.scope\n",
                  1, "org.example.Cam" },

                { "terminal child is not the terminal",
                  "0::" USER "/app.slice/app-gnome-org.gnome.Terminal-92502.slice/vte-spawn-1.scope\n",
                  0, NULL },
                { "gnome-terminal-server service", "0::" USER "/app.slice/app-org.gnome.Terminal.slice/gnome-terminal-server.service\n",
                  0, NULL },
                { "session scope", "0::/user.slice/user-1000.slice/session-2.scope\n", 0, NULL },
                { "user manager", "0::" USER "/init.scope\n", 0, NULL },
                { "user manager itself", "0::" USER "\n", 0, NULL },
                { "app scope outside a user manager", "0::/system.slice/app-gnome-org.evil.App-1.scope\n",
                  0, NULL },
                { "app scope below a non-app unit", "0::" USER "/foo.service/app-org.evil.App-1.scope\n",
                  0, NULL },
                { "bad app id", "0::" USER "/app.slice/app-gnome-firefox-1.scope\n", 0, NULL },
                { "bad snap name", "0::" USER "/app.slice/snap.Foo.bar-1.scope\n", 0, NULL },
                { "bad snap name (dash)", "0::/system.slice/snap.-x.y.service\n", 0, NULL },
                { "empty snap name", "0::/system.slice/snap..y.service\n", 0, NULL },
                { "freezer not a snap", "3:freezer:/snapx\n", 0, NULL },
                { "snap prefix in another controller", "4:memory:/snap.zoom\n", 0, NULL },
                { "v2 root", "0::/\n", 0, NULL },
                { "v1 all roots", V1_ROOTS "1:name=systemd:/\n0::/\n", 0, NULL },
                { "colon in a cgroup name", "0::" USER "/app.slice/weird:name.scope\n", 0, NULL },
                { "empty file", "", 0, NULL },
                { "blank lines", "\n\n", 0, NULL },

                { "junk", "garbage\n", -EBADMSG, NULL },
                { "one colon", "0:/x\n", -EBADMSG, NULL },
                { "no hierarchy id", ":memory:/\n", -EBADMSG, NULL },
                { "non-numeric hierarchy id", "x::/foo\n", -EBADMSG, NULL },
                { "relative path", "0::relative\n", -EBADMSG, NULL },
                { "empty path", "0::\n", -EBADMSG, NULL },
                { "junk after a good line", "0::" USER "/app.slice/app-org.example.Cam-7.scope\njunk\n",
                  -EBADMSG, NULL },
                { "duplicate hierarchy line (forged)",
                  "0::/user.slice/user-1000.slice/session-2.scope\n"
                  "0::" USER "/app.slice/snap.zoom.zoom-1.scope\n",
                  -EBADMSG, NULL },
                { "two snaps", "3:freezer:/snap.one\n0::" USER "/app.slice/snap.two.app-1.scope\n",
                  -EBADMSG, NULL },
                { "two app ids",
                  "1:name=systemd:" USER "/app.slice/app-org.example.One-1.scope\n"
                  "0::" USER "/app.slice/app-org.example.Two-1.scope\n",
                  -EBADMSG, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *id = NULL;
                int r = app_id_from_cgroup(table[i].contents, &id);

                if (r != table[i].r)
                        fail_msg("row %zu (%s): got %d, want %d", i, table[i].what, r, table[i].r);
                if (r > 0 && !streq(id, table[i].id))
                        fail_msg("row %zu (%s): got \"%s\", want \"%s\"", i, table[i].what, id,
                                 table[i].id);
        }
}

#define REAL_FLATPAK_INFO                                               \
        "[Application]\n"                                               \
        "name=org.mozilla.firefox\n"                                    \
        "runtime=runtime/org.freedesktop.Platform/x86_64/23.08\n"       \
        "\n"                                                            \
        "[Instance]\n"                                                  \
        "instance-id=1706130329\n"                                      \
        "app-path=/var/lib/flatpak/app/org.mozilla.firefox/x86_64/stable/1f3c/files\n" \
        "branch=stable\n"                                               \
        "flatpak-version=1.14.4\n"                                      \
        "session-bus-proxy=true\n"                                      \
        "\n"                                                            \
        "[Context]\n"                                                   \
        "shared=network;ipc;\n"                                         \
        "sockets=x11;wayland;pulseaudio;\n"                             \
        "devices=dri;\n"                                                \
        "\n"                                                            \
        "[Session Bus Policy]\n"                                        \
        "org.freedesktop.Notifications=talk\n"

static void test_flatpak_info(void **state) {
        static const struct {
                const char *what;
                const char *text;
                size_t size; /* 0: strlen */
                int r;
                const char *id;
        } table[] = {
                { "real file", REAL_FLATPAK_INFO, 0, 1, "org.mozilla.firefox" },
                { "minimal", "[Application]\nname=org.example.App\n", 0, 1, "org.example.App" },
                { "no final newline", "[Application]\nname=org.example.App", 0, 1, "org.example.App" },
                { "spaces around", "[Application]\n  name = org.example.App  \n", 0, 1, "org.example.App" },
                { "dash in last element", "[Application]\nname=org.example.My-App\n", 0, 1,
                  "org.example.My-App" },
                { "underscores", "[Application]\nname=_org.ex_ample.App_1\n", 0, 1, "_org.ex_ample.App_1" },
                { "name in another section ignored",
                  "[Application]\nname=org.example.App\n[Context]\nname=org.evil.App\n", 0, 1,
                  "org.example.App" },
                { "runtime", "[Runtime]\nname=org.freedesktop.Platform\n", 0, 0, NULL },
                { "empty", "", 0, 0, NULL },
                { "no name", "[Application]\nruntime=x\n", 0, 0, NULL },
                { "name outside a section", "name=org.example.App\n", 0, 0, NULL },
                { "empty name", "[Application]\nname=\n", 0, -EINVAL, NULL },
                { "two elements", "[Application]\nname=org.example\n", 0, -EINVAL, NULL },
                { "digit starts an element", "[Application]\nname=org.example.1App\n", 0, -EINVAL, NULL },
                { "dash not in last element", "[Application]\nname=org.ex-ample.App\n", 0, -EINVAL, NULL },
                { "reserved snap prefix", "[Application]\nname=snap.firefox.App\n", 0, -EINVAL, NULL },
                { "host form", "[Application]\nname=host:/usr/bin/x\n", 0, -EINVAL, NULL },
                { "path", "[Application]\nname=../../etc/passwd\n", 0, -EINVAL, NULL },
                { "trailing dot", "[Application]\nname=org.example.App.\n", 0, -EINVAL, NULL },
                { "space inside", "[Application]\nname=org.example.My App\n", 0, -EINVAL, NULL },
                { "twice", "[Application]\nname=org.example.App\nname=org.evil.App\n", 0, -EBADMSG, NULL },
                { "twice, two sections",
                  "[Application]\nname=org.example.App\n[Application]\nname=org.evil.App\n", 0,
                  -EBADMSG, NULL },
                { "bad section header", "[Application\nname=org.example.App\n", 0, -EINVAL, NULL },
                { "garbage line", "[Application]\nname=org.example.App\ngarbage\n", 0, -EINVAL, NULL },
                { "NUL byte", "[Application]\nname=org.example.App\0evil\n", 39, -EINVAL, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *id = NULL;
                size_t size = table[i].size ?: strlen(table[i].text);
                int r = app_id_from_flatpak_info(table[i].text, size, &id);

                if (r != table[i].r)
                        fail_msg("row %zu (%s): got %d, want %d", i, table[i].what, r, table[i].r);
                if (r > 0 && !streq(id, table[i].id))
                        fail_msg("row %zu (%s): got \"%s\", want \"%s\"", i, table[i].what, id,
                                 table[i].id);
        }
}

static void test_app_id_is_valid(void **state) {
        static const struct {
                const char *id;
                bool valid;
        } table[] = {
                { "org.mozilla.firefox", true },
                { "org.gnome.Epiphany", true },
                { "org.gnome.Evolution-alarm-notify", true },
                { "com.example", true },
                { "snap.firefox", true },
                { "snap.zoom-client", true },
                { "snap.firefox_beta", true },
                { "host:/usr/bin/foo", true },
                { "host:/opt/My App/bin/app", true },
                { NULL, false },
                { "", false },
                { "firefox", false },
                { "org..firefox", false },
                { ".org.firefox", false },
                { "org.firefox.", false },
                { "org.fire fox", false },
                { "org/firefox.x", false },
                { "snap.", false },
                { "snap.Firefox", false },
                { "snap.firefox.extra", false },
                { "snap.-x", false },
                { "snap.a--b", false },
                { "snap.123", false },
                { "snap.x_", false },
                { "snap.x_toolongkey1", false },
                { "host:", false },
                { "host:usr/bin/foo", false },
                { "host:/usr/bin/\nfoo", false },
                { "Host:/usr/bin/foo", false },
                { "flatpak:org.mozilla.firefox", false },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (app_id_is_valid(table[i].id) != table[i].valid)
                        fail_msg("row %zu \"%s\": want %s", i, show(table[i].id),
                                 table[i].valid ? "valid" : "invalid");
}

/* ---- .flatpak-info in a fake root ---- */

typedef enum FakeInfo {
        INFO_NONE,
        INFO_GOOD,
        INFO_SYMLINK,
        INFO_DANGLING_SYMLINK,
        INFO_FIFO,
        INFO_DIRECTORY,
        INFO_SOCKET,
        INFO_EMPTY,
        INFO_RUNTIME,
        INFO_GARBAGE,
        INFO_TOO_BIG,
        INFO_UNREADABLE,
} FakeInfo;

static void write_file(const char *path, const char *text, size_t size, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, size), (ssize_t) size);
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

/* Run flatpak_app_id_at() as an unprivileged user, since root reads mode-000 files. */
static int flatpak_app_id_at_as_nobody(int root_fd) {
        int status;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                char *id = NULL;
                int r;

                if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
                        _exit(255);
                r = flatpak_app_id_at(root_fd, &id);
                _exit(r < 0 ? (-r) & 0x7f : 128 + r); /* errno values, or 128 + the answer */
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_not_equal(WEXITSTATUS(status), 255);
        return WEXITSTATUS(status) >= 128 ? WEXITSTATUS(status) - 128 : -WEXITSTATUS(status);
}

static void test_flatpak_root(void **state) {
        static const struct {
                const char *what;
                FakeInfo info;
                int r;
                const char *id;
        } table[] = {
                { "no .flatpak-info", INFO_NONE, 0, NULL },
                { "good file", INFO_GOOD, 1, "org.example.App" },
                { "symlink to a good file", INFO_SYMLINK, -EACCES, NULL },
                { "dangling symlink", INFO_DANGLING_SYMLINK, -EACCES, NULL },
                { "FIFO", INFO_FIFO, -EACCES, NULL },
                { "directory", INFO_DIRECTORY, -EACCES, NULL },
                { "socket", INFO_SOCKET, -EACCES, NULL },
                { "empty file", INFO_EMPTY, -EACCES, NULL },
                { "runtime, no app", INFO_RUNTIME, -EACCES, NULL },
                { "garbage", INFO_GARBAGE, -EACCES, NULL },
                { "over 64 KiB", INFO_TOO_BIG, -EACCES, NULL },
                { "unreadable", INFO_UNREADABLE, -EACCES, NULL },
        };
        static const char good[] = "[Application]\nname=org.example.App\n";

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                char dir[] = "/tmp/test-caller-root.XXXXXX", info[100], other[100];
                _cleanup_free_ char *id = NULL;
                int root_fd, r, sock = -1; /* kept open during the call */

                assert_non_null(mkdtemp(dir));
                assert_int_equal(chmod(dir, 0755), 0);
                snprintf(info, sizeof info, "%s/.flatpak-info", dir);
                snprintf(other, sizeof other, "%s/real-info", dir);

                switch (table[i].info) {
                case INFO_NONE:
                        break;
                case INFO_GOOD:
                        write_file(info, good, strlen(good), 0644);
                        break;
                case INFO_SYMLINK:
                        write_file(other, good, strlen(good), 0644);
                        assert_int_equal(symlink("real-info", info), 0);
                        break;
                case INFO_DANGLING_SYMLINK:
                        assert_int_equal(symlink("/nonexistent/.flatpak-info", info), 0);
                        break;
                case INFO_FIFO:
                        /* With a good file waiting in it: only the type check stands in the way. */
                        assert_int_equal(mkfifo(info, 0644), 0);
                        sock = open(info, O_RDWR | O_CLOEXEC);
                        assert_true(sock >= 0);
                        assert_int_equal(write(sock, good, strlen(good)), (ssize_t) strlen(good));
                        break;
                case INFO_DIRECTORY:
                        assert_int_equal(mkdir(info, 0755), 0);
                        break;
                case INFO_SOCKET: {
                        struct sockaddr_un sa = { .sun_family = AF_UNIX };

                        sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                        assert_true(sock >= 0);
                        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", info);
                        assert_int_equal(bind(sock, (struct sockaddr *) &sa, sizeof sa), 0);
                        break;
                }
                case INFO_EMPTY:
                        write_file(info, "", 0, 0644);
                        break;
                case INFO_RUNTIME:
                        write_file(info, "[Runtime]\nname=org.freedesktop.Platform\n", 40, 0644);
                        break;
                case INFO_GARBAGE:
                        write_file(info, "\x7f" "ELF\x02\x01\x01", 7, 0644);
                        break;
                case INFO_TOO_BIG: {
                        size_t size = 64 * 1024 + 1;
                        _cleanup_free_ char *big = malloc(size);

                        assert_non_null(big);
                        memset(big, '#', size);
                        memcpy(big, good, strlen(good));
                        big[strlen(good)] = '#';
                        write_file(info, big, size, 0644);
                        break;
                }
                case INFO_UNREADABLE:
                        write_file(info, good, strlen(good), 0000);
                        break;
                }

                root_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                assert_true(root_fd >= 0);
                if (table[i].info == INFO_UNREADABLE && geteuid() == 0)
                        r = flatpak_app_id_at_as_nobody(root_fd);
                else
                        r = flatpak_app_id_at(root_fd, &id);
                close(root_fd);
                safe_close(sock);

                (void) unlink(info);
                (void) rmdir(info);
                (void) unlink(other);
                assert_int_equal(rmdir(dir), 0);

                if (r != table[i].r)
                        fail_msg("row %zu (%s): got %d, want %d", i, table[i].what, r, table[i].r);
                if (r > 0 && table[i].id && !streq(id, table[i].id))
                        fail_msg("row %zu (%s): got \"%s\", want \"%s\"", i, table[i].what, id,
                                 table[i].id);
        }
}

/* ---- live, dead and reused processes ---- */

typedef enum Proc {
        PROC_SELF,
        PROC_LIVE_CHILD,
        PROC_ZOMBIE_CHILD,
        PROC_REAPED_CHILD,
        PROC_REUSED,  /* the pidfd of a reaped child, the pid of a live process */
        PROC_NO_PIDFD,
} Proc;

typedef struct ProcFixture {
        pid_t child;
        bool reaped;
} ProcFixture;

static void proc_setup(Proc p, Caller *c, ProcFixture *f) {
        *f = (ProcFixture) { .child = -1 };

        if (p == PROC_SELF || p == PROC_NO_PIDFD) {
                c->pid = getpid();
                c->pidfd = p == PROC_SELF ? pidfd_open_raw(getpid()) : -1;
                return;
        }

        f->child = fork();
        assert_true(f->child >= 0);
        if (f->child == 0) {
                if (p == PROC_LIVE_CHILD)
                        pause();
                _exit(0);
        }
        c->pid = f->child;
        c->pidfd = pidfd_open_raw(f->child);
        assert_true(c->pidfd >= 0);
        if (p == PROC_ZOMBIE_CHILD) {
                siginfo_t si = {};
                /* Wait for the exit without reaping: the child stays a zombie. */
                assert_int_equal(waitid(P_PID, (id_t) f->child, &si, WEXITED | WNOWAIT), 0);
        }
        if (p == PROC_REAPED_CHILD || p == PROC_REUSED) {
                assert_int_equal(waitpid(f->child, NULL, 0), f->child);
                f->reaped = true;
        }
        if (p == PROC_REUSED)
                c->pid = getpid();
}

static void proc_teardown(ProcFixture *f) {
        if (f->child > 0 && !f->reaped) {
                kill(f->child, SIGKILL);
                waitpid(f->child, NULL, 0);
        }
}

static void test_identify(void **state) {
        static const struct {
                const char *what;
                Proc proc;
                int r;
                bool alive;
        } table[] = {
                { "this process", PROC_SELF, 0, true },
                { "a live child", PROC_LIVE_CHILD, 0, true },
                { "a zombie child", PROC_ZOMBIE_CHILD, -ESRCH, false },
                { "a reaped child", PROC_REAPED_CHILD, -ESRCH, false },
                { "pid reused: dead pidfd, live pid", PROC_REUSED, -ESRCH, false },
                { "no pidfd", PROC_NO_PIDFD, -EINVAL, false },
        };
        _cleanup_free_ char *expected = self_expected_id();

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_(caller_unrefp) Caller *c = NULL;
                ProcFixture f;
                int r;

                assert_int_equal(caller_new(&c), 0);
                assert_int_equal(c->uid, UID_INVALID);
                proc_setup(table[i].proc, c, &f);

                r = caller_identify_pid(c);
                if (r != table[i].r)
                        fail_msg("row %zu (%s): got %d, want %d", i, table[i].what, r, table[i].r);
                if (caller_is_alive(c) != table[i].alive)
                        fail_msg("row %zu (%s): alive should be %d", i, table[i].what, table[i].alive);
                if (r == 0) {
                        /* A forked child runs the same executable in the same cgroup. */
                        if (!streq_ptr(c->app_id, expected))
                                fail_msg("row %zu (%s): got \"%s\", want \"%s\"", i, table[i].what,
                                         show(c->app_id), expected);
                        if (startswith(expected, "host:"))
                                assert_int_equal(c->app_kind, CALLER_APP_HOST);
                } else
                        assert_null(c->app_id);
                proc_teardown(&f);
        }
}

/* ---- the bus ---- */

typedef struct TestBus {
        pid_t daemon;
        sd_bus *bus;
        sd_event *event;
} TestBus;

static int bus_setup(void **state) {
        TestBus *t = calloc(1, sizeof *t);
        char address[1024];
        size_t n = 0;
        int pipefd[2], r;

        assert_non_null(t);
        *state = t;
        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        t->daemon = fork();
        assert_true(t->daemon >= 0);
        if (t->daemon == 0) {
                char arg[64];
                int fd = dup(pipefd[1]); /* without O_CLOEXEC, for dbus-daemon */

                snprintf(arg, sizeof arg, "--print-address=%i", fd);
                execlp("dbus-daemon", "dbus-daemon", "--session", "--nofork", "--nopidfile", arg,
                       (char *) NULL);
                _exit(127);
        }
        close(pipefd[1]);
        while (n < sizeof address - 1) {
                ssize_t k = read(pipefd[0], address + n, sizeof address - 1 - n);

                if (k <= 0)
                        break;
                n += (size_t) k;
                if (memchr(address, '\n', n))
                        break;
        }
        close(pipefd[0]);
        address[n] = 0;
        if (n == 0 || !strchr(address, '\n')) {
                waitpid(t->daemon, NULL, 0);
                t->daemon = -1;
                return 0; /* no dbus-daemon: the bus tests skip */
        }
        *strchr(address, '\n') = 0;

        assert_true(sd_event_new(&t->event) >= 0);
        assert_true(sd_bus_new(&t->bus) >= 0);
        assert_true(sd_bus_set_address(t->bus, address) >= 0);
        assert_true(sd_bus_set_bus_client(t->bus, 1) >= 0);
        assert_true(sd_bus_negotiate_fds(t->bus, 1) >= 0);
        r = sd_bus_start(t->bus);
        assert_true(r >= 0);
        assert_true(sd_bus_attach_event(t->bus, t->event, 0) >= 0);
        return 0;
}

static int bus_teardown(void **state) {
        TestBus *t = *state;

        if (!t)
                return 0;
        if (t->bus) {
                sd_bus_flush_close_unref(t->bus);
        }
        sd_event_unref(t->event);
        if (t->daemon > 0) {
                kill(t->daemon, SIGTERM);
                waitpid(t->daemon, NULL, 0);
        }
        free(t);
        return 0;
}

static TestBus *need_bus(void **state) {
        TestBus *t = *state;

        if (!t || !t->bus) {
                print_message("dbus-daemon is not available: skipping the bus tests.\n");
                skip();
        }
        return t;
}

typedef enum CredPid {
        PID_ABSENT,
        PID_SELF,
        PID_TWICE,
        PID_ZERO,
        PID_INIT,  /* pid 1: not the process the ProcessFD names */
        PID_DEAD,
        PID_HUGE,
} CredPid;

typedef enum CredFd {
        FD_ABSENT,
        FD_SELF,
        FD_DEAD,
        FD_NOT_PIDFD,
        FD_WRONG_TYPE,
} CredFd;

typedef enum CredUid {
        UID_ABSENT,
        UID_VALUE,
        UID_TWICE,
        UID_WRONG_TYPE,
} CredUid;

typedef enum ConnectedBy {
        CONNECTED_UNKNOWN, /* CALLER_CONNECTED_ANY */
        CONNECTED_NOW,     /* after this process started: it may have made the connection */
        CONNECTED_AT_BOOT, /* before this process started: its pid must have been reused */
} ConnectedBy;

typedef struct CredRow {
        const char *what;
        const char *error_name; /* an error reply instead */
        CredUid uid_mode;
        uint32_t uid;
        CredPid pid;
        CredFd fd;
        bool extra_keys;
        bool not_a_dict;
        const char *unique_name; /* NULL: ":1.42" */
        int r;
        ConnectedBy connected;   /* when the connection appeared, by the daemon's clock */
} CredRow;

static void append_u(sd_bus_message *m, const char *key, uint32_t v) {
        assert_ok(sd_bus_message_append(m, "{sv}", key, "u", v));
}

static sd_bus_message *build_reply(sd_bus *bus, const CredRow *row, pid_t dead_pid, int dead_pidfd) {
        sd_bus_message *call = NULL, *m = NULL;

        assert_ok(sd_bus_message_new_method_call(bus, &call, "org.freedesktop.DBus",
                                                        "/org/freedesktop/DBus",
                                                        "org.freedesktop.DBus",
                                                        "GetConnectionCredentials"));
        assert_ok(sd_bus_message_append(call, "s", ":1.42"));
        assert_ok(sd_bus_message_seal(call, 1, 0));

        if (row->error_name) {
                assert_ok(sd_bus_message_new_method_errorf(call, &m, row->error_name, "test"));
                goto done;
        }
        assert_ok(sd_bus_message_new_method_return(call, &m));
        if (row->not_a_dict) {
                assert_ok(sd_bus_message_append(m, "s", "nope"));
                goto done;
        }
        assert_ok(sd_bus_message_open_container(m, 'a', "{sv}"));
        if (row->extra_keys) {
                assert_ok(sd_bus_message_append(m, "{sv}", "UnixGroupIDs", "au", 2, 0, 10));
                assert_ok(sd_bus_message_append(m, "{sv}", "LinuxSecurityLabel", "ay", 4, 'u', 'n', 'c',
                                                '\0'));
        }
        if (row->uid_mode == UID_VALUE || row->uid_mode == UID_TWICE)
                append_u(m, "UnixUserID", row->uid);
        if (row->uid_mode == UID_TWICE)
                append_u(m, "UnixUserID", row->uid);
        if (row->uid_mode == UID_WRONG_TYPE)
                assert_ok(sd_bus_message_append(m, "{sv}", "UnixUserID", "s", "0"));
        switch (row->pid) {
        case PID_ABSENT:
                break;
        case PID_SELF:
                append_u(m, "ProcessID", (uint32_t) getpid());
                break;
        case PID_TWICE:
                append_u(m, "ProcessID", (uint32_t) getpid());
                append_u(m, "ProcessID", (uint32_t) getpid());
                break;
        case PID_ZERO:
                append_u(m, "ProcessID", 0);
                break;
        case PID_INIT:
                append_u(m, "ProcessID", 1);
                break;
        case PID_DEAD:
                append_u(m, "ProcessID", (uint32_t) dead_pid);
                break;
        case PID_HUGE:
                append_u(m, "ProcessID", UINT32_MAX);
                break;
        }
        switch (row->fd) {
        case FD_ABSENT:
                break;
        case FD_SELF: {
                int fd = pidfd_open_raw(getpid());

                assert_true(fd >= 0);
                assert_ok(sd_bus_message_append(m, "{sv}", "ProcessFD", "h", fd));
                close(fd);
                break;
        }
        case FD_DEAD:
                assert_ok(sd_bus_message_append(m, "{sv}", "ProcessFD", "h", dead_pidfd));
                break;
        case FD_NOT_PIDFD: {
                int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

                assert_true(fd >= 0);
                assert_ok(sd_bus_message_append(m, "{sv}", "ProcessFD", "h", fd));
                close(fd);
                break;
        }
        case FD_WRONG_TYPE:
                append_u(m, "ProcessFD", 3);
                break;
        }
        assert_ok(sd_bus_message_close_container(m));
done:
        assert_ok(sd_bus_message_seal(m, 2, 0));
        assert_ok(sd_bus_message_rewind(m, 1));
        sd_bus_message_unref(call);
        return m;
}

static void test_credentials(void **state) {
        static const CredRow table[] = {
                { "uid and pid", NULL, UID_VALUE, 1000, PID_SELF, FD_ABSENT, false, false, NULL, 0 },
                { "uid 0 is just uid 0", NULL, UID_VALUE, 0, PID_SELF, FD_ABSENT, false, false, NULL, 0 },
                { "uid 65534", NULL, UID_VALUE, 65534, PID_SELF, FD_ABSENT, false, false, NULL, 0 },
                { "uid 2^31", NULL, UID_VALUE, 2147483648U, PID_SELF, FD_ABSENT, false, false, NULL, 0 },
                { "uid 4000000000", NULL, UID_VALUE, 4000000000U, PID_SELF, FD_ABSENT, false, false, NULL, 0 },
                { "other keys skipped", NULL, UID_VALUE, 1000, PID_SELF, FD_ABSENT, true, false, NULL, 0 },
                { "ProcessFD and pid", NULL, UID_VALUE, 1000, PID_SELF, FD_SELF, false, false, NULL, 0 },
                { "ProcessFD alone", NULL, UID_VALUE, 1000, PID_ABSENT, FD_SELF, false, false, NULL, 0 },
                { "uid (uid_t) -1", NULL, UID_VALUE, UINT32_MAX, PID_SELF, FD_ABSENT, false, false, NULL, -EBADMSG },
                { "no uid", NULL, UID_ABSENT, 0, PID_SELF, FD_ABSENT, false, false, NULL, -ENODATA },
                { "no pid", NULL, UID_VALUE, 1000, PID_ABSENT, FD_ABSENT, false, false, NULL, -ENODATA },
                { "nothing", NULL, UID_ABSENT, 0, PID_ABSENT, FD_ABSENT, true, false, NULL, -ENODATA },
                { "uid twice", NULL, UID_TWICE, 1000, PID_SELF, FD_ABSENT, false, false, NULL, -EBADMSG },
                { "uid as a string", NULL, UID_WRONG_TYPE, 0, PID_SELF, FD_ABSENT, false, false, NULL, -EBADMSG },
                { "pid twice", NULL, UID_VALUE, 1000, PID_TWICE, FD_ABSENT, false, false, NULL, -EBADMSG },
                { "pid 0", NULL, UID_VALUE, 1000, PID_ZERO, FD_ABSENT, false, false, NULL, -EBADMSG },
                { "pid 2^32-1", NULL, UID_VALUE, 1000, PID_HUGE, FD_ABSENT, false, false, NULL, -EBADMSG },
                { "pid of an exited process", NULL, UID_VALUE, 1000, PID_DEAD, FD_ABSENT, false, false, NULL, -ESRCH },
                { "ProcessFD of an exited process", NULL, UID_VALUE, 1000, PID_DEAD, FD_DEAD, false, false, NULL, -ESRCH },
                { "ProcessFD alone, of an exited process", NULL, UID_VALUE, 1000, PID_ABSENT, FD_DEAD, false, false, NULL, -ESRCH },
                { "ProcessFD names another pid", NULL, UID_VALUE, 1000, PID_INIT, FD_SELF, false, false, NULL, -EBADMSG },
                { "ProcessFD not a pidfd", NULL, UID_VALUE, 1000, PID_SELF, FD_NOT_PIDFD, false, false, NULL, -EBADMSG },
                { "ProcessFD not an fd", NULL, UID_VALUE, 1000, PID_SELF, FD_WRONG_TYPE, false, false, NULL, -EBADMSG },
                { "not a dictionary", NULL, UID_VALUE, 1000, PID_SELF, FD_ABSENT, false, true, NULL, -EBADMSG },
                { "NameHasNoOwner", "org.freedesktop.DBus.Error.NameHasNoOwner", UID_ABSENT, 0, PID_ABSENT, FD_ABSENT, false, false, NULL, -ENXIO },
                { "AccessDenied", "org.freedesktop.DBus.Error.AccessDenied", UID_ABSENT, 0, PID_ABSENT, FD_ABSENT, false, false, NULL, -EACCES },
                { "unknown error", "org.example.Error.Weird", UID_ABSENT, 0, PID_ABSENT, FD_ABSENT, false, false, NULL, -EIO },
                { "well-known name", NULL, UID_VALUE, 1000, PID_SELF, FD_ABSENT, false, false, "org.example.App", -EINVAL },
                { "pid started before the connection appeared", NULL, UID_VALUE, 1000, PID_SELF, FD_ABSENT, false, false, NULL, 0, CONNECTED_NOW },
                { "pid started after the connection appeared: reused", NULL, UID_VALUE, 1000, PID_SELF, FD_ABSENT, false, false, NULL, -ESRCH, CONNECTED_AT_BOOT },
                { "ProcessFD pins the process that connected", NULL, UID_VALUE, 1000, PID_SELF, FD_SELF, false, false, NULL, 0, CONNECTED_AT_BOOT },
                { "empty name", NULL, UID_VALUE, 1000, PID_SELF, FD_ABSENT, false, false, "", -EINVAL },
        };
        TestBus *t = need_bus(state);
        _cleanup_free_ char *expected = self_expected_id();
        pid_t dead;
        int dead_pidfd;

        /* An exited and reaped child, with a pidfd taken while it existed. */
        dead = fork();
        assert_true(dead >= 0);
        if (dead == 0)
                _exit(0);
        dead_pidfd = pidfd_open_raw(dead);
        assert_true(dead_pidfd >= 0);
        assert_int_equal(waitpid(dead, NULL, 0), dead);

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_(caller_unrefp) Caller *c = NULL;
                sd_bus_message *m = build_reply(t->bus, &table[i], dead, dead_pidfd);
                const char *name = table[i].unique_name ?: ":1.42";
                int r;

                uint64_t connected_by = table[i].connected == CONNECTED_NOW     ? now_usec(CLOCK_BOOTTIME)
                                        : table[i].connected == CONNECTED_AT_BOOT ? 0
                                                                                  : CALLER_CONNECTED_ANY;

                r = caller_new_from_credentials(m, name, connected_by, &c);
                sd_bus_message_unref(m);
                if (r != table[i].r)
                        fail_msg("row %zu (%s): got %d, want %d", i, table[i].what, r, table[i].r);
                if (r < 0) {
                        assert_null(c);
                        continue;
                }
                assert_int_equal(c->uid, table[i].uid);
                assert_int_equal(c->pid, getpid());
                assert_true(c->pidfd >= 0);
                assert_true(caller_is_alive(c));
                assert_string_equal(c->unique_name, ":1.42");
                assert_string_equal(c->app_id, expected);
        }
        close(dead_pidfd);
}

typedef struct QueryResult {
        int calls;
        int error;
        Caller *caller;
} QueryResult;

static void on_query(int error, Caller *c, void *userdata) {
        QueryResult *q = userdata;

        q->calls++;
        q->error = error;
        q->caller = caller_ref(c);
        assert_true((error < 0) == (c == NULL));
}

static void run_until(TestBus *t, const QueryResult *q, int calls) {
        for (unsigned i = 0; i < 500 && q->calls < calls; i++)
                assert_true(sd_event_run(t->event, 10 * 1000) >= 0);
}

static void test_query(void **state) {
        static const struct {
                const char *what;
                bool own_name; /* else the name below */
                const char *name;
                bool keep_slot;
                int r;
        } table[] = {
                { "own connection, slot kept", true, NULL, true, 0 },
                { "own connection, floating", true, NULL, false, 0 },
                { "nobody's name", false, ":1.9999", true, -ENXIO },
                { "nobody's name, floating", false, ":1.9999", false, -ENXIO },
        };
        TestBus *t = need_bus(state);
        _cleanup_free_ char *expected = self_expected_id();
        const char *own;

        assert_int_equal(sd_bus_get_unique_name(t->bus, &own), 0);
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                QueryResult q = {};
                sd_bus_slot *slot = NULL;

                assert_int_equal(caller_query(t->bus, table[i].own_name ? own : table[i].name, CALLER_CONNECTED_ANY, on_query,
                                              &q, table[i].keep_slot ? &slot : NULL),
                                 0);
                /* Asynchronous: nothing happens until the loop runs. */
                assert_int_equal(q.calls, 0);
                run_until(t, &q, 1);
                if (q.calls != 1)
                        fail_msg("row %zu (%s): callback ran %d times", i, table[i].what, q.calls);
                if (q.error != table[i].r)
                        fail_msg("row %zu (%s): got %d, want %d", i, table[i].what, q.error, table[i].r);
                if (q.error == 0) {
                        assert_int_equal(q.caller->uid, getuid());
                        assert_int_equal(q.caller->pid, getpid());
                        assert_string_equal(q.caller->unique_name, own);
                        assert_string_equal(q.caller->app_id, expected);
                        assert_true(caller_is_alive(q.caller));
                }
                caller_unref(q.caller);
                sd_bus_slot_unref(slot);
        }
}

/* Dropping the slot cancels: the reply comes and goes, the callback never runs. */
static void test_query_cancel(void **state) {
        TestBus *t = need_bus(state);
        QueryResult q = {}, later = {};
        sd_bus_slot *slot = NULL;
        const char *own;

        assert_int_equal(sd_bus_get_unique_name(t->bus, &own), 0);
        assert_int_equal(caller_query(t->bus, own, CALLER_CONNECTED_ANY, on_query, &q, &slot), 0);
        sd_bus_slot_unref(slot);
        /* A second query after it: once it has answered, the first reply has been seen too. */
        assert_int_equal(caller_query(t->bus, own, CALLER_CONNECTED_ANY, on_query, &later, NULL), 0);
        run_until(t, &later, 1);
        assert_int_equal(later.calls, 1);
        assert_int_equal(later.error, 0);
        assert_int_equal(q.calls, 0);
        caller_unref(later.caller);
}

static void test_query_invalid(void **state) {
        static const char *const names[] = { NULL, "", ":", "org.freedesktop.DBus", "1.42", ":1.42/x" };
        TestBus *t = need_bus(state);
        QueryResult q = {};

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (caller_query(t->bus, names[i], CALLER_CONNECTED_ANY, on_query, &q, NULL) != -EINVAL)
                        fail_msg("row %zu \"%s\": want -EINVAL", i, show(names[i]));
        assert_int_equal(caller_query(NULL, ":1.1", CALLER_CONNECTED_ANY, on_query, &q, NULL), -EINVAL);
        assert_int_equal(caller_query(t->bus, ":1.1", CALLER_CONNECTED_ANY, NULL, &q, NULL), -EINVAL);
        assert_int_equal(q.calls, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unit_name),
                cmocka_unit_test(test_cgroup),
                cmocka_unit_test(test_flatpak_info),
                cmocka_unit_test(test_app_id_is_valid),
                cmocka_unit_test(test_flatpak_root),
                cmocka_unit_test(test_identify),
                cmocka_unit_test(test_credentials),
                cmocka_unit_test(test_query),
                cmocka_unit_test(test_query_cancel),
                cmocka_unit_test(test_query_invalid),
        };

        return cmocka_run_group_tests(tests, bus_setup, bus_teardown);
}
