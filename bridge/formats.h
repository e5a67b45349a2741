/* PipeWire formats of a source and back: the EnumFormat a node offers, the format a consumer
 * negotiated, and the mediagate constraints that ask for exactly that. Pure: no loops, no bus. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <spa/pod/builder.h>

#include "mediagate.h"
#include "sources.h"

#define FORMATS_MAX 2

typedef struct NegotiatedFormat {
        SourceKind kind;
        /* camera */
        uint32_t video_format; /* SPA_VIDEO_FORMAT_* */
        uint32_t width, height;
        uint32_t rate_num, rate_denom;
        /* microphone: S16LE interleaved */
        uint32_t rate, channels;
} NegotiatedFormat;

/* The formats a source offers, most preferred first: for a camera YUY2 and NV12 (what mediagate
 * delivers; its frames keep the device's pixel format) at any size up to the device's largest and
 * any rate it has, 640x480 at 30 fps preferred; `only`, when not NULL, narrows that to the one
 * format a stream delivers. A microphone offers one S16LE format (the stream's converter
 * serves consumers any other). Returns the number of params put in params[FORMATS_MAX]. */
int formats_enum(const SourceSpec *s, const MgStreamFormat *only, struct spa_pod_builder *b,
                 const struct spa_pod *params[FORMATS_MAX]);

/* The negotiated format of a SPA_PARAM_Format param; -EINVAL when it is not one formats_enum()
 * could have offered for this kind. */
int format_parse(SourceKind kind, const struct spa_pod *param, NegotiatedFormat *ret);

/* The constraints that ask mediagated for that format of that device (as the asking app names it;
 * "" for any): exact size (the daemon crops and scales), frame rate as ideal, exact rate and
 * channels. */
int format_to_constraints(const char *device_id, const NegotiatedFormat *f, MgConstraints **ret);

/* Whether the frames of a stream of this format can go out as the negotiated format unchanged. */
bool format_matches_stream(const NegotiatedFormat *f, const MgStreamFormat *sf);

/* The sample rate a microphone's node offers. */
uint32_t formats_audio_rate(const SourceSpec *s);

/* "YUYV" → SPA_VIDEO_FORMAT_YUY2, "NV12" → SPA_VIDEO_FORMAT_NV12; SPA_VIDEO_FORMAT_UNKNOWN else. */
uint32_t format_video_from_fourcc(const char *fourcc);
