/* PipeWire formats of a source (see formats.h). */
#include <math.h>
#include <spa/param/audio/format-utils.h>
#include <spa/param/video/format-utils.h>

#include "formats.h"
#include "util.h"

#define DEFAULT_WIDTH 640u
#define DEFAULT_HEIGHT 480u
#define DEFAULT_FPS 30u
#define SIZE_MAX_UNKNOWN 8192u
#define DEFAULT_RATE 48000u
/* Frame rates as fractions with this denominator keep 29.97 and 7.5 exact enough. */
#define RATE_DENOM 1000u

uint32_t format_video_from_fourcc(const char *fourcc) {
        if (streq(fourcc, "YUYV"))
                return SPA_VIDEO_FORMAT_YUY2;
        if (streq(fourcc, "NV12"))
                return SPA_VIDEO_FORMAT_NV12;
        return SPA_VIDEO_FORMAT_UNKNOWN;
}

static struct spa_fraction fraction_of(double fps) {
        return SPA_FRACTION((uint32_t) lround(fps * RATE_DENOM), RATE_DENOM);
}

static const struct spa_pod *video_format(const SourceSpec *s, uint32_t format, const MgStreamFormat *only,
                                          struct spa_pod_builder *b) {
        uint32_t max_w = s->max_width ?: SIZE_MAX_UNKNOWN, max_h = s->max_height ?: SIZE_MAX_UNKNOWN;
        double max_fps = s->max_frame_rate > 0 ? s->max_frame_rate : DEFAULT_FPS;
        double min_fps = s->min_frame_rate > 0 ? s->min_frame_rate : 1;
        struct spa_rectangle def = SPA_RECTANGLE(MIN(DEFAULT_WIDTH, max_w), MIN(DEFAULT_HEIGHT, max_h));
        struct spa_fraction fps_def = fraction_of(CLAMP((double) DEFAULT_FPS, min_fps, max_fps));
        struct spa_fraction fps_min = fraction_of(min_fps), fps_max = fraction_of(max_fps);
        struct spa_pod_frame f;

        spa_pod_builder_push_object(b, &f, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat);
        spa_pod_builder_add(b,
                            SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
                            SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
                            SPA_FORMAT_VIDEO_format, SPA_POD_Id(format), 0);
        if (only)
                spa_pod_builder_add(b, SPA_FORMAT_VIDEO_size,
                                    SPA_POD_Rectangle(&SPA_RECTANGLE(only->width, only->height)), 0);
        else
                spa_pod_builder_add(b, SPA_FORMAT_VIDEO_size,
                                    SPA_POD_CHOICE_RANGE_Rectangle(&def, &SPA_RECTANGLE(1, 1),
                                                                   &SPA_RECTANGLE(max_w, max_h)), 0);
        spa_pod_builder_add(b, SPA_FORMAT_VIDEO_framerate,
                            SPA_POD_CHOICE_RANGE_Fraction(&fps_def, &fps_min, &fps_max), 0);
        return spa_pod_builder_pop(b, &f);
}

/* The one format a microphone's stream has: 48 kHz where the device has it, else its highest
 * rate; stereo where it has two channels, else mono. */
static void audio_choice(const SourceSpec *s, uint32_t *rate, uint32_t *channels) {
        *rate = s->max_rate == 0 || (s->min_rate <= DEFAULT_RATE && DEFAULT_RATE <= s->max_rate) ? DEFAULT_RATE
                                                                                               : s->max_rate;
        *channels = s->max_channels >= 2 && s->min_channels <= 2 ? 2 : MAX(s->min_channels, 1u);
}

uint32_t formats_audio_rate(const SourceSpec *s) {
        uint32_t rate, channels;

        audio_choice(s, &rate, &channels);
        return rate;
}

static const struct spa_pod *audio_format(const SourceSpec *s, struct spa_pod_builder *b) {
        struct spa_audio_info_raw info = { .format = SPA_AUDIO_FORMAT_S16_LE };

        audio_choice(s, &info.rate, &info.channels);
        if (info.channels > SPA_AUDIO_MAX_CHANNELS)
                info.channels = SPA_AUDIO_MAX_CHANNELS;
        if (info.channels == 1)
                info.position[0] = SPA_AUDIO_CHANNEL_MONO;
        else if (info.channels == 2) {
                info.position[0] = SPA_AUDIO_CHANNEL_FL;
                info.position[1] = SPA_AUDIO_CHANNEL_FR;
        } else
                info.flags |= SPA_AUDIO_FLAG_UNPOSITIONED;
        return spa_format_audio_raw_build(b, SPA_PARAM_EnumFormat, &info);
}

int formats_enum(const SourceSpec *s, const MgStreamFormat *only, struct spa_pod_builder *b,
                 const struct spa_pod *params[FORMATS_MAX]) {
        if (s->kind == SOURCE_MICROPHONE) {
                params[0] = audio_format(s, b);
                return params[0] ? 1 : -ENOBUFS;
        }
        if (only) {
                uint32_t format = format_video_from_fourcc(only->fourcc);

                if (format == SPA_VIDEO_FORMAT_UNKNOWN)
                        return -EOPNOTSUPP;
                params[0] = video_format(s, format, only, b);
                return params[0] ? 1 : -ENOBUFS;
        }
        params[0] = video_format(s, SPA_VIDEO_FORMAT_YUY2, NULL, b);
        params[1] = video_format(s, SPA_VIDEO_FORMAT_NV12, NULL, b);
        return params[0] && params[1] ? 2 : -ENOBUFS;
}

int format_parse(SourceKind kind, const struct spa_pod *param, NegotiatedFormat *ret) {
        uint32_t media_type, media_subtype;

        if (!param || spa_format_parse(param, &media_type, &media_subtype) < 0 || media_subtype != SPA_MEDIA_SUBTYPE_raw)
                return -EINVAL;
        if (kind == SOURCE_CAMERA) {
                struct spa_video_info_raw v = {};

                if (media_type != SPA_MEDIA_TYPE_video || spa_format_video_raw_parse(param, &v) < 0 ||
                    (v.format != SPA_VIDEO_FORMAT_YUY2 && v.format != SPA_VIDEO_FORMAT_NV12) ||
                    v.size.width == 0 || v.size.height == 0 || v.framerate.denom == 0)
                        return -EINVAL;
                *ret = (NegotiatedFormat) {
                        .kind = kind, .video_format = v.format, .width = v.size.width, .height = v.size.height,
                        .rate_num = v.framerate.num, .rate_denom = v.framerate.denom,
                };
                return 0;
        }

        struct spa_audio_info_raw a = {};

        if (media_type != SPA_MEDIA_TYPE_audio || spa_format_audio_raw_parse(param, &a) < 0 ||
            a.format != SPA_AUDIO_FORMAT_S16_LE || a.rate == 0 || a.channels == 0)
                return -EINVAL;
        *ret = (NegotiatedFormat) { .kind = kind, .rate = a.rate, .channels = a.channels };
        return 0;
}

int format_to_constraints(const char *device_id, const NegotiatedFormat *f, MgConstraints **ret) {
        MgMediaKind kind = f->kind == SOURCE_CAMERA ? MG_MEDIA_VIDEO : MG_MEDIA_AUDIO;
        MgConstraints *c = NULL;
        int r;

        r = mg_constraints_new(&c);
        if (r < 0)
                return r;
        r = mg_constraints_request(c, kind, true);
        if (r >= 0 && !isempty(device_id))
                r = mg_constraints_set_string(c, kind, "deviceId", device_id, MG_MATCH_EXACT);
        if (f->kind == SOURCE_CAMERA) {
                if (r >= 0)
                        r = mg_constraints_set_number(c, kind, "width", f->width, MG_MATCH_EXACT);
                if (r >= 0)
                        r = mg_constraints_set_number(c, kind, "height", f->height, MG_MATCH_EXACT);
                if (r >= 0 && f->rate_num > 0 && f->rate_denom > 0)
                        r = mg_constraints_set_number(c, kind, "frameRate", (double) f->rate_num / f->rate_denom,
                                                      MG_MATCH_IDEAL);
        } else {
                if (r >= 0)
                        r = mg_constraints_set_number(c, kind, "sampleRate", f->rate, MG_MATCH_EXACT);
                if (r >= 0)
                        r = mg_constraints_set_number(c, kind, "channelCount", f->channels, MG_MATCH_EXACT);
        }
        if (r < 0) {
                mg_constraints_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

bool format_matches_stream(const NegotiatedFormat *f, const MgStreamFormat *sf) {
        if (f->kind == SOURCE_CAMERA)
                return sf->video && format_video_from_fourcc(sf->fourcc) == f->video_format &&
                       sf->width == f->width && sf->height == f->height;
        return !sf->video && streq(sf->sample_format, "S16_LE") && sf->rate == f->rate && sf->channels == f->channels;
}
