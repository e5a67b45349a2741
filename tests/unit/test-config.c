/* Where the daemon's settings come from: the vendor's and the admin's mediagated.conf and their
 * drop-ins, in order, masked and overridden as systemd's tools do it. One row a layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "config.h"
#include "util.h"

/* A file of the layout: its path below the test's root ("vendor/..." or "admin/...") and its
 * text; NULL_LINK makes it a symlink to /dev/null, DIRECTORY a directory. */
#define NULL_LINK ((const char *) 1)
#define DIRECTORY ((const char *) 2)

typedef struct File {
        const char *path;
        const char *text;
} File;

typedef struct Case {
        const char *name;
        File files[8];
        /* Expected: the files read, in order (relative to the root, space-separated), then the
         * settings; or an error whose text starts with error_path and contains error_text. */
        const char *read;
        unsigned prompt_timeout_sec;
        unsigned max_pending_per_connection;
        const char *leds; /* IndicatorLed= values, space-separated, "" for none */
        const char *error_path;
        const char *error_text;
} Case;

#define TIMEOUT(n) "[Daemon]\nPromptTimeoutSec=" #n "\n"

static const Case cases[] = {
        { "nothing installed: the built-in defaults",
          {}, "", 0, 16, "" },
        { "the vendor's file alone",
          { { "vendor/mediagated.conf", TIMEOUT(5) } }, "vendor/mediagated.conf", 5, 16, "" },
        { "the admin's file overrides the vendor's, key by key",
          { { "vendor/mediagated.conf", TIMEOUT(5) "MaxPendingRequestsPerConnection=4\n" },
            { "admin/mediagated.conf", TIMEOUT(7) } },
          "vendor/mediagated.conf admin/mediagated.conf", 7, 4, "" },
        { "drop-ins come after both main files, even the vendor's",
          { { "vendor/mediagated.conf", TIMEOUT(5) },
            { "admin/mediagated.conf", TIMEOUT(7) },
            { "vendor/mediagated.conf.d/10-distro.conf", TIMEOUT(9) } },
          "vendor/mediagated.conf admin/mediagated.conf vendor/mediagated.conf.d/10-distro.conf", 9, 16, "" },
        { "drop-ins of both directories sorted by name",
          { { "vendor/mediagated.conf.d/20-b.conf", TIMEOUT(20) },
            { "admin/mediagated.conf.d/10-a.conf", TIMEOUT(10) },
            { "admin/mediagated.conf.d/30-c.conf", "[Daemon]\nMaxPendingRequestsPerConnection=3\n" } },
          "admin/mediagated.conf.d/10-a.conf vendor/mediagated.conf.d/20-b.conf admin/mediagated.conf.d/30-c.conf",
          20, 3, "" },
        { "the admin's drop-in replaces the vendor's of the same name",
          { { "vendor/mediagated.conf.d/50-x.conf", TIMEOUT(11) "MaxPendingRequestsPerConnection=2\n" },
            { "admin/mediagated.conf.d/50-x.conf", TIMEOUT(12) } },
          "admin/mediagated.conf.d/50-x.conf", 12, 16, "" },
        { "a drop-in linked to /dev/null masks the vendor's",
          { { "vendor/mediagated.conf", TIMEOUT(5) },
            { "vendor/mediagated.conf.d/50-x.conf", TIMEOUT(11) },
            { "admin/mediagated.conf.d/50-x.conf", NULL_LINK } },
          "vendor/mediagated.conf", 5, 16, "" },
        { "a main file linked to /dev/null is not read",
          { { "vendor/mediagated.conf", TIMEOUT(5) },
            { "admin/mediagated.conf", NULL_LINK } },
          "vendor/mediagated.conf", 5, 16, "" },
        { "only NAME.conf counts: hidden files, backups, other names and directories are skipped",
          { { "admin/mediagated.conf.d/.hidden.conf", TIMEOUT(1) },
            { "admin/mediagated.conf.d/60-y.conf.bak", TIMEOUT(2) },
            { "admin/mediagated.conf.d/README", "not a configuration file" },
            { "admin/mediagated.conf.d/.conf", TIMEOUT(3) },
            { "admin/mediagated.conf.d/70-z.conf", TIMEOUT(4) } },
          "admin/mediagated.conf.d/70-z.conf", 4, 16, "" },
        { "lists accumulate over files; an empty assignment clears them",
          { { "vendor/mediagated.conf", "[Daemon]\nIndicatorLed=/sys/a\n" },
            { "admin/mediagated.conf", "[Daemon]\nIndicatorLed=/sys/b\n" },
            { "admin/mediagated.conf.d/10-reset.conf", "[Daemon]\nIndicatorLed=\nIndicatorLed=camera:/sys/c\n" },
            { "vendor/mediagated.conf.d/20-more.conf", "[Daemon]\nIndicatorLed=microphone:/sys/d\n" } },
          "vendor/mediagated.conf admin/mediagated.conf admin/mediagated.conf.d/10-reset.conf "
          "vendor/mediagated.conf.d/20-more.conf",
          0, 16, "camera:/sys/c microphone:/sys/d" },
        { "a bad value in a drop-in is an error with its file and line",
          { { "admin/mediagated.conf", TIMEOUT(7) },
            { "vendor/mediagated.conf.d/10-bad.conf", "[Daemon]\n\nPromptTimeoutSec=soon\n" } },
          NULL, 0, 0, NULL, "vendor/mediagated.conf.d/10-bad.conf:3:", "PromptTimeoutSec=" },
        { "a drop-in directory that cannot be listed is an error naming it",
          { { "admin/mediagated.conf", TIMEOUT(7) },
            { "admin/mediagated.conf.d", "a file where the directory should be" } },
          NULL, 0, 0, NULL, "admin/mediagated.conf.d:", "Not a directory" },
        { "a drop-in that is a directory is an error",
          { { "admin/mediagated.conf.d/10-dir.conf", DIRECTORY } },
          NULL, 0, 0, NULL, "admin/mediagated.conf.d/10-dir.conf:", "" },
};

static char *make_root(void) {
        char *root = strdup("/tmp/test-config-XXXXXX");

        assert_non_null(root);
        assert_non_null(mkdtemp(root));
        return root;
}

static void write_file(const char *root, const File *f) {
        _cleanup_free_ char *path = NULL, *dir = NULL;
        char *slash;

        assert_true(asprintf(&path, "%s/%s", root, f->path) > 0);
        dir = strdup(path);
        assert_non_null(dir);
        slash = strrchr(dir, '/');
        *slash = '\0';
        assert_int_equal(mkdir_parents_and_self(dir, 0755), 0);
        if (f->text == NULL_LINK)
                assert_int_equal(symlink("/dev/null", path), 0);
        else if (f->text == DIRECTORY)
                assert_int_equal(mkdir(path, 0755), 0);
        else {
                FILE *file = fopen(path, "we");

                assert_non_null(file);
                fputs(f->text, file);
                assert_int_equal(fclose(file), 0);
        }
}

/* The list of paths relative to root, space-separated. */
static char *relative_list(const char *root, char **paths) {
        char *text = strdup("");

        for (char **p = paths; p && *p; p++) {
                const char *rel = startswith(*p, root);
                char *joined;

                assert_non_null(rel);
                assert_true(asprintf(&joined, "%s%s%s", text, *text ? " " : "", rel + 1) > 0);
                free(text);
                text = joined;
        }
        return text;
}

static void check_case(const Case *c) {
        _cleanup_free_ char *root = make_root(), *vendor = NULL, *admin = NULL, *error = NULL,
                            *read = NULL, *leds = NULL, *cmd = NULL;
        _cleanup_strv_free_ char **files = NULL;
        Config config;
        int r;

        for (const File *f = c->files; f->path; f++)
                write_file(root, f);
        assert_true(asprintf(&vendor, "%s/vendor", root) > 0);
        assert_true(asprintf(&admin, "%s/admin", root) > 0);
        const char *const dirs[] = { vendor, admin, NULL };

        config_init(&config);
        r = config_load_dirs(&config, dirs, &error);
        if (c->error_path) {
                _cleanup_free_ char *prefix = NULL;

                if (r >= 0)
                        fail_msg("%s: loaded, expected an error", c->name);
                assert_non_null(error);
                assert_true(asprintf(&prefix, "%s/%s", root, c->error_path) > 0);
                if (!startswith(error, prefix) || !strstr(error, c->error_text))
                        fail_msg("%s: error '%s', expected '%s...%s'", c->name, error, c->error_path,
                                 c->error_text);
        } else {
                if (r < 0)
                        fail_msg("%s: %s", c->name, error ?: strerror(-r));
                assert_null(error);
                assert_int_equal(config_files_list(dirs, &files, &error), 0);
                read = relative_list(root, files);
                if (!streq(read, c->read))
                        fail_msg("%s: read '%s', expected '%s'", c->name, read, c->read);
                assert_int_equal(config.prompt_timeout_usec, c->prompt_timeout_sec * 1000000ULL);
                assert_int_equal(config.max_pending_per_connection, c->max_pending_per_connection);
                leds = strdup("");
                for (char **l = config.indicator_leds; l && *l; l++) {
                        char *joined;

                        assert_true(asprintf(&joined, "%s%s%s", leds, *leds ? " " : "", *l) > 0);
                        free(leds);
                        leds = joined;
                }
                if (!streq(leds, c->leds))
                        fail_msg("%s: IndicatorLed %s, expected %s", c->name, leds, c->leds);
        }
        config_done(&config);
        assert_true(asprintf(&cmd, "rm -rf '%s'", root) > 0);
        assert_int_equal(system(cmd), 0);
}

static void test_layouts(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check_case(&cases[i]);
}

/* --config FILE reads that file and nothing else; a missing one is -ENOENT, not the defaults. */
static void test_explicit_file(void **state) {
        _cleanup_free_ char *root = make_root(), *path = NULL, *missing = NULL, *error = NULL, *cmd = NULL;
        const File f = { "only/mediagated.conf", TIMEOUT(42) };
        Config config;

        write_file(root, &f);
        assert_true(asprintf(&path, "%s/only/mediagated.conf", root) > 0);
        assert_true(asprintf(&missing, "%s/none.conf", root) > 0);

        config_init(&config);
        assert_int_equal(config_load(&config, path, &error), 0);
        assert_int_equal(config.prompt_timeout_usec, 42 * 1000000ULL);
        assert_int_equal(config_load(&config, missing, &error), -ENOENT);
        config_done(&config);
        assert_true(asprintf(&cmd, "rm -rf '%s'", root) > 0);
        assert_int_equal(system(cmd), 0);
}

/* The file the package installs as the vendor's settings parses cleanly and changes nothing:
 * its values are the built-in defaults, shown commented out. */
static void test_shipped_vendor_file(void **state) {
        _cleanup_free_ char *error = NULL;
        Config config, defaults;

        config_init(&config);
        config_init(&defaults);
        if (config_load(&config, "daemon/mediagated.conf", &error) < 0)
                fail_msg("daemon/mediagated.conf: %s (run the test from the top of the source tree)",
                         error ?: "cannot read it");
        assert_int_equal(config.backends, defaults.backends);
        assert_false(config.backends_set);
        assert_null(config.synthetic_devices);
        assert_int_equal(config.prompt_timeout_usec, defaults.prompt_timeout_usec);
        assert_int_equal(config.reveal_constraint_name, defaults.reveal_constraint_name);
        assert_null(config.policy_dir);
        assert_null(config.state_dir);
        assert_null(config.indicator_leds);
        assert_int_equal(config.max_pending_per_connection, defaults.max_pending_per_connection);
        assert_int_equal(config.max_pending_per_uid, defaults.max_pending_per_uid);
        assert_int_equal(config.max_tracks_per_connection, defaults.max_tracks_per_connection);
        assert_int_equal(config.max_tracks_per_uid, defaults.max_tracks_per_uid);
        config_done(&config);
        config_done(&defaults);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_layouts),
                cmocka_unit_test(test_explicit_file),
                cmocka_unit_test(test_shipped_vendor_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
