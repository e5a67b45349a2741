/* Table tests for the durable replacement of a file: what is on disk after a write that
 * succeeds and after each way one can fail, and the removal of an interrupted write's leftovers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "durable-write.h"
#include "util.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static char *make_tmpdir(void) {
        char *d = strdup("/tmp/test-durable-write-XXXXXX");

        assert_non_null(d);
        assert_non_null(mkdtemp(d));
        return d;
}

/* The file's content ("<none>" when absent, "<dir>" for a directory), for comparing. */
static char *content_of(int dir_fd, const char *name) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        char *text = NULL;
        size_t size;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return strdup("<none>");
        if (S_ISDIR(st.st_mode))
                return strdup("<dir>");
        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(read_full_fd(fd, 64 * 1024 * 1024, &text, &size), 0);
        return text;
}

/* Everything in the directory but name and the files the test made on purpose. */
static size_t count_entries(int dir_fd) {
        _cleanup_close_ int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        assert_true(fd >= 0);
        d = fdopendir(TAKE_FD(fd));
        assert_non_null(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static void put(int dir_fd, const char *name, const char *text) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
}

typedef enum Setup {
        SETUP_NONE,       /* the directory is empty */
        SETUP_OLD,        /* "f" holds "old" */
        SETUP_DIR,        /* "f" is a directory */
        SETUP_FSIZE,      /* "f" holds "old" and files may not grow past 16 bytes */
} Setup;

static void test_write_table(void **state) {
        static const struct {
                const char *what;
                Setup setup;
                const char *name;
                const char *data; /* NULL: 1 MiB of 'x' */
                DurableWriteFlags flags;
                int expected;
                const char *after; /* content of "f" afterwards; NULL: the data */
        } table[] = {
                { "a new file", SETUP_NONE, "f", "new\n", 0, 0, NULL },
                { "replaces the old version", SETUP_OLD, "f", "new\n", 0, 0, NULL },
                { "an empty file", SETUP_OLD, "f", "", 0, 0, NULL },
                { "large", SETUP_OLD, "f", NULL, 0, 0, NULL },
                { "no-replace, new", SETUP_NONE, "f", "new\n", DURABLE_WRITE_NOREPLACE, 0, NULL },
                { "no-replace keeps the old", SETUP_OLD, "f", "new\n", DURABLE_WRITE_NOREPLACE, -EEXIST, "old" },
                { "a directory stays", SETUP_DIR, "f", "new\n", 0, -EPERM, "<dir>" },
                { "a write that cannot finish", SETUP_FSIZE, "f", "more than sixteen bytes\n", 0, -EFBIG, "old" },
                { "a name with a slash", SETUP_OLD, "a/f", "new\n", 0, -EINVAL, "old" },
                { "an empty name", SETUP_OLD, "", "new\n", 0, -EINVAL, "old" },
        };
        static char big[1024 * 1024 + 1];

        memset(big, 'x', sizeof big - 1);
        (void) signal(SIGXFSZ, SIG_IGN);
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *dir = make_tmpdir(), *after = NULL;
                _cleanup_close_ int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                const char *data = table[i].data ?: big;
                struct rlimit saved;
                size_t before;
                int r;

                assert_true(dir_fd >= 0);
                if (table[i].setup == SETUP_OLD || table[i].setup == SETUP_FSIZE)
                        put(dir_fd, "f", "old");
                if (table[i].setup == SETUP_DIR)
                        assert_int_equal(mkdirat(dir_fd, "f", 0700), 0);
                before = count_entries(dir_fd);
                if (table[i].setup == SETUP_FSIZE) {
                        assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
                        assert_int_equal(setrlimit(RLIMIT_FSIZE, &(struct rlimit){ 16, saved.rlim_max }), 0);
                }
                r = durable_write_at(dir_fd, table[i].name, data, strlen(data), 0600, table[i].flags);
                if (table[i].setup == SETUP_FSIZE)
                        assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
                if (r != table[i].expected)
                        fail_msg("%s: %d, expected %d", table[i].what, r, table[i].expected);

                after = content_of(dir_fd, "f");
                if (!streq(after, table[i].after ?: data))
                        fail_msg("%s: \"%.40s\" afterwards", table[i].what, after);
                /* No temporary file nor second link is left, whatever happened. */
                assert_int_equal(count_entries(dir_fd), before + (r == 0 && table[i].setup == SETUP_NONE));
                nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        }
}

static void test_mode(void **state) {
        _cleanup_free_ char *dir = make_tmpdir();
        _cleanup_close_ int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        mode_t saved = umask(0022);
        struct stat st;

        assert_int_equal(durable_write_at(dir_fd, "secret", "x", 1, 0600, 0), 0);
        assert_int_equal(fstatat(dir_fd, "secret", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(durable_write_at(dir_fd, "public", "x", 1, 0644, 0), 0);
        assert_int_equal(fstatat(dir_fd, "public", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        umask(saved);
        assert_int_equal(durable_write_at(-1, "f", "x", 1, 0600, 0), -EINVAL);
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_leftovers(void **state) {
        static const struct {
                const char *entry;
                bool removed;
        } table[] = {
                { ".grants.tmp-abcdefghijkl", true },
                { ".grants.old-0123456789ab", true },
                { "grants", false },
                { ".grants.tmp-short", false },
                { ".grants.tmp-abcdefghijklm", false },
                { ".grants.new-abcdefghijkl", false },
                { ".grantsx.tmp-abcdefghijkl", false },
                { ".other.tmp-abcdefghijkl", false },
                { "grants.tmp-abcdefghijkl", false },
        };
        _cleanup_free_ char *dir = make_tmpdir();
        _cleanup_close_ int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int expected = 0;

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                put(dir_fd, table[i].entry, "x");
                expected += table[i].removed;
        }
        assert_int_equal(durable_write_remove_leftovers(dir_fd, "grants"), expected);
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                bool exists = faccessat(dir_fd, table[i].entry, F_OK, AT_SYMLINK_NOFOLLOW) >= 0;

                if (exists == table[i].removed)
                        fail_msg("%s: %s", table[i].entry, exists ? "still there" : "removed");
        }
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_write_table),
                cmocka_unit_test(test_mode),
                cmocka_unit_test(test_leftovers),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
