/* Table tests for the access history: the line format and its escapes, filters, rotation
 * bounds, reopening after a restart, and damaged lines that readers skip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "history.h"
#include "log.h"
#include "util.h"

#define SEC 1000000ULL
#define T0 (1767225600ULL * SEC)
#define HEADER_SIZE ((off_t) strlen(HISTORY_MAGIC " 1\n"))

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void rm_rf(const char *path) {
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *make_tmpdir(void) {
        char *d = strdup("/tmp/test-history-XXXXXX");

        assert_non_null(d);
        assert_non_null(mkdtemp(d));
        return d;
}

static off_t file_size(const char *dir, const char *name) {
        _cleanup_free_ char *path = NULL;
        struct stat st;

        assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
        if (stat(path, &st) < 0)
                return -1;
        return st.st_size;
}

static void append_raw(const char *dir, const char *name, const char *data, size_t size, bool truncate) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;

        assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND), 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t) size);
}

/* Every event a query gives, as one line of text each, for comparing whole histories. */
static int collect(const HistoryEvent *e, void *userdata) {
        FILE *f = userdata;

        fprintf(f, "%" PRIu64 " %s %u %s %" PRIu64 " [%s] [%s] [%s]", e->time_usec,
                history_event_type_to_string(e->type), (unsigned) e->uid, device_kind_to_string(e->kind),
                e->duration_usec, e->app_id, e->origin ?: "(none)", e->device ?: "(none)");
        for (char **x = e->extra; x && *x; x += 2)
                fprintf(f, " {%s=%s}", x[0], x[1]);
        fputc('\n', f);
        return 0;
}

static char *query_all(History *h, const HistoryFilter *filter, int *ret_count) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        int r;

        r = history_query(h, filter, collect, f);
        fclose(f);
        assert_true(r >= 0);
        if (ret_count)
                *ret_count = r;
        return buf;
}

static History *open_at(const char *dir, uint64_t size_max) {
        HistoryOptions options = { .size_max = size_max, .no_journal = true };
        History *h = NULL;

        assert_int_equal(history_open(dir, &options, &h), 0);
        return h;
}

static void test_roundtrip(void **state) {
        static char long_app[HISTORY_FIELD_MAX + 100];
        static char *extra_plain[] = { "decision", "allow-timed", "seconds", "300", NULL };
        static char *extra_odd[] = { "k y", "v=1,2\\3", "empty", "", "-", "-", NULL };
        static const struct {
                const char *what;
                HistoryEvent e;
                const char *expected; /* as collect() prints it */
        } table[] = {
                { "prompted",
                  { T0, HISTORY_PROMPTED, 1000, DEVICE_KIND_VIDEO, 0, "org.example.Meet", "https://meet.example", NULL },
                  "1767225600000000 prompted 1000 videoinput 0 [org.example.Meet] [https://meet.example] [(none)]\n" },
                { "granted with extras",
                  { T0 + 1, HISTORY_GRANTED, 1000, DEVICE_KIND_AUDIO, 0, "a", NULL, NULL, extra_plain },
                  "1767225600000001 granted 1000 audioinput 0 [a] [(none)] [(none)] {decision=allow-timed} "
                  "{seconds=300}\n" },
                { "stopped with a duration and a device",
                  { T0 + 2, HISTORY_STOPPED, 0, DEVICE_KIND_VIDEO, 60 * SEC, "host:/usr/bin/x", NULL,
                    "usb-0000:00:14.0-1" },
                  "1767225600000002 stopped 0 videoinput 60000000 [host:/usr/bin/x] [(none)] [usb-0000:00:14.0-1]\n" },
                { "spaces, newlines and escapes in every field",
                  { T0 + 3, HISTORY_REVOKED, 4294967294u, DEVICE_KIND_VIDEO, 0, "my app\n\\x41", "-", "Cam, \"HD\"=1",
                    extra_odd },
                  "1767225600000003 revoked 4294967294 videoinput 0 [my app\n\\x41] [-] [Cam, \"HD\"=1] {k y=v=1,2\\3} "
                  "{empty=} {-=-}\n" },
                { "empty origin and device are none",
                  { T0 + 4, HISTORY_DENIED, 1, DEVICE_KIND_AUDIO, 0, "a", "", "" },
                  "1767225600000004 denied 1 audioinput 0 [a] [(none)] [(none)]\n" },
                { "started", { T0 + 5, HISTORY_STARTED, 1, DEVICE_KIND_AUDIO, 0, "a", NULL, "Mic" },
                  "1767225600000005 started 1 audioinput 0 [a] [(none)] [Mic]\n" },
                { "a long app id is cut", { T0 + 6, HISTORY_STARTED, 1, DEVICE_KIND_AUDIO, 0, long_app, NULL, NULL },
                  NULL },
        };

        memset(long_app, 'x', sizeof long_app - 1);
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *dir = make_tmpdir(), *got = NULL;
                _cleanup_(history_freep) History *h = open_at(dir, 0);
                int n;

                print_message("round trip: %s\n", table[i].what);
                assert_int_equal(history_append(h, &table[i].e), 0);
                got = query_all(h, NULL, &n);
                assert_int_equal(n, 1);
                if (table[i].expected)
                        assert_string_equal(got, table[i].expected);
                else {
                        const char *a = strchr(got, '[') + 1;

                        assert_int_equal(strchr(a, ']') - a, HISTORY_FIELD_MAX);
                }
                rm_rf(dir);
        }
}

static void test_append_invalid(void **state) {
        static char *odd[] = { "key", NULL };
        static const struct {
                const char *what;
                HistoryEvent e;
        } table[] = {
                { "no app id", { T0, HISTORY_STARTED, 1, DEVICE_KIND_AUDIO, 0, NULL } },
                { "empty app id", { T0, HISTORY_STARTED, 1, DEVICE_KIND_AUDIO, 0, "" } },
                { "bad event", { T0, _HISTORY_EVENT_MAX, 1, DEVICE_KIND_AUDIO, 0, "a" } },
                { "bad kind", { T0, HISTORY_STARTED, 1, _DEVICE_KIND_MAX, 0, "a" } },
                { "a key without a value", { T0, HISTORY_STARTED, 1, DEVICE_KIND_AUDIO, 0, "a", NULL, NULL, odd } },
        };
        _cleanup_free_ char *dir = make_tmpdir();
        _cleanup_(history_freep) History *h = open_at(dir, 0);

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                print_message("append refuses: %s\n", table[i].what);
                assert_int_equal(history_append(h, &table[i].e), -EINVAL);
        }
        assert_int_equal(file_size(dir, HISTORY_FILE), strlen(HISTORY_MAGIC " 1\n"));
        rm_rf(dir);
}

static void test_filter(void **state) {
        static const HistoryEvent events[] = {
                { T0 + 10, HISTORY_PROMPTED, 1000, DEVICE_KIND_VIDEO, 0, "a", "https://o.example" },
                { T0 + 20, HISTORY_GRANTED, 1000, DEVICE_KIND_VIDEO, 0, "a", "https://o.example" },
                { T0 + 30, HISTORY_STARTED, 1000, DEVICE_KIND_VIDEO, 0, "a", "https://o.example", "cam" },
                { T0 + 40, HISTORY_STARTED, 1000, DEVICE_KIND_AUDIO, 0, "b", NULL, "mic" },
                { T0 + 50, HISTORY_STOPPED, 1000, DEVICE_KIND_VIDEO, 20, "a", "https://o.example", "cam" },
                { T0 + 60, HISTORY_DENIED, 1001, DEVICE_KIND_VIDEO, 0, "a", NULL },
                { T0 + 70, HISTORY_REVOKED, 1001, DEVICE_KIND_AUDIO, 0, "c", NULL },
        };
        static const struct {
                const char *what;
                HistoryFilter filter;
                const char *times; /* offsets from T0 of the events expected, in order */
        } table[] = {
                { "everything", { 0, (uid_t) -1, NULL, -1 }, "10 20 30 40 50 60 70" },
                { "since, inclusive", { T0 + 40, (uid_t) -1, NULL, -1 }, "40 50 60 70" },
                { "since after all", { T0 + 71, (uid_t) -1, NULL, -1 }, "" },
                { "uid", { 0, 1001, NULL, -1 }, "60 70" },
                { "uid 0 is a uid", { 0, 0, NULL, -1 }, "" },
                { "app", { 0, (uid_t) -1, "a", -1 }, "10 20 30 50 60" },
                { "app not there", { 0, (uid_t) -1, "zzz", -1 }, "" },
                { "kind", { 0, (uid_t) -1, NULL, DEVICE_KIND_AUDIO }, "40 70" },
                { "everything at once", { T0 + 25, 1000, "a", DEVICE_KIND_VIDEO }, "30 50" },
        };
        _cleanup_free_ char *dir = make_tmpdir();
        _cleanup_(history_freep) History *h = open_at(dir, 0);

        for (size_t i = 0; i < ELEMENTSOF(events); i++)
                assert_int_equal(history_append(h, &events[i]), 0);
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *got = query_all(h, &table[i].filter, NULL), *times = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&times, &size);

                print_message("filter: %s\n", table[i].what);
                for (char *l = got; *l; l = strchr(l, '\n') + 1)
                        fprintf(f, "%s%" PRIu64, l == got ? "" : " ", (uint64_t) (strtoull(l, NULL, 10) - T0));
                fclose(f);
                assert_string_equal(times, table[i].times);
        }
        rm_rf(dir);
}

static int stop_after_two(const HistoryEvent *e, void *userdata) {
        return ++*(int *) userdata == 2 ? -ECANCELED : 0;
}

/* The two files stay within their bound and a query gives the newest events, in order. */
static void test_rotation(void **state) {
        static const struct {
                const char *what;
                uint64_t size_max;
                unsigned events;
                size_t pad; /* length of an extra value, to vary the line size */
        } table[] = {
                { "small lines", 4096, 1000, 0 },
                { "lines of a few hundred bytes", 8192, 500, 300 },
                { "a line longer than the limit", 256, 20, 400 },
                { "never full", 1024 * 1024, 100, 10 },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *dir = make_tmpdir(), *got = NULL, *pad = calloc(1, table[i].pad + 1);
                _cleanup_(history_freep) History *h = open_at(dir, table[i].size_max);
                char *extra[] = { "pad", pad, NULL };
                uint64_t previous = 0;
                unsigned seen_first = 0, count = 0;
                int n, stopped = 0;
                off_t line_max = 0;

                print_message("rotation: %s\n", table[i].what);
                memset(pad, 'p', table[i].pad);
                for (unsigned k = 0; k < table[i].events; k++) {
                        HistoryEvent e = { T0 + k, HISTORY_STARTED, 1000, DEVICE_KIND_VIDEO, 0, "org.example.App",
                                           NULL, "cam", table[i].pad ? extra : NULL };
                        off_t before = file_size(dir, HISTORY_FILE), after;

                        assert_int_equal(history_append(h, &e), 0);
                        after = file_size(dir, HISTORY_FILE);
                        if (after > before)
                                line_max = MAX(line_max, after - before);
                }
                /* Each file holds at most the limit, or one line when a line alone is larger. */
                assert_true(file_size(dir, HISTORY_FILE) <= MAX((off_t) table[i].size_max, HEADER_SIZE + line_max));
                assert_true(file_size(dir, HISTORY_FILE_OLD) <= MAX((off_t) table[i].size_max, HEADER_SIZE + line_max));

                got = query_all(h, NULL, &n);
                assert_true(n > 0);
                for (char *l = got; *l; l = strchr(l, '\n') + 1) {
                        uint64_t t = strtoull(l, NULL, 10);

                        if (count == 0)
                                seen_first = (unsigned) (t - T0);
                        else
                                assert_int_equal(t, previous + 1); /* contiguous, oldest first */
                        previous = t;
                        count++;
                }
                assert_int_equal(count, n);
                /* The newest is always there, and nothing between the oldest kept and it is lost. */
                assert_int_equal(previous, T0 + table[i].events - 1);
                assert_int_equal(seen_first + count, table[i].events);
                if (HEADER_SIZE + (int64_t) line_max * table[i].events <= (int64_t) table[i].size_max)
                        assert_int_equal(count, table[i].events);
                else
                        /* history.1 was only rotated away once it was full but for a line. */
                        assert_true((int64_t) count * line_max >=
                                    (int64_t) table[i].size_max - HEADER_SIZE - line_max);
                assert_int_equal(history_query(h, NULL, stop_after_two, &stopped), -ECANCELED);
                rm_rf(dir);
        }
}

static void test_restart(void **state) {
        _cleanup_free_ char *dir = make_tmpdir(), *before = NULL, *after = NULL;
        History *h = open_at(dir, 2048);
        int n;

        for (unsigned k = 0; k < 30; k++) {
                HistoryEvent e = { T0 + k, k % 2 ? HISTORY_STOPPED : HISTORY_STARTED, 1000, DEVICE_KIND_AUDIO,
                                   k % 2 ? SEC : 0, "org.example.Rec", NULL, "mic" };

                assert_int_equal(history_append(h, &e), 0);
        }
        before = query_all(h, NULL, &n);
        assert_int_equal(n, 30);
        history_free(h);

        /* The daemon restarts: the events are there, and new ones follow them. */
        h = open_at(dir, 2048);
        after = query_all(h, NULL, &n);
        assert_string_equal(after, before);
        for (unsigned k = 30; k < 60; k++) {
                HistoryEvent e = { T0 + k, HISTORY_STARTED, 1000, DEVICE_KIND_AUDIO, 0, "org.example.Rec" };

                assert_int_equal(history_append(h, &e), 0);
        }
        free(after);
        after = query_all(h, NULL, &n);
        assert_true(n >= 30);
        assert_non_null(strstr(after, "1767225600000059 started"));
        assert_true(file_size(dir, HISTORY_FILE) <= 2048);
        assert_true(file_size(dir, HISTORY_FILE_OLD) <= 2048);
        history_free(h);
        rm_rf(dir);
}

/* Lines a reader cannot parse are skipped; the rest is kept. */
static void test_garbage(void **state) {
        static const char *const garbage[] = {
                "garbage\n",
                "\n",
                "1767225600000000 started 1000 camera 0 a - -  \n",
                "1767225600000000 started 1000 camera 0 a -\n",
                "1767225600000000 exploded 1000 camera 0 a - -\n",
                "1767225600000000 started 1000 videoinput 0 a - -\n",
                "1767225600000000 started -1 camera 0 a - -\n",
                "1767225600000000 started 4294967295 camera 0 a - -\n",
                "01767225600000000 started 1000 camera 0 a - -\n",
                "1767225600000000 started 1000 camera x a - -\n",
                "1767225600000000 started 1000 camera 0 - - -\n",
                "1767225600000000 started 1000 camera 0 a\\x0 - -\n",
                "1767225600000000 started 1000 camera 0 a\\x00 - -\n",
                "1767225600000000 started 1000 camera 0 a b\xc3\xbc -\n",
                "1767225600000000 started 1000 camera 0 a - - novalue\n",
                "1767225600000000 started 1000 camera 0 a - - =v\n",
                "1767225600000000 started 1000 camera 0 a - - k=v=w\n",
                "1767225600000000 started 1000 camera 0 a - - k=v k=v k=v k=v k=v k=v k=v k=v k=v k=v k=v k=v k=v "
                "k=v k=v k=v k=v\n",
                "mediagate-history 1\n",
                "1767225600000000 started 1000 camera 0 a - -\r\n",
                "\0\0\0\0\n",
        };
        _cleanup_free_ char *dir = make_tmpdir(), *got = NULL;
        History *h = open_at(dir, 0);
        HistoryEvent e = { T0, HISTORY_STARTED, 1000, DEVICE_KIND_VIDEO, 0, "good" };
        int n;

        assert_int_equal(history_append(h, &e), 0);
        for (size_t i = 0; i < ELEMENTSOF(garbage); i++) {
                size_t len = strlen(garbage[i]);

                if (garbage[i][0] == 0)
                        len = 5;
                append_raw(dir, HISTORY_FILE, garbage[i], len, false);
                e.time_usec++;
                assert_int_equal(history_append(h, &e), 0);
        }
        /* Half a line at the end, as a crash mid-write would leave it. */
        append_raw(dir, HISTORY_FILE, "1767225600000099 star", 21, false);
        history_free(h);

        h = open_at(dir, 0);
        got = query_all(h, NULL, &n);
        assert_int_equal(n, (int) ELEMENTSOF(garbage) + 1);
        e.time_usec = T0 + 1000;
        assert_int_equal(history_append(h, &e), 0);
        free(got);
        got = query_all(h, NULL, &n);
        assert_int_equal(n, (int) ELEMENTSOF(garbage) + 2);
        assert_non_null(strstr(got, "1767225600001000 started"));
        assert_null(strstr(got, "1767225600000099"));
        history_free(h);
        rm_rf(dir);
}

/* A file that is not a version 1 history: never read as one, and set aside for a new one. */
static void test_foreign_file(void **state) {
        static const struct {
                const char *what;
                const char *content;
        } table[] = {
                { "another version", "mediagate-history 2\n1767225600000000 started 1000 camera 0 a - -\n" },
                { "no header", "1767225600000000 started 1000 camera 0 a - -\n" },
                { "something else", "\x7f" "ELF" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *dir = make_tmpdir(), *got = NULL;
                HistoryEvent e = { T0 + 5, HISTORY_STARTED, 1000, DEVICE_KIND_VIDEO, 0, "new" };
                History *h;
                int n;

                print_message("foreign file: %s\n", table[i].what);
                append_raw(dir, HISTORY_FILE, table[i].content, strlen(table[i].content), true);
                h = open_at(dir, 0);
                assert_int_equal(file_size(dir, HISTORY_FILE_OLD), (off_t) strlen(table[i].content));
                assert_int_equal(history_append(h, &e), 0);
                got = query_all(h, NULL, &n);
                assert_int_equal(n, 1);
                assert_non_null(strstr(got, "[new]"));
                history_free(h);
                rm_rf(dir);
        }
}

/* The journal path formats every kind of event (here to stderr, outside the journal). */
static void test_journal_entries(void **state) {
        static char *extra[] = { "decision", "deny-always", NULL };
        _cleanup_free_ char *dir = make_tmpdir();
        HistoryOptions options = {};
        _cleanup_(history_freep) History *h = NULL;
        int n;

        log_set_max_level(LOG_INFO);
        assert_int_equal(history_open(dir, &options, &h), 0);
        for (HistoryEventType t = 0; t < _HISTORY_EVENT_MAX; t++) {
                HistoryEvent e = { 0, t, 1000, DEVICE_KIND_VIDEO, t == HISTORY_STOPPED ? SEC : 0, "org.example.Meet",
                                   "https://meet.example", "Integrated Camera", extra };

                assert_int_equal(history_append(h, &e), 0);
        }
        log_set_max_level(LOG_WARNING);
        free(query_all(h, NULL, &n));
        assert_int_equal(n, _HISTORY_EVENT_MAX);
        for (HistoryEventType t = 0; t < _HISTORY_EVENT_MAX; t++)
                assert_int_equal(history_event_type_from_string(history_event_type_to_string(t)), t);
        assert_int_equal(history_event_type_from_string("exploded"), _HISTORY_EVENT_INVALID);
        rm_rf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip),
                cmocka_unit_test(test_append_invalid),
                cmocka_unit_test(test_filter),
                cmocka_unit_test(test_rotation),
                cmocka_unit_test(test_restart),
                cmocka_unit_test(test_garbage),
                cmocka_unit_test(test_foreign_file),
                cmocka_unit_test(test_journal_entries),
        };

        log_set_max_level(LOG_WARNING);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
