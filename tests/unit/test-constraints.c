/* Unit tests for the constraint engine (constraints*.c): parsing (TypeErrors and limits), the
 * fitness distance, SelectSettings on the cameras and microphones of docs/constraints.md, and the
 * a{sv} output.
 * Every expected choice below is worked out by hand from docs/constraints.md (see the notes by the rows). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "constraints-bus.h"
#include "constraints-fitness.h"
#include "constraints-select.h"
#include "devices/device.h"
#include "util.h"

/* ---- Building and reading a{sv} messages from a compact description ----
 *
 * A description is the body of a dictionary: `key=value,key=value`. Values:
 *   true false            b
 *   u:1 i:-1 x:5 t:5 y:1 n:-1 q:1 d:1.5 d:nan d:inf    numbers
 *   s:text s:             s (up to one of ",}])|"; may be empty)
 *   as:(a|b) as:()        as
 *   {body}                a{sv}
 *   [{body},{body}] []    aa{sv}
 *   v:value               a variant holding the variant of value
 * The renderer writes the same grammar, plus (uu):(1|2), (dd):(1|2), ab:(true|false). */

static sd_bus *test_bus;

static int build_value(sd_bus_message *m, const char **p);

static char *read_token(const char **p) {
        size_t n = strcspn(*p, ",}])|");
        char *t = strndup(*p, n);

        assert_non_null(t);
        *p += n;
        return t;
}

static void expect_char(const char **p, char c) {
        if (**p != c)
                fail_msg("description: expected '%c' at \"%s\"", c, *p);
        (*p)++;
}

static void build_dict_body(sd_bus_message *m, const char **p) {
        while (**p && **p != '}') {
                _cleanup_free_ char *key = NULL;
                size_t n = strcspn(*p, "=");

                key = strndup(*p, n);
                assert_non_null(key);
                *p += n;
                expect_char(p, '=');
                assert_return_code(sd_bus_message_open_container(m, 'e', "sv"), 0);
                assert_return_code(sd_bus_message_append_basic(m, 's', key), 0);
                assert_return_code(build_value(m, p), 0);
                assert_return_code(sd_bus_message_close_container(m), 0);
                if (**p == ',')
                        (*p)++;
        }
}

static int build_value(sd_bus_message *m, const char **p) {
        const char *s = *p;

        if (startswith(s, "true") || startswith(s, "false")) {
                bool b = s[0] == 't';
                *p += b ? 4 : 5;
                return sd_bus_message_append(m, "v", "b", (int) b);
        }
        if (s[0] == '{') {
                (*p)++;
                assert_return_code(sd_bus_message_open_container(m, 'v', "a{sv}"), 0);
                assert_return_code(sd_bus_message_open_container(m, 'a', "{sv}"), 0);
                build_dict_body(m, p);
                expect_char(p, '}');
                assert_return_code(sd_bus_message_close_container(m), 0);
                return sd_bus_message_close_container(m);
        }
        if (s[0] == '[') {
                (*p)++;
                assert_return_code(sd_bus_message_open_container(m, 'v', "aa{sv}"), 0);
                assert_return_code(sd_bus_message_open_container(m, 'a', "a{sv}"), 0);
                while (**p == '{') {
                        (*p)++;
                        assert_return_code(sd_bus_message_open_container(m, 'a', "{sv}"), 0);
                        build_dict_body(m, p);
                        expect_char(p, '}');
                        assert_return_code(sd_bus_message_close_container(m), 0);
                        if (**p == ',')
                                (*p)++;
                }
                expect_char(p, ']');
                assert_return_code(sd_bus_message_close_container(m), 0);
                return sd_bus_message_close_container(m);
        }
        if (startswith(s, "as:(")) {
                _cleanup_strv_free_ char **l = NULL;

                *p += 4;
                while (**p != ')') {
                        _cleanup_free_ char *t = read_token(p);
                        assert_return_code(strv_extend(&l, t), 0);
                        if (**p == '|')
                                (*p)++;
                }
                (*p)++;
                assert_return_code(sd_bus_message_open_container(m, 'v', "as"), 0);
                assert_return_code(sd_bus_message_append_strv(m, l), 0);
                return sd_bus_message_close_container(m);
        }
        if (startswith(s, "v:")) {
                *p += 2;
                assert_return_code(sd_bus_message_open_container(m, 'v', "v"), 0);
                assert_return_code(build_value(m, p), 0);
                return sd_bus_message_close_container(m);
        }
        if (s[0] && s[1] == ':') {
                char type = s[0];
                _cleanup_free_ char *t = NULL;

                *p += 2;
                t = read_token(p);
                switch (type) {
                case 's':
                        return sd_bus_message_append(m, "v", "s", t);
                case 'd':
                        return sd_bus_message_append(m, "v", "d", strtod(t, NULL));
                case 'u':
                        return sd_bus_message_append(m, "v", "u", (uint32_t) strtoul(t, NULL, 10));
                case 'i':
                        return sd_bus_message_append(m, "v", "i", (int32_t) strtol(t, NULL, 10));
                case 'x':
                        return sd_bus_message_append(m, "v", "x", (int64_t) strtoll(t, NULL, 10));
                case 't':
                        return sd_bus_message_append(m, "v", "t", (uint64_t) strtoull(t, NULL, 10));
                case 'y':
                        return sd_bus_message_append(m, "v", "y", (int) strtoul(t, NULL, 10));
                case 'n':
                        return sd_bus_message_append(m, "v", "n", (int) strtol(t, NULL, 10));
                case 'q':
                        return sd_bus_message_append(m, "v", "q", (int) strtoul(t, NULL, 10));
                }
        }
        fail_msg("description: cannot parse value at \"%s\"", s);
        return -EINVAL;
}

/* A sealed message whose body is the a{sv} described, read position at its start. */
static sd_bus_message *build_message(const char *description) {
        sd_bus_message *m = NULL;
        const char *p = description;

        assert_return_code(sd_bus_message_new_method_call(test_bus, &m, "org.x", "/", "org.x", "M"), 0);
        assert_return_code(sd_bus_message_open_container(m, 'a', "{sv}"), 0);
        build_dict_body(m, &p);
        if (*p)
                fail_msg("description: trailing \"%s\"", p);
        assert_return_code(sd_bus_message_close_container(m), 0);
        assert_return_code(sd_bus_message_seal(m, 1, 0), 0);
        assert_return_code(sd_bus_message_rewind(m, true), 0);
        return m;
}

/* An empty message to append into. */
static sd_bus_message *new_output_message(void) {
        sd_bus_message *m = NULL;

        assert_return_code(sd_bus_message_new_method_call(test_bus, &m, "org.x", "/", "org.x", "M"), 0);
        return m;
}

static void seal_and_rewind(sd_bus_message *m) {
        assert_return_code(sd_bus_message_seal(m, 2, 0), 0);
        assert_return_code(sd_bus_message_rewind(m, true), 0);
}

static void render_dict_body(sd_bus_message *m, FILE *f);

static void render_variant(sd_bus_message *m, FILE *f) {
        const char *contents;
        char type;

        assert_int_equal(sd_bus_message_peek_type(m, &type, &contents), 1);
        assert_int_equal(type, 'v');
        assert_return_code(sd_bus_message_enter_container(m, 'v', contents), 0);

        if (streq(contents, "a{sv}")) {
                assert_return_code(sd_bus_message_enter_container(m, 'a', "{sv}"), 0);
                fputc('{', f);
                render_dict_body(m, f);
                fputc('}', f);
                assert_return_code(sd_bus_message_exit_container(m), 0);
        } else if (streq(contents, "aa{sv}")) {
                bool first = true;

                assert_return_code(sd_bus_message_enter_container(m, 'a', "a{sv}"), 0);
                fputc('[', f);
                while (sd_bus_message_enter_container(m, 'a', "{sv}") > 0) {
                        fprintf(f, "%s{", first ? "" : ",");
                        render_dict_body(m, f);
                        fputc('}', f);
                        assert_return_code(sd_bus_message_exit_container(m), 0);
                        first = false;
                }
                fputc(']', f);
                assert_return_code(sd_bus_message_exit_container(m), 0);
        } else if (streq(contents, "as")) {
                _cleanup_strv_free_ char **l = NULL;

                assert_return_code(sd_bus_message_read_strv(m, &l), 0);
                fputs("as:(", f);
                for (char **i = l; i && *i; i++)
                        fprintf(f, "%s%s", i == l ? "" : "|", *i);
                fputc(')', f);
        } else if (streq(contents, "ab")) {
                int b;
                bool first = true;

                assert_return_code(sd_bus_message_enter_container(m, 'a', "b"), 0);
                fputs("ab:(", f);
                while (sd_bus_message_read_basic(m, 'b', &b) > 0) {
                        fprintf(f, "%s%s", first ? "" : "|", b ? "true" : "false");
                        first = false;
                }
                fputc(')', f);
                assert_return_code(sd_bus_message_exit_container(m), 0);
        } else if (streq(contents, "(uu)")) {
                uint32_t a, b;

                assert_return_code(sd_bus_message_read(m, "(uu)", &a, &b), 0);
                fprintf(f, "(uu):(%u|%u)", a, b);
        } else if (streq(contents, "(dd)")) {
                double a, b;

                assert_return_code(sd_bus_message_read(m, "(dd)", &a, &b), 0);
                fprintf(f, "(dd):(%.12g|%.12g)", a, b);
        } else if (streq(contents, "b")) {
                int b;

                assert_return_code(sd_bus_message_read_basic(m, 'b', &b), 0);
                fputs(b ? "true" : "false", f);
        } else if (streq(contents, "u")) {
                uint32_t u;

                assert_return_code(sd_bus_message_read_basic(m, 'u', &u), 0);
                fprintf(f, "u:%u", u);
        } else if (streq(contents, "d")) {
                double d;

                assert_return_code(sd_bus_message_read_basic(m, 'd', &d), 0);
                fprintf(f, "d:%.12g", d);
        } else if (streq(contents, "s")) {
                const char *s;

                assert_return_code(sd_bus_message_read_basic(m, 's', &s), 0);
                fprintf(f, "s:%s", s);
        } else
                fail_msg("render: unexpected type '%s'", contents);

        assert_return_code(sd_bus_message_exit_container(m), 0);
}

static void render_dict_body(sd_bus_message *m, FILE *f) {
        bool first = true;

        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                const char *key;

                assert_return_code(sd_bus_message_read_basic(m, 's', &key), 0);
                fprintf(f, "%s%s=", first ? "" : ",", key);
                render_variant(m, f);
                assert_return_code(sd_bus_message_exit_container(m), 0);
                first = false;
        }
}

/* The a{sv} at the read position, as a description. */
static char *render_dict(sd_bus_message *m) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        assert_non_null(f);
        assert_return_code(sd_bus_message_enter_container(m, 'a', "{sv}"), 0);
        render_dict_body(m, f);
        assert_return_code(sd_bus_message_exit_container(m), 0);
        assert_int_equal(fclose(f), 0);
        return buf;
}

/* ---- Devices: the cameras and microphones of docs/constraints.md ---- */

static VideoMode user_modes[] = {
        { 640, 480, 30, PIXEL_FORMAT_YUYV },
        { 1280, 720, 30, PIXEL_FORMAT_YUYV },
        { 1920, 1080, 15, PIXEL_FORMAT_YUYV },
};
static VideoMode env_modes[] = {
        { 1280, 720, 30, PIXEL_FORMAT_NV12 },
        { 3840, 2160, 10, PIXEL_FORMAT_NV12 },
};
static VideoMode plain_modes[] = {
        { 640, 480, 30, PIXEL_FORMAT_YUYV },
};

static Device user_cam = {
        .name = (char *) "user", .facing_mode = (char *) "user", .kind = DEVICE_KIND_VIDEO,
        .is_default = true, .modes = user_modes, .n_modes = ELEMENTSOF(user_modes),
};
static Device env_cam = {
        .name = (char *) "env", .facing_mode = (char *) "environment", .kind = DEVICE_KIND_VIDEO,
        .modes = env_modes, .n_modes = ELEMENTSOF(env_modes),
};
/* A camera that does not know where it faces (facingMode missing from its settings). */
static Device plain_cam = {
        .name = (char *) "plain", .facing_mode = (char *) "", .kind = DEVICE_KIND_VIDEO,
        .modes = plain_modes, .n_modes = ELEMENTSOF(plain_modes),
};

static uint32_t mic1_rates[] = { 44100, 48000 }, mic1_channels[] = { 1, 2 }, mic_sizes[] = { 16 };
static uint32_t mic2_rates[] = { 48000 }, mic2_channels[] = { 1 };

static Device mic1 = {
        .name = (char *) "mic1", .facing_mode = (char *) "", .kind = DEVICE_KIND_AUDIO, .is_default = true,
        .audio = {
                .sample_rates = mic1_rates, .n_sample_rates = ELEMENTSOF(mic1_rates),
                .channel_counts = mic1_channels, .n_channel_counts = ELEMENTSOF(mic1_channels),
                .sample_sizes = mic_sizes, .n_sample_sizes = ELEMENTSOF(mic_sizes),
                .latency = 0.01,
        },
};
/* A microphone with processing: echo cancellation, gain control and noise suppression. */
static Device mic2 = {
        .name = (char *) "mic2", .facing_mode = (char *) "", .kind = DEVICE_KIND_AUDIO,
        .audio = {
                .sample_rates = mic2_rates, .n_sample_rates = ELEMENTSOF(mic2_rates),
                .channel_counts = mic2_channels, .n_channel_counts = ELEMENTSOF(mic2_channels),
                .sample_sizes = mic_sizes, .n_sample_sizes = ELEMENTSOF(mic_sizes),
                .latency = 0.02,
                .echo_cancellation = true, .auto_gain_control = true, .noise_suppression = true,
        },
};

#define USER_CAM { &user_cam, "cam-user", "grp-user" }
#define ENV_CAM { &env_cam, "cam-env", "grp-env" }
#define PLAIN_CAM { &plain_cam, "cam-plain", "grp-plain" }
#define MIC1 { &mic1, "mic-1", "grp-user" }
#define MIC2 { &mic2, "mic-2", "grp-2" }

typedef enum CandidateSet {
        SET_NONE,
        SET_USER,           /* the example camera alone */
        SET_CAMS,           /* user camera (default) then environment camera */
        SET_CAMS_ENV_FIRST, /* environment camera listed first; the user camera is still the default */
        SET_PLAIN,          /* camera without facing mode (listed first) and user camera (default) */
        SET_MICS,           /* mic-1 (default) then mic-2 */
        SET_ALL,            /* microphones and cameras mixed */
        _SET_MAX,
} CandidateSet;

static const ConstraintCandidate set_user[] = { USER_CAM };
static const ConstraintCandidate set_cams[] = { USER_CAM, ENV_CAM };
static const ConstraintCandidate set_cams_env_first[] = { ENV_CAM, USER_CAM };
static const ConstraintCandidate set_plain[] = { PLAIN_CAM, USER_CAM };
static const ConstraintCandidate set_mics[] = { MIC1, MIC2 };
static const ConstraintCandidate set_all[] = { ENV_CAM, MIC2, USER_CAM, MIC1 };

static const struct {
        const ConstraintCandidate *c;
        size_t n;
} candidate_sets[_SET_MAX] = {
        [SET_NONE] = { NULL, 0 },
        [SET_USER] = { set_user, ELEMENTSOF(set_user) },
        [SET_CAMS] = { set_cams, ELEMENTSOF(set_cams) },
        [SET_CAMS_ENV_FIRST] = { set_cams_env_first, ELEMENTSOF(set_cams_env_first) },
        [SET_PLAIN] = { set_plain, ELEMENTSOF(set_plain) },
        [SET_MICS] = { set_mics, ELEMENTSOF(set_mics) },
        [SET_ALL] = { set_all, ELEMENTSOF(set_all) },
};

/* Parse a MediaStreamConstraints description and run SelectSettings for `kind`. */
static int run_select(const char *description, DeviceKind kind, CandidateSet set,
                      SelectedSettings *ret, const char **ret_constraint) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = build_message(description);
        _cleanup_(media_stream_constraints_freep) MediaStreamConstraints *c = NULL;
        _cleanup_(track_constraints_freep) TrackConstraints *empty = NULL;
        _cleanup_free_ char *message = NULL;
        const TrackConstraints *t;
        int r;

        r = media_stream_constraints_parse(m, &c, &message);
        if (r < 0)
                fail_msg("parse failed: %d %s", r, strempty(message));
        assert_true(kind == DEVICE_KIND_VIDEO ? c->video : c->audio);

        t = kind == DEVICE_KIND_VIDEO ? c->video_constraints : c->audio_constraints;
        if (!t) {
                assert_return_code(track_constraints_new_empty(kind, &empty), 0);
                t = empty;
        }
        assert_int_equal(track_constraints_get_kind(t), kind);
        return select_settings(t, candidate_sets[set].c, candidate_sets[set].n, ret, ret_constraint);
}

/* ---- SelectSettings, cameras ---- */

typedef struct VideoCase {
        const char *constraints;
        CandidateSet set;
        int expected;          /* a SelectSettingsResult */
        const char *device_or_constraint; /* the chosen device's id, or the failing constraint */
        bool crop;
        uint32_t width, height;
        double frame_rate;
        size_t mode;
} VideoCase;

#define OVER(c) SELECT_SETTINGS_OVERCONSTRAINED, c
#define NONE_ false
#define CROP true

static const VideoCase video_cases[] = {
        /* The worked examples of docs/constraints.md. */
        { "video=true", SET_USER, 0, "cam-user", NONE_, 640, 480, 30, 0 },
        { "video={}", SET_USER, 0, "cam-user", NONE_, 640, 480, 30, 0 },
        /* The 1280 crop-and-scale points of modes 1 and 2 tie at 0; (a) prefers native. */
        { "video={width=u:1280}", SET_USER, 0, "cam-user", NONE_, 1280, 720, 30, 1 },
        { "video={width={min=u:1300}}", SET_USER, 0, "cam-user", NONE_, 1920, 1080, 15, 2 },
        { "video={width={min=u:2000}}", SET_USER, OVER("width"), false, 0, 0, 0, 0 },
        /* 320x240@30 (mode 0) and 320x180@30 (mode 1) tie at 0; (b): 1.0 against 1.125. */
        { "video={width={ideal=u:320,min=u:160}}", SET_USER, 0, "cam-user", CROP, 320, 240, 30, 0 },
        { "video={facingMode={exact=s:environment}}", SET_USER, OVER("facingMode"), false, 0, 0, 0, 0 },
        { "video={width={min=u:640},advanced=[{width=u:1920,height=u:1280},{aspectRatio=d:1.3333333333}]}",
          SET_USER, 0, "cam-user", NONE_, 640, 480, 30, 0 },

        /* Further cases from the W3C algorithm. */
        { "video={height={ideal=u:720}}", SET_USER, 0, "cam-user", NONE_, 1280, 720, 30, 1 },
        /* Decimation: every mode offers 10 fps by crop-and-scale; (b) picks 640x480@10. */
        { "video={frameRate={max=d:10}}", SET_USER, 0, "cam-user", CROP, 640, 480, 10, 0 },
        { "video={frameRate={exact=d:25}}", SET_USER, 0, "cam-user", CROP, 640, 480, 25, 0 },
        /* Native 1280x720 is 280/1280 = 0.21875 away; 1000x563 (562.5 rounded) from mode 1 is 0,
         * and beats the same size at 15 fps from mode 2 on (b). */
        { "video={width=u:1000}", SET_USER, 0, "cam-user", CROP, 1000, 563, 30, 1 },
        /* docs/constraints.md: height capped at 200 with width >= 500 gives 500x200 (mode 0 wins on (d)). */
        { "video={height={max=u:200},width={min=u:500}}", SET_USER, 0, "cam-user", CROP, 500, 200, 30, 0 },
        { "video={advanced=[{width=u:800,height=u:600}]}", SET_USER, 0, "cam-user", CROP, 800, 600, 30, 1 },
        { "video={width=d:1280}", SET_USER, 0, "cam-user", NONE_, 1280, 720, 30, 1 },
        { "video={width=x:1280}", SET_USER, 0, "cam-user", NONE_, 1280, 720, 30, 1 },
        { "video={width=t:1280,height=q:720}", SET_USER, 0, "cam-user", NONE_, 1280, 720, 30, 1 },
        { "video={width=true}", SET_USER, 0, "cam-user", NONE_, 640, 480, 30, 0 },

        /* Impossible ranges. */
        { "video={width={min=u:100,max=u:10}}", SET_USER, OVER("width"), false, 0, 0, 0, 0 },
        { "video={width={max=u:0}}", SET_USER, OVER("width"), false, 0, 0, 0, 0 },
        { "video={width={max=i:-1}}", SET_USER, OVER("width"), false, 0, 0, 0, 0 },
        { "video={height={max=u:0}}", SET_USER, OVER("height"), false, 0, 0, 0, 0 },
        { "video={height={max=x:-1}}", SET_USER, OVER("height"), false, 0, 0, 0, 0 },
        { "video={frameRate={max=d:0}}", SET_USER, OVER("frameRate"), false, 0, 0, 0, 0 },
        { "video={frameRate={max=i:-1}}", SET_USER, OVER("frameRate"), false, 0, 0, 0, 0 },
        { "video={frameRate={exact=d:0}}", SET_USER, OVER("frameRate"), false, 0, 0, 0, 0 },
        { "video={frameRate={min=d:50,max=d:40}}", SET_USER, OVER("frameRate"), false, 0, 0, 0, 0 },
        /* Below the decimation floor (CONSTRAINTS_MIN_DECIMATED_FRAME_RATE). */
        { "video={frameRate={max=d:0.5}}", SET_USER, OVER("frameRate"), false, 0, 0, 0, 0 },
        { "video={height={min=u:100},width={min=u:5000}}", SET_USER, OVER("width"), false, 0, 0, 0, 0 },
        /* The name is the first in the fixed order that failed everywhere. */
        { "video={width={min=u:5000},facingMode={exact=s:left}}", SET_USER, OVER("facingMode"), false, 0, 0, 0, 0 },
        { "video={frameRate={min=d:100},height={min=u:5000}}", SET_USER, OVER("height"), false, 0, 0, 0, 0 },
        /* Each alone is satisfiable (1920 wide at 15 fps, or 30 fps narrower): no name. */
        { "video={width={min=u:1920},frameRate={min=d:30}}", SET_USER, OVER(""), false, 0, 0, 0, 0 },
        { "video={resizeMode={exact=s:none},width={exact=u:1000}}", SET_USER, OVER(""), false, 0, 0, 0, 0 },

        /* Constraints of the other kind are dropped, even required ones. */
        { "video={sampleRate={exact=u:1},echoCancellation={exact=true},channelCount={min=u:9}}",
          SET_USER, 0, "cam-user", NONE_, 640, 480, 30, 0 },
        /* Unknown names and members, ideals of names that may not select: ignored. */
        { "video={foo=s:bar,width={mn=u:5,ideal=u:1280}}", SET_USER, 0, "cam-user", NONE_, 1280, 720, 30, 1 },
        { "video={displaySurface=s:monitor,zoom={ideal=d:2},torch=true}", SET_USER, 0, "cam-user", NONE_, 640, 480, 30, 0 },
        { "video={facingMode={min=s:environment}}", SET_USER, 0, "cam-user", NONE_, 640, 480, 30, 0 },

        /* deviceId and groupId, exact and ideal, string and list. */
        { "video={deviceId={exact=s:cam-env}}", SET_CAMS, 0, "cam-env", NONE_, 1280, 720, 30, 0 },
        { "video={deviceId=s:cam-env}", SET_CAMS, 0, "cam-env", NONE_, 1280, 720, 30, 0 },
        { "video={deviceId={exact=as:(nope|cam-env)}}", SET_CAMS, 0, "cam-env", NONE_, 1280, 720, 30, 0 },
        { "video={deviceId=as:(nope|cam-env)}", SET_CAMS, 0, "cam-env", NONE_, 1280, 720, 30, 0 },
        { "video={deviceId={ideal=s:cam-env}}", SET_CAMS, 0, "cam-env", NONE_, 1280, 720, 30, 0 },
        { "video={deviceId={exact=s:nope}}", SET_CAMS, OVER("deviceId"), false, 0, 0, 0, 0 },
        { "video={deviceId=s:nope}", SET_CAMS, 0, "cam-user", NONE_, 640, 480, 30, 0 },
        { "video={deviceId=s:}", SET_CAMS, 0, "cam-user", NONE_, 640, 480, 30, 0 },
        { "video={deviceId={exact=s:}}", SET_CAMS, 0, "cam-user", NONE_, 640, 480, 30, 0 },
        { "video={deviceId={exact=as:(|cam-env)}}", SET_CAMS, 0, "cam-env", NONE_, 1280, 720, 30, 0 },
        { "video={groupId={exact=s:grp-env}}", SET_CAMS, 0, "cam-env", NONE_, 1280, 720, 30, 0 },
        { "video={groupId=s:grp-env}", SET_CAMS, 0, "cam-env", NONE_, 1280, 720, 30, 0 },
        { "video={groupId={exact=as:(grp-env|grp-user)}}", SET_CAMS, 0, "cam-user", NONE_, 640, 480, 30, 0 },
        { "video={groupId=as:(x|grp-env)}", SET_CAMS, 0, "cam-env", NONE_, 1280, 720, 30, 0 },
        { "video={groupId={exact=s:grp-nope}}", SET_CAMS, OVER("groupId"), false, 0, 0, 0, 0 },
        { "video={deviceId={exact=s:cam-env},groupId={exact=s:grp-user}}", SET_CAMS, OVER(""), false, 0, 0, 0, 0 },

        /* facingMode, with the environment camera beside the user one. */
        { "video={facingMode=s:environment}", SET_CAMS, 0, "cam-env", NONE_, 1280, 720, 30, 0 },
        { "video={facingMode={exact=s:environment}}", SET_CAMS, 0, "cam-env", NONE_, 1280, 720, 30, 0 },
        { "video={facingMode={exact=as:(left|environment)}}", SET_CAMS, 0, "cam-env", NONE_, 1280, 720, 30, 0 },
        { "video={facingMode=as:(user|environment)}", SET_CAMS, 0, "cam-user", NONE_, 640, 480, 30, 0 },
        { "video={facingMode=as:()}", SET_CAMS, 0, "cam-user", NONE_, 640, 480, 30, 0 },
        { "video={facingMode={exact=as:()}}", SET_CAMS, 0, "cam-user", NONE_, 640, 480, 30, 0 },
        { "video={facingMode={exact=s:left}}", SET_CAMS, OVER("facingMode"), false, 0, 0, 0, 0 },
        { "video={facingMode=s:environment,width={min=u:3000}}", SET_CAMS, 0, "cam-env", NONE_, 3840, 2160, 10, 1 },
        { "video={width={min=u:3000}}", SET_CAMS, 0, "cam-env", NONE_, 3840, 2160, 10, 1 },
        /* A camera without a facing mode lacks the property: 1 for an ideal, rule 4 for a boolean. */
        { "video={facingMode=s:user}", SET_PLAIN, 0, "cam-user", NONE_, 640, 480, 30, 0 },
        { "video={facingMode=true}", SET_PLAIN, 0, "cam-user", NONE_, 640, 480, 30, 0 },
        { "video={facingMode=false}", SET_PLAIN, 0, "cam-plain", NONE_, 640, 480, 30, 0 },
        { "video={advanced=[{facingMode=false}]}", SET_PLAIN, 0, "cam-plain", NONE_, 640, 480, 30, 0 },
        { "video={facingMode={exact=s:user}}", SET_PLAIN, 0, "cam-user", NONE_, 640, 480, 30, 0 },

        /* Tie-break (c): the default device, wherever it is listed. */
        { "video={width=u:1280,height=u:720}", SET_CAMS, 0, "cam-user", NONE_, 1280, 720, 30, 1 },
        { "video={width=u:1280,height=u:720}", SET_CAMS_ENV_FIRST, 0, "cam-user", NONE_, 1280, 720, 30, 1 },
        { "video=true", SET_CAMS_ENV_FIRST, 0, "cam-user", NONE_, 640, 480, 30, 0 },
        { "video=true", SET_ALL, 0, "cam-user", NONE_, 640, 480, 30, 0 },

        /* Advanced sets: kept, skipped, in order. */
        { "video={advanced=[{facingMode=s:environment}]}", SET_CAMS, 0, "cam-env", NONE_, 1280, 720, 30, 0 },
        { "video={advanced=[{facingMode=s:left}]}", SET_CAMS, 0, "cam-user", NONE_, 640, 480, 30, 0 },
        { "video={advanced=[{width=u:1280}]}", SET_USER, 0, "cam-user", NONE_, 1280, 720, 30, 1 },
        { "video={advanced=[{width={min=u:1000}},{frameRate={min=d:20}},{height=u:1080}]}",
          SET_USER, 0, "cam-user", NONE_, 1280, 720, 30, 1 },
        { "video={advanced=[{height=u:1080},{frameRate={min=d:20}}]}", SET_USER, 0, "cam-user", NONE_, 1920, 1080, 15, 2 },
        { "video={advanced=[{}]}", SET_USER, 0, "cam-user", NONE_, 640, 480, 30, 0 },
        /* Advanced sets filter only: the basic ideal still ranks what they leave (1000 wide,
         * 0.36 from 640, the nearest; the height follows mode 1's 16:9, 562.5 rounded). */
        { "video={width=u:640,advanced=[{width={min=u:1000}}]}", SET_USER, 0, "cam-user", CROP, 1000, 563, 30, 1 },

        /* resizeMode. */
        { "video={resizeMode={exact=s:none},width=u:1000}", SET_USER, 0, "cam-user", NONE_, 1280, 720, 30, 1 },
        { "video={resizeMode={exact=s:crop-and-scale}}", SET_USER, 0, "cam-user", CROP, 640, 480, 30, 0 },
        { "video={resizeMode=s:crop-and-scale}", SET_USER, 0, "cam-user", CROP, 640, 480, 30, 0 },
        { "video={resizeMode={exact=as:(none|crop-and-scale)},width=u:1000}", SET_USER, 0, "cam-user", CROP, 1000, 563, 30, 1 },
        { "video={resizeMode={exact=s:stretch}}", SET_USER, OVER("resizeMode"), false, 0, 0, 0, 0 },

        /* aspectRatio, exact with crop-and-scale. Square: 640x480 moves its height (no ideal)
         * to 640, beyond 480, so its width moves to 480; 480x480 wins on (b). */
        { "video={aspectRatio={exact=d:1}}", SET_USER, 0, "cam-user", CROP, 480, 480, 30, 0 },
        /* Width ideal 640: the height moves to 360; modes 0 and 1 both give 640x360@30, (d). */
        { "video={aspectRatio={exact=d:1.7777777778},width=u:640}", SET_USER, 0, "cam-user", CROP, 640, 360, 30, 0 },
        /* Height ideal 480: no whole width gives 16:9 within 1e-9 with 480 (853.33), nor a whole
         * height with 853, so the nearest whole 16:9 size is taken: 848x477 (0.00625 away). */
        { "video={aspectRatio={exact=d:1.7777777778},height=u:480}", SET_USER, 0, "cam-user", CROP, 848, 477, 30, 1 },
        { "video={aspectRatio=d:1.7777777778}", SET_USER, 0, "cam-user", NONE_, 1280, 720, 30, 1 },
        { "video={aspectRatio={min=d:1.5,max=d:1.8}}", SET_USER, 0, "cam-user", NONE_, 1280, 720, 30, 1 },
        { "video={aspectRatio={exact=d:1.333333333}}", SET_USER, 0, "cam-user", NONE_, 640, 480, 30, 0 },
        /* 2:1 with an aspect ideal of 2 too: the largest 2:1 size in each native size. */
        { "video={aspectRatio={exact=d:2,ideal=d:2}}", SET_USER, 0, "cam-user", CROP, 640, 320, 30, 0 },
        /* Pi: no whole size up to 1920x1080 comes within 1e-9 of it (355/113 is 2.7e-7 off). */
        { "video={aspectRatio={exact=d:3.14159265358979}}", SET_USER, OVER("aspectRatio"), false, 0, 0, 0, 0 },
        { "video={aspectRatio={min=d:3000}}", SET_USER, OVER("aspectRatio"), false, 0, 0, 0, 0 },

        /* NotFoundError: no camera at all. */
        { "video=true", SET_NONE, SELECT_SETTINGS_NO_DEVICE, NULL, false, 0, 0, 0, 0 },
        { "video=true", SET_MICS, SELECT_SETTINGS_NO_DEVICE, NULL, false, 0, 0, 0, 0 },
};

static void test_video_case(void **state) {
        const VideoCase *t = *state;
        SelectedSettings s = {};
        const char *constraint = NULL;
        int r;

        r = run_select(t->constraints, DEVICE_KIND_VIDEO, t->set, &s, &constraint);
        assert_int_equal(r, t->expected);
        if (r == SELECT_SETTINGS_OVERCONSTRAINED) {
                assert_non_null(constraint);
                assert_string_equal(constraint, t->device_or_constraint);
                return;
        }
        if (r != SELECT_SETTINGS_FOUND)
                return;

        assert_int_equal(s.kind, DEVICE_KIND_VIDEO);
        assert_string_equal(candidate_sets[t->set].c[s.candidate].device_id, t->device_or_constraint);
        assert_int_equal(s.crop_and_scale, t->crop);
        assert_int_equal(s.width, t->width);
        assert_int_equal(s.height, t->height);
        assert_true(fabs(s.frame_rate - t->frame_rate) < 1e-9);
        assert_int_equal(s.mode, t->mode);
        assert_true(fabs(s.aspect_ratio - round((double) t->width / t->height * 1e10) / 1e10) < 1e-12);
}

/* ---- SelectSettings, microphones ---- */

typedef struct AudioCase {
        const char *constraints;
        CandidateSet set;
        int expected;
        const char *device_or_constraint;
        uint32_t sample_rate, channel_count, sample_size;
        bool echo_cancellation, auto_gain_control, noise_suppression;
} AudioCase;

static const AudioCase audio_cases[] = {
        /* (b): 48000 Hz mono; (c): mic-1, the default, over mic-2's identical offer. */
        { "audio=true", SET_MICS, 0, "mic-1", 48000, 1, 16, false, false, false },
        { "audio={}", SET_MICS, 0, "mic-1", 48000, 1, 16, false, false, false },
        { "audio=true", SET_ALL, 0, "mic-1", 48000, 1, 16, false, false, false },
        { "audio={sampleRate=u:44100}", SET_MICS, 0, "mic-1", 44100, 1, 16, false, false, false },
        { "audio={sampleRate={exact=u:44100}}", SET_MICS, 0, "mic-1", 44100, 1, 16, false, false, false },
        /* Relative distance: 1900/46000 = 0.0413 beats 2000/48000 = 0.0417. */
        { "audio={sampleRate=u:46000}", SET_MICS, 0, "mic-1", 44100, 1, 16, false, false, false },
        { "audio={sampleRate=u:47000}", SET_MICS, 0, "mic-1", 48000, 1, 16, false, false, false },
        { "audio={channelCount={exact=u:2}}", SET_MICS, 0, "mic-1", 48000, 2, 16, false, false, false },
        { "audio={channelCount=u:2}", SET_MICS, 0, "mic-1", 48000, 2, 16, false, false, false },
        { "audio={channelCount=u:2,sampleRate={ideal=u:44100}}", SET_MICS, 0, "mic-1", 44100, 2, 16, false, false, false },
        /* Microphones offer native values only. */
        { "audio={sampleRate={exact=u:96000}}", SET_MICS, OVER("sampleRate"), 0, 0, 0, false, false, false },
        { "audio={sampleRate={min=u:8000,max=u:16000}}", SET_MICS, OVER("sampleRate"), 0, 0, 0, false, false, false },
        { "audio={channelCount={min=u:3}}", SET_MICS, OVER("channelCount"), 0, 0, 0, false, false, false },
        { "audio={sampleSize={exact=u:24}}", SET_MICS, OVER("sampleSize"), 0, 0, 0, false, false, false },
        { "audio={latency={max=d:0.001}}", SET_MICS, OVER("latency"), 0, 0, 0, false, false, false },
        { "audio={latency=d:0.02}", SET_MICS, 0, "mic-2", 48000, 1, 16, false, false, false },
        /* Processing is a capability: only mic-2 can, and it is off unless asked for. */
        { "audio={echoCancellation={exact=true}}", SET_MICS, 0, "mic-2", 48000, 1, 16, true, false, false },
        { "audio={echoCancellation=true}", SET_MICS, 0, "mic-2", 48000, 1, 16, true, false, false },
        { "audio={echoCancellation=true,sampleRate={exact=u:44100}}", SET_MICS, 0, "mic-1", 44100, 1, 16, false, false, false },
        { "audio={autoGainControl={exact=false},noiseSuppression=true}", SET_MICS, 0, "mic-2", 48000, 1, 16, false, false, true },
        { "audio={echoCancellation={exact=true}}", SET_ALL, 0, "mic-2", 48000, 1, 16, true, false, false },
        { "audio={deviceId={exact=s:mic-1},echoCancellation={exact=true}}", SET_MICS, OVER(""), 0, 0, 0, false, false, false },
        { "audio={noiseSuppression={exact=true},sampleRate={exact=u:44100}}", SET_MICS, OVER(""), 0, 0, 0, false, false, false },
        { "audio={deviceId={exact=s:mic-2}}", SET_MICS, 0, "mic-2", 48000, 1, 16, false, false, false },
        { "audio={deviceId=s:mic-2,echoCancellation=true,autoGainControl=true}", SET_MICS, 0, "mic-2", 48000, 1, 16, true, true, false },
        { "audio={groupId={exact=s:grp-user}}", SET_ALL, 0, "mic-1", 48000, 1, 16, false, false, false },
        { "audio={groupId={exact=s:grp-env}}", SET_ALL, OVER("groupId"), 0, 0, 0, false, false, false },
        /* Video properties in audio are dropped. */
        { "audio={width={exact=u:1},facingMode={exact=s:left},resizeMode={exact=s:x}}", SET_MICS, 0, "mic-1", 48000, 1, 16, false, false, false },
        { "audio={advanced=[{sampleRate=u:44100,channelCount=u:2}]}", SET_MICS, 0, "mic-1", 44100, 2, 16, false, false, false },
        { "audio={advanced=[{sampleRate=u:22050}],channelCount=u:2}", SET_MICS, 0, "mic-1", 48000, 2, 16, false, false, false },
        { "audio={advanced=[{noiseSuppression=true},{sampleRate=u:44100}]}", SET_MICS, 0, "mic-2", 48000, 1, 16, false, false, true },
        { "audio=true", SET_USER, SELECT_SETTINGS_NO_DEVICE, NULL, 0, 0, 0, false, false, false },
        { "audio=true", SET_NONE, SELECT_SETTINGS_NO_DEVICE, NULL, 0, 0, 0, false, false, false },
};

static void test_audio_case(void **state) {
        const AudioCase *t = *state;
        SelectedSettings s = {};
        const char *constraint = NULL;
        int r;

        r = run_select(t->constraints, DEVICE_KIND_AUDIO, t->set, &s, &constraint);
        assert_int_equal(r, t->expected);
        if (r == SELECT_SETTINGS_OVERCONSTRAINED) {
                assert_non_null(constraint);
                assert_string_equal(constraint, t->device_or_constraint);
                return;
        }
        if (r != SELECT_SETTINGS_FOUND)
                return;

        assert_int_equal(s.kind, DEVICE_KIND_AUDIO);
        assert_string_equal(candidate_sets[t->set].c[s.candidate].device_id, t->device_or_constraint);
        assert_int_equal(s.sample_rate, t->sample_rate);
        assert_int_equal(s.channel_count, t->channel_count);
        assert_int_equal(s.sample_size, t->sample_size);
        assert_int_equal(s.echo_cancellation, t->echo_cancellation);
        assert_int_equal(s.auto_gain_control, t->auto_gain_control);
        assert_int_equal(s.noise_suppression, t->noise_suppression);
        assert_true(s.latency == candidate_sets[t->set].c[s.candidate].device->audio.latency);
}

/* ---- Parsing: TypeErrors ---- */

typedef struct TypeErrorCase {
        const char *constraints;
        const char *message; /* a part of the reason */
} TypeErrorCase;

static const TypeErrorCase type_error_cases[] = {
        /* Nothing requested, in each form. */
        { "", "nothing requested" },
        { "video=false,audio=false", "nothing requested" },
        { "video=false", "nothing requested" },
        { "foo=true,bar={width=u:1}", "nothing requested" },
        /* video/audio of the wrong type. */
        { "video=u:1", "'video' has wrong type 'u'" },
        { "audio=s:yes", "'audio' has wrong type 's'" },
        { "video=as:(a)", "'video' has wrong type 'as'" },
        { "video=[{width=u:1}]", "video" },
        { "video=true,video=false", "twice" },
        /* Wrong types, per family: whole numbers... */
        { "video={width=s:640}", "constraint 'width' has wrong type 's'" },
        { "video={height=as:(1)}", "constraint 'height' has wrong type 'as'" },
        { "video={width={min=s:1}}", "constraint 'width' member 'min' has wrong type 's'" },
        { "video={width={exact=true}}", "constraint 'width' member 'exact' has wrong type 'b'" },
        { "audio={sampleRate=s:48000}", "constraint 'sampleRate' has wrong type 's'" },
        { "audio={channelCount={ideal=as:(2)}}", "constraint 'channelCount' member 'ideal' has wrong type 'as'" },
        /* ...doubles... */
        { "video={frameRate=s:30}", "constraint 'frameRate' has wrong type 's'" },
        { "video={aspectRatio=as:(a)}", "constraint 'aspectRatio' has wrong type 'as'" },
        { "audio={latency={max=s:1}}", "constraint 'latency' member 'max' has wrong type 's'" },
        /* ...strings... */
        { "video={facingMode=u:1}", "constraint 'facingMode' has wrong type 'u'" },
        { "video={facingMode={exact=u:1}}", "constraint 'facingMode' member 'exact' has wrong type 'u'" },
        { "video={resizeMode=d:1}", "constraint 'resizeMode' has wrong type 'd'" },
        { "video={deviceId={ideal=true}}", "constraint 'deviceId' member 'ideal' has wrong type 'b'" },
        { "audio={groupId=i:3}", "constraint 'groupId' has wrong type 'i'" },
        /* ...booleans. */
        { "audio={echoCancellation=s:true}", "constraint 'echoCancellation' has wrong type 's'" },
        { "audio={autoGainControl={exact=u:1}}", "constraint 'autoGainControl' member 'exact' has wrong type 'u'" },
        { "audio={noiseSuppression=d:1}", "constraint 'noiseSuppression' has wrong type 'd'" },
        /* Whole numbers from a non-integral double; NaN and infinities anywhere. */
        { "video={width=d:640.5}", "constraint 'width' must be a whole number" },
        { "video={width={max=d:-0.5}}", "constraint 'width' must be a whole number" },
        { "audio={sampleRate={exact=d:44100.1}}", "constraint 'sampleRate' must be a whole number" },
        { "video={width=d:nan}", "constraint 'width' is not a finite number" },
        { "video={frameRate=d:inf}", "constraint 'frameRate' is not a finite number" },
        { "video={frameRate={min=d:-inf}}", "constraint 'frameRate' is not a finite number" },
        { "video={aspectRatio={exact=d:nan}}", "constraint 'aspectRatio' is not a finite number" },
        { "audio={latency=d:inf}", "constraint 'latency' is not a finite number" },
        /* Required constraints on names that exist but may not select a device. */
        { "video={displaySurface={exact=s:monitor}}", "'displaySurface' cannot be required" },
        { "video={whiteBalanceMode={exact=s:manual}}", "'whiteBalanceMode' cannot be required" },
        { "video={zoom={min=d:2}}", "'zoom' cannot be required" },
        { "video={backgroundBlur={exact=true}}", "'backgroundBlur' cannot be required" },
        { "audio={voiceIsolation={exact=true}}", "'voiceIsolation' cannot be required" },
        { "audio={suppressLocalAudioPlayback={max=u:1}}", "'suppressLocalAudioPlayback' cannot be required" },
        { "video={advanced=[{torch=true}]}", "'torch' cannot be required" },
        { "video={advanced=[{width=u:640},{pan={exact=d:1}}]}", "'pan' cannot be required" },
        /* advanced of the wrong shape. */
        { "video={advanced=s:x}", "constraint 'advanced' has wrong type 's'" },
        { "video={advanced={width=u:1}}", "constraint 'advanced' has wrong type 'a{sv}'" },
        { "video={advanced=true}", "constraint 'advanced' has wrong type 'b'" },
        { "video={advanced=[{width=s:1}]}", "constraint 'width' has wrong type 's'" },
        /* Deeper than the format. */
        { "video={advanced=[{advanced=[]}]}", "nesting too deep" },
        { "video={width=v:u:1}", "nesting too deep" },
        { "video={width={min={a=u:1}}}", "nesting too deep" },
        { "video={facingMode={exact={a=s:x}}}", "nesting too deep" },
        { "video=v:true", "nesting too deep" },
        /* Given twice. */
        { "video={width=u:1,width=u:2}", "given twice" },
        { "video={width={min=u:1,min=u:2}}", "twice" },
        { "video={advanced=[],advanced=[]}", "given twice" },
};

static void test_type_error_case(void **state) {
        const TypeErrorCase *t = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = build_message(t->constraints);
        _cleanup_(media_stream_constraints_freep) MediaStreamConstraints *c = NULL;
        _cleanup_free_ char *message = NULL;

        assert_int_equal(media_stream_constraints_parse(m, &c, &message), -EINVAL);
        assert_null(c);
        assert_non_null(message);
        if (!strstr(message, t->message))
                fail_msg("message \"%s\" does not contain \"%s\"", message, t->message);
}

/* Requests that parse: unknown and dropped things do not fail, and what was requested is set. */
typedef struct ParseCase {
        const char *constraints;
        bool audio, video, audio_dict, video_dict;
} ParseCase;

static const ParseCase parse_cases[] = {
        { "video=true", false, true, false, false },
        { "audio=true,video=false", true, false, false, false },
        { "audio={},video=true", true, true, true, false },
        { "video={},foo=s:bar,advanced=[{width=s:x}]", false, true, false, true },
        { "audio=true,future={x=v:u:1}", true, false, false, false },
        /* Names of the other kind are dropped, required unselectable ones included. */
        { "audio={displaySurface={exact=s:monitor},width={exact=s:not-checked}}", true, false, true, false },
        { "video={voiceIsolation={exact=true}}", false, true, false, true },
        /* Ideals of unselectable names are ignored. */
        { "video={displaySurface=s:monitor,zoom={ideal=d:2}},audio={voiceIsolation=true}", true, true, true, true },
        { "video={width=i:-5,height=x:99999999999,frameRate=y:5,aspectRatio=n:-1}", false, true, false, true },
};

static void test_parse_case(void **state) {
        const ParseCase *t = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = build_message(t->constraints);
        _cleanup_(media_stream_constraints_freep) MediaStreamConstraints *c = NULL;
        _cleanup_free_ char *message = NULL;
        int r;

        r = media_stream_constraints_parse(m, &c, &message);
        if (r < 0)
                fail_msg("parse failed: %d %s", r, strempty(message));
        assert_int_equal(c->audio, t->audio);
        assert_int_equal(c->video, t->video);
        assert_int_equal(!!c->audio_constraints, t->audio_dict);
        assert_int_equal(!!c->video_constraints, t->video_dict);
        /* consumed */
        assert_true(sd_bus_message_at_end(m, true) > 0);
}

/* ---- Limits: generated requests just at and just over each limit ---- */

typedef struct LimitCase {
        const char *prefix, *item, *separator, *suffix; /* item: '#' becomes the index */
        unsigned count;
        bool ok;
        const char *message;
} LimitCase;

static const LimitCase limit_cases[] = {
        { "video={", "k#=true", ",", "}", 256, true, NULL },
        { "video={", "k#=true", ",", "}", 257, false, "more than 256 entries" },
        { "video=true,", "k#=true", ",", "", 255, true, NULL },
        { "video=true,", "k#=true", ",", "", 256, false, "more than 256 entries" },
        { "video={width={", "k#=u:1", ",", "}}", 256, true, NULL },
        { "video={width={", "k#=u:1", ",", "}}", 257, false, "more than 256 entries" },
        { "video={advanced=[{", "k#=u:1", ",", "}]}", 257, false, "more than 256 entries" },
        { "video={advanced=[", "{width={min=u:#}}", ",", "]}", 64, true, NULL },
        { "video={advanced=[", "{width={min=u:#}}", ",", "]}", 65, false, "more than 64 advanced" },
        { "video={facingMode=as:(", "m#", "|", ")}", 64, true, NULL },
        { "video={facingMode=as:(", "m#", "|", ")}", 65, false, "more than 64 strings" },
        { "video={deviceId={exact=as:(", "d#", "|", ")}}", 65, false, "more than 64 strings" },
        { "video={deviceId=s:", "a", "", "}", 1024, true, NULL },
        { "video={deviceId=s:", "a", "", "}", 1025, false, "longer than 1024 bytes" },
        { "video={facingMode={ideal=as:(x|", "a", "", ")}}", 1025, false, "longer than 1024 bytes" },
        { "video=true,", "a", "", "=true", 1025, false, "longer than 1024 bytes" },
};

static char *generate(const LimitCase *t) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        fputs(t->prefix, f);
        for (unsigned i = 0; i < t->count; i++) {
                if (i > 0)
                        fputs(t->separator, f);
                for (const char *c = t->item; *c; c++)
                        if (*c == '#')
                                fprintf(f, "%u", i);
                        else
                                fputc(*c, f);
        }
        fputs(t->suffix, f);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static void test_limit_case(void **state) {
        const LimitCase *t = *state;
        _cleanup_free_ char *description = generate(t);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = build_message(description);
        _cleanup_(media_stream_constraints_freep) MediaStreamConstraints *c = NULL;
        _cleanup_free_ char *message = NULL;
        int r;

        r = media_stream_constraints_parse(m, &c, &message);
        if (t->ok) {
                if (r < 0)
                        fail_msg("parse failed: %d %s", r, strempty(message));
                assert_true(c->video);
                return;
        }
        assert_int_equal(r, -EINVAL);
        if (!message || !strstr(message, t->message))
                fail_msg("message \"%s\" does not contain \"%s\"", strempty(message), t->message);
}

/* ---- The fitness distance ---- */

typedef struct NumericDistanceCase {
        double actual, ideal, expected;
} NumericDistanceCase;

static const NumericDistanceCase numeric_distance_cases[] = {
        /* docs/constraints.md */
        { 1, 4, 0.75 },
        { 3, 4, 0.25 },
        { 0, 2, 1 },
        { 42, 42, 0 },
        /* symmetric, and both zero */
        { 4, 1, 0.75 },
        { 0, 0, 0 },
        { 1280, 1000, 0.21875 },
        { 30, 15, 0.5 },
};

static void test_numeric_distance_case(void **state) {
        const NumericDistanceCase *t = *state;

        assert_true(fabs(fitness_distance_numeric(t->actual, t->ideal) - t->expected) < 1e-12);
}

/* The distance of one settings point against a basic set. */
typedef struct DistanceCase {
        const char *constraints;
        DeviceKind kind;
        CandidateSet set;
        size_t candidate;
        bool crop;
        uint32_t width, height;
        double frame_rate;
        bool echo_cancellation;
        double expected; /* INFINITY for an unsatisfied required constraint */
} DistanceCase;

static const DistanceCase distance_cases[] = {
        { "video={width=u:4}", DEVICE_KIND_VIDEO, SET_USER, 0, false, 1, 1, 30, false, 0.75 },
        { "video={width=u:1280,height=u:720}", DEVICE_KIND_VIDEO, SET_USER, 0, false, 640, 480, 30, false, 0.5 + 1.0 / 3 },
        { "video={width={ideal=u:1280,max=u:1280},frameRate=d:60}", DEVICE_KIND_VIDEO, SET_USER, 0, true, 1280, 720, 30, false, 0.5 },
        { "video={width={min=u:700}}", DEVICE_KIND_VIDEO, SET_USER, 0, false, 640, 480, 30, false, INFINITY },
        { "video=true", DEVICE_KIND_VIDEO, SET_USER, 0, false, 640, 480, 30, false, 0 },
        { "video={facingMode=s:environment}", DEVICE_KIND_VIDEO, SET_USER, 0, false, 640, 480, 30, false, 1 },
        { "video={facingMode=as:(environment|user)}", DEVICE_KIND_VIDEO, SET_USER, 0, false, 640, 480, 30, false, 0 },
        /* rule 5: the settings lack facingMode */
        { "video={facingMode=s:user}", DEVICE_KIND_VIDEO, SET_PLAIN, 0, false, 640, 480, 30, false, 1 },
        { "video={facingMode={exact=s:user}}", DEVICE_KIND_VIDEO, SET_PLAIN, 0, false, 640, 480, 30, false, INFINITY },
        /* rule 4: a boolean for a non-boolean property */
        { "video={facingMode=true}", DEVICE_KIND_VIDEO, SET_PLAIN, 0, false, 640, 480, 30, false, 1 },
        { "video={facingMode=true}", DEVICE_KIND_VIDEO, SET_USER, 0, false, 640, 480, 30, false, 0 },
        { "video={facingMode=false}", DEVICE_KIND_VIDEO, SET_PLAIN, 0, false, 640, 480, 30, false, 0 },
        { "video={resizeMode=s:crop-and-scale}", DEVICE_KIND_VIDEO, SET_USER, 0, false, 640, 480, 30, false, 1 },
        { "video={resizeMode=s:crop-and-scale}", DEVICE_KIND_VIDEO, SET_USER, 0, true, 640, 480, 30, false, 0 },
        { "video={deviceId=s:cam-user,groupId=s:other}", DEVICE_KIND_VIDEO, SET_USER, 0, false, 640, 480, 30, false, 1 },
        /* aspectRatio within 1e-9 of 4/3, rounded to 10 decimals */
        { "video={aspectRatio={exact=d:1.3333333333}}", DEVICE_KIND_VIDEO, SET_USER, 0, false, 640, 480, 30, false, 0 },
        { "video={aspectRatio={exact=d:1.333333}}", DEVICE_KIND_VIDEO, SET_USER, 0, false, 640, 480, 30, false, INFINITY },
        { "video={aspectRatio=d:2}", DEVICE_KIND_VIDEO, SET_USER, 0, false, 640, 480, 30, false, (2 - 640.0 / 480) / 2 },
        { "audio={echoCancellation=true}", DEVICE_KIND_AUDIO, SET_MICS, 1, false, 0, 0, 0, false, 1 },
        { "audio={echoCancellation=true}", DEVICE_KIND_AUDIO, SET_MICS, 1, false, 0, 0, 0, true, 0 },
        { "audio={echoCancellation={exact=true}}", DEVICE_KIND_AUDIO, SET_MICS, 1, false, 0, 0, 0, false, INFINITY },
        { "audio={latency=d:0.04}", DEVICE_KIND_AUDIO, SET_MICS, 1, false, 0, 0, 0, false, 0.5 },
};

static void test_distance_case(void **state) {
        const DistanceCase *t = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = build_message(t->constraints);
        _cleanup_(media_stream_constraints_freep) MediaStreamConstraints *c = NULL;
        _cleanup_(track_constraints_freep) TrackConstraints *empty = NULL;
        const ConstraintCandidate *cand = &candidate_sets[t->set].c[t->candidate];
        const TrackConstraints *tc;
        SelectedSettings s = {
                .candidate = t->candidate,
                .kind = t->kind,
                .crop_and_scale = t->crop,
                .width = t->width,
                .height = t->height,
                .frame_rate = t->frame_rate,
                .aspect_ratio = t->height ? round((double) t->width / t->height * 1e10) / 1e10 : 0,
                .sample_rate = 48000,
                .channel_count = 1,
                .sample_size = 16,
                .latency = cand->device->audio.latency,
                .echo_cancellation = t->echo_cancellation,
        };
        double d;

        assert_return_code(media_stream_constraints_parse(m, &c, NULL), 0);
        tc = t->kind == DEVICE_KIND_VIDEO ? c->video_constraints : c->audio_constraints;
        if (!tc) {
                assert_return_code(track_constraints_new_empty(t->kind, &empty), 0);
                tc = empty;
        }
        d = fitness_distance(tc, cand, &s);
        if (isinf(t->expected))
                assert_true(isinf(d));
        else if (!(fabs(d - t->expected) < 1e-9))
                fail_msg("distance %.12g, expected %.12g", d, t->expected);
}

/* ---- Output: Constraints, Settings and Capabilities properties ---- */

/* track_constraints_parse, then append: the normalized shape. Appending what was appended
 * gives the same again. */
typedef struct AppendCase {
        const char *track; /* a MediaTrackConstraints body */
        DeviceKind kind;
        const char *expected;
} AppendCase;

static const AppendCase append_cases[] = {
        { "", DEVICE_KIND_VIDEO, "" },
        { "width=i:1280,height={min=d:480,ideal=x:720},frameRate=u:30,facingMode=as:(user|left),"
          "resizeMode={exact=s:none},foo=true,sampleRate=u:1,advanced=[{aspectRatio=i:2},{deviceId=s:abc}]",
          DEVICE_KIND_VIDEO,
          "facingMode=as:(user|left),resizeMode={exact=s:none},width=u:1280,height={min=u:480,ideal=u:720},"
          "frameRate=d:30,advanced=[{aspectRatio=d:2},{deviceId=s:abc}]" },
        { "width={max=i:-1},height=x:99999999999,deviceId=s:,groupId=as:(),facingMode={exact=as:()}",
          DEVICE_KIND_VIDEO, "width={max=u:0},height=u:4294967295" },
        { "facingMode=true,advanced=[{width=true},{}]", DEVICE_KIND_VIDEO, "facingMode=true,advanced=[{width=true},{}]" },
        { "deviceId={exact=as:(|a|b),ideal=s:c},groupId={exact=s:g,min=s:x}", DEVICE_KIND_VIDEO,
          "deviceId={exact=as:(a|b),ideal=s:c},groupId={exact=s:g}" },
        { "width={}", DEVICE_KIND_VIDEO, "" },
        { "echoCancellation=true,sampleRate={min=u:8000,max=t:48000},latency=i:1,channelCount=d:2,width=u:5,"
          "advanced=[{noiseSuppression={exact=false}}]",
          DEVICE_KIND_AUDIO,
          "sampleRate={min=u:8000,max=u:48000},echoCancellation=true,latency=d:1,channelCount=u:2,"
          "advanced=[{noiseSuppression={exact=false}}]" },
};

static char *append_and_render(const TrackConstraints *t) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *out = new_output_message();

        assert_return_code(track_constraints_append(out, t), 0);
        seal_and_rewind(out);
        return render_dict(out);
}

static void test_append_case(void **state) {
        const AppendCase *t = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = build_message(t->track), *again = NULL;
        _cleanup_(track_constraints_freep) TrackConstraints *c = NULL, *c2 = NULL;
        _cleanup_free_ char *rendered = NULL, *rendered2 = NULL, *message = NULL;

        assert_return_code(track_constraints_parse(m, t->kind, &c, &message), 0);
        assert_true(sd_bus_message_at_end(m, true) > 0);
        rendered = append_and_render(c);
        assert_string_equal(rendered, t->expected);

        again = build_message(rendered);
        assert_return_code(track_constraints_parse(again, t->kind, &c2, &message), 0);
        rendered2 = append_and_render(c2);
        assert_string_equal(rendered2, rendered);
}

/* SelectSettings, then the Settings property of the choice. */
typedef struct SettingsCase {
        const char *constraints;
        DeviceKind kind;
        CandidateSet set;
        const char *expected;
} SettingsCase;

static const SettingsCase settings_cases[] = {
        { "video={width=u:1000}", DEVICE_KIND_VIDEO, SET_USER,
          "width=u:1000,height=u:563,frameRate=d:30,aspectRatio=d:1.7761989343,resizeMode=s:crop-and-scale,"
          "facingMode=s:user,deviceId=s:cam-user,groupId=s:grp-user" },
        { "video={deviceId=s:cam-env}", DEVICE_KIND_VIDEO, SET_CAMS,
          "width=u:1280,height=u:720,frameRate=d:30,aspectRatio=d:1.7777777778,resizeMode=s:none,"
          "facingMode=s:environment,deviceId=s:cam-env,groupId=s:grp-env" },
        { "video={facingMode=false}", DEVICE_KIND_VIDEO, SET_PLAIN,
          "width=u:640,height=u:480,frameRate=d:30,aspectRatio=d:1.3333333333,resizeMode=s:none,"
          "facingMode=s:,deviceId=s:cam-plain,groupId=s:grp-plain" },
        { "audio={echoCancellation=true}", DEVICE_KIND_AUDIO, SET_MICS,
          "sampleRate=u:48000,sampleSize=u:16,channelCount=u:1,latency=d:0.02,echoCancellation=true,"
          "autoGainControl=false,noiseSuppression=false,deviceId=s:mic-2,groupId=s:grp-2" },
};

static void test_settings_case(void **state) {
        const SettingsCase *t = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *out = new_output_message();
        _cleanup_free_ char *rendered = NULL;
        SelectedSettings s = {};

        assert_return_code(run_select(t->constraints, t->kind, t->set, &s, NULL), 0);
        assert_return_code(selected_settings_append(out, &s, &candidate_sets[t->set].c[s.candidate]), 0);
        seal_and_rewind(out);
        rendered = render_dict(out);
        assert_string_equal(rendered, t->expected);
}

typedef struct CapabilitiesCase {
        const ConstraintCandidate *candidate;
        const char *expected;
} CapabilitiesCase;

static const CapabilitiesCase capabilities_cases[] = {
        { &set_user[0],
          "width=(uu):(1|1920),height=(uu):(1|1080),frameRate=(dd):(1|30),aspectRatio=(dd):(0.0009259259|1920),"
          "facingMode=as:(user),resizeMode=as:(none|crop-and-scale),deviceId=s:cam-user,groupId=s:grp-user" },
        { &set_plain[0],
          "width=(uu):(1|640),height=(uu):(1|480),frameRate=(dd):(1|30),aspectRatio=(dd):(0.0020833333|640),"
          "facingMode=as:(),resizeMode=as:(none|crop-and-scale),deviceId=s:cam-plain,groupId=s:grp-plain" },
        { &set_mics[0],
          "sampleRate=(uu):(44100|48000),sampleSize=(uu):(16|16),channelCount=(uu):(1|2),latency=(dd):(0.01|0.01),"
          "echoCancellation=ab:(false),autoGainControl=ab:(false),noiseSuppression=ab:(false),"
          "deviceId=s:mic-1,groupId=s:grp-user" },
        { &set_mics[1],
          "sampleRate=(uu):(48000|48000),sampleSize=(uu):(16|16),channelCount=(uu):(1|1),latency=(dd):(0.02|0.02),"
          "echoCancellation=ab:(true|false),autoGainControl=ab:(true|false),noiseSuppression=ab:(true|false),"
          "deviceId=s:mic-2,groupId=s:grp-2" },
};

static void test_capabilities_case(void **state) {
        const CapabilitiesCase *t = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *out = new_output_message();
        _cleanup_free_ char *rendered = NULL;

        assert_return_code(device_capabilities_append(out, t->candidate), 0);
        seal_and_rewind(out);
        rendered = render_dict(out);
        assert_string_equal(rendered, t->expected);
}

/* The first argument must be an a{sv}; ApplyConstraints parses for its track's kind. */
static void test_not_a_dictionary(void **state) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(media_stream_constraints_freep) MediaStreamConstraints *c = NULL;
        _cleanup_(track_constraints_freep) TrackConstraints *t = NULL;
        _cleanup_free_ char *message = NULL;

        assert_return_code(sd_bus_message_new_method_call(test_bus, &m, "org.x", "/", "org.x", "M"), 0);
        assert_return_code(sd_bus_message_append(m, "s", "video"), 0);
        seal_and_rewind(m);
        assert_int_equal(media_stream_constraints_parse(m, &c, &message), -EINVAL);
        assert_non_null(strstr(message, "a{sv}"));
        free(message);
        message = NULL;
        assert_int_equal(track_constraints_parse(m, DEVICE_KIND_VIDEO, &t, &message), -EINVAL);
        assert_non_null(strstr(message, "a{sv}"));
}

static void test_track_parse_kind(void **state) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = build_message("width={exact=u:1},sampleRate={exact=u:44100}");
        _cleanup_(track_constraints_freep) TrackConstraints *t = NULL;
        SelectedSettings s = {};
        const char *constraint = NULL;

        /* As audio constraints, width is dropped and sampleRate 44100 picks mic-1. */
        assert_return_code(track_constraints_parse(m, DEVICE_KIND_AUDIO, &t, NULL), 0);
        assert_int_equal(select_settings(t, set_mics, ELEMENTSOF(set_mics), &s, &constraint), SELECT_SETTINGS_FOUND);
        assert_int_equal(s.candidate, 0);
        assert_int_equal(s.sample_rate, 44100);
        t = track_constraints_free(t);

        /* As video constraints, width 1 is a crop; sampleRate is dropped. */
        assert_return_code(sd_bus_message_rewind(m, true), 0);
        assert_return_code(track_constraints_parse(m, DEVICE_KIND_VIDEO, &t, NULL), 0);
        assert_int_equal(select_settings(t, set_user, ELEMENTSOF(set_user), &s, &constraint), SELECT_SETTINGS_FOUND);
        assert_true(s.crop_and_scale);
        assert_int_equal(s.width, 1);
        assert_int_equal(s.height, 1);
}

/* ---- Running every row as its own test ---- */

typedef struct TestList {
        struct CMUnitTest *tests;
        size_t n;
} TestList;

static void add_test(TestList *l, const char *group, const char *name, CMUnitTestFunction f, const void *row) {
        char *full = NULL;

        l->tests = reallocarray(l->tests, l->n + 1, sizeof(struct CMUnitTest));
        if (!l->tests || asprintf(&full, "%s: %.120s", group, name) < 0)
                abort();
        l->tests[l->n++] = (struct CMUnitTest) {
                .name = full,
                .test_func = f,
                .initial_state = (void *) row,
        };
}

#define ADD_TABLE(l, group, table, field, f)                                    \
        for (size_t _i = 0; _i < ELEMENTSOF(table); _i++)                       \
                add_test(l, group, (table)[_i].field, f, &(table)[_i])

static int setup_bus(void **state) {
        int fds[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
                return -1;
        if (sd_bus_new(&test_bus) < 0 ||
            sd_bus_set_fd(test_bus, fds[0], fds[0]) < 0 ||
            sd_bus_start(test_bus) < 0)
                return -1;
        /* fds[1] stays open so that the bus does not see a hang-up; freed at exit. */
        return 0;
}

static int teardown_bus(void **state) {
        /* Never flush: the bus never gets past authentication, and flushing would wait for it. */
        test_bus = sd_bus_close_unref(test_bus);
        return 0;
}

int main(void) {
        TestList l = {};
        char name[64];
        int r;

        ADD_TABLE(&l, "video", video_cases, constraints, test_video_case);
        ADD_TABLE(&l, "audio", audio_cases, constraints, test_audio_case);
        ADD_TABLE(&l, "TypeError", type_error_cases, constraints, test_type_error_case);
        ADD_TABLE(&l, "parse", parse_cases, constraints, test_parse_case);
        for (size_t i = 0; i < ELEMENTSOF(limit_cases); i++) {
                snprintf(name, sizeof(name), "%s...%s x%u", limit_cases[i].prefix, limit_cases[i].suffix,
                         limit_cases[i].count);
                add_test(&l, "limit", name, test_limit_case, &limit_cases[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(numeric_distance_cases); i++) {
                snprintf(name, sizeof(name), "(%g, %g)", numeric_distance_cases[i].actual,
                         numeric_distance_cases[i].ideal);
                add_test(&l, "distance", name, test_numeric_distance_case, &numeric_distance_cases[i]);
        }
        ADD_TABLE(&l, "fitness", distance_cases, constraints, test_distance_case);
        ADD_TABLE(&l, "append", append_cases, track, test_append_case);
        ADD_TABLE(&l, "settings", settings_cases, constraints, test_settings_case);
        for (size_t i = 0; i < ELEMENTSOF(capabilities_cases); i++)
                add_test(&l, "capabilities", capabilities_cases[i].candidate->device_id,
                         test_capabilities_case, &capabilities_cases[i]);
        add_test(&l, "parse", "not a dictionary", test_not_a_dictionary, NULL);
        add_test(&l, "parse", "track constraints per kind", test_track_parse_kind, NULL);

        r = _cmocka_run_group_tests("constraints", l.tests, l.n, setup_bus, teardown_bus);

        for (size_t i = 0; i < l.n; i++)
                free((char *) l.tests[i].name);
        free(l.tests);
        return r;
}
