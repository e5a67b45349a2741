/* libmediagate without a daemon: constraints JSON and builder → a{sv}, the stream format and
 * capability readers, error naming, request paths, and the stream wire protocol against a
 * socket pair and a sealed memfd standing in for the daemon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>

#include "bus-errors.h"
#include "capabilities.h"
#include "constraints.h"
#include "internal.h"
#include "mediagate-names.h"
#include "request.h"
#include "stream.h"

/* ---- a bus that never connects, so that messages can be built, sealed and read back ---- */

static sd_bus *offline_bus(void) {
        static sd_bus *bus = NULL;
        int fds[2];

        if (bus)
                return bus;
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        assert_int_equal(sd_bus_new(&bus), 0);
        assert_int_equal(sd_bus_set_fd(bus, fds[0], fds[0]), 0);
        /* Starting moves it out of "unset", which is all that message construction asks. */
        assert_int_equal(sd_bus_start(bus), 0);
        return bus;
}

static sd_bus_message *new_message(void) {
        sd_bus_message *m = NULL;

        assert_int_equal(sd_bus_message_new_method_call(offline_bus(), &m, MG_BUS_NAME, MG_OBJECT_PATH,
                                                        MG_IFACE_MANAGER, "Test"), 0);
        return m;
}

static void seal_and_rewind(sd_bus_message *m) {
        static uint64_t cookie = 1;

        assert_int_equal(sd_bus_message_seal(m, cookie++, 0), 0);
        assert_true(sd_bus_message_rewind(m, true) >= 0);
}

/* A compact text form of a message's next value, written independently of the library:
 * {video: {width: {min: i 1280}}, audio: b true}. */
static void dump_value(sd_bus_message *m, char type, const char *contents, FILE *out);

static void dump_dict(sd_bus_message *m, FILE *out) {
        bool first = true;

        assert_int_equal(sd_bus_message_enter_container(m, 'a', "{sv}"), 1);
        fputc('{', out);
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                const char *key, *contents;
                char type;

                assert_int_equal(sd_bus_message_read_basic(m, 's', &key), 1);
                assert_int_equal(sd_bus_message_peek_type(m, &type, &contents), 1);
                fprintf(out, "%s%s: ", first ? "" : ", ", key);
                dump_value(m, type, contents, out);
                assert_int_equal(sd_bus_message_exit_container(m), 1);
                first = false;
        }
        fputc('}', out);
        assert_int_equal(sd_bus_message_exit_container(m), 1);
}

static void dump_value(sd_bus_message *m, char type, const char *contents, FILE *out) {
        assert_int_equal(type, 'v');
        assert_int_equal(sd_bus_message_enter_container(m, 'v', contents), 1);
        if (streq(contents, "a{sv}"))
                dump_dict(m, out);
        else if (streq(contents, "as")) {
                const char *s;
                bool first = true;

                assert_int_equal(sd_bus_message_enter_container(m, 'a', "s"), 1);
                fputs("as [", out);
                while (sd_bus_message_read_basic(m, 's', &s) > 0) {
                        fprintf(out, "%s\"%s\"", first ? "" : ", ", s);
                        first = false;
                }
                fputc(']', out);
                assert_int_equal(sd_bus_message_exit_container(m), 1);
        } else if (streq(contents, "aa{sv}")) {
                bool first = true;

                assert_int_equal(sd_bus_message_enter_container(m, 'a', "a{sv}"), 1);
                fputs("aa{sv} [", out);
                while (!sd_bus_message_at_end(m, false)) {
                        fputs(first ? "" : ", ", out);
                        dump_dict(m, out);
                        first = false;
                }
                fputc(']', out);
                assert_int_equal(sd_bus_message_exit_container(m), 1);
        } else {
                union {
                        int b;
                        int32_t i;
                        int64_t x;
                        uint64_t t;
                        double d;
                        const char *s;
                } v;

                assert_int_equal(strlen(contents), 1);
                assert_int_equal(sd_bus_message_read_basic(m, contents[0], &v), 1);
                switch (contents[0]) {
                case 'b': fprintf(out, "b %s", v.b ? "true" : "false"); break;
                case 'i': fprintf(out, "i %" PRIi32, v.i); break;
                case 'x': fprintf(out, "x %" PRIi64, v.x); break;
                case 't': fprintf(out, "t %" PRIu64, v.t); break;
                case 'd': fprintf(out, "d %.10g", v.d); break;
                case 's': fprintf(out, "s \"%s\"", v.s); break;
                default: fail_msg("unexpected type %s", contents);
                }
        }
        assert_int_equal(sd_bus_message_exit_container(m), 1);
}

/* The a{sv} the library appends for a JSON object, as text. */
static char *dump_json_object(json_object *object) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();
        char *text = NULL;
        size_t size = 0;
        FILE *out;

        assert_int_equal(constraints_append_json(m, object, NULL), 0);
        seal_and_rewind(m);
        out = open_memstream(&text, &size);
        assert_non_null(out);
        dump_dict(m, out);
        fclose(out);
        assert_true(sd_bus_message_at_end(m, true));
        return text;
}

/* ---- constraints: JSON → a{sv} ---- */

static const struct {
        const char *json;
        const char *expected;   /* the a{sv}, or NULL when refused */
        const char *error_name; /* when refused */
} json_cases[] = {
        /* docs/dbus-api.md and docs/constraints.md examples */
        { "{\"video\":{\"width\":{\"min\":1280}},\"audio\":true}", "{video: {width: {min: i 1280}}, audio: b true}" },
        { "{\"video\":{\"width\":1280,\"height\":720},\"audio\":true}",
          "{video: {width: i 1280, height: i 720}, audio: b true}" },
        { "{\"video\":true}", "{video: b true}" },
        { "{\"audio\":false,\"video\":false}", "{audio: b false, video: b false}" }, /* the daemon's TypeError */
        { "{}", "{}" },
        { " \n{\"video\" : true}\n ", "{video: b true}" },
        { "{\"video\":{\"width\":{\"ideal\":320,\"min\":160}}}", "{video: {width: {ideal: i 320, min: i 160}}}" },
        { "{\"video\":{\"facingMode\":{\"exact\":\"environment\"}}}",
          "{video: {facingMode: {exact: s \"environment\"}}}" },
        { "{\"video\":{\"width\":{\"min\":640},\"advanced\":[{\"width\":1920,\"height\":1280},{\"aspectRatio\":1.3333333333}]}}",
          "{video: {width: {min: i 640}, advanced: aa{sv} [{width: i 1920, height: i 1280}, {aspectRatio: d 1.333333333}]}}" },
        { "{\"video\":{\"advanced\":[]}}", "{video: {advanced: aa{sv} []}}" },
        /* numbers */
        { "{\"video\":{\"frameRate\":29.97}}", "{video: {frameRate: d 29.97}}" },
        { "{\"video\":{\"width\":1280.0}}", "{video: {width: d 1280}}" },
        { "{\"video\":{\"width\":{\"max\":-1}}}", "{video: {width: {max: i -1}}}" },
        { "{\"video\":{\"width\":2147483647}}", "{video: {width: i 2147483647}}" },
        { "{\"video\":{\"width\":2147483648}}", "{video: {width: x 2147483648}}" },
        { "{\"video\":{\"width\":-2147483649}}", "{video: {width: x -2147483649}}" },
        { "{\"video\":{\"width\":18446744073709551615}}", "{video: {width: t 18446744073709551615}}" },
        { "{\"video\":{\"aspectRatio\":1e-3}}", "{video: {aspectRatio: d 0.001}}" },
        /* strings and lists */
        { "{\"video\":{\"facingMode\":[\"user\",\"environment\"]}}", "{video: {facingMode: as [\"user\", \"environment\"]}}" },
        { "{\"video\":{\"facingMode\":[]}}", "{video: {facingMode: as []}}" },
        { "{\"video\":{\"deviceId\":\"caf\\u00e9\"}}", "{video: {deviceId: s \"caf\xc3\xa9\"}}" },
        { "{\"audio\":{\"echoCancellation\":true,\"sampleRate\":{\"exact\":48000}}}",
          "{audio: {echoCancellation: b true, sampleRate: {exact: i 48000}}}" },
        { "{\"peerIdentity\":\"x\",\"video\":true}", "{peerIdentity: s \"x\", video: b true}" },
        /* refused shapes */
        { "{\"video\":null}", NULL, "TypeError" },
        { "{\"video\":{\"width\":NaN}}", NULL, "TypeError" },
        { "{\"video\":{\"width\":Infinity}}", NULL, "TypeError" },
        { "{\"video\":{\"width\":-Infinity}}", NULL, "TypeError" },
        { "{\"video\":{\"width\":1e400}}", NULL, "TypeError" },
        { "{\"video\":{\"facingMode\":[\"user\",1]}}", NULL, "TypeError" },
        { "{\"video\":{\"facingMode\":[[\"user\"]]}}", NULL, "TypeError" },
        { "{\"video\":{\"advanced\":[1]}}", NULL, "TypeError" },
        { "{\"video\":{\"advanced\":{\"width\":1}}}", "{video: {advanced: {width: i 1}}}" }, /* an object: the daemon judges */
        { "{\"video\":{\"x\":[{\"a\":1}]}}", NULL, "TypeError" },
        { "{\"video\":{\"deviceId\":\"a\\u0000b\"}}", NULL, "TypeError" },
        { "[{\"video\":true}]", NULL, "TypeError" },
        { "\"video\"", NULL, "TypeError" },
        { "true", NULL, "TypeError" },
        { "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":1}}}}}}}}}}}}}}}}}",
          NULL, "TypeError" },
        /* not JSON */
        { "", NULL, "SyntaxError" },
        { "{\"video\":true,}", NULL, "SyntaxError" },
        { "{\"video\":tru}", NULL, "SyntaxError" },
        { "{\"video\":true} x", NULL, "SyntaxError" },
        { "{\"video\":true}{}", NULL, "SyntaxError" },
        { "{\"video\":", NULL, "SyntaxError" },
        { "{\"video\":\"\xff\"}", NULL, "SyntaxError" },
};

static void test_json_to_message(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(json_cases); i++) {
                _cleanup_(mg_constraints_freep) MgConstraints *c = NULL;
                _cleanup_(mg_error_clear) MgError err = MG_ERROR_INIT;
                _cleanup_free_ char *text = NULL;
                int r;

                r = mg_constraints_new_from_json(&c, json_cases[i].json, &err);
                if (!json_cases[i].expected) {
                        if (r != -EINVAL || !streq_ptr(err.name, json_cases[i].error_name))
                                fail_msg("row %zu %s: got %d %s (%s), expected %s", i, json_cases[i].json, r,
                                         strempty(err.name), strempty(err.message), json_cases[i].error_name);
                        assert_non_null(err.message);
                        assert_null(c);
                        continue;
                }
                if (r < 0)
                        fail_msg("row %zu %s: refused: %s: %s", i, json_cases[i].json, strempty(err.name),
                                 strempty(err.message));
                assert_int_equal(err.error, 0);
                text = dump_json_object(c->root);
                if (!streq(text, json_cases[i].expected))
                        fail_msg("row %zu %s:\n got      %s\n expected %s", i, json_cases[i].json, text,
                                 json_cases[i].expected);
        }
}

/* The error message names where the problem is. */
static void test_json_error_names_property(void **state) {
        static const struct {
                const char *json, *needle;
        } cases[] = {
                { "{\"video\":{\"width\":{\"min\":NaN}}}", "video.width.min" },
                { "{\"video\":{\"advanced\":[{},{\"height\":null}]}}", "video.advanced[1].height" },
                { "{\"audio\":{\"deviceId\":[\"a\",false]}}", "audio.deviceId[1]" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(mg_constraints_freep) MgConstraints *c = NULL;
                _cleanup_(mg_error_clear) MgError err = MG_ERROR_INIT;

                assert_int_equal(mg_constraints_new_from_json(&c, cases[i].json, &err), -EINVAL);
                if (!strstr(err.message, cases[i].needle))
                        fail_msg("row %zu: message '%s' lacks '%s'", i, err.message, cases[i].needle);
        }
}

/* ---- constraints: the builder gives what the JSON gives ---- */

static int build_range_min(MgConstraints *c) {
        int r = mg_constraints_set_range(c, MG_MEDIA_VIDEO, "width", &(MgRange) { .set = MG_RANGE_MIN, .min = 1280 });
        return r < 0 ? r : mg_constraints_request(c, MG_MEDIA_AUDIO, true);
}
static int build_all_range(MgConstraints *c) {
        return mg_constraints_set_range(c, MG_MEDIA_VIDEO, "frameRate",
                                        &(MgRange) { .set = MG_RANGE_MIN | MG_RANGE_MAX | MG_RANGE_EXACT | MG_RANGE_IDEAL,
                                                     .min = 10, .max = 60, .exact = 30, .ideal = 29.97 });
}
static int build_bare_number(MgConstraints *c) {
        int r = mg_constraints_set_number(c, MG_MEDIA_VIDEO, "width", 1280, MG_MATCH_BARE);
        return r < 0 ? r : mg_constraints_set_number(c, MG_MEDIA_VIDEO, "aspectRatio", 1.5, MG_MATCH_IDEAL);
}
static int build_replace(MgConstraints *c) {
        int r = mg_constraints_set_number(c, MG_MEDIA_VIDEO, "width", 640, MG_MATCH_BARE);
        return r < 0 ? r : mg_constraints_set_number(c, MG_MEDIA_VIDEO, "width", 800, MG_MATCH_EXACT);
}
static int build_strings(MgConstraints *c) {
        int r = mg_constraints_set_string(c, MG_MEDIA_VIDEO, "facingMode", "user", MG_MATCH_EXACT);
        if (r < 0)
                return r;
        return mg_constraints_set_strings(c, MG_MEDIA_AUDIO, "deviceId", (const char *const[]) { "a", "b", NULL },
                                          MG_MATCH_IDEAL);
}
static int build_boolean(MgConstraints *c) {
        return mg_constraints_set_boolean(c, MG_MEDIA_AUDIO, "echoCancellation", true, MG_MATCH_EXACT);
}
static int build_request_drops(MgConstraints *c) {
        int r = mg_constraints_set_number(c, MG_MEDIA_VIDEO, "width", 640, MG_MATCH_BARE);
        return r < 0 ? r : mg_constraints_request(c, MG_MEDIA_VIDEO, true);
}
static int build_false_then_set(MgConstraints *c) {
        int r = mg_constraints_request(c, MG_MEDIA_VIDEO, false);
        return r < 0 ? r : mg_constraints_set_number(c, MG_MEDIA_VIDEO, "height", 480, MG_MATCH_BARE);
}
static int build_advanced(MgConstraints *c) {
        _cleanup_(mg_constraints_freep) MgConstraints *a = NULL, *b = NULL;
        int r;

        r = mg_constraints_set_range(c, MG_MEDIA_VIDEO, "width", &(MgRange) { .set = MG_RANGE_MIN, .min = 640 });
        if (r >= 0)
                r = mg_constraints_new(&a);
        if (r >= 0)
                r = mg_constraints_set_number(a, MG_MEDIA_VIDEO, "width", 1920, MG_MATCH_BARE);
        if (r >= 0)
                r = mg_constraints_set_number(a, MG_MEDIA_VIDEO, "height", 1280, MG_MATCH_BARE);
        if (r >= 0)
                r = mg_constraints_add_advanced(c, MG_MEDIA_VIDEO, a);
        if (r >= 0)
                r = mg_constraints_new(&b);
        if (r >= 0)
                r = mg_constraints_set_number(b, MG_MEDIA_VIDEO, "aspectRatio", 1.3333333333, MG_MATCH_BARE);
        if (r >= 0)
                r = mg_constraints_add_advanced(c, MG_MEDIA_VIDEO, b);
        return r;
}
static int build_empty_advanced(MgConstraints *c) {
        _cleanup_(mg_constraints_freep) MgConstraints *a = NULL;
        int r = mg_constraints_new(&a);
        return r < 0 ? r : mg_constraints_add_advanced(c, MG_MEDIA_AUDIO, a);
}

static const struct {
        const char *name;
        int (*build)(MgConstraints *c);
        const char *json;
} builder_cases[] = {
        { "range min", build_range_min, "{\"video\":{\"width\":{\"min\":1280}},\"audio\":true}" },
        { "range with all four", build_all_range,
          "{\"video\":{\"frameRate\":{\"min\":10,\"max\":60,\"exact\":30,\"ideal\":29.97}}}" },
        { "bare and ideal numbers", build_bare_number, "{\"video\":{\"width\":1280,\"aspectRatio\":{\"ideal\":1.5}}}" },
        { "a name set twice keeps the last", build_replace, "{\"video\":{\"width\":{\"exact\":800}}}" },
        { "strings", build_strings,
          "{\"video\":{\"facingMode\":{\"exact\":\"user\"}},\"audio\":{\"deviceId\":{\"ideal\":[\"a\",\"b\"]}}}" },
        { "boolean", build_boolean, "{\"audio\":{\"echoCancellation\":{\"exact\":true}}}" },
        { "request(true) drops constraints", build_request_drops, "{\"video\":true}" },
        { "setting requests a kind set false", build_false_then_set, "{\"video\":{\"height\":480}}" },
        { "advanced", build_advanced,
          "{\"video\":{\"width\":{\"min\":640},\"advanced\":[{\"width\":1920,\"height\":1280},{\"aspectRatio\":1.3333333333}]}}" },
        { "empty advanced set", build_empty_advanced, "{\"audio\":{\"advanced\":[{}]}}" },
};

static void test_builder_matches_json(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(builder_cases); i++) {
                _cleanup_(mg_constraints_freep) MgConstraints *built = NULL, *parsed = NULL, *reparsed = NULL;
                _cleanup_free_ char *built_text = NULL, *parsed_text = NULL, *reparsed_text = NULL, *json = NULL;

                assert_int_equal(mg_constraints_new(&built), 0);
                if (builder_cases[i].build(built) < 0)
                        fail_msg("row %zu (%s): the builder failed", i, builder_cases[i].name);
                assert_int_equal(mg_constraints_new_from_json(&parsed, builder_cases[i].json, NULL), 0);

                built_text = dump_json_object(built->root);
                parsed_text = dump_json_object(parsed->root);
                if (!streq(built_text, parsed_text))
                        fail_msg("row %zu (%s):\n built  %s\n parsed %s", i, builder_cases[i].name, built_text,
                                 parsed_text);

                /* and to_json() gives text that parses back into the same message */
                assert_int_equal(mg_constraints_to_json(built, &json), 0);
                assert_int_equal(mg_constraints_new_from_json(&reparsed, json, NULL), 0);
                reparsed_text = dump_json_object(reparsed->root);
                if (!streq(reparsed_text, built_text))
                        fail_msg("row %zu (%s): to_json gave %s", i, builder_cases[i].name, json);
        }
}

static int misuse_nan(MgConstraints *c) {
        return mg_constraints_set_number(c, MG_MEDIA_VIDEO, "width", NAN, MG_MATCH_BARE);
}
static int misuse_infinite_range(MgConstraints *c) {
        return mg_constraints_set_range(c, MG_MEDIA_VIDEO, "width", &(MgRange) { .set = MG_RANGE_MAX, .max = INFINITY });
}
static int misuse_empty_range(MgConstraints *c) {
        return mg_constraints_set_range(c, MG_MEDIA_VIDEO, "width", &(MgRange) { .min = 1 });
}
static int misuse_unknown_range_bit(MgConstraints *c) {
        return mg_constraints_set_range(c, MG_MEDIA_VIDEO, "width", &(MgRange) { .set = MG_RANGE_MIN | 64 });
}
static int misuse_name_advanced(MgConstraints *c) {
        return mg_constraints_set_number(c, MG_MEDIA_VIDEO, "advanced", 1, MG_MATCH_BARE);
}
static int misuse_empty_name(MgConstraints *c) {
        return mg_constraints_set_boolean(c, MG_MEDIA_AUDIO, "", true, MG_MATCH_BARE);
}
static int misuse_bad_kind(MgConstraints *c) {
        return mg_constraints_request(c, (MgMediaKind) 7, true);
}
static int misuse_bad_match(MgConstraints *c) {
        return mg_constraints_set_string(c, MG_MEDIA_VIDEO, "facingMode", "user", (MgMatch) 9);
}
static int misuse_invalid_utf8(MgConstraints *c) {
        return mg_constraints_set_string(c, MG_MEDIA_VIDEO, "deviceId", "\xc3\x28", MG_MATCH_BARE);
}
static int misuse_advanced_from_boolean(MgConstraints *c) {
        _cleanup_(mg_constraints_freep) MgConstraints *a = NULL;
        int r = mg_constraints_new(&a);
        if (r >= 0)
                r = mg_constraints_request(a, MG_MEDIA_VIDEO, true);
        return r < 0 ? r : mg_constraints_add_advanced(c, MG_MEDIA_VIDEO, a);
}
static int misuse_nested_advanced(MgConstraints *c) {
        _cleanup_(mg_constraints_freep) MgConstraints *a = NULL, *b = NULL;
        int r = mg_constraints_new(&a);
        if (r >= 0)
                r = mg_constraints_new(&b);
        if (r >= 0)
                r = mg_constraints_add_advanced(a, MG_MEDIA_VIDEO, b);
        return r < 0 ? r : mg_constraints_add_advanced(c, MG_MEDIA_VIDEO, a);
}
static int misuse_advanced_self(MgConstraints *c) {
        return mg_constraints_add_advanced(c, MG_MEDIA_VIDEO, c);
}

static const struct {
        const char *name;
        int (*misuse)(MgConstraints *c);
} builder_misuse_cases[] = {
        { "NaN", misuse_nan },
        { "infinite range end", misuse_infinite_range },
        { "range with nothing set", misuse_empty_range },
        { "range with an unknown member bit", misuse_unknown_range_bit },
        { "property named advanced", misuse_name_advanced },
        { "empty name", misuse_empty_name },
        { "unknown kind", misuse_bad_kind },
        { "unknown match", misuse_bad_match },
        { "invalid UTF-8", misuse_invalid_utf8 },
        { "advanced set from a boolean", misuse_advanced_from_boolean },
        { "advanced set holding advanced", misuse_nested_advanced },
        { "advanced set from itself", misuse_advanced_self },
};

static void test_builder_misuse(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(builder_misuse_cases); i++) {
                _cleanup_(mg_constraints_freep) MgConstraints *c = NULL;
                _cleanup_free_ char *json = NULL;

                assert_int_equal(mg_constraints_new(&c), 0);
                if (builder_misuse_cases[i].misuse(c) != -EINVAL)
                        fail_msg("row %zu (%s) was accepted", i, builder_misuse_cases[i].name);
                /* and nothing was half-added */
                assert_int_equal(mg_constraints_to_json(c, &json), 0);
                if (!streq(json, "{}") && !streq(json, "{\"video\":{}}"))
                        fail_msg("row %zu (%s) left %s", i, builder_misuse_cases[i].name, json);
        }
}

/* ---- request paths and tokens ---- */

static void test_request_path(void **state) {
        static const struct {
                const char *unique_name, *token, *path;
        } cases[] = {
                { ":1.42", "demo1", MG_REQUEST_PATH_PREFIX "/1_42/demo1" },
                { ":1.7", "A_z_09", MG_REQUEST_PATH_PREFIX "/1_7/A_z_09" },
                { ":1.42", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                  MG_REQUEST_PATH_PREFIX "/1_42/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
                { ":1.42", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL }, /* 65 */
                { ":1.42", "", NULL },
                { ":1.42", "a/b", NULL },
                { ":1.42", "a-b", NULL },
                { ":1.42", "caf\xc3\xa9", NULL },
                { "1.42", "demo", NULL },
                { ":", "demo", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *path = NULL;
                int r = request_path_for(cases[i].unique_name, cases[i].token, &path);

                if (!cases[i].path) {
                        if (r != -EINVAL)
                                fail_msg("row %zu: accepted %s %s", i, cases[i].unique_name, cases[i].token);
                        continue;
                }
                assert_int_equal(r, 0);
                assert_string_equal(path, cases[i].path);
                assert_true(sd_bus_object_path_is_valid(path));
        }
}

/* ---- errors ---- */

static void test_error_names(void **state) {
        static const struct {
                const char *dbus_name;
                int call_result;
                const char *name;
                int error;
        } bus_cases[] = {
                { MG_ERROR_TYPE, -EINVAL, "TypeError", -EINVAL },
                { MG_ERROR_SECURITY, -EPERM, "SecurityError", -EPERM },
                { MG_ERROR_LIMITS_EXCEEDED, -EDQUOT, "LimitsExceeded", -EDQUOT },
                { MG_ERROR_OVERCONSTRAINED, -ERANGE, "OverconstrainedError", -ERANGE },
                { "org.freedesktop.DBus.Error.AccessDenied", -EACCES, "AccessDenied", -EACCES },
                { "org.freedesktop.DBus.Error.ServiceUnknown", -EHOSTUNREACH,
                  "org.freedesktop.DBus.Error.ServiceUnknown", -EHOSTUNREACH },
                { "com.example.Other", 0, "com.example.Other", -EIO },
        };
        static const struct {
                const char *name, *constraint;
                int error;
                const char *expected_constraint;
        } response_cases[] = {
                { "NotAllowedError", NULL, -EACCES, NULL },
                { "NotFoundError", NULL, -ENODEV, NULL },
                { "NotReadableError", NULL, -EBUSY, NULL },
                { "AbortError", NULL, -ECONNABORTED, NULL },
                { "OverconstrainedError", "width", -ERANGE, "width" },
                { "OverconstrainedError", "", -ERANGE, "" },
                { "OverconstrainedError", NULL, -ERANGE, "" },
                { "NotAllowedError", "width", -EACCES, NULL }, /* only Overconstrained has one */
                { "SomeFutureError", NULL, -EIO, NULL },
        };

        assert_int_equal(mediagate_error_map_register(), 0);
        for (size_t i = 0; i < ELEMENTSOF(bus_cases); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                _cleanup_(mg_error_clear) MgError err = MG_ERROR_INIT;

                sd_bus_error_set(&e, bus_cases[i].dbus_name, "the message");
                assert_int_equal(error_set_bus(&err, &e, bus_cases[i].call_result), bus_cases[i].error);
                assert_int_equal(err.error, bus_cases[i].error);
                assert_string_equal(err.name, bus_cases[i].name);
                assert_string_equal(err.message, "the message");
                assert_null(err.constraint);
        }
        for (size_t i = 0; i < ELEMENTSOF(response_cases); i++) {
                _cleanup_(mg_error_clear) MgError err = MG_ERROR_INIT;

                assert_int_equal(error_set_response(&err, response_cases[i].name, "why", response_cases[i].constraint),
                                 response_cases[i].error);
                assert_string_equal(err.name, response_cases[i].name);
                assert_string_equal(err.message, "why");
                if (response_cases[i].expected_constraint)
                        assert_string_equal(err.constraint, response_cases[i].expected_constraint);
                else
                        assert_null(err.constraint);
        }
}

/* ---- capabilities and stream formats, read from built messages ---- */

static void caps_ranges(sd_bus_message *m) {
        assert_true(sd_bus_message_append(m, "a{sv}", 4,
                                          "width", "(uu)", 1, 1920,
                                          "frameRate", "(dd)", 0.5, 30.0,
                                          "sampleRate", "u", 48000,
                                          "aspectRatio", "(ud)", 0, 1920.0) >= 0);
}
static void caps_lists(sd_bus_message *m) {
        assert_true(sd_bus_message_append(m, "a{sv}", 4,
                                          "facingMode", "as", 2, "user", "left",
                                          "resizeMode", "s", "none",
                                          "echoCancellation", "ab", 2, 1, 0,
                                          "noiseSuppression", "b", 0) >= 0);
}
static void caps_skipped(sd_bus_message *m) {
        assert_true(sd_bus_message_append(m, "a{sv}", 4,
                                          "future", "a{ss}", 1, "a", "b",
                                          "triple", "(uuu)", 1, 2, 3,
                                          "width", "(ii)", -5, 640,
                                          "width", "(uu)", 1, 2) >= 0);
}
static void caps_empty(sd_bus_message *m) {
        assert_true(sd_bus_message_append(m, "a{sv}", 0) >= 0);
}

static const struct {
        const char *name;
        void (*append)(sd_bus_message *m);
        const char *expected; /* name=type:details; ... */
} capability_cases[] = {
        { "ranges", caps_ranges,
          "width=range:1..1920 integral; frameRate=range:0.5..30; sampleRate=range:48000..48000 integral; aspectRatio=range:0..1920; " },
        { "lists", caps_lists,
          "facingMode=strings:user,left; resizeMode=strings:none; echoCancellation=booleans:1,0; noiseSuppression=booleans:0; " },
        { "unknown shapes skipped, duplicates ignored", caps_skipped, "width=range:-5..640 integral; " },
        { "empty", caps_empty, "" },
};

static void test_capabilities(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(capability_cases); i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();
                MgCapability *caps = NULL;
                size_t n = 0, size = 0;
                char *text = NULL;
                FILE *out;

                capability_cases[i].append(m);
                seal_and_rewind(m);
                assert_int_equal(bus_read_capabilities(m, &caps, &n), 0);
                assert_true(sd_bus_message_at_end(m, true));

                out = open_memstream(&text, &size);
                for (size_t j = 0; j < n; j++) {
                        fprintf(out, "%s=", caps[j].name);
                        switch (caps[j].type) {
                        case MG_CAPABILITY_RANGE:
                                fprintf(out, "range:%g..%g%s; ", caps[j].min, caps[j].max,
                                        caps[j].integral ? " integral" : "");
                                break;
                        case MG_CAPABILITY_STRINGS:
                                fputs("strings:", out);
                                assert_null(caps[j].strings[caps[j].n_strings]);
                                for (size_t k = 0; k < caps[j].n_strings; k++)
                                        fprintf(out, "%s%s", k ? "," : "", caps[j].strings[k]);
                                fputs("; ", out);
                                break;
                        case MG_CAPABILITY_BOOLEANS:
                                fputs("booleans:", out);
                                for (size_t k = 0; k < caps[j].n_booleans; k++)
                                        fprintf(out, "%s%d", k ? "," : "", caps[j].booleans[k]);
                                fputs("; ", out);
                                break;
                        }
                }
                fclose(out);
                if (!streq(text, capability_cases[i].expected))
                        fail_msg("row %zu (%s):\n got      %s\n expected %s", i, capability_cases[i].name, text,
                                 capability_cases[i].expected);
                free(text);
                capabilities_free(caps, n);
        }
}

static void format_video(sd_bus_message *m) {
        assert_true(sd_bus_message_append(m, "a{sv}", 7, "fourcc", "s", "YUYV", "width", "u", 640, "height", "u", 480,
                                          "stride", "u", 1280, "frame_size", "u", 614400, "slots", "u", 4,
                                          "slot_size", "u", 614400) >= 0);
}
static void format_nv12_extra_key(sd_bus_message *m) {
        assert_true(sd_bus_message_append(m, "a{sv}", 8, "fourcc", "s", "NV12", "width", "u", 320, "height", "u", 240,
                                          "stride", "u", 320, "frame_size", "u", 115200, "slots", "u", 2,
                                          "slot_size", "u", 131072, "future", "as", 1, "x") >= 0);
}
static void format_audio(sd_bus_message *m) {
        assert_true(sd_bus_message_append(m, "a{sv}", 6, "sample_format", "s", "S16_LE", "rate", "u", 48000,
                                          "channels", "u", 2, "frames_per_slot", "u", 480, "slots", "u", 8,
                                          "slot_size", "u", 1920) >= 0);
}
static void format_both_kinds(sd_bus_message *m) {
        assert_true(sd_bus_message_append(m, "a{sv}", 8, "fourcc", "s", "YUYV", "sample_format", "s", "S16_LE",
                                          "width", "u", 2, "height", "u", 2, "stride", "u", 4, "frame_size", "u", 8,
                                          "slots", "u", 1, "slot_size", "u", 8) >= 0);
}
static void format_missing_stride(sd_bus_message *m) {
        assert_true(sd_bus_message_append(m, "a{sv}", 6, "fourcc", "s", "YUYV", "width", "u", 640, "height", "u", 480,
                                          "frame_size", "u", 614400, "slots", "u", 4, "slot_size", "u", 614400) >= 0);
}
static void format_signed_width(sd_bus_message *m) {
        assert_true(sd_bus_message_append(m, "a{sv}", 7, "fourcc", "s", "YUYV", "width", "i", 640, "height", "u", 480,
                                          "stride", "u", 1280, "frame_size", "u", 614400, "slots", "u", 4,
                                          "slot_size", "u", 614400) >= 0);
}
static void format_frame_over_slot(sd_bus_message *m) {
        assert_true(sd_bus_message_append(m, "a{sv}", 7, "fourcc", "s", "YUYV", "width", "u", 640, "height", "u", 480,
                                          "stride", "u", 1280, "frame_size", "u", 614400, "slots", "u", 4,
                                          "slot_size", "u", 614399) >= 0);
}
static void format_rows_over_frame(sd_bus_message *m) {
        assert_true(sd_bus_message_append(m, "a{sv}", 7, "fourcc", "s", "YUYV", "width", "u", 640, "height", "u", 480,
                                          "stride", "u", 1280, "frame_size", "u", 1000, "slots", "u", 4,
                                          "slot_size", "u", 614400) >= 0);
}
static void format_long_fourcc(sd_bus_message *m) {
        assert_true(sd_bus_message_append(m, "a{sv}", 7, "fourcc", "s", "YUYV2", "width", "u", 640, "height", "u", 480,
                                          "stride", "u", 1280, "frame_size", "u", 614400, "slots", "u", 4,
                                          "slot_size", "u", 614400) >= 0);
}
static void format_zero_slots(sd_bus_message *m) {
        assert_true(sd_bus_message_append(m, "a{sv}", 6, "sample_format", "s", "S16_LE", "rate", "u", 48000,
                                          "channels", "u", 2, "frames_per_slot", "u", 480, "slots", "u", 0,
                                          "slot_size", "u", 1920) >= 0);
}
static void format_audio_over_slot(sd_bus_message *m) {
        assert_true(sd_bus_message_append(m, "a{sv}", 6, "sample_format", "s", "S16_LE", "rate", "u", 48000,
                                          "channels", "u", 2, "frames_per_slot", "u", 480, "slots", "u", 8,
                                          "slot_size", "u", 1919) >= 0);
}
static void format_too_many_slots(sd_bus_message *m) {
        assert_true(sd_bus_message_append(m, "a{sv}", 6, "sample_format", "s", "S16_LE", "rate", "u", 48000,
                                          "channels", "u", 1, "frames_per_slot", "u", 1, "slots", "u", 100000,
                                          "slot_size", "u", 2) >= 0);
}

static const struct {
        const char *name;
        void (*append)(sd_bus_message *m);
        int expected;
        const char *summary; /* for accepted rows */
} format_cases[] = {
        { "video", format_video, 0, "video YUYV 640x480 stride 1280 size 614400, 4 x 614400" },
        { "NV12, unknown key skipped", format_nv12_extra_key, 0, "video NV12 320x240 stride 320 size 115200, 2 x 131072" },
        { "audio", format_audio, 0, "audio S16_LE 48000 Hz 2 ch 480 frames, 8 x 1920" },
        { "fourcc and sample_format", format_both_kinds, -EPROTO },
        { "no stride", format_missing_stride, -EPROTO },
        { "width as i", format_signed_width, -EPROTO },
        { "frame larger than a slot", format_frame_over_slot, -EPROTO },
        { "rows larger than the frame", format_rows_over_frame, -EPROTO },
        { "fourcc of five letters", format_long_fourcc, -EPROTO },
        { "no slots", format_zero_slots, -EPROTO },
        { "audio larger than a slot", format_audio_over_slot, -EPROTO },
        { "absurd slot count", format_too_many_slots, -EPROTO },
};

static void test_stream_format(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(format_cases); i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();
                _cleanup_(mg_error_clear) MgError err = MG_ERROR_INIT;
                MgStreamFormat f;
                char summary[256];
                int r;

                format_cases[i].append(m);
                seal_and_rewind(m);
                r = stream_format_parse(m, &f, &err);
                if (r != format_cases[i].expected)
                        fail_msg("row %zu (%s): got %d (%s)", i, format_cases[i].name, r, strempty(err.message));
                if (r < 0) {
                        assert_string_equal(err.name, "System.Error.EPROTO");
                        continue;
                }
                if (f.video)
                        snprintf(summary, sizeof(summary), "video %s %ux%u stride %u size %u, %u x %u", f.fourcc,
                                 f.width, f.height, f.stride, f.frame_size, f.slots, f.slot_size);
                else
                        snprintf(summary, sizeof(summary), "audio %s %u Hz %u ch %u frames, %u x %u", f.sample_format,
                                 f.rate, f.channels, f.frames_per_slot, f.slots, f.slot_size);
                assert_string_equal(summary, format_cases[i].summary);
        }
}

/* ---- the stream wire protocol, with this test as the daemon ---- */

#define TEST_SLOTS 4
#define TEST_SLOT_SIZE 4096

static const MgStreamFormat test_format = {
        .video = true,
        .fourcc = "YUYV",
        .width = 32,
        .height = 16,
        .stride = 64,
        .frame_size = 1024,
        .slots = TEST_SLOTS,
        .slot_size = TEST_SLOT_SIZE,
};

typedef struct Fixture {
        int daemon_fd; /* our end of the control socket */
        MgStream *stream;
} Fixture;

static int make_pool(size_t size, unsigned seals) {
        int fd = memfd_create("test-pool", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        uint8_t *p;

        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t) size), 0);
        /* Each slot starts with its index, so that a frame can be told from its slot. */
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        assert_true(p != MAP_FAILED);
        for (size_t i = 0; i + TEST_SLOT_SIZE <= size; i += TEST_SLOT_SIZE)
                memset(p + i, 'A' + (int) (i / TEST_SLOT_SIZE), TEST_SLOT_SIZE);
        munmap(p, size);
        if (seals)
                assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
        return fd;
}

static int fixture_setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        int fds[2];

        assert_non_null(f);
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
        f->daemon_fd = fds[1];
        assert_int_equal(stream_new(fds[0], make_pool(TEST_SLOTS * TEST_SLOT_SIZE, F_SEAL_SHRINK | F_SEAL_GROW),
                                    &test_format, &f->stream, NULL), 0);
        *state = f;
        return 0;
}

static int fixture_teardown(void **state) {
        Fixture *f = *state;

        mg_stream_free(f->stream);
        safe_close(f->daemon_fd);
        free(f);
        return 0;
}

static void daemon_send(Fixture *f, const MgWireMessage *m) {
        uint8_t buf[MG_WIRE_MESSAGE_SIZE];

        mg_wire_encode(m, buf);
        assert_int_equal(send(f->daemon_fd, buf, sizeof(buf), MSG_NOSIGNAL), (ssize_t) sizeof(buf));
}

/* The RELEASE messages the client has sent so far, as a list of slots ("0,2"). */
static void daemon_expect_releases(Fixture *f, const char *expected) {
        char got[128] = "";
        uint8_t buf[MG_WIRE_MESSAGE_SIZE + 1];
        ssize_t n;

        while ((n = recv(f->daemon_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
                MgWireMessage m = {};

                assert_int_equal(n, MG_WIRE_MESSAGE_SIZE);
                assert_true(mg_wire_decode(buf, (size_t) n, &m));
                assert_int_equal(m.type, MG_WIRE_RELEASE);
                snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%u", *got ? "," : "", m.slot);
        }
        assert_string_equal(got, expected);
}

#define FRAME(s, b) ((MgWireMessage) { .type = MG_WIRE_FRAME, .slot = (s), .sequence = 100 + (s), \
                                       .timestamp_ns = 5000 + (s), .bytes = (b), .dropped = 3 })

typedef enum Extra {
        EXTRA_NONE,
        EXTRA_SHORT,    /* a 32-byte packet */
        EXTRA_LONG,     /* a 65-byte packet */
        EXTRA_FD,       /* a valid FRAME carrying a file descriptor */
        EXTRA_EOF,      /* the daemon closes its end */
} Extra;

static const struct {
        const char *name;
        MgWireMessage messages[4];
        size_t n_messages;
        Extra extra; /* after the messages */
        int expected;
        uint32_t slot, bytes;   /* for MG_STREAM_FRAME */
        bool muted, format_changed;
        const char *ended_reason;
        uint32_t width;         /* the format afterwards */
} wire_cases[] = {
        { "a frame", { FRAME(1, 1024) }, 1, EXTRA_NONE, MG_STREAM_FRAME, 1, 1024, .width = 32 },
        { "a frame filling its slot", { FRAME(3, TEST_SLOT_SIZE) }, 1, EXTRA_NONE, MG_STREAM_FRAME, 3, TEST_SLOT_SIZE,
          .width = 32 },
        { "an empty frame", { FRAME(0, 0) }, 1, EXTRA_NONE, MG_STREAM_FRAME, 0, 0, .width = 32 },
        { "nothing yet", {}, 0, EXTRA_NONE, -EAGAIN, .width = 32 },
        { "muted", { { .type = MG_WIRE_MUTED } }, 1, EXTRA_NONE, -EAGAIN, .muted = true, .width = 32 },
        { "muted, unmuted, frame", { { .type = MG_WIRE_MUTED }, { .type = MG_WIRE_UNMUTED }, FRAME(2, 10) }, 3,
          EXTRA_NONE, MG_STREAM_FRAME, 2, 10, .width = 32 },
        { "format, frame",
          { { .type = MG_WIRE_FORMAT, .format = { 16, 8, 32, 256 } }, FRAME(0, 256) }, 2, EXTRA_NONE, MG_STREAM_FRAME,
          0, 256, .format_changed = true, .width = 16 },
        { "ended: revoked", { { .type = MG_WIRE_ENDED, .reason = MG_ENDED_REVOKED } }, 1, EXTRA_NONE, MG_STREAM_ENDED,
          .ended_reason = "revoked", .width = 32 },
        { "ended: device removed", { { .type = MG_WIRE_ENDED, .reason = MG_ENDED_DEVICE_REMOVED }, FRAME(0, 1) }, 2,
          EXTRA_NONE, MG_STREAM_ENDED, .ended_reason = "device-removed", .width = 32 },
        { "ended: unknown reason", { { .type = MG_WIRE_ENDED, .reason = 77 } }, 1, EXTRA_NONE, MG_STREAM_ENDED,
          .ended_reason = "unknown", .width = 32 },
        { "socket closed without ENDED", {}, 0, EXTRA_EOF, MG_STREAM_ENDED, .ended_reason = "disconnected", .width = 32 },
        /* protocol errors */
        { "slot out of range", { FRAME(TEST_SLOTS, 1) }, 1, EXTRA_NONE, -EPROTO, .width = 32 },
        { "slot far out of range", { FRAME(UINT32_MAX, 1) }, 1, EXTRA_NONE, -EPROTO, .width = 32 },
        { "more bytes than a slot", { FRAME(0, TEST_SLOT_SIZE + 1) }, 1, EXTRA_NONE, -EPROTO, .width = 32 },
        { "unknown type", { { .type = 99 } }, 1, EXTRA_NONE, -EPROTO, .width = 32 },
        { "RELEASE from the daemon", { { .type = MG_WIRE_RELEASE } }, 1, EXTRA_NONE, -EPROTO, .width = 32 },
        { "format larger than a slot", { { .type = MG_WIRE_FORMAT, .format = { 64, 64, 128, 8192 } } }, 1, EXTRA_NONE,
          -EPROTO, .width = 32 },
        { "format of zero width", { { .type = MG_WIRE_FORMAT, .format = { 0, 8, 32, 256 } } }, 1, EXTRA_NONE, -EPROTO,
          .width = 32 },
        { "short message", {}, 0, EXTRA_SHORT, -EPROTO, .width = 32 },
        { "long message", {}, 0, EXTRA_LONG, -EPROTO, .width = 32 },
        { "message with a file descriptor", {}, 0, EXTRA_FD, -EPROTO, .width = 32 },
};

static size_t count_open_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        size_t n = 0;

        assert_non_null(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

static void send_extra(Fixture *f, Extra extra) {
        uint8_t buf[65] = {};

        switch (extra) {
        case EXTRA_NONE:
                break;
        case EXTRA_SHORT:
                mg_wire_put32(buf, MG_WIRE_MUTED);
                assert_int_equal(send(f->daemon_fd, buf, 32, 0), 32);
                break;
        case EXTRA_LONG:
                mg_wire_put32(buf, MG_WIRE_MUTED);
                assert_int_equal(send(f->daemon_fd, buf, 65, 0), 65);
                break;
        case EXTRA_FD: {
                union {
                        struct cmsghdr header;
                        uint8_t space[CMSG_SPACE(sizeof(int))];
                } control = {};
                struct iovec iov = { .iov_base = buf, .iov_len = MG_WIRE_MESSAGE_SIZE };
                struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                                      .msg_controllen = sizeof(control) };
                struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
                int fd = STDIN_FILENO;

                mg_wire_encode(&FRAME(0, 1), buf);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
                assert_int_equal(sendmsg(f->daemon_fd, &msg, 0), MG_WIRE_MESSAGE_SIZE);
                break;
        }
        case EXTRA_EOF:
                f->daemon_fd = safe_close(f->daemon_fd);
                break;
        }
}

static void test_wire_messages(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(wire_cases); i++) {
                Fixture *f;
                MgFrame frame = {};
                size_t fds_before;
                int r;

                fixture_setup((void **) &f);
                fds_before = count_open_fds();
                for (size_t j = 0; j < wire_cases[i].n_messages; j++)
                        daemon_send(f, &wire_cases[i].messages[j]);
                send_extra(f, wire_cases[i].extra);

                r = mg_stream_next_frame(f->stream, 0, &frame);
                if (r != wire_cases[i].expected)
                        fail_msg("row %zu (%s): got %d, expected %d", i, wire_cases[i].name, r, wire_cases[i].expected);
                /* a file descriptor that came along must not stay open */
                if (wire_cases[i].extra != EXTRA_EOF && count_open_fds() != fds_before)
                        fail_msg("row %zu (%s): fds leaked", i, wire_cases[i].name);

                if (r == MG_STREAM_FRAME) {
                        const MgWireMessage *m = &wire_cases[i].messages[wire_cases[i].n_messages - 1];

                        assert_int_equal(frame.slot, wire_cases[i].slot);
                        assert_int_equal(frame.bytes, wire_cases[i].bytes);
                        assert_int_equal(frame.sequence, m->sequence);
                        assert_int_equal(frame.timestamp_ns, m->timestamp_ns);
                        assert_int_equal(frame.dropped, 3);
                        assert_int_equal(frame.format_changed, wire_cases[i].format_changed);
                        assert_int_equal(frame.data[0], 'A' + (int) frame.slot);
                        assert_int_equal(frame.data[TEST_SLOT_SIZE - 1], 'A' + (int) frame.slot);
                }
                assert_int_equal(mg_stream_is_muted(f->stream), wire_cases[i].muted);
                assert_int_equal(mg_stream_get_format(f->stream)->width, wire_cases[i].width);
                if (wire_cases[i].ended_reason)
                        assert_string_equal(mg_stream_get_ended_reason(f->stream), wire_cases[i].ended_reason);
                else
                        assert_null(mg_stream_get_ended_reason(f->stream));

                /* The outcome sticks: an ended stream stays ended, a broken one broken. */
                if (r == MG_STREAM_ENDED || r == -EPROTO) {
                        if (r == MG_STREAM_ENDED && f->daemon_fd >= 0)
                                daemon_send(f, &FRAME(1, 1));
                        assert_int_equal(mg_stream_next_frame(f->stream, 0, &frame), r);
                }
                fixture_teardown((void **) &f);
        }
}

/* The frame a loop got is released by its next call, and only then. */
static void test_auto_release(void **state) {
        Fixture *f = *state;
        MgFrame frame;

        daemon_send(f, &FRAME(0, 10));
        daemon_send(f, &FRAME(1, 10));
        assert_int_equal(mg_stream_next_frame(f->stream, 0, &frame), MG_STREAM_FRAME);
        assert_int_equal(frame.slot, 0);
        daemon_expect_releases(f, "");
        assert_int_equal(mg_stream_next_frame(f->stream, 0, &frame), MG_STREAM_FRAME);
        assert_int_equal(frame.slot, 1);
        daemon_expect_releases(f, "0");
        /* the daemon may now reuse slot 0 */
        daemon_send(f, &FRAME(0, 10));
        assert_int_equal(mg_stream_next_frame(f->stream, 0, &frame), MG_STREAM_FRAME);
        daemon_expect_releases(f, "1");
        /* released by hand: the next call releases nothing more */
        assert_int_equal(mg_frame_release(f->stream, &frame), 0);
        assert_null(frame.data);
        daemon_expect_releases(f, "0");
        assert_int_equal(mg_stream_next_frame(f->stream, 0, &frame), -EAGAIN);
        daemon_expect_releases(f, "");
}

/* Without auto-release the app holds several frames; the daemon may not write into them. */
static void test_manual_release(void **state) {
        Fixture *f = *state;
        MgFrame a, b, c;

        assert_int_equal(mg_stream_set_auto_release(f->stream, false), 0);
        daemon_send(f, &FRAME(0, 10));
        daemon_send(f, &FRAME(1, 10));
        assert_int_equal(mg_stream_next_frame(f->stream, 0, &a), MG_STREAM_FRAME);
        assert_int_equal(mg_stream_next_frame(f->stream, 0, &b), MG_STREAM_FRAME);
        daemon_expect_releases(f, "");

        assert_int_equal(mg_frame_release(f->stream, &b), 0);
        daemon_expect_releases(f, "1");
        assert_int_equal(mg_frame_release(f->stream, &b), -EINVAL); /* reset by the first release */
        c = a;
        assert_int_equal(mg_frame_release(f->stream, &a), 0);
        assert_int_equal(mg_frame_release(f->stream, &c), -EINVAL); /* a copy, released twice */
        daemon_expect_releases(f, "0");

        /* a frame into a slot the app still holds is a protocol error */
        daemon_send(f, &FRAME(2, 10));
        assert_int_equal(mg_stream_next_frame(f->stream, 0, &a), MG_STREAM_FRAME);
        daemon_send(f, &FRAME(2, 10));
        assert_int_equal(mg_stream_next_frame(f->stream, 0, &b), -EPROTO);
}

static uint64_t monotonic_usec(void) {
        struct timespec ts;

        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* Waiting: a timeout passes, a frame sent meanwhile wakes the waiter. */
static void test_timeout(void **state) {
        Fixture *f = *state;
        MgFrame frame;
        uint64_t start = monotonic_usec();

        /* a MUTED message on the way does not end the wait early */
        daemon_send(f, &(MgWireMessage) { .type = MG_WIRE_MUTED });
        assert_int_equal(mg_stream_next_frame(f->stream, 50, &frame), -EAGAIN);
        assert_true(monotonic_usec() - start >= 50 * 1000);
        assert_true(mg_stream_is_muted(f->stream));

        daemon_send(f, &(MgWireMessage) { .type = MG_WIRE_UNMUTED });
        daemon_send(f, &FRAME(1, 1));
        assert_int_equal(mg_stream_next_frame(f->stream, -1, &frame), MG_STREAM_FRAME);
        assert_int_equal(frame.slot, 1);
}

static const struct {
        const char *name;
        int socket_type;
        size_t pool_size;
        unsigned seals;
        uint32_t slots;
} stream_new_cases[] = {
        { "a stream socket", SOCK_STREAM, TEST_SLOTS * TEST_SLOT_SIZE, F_SEAL_SHRINK, TEST_SLOTS },
        { "a datagram socket", SOCK_DGRAM, TEST_SLOTS * TEST_SLOT_SIZE, F_SEAL_SHRINK, TEST_SLOTS },
        { "a pool smaller than the format", SOCK_SEQPACKET, TEST_SLOTS * TEST_SLOT_SIZE - 1, F_SEAL_SHRINK, TEST_SLOTS },
        { "a pool that may shrink", SOCK_SEQPACKET, TEST_SLOTS * TEST_SLOT_SIZE, F_SEAL_GROW, TEST_SLOTS },
        { "an unsealed pool", SOCK_SEQPACKET, TEST_SLOTS * TEST_SLOT_SIZE, 0, TEST_SLOTS },
        { "no slots", SOCK_SEQPACKET, TEST_SLOTS * TEST_SLOT_SIZE, F_SEAL_SHRINK, 0 },
};

static void test_stream_new_refuses(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(stream_new_cases); i++) {
                _cleanup_(mg_error_clear) MgError err = MG_ERROR_INIT;
                MgStreamFormat format = test_format;
                MgStream *s = NULL;
                size_t fds_before = count_open_fds();
                int fds[2];

                format.slots = stream_new_cases[i].slots;
                assert_int_equal(socketpair(AF_UNIX, stream_new_cases[i].socket_type | SOCK_CLOEXEC, 0, fds), 0);
                if (stream_new(fds[0], make_pool(stream_new_cases[i].pool_size, stream_new_cases[i].seals), &format, &s,
                               &err) != -EPROTO)
                        fail_msg("row %zu (%s) was accepted", i, stream_new_cases[i].name);
                assert_null(s);
                assert_string_equal(err.name, "System.Error.EPROTO");
                safe_close(fds[1]);
                /* both fds were consumed */
                assert_int_equal(count_open_fds(), fds_before);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_json_to_message),
                cmocka_unit_test(test_json_error_names_property),
                cmocka_unit_test(test_builder_matches_json),
                cmocka_unit_test(test_builder_misuse),
                cmocka_unit_test(test_request_path),
                cmocka_unit_test(test_error_names),
                cmocka_unit_test(test_capabilities),
                cmocka_unit_test(test_stream_format),
                cmocka_unit_test(test_wire_messages),
                cmocka_unit_test_setup_teardown(test_auto_release, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_manual_release, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_timeout, fixture_setup, fixture_teardown),
                cmocka_unit_test(test_stream_new_refuses),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
