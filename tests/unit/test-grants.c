/* Table tests for the grant store and its file: lookups, the file format and every kind of
 * damage to it, expiry on injected clocks (wall-clock jumps, suspend, restarts), scopes, revoke,
 * listing, 100,000 grants, and writes killed with SIGKILL at random points. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "grants-file.h"
#include "grants.h"
#include "log.h"
#include "util.h"

#define SEC 1000000ULL
#define MINUTE (60 * SEC)
#define DAY (86400 * SEC)
#define YEAR (365 * DAY)
#define BOOT_A "0123456789abcdef0123456789abcdef"
#define BOOT_B "fedcba9876543210fedcba9876543210"
/* 2026-01-01T00:00:00Z */
#define T0 (1767225600ULL * SEC)

typedef struct FakeClock {
        uint64_t realtime, boottime;
} FakeClock;

static uint64_t fake_now(clockid_t clock, void *userdata) {
        FakeClock *c = userdata;

        return clock == CLOCK_REALTIME ? c->realtime : c->boottime;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void rm_rf(const char *path) {
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *make_tmpdir(void) {
        char *d = strdup("/tmp/test-grants-XXXXXX");

        assert_non_null(d);
        assert_non_null(mkdtemp(d));
        return d;
}

static int count_files(const char *dir, const char *prefix) {
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (startswith(de->d_name, prefix))
                        n++;
        closedir(d);
        return n;
}

static void remove_files(const char *dir, const char *prefix) {
        DIR *d = opendir(dir);
        struct dirent *de;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (startswith(de->d_name, prefix))
                        assert_int_equal(unlinkat(dirfd(d), de->d_name, 0), 0);
        closedir(d);
}

static void write_file(const char *dir, const char *name, const char *data, size_t size) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;

        assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t) size);
}

static char *read_file(const char *dir, const char *name, size_t *ret_size) {
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char *buf = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&buf, &size);
        char chunk[4096];
        size_t k;

        assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
        f = fopen(path, "re");
        assert_non_null(f);
        while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
                fwrite(chunk, 1, k, m);
        fclose(m);
        if (ret_size)
                *ret_size = size;
        return buf;
}

/* The store as sorted text lines, one grant a line, for comparing whole stores. */
typedef struct Lines {
        char **lines;
        size_t n, alloc;
} Lines;

static int dump_one(const GrantInfo *g, void *userdata) {
        Lines *l = userdata;
        _cleanup_free_ char *devices = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&devices, &size);

        for (char * const *d = g->devices; d && *d; d++)
                fprintf(f, "%s%s", d == g->devices ? "" : "+", *d);
        fclose(f);
        if (l->n == l->alloc) {
                l->alloc = MAX(l->alloc * 2, 64u);
                l->lines = realloc(l->lines, l->alloc * sizeof(char *));
                assert_non_null(l->lines);
        }
        assert_true(asprintf(&l->lines[l->n++], "%u %s %s %s %s %s %" PRIu64 " %s", (unsigned) g->uid,
                             device_kind_to_permission(g->kind), grant_decision_to_string(g->decision), g->app_id,
                             g->origin ?: "-", g->devices ? devices : "*", g->expires_boottime_usec,
                             g->owner ?: "persistent") > 0);
        return 0;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

static char *dump_store(GrantStore *s) {
        GrantFilter all = GRANT_FILTER_ALL;
        Lines l = {};
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        assert_true(grant_store_list(s, &all, dump_one, &l) >= 0);
        if (l.n)
                qsort(l.lines, l.n, sizeof(char *), compare_strings);
        f = open_memstream(&buf, &size);
        for (size_t i = 0; i < l.n; i++) {
                fprintf(f, "%s\n", l.lines[i]);
                free(l.lines[i]);
        }
        fclose(f);
        free(l.lines);
        return buf;
}

static char *sha256_of(const char *data, size_t size) {
        struct sha256_ctx ctx;
        uint8_t digest[SHA256_DIGEST_SIZE];
        char *hex = malloc(SHA256_DIGEST_SIZE * 2 + 1);

        sha256_init(&ctx);
        sha256_update(&ctx, size, (const uint8_t *) data);
        sha256_digest(&ctx, sizeof digest, digest);
        for (size_t i = 0; i < sizeof digest; i++)
                sprintf(hex + 2 * i, "%02x", digest[i]);
        return hex;
}

/* Lookups */

typedef struct SetSpec {
        uid_t uid;
        const char *app, *origin;
        DeviceKind kind;
        const char *devices[3];
        GrantDecision decision;
        uint64_t expires;
        const char *owner;
} SetSpec;

static char **devices_of(const char * const *d) {
        char **l = NULL;

        if (!d[0])
                return NULL;
        for (; *d; d++)
                assert_int_equal(strv_extend(&l, *d), 0);
        return l;
}

/* The loop of a store whose writes happen off it (NULL: within each call). */
static sd_event *loop = NULL;

static void record_result(int result, void *userdata) {
        *(int *) userdata = result;
}

static int wait_result(int r, const int *result) {
        if (r < 0)
                return r;
        while (*result == INT_MIN) {
                assert_non_null(loop);
                assert_true(sd_event_run(loop, UINT64_MAX) >= 0);
        }
        return *result;
}

/* A change and how it ended: its result (the number removed, for a revoke), or why it was
 * refused at once. */
static int set_now(GrantStore *s, uid_t uid, const char *app, const char *origin, DeviceKind kind, char **devices,
                   GrantDecision decision, uint64_t expires, const char *owner) {
        int result = INT_MIN, r;

        r = grant_store_set(s, uid, app, origin, kind, devices, decision, expires, owner, record_result, &result);
        return wait_result(r, &result);
}

static int revoke_now(GrantStore *s, uid_t uid, const char *app, const char *origin, DeviceKind kind,
                      char **devices) {
        int result = INT_MIN, r;

        r = grant_store_revoke(s, uid, app, origin, kind, devices, record_result, &result);
        return wait_result(r, &result);
}

static void apply_set(GrantStore *s, const SetSpec *g) {
        _cleanup_strv_free_ char **devices = devices_of(g->devices);

        assert_int_equal(set_now(s, g->uid, g->app, g->origin, g->kind, devices, g->decision, g->expires,
                                         g->owner),
                         0);
}

static void test_lookup(void **state) {
        static const struct {
                const char *what;
                SetSpec set[3];
                uid_t uid;
                const char *app, *origin;
                DeviceKind kind;
                const char *hw;
                uint64_t now;
                GrantDecision expected;
        } table[] = {
                { "nothing stored", {}, 1000, "a", NULL, DEVICE_KIND_VIDEO, NULL, 1, GRANT_NONE },
                { "allow for the kind",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW } },
                  1000, "a", NULL, DEVICE_KIND_VIDEO, "cam1", 1, GRANT_ALLOW },
                { "allow for the kind, any device",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW } },
                  1000, "a", NULL, DEVICE_KIND_VIDEO, NULL, 1, GRANT_ALLOW },
                { "other kind",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW } },
                  1000, "a", NULL, DEVICE_KIND_AUDIO, NULL, 1, GRANT_NONE },
                { "other uid",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW } },
                  1001, "a", NULL, DEVICE_KIND_VIDEO, NULL, 1, GRANT_NONE },
                { "uid 65534 is itself",
                  { { 65534, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW } },
                  0, "a", NULL, DEVICE_KIND_VIDEO, NULL, 1, GRANT_NONE },
                { "uid 4000000000 is itself",
                  { { 4000000000u, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW } },
                  4000000000u, "a", NULL, DEVICE_KIND_VIDEO, NULL, 1, GRANT_ALLOW },
                { "uid 2^31 is not uid 0",
                  { { 2147483648u, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW } },
                  0, "a", NULL, DEVICE_KIND_VIDEO, NULL, 1, GRANT_NONE },
                { "other app",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW } },
                  1000, "b", NULL, DEVICE_KIND_VIDEO, NULL, 1, GRANT_NONE },
                { "origin given, grant for none",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW } },
                  1000, "a", "https://x.example", DEVICE_KIND_VIDEO, NULL, 1, GRANT_NONE },
                { "other origin",
                  { { 1000, "a", "https://x.example", DEVICE_KIND_VIDEO, {}, GRANT_ALLOW } },
                  1000, "a", "https://y.example", DEVICE_KIND_VIDEO, NULL, 1, GRANT_NONE },
                { "same origin",
                  { { 1000, "a", "https://x.example", DEVICE_KIND_VIDEO, {}, GRANT_ALLOW } },
                  1000, "a", "https://x.example", DEVICE_KIND_VIDEO, NULL, 1, GRANT_ALLOW },
                { "empty origin is no origin",
                  { { 1000, "a", "", DEVICE_KIND_VIDEO, {}, GRANT_ALLOW } },
                  1000, "a", NULL, DEVICE_KIND_VIDEO, NULL, 1, GRANT_ALLOW },
                { "keys cannot collide through separators",
                  { { 1000, "a:1:b", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW } },
                  1000, "a", "b", DEVICE_KIND_VIDEO, NULL, 1, GRANT_NONE },
                { "device-limited covers its device",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, { "cam1", "cam3" }, GRANT_ALLOW } },
                  1000, "a", NULL, DEVICE_KIND_VIDEO, "cam3", 1, GRANT_ALLOW },
                { "device-limited does not cover another device",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, { "cam1" }, GRANT_ALLOW } },
                  1000, "a", NULL, DEVICE_KIND_VIDEO, "cam2", 1, GRANT_NONE },
                { "device-limited does not cover the kind",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, { "cam1" }, GRANT_ALLOW } },
                  1000, "a", NULL, DEVICE_KIND_VIDEO, NULL, 1, GRANT_NONE },
                { "deny for the kind wins over a device allow",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, { "cam1" }, GRANT_ALLOW },
                    { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_DENY } },
                  1000, "a", NULL, DEVICE_KIND_VIDEO, "cam1", 1, GRANT_DENY },
                { "device deny wins over a kind allow for that device",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW },
                    { 1000, "a", NULL, DEVICE_KIND_VIDEO, { "cam1" }, GRANT_DENY } },
                  1000, "a", NULL, DEVICE_KIND_VIDEO, "cam1", 1, GRANT_DENY },
                { "device deny leaves other devices allowed",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW },
                    { 1000, "a", NULL, DEVICE_KIND_VIDEO, { "cam1" }, GRANT_DENY } },
                  1000, "a", NULL, DEVICE_KIND_VIDEO, "cam2", 1, GRANT_ALLOW },
                { "a later decision replaces the same key",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_DENY },
                    { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW } },
                  1000, "a", NULL, DEVICE_KIND_VIDEO, NULL, 1, GRANT_ALLOW },
                { "device sets are sets: order does not matter",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, { "cam2", "cam1" }, GRANT_ALLOW },
                    { 1000, "a", NULL, DEVICE_KIND_VIDEO, { "cam1", "cam2" }, GRANT_DENY } },
                  1000, "a", NULL, DEVICE_KIND_VIDEO, "cam2", 1, GRANT_DENY },
                { "a connection's deny wins over a persistent allow",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW },
                    { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_DENY, 0, ":1.5" } },
                  1000, "a", NULL, DEVICE_KIND_VIDEO, NULL, 1, GRANT_DENY },
                { "expired allow is nothing",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW, 100 } },
                  1000, "a", NULL, DEVICE_KIND_VIDEO, NULL, 100, GRANT_NONE },
                { "allow a microsecond before it expires",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW, 100 } },
                  1000, "a", NULL, DEVICE_KIND_VIDEO, NULL, 99, GRANT_ALLOW },
                { "expired deny is nothing",
                  { { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_DENY, 100 },
                    { 1000, "a", NULL, DEVICE_KIND_VIDEO, { "cam1" }, GRANT_ALLOW } },
                  1000, "a", NULL, DEVICE_KIND_VIDEO, "cam1", 200, GRANT_ALLOW },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_(grant_store_freep) GrantStore *s = grant_store_new();

                print_message("lookup: %s\n", table[i].what);
                assert_non_null(s);
                for (size_t j = 0; j < ELEMENTSOF(table[i].set) && table[i].set[j].app; j++)
                        apply_set(s, &table[i].set[j]);
                assert_int_equal(grant_store_lookup(s, table[i].uid, table[i].app, table[i].origin, table[i].kind,
                                                    table[i].hw, table[i].now),
                                 table[i].expected);
        }
}

static void test_set_invalid(void **state) {
        static const char *const empty_list[] = { NULL };
        static const char *const dup_list[] = { "cam1", "cam1", NULL };
        static const char *const empty_id[] = { "cam1", "", NULL };
        static const struct {
                const char *what;
                uid_t uid;
                const char *app, *origin;
                int kind;
                const char * const *devices;
                GrantDecision decision;
        } table[] = {
                { "uid -1", (uid_t) -1, "a", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW },
                { "no app", 1000, NULL, NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW },
                { "empty app", 1000, "", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW },
                { "bad kind", 1000, "a", NULL, 7, NULL, GRANT_ALLOW },
                { "decision none", 1000, "a", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_NONE },
                { "empty device list", 1000, "a", NULL, DEVICE_KIND_VIDEO, empty_list, GRANT_ALLOW },
                { "device twice", 1000, "a", NULL, DEVICE_KIND_VIDEO, dup_list, GRANT_ALLOW },
                { "empty device id", 1000, "a", NULL, DEVICE_KIND_VIDEO, empty_id, GRANT_ALLOW },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_(grant_store_freep) GrantStore *s = grant_store_new();
                _cleanup_strv_free_ char **devices = NULL;

                print_message("set refuses: %s\n", table[i].what);
                if (table[i].devices) {
                        devices = calloc(1, sizeof(char *));
                        for (const char * const *d = table[i].devices; *d; d++)
                                assert_int_equal(strv_extend(&devices, *d), 0);
                }
                assert_int_equal(set_now(s, table[i].uid, table[i].app, table[i].origin, table[i].kind,
                                                 devices, table[i].decision, 0, NULL),
                                 -EINVAL);
                assert_int_equal(grant_store_size(s), 0);
        }
}

/* The file format */

typedef struct RecordSpec {
        uid_t uid;
        DeviceKind kind;
        GrantDecision decision;
        uint64_t expires;
        const char *app, *origin;
        const char *devices[4];
} RecordSpec;

static void test_format_roundtrip(void **state) {
        static const struct {
                const char *what;
                const char *boot_id;
                RecordSpec records[4];
                const char *expected_line; /* the first grant line, when given */
        } table[] = {
                { "empty store", BOOT_A, {}, NULL },
                { "unknown boot id", "", {}, NULL },
                { "plain",
                  BOOT_A,
                  { { 1000, DEVICE_KIND_VIDEO, GRANT_ALLOW, 0, "org.example.Meet", "https://meet.example" } },
                  "grant 1000 camera allow - org.example.Meet https://meet.example -" },
                { "timed deny for no origin",
                  BOOT_A,
                  { { 0, DEVICE_KIND_AUDIO, GRANT_DENY, T0 + 300 * SEC, "host:/usr/bin/arecord", NULL } },
                  "grant 0 microphone deny 1767225900000000 host:/usr/bin/arecord - -" },
                { "spaces, commas, equals, backslashes, newlines",
                  BOOT_A,
                  { { 1, DEVICE_KIND_VIDEO, GRANT_ALLOW, 0, "host:/opt/my app/x,y=z\\w\n", NULL,
                      { "pci-0000:00:14.0-usb-0:1 cam,1", "b=2" } } },
                  "grant 1 camera allow - host:/opt/my\\x20app/x\\x2cy\\x3dz\\x5cw\\x0a - b\\x3d2,pci-0000:00:14.0-usb-0:1\\x20cam\\x2c1" },
                { "a field that is a lone dash",
                  BOOT_A,
                  { { 1, DEVICE_KIND_VIDEO, GRANT_ALLOW, 0, "-", "-", { "-", "--" } } },
                  "grant 1 camera allow - \\x2d \\x2d \\x2d,--" },
                { "bytes beyond ASCII and control characters",
                  BOOT_A,
                  { { 4294967294u, DEVICE_KIND_AUDIO, GRANT_ALLOW, UINT64_MAX, "b\xc3\xbc" "cher\x01\x7f", "https://x" } },
                  "grant 4294967294 microphone allow 18446744073709551615 b\\xc3\\xbccher\\x01\\x7f https://x -" },
                { "several grants of one key",
                  BOOT_B,
                  { { 1000, DEVICE_KIND_VIDEO, GRANT_ALLOW, 0, "a", NULL, { "cam1" } },
                    { 1000, DEVICE_KIND_VIDEO, GRANT_ALLOW, 0, "a", NULL, { "cam1", "cam2" } },
                    { 1000, DEVICE_KIND_VIDEO, GRANT_DENY, 0, "a", NULL },
                    { 1000, DEVICE_KIND_VIDEO, GRANT_DENY, 0, "a", "https://a" } },
                  NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                GrantFileHeader header = { .saved_realtime_usec = T0, .saved_boottime_usec = 12345 };
                GrantRecord records[4] = {};
                _cleanup_free_ char *text = NULL, *again = NULL;
                GrantRecord *parsed = NULL;
                GrantFileHeader parsed_header;
                size_t n = 0, size, size2, n_parsed;
                unsigned line;

                print_message("round trip: %s\n", table[i].what);
                strcpy(header.boot_id, table[i].boot_id);
                for (; n < ELEMENTSOF(records) && table[i].records[n].app; n++) {
                        const RecordSpec *r = &table[i].records[n];

                        records[n] = (GrantRecord){ .uid = r->uid,
                                                    .kind = r->kind,
                                                    .decision = r->decision,
                                                    .expires_realtime_usec = r->expires,
                                                    .app_id = (char *) r->app,
                                                    .origin = (char *) r->origin,
                                                    .devices = devices_of(r->devices) };
                        if (records[n].devices)
                                assert_int_equal(grant_devices_normalize(records[n].devices), 0);
                }
                assert_int_equal(grant_file_serialize(&header, records, n, &text, &size), 0);
                assert_int_equal(strlen(text), size);
                if (table[i].expected_line) {
                        const char *l = strchr(strchr(text, '\n') + 1, '\n') + 1;

                        assert_int_equal(strncmp(l, table[i].expected_line, strlen(table[i].expected_line)), 0);
                        assert_int_equal(l[strlen(table[i].expected_line)], '\n');
                }
                assert_int_equal(grant_file_parse(text, size, &parsed_header, &parsed, &n_parsed, &line), 0);
                assert_int_equal(n_parsed, n);
                assert_int_equal(parsed_header.saved_realtime_usec, T0);
                assert_int_equal(parsed_header.saved_boottime_usec, 12345);
                assert_string_equal(parsed_header.boot_id, table[i].boot_id);
                for (size_t j = 0; j < n; j++) {
                        assert_int_equal(parsed[j].uid, records[j].uid);
                        assert_int_equal(parsed[j].kind, records[j].kind);
                        assert_int_equal(parsed[j].decision, records[j].decision);
                        assert_int_equal(parsed[j].expires_realtime_usec, records[j].expires_realtime_usec);
                        assert_string_equal(parsed[j].app_id, records[j].app_id);
                        assert_true(streq_ptr(parsed[j].origin, records[j].origin));
                        assert_int_equal(strv_length(parsed[j].devices), strv_length(records[j].devices));
                        for (size_t k = 0; k < strv_length(records[j].devices); k++)
                                assert_string_equal(parsed[j].devices[k], records[j].devices[k]);
                }
                /* The same records give the same bytes. */
                assert_int_equal(grant_file_serialize(&parsed_header, parsed, n_parsed, &again, &size2), 0);
                assert_int_equal(size2, size);
                assert_memory_equal(again, text, size);
                grant_records_free(parsed, n_parsed);
                for (size_t j = 0; j < n; j++)
                        strv_free(records[j].devices);
        }
}

#define HEAD "mediagate-grants 1\nsaved 1767225600000000 " BOOT_A " 5000000\n"
#define G1 "grant 1000 camera allow - org.example.Meet https://meet.example -\n"
#define NUL_ROW HEAD "grant 1 camera allow - a\0b - -\n"
#define G2 "grant 1000 microphone deny 1767225900000000 org.example.Meet - cam\\x201,cam2\n"

static char *seal(const char *text, size_t len, int count_delta) {
        _cleanup_free_ char *hex = sha256_of(text, len);
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        int n = 0;

        for (const char *p = text; p && p < text + len; p = memchr(p, '\n', (size_t) (text + len - p))) {
                if (*p == '\n')
                        p++;
                if ((size_t) (p - text) < len && startswith(p, "grant "))
                        n++;
        }
        fwrite(text, 1, len, f);
        fprintf(f, "end %d %s\n", n + count_delta, hex);
        fclose(f);
        return out;
}

static void test_parse_damage(void **state) {
        static const struct {
                const char *what;
                const char *text;
                size_t len;       /* 0: strlen */
                bool seal;        /* append a correct end line */
                int count_delta;  /* ...with a wrong count */
                const char *tamper; /* after sealing, the first occurrence of tamper[0..] becomes tamper_to */
                const char *tamper_to;
                const char *append; /* after sealing */
                int expected;
                size_t n;
        } table[] = {
                /* good files */
                { "no grants", HEAD, 0, true, 0, NULL, NULL, NULL, 0, 0 },
                { "two grants", HEAD G1 G2, 0, true, 0, NULL, NULL, NULL, 0, 2 },
                { "no boot id", "mediagate-grants 1\nsaved 1 - 0\n" G1, 0, true, 0, NULL, NULL, NULL, 0, 1 },
                { "same key, other device set",
                  HEAD G1 "grant 1000 camera allow - org.example.Meet https://meet.example cam1\n", 0, true, 0, NULL,
                  NULL, NULL, 0, 2 },
                { "same app, no origin and an origin",
                  HEAD G1 "grant 1000 camera allow - org.example.Meet - -\n", 0, true, 0, NULL, NULL, NULL, 0, 2 },
                { "escape in upper case", HEAD "grant 1 camera allow - a\\x2C - -\n", 0, true, 0, NULL, NULL, NULL, 0,
                  1 },

                /* truncated or empty */
                { "empty file", "", 0, false, 0, NULL, NULL, NULL, -EBADMSG, 0 },
                { "magic only", "mediagate-grants 1\n", 0, false, 0, NULL, NULL, NULL, -EBADMSG, 0 },
                { "no end line", HEAD G1, 0, false, 0, NULL, NULL, NULL, -EBADMSG, 0 },
                { "end line without newline", HEAD, 0, true, 0, NULL, NULL, NULL, -EBADMSG, 0 },

                /* versions and headers */
                { "version 2", "mediagate-grants 2\nsaved 1 - 0\n", 0, true, 0, NULL, NULL, NULL,
                  -EPROTONOSUPPORT, 0 },
                { "version 01", "mediagate-grants 01\nsaved 1 - 0\n", 0, true, 0, NULL, NULL, NULL, -EBADMSG,
                  0 },
                { "version 1.0", "mediagate-grants 1.0\nsaved 1 - 0\n", 0, true, 0, NULL, NULL, NULL, -EBADMSG,
                  0 },
                { "other magic", "mediagate-grant 1\nsaved 1 - 0\n", 0, true, 0, NULL, NULL, NULL, -EBADMSG, 0 },
                { "magic without version", "mediagate-grants\nsaved 1 - 0\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "no saved line", "mediagate-grants 1\n" G1, 0, true, 0, NULL, NULL, NULL, -EBADMSG, 0 },
                { "short boot id", "mediagate-grants 1\nsaved 1 0123456789abcdef0123456789abcde 0\n", 0, true, 0,
                  NULL, NULL, NULL, -EBADMSG, 0 },
                { "boot id in upper case", "mediagate-grants 1\nsaved 1 0123456789ABCDEF0123456789ABCDEF 0\n", 0,
                  true, 0, NULL, NULL, NULL, -EBADMSG, 0 },
                { "saved time not a number", "mediagate-grants 1\nsaved x - 0\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "saved time overflows", "mediagate-grants 1\nsaved 18446744073709551616 - 0\n", 0, true, 0, NULL,
                  NULL, NULL, -EBADMSG, 0 },

                /* bad escapes and bytes */
                { "escape cut short", HEAD "grant 1 camera allow - a\\x4 - -\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "escape at the end", HEAD "grant 1 camera allow - a\\ - -\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "escape not hex", HEAD "grant 1 camera allow - a\\xzz - -\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "unknown escape", HEAD "grant 1 camera allow - a\\n - -\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "escaped backslash form", HEAD "grant 1 camera allow - a\\\\ - -\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "escaped NUL", HEAD "grant 1 camera allow - a\\x00 - -\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "raw comma in app id", HEAD "grant 1 camera allow - a,b - -\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "raw equals in origin", HEAD "grant 1 camera allow - a o=1 -\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "raw UTF-8", HEAD "grant 1 camera allow - b\xc3\xbc - -\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "tab in a field", HEAD "grant 1 camera allow - a\tb - -\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "NUL in a field", NUL_ROW, sizeof(NUL_ROW) - 1, true, 0, NULL, NULL, NULL, -EBADMSG, 0 },

                /* bad fields */
                { "uid -1", HEAD "grant 4294967295 camera allow - a - -\n", 0, true, 0, NULL, NULL, NULL, -EBADMSG,
                  0 },
                { "uid past 32 bits", HEAD "grant 4294967296 camera allow - a - -\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "uid negative", HEAD "grant -1 camera allow - a - -\n", 0, true, 0, NULL, NULL, NULL, -EBADMSG, 0 },
                { "uid with a leading zero", HEAD "grant 01000 camera allow - a - -\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "kind spelled the device way", HEAD "grant 1 videoinput allow - a - -\n", 0, true, 0, NULL, NULL,
                  NULL, -EBADMSG, 0 },
                { "decision with a lifetime", HEAD "grant 1 camera allow-always - a - -\n", 0, true, 0, NULL, NULL,
                  NULL, -EBADMSG, 0 },
                { "expiry zero", HEAD "grant 1 camera allow 0 a - -\n", 0, true, 0, NULL, NULL, NULL, -EBADMSG, 0 },
                { "expiry not a number", HEAD "grant 1 camera allow soon a - -\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "lone dash app id", HEAD "grant 1 camera allow - - - -\n", 0, true, 0, NULL, NULL, NULL, -EBADMSG,
                  0 },
                { "too few fields", HEAD "grant 1 camera allow - a -\n", 0, true, 0, NULL, NULL, NULL, -EBADMSG, 0 },
                { "too many fields", HEAD "grant 1 camera allow - a - - x\n", 0, true, 0, NULL, NULL, NULL, -EBADMSG,
                  0 },
                { "far too many fields", HEAD "grant 1 camera allow - a - - x y z\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "two spaces", HEAD "grant 1 camera allow -  a - -\n", 0, true, 0, NULL, NULL, NULL, -EBADMSG, 0 },
                { "trailing space", HEAD "grant 1 camera allow - a - - \n", 0, true, 0, NULL, NULL, NULL, -EBADMSG,
                  0 },
                { "unknown record", HEAD "revoke 1 camera allow - a - -\n", 0, true, 0, NULL, NULL, NULL, -EBADMSG,
                  0 },
                { "comment line", HEAD "# a comment\n", 0, true, 0, NULL, NULL, NULL, -EBADMSG, 0 },
                { "blank line", HEAD "\n", 0, true, 0, NULL, NULL, NULL, -EBADMSG, 0 },
                { "CRLF", "mediagate-grants 1\r\nsaved 1 - 0\r\n", 0, true, 0, NULL, NULL, NULL, -EBADMSG, 0 },

                /* device sets */
                { "devices out of order", HEAD "grant 1 camera allow - a - cam2,cam1\n", 0, true, 0, NULL, NULL,
                  NULL, -EBADMSG, 0 },
                { "device twice", HEAD "grant 1 camera allow - a - cam1,cam1\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "empty device", HEAD "grant 1 camera allow - a - cam1,,cam2\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "trailing comma", HEAD "grant 1 camera allow - a - cam1,\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },
                { "dash inside a list", HEAD "grant 1 camera allow - a - -,cam1\n", 0, true, 0, NULL, NULL, NULL,
                  -EBADMSG, 0 },

                /* duplicate keys */
                { "the same line twice", HEAD G1 G1, 0, true, 0, NULL, NULL, NULL, -EBADMSG, 0 },
                { "same key, other decision",
                  HEAD G1 "grant 1000 camera deny - org.example.Meet https://meet.example -\n", 0, true, 0, NULL,
                  NULL, NULL, -EBADMSG, 0 },
                { "same key, other spelling of the same bytes",
                  HEAD G1 "grant 1000 camera allow 5 org.example\\x2eMeet https://meet.example -\n", 0, true, 0,
                  NULL, NULL, NULL, -EBADMSG, 0 },
                { "same device set twice", HEAD "grant 1 camera allow - a - c1,c2\ngrant 1 camera deny - a - c1,c2\n",
                  0, true, 0, NULL, NULL, NULL, -EBADMSG, 0 },

                /* the end line */
                { "count too high", HEAD G1, 0, true, 1, NULL, NULL, NULL, -EBADMSG, 0 },
                { "count too low", HEAD G1 G2, 0, true, -1, NULL, NULL, NULL, -EBADMSG, 0 },
                { "checksum of other bytes", HEAD G1, 0, true, 0, "meet.example", "meet.exampl3", NULL, -EBADMSG,
                  0 },
                { "grant added after sealing", HEAD G1, 0, true, 0, "end ", G2 "end ", NULL, -EBADMSG, 0 },
                { "a grant after the end", HEAD G1, 0, true, 0, NULL, NULL, G2, -EBADMSG, 0 },
                { "a newline after the end", HEAD G1, 0, true, 0, NULL, NULL, "\n", -EBADMSG, 0 },
                { "checksum in upper case", HEAD, 0, true, 0, NULL, NULL, NULL, -EBADMSG, 0 /* tampered below */ },
                { "end line without checksum", HEAD "end 0\n", 0, false, 0, NULL, NULL, NULL, -EBADMSG, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                size_t len = table[i].len ?: strlen(table[i].text);
                _cleanup_free_ char *text = NULL;
                GrantRecord *records = NULL;
                GrantFileHeader header;
                size_t n = 99;
                unsigned line = 0;
                int r;

                print_message("parse: %s\n", table[i].what);
                if (table[i].seal) {
                        text = seal(table[i].text, len, table[i].count_delta);
                        len = strlen(text);
                } else {
                        text = malloc(len + 1);
                        memcpy(text, table[i].text, len);
                        text[len] = 0;
                }
                if (streq(table[i].what, "end line without newline"))
                        len--;
                if (streq(table[i].what, "checksum in upper case"))
                        for (char *p = strstr(text, "end 0 ") + 6; *p != '\n'; p++)
                                *p = (char) (*p >= 'a' && *p <= 'f' ? *p - 'a' + 'A' : *p);
                if (table[i].tamper) {
                        char *p = strstr(text, table[i].tamper), *out = NULL;

                        assert_non_null(p);
                        assert_true(asprintf(&out, "%.*s%s%s", (int) (p - text), text, table[i].tamper_to,
                                             p + strlen(table[i].tamper)) > 0);
                        free(text);
                        text = out;
                        len = strlen(text);
                }
                if (table[i].append) {
                        char *out = NULL;

                        assert_true(asprintf(&out, "%s%s", text, table[i].append) > 0);
                        free(text);
                        text = out;
                        len = strlen(text);
                }
                r = grant_file_parse(text, len, &header, &records, &n, &line);
                if (r != table[i].expected)
                        print_error("got %d (line %u) for:\n%.*s\n", r, line, (int) len, text);
                assert_int_equal(r, table[i].expected);
                if (r == 0) {
                        assert_int_equal(n, table[i].n);
                        grant_records_free(records, n);
                } else {
                        assert_true(line > 0);
                        assert_int_equal(n, 99); /* nothing returned */
                }
        }
}

/* A small file cut at every byte, or with any one byte changed, is refused as a whole. */
static void test_parse_every_cut_and_flip(void **state) {
        static const char body[] = HEAD G1 G2 "grant 7 camera deny - a\\x20b - c\n";
        _cleanup_free_ char *text = seal(body, strlen(body), 0);
        size_t len = strlen(text);
        GrantRecord *records = NULL;
        size_t n;

        assert_int_equal(grant_file_parse(text, len, NULL, &records, &n, NULL), 0);
        assert_int_equal(n, 3);
        grant_records_free(records, n);

        for (size_t cut = 0; cut < len; cut++)
                assert_int_equal(grant_file_parse(text, cut, NULL, &records, &n, NULL), -EBADMSG);

        for (size_t i = 0; i < len; i++)
                for (unsigned bit = 0; bit < 8; bit++) {
                        int r;

                        text[i] ^= (char) (1u << bit);
                        r = grant_file_parse(text, len, NULL, &records, &n, NULL);
                        /* Only a change of the version digit is told apart from damage. */
                        if (r != -EBADMSG && !(i == strlen(GRANT_FILE_MAGIC) + 1 && r == -EPROTONOSUPPORT))
                                fail_msg("flipping bit %u of byte %zu gave %d", bit, i, r);
                        text[i] ^= (char) (1u << bit);
                }
}

/* The store and its directory */

static GrantStore *store_at(const char *dir, FakeClock *clock, const char *boot_id, int expected_load) {
        GrantStore *s = grant_store_new();

        assert_non_null(s);
        grant_store_set_clock(s, fake_now, clock);
        assert_int_equal(grant_store_set_boot_id(s, boot_id), 0);
        if (dir)
                assert_int_equal(grant_store_load(s, dir), expected_load);
        return s;
}

static void test_persistence_and_scopes(void **state) {
        _cleanup_free_ char *dir = make_tmpdir(), *before = NULL, *after = NULL, *file = NULL;
        FakeClock clock = { T0, 10 * SEC };
        GrantStore *s = store_at(dir, &clock, BOOT_A, 0);
        static const SetSpec grants[] = {
                { 1000, "org.example.Meet", "https://meet.example", DEVICE_KIND_VIDEO, {}, GRANT_ALLOW },
                { 1000, "org.example.Meet", "https://meet.example", DEVICE_KIND_AUDIO, {}, GRANT_DENY },
                { 1000, "org.example.Meet", NULL, DEVICE_KIND_VIDEO, { "cam 2", "cam,1" }, GRANT_ALLOW,
                  10 * SEC + 5 * MINUTE },
                { 0, "host:/usr/bin/x", NULL, DEVICE_KIND_AUDIO, {}, GRANT_ALLOW },
                { 1000, "org.example.Chat", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW, 0, ":1.42" },
                { 1000, "org.example.Chat", NULL, DEVICE_KIND_AUDIO, {}, GRANT_DENY, 0, ":1.43" },
        };

        for (size_t i = 0; i < ELEMENTSOF(grants); i++)
                apply_set(s, &grants[i]);
        assert_int_equal(grant_store_size(s), 6);
        file = read_file(dir, GRANTS_FILE, NULL);
        /* Only persistent grants reach the disk; the file is sorted and readable. */
        assert_string_equal(strchr(strchr(file, '\n') + 1, '\n') + 1,
                            strstr(file, "grant 0 microphone allow - host:/usr/bin/x - -\n"));
        assert_null(strstr(file, "Chat"));
        assert_non_null(strstr(file, "grant 1000 camera allow 1767225900000000 org.example.Meet - cam\\x202,cam\\x2c1\n"));
        assert_non_null(strstr(file, "\nend 4 "));

        /* A connection that leaves takes its grants; nothing is written for that. */
        grant_store_drop_owner(s, ":1.42");
        assert_int_equal(grant_store_size(s), 5);
        assert_int_equal(grant_store_lookup(s, 1000, "org.example.Chat", NULL, DEVICE_KIND_VIDEO, NULL, 11 * SEC),
                         GRANT_NONE);
        grant_store_drop_owner(s, NULL); /* persistent grants have no owner to drop */
        assert_int_equal(grant_store_size(s), 5);

        /* Restart: the persistent grants come back, the connection's do not. */
        grant_store_drop_owner(s, ":1.43");
        before = dump_store(s);
        grant_store_free(s);
        s = store_at(dir, &clock, BOOT_A, 0);
        after = dump_store(s);
        assert_string_equal(after, before);
        assert_int_equal(grant_store_lookup(s, 1000, "org.example.Meet", NULL, DEVICE_KIND_VIDEO, "cam,1", 11 * SEC),
                         GRANT_ALLOW);

        /* Loading again replaces the persistent grants, keeps the connection's. */
        apply_set(s, &grants[4]);
        assert_int_equal(grant_store_load(s, dir), 0);
        assert_int_equal(grant_store_size(s), 5);
        grant_store_free(s);
        rm_rf(dir);
}

/* Expiry on the injected clocks, while the daemon runs. */
static void test_expiry_running(void **state) {
        static const struct {
                const char *what;
                uint64_t seconds;       /* the grant's length */
                int64_t boottime_step;  /* then the clocks move */
                int64_t realtime_step;
                bool expected_allowed;
                int expected_expired;   /* grant_store_expire() */
        } table[] = {
                { "well within", 300, 10 * SEC, 10 * SEC, true, 0 },
                { "a microsecond before the end", 300, 300 * SEC - 1, 300 * SEC - 1, true, 0 },
                { "at the end", 300, 300 * SEC, 300 * SEC, false, 1 },
                { "wall clock a year back", 300, 10 * SEC, -(int64_t) YEAR, true, 0 },
                { "wall clock a year back, time up", 300, 301 * SEC, -(int64_t) YEAR, false, 1 },
                { "wall clock a year ahead", 300, 10 * SEC, (int64_t) YEAR, true, 0 },
                { "suspended two days", 300, 2 * (int64_t) DAY, 2 * (int64_t) DAY, false, 1 },
                { "suspended a minute", 300, 60 * SEC, 60 * SEC, true, 0 },
                { "a year-long grant after a suspend of days", 365 * 86400, 3 * (int64_t) DAY, 3 * (int64_t) DAY,
                  true, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *dir = make_tmpdir();
                FakeClock clock = { T0, 1000 * SEC };
                _cleanup_(grant_store_freep) GrantStore *s = store_at(dir, &clock, BOOT_A, 0);
                _cleanup_(grant_store_freep) GrantStore *reloaded = NULL;
                uint64_t deadline = clock.boottime + table[i].seconds * SEC;

                print_message("expiry: %s\n", table[i].what);
                assert_int_equal(set_now(s, 1000, "a", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, deadline,
                                                 NULL),
                                 0);
                assert_int_equal(grant_store_next_expiry(s), deadline);
                clock.boottime += (uint64_t) table[i].boottime_step;
                clock.realtime += (uint64_t) table[i].realtime_step;
                assert_int_equal(grant_store_lookup(s, 1000, "a", NULL, DEVICE_KIND_VIDEO, NULL, clock.boottime),
                                 table[i].expected_allowed ? GRANT_ALLOW : GRANT_NONE);
                free(dump_store(s));

                /* Written now and read back in the same boot at the same moment: the same deadline. */
                assert_int_equal(grant_store_save(s), 0);
                reloaded = store_at(dir, &clock, BOOT_A, 0);
                assert_int_equal(grant_store_lookup(reloaded, 1000, "a", NULL, DEVICE_KIND_VIDEO, NULL, clock.boottime),
                                 table[i].expected_allowed ? GRANT_ALLOW : GRANT_NONE);
                if (table[i].expected_allowed)
                        assert_int_equal(grant_store_next_expiry(reloaded), deadline);

                assert_int_equal(grant_store_expire(s), table[i].expected_expired);
                assert_int_equal(grant_store_size(s), 1 - table[i].expected_expired);
                rm_rf(dir);
        }
}

static int list_first(const GrantInfo *g, void *userdata) {
        *(GrantInfo *) userdata = *g;
        return 0;
}

/* A timed grant carried over a restart: never longer than the file allows. */
static void test_expiry_restart(void **state) {
        static const struct {
                const char *what;
                uint64_t left;           /* what the grant had when the file was written */
                const char *saved_boot;  /* boot id in the file */
                int64_t realtime_step;   /* from the save to the load */
                int64_t boottime_step;   /* same boot only */
                uint64_t expected_left;  /* after loading; 0 = gone */
        } table[] = {
                { "same boot, a minute later", 300 * SEC, BOOT_A, 60 * SEC, 60 * SEC, 240 * SEC },
                { "same boot, clock a year back", 300 * SEC, BOOT_A, -(int64_t) YEAR, 60 * SEC, 240 * SEC },
                { "same boot, clock a year ahead", 300 * SEC, BOOT_A, (int64_t) YEAR, 60 * SEC, 0 },
                { "same boot, suspended two days", 300 * SEC, BOOT_A, 2 * (int64_t) DAY, 2 * (int64_t) DAY, 0 },
                { "same boot, clock stepped back during a suspend", 300 * SEC, BOOT_A, 10 * SEC, 100 * SEC,
                  200 * SEC },
                { "same boot, at once", 300 * SEC, BOOT_A, 0, 0, 300 * SEC },
                { "reboot, a minute later", 300 * SEC, BOOT_B, 60 * SEC, 0, 240 * SEC },
                { "reboot, clock a year back", 300 * SEC, BOOT_B, -(int64_t) YEAR, 0, 300 * SEC },
                { "reboot, clock a second back", 300 * SEC, BOOT_B, -(int64_t) SEC, 0, 300 * SEC },
                { "reboot, clock a year ahead", 300 * SEC, BOOT_B, (int64_t) YEAR, 0, 0 },
                { "reboot, a microsecond left", 300 * SEC, BOOT_B, 300 * SEC - 1, 0, 1 },
                { "reboot, just out", 300 * SEC, BOOT_B, 300 * SEC, 0, 0 },
                { "unknown boot id when written", 300 * SEC, "", 60 * SEC, 0, 240 * SEC },
                { "a year-long grant, a day later", YEAR, BOOT_B, (int64_t) DAY, 0, YEAR - DAY },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *dir = make_tmpdir(), *text = NULL;
                GrantFileHeader header = { .saved_realtime_usec = T0, .saved_boottime_usec = 1000 * SEC };
                GrantRecord record = { .uid = 1000,
                                       .kind = DEVICE_KIND_VIDEO,
                                       .decision = GRANT_ALLOW,
                                       .expires_realtime_usec = T0 + table[i].left,
                                       .app_id = (char *) "a" };
                FakeClock clock = { T0 + (uint64_t) table[i].realtime_step, 0 };
                _cleanup_(grant_store_freep) GrantStore *s = NULL;
                GrantInfo info = {};
                size_t size;

                print_message("restart: %s\n", table[i].what);
                strcpy(header.boot_id, table[i].saved_boot);
                /* After a reboot, boottime starts again from a small value. */
                clock.boottime = streq(table[i].saved_boot, BOOT_A) ? 1000 * SEC + (uint64_t) table[i].boottime_step
                                                                    : 7 * SEC;
                assert_int_equal(grant_file_serialize(&header, &record, 1, &text, &size), 0);
                write_file(dir, GRANTS_FILE, text, size);
                s = store_at(dir, &clock, BOOT_A, 0);
                if (table[i].expected_left == 0)
                        assert_int_equal(grant_store_size(s), 0);
                else {
                        GrantFilter all = GRANT_FILTER_ALL;

                        assert_int_equal(grant_store_size(s), 1);
                        assert_int_equal(grant_store_list(s, &all, list_first, &info), 1);
                        assert_int_equal(info.expires_boottime_usec, clock.boottime + table[i].expected_left);
                        /* Never later than the realtime deadline in the file implies. */
                        assert_true(info.expires_realtime_usec <= T0 + table[i].left);
                        assert_int_equal(info.expires_realtime_usec, clock.realtime + table[i].expected_left);
                }
                rm_rf(dir);
        }
}

typedef struct Seen {
        int n[3];
        char *last;
        GrantDecision lookup; /* what the store said for the grant's key, from the callback */
} Seen;

static void on_change(GrantStore *s, GrantChange change, const GrantInfo *g, void *userdata) {
        Seen *seen = userdata;

        seen->n[change]++;
        free(seen->last);
        assert_true(asprintf(&seen->last, "%s %s %s %s", change == GRANT_CHANGE_SET ? "set" :
                                                         change == GRANT_CHANGE_REVOKED ? "revoked" : "expired",
                             g->app_id, device_kind_to_permission(g->kind), g->owner ?: "persistent") > 0);
        /* The store already shows the change. */
        seen->lookup = grant_store_lookup(s, g->uid, g->app_id, g->origin, g->kind, NULL, 0);
}

static void test_revoke(void **state) {
        static const char *const cam1[] = { "cam1", NULL };
        static const char *const cam9[] = { "cam9", NULL };
        static const struct {
                const char *what;
                uid_t uid;
                const char *app, *origin;
                DeviceKind kind;
                const char * const *devices;
                int expected;
                size_t left_in_file;
        } table[] = {
                { "nothing of that key", 1000, "zzz", NULL, DEVICE_KIND_VIDEO, NULL, 0, 3 },
                { "other uid", 1001, "a", NULL, DEVICE_KIND_VIDEO, NULL, 0, 3 },
                { "every grant of the key, both scopes", 1000, "a", NULL, DEVICE_KIND_VIDEO, NULL, 3, 1 },
                { "one device set", 1000, "a", NULL, DEVICE_KIND_VIDEO, cam1, 1, 2 },
                { "a device set not stored", 1000, "a", NULL, DEVICE_KIND_VIDEO, cam9, 0, 3 },
                { "the other origin", 1000, "a", "https://o.example", DEVICE_KIND_VIDEO, NULL, 1, 2 },
                { "empty origin means none", 1000, "a", "", DEVICE_KIND_VIDEO, NULL, 3, 1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *dir = make_tmpdir(), *file = NULL;
                FakeClock clock = { T0, SEC };
                _cleanup_(grant_store_freep) GrantStore *s = store_at(dir, &clock, BOOT_A, 0);
                _cleanup_strv_free_ char **devices = NULL;
                Seen seen = {};
                static const SetSpec grants[] = {
                        { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW },
                        { 1000, "a", NULL, DEVICE_KIND_VIDEO, { "cam1" }, GRANT_ALLOW },
                        { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW, 0, ":1.9" },
                        { 1000, "a", "https://o.example", DEVICE_KIND_VIDEO, {}, GRANT_DENY },
                };

                print_message("revoke: %s\n", table[i].what);
                for (size_t j = 0; j < ELEMENTSOF(grants); j++)
                        apply_set(s, &grants[j]);
                grant_store_set_change_callback(s, on_change, &seen);
                if (table[i].devices)
                        devices = devices_of(table[i].devices);
                assert_int_equal(revoke_now(s, table[i].uid, table[i].app, table[i].origin, table[i].kind,
                                                    devices),
                                 table[i].expected);
                assert_int_equal(seen.n[GRANT_CHANGE_REVOKED], table[i].expected);
                assert_int_equal(grant_store_size(s), 4 - table[i].expected);
                file = read_file(dir, GRANTS_FILE, NULL);
                {
                        char end[16];

                        snprintf(end, sizeof end, "\nend %zu ", table[i].left_in_file);
                        assert_non_null(strstr(file, end));
                }
                free(seen.last);
                rm_rf(dir);
        }
}

static void test_change_callback(void **state) {
        _cleanup_free_ char *dir = make_tmpdir();
        FakeClock clock = { T0, SEC };
        _cleanup_(grant_store_freep) GrantStore *s = store_at(dir, &clock, BOOT_A, 0);
        Seen seen = {};

        grant_store_set_change_callback(s, on_change, &seen);
        assert_int_equal(set_now(s, 1, "a", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, 0, NULL), 0);
        assert_string_equal(seen.last, "set a camera persistent");
        /* The same decision again changes nothing and tells nobody. */
        assert_int_equal(set_now(s, 1, "a", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, 0, NULL), 0);
        assert_int_equal(seen.n[GRANT_CHANGE_SET], 1);
        assert_int_equal(set_now(s, 1, "a", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_DENY, 0, NULL), 0);
        assert_int_equal(seen.n[GRANT_CHANGE_SET], 2);
        assert_int_equal(seen.lookup, GRANT_DENY);
        assert_int_equal(set_now(s, 1, "b", NULL, DEVICE_KIND_AUDIO, NULL, GRANT_ALLOW, 5 * SEC, ":1.1"), 0);
        assert_string_equal(seen.last, "set b microphone :1.1");
        assert_int_equal(set_now(s, 1, "c", NULL, DEVICE_KIND_AUDIO, NULL, GRANT_ALLOW, 6 * SEC, NULL), 0);
        assert_int_equal(grant_store_next_expiry(s), 5 * SEC);
        clock.boottime = 6 * SEC;
        assert_int_equal(grant_store_expire(s), 2);
        assert_int_equal(seen.n[GRANT_CHANGE_EXPIRED], 2);
        assert_int_equal(grant_store_next_expiry(s), 0);
        assert_int_equal(grant_store_size(s), 1);
        assert_int_equal(revoke_now(s, 1, "a", NULL, DEVICE_KIND_VIDEO, NULL), 1);
        assert_string_equal(seen.last, "revoked a camera persistent");
        assert_int_equal(seen.lookup, GRANT_NONE);
        assert_int_equal(grant_store_size(s), 0);
        free(seen.last);
        rm_rf(dir);
}

static int count_cb(const GrantInfo *g, void *userdata) {
        (*(int *) userdata)++;
        return 0;
}

static int stop_cb(const GrantInfo *g, void *userdata) {
        return -ECANCELED;
}

static void test_list_filter(void **state) {
        static const SetSpec grants[] = {
                { 1000, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW },
                { 1000, "a", NULL, DEVICE_KIND_VIDEO, { "cam1" }, GRANT_DENY },
                { 1000, "a", "https://o.example", DEVICE_KIND_AUDIO, {}, GRANT_ALLOW },
                { 1000, "b", "https://o.example", DEVICE_KIND_VIDEO, {}, GRANT_ALLOW, 0, ":1.3" },
                { 1001, "a", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW },
                { 1001, "c", NULL, DEVICE_KIND_AUDIO, {}, GRANT_ALLOW, 5 * SEC }, /* expired when listed */
        };
        static const struct {
                const char *what;
                GrantFilter filter;
                int expected;
        } table[] = {
                { "everything", { (uid_t) -1, NULL, NULL, -1 }, 5 },
                { "uid", { 1000, NULL, NULL, -1 }, 4 },
                { "other uid", { 1001, NULL, NULL, -1 }, 1 },
                { "nobody", { 4000000000u, NULL, NULL, -1 }, 0 },
                { "app", { (uid_t) -1, "a", NULL, -1 }, 4 },
                { "origin", { (uid_t) -1, NULL, "https://o.example", -1 }, 2 },
                { "no origin", { (uid_t) -1, NULL, "", -1 }, 3 },
                { "kind", { (uid_t) -1, NULL, NULL, DEVICE_KIND_AUDIO }, 1 },
                { "one key", { 1000, "a", "", DEVICE_KIND_VIDEO }, 2 },
                { "one key with origin", { 1000, "a", "https://o.example", DEVICE_KIND_AUDIO }, 1 },
                { "one key not stored", { 1000, "zz", "", DEVICE_KIND_AUDIO }, 0 },
                { "uid and kind", { 1000, NULL, NULL, DEVICE_KIND_VIDEO }, 3 },
        };
        FakeClock clock = { T0, SEC };
        _cleanup_(grant_store_freep) GrantStore *s = store_at(NULL, &clock, BOOT_A, 0);

        for (size_t j = 0; j < ELEMENTSOF(grants); j++)
                apply_set(s, &grants[j]);
        clock.boottime = 10 * SEC;
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                int n = 0;

                print_message("list: %s\n", table[i].what);
                assert_int_equal(grant_store_list(s, &table[i].filter, count_cb, &n), table[i].expected);
                assert_int_equal(n, table[i].expected);
        }
        assert_int_equal(grant_store_list(s, NULL, stop_cb, NULL), -ECANCELED);
}

/* Damaged files on disk: no grants, set aside, the next change writes a fresh file. */
static void test_damaged_file(void **state) {
        static const struct {
                const char *what;
                const char *content; /* NULL: a symlink / a directory */
                bool symlink, directory;
        } table[] = {
                { "garbage", "hello\n" },
                { "empty", "" },
                { "another version", "mediagate-grants 2\nsaved 1 - 0\nend 0 0\n" },
                { "truncated", HEAD G1 },
                { "a symlink", NULL, true },
                { "a directory", NULL, false, true },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *dir = make_tmpdir(), *path = NULL, *aside = NULL;
                FakeClock clock = { T0 + 61 * SEC, SEC };
                GrantStore *s = store_at(NULL, &clock, BOOT_A, 0);
                struct stat st;

                print_message("damaged file: %s\n", table[i].what);
                assert_true(asprintf(&path, "%s/%s", dir, GRANTS_FILE) > 0);
                assert_true(asprintf(&aside, "%s/grants.corrupt-20260101T000101Z", dir) > 0);
                if (table[i].symlink)
                        assert_int_equal(symlink("/etc/passwd", path), 0);
                else if (table[i].directory)
                        assert_int_equal(mkdir(path, 0700), 0);
                else
                        write_file(dir, GRANTS_FILE, table[i].content, strlen(table[i].content));
                /* Grants in memory before are not kept: the file is the truth, and it is bad. */
                assert_int_equal(set_now(s, 1, "old", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, 0, NULL), 0);
                assert_int_equal(set_now(s, 1, "conn", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, 0, ":1.1"),
                                 0);
                assert_int_equal(grant_store_load(s, dir), 1);
                assert_int_equal(grant_store_size(s), 1);
                assert_int_equal(grant_store_lookup(s, 1, "old", NULL, DEVICE_KIND_VIDEO, NULL, SEC), GRANT_NONE);
                assert_int_equal(lstat(path, &st), -1);
                assert_int_equal(lstat(aside, &st), 0);

                /* The next change writes a fresh file that loads. */
                assert_int_equal(set_now(s, 1, "new", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, 0, NULL), 0);
                grant_store_free(s);
                s = store_at(dir, &clock, BOOT_A, 0);
                assert_int_equal(grant_store_lookup(s, 1, "new", NULL, DEVICE_KIND_VIDEO, NULL, SEC), GRANT_ALLOW);

                /* A second damaged file in the same second gets its own name. */
                write_file(dir, GRANTS_FILE, "x", 1);
                assert_int_equal(grant_store_load(s, dir), 1);
                assert_int_equal(count_files(dir, "grants.corrupt-20260101T000101Z"), 2);
                assert_int_equal(grant_store_size(s), 0);
                grant_store_free(s);
                rm_rf(dir);
        }
}

/* The store's file cut at every byte: loading gives the whole store or nothing, never part. */
static void test_truncated_file_every_offset(void **state) {
        _cleanup_free_ char *dir = make_tmpdir(), *full = NULL, *expected = NULL;
        FakeClock clock = { T0, SEC };
        GrantStore *s = store_at(dir, &clock, BOOT_A, 0);
        static const SetSpec grants[] = {
                { 1000, "org.example.Meet", "https://meet.example", DEVICE_KIND_VIDEO, {}, GRANT_ALLOW },
                { 1000, "org.example.Meet", NULL, DEVICE_KIND_AUDIO, { "mic 1" }, GRANT_DENY },
                { 1001, "host:/usr/bin/x", NULL, DEVICE_KIND_VIDEO, {}, GRANT_ALLOW, SEC + 5 * MINUTE },
        };
        size_t size;

        for (size_t i = 0; i < ELEMENTSOF(grants); i++)
                apply_set(s, &grants[i]);
        expected = dump_store(s);
        grant_store_free(s);
        full = read_file(dir, GRANTS_FILE, &size);

        for (size_t cut = 0; cut <= size; cut++) {
                _cleanup_free_ char *got = NULL;

                write_file(dir, GRANTS_FILE, full, cut);
                s = store_at(dir, &clock, BOOT_A, cut == size ? 0 : 1);
                got = dump_store(s);
                if (cut == size)
                        assert_string_equal(got, expected);
                else {
                        assert_string_equal(got, "");
                        assert_int_equal(count_files(dir, "grants.corrupt-"), 1);
                        remove_files(dir, "grants.corrupt-");
                }
                grant_store_free(s);
        }
        rm_rf(dir);
}

/* A state directory or file that cannot be read is not corruption: nothing is written over it,
 * every change fails until it can be read, and then the next change reads it first. */
static void test_unreadable_directory(void **state) {
        _cleanup_free_ char *parent = make_tmpdir(), *dir = NULL, *file = NULL;
        FakeClock clock = { T0, SEC };
        _cleanup_(grant_store_freep) GrantStore *s = store_at(NULL, &clock, BOOT_A, 0);
        _cleanup_(grant_store_freep) GrantStore *writer = NULL;

        assert_true(asprintf(&dir, "%s/state", parent) > 0);
        assert_int_equal(set_now(s, 1, "conn", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, 0, ":1.1"), 0);
        assert_int_equal(grant_store_load(s, dir), -ENOENT);
        assert_int_equal(grant_store_size(s), 1); /* the connection's grant stays */
        assert_int_equal(set_now(s, 1, "a", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, 0, NULL), -EIO);
        assert_int_equal(revoke_now(s, 1, "conn", NULL, DEVICE_KIND_VIDEO, NULL), -EIO);
        assert_int_equal(grant_store_lookup(s, 1, "a", NULL, DEVICE_KIND_VIDEO, NULL, SEC), GRANT_NONE);
        assert_int_equal(grant_store_lookup(s, 1, "conn", NULL, DEVICE_KIND_VIDEO, NULL, SEC), GRANT_ALLOW);
        assert_int_equal(grant_store_save(s), -EIO);

        /* Readable again, with a grant someone else stored meanwhile: it is read before the
         * next change is written, and kept. */
        assert_int_equal(mkdir(dir, 0700), 0);
        writer = store_at(dir, &clock, BOOT_A, 0);
        assert_int_equal(set_now(writer, 1, "b", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_DENY, 0, NULL), 0);
        assert_int_equal(set_now(s, 1, "a", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, 0, NULL), 0);
        assert_int_equal(grant_store_lookup(s, 1, "b", NULL, DEVICE_KIND_VIDEO, NULL, SEC), GRANT_DENY);
        grant_store_free(writer);
        writer = store_at(dir, &clock, BOOT_A, 0);
        assert_int_equal(grant_store_lookup(writer, 1, "a", NULL, DEVICE_KIND_VIDEO, NULL, SEC), GRANT_ALLOW);
        assert_int_equal(grant_store_lookup(writer, 1, "b", NULL, DEVICE_KIND_VIDEO, NULL, SEC), GRANT_DENY);
        rm_rf(parent);
}

/* With an event loop the writes happen on a thread: a change is in force only once it is on
 * disk, changes made meanwhile go together in the next write, in order, and a write that fails
 * changes nothing. Then GRANTS_PER_UID_MAX: a new grant past it fails and changes nothing;
 * replacing one, another uid, a connection's grant and a grant after a revoke go on. */
static void test_changes_off_the_loop_and_the_limit(void **state) {
        enum { N = GRANTS_PER_UID_MAX + 1 };
        _cleanup_free_ char *dir = make_tmpdir(), *before = NULL, *after = NULL;
        FakeClock clock = { T0, SEC };
        GrantStore *s = store_at(dir, &clock, BOOT_A, 0);
        static int results[N];
        struct rlimit saved;
        char app[32];

        assert_int_equal(sd_event_new(&loop), 0);
        assert_int_equal(grant_store_attach_event(s, loop), 0);
        for (unsigned i = 0; i < N; i++) {
                snprintf(app, sizeof app, "app-%u", i);
                results[i] = INT_MIN;
                assert_int_equal(grant_store_set(s, 1000, app, NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, 0, NULL,
                                                 record_result, &results[i]),
                                 0);
        }
        assert_true(grant_store_busy(s));
        assert_int_equal(grant_store_lookup(s, 1000, "app-0", NULL, DEVICE_KIND_VIDEO, NULL, SEC), GRANT_NONE);
        assert_int_equal(wait_result(0, &results[N - 1]), -EDQUOT);
        for (unsigned i = 0; i < N - 1; i++)
                assert_int_equal(results[i], 0);
        assert_false(grant_store_busy(s));
        assert_int_equal(grant_store_size(s), GRANTS_PER_UID_MAX);
        assert_int_equal(grant_store_lookup(s, 1000, "app-0", NULL, DEVICE_KIND_VIDEO, NULL, SEC), GRANT_ALLOW);

        /* A write that fails (the file may not grow): nothing changed, in memory or on disk. */
        before = read_file(dir, GRANTS_FILE, NULL);
        (void) signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &(struct rlimit){ 4096, saved.rlim_max }), 0);
        assert_int_equal(revoke_now(s, 1000, "app-0", NULL, DEVICE_KIND_VIDEO, NULL), -EFBIG);
        assert_int_equal(set_now(s, 1000, "app-1", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_DENY, 0, NULL), -EFBIG);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
        assert_int_equal(grant_store_lookup(s, 1000, "app-0", NULL, DEVICE_KIND_VIDEO, NULL, SEC), GRANT_ALLOW);
        assert_int_equal(grant_store_lookup(s, 1000, "app-1", NULL, DEVICE_KIND_VIDEO, NULL, SEC), GRANT_ALLOW);
        after = read_file(dir, GRANTS_FILE, NULL);
        assert_string_equal(before, after);
        assert_int_equal(count_files(dir, "." GRANTS_FILE "."), 0);

        /* The limit. */
        assert_int_equal(set_now(s, 1000, "one-more", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, 0, NULL), -EDQUOT);
        assert_int_equal(set_now(s, 1000, "app-0", NULL, DEVICE_KIND_VIDEO, STRV_MAKE("cam"), GRANT_ALLOW, 0, NULL),
                         -EDQUOT);
        free(after);
        after = read_file(dir, GRANTS_FILE, NULL);
        assert_string_equal(before, after);
        assert_int_equal(grant_store_lookup(s, 1000, "one-more", NULL, DEVICE_KIND_VIDEO, NULL, SEC), GRANT_NONE);
        assert_int_equal(set_now(s, 1000, "app-0", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_DENY, 0, NULL), 0);
        assert_int_equal(set_now(s, 1001, "one-more", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, 0, NULL), 0);
        assert_int_equal(set_now(s, 1000, "conn", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, 0, ":1.1"), 0);
        assert_int_equal(revoke_now(s, 1000, "app-1", NULL, DEVICE_KIND_VIDEO, NULL), 1);
        assert_int_equal(set_now(s, 1000, "one-more", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, 0, NULL), 0);
        assert_int_equal(set_now(s, 1000, "two-more", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, 0, NULL), -EDQUOT);
        /* Expired grants do not count. */
        assert_int_equal(set_now(s, 1000, "app-2", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, 2 * SEC, NULL), 0);
        clock.boottime = 3 * SEC;
        assert_int_equal(set_now(s, 1000, "two-more", NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, 0, NULL), 0);
        grant_store_free(s);

        /* What was answered as stored is what a restart finds. */
        s = store_at(dir, &clock, BOOT_A, 0);
        assert_int_equal(grant_store_size(s), GRANTS_PER_UID_MAX + 1);
        assert_int_equal(grant_store_lookup(s, 1000, "app-0", NULL, DEVICE_KIND_VIDEO, NULL, SEC), GRANT_DENY);
        assert_int_equal(grant_store_lookup(s, 1000, "app-1", NULL, DEVICE_KIND_VIDEO, NULL, SEC), GRANT_NONE);
        grant_store_free(s);
        loop = sd_event_unref(loop);
        rm_rf(dir);
}

static double seconds_since(const struct timespec *start) {
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (double) (now.tv_sec - start->tv_sec) + (double) (now.tv_nsec - start->tv_nsec) / 1e9;
}

static void test_many_grants(void **state) {
        enum { N = 100000 };
        FakeClock clock = { T0, SEC };
        GrantStore *s = store_at(NULL, &clock, BOOT_A, 0);
        struct timespec start;
        size_t hits = 0;

        clock_gettime(CLOCK_MONOTONIC, &start);
        for (unsigned i = 0; i < N; i++) {
                char app[64], origin[64];

                snprintf(app, sizeof app, "org.example.App%u", i);
                snprintf(origin, sizeof origin, "https://site%u.example", i / 3);
                assert_int_equal(set_now(s, 1000 + i % 100, app, i % 5 ? origin : NULL, i % 2, NULL,
                                                 i % 7 ? GRANT_ALLOW : GRANT_DENY, i % 2 ? 0 : 5 * SEC, NULL),
                                 0);
        }
        print_message("inserted %d grants in %.3f s\n", N, seconds_since(&start));
        assert_int_equal(grant_store_size(s), N);

        clock_gettime(CLOCK_MONOTONIC, &start);
        for (unsigned i = 0; i < N; i++) {
                char app[64], origin[64];

                snprintf(app, sizeof app, "org.example.App%u", i);
                snprintf(origin, sizeof origin, "https://site%u.example", i / 3);
                assert_int_equal(grant_store_lookup(s, 1000 + i % 100, app, i % 5 ? origin : NULL, i % 2, "cam",
                                                    clock.boottime),
                                 i % 7 ? GRANT_ALLOW : GRANT_DENY);
                /* and a miss next to each hit */
                hits += grant_store_lookup(s, 1000 + i % 100, app, i % 5 ? origin : NULL, !(i % 2), "cam",
                                           clock.boottime) != GRANT_NONE;
        }
        print_message("looked up %d grants and %d misses in %.3f s\n", N, N, seconds_since(&start));
        assert_int_equal(hits, 0);

        /* Half of them run out at once. */
        clock.boottime = 5 * SEC;
        clock_gettime(CLOCK_MONOTONIC, &start);
        assert_int_equal(grant_store_expire(s), N / 2);
        print_message("expired %d grants in %.3f s\n", N / 2, seconds_since(&start));
        assert_int_equal(grant_store_size(s), N / 2);
        assert_int_equal(grant_store_next_expiry(s), 0);
        grant_store_free(s);
}

/* The whole 100,000-grant file: read, written and read again, timed. */
static void test_many_grants_file(void **state) {
        enum { N = 100000 };
        _cleanup_free_ char *dir = make_tmpdir(), *text = NULL, *before = NULL, *after = NULL;
        GrantFileHeader header = { .saved_realtime_usec = T0, .saved_boottime_usec = SEC, .boot_id = BOOT_A };
        FakeClock clock = { T0, SEC };
        GrantRecord *records = calloc(N, sizeof(GrantRecord));
        GrantStore *s;
        struct timespec start;
        size_t size;

        assert_non_null(records);
        for (unsigned i = 0; i < N; i++) {
                records[i] = (GrantRecord){ .uid = 1000 + i % 10,
                                            .kind = i % 2,
                                            .decision = i % 7 ? GRANT_ALLOW : GRANT_DENY,
                                            .expires_realtime_usec = i % 3 ? 0 : T0 + 10 * SEC + i };
                assert_true(asprintf(&records[i].app_id, "org.example.App%u", i) > 0);
                assert_true(asprintf(&records[i].origin, "https://site%u.example", i / 3) > 0);
        }
        clock_gettime(CLOCK_MONOTONIC, &start);
        assert_int_equal(grant_file_serialize(&header, records, N, &text, &size), 0);
        print_message("serialized %d grants (%zu bytes) in %.3f s\n", N, size, seconds_since(&start));
        write_file(dir, GRANTS_FILE, text, size);

        clock_gettime(CLOCK_MONOTONIC, &start);
        s = store_at(dir, &clock, BOOT_A, 0);
        print_message("loaded %d grants in %.3f s\n", N, seconds_since(&start));
        assert_int_equal(grant_store_size(s), N);
        for (unsigned i = 0; i < N; i += 997)
                assert_int_equal(grant_store_lookup(s, records[i].uid, records[i].app_id, records[i].origin,
                                                    records[i].kind, NULL, clock.boottime),
                                 records[i].decision);

        clock_gettime(CLOCK_MONOTONIC, &start);
        assert_int_equal(grant_store_save(s), 0);
        print_message("saved %d grants in %.3f s\n", N, seconds_since(&start));
        before = dump_store(s);
        grant_store_free(s);
        s = store_at(dir, &clock, BOOT_A, 0);
        after = dump_store(s);
        assert_string_equal(after, before);
        grant_store_free(s);
        for (unsigned i = 0; i < N; i++)
                grant_record_done(&records[i]);
        free(records);
        rm_rf(dir);
}

/* Kill a writer with SIGKILL at random points: the file is always the old or the new version. */
static void test_killed_writer(void **state) {
        enum { KILLS = 200 };
        _cleanup_free_ char *dir = make_tmpdir();
        unsigned seed = (unsigned) time(NULL);
        size_t known = 0, max_seen = 0;

        print_message("seed %u\n", seed);
        srand(seed);
        for (int iteration = 0; iteration < KILLS; iteration++) {
                FakeClock clock = { T0, SEC };
                _cleanup_(grant_store_freep) GrantStore *s = NULL;
                size_t last = known, n;
                int p[2], status;
                pid_t pid;
                ssize_t k;

                assert_int_equal(pipe2(p, O_CLOEXEC), 0);
                pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        GrantStore *w;
                        size_t count;

                        close(p[0]);
                        log_set_max_level(LOG_CRIT);
                        w = store_at(NULL, &clock, BOOT_A, 0);
                        if (grant_store_load(w, dir) != 0)
                                _exit(3);
                        count = grant_store_size(w);
                        for (;;) {
                                char app[32];

                                snprintf(app, sizeof app, "app-%zu", count);
                                if (set_now(w, 1000, app, NULL, DEVICE_KIND_VIDEO, NULL, GRANT_ALLOW, 0,
                                                    NULL) != 0)
                                        _exit(2);
                                count++;
                                if (write(p[1], &count, sizeof count) != sizeof count)
                                        _exit(4);
                        }
                }
                close(p[1]);
                usleep((useconds_t) (rand() % 4000));
                assert_int_equal(kill(pid, SIGKILL), 0);
                assert_int_equal(waitpid(pid, &status, 0), pid);
                if (!WIFSIGNALED(status))
                        fail_msg("writer exited with %d instead of being killed", WEXITSTATUS(status));
                while ((k = read(p[0], &n, sizeof n)) == sizeof n)
                        last = n;
                close(p[0]);

                s = store_at(dir, &clock, BOOT_A, 0);
                n = grant_store_size(s);
                /* The version reported last, or the one being written when the kill came. */
                if (n != last && n != last + 1)
                        fail_msg("after kill %d: %zu grants, the writer had reported %zu", iteration, n, last);
                for (size_t i = 0; i < n; i++) {
                        char app[32];

                        snprintf(app, sizeof app, "app-%zu", i);
                        assert_int_equal(grant_store_lookup(s, 1000, app, NULL, DEVICE_KIND_VIDEO, NULL, SEC),
                                         GRANT_ALLOW);
                }
                assert_int_equal(count_files(dir, "grants.corrupt-"), 0);
                assert_int_equal(count_files(dir, "." GRANTS_FILE "."), 0); /* cleaned by the load */
                known = n;
                max_seen = MAX(max_seen, n);
        }
        print_message("%d kills, the store grew to %zu grants\n", KILLS, max_seen);
        assert_true(max_seen > 0);
        rm_rf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lookup),
                cmocka_unit_test(test_set_invalid),
                cmocka_unit_test(test_format_roundtrip),
                cmocka_unit_test(test_parse_damage),
                cmocka_unit_test(test_parse_every_cut_and_flip),
                cmocka_unit_test(test_persistence_and_scopes),
                cmocka_unit_test(test_expiry_running),
                cmocka_unit_test(test_expiry_restart),
                cmocka_unit_test(test_revoke),
                cmocka_unit_test(test_change_callback),
                cmocka_unit_test(test_list_filter),
                cmocka_unit_test(test_damaged_file),
                cmocka_unit_test(test_truncated_file_every_offset),
                cmocka_unit_test(test_unreadable_directory),
                cmocka_unit_test(test_changes_off_the_loop_and_the_limit),
                cmocka_unit_test(test_many_grants),
                cmocka_unit_test(test_many_grants_file),
                cmocka_unit_test(test_killed_writer),
        };

        log_set_max_level(LOG_CRIT);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
