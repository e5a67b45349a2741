/* Table tests for the bridge's pure parts: the formats a node offers and the negotiated format
 * read back (formats.c), the constraints that ask for it, and whose a PipeWire client is
 * (app-id.c: the portal's app id and the process). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <spa/param/audio/format-utils.h>
#include <spa/param/video/format-utils.h>
#include <spa/pod/filter.h>
#include <spa/utils/dict.h>

#include "consumer-id.h"
#include "formats.h"
#include "util.h"

static SourceSpec camera(void) {
        return (SourceSpec) {
                .kind = SOURCE_CAMERA, .device_id = (char *) "d1", .label = (char *) "Cam", .name = (char *) "mediagate-camera",
                .max_width = 1920, .max_height = 1080, .min_frame_rate = 1, .max_frame_rate = 30,
        };
}

/* Fixate an offered format as the link does for a consumer that asks for exactly this. */
static const struct spa_pod *fixate(struct spa_pod_builder *b, const struct spa_pod *offer, uint32_t format,
                                    uint32_t w, uint32_t h) {
        uint8_t space[512];
        struct spa_pod_builder fb = SPA_POD_BUILDER_INIT(space, sizeof(space));
        const struct spa_pod *filter, *result = NULL;

        filter = spa_pod_builder_add_object(&fb, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat,
                SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
                SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
                SPA_FORMAT_VIDEO_format, SPA_POD_Id(format),
                SPA_FORMAT_VIDEO_size, SPA_POD_Rectangle(&SPA_RECTANGLE(w, h)),
                SPA_FORMAT_VIDEO_framerate, SPA_POD_Fraction(&SPA_FRACTION(15, 1)));
        if (spa_pod_filter(b, (struct spa_pod **) &result, offer, filter) < 0)
                return NULL;
        /* As PipeWire does before it sets a format: the choices left become values. */
        spa_pod_fixate((struct spa_pod *) result);
        return result;
}

static void test_camera_offers_and_reads_back(void **state) {
        static const struct {
                uint32_t format, w, h;
                bool offered;
        } table[] = {
                { SPA_VIDEO_FORMAT_YUY2, 640, 480, true },
                { SPA_VIDEO_FORMAT_NV12, 1280, 720, true },
                { SPA_VIDEO_FORMAT_YUY2, 1920, 1080, true },
                { SPA_VIDEO_FORMAT_YUY2, 1921, 1080, false }, /* larger than the device */
                { SPA_VIDEO_FORMAT_RGB, 640, 480, false },     /* mediagate keeps YUYV or NV12 */
        };
        SourceSpec s = camera();

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                uint8_t space[4096], out[1024];
                struct spa_pod_builder b = SPA_POD_BUILDER_INIT(space, sizeof(space));
                struct spa_pod_builder ob = SPA_POD_BUILDER_INIT(out, sizeof(out));
                const struct spa_pod *params[FORMATS_MAX], *f = NULL;
                NegotiatedFormat nf;
                int n = formats_enum(&s, NULL, &b, params);

                assert_int_equal(n, 2);
                for (int k = 0; k < n && !f; k++)
                        f = fixate(&ob, params[k], table[i].format, table[i].w, table[i].h);
                assert_int_equal(f != NULL, table[i].offered);
                if (!f)
                        continue;
                assert_int_equal(format_parse(SOURCE_CAMERA, f, &nf), 0);
                assert_int_equal(nf.video_format, table[i].format);
                assert_int_equal(nf.width, table[i].w);
                assert_int_equal(nf.height, table[i].h);
                assert_int_equal(nf.rate_num * 1u, 15u * nf.rate_denom);
                /* A camera's format is no microphone's. */
                assert_int_equal(format_parse(SOURCE_MICROPHONE, f, &nf), -EINVAL);
        }
}

static void test_only_the_delivered_format(void **state) {
        uint8_t space[2048];
        struct spa_pod_builder b = SPA_POD_BUILDER_INIT(space, sizeof(space));
        const struct spa_pod *params[FORMATS_MAX];
        MgStreamFormat nv12 = { .video = true, .fourcc = "NV12", .width = 320, .height = 240 };
        MgStreamFormat mjpg = { .video = true, .fourcc = "MJPG", .width = 320, .height = 240 };
        SourceSpec s = camera();
        struct spa_video_info_raw v = {};

        assert_int_equal(formats_enum(&s, &nv12, &b, params), 1);
        assert_true(spa_format_video_raw_parse(params[0], &v) >= 0);
        assert_int_equal(v.format, SPA_VIDEO_FORMAT_NV12);
        assert_int_equal(v.size.width, 320);
        assert_int_equal(v.size.height, 240);
        assert_int_equal(formats_enum(&s, &mjpg, &b, params), -EOPNOTSUPP);
}

static void test_microphone_format(void **state) {
        static const struct {
                uint32_t min_rate, max_rate, min_ch, max_ch, rate, channels;
        } table[] = {
                { 8000, 48000, 1, 2, 48000, 2 },
                { 44100, 44100, 1, 1, 44100, 1 },
                { 8000, 16000, 2, 2, 16000, 2 },
                { 0, 0, 0, 0, 48000, 1 }, /* nothing known: the defaults */
                { 96000, 192000, 1, 8, 192000, 2 },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                uint8_t space[1024];
                struct spa_pod_builder b = SPA_POD_BUILDER_INIT(space, sizeof(space));
                const struct spa_pod *params[FORMATS_MAX];
                SourceSpec s = {
                        .kind = SOURCE_MICROPHONE, .min_rate = table[i].min_rate, .max_rate = table[i].max_rate,
                        .min_channels = table[i].min_ch, .max_channels = table[i].max_ch,
                };
                NegotiatedFormat nf;

                assert_int_equal(formats_enum(&s, NULL, &b, params), 1);
                ((struct spa_pod_object *) params[0])->body.id = SPA_PARAM_Format;
                assert_int_equal(format_parse(SOURCE_MICROPHONE, params[0], &nf), 0);
                assert_int_equal(nf.rate, table[i].rate);
                assert_int_equal(nf.channels, table[i].channels);
                assert_int_equal(formats_audio_rate(&s), table[i].rate);
        }
}

static void test_constraints_ask_for_the_format(void **state) {
        static const struct {
                const char *device_id;
                NegotiatedFormat f;
                const char *json;
        } table[] = {
                { "d1", { .kind = SOURCE_CAMERA, .video_format = SPA_VIDEO_FORMAT_YUY2, .width = 640, .height = 480,
                          .rate_num = 30, .rate_denom = 1 },
                  "{\"video\":{\"deviceId\":{\"exact\":\"d1\"},\"width\":{\"exact\":640},\"height\":{\"exact\":480},"
                  "\"frameRate\":{\"ideal\":30}}}" },
                { "", { .kind = SOURCE_CAMERA, .video_format = SPA_VIDEO_FORMAT_NV12, .width = 320, .height = 240,
                        .rate_num = 15000, .rate_denom = 1000 },
                  "{\"video\":{\"width\":{\"exact\":320},\"height\":{\"exact\":240},\"frameRate\":{\"ideal\":15}}}" },
                { "m", { .kind = SOURCE_MICROPHONE, .rate = 48000, .channels = 2 },
                  "{\"audio\":{\"deviceId\":{\"exact\":\"m\"},\"sampleRate\":{\"exact\":48000},"
                  "\"channelCount\":{\"exact\":2}}}" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                MgConstraints *c = NULL;
                char *json = NULL;

                assert_int_equal(format_to_constraints(table[i].device_id, &table[i].f, &c), 0);
                assert_int_equal(mg_constraints_to_json(c, &json), 0);
                assert_string_equal(json, table[i].json);
                free(json);
                mg_constraints_free(c);
        }
}

static void test_stream_matches(void **state) {
        NegotiatedFormat yuy2 = { .kind = SOURCE_CAMERA, .video_format = SPA_VIDEO_FORMAT_YUY2, .width = 640, .height = 480 };
        NegotiatedFormat mic = { .kind = SOURCE_MICROPHONE, .rate = 48000, .channels = 1 };
        MgStreamFormat a = { .video = true, .fourcc = "YUYV", .width = 640, .height = 480 };
        MgStreamFormat b = { .video = true, .fourcc = "NV12", .width = 640, .height = 480 };
        MgStreamFormat c = { .video = true, .fourcc = "YUYV", .width = 320, .height = 240 };
        MgStreamFormat d = { .sample_format = "S16_LE", .rate = 48000, .channels = 1 };
        MgStreamFormat e = { .sample_format = "S16_LE", .rate = 48000, .channels = 2 };

        assert_true(format_matches_stream(&yuy2, &a));
        assert_false(format_matches_stream(&yuy2, &b));
        assert_false(format_matches_stream(&yuy2, &c));
        assert_false(format_matches_stream(&yuy2, &d));
        assert_true(format_matches_stream(&mic, &d));
        assert_false(format_matches_stream(&mic, &e));
        assert_false(format_matches_stream(&mic, &a));
}

static void test_consumer_app_id(void **state) {
        char self_pid[16], self_exe[4096 + 6] = "host:";
        ssize_t n = readlink("/proc/self/exe", self_exe + 5, sizeof(self_exe) - 6);
        static const char *portal_ok = "org.example.App";

        assert_true(n > 0);
        self_exe[5 + n] = 0;
        snprintf(self_pid, sizeof self_pid, "%d", (int) getpid());

        const struct {
                struct spa_dict_item items[3];
                uint32_t n;
                int r;
                const char *app_id;
        } table[] = {
                /* The portal's connection: its app id, whatever the pid. */
                { { { "pipewire.access", "portal" }, { "pipewire.access.portal.app_id", portal_ok },
                    { "pipewire.sec.pid", self_pid } }, 3, 0, portal_ok },
                { { { "pipewire.access", "portal" }, { "pipewire.access.portal.app_id", "snap.firefox" } }, 2, 0,
                  "snap.firefox" },
                /* A portal connection without a usable app id is nobody we can name. */
                { { { "pipewire.access", "portal" }, { "pipewire.sec.pid", self_pid } }, 2, -EACCES, NULL },
                { { { "pipewire.access", "portal" }, { "pipewire.access.portal.app_id", "host:/usr/bin/x" } }, 2,
                  -EACCES, NULL },
                { { { "pipewire.access", "portal" }, { "pipewire.access.portal.app_id", "not an id" } }, 2,
                  -EACCES, NULL },
                /* Anyone else: its process; the portal key is ignored when the server did not
                 * mark the connection as the portal's. */
                { { { "pipewire.access", "unrestricted" }, { "pipewire.access.portal.app_id", portal_ok },
                    { "pipewire.sec.pid", self_pid } }, 3, 0, self_exe },
                { { { "pipewire.sec.pid", self_pid } }, 1, 0, self_exe },
                { { { "pipewire.access", "unrestricted" } }, 1, -ENODATA, NULL },
                { { { "pipewire.sec.pid", "0" } }, 1, -ENODATA, NULL },
                { { { "pipewire.sec.pid", "12x" } }, 1, -ENODATA, NULL },
                { { { "pipewire.sec.pid", "4194304" } }, 1, -ESRCH, NULL }, /* above pid_max: no process */
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                struct spa_dict dict = SPA_DICT_INIT(table[i].items, table[i].n);
                char *id = NULL;
                int r = consumer_app_id(&dict, &id);

                if (r != table[i].r)
                        fail_msg("case %zu: %d, expected %d", i, r, table[i].r);
                if (table[i].app_id)
                        assert_string_equal(id, table[i].app_id);
                free(id);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_camera_offers_and_reads_back),
                cmocka_unit_test(test_only_the_delivered_format),
                cmocka_unit_test(test_microphone_format),
                cmocka_unit_test(test_constraints_ask_for_the_format),
                cmocka_unit_test(test_stream_matches),
                cmocka_unit_test(test_consumer_app_id),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
