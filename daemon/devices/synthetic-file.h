/* The synthetic device file format (its rules are in examples/synthetic-devices.conf): a pure
 * parser from text to device specs, so it can be fuzzed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device.h"
#include "sample-format.h"

#define SYNTHETIC_DEVICES_MAX 64   /* sections in a file; synthetic devices in the registry */
#define SYNTHETIC_MODES_MAX 64     /* camera modes after expanding the formats */
#define SYNTHETIC_VALUES_MAX 64    /* entries of SampleRates= */
#define SYNTHETIC_NAME_MAX 64      /* section names and Group= */
#define SYNTHETIC_LABEL_MAX 256    /* bytes of Label= */
#define SYNTHETIC_FILE_SIZE_MAX (1024 * 1024)

#define SYNTHETIC_WIDTH_MAX 8192
#define SYNTHETIC_HEIGHT_MAX 8192
#define SYNTHETIC_FPS_MAX DEVICE_FRAME_RATE_MAX
#define SYNTHETIC_RATE_MIN 8000
#define SYNTHETIC_RATE_MAX 384000
#define SYNTHETIC_CHANNELS_MAX 32
#define SYNTHETIC_FORMATS_MAX 3      /* YUYV, NV12, MJPEG */
#define SYNTHETIC_LEVEL_MIN_DB (-150) /* ToneLevel=, NoiseLevel= */
#define SYNTHETIC_CADENCE_MIN_MS 10  /* ToneCadence=: the 5 ms ramps fit */
#define SYNTHETIC_CADENCE_MAX_MS 60000

/* One device as the file describes it. */
typedef struct SyntheticSpec {
        char *name;          /* the section name */
        unsigned line;       /* of the section header, for later errors */
        DeviceKind kind;
        char *label;         /* Label=, else the section name */
        char *facing_mode;   /* cameras: "", "user", "environment", "left", "right"; mics: "" */
        char *group;         /* Group=, NULL when the device is its own group */
        bool is_default;

        VideoMode *modes;    /* cameras, in file order, each format its own mode (MJPEG ones with
                              * source_fourcc MJPEG, delivered as NV12) */
        size_t n_modes;

        uint32_t *sample_rates; /* microphones, ascending */
        size_t n_sample_rates;
        uint32_t *channel_counts;
        size_t n_channel_counts;
        uint32_t *sample_sizes;
        size_t n_sample_sizes;
        double tone_hz;         /* 0: not given, the backend picks one */
        double tone_amplitude;  /* ToneLevel= as a fraction of full scale; 0: not given (a quarter) */
        uint32_t cadence_on_ms, cadence_off_ms; /* ToneCadence=; 0: the tone sounds all the time */
        double noise_rms;       /* NoiseLevel= as a fraction of full scale; 0: no noise */
        SampleFormat sample_format; /* SampleFormat=; converted to S16_LE as ALSA captures are */
        bool echo_cancellation;
        bool auto_gain_control;
        bool noise_suppression;
} SyntheticSpec;

/* Parse a whole file. Errors come back in *ret_error as "FILE:LINE: message", or
 * "line N: message" when filename is NULL (text that came over the bus); the return value is
 * then -EINVAL (or -ENOMEM). text need not be NUL-terminated. An empty file gives no specs. */
int synthetic_file_parse(const char *text, size_t size, const char *filename,
                         SyntheticSpec **ret_specs, size_t *ret_n_specs, char **ret_error);

void synthetic_specs_free(SyntheticSpec *specs, size_t n);

/* Bytes of one frame: YUYV 2 per pixel, NV12 1.5; 0 for other formats. */
size_t synthetic_frame_size(uint32_t fourcc, uint32_t width, uint32_t height);
/* "YUYV", "NV12" or "MJPEG", NULL for others. */
const char *synthetic_fourcc_to_string(uint32_t fourcc);
/* The format of a mode as the file names it: "MJPEG" for one decoded from JPEG, else its fourcc. */
const char *synthetic_mode_format(const VideoMode *m);
