/* Table tests for brokers.c: policy directories built in /tmp, one row per directory, checked
 * against the exact broker list that should come out of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "brokers.h"
#include "util.h"

typedef enum FileKind {
        FILE_REGULAR,
        FILE_MASKED,     /* a symlink to /dev/null */
        FILE_DIRECTORY,  /* a directory with a .conf name */
        FILE_UNREADABLE, /* mode 000 */
        FILE_HUGE,       /* content, then padding past BROKERS_FILE_MAX */
} FileKind;

typedef struct FileSpec {
        const char *name;
        const char *content;
        FileKind kind;
        size_t size; /* 0: strlen(content) */
} FileSpec;

typedef struct Row {
        const char *what;
        bool no_directory;
        FileSpec files[5];
        const char *expected; /* the broker list, space-separated, in order */
} Row;

#define GOOD "[Brokers]\nApps=org.mozilla.firefox\n"
#define WITH_NUL "[Brokers]\nApps=org.evil.App\n\0\n"

static const Row table[] = {
        { "missing directory", true, {}, "" },
        { "empty directory", false, {}, "" },
        { "one file, two apps", false,
          { { "50-browsers.conf", "[Brokers]\nApps=org.mozilla.firefox org.chromium.Chromium\n" } },
          "org.mozilla.firefox org.chromium.Chromium" },
        { "every app id form", false,
          { { "50-browsers.conf",
              "[Brokers]\nApps=org.mozilla.firefox snap.firefox host:/usr/lib/firefox/firefox snap.chromium_beta\n" } },
          "org.mozilla.firefox snap.firefox host:/usr/lib/firefox/firefox snap.chromium_beta" },
        { "repeated Apps= accumulate, duplicates once", false,
          { { "50-browsers.conf",
              "[Brokers]\nApps=org.a.App org.b.App\nApps=org.b.App org.c.App\n[Brokers]\nApps=org.a.App org.d.App\n" } },
          "org.a.App org.b.App org.c.App org.d.App" },
        { "files accumulate in lexical order", false,
          { { "20-b.conf", "[Brokers]\nApps=org.b.App\n" },
            { "10-a.conf", "[Brokers]\nApps=org.a.App org.b.App\n" },
            { "9-c.conf", "[Brokers]\nApps=org.c.App\n" } },
          "org.a.App org.b.App org.c.App" },
        { "whitespace", false,
          { { "50-browsers.conf", "[Brokers]\n  Apps =\torg.a.App \t org.b.App  \n" } },
          "org.a.App org.b.App" },
        { "empty Apps= adds nothing", false,
          { { "50-browsers.conf", "[Brokers]\nApps=\nApps=org.a.App\n" } },
          "org.a.App" },
        { "comments and other sections", false,
          { { "50-policy.conf",
              "# brokers and rules\n[Rule]\nAction=deny\nApps=org.evil.App\n\n; more\n[Brokers]\nApps=org.a.App\n[Rule]\nApps=org.evil.Two\n" } },
          "org.a.App" },
        { "section names are case-sensitive", false,
          { { "50-browsers.conf", "[brokers]\nApps=org.a.App\n" } },
          "" },
        { "syntax error: the whole file is ignored, others count", false,
          { { "10-good.conf", GOOD },
            { "20-bad.conf", "[Brokers]\nApps=org.evil.App\nthis is not an assignment\n" } },
          "org.mozilla.firefox" },
        { "bad section header", false,
          { { "10-good.conf", GOOD }, { "20-bad.conf", "[Brokers]\nApps=org.evil.App\n[Rule\n" } },
          "org.mozilla.firefox" },
        { "unknown key in [Brokers]", false,
          { { "10-good.conf", GOOD }, { "20-bad.conf", "[Brokers]\nApps=org.evil.App\nApp=org.typo.App\n" } },
          "org.mozilla.firefox" },
        { "invalid app id", false,
          { { "10-good.conf", GOOD }, { "20-bad.conf", "[Brokers]\nApps=org.evil.App firefox\n" } },
          "org.mozilla.firefox" },
        { "relative host path", false,
          { { "20-bad.conf", "[Brokers]\nApps=host:usr/bin/firefox\n" } },
          "" },
        { "assignment before any section", false,
          { { "10-good.conf", GOOD }, { "20-bad.conf", "Apps=org.evil.App\n[Brokers]\nApps=org.evil.Two\n" } },
          "org.mozilla.firefox" },
        { "NUL byte", false,
          { { "10-good.conf", GOOD }, { "20-bad.conf", WITH_NUL, FILE_REGULAR, sizeof(WITH_NUL) - 1 } },
          "org.mozilla.firefox" },
        { "broken file first, good file after", false,
          { { "10-bad.conf", "[Brokers\n" }, { "20-good.conf", GOOD } },
          "org.mozilla.firefox" },
        { "only *.conf, no hidden files", false,
          { { "10-good.conf", GOOD },
            { "README", "[Brokers]\nApps=org.readme.App\n" },
            { "20-x.conf.bak", "[Brokers]\nApps=org.backup.App\n" },
            { ".30-hidden.conf", "[Brokers]\nApps=org.hidden.App\n" },
            { ".conf", "[Brokers]\nApps=org.bare.App\n" } },
          "org.mozilla.firefox" },
        { "masked with /dev/null", false,
          { { "10-good.conf", GOOD }, { "20-masked.conf", NULL, FILE_MASKED } },
          "org.mozilla.firefox" },
        { "a directory named .conf", false,
          { { "10-good.conf", GOOD }, { "20-dir.conf", NULL, FILE_DIRECTORY } },
          "org.mozilla.firefox" },
        { "unreadable file", false,
          { { "10-good.conf", GOOD }, { "20-secret.conf", "[Brokers]\nApps=org.evil.App\n", FILE_UNREADABLE } },
          "org.mozilla.firefox" },
        { "file over the size limit", false,
          { { "10-good.conf", GOOD }, { "20-huge.conf", "[Brokers]\nApps=org.evil.App\n", FILE_HUGE } },
          "org.mozilla.firefox" },
};

static void make_file(const char *dir, const FileSpec *f) {
        char path[256];
        size_t size;
        int fd;

        snprintf(path, sizeof path, "%s/%s", dir, f->name);
        switch (f->kind) {
        case FILE_MASKED:
                assert_int_equal(symlink("/dev/null", path), 0);
                return;
        case FILE_DIRECTORY:
                assert_int_equal(mkdir(path, 0755), 0);
                return;
        default:
                break;
        }

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        /* An explicit size: a row may carry a NUL byte on purpose. */
        size = f->size ?: strlen(f->content);
        assert_int_equal(write(fd, f->content, size), (ssize_t) size);
        if (f->kind == FILE_HUGE) {
                char pad[4096];

                memset(pad, '#', sizeof pad);
                pad[0] = '\n';
                for (size_t n = 0; n <= BROKERS_FILE_MAX; n += sizeof pad)
                        assert_int_equal(write(fd, pad, sizeof pad), (ssize_t) sizeof pad);
        }
        if (f->kind == FILE_UNREADABLE)
                assert_int_equal(fchmod(fd, 0000), 0);
        close(fd);
}

static void remove_file(const char *dir, const FileSpec *f) {
        char path[256];

        snprintf(path, sizeof path, "%s/%s", dir, f->name);
        if (f->kind == FILE_DIRECTORY)
                assert_int_equal(rmdir(path), 0);
        else
                assert_int_equal(unlink(path), 0);
}

static char *joined(const Brokers *b) {
        char *s = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&s, &size);

        assert_non_null(f);
        for (char * const *i = brokers_list(b); *i; i++)
                fprintf(f, "%s%s", i == brokers_list(b) ? "" : " ", *i);
        fclose(f);
        return s;
}

/* Load as an unprivileged user (root reads mode-000 files) and hand the result back. */
static char *load_as_nobody(const char *dir) {
        char buf[4096];
        size_t n = 0;
        int pipefd[2], status;
        pid_t pid;

        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                _cleanup_(brokers_freep) Brokers *b = NULL;
                _cleanup_free_ char *s = NULL;

                if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
                        _exit(2);
                if (brokers_load_dir(dir, &b) < 0)
                        _exit(3);
                s = joined(b);
                if (write(pipefd[1], s, strlen(s)) < 0)
                        _exit(4);
                _exit(0);
        }
        close(pipefd[1]);
        for (;;) {
                ssize_t k = read(pipefd[0], buf + n, sizeof buf - 1 - n);

                if (k <= 0)
                        break;
                n += (size_t) k;
        }
        close(pipefd[0]);
        buf[n] = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        return strdup(buf);
}

static void test_load_dir(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                const Row *row = &table[i];
                char dir[] = "/tmp/test-brokers.XXXXXX";
                _cleanup_(brokers_freep) Brokers *b = NULL;
                _cleanup_free_ char *got = NULL;
                bool unreadable = false;
                int r;

                assert_non_null(mkdtemp(dir));
                assert_int_equal(chmod(dir, 0755), 0);
                for (const FileSpec *f = row->files; f < row->files + ELEMENTSOF(row->files) && f->name; f++) {
                        make_file(dir, f);
                        unreadable = unreadable || f->kind == FILE_UNREADABLE;
                }
                if (row->no_directory)
                        assert_int_equal(rmdir(dir), 0);

                if (unreadable && geteuid() == 0)
                        got = load_as_nobody(dir);
                else {
                        r = brokers_load_dir(dir, &b);
                        if (r < 0)
                                fail_msg("row %zu (%s): brokers_load_dir() failed: %d", i, row->what, r);
                        got = joined(b);
                        assert_int_equal(brokers_count(b), strv_length((char **) brokers_list(b)));
                }

                for (const FileSpec *f = row->files; f < row->files + ELEMENTSOF(row->files) && f->name; f++)
                        remove_file(dir, f);
                if (!row->no_directory)
                        assert_int_equal(rmdir(dir), 0);

                if (!streq(got, row->expected))
                        fail_msg("row %zu (%s): got \"%s\", want \"%s\"", i, row->what, got, row->expected);
        }
}

static void test_contains(void **state) {
        static const struct {
                const char *app_id;
                bool contained;
        } queries[] = {
                { "org.mozilla.firefox", true },
                { "snap.firefox", true },
                { "host:/usr/lib/firefox/firefox", true },
                { "org.mozilla.Firefox", false },
                { "org.mozilla", false },
                { "org.mozilla.firefox.evil", false },
                { "host:/usr/lib/firefox", false },
                { "", false },
                { NULL, false },
        };
        char dir[] = "/tmp/test-brokers.XXXXXX", path[256];
        _cleanup_(brokers_freep) Brokers *b = NULL;
        FileSpec f = { "50-browsers.conf",
                       "[Brokers]\nApps=org.mozilla.firefox snap.firefox host:/usr/lib/firefox/firefox\n" };

        assert_non_null(mkdtemp(dir));
        make_file(dir, &f);
        assert_int_equal(brokers_load_dir(dir, &b), 0);
        snprintf(path, sizeof path, "%s/%s", dir, f.name);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);

        for (size_t i = 0; i < ELEMENTSOF(queries); i++)
                if (brokers_contains(b, queries[i].app_id) != queries[i].contained)
                        fail_msg("row %zu \"%s\": want %s", i, strempty(queries[i].app_id),
                                 queries[i].contained ? "contained" : "not contained");

        assert_false(brokers_contains(NULL, "org.mozilla.firefox"));
        assert_int_equal(brokers_count(NULL), 0);
        assert_null(brokers_list(NULL)[0]);
        assert_null(brokers_free(NULL));
        assert_int_equal(brokers_load_dir(NULL, &b), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_load_dir),
                cmocka_unit_test(test_contains),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
