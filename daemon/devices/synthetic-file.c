/* Parsing and validating synthetic device files into SyntheticSpecs. Pure: no devices, no
 * event loop, no logging; every problem becomes one "FILE:LINE: message". */
#include "synthetic-file.h"

#include <stdarg.h>

#include <math.h>

#include "ini.h"
#include "util.h"

typedef enum Key {
        KEY_KIND,
        KEY_LABEL,
        KEY_FACING_MODE,
        KEY_GROUP,
        KEY_DEFAULT,
        KEY_MODES,
        KEY_FORMATS,
        KEY_SAMPLE_RATES,
        KEY_CHANNELS,
        KEY_SAMPLE_SIZES,
        KEY_TONE_HZ,
        KEY_TONE_LEVEL,
        KEY_TONE_CADENCE,
        KEY_NOISE_LEVEL,
        KEY_SAMPLE_FORMAT,
        KEY_ECHO_CANCELLATION,
        KEY_AUTO_GAIN_CONTROL,
        KEY_NOISE_SUPPRESSION,
        _KEY_MAX,
} Key;

typedef enum KeyScope {
        SCOPE_ANY,
        SCOPE_CAMERA,
        SCOPE_MICROPHONE,
} KeyScope;

/* One word of Modes=, kept until the end of the section: Formats= (which may come later) says
 * what a word without its own formats stands for. */
typedef struct ModeWord {
        char *word;
        uint32_t width, height;
        double frame_rate;
        uint32_t formats[SYNTHETIC_FORMATS_MAX]; /* the source formats after ':', in order */
        size_t n_formats;                        /* 0: those of Formats= */
} ModeWord;

typedef struct ParseState {
        const char *filename;
        SyntheticSpec *specs;
        size_t n_specs;
        bool in_section;
        /* Where each key of the current section was given (0: not given). Kind may come
         * after the keys it governs, so the checks that depend on it run at the section end
         * and point back at these lines. */
        unsigned key_lines[_KEY_MAX];
        ModeWord *mode_words; /* of the current section */
        size_t n_mode_words;
        uint32_t formats[SYNTHETIC_FORMATS_MAX]; /* Formats= of the current section */
        size_t n_formats;
        char *error;
} ParseState;

typedef int (*key_parser_t)(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value);

static int fail(ParseState *s, unsigned line, const char *format, ...) _printf_(3, 4);
static int fail(ParseState *s, unsigned line, const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;
        int r;

        if (s->error) /* the first problem is the one worth reading */
                return -EINVAL;

        va_start(ap, format);
        r = vasprintf(&message, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        if (s->filename)
                r = asprintf(&s->error, "%s:%u: %s", s->filename, line, message);
        else
                r = asprintf(&s->error, "line %u: %s", line, message);
        if (r < 0) {
                s->error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

size_t synthetic_frame_size(uint32_t fourcc, uint32_t width, uint32_t height) {
        size_t pixels = (size_t) width * height;

        if (fourcc == PIXEL_FORMAT_YUYV)
                return pixels * 2;
        if (fourcc == PIXEL_FORMAT_NV12)
                return pixels + pixels / 2;
        return 0;
}

const char *synthetic_fourcc_to_string(uint32_t fourcc) {
        if (fourcc == PIXEL_FORMAT_YUYV)
                return "YUYV";
        if (fourcc == PIXEL_FORMAT_NV12)
                return "NV12";
        if (fourcc == PIXEL_FORMAT_MJPEG)
                return "MJPEG";
        return NULL;
}

static uint32_t fourcc_from_string(const char *s) {
        static const uint32_t all[] = { PIXEL_FORMAT_YUYV, PIXEL_FORMAT_NV12, PIXEL_FORMAT_MJPEG };

        for (size_t i = 0; i < ELEMENTSOF(all); i++)
                if (streq(s, synthetic_fourcc_to_string(all[i])))
                        return all[i];
        return 0;
}

const char *synthetic_mode_format(const VideoMode *m) {
        return synthetic_fourcc_to_string(m->source_fourcc ?: m->fourcc);
}

/* Names end up in hardware ids, log lines and bus errors: keep them plain. */
static bool identifier_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > SYNTHETIC_NAME_MAX)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
                        return false;
        return true;
}

/* Labels go out on the bus, which refuses invalid UTF-8; control characters have no
 * business in a label either. */
static bool label_is_valid(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                uint32_t cp;
                unsigned n;

                if (*p < 0x80) {
                        if (*p < 0x20 || *p == 0x7f)
                                return false;
                        p++;
                        continue;
                }
                if ((*p & 0xe0) == 0xc0) {
                        cp = *p & 0x1f;
                        n = 1;
                } else if ((*p & 0xf0) == 0xe0) {
                        cp = *p & 0x0f;
                        n = 2;
                } else if ((*p & 0xf8) == 0xf0) {
                        cp = *p & 0x07;
                        n = 3;
                } else
                        return false;
                for (unsigned i = 1; i <= n; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (p[i] & 0x3f);
                }
                if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
                    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
                        return false;
                p += n + 1;
        }
        return true;
}

/* Plain decimals only ("30", "7.5"): strtod would also take "0x1e", "1e3" and "inf". */
static int parse_decimal(const char *s, double *ret) {
        const char *p = s;

        if (!(*p >= '0' && *p <= '9'))
                return -EINVAL;
        while (*p >= '0' && *p <= '9')
                p++;
        if (*p == '.') {
                p++;
                if (!(*p >= '0' && *p <= '9'))
                        return -EINVAL;
                while (*p >= '0' && *p <= '9')
                        p++;
        }
        if (*p)
                return -EINVAL;
        return safe_atod(s, ret);
}

/* The same with an optional '-' ("-40", "-12.5"). */
static int parse_signed_decimal(const char *s, double *ret) {
        double v;
        int r;

        r = parse_decimal(s[0] == '-' ? s + 1 : s, &v);
        if (r < 0)
                return r;
        *ret = s[0] == '-' ? -v : v;
        return 0;
}

#define LIST_SEPARATORS " \t\r\v\f"

static int parse_kind(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        if (streq(value, "camera"))
                spec->kind = DEVICE_KIND_VIDEO;
        else if (streq(value, "microphone"))
                spec->kind = DEVICE_KIND_AUDIO;
        else
                return fail(s, line, "unknown Kind=%s, expected camera or microphone", value);
        return 0;
}

static int parse_label(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        if (isempty(value))
                return fail(s, line, "empty Label=, leave it out to use the section name");
        if (strlen(value) > SYNTHETIC_LABEL_MAX)
                return fail(s, line, "Label= longer than %d bytes", SYNTHETIC_LABEL_MAX);
        if (!label_is_valid(value))
                return fail(s, line, "Label= is not valid UTF-8 or contains control characters");
        return free_and_strdup(&spec->label, value);
}

static int parse_facing_mode(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        static const char *const modes[] = { "", "user", "environment", "left", "right" };

        for (size_t i = 0; i < ELEMENTSOF(modes); i++)
                if (streq(value, modes[i]))
                        return free_and_strdup(&spec->facing_mode, value);
        return fail(s, line, "unknown FacingMode=%s, expected user, environment, left, right or nothing",
                    value);
}

static int parse_group(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        if (isempty(value))
                return fail(s, line, "empty Group=, leave it out for a device of its own group");
        if (!identifier_is_valid(value))
                return fail(s, line, "bad Group=%s: 1 to %d characters of A-Z a-z 0-9 . _ -", value,
                            SYNTHETIC_NAME_MAX);
        return free_and_strdup(&spec->group, value);
}

static int parse_bool_key(ParseState *s, unsigned line, const char *key, const char *value, bool *ret) {
        int b = parse_boolean(value);

        if (b < 0)
                return fail(s, line, "%s= expects yes or no, got '%s'", key, value);
        *ret = b;
        return 0;
}

static int parse_default(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        return parse_bool_key(s, line, "Default", value, &spec->is_default);
}

static int parse_echo_cancellation(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        return parse_bool_key(s, line, "EchoCancellation", value, &spec->echo_cancellation);
}

static int parse_auto_gain_control(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        return parse_bool_key(s, line, "AutoGainControl", value, &spec->auto_gain_control);
}

static int parse_noise_suppression(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        return parse_bool_key(s, line, "NoiseSuppression", value, &spec->noise_suppression);
}

static void mode_words_free(ParseState *s) {
        for (size_t i = 0; i < s->n_mode_words; i++)
                free(s->mode_words[i].word);
        free(s->mode_words);
        s->mode_words = NULL;
        s->n_mode_words = 0;
}

/* A list of source formats: "YUYV", "NV12", "MJPEG", separated by `separators`, no empty entries
 * (a format given twice in a mode is a duplicate mode, found when the modes are made). what
 * names the list in messages. */
static int parse_format_list(ParseState *s, unsigned line, const char *what, const char *value,
                             const char *separators, uint32_t formats[SYNTHETIC_FORMATS_MAX], size_t *ret_n) {
        _cleanup_free_ char *copy = strdup(value);
        char *fmt, *save = NULL;
        size_t n = 0;

        if (!copy)
                return -ENOMEM;
        for (fmt = strtok_r(copy, separators, &save); fmt; fmt = strtok_r(NULL, separators, &save)) {
                uint32_t f = fourcc_from_string(fmt);

                if (f == 0)
                        return fail(s, line, "%s: unknown pixel format '%s', expected YUYV, NV12 or MJPEG", what, fmt);
                for (size_t i = 0; i < n; i++)
                        if (formats[i] == f)
                                return fail(s, line, "%s: pixel format %s given twice", what, fmt);
                if (n >= SYNTHETIC_FORMATS_MAX)
                        return fail(s, line, "%s: too many pixel formats", what);
                formats[n++] = f;
        }
        if (n == 0)
                return fail(s, line, "%s: no pixel format", what);
        *ret_n = n;
        return 0;
}

/* One word of Modes=: WIDTHxHEIGHT@FPS[:FORMAT[,FORMAT...]]. Checked here as far as it can be
 * without Formats=; expanded into modes at the end of the section. */
static int parse_mode_word(ParseState *s, unsigned line, const char *word, ModeWord *ret) {
        _cleanup_free_ char *copy = NULL;
        char *formats, *at, *x;
        char what[128];

        copy = strdup(word);
        if (!copy)
                return -ENOMEM;
        *ret = (ModeWord) {};

        formats = strchr(copy, ':');
        if (formats)
                *formats++ = 0;
        at = strchr(copy, '@');
        x = strchr(copy, 'x');
        if (!at || !x || x > at)
                return fail(s, line, "bad mode '%s', expected WIDTHxHEIGHT@FPS[:FORMAT[,FORMAT]]", word);
        *x = 0;
        *at = 0;
        if (safe_atou32(copy, &ret->width) < 0 || safe_atou32(x + 1, &ret->height) < 0 ||
            parse_decimal(at + 1, &ret->frame_rate) < 0)
                return fail(s, line, "bad mode '%s', expected WIDTHxHEIGHT@FPS[:FORMAT[,FORMAT]]", word);
        if (ret->width == 0 || ret->width > SYNTHETIC_WIDTH_MAX)
                return fail(s, line, "mode '%s': width must be 1 to %d", word, SYNTHETIC_WIDTH_MAX);
        if (ret->height == 0 || ret->height > SYNTHETIC_HEIGHT_MAX)
                return fail(s, line, "mode '%s': height must be 1 to %d", word, SYNTHETIC_HEIGHT_MAX);
        if (!(ret->frame_rate > 0) || ret->frame_rate > SYNTHETIC_FPS_MAX)
                return fail(s, line, "mode '%s': frame rate must be above 0 and at most %g", word,
                            SYNTHETIC_FPS_MAX);

        /* strtok_r() would skip empty fields, so "YUYV,,NV12" and a trailing ',' are caught here */
        if (formats && (*formats == 0 || *formats == ',' || formats[strlen(formats) - 1] == ',' ||
                        strstr(formats, ",,")))
                return fail(s, line, "mode '%s': empty pixel format in the list after ':'", word);
        /* Each format once: the same twice is a duplicate mode, said so by add_mode(). */
        for (char *save = NULL, *fmt = formats ? strtok_r(formats, ",", &save) : NULL; fmt;
             fmt = strtok_r(NULL, ",", &save)) {
                uint32_t f = fourcc_from_string(fmt);
                bool seen = false;

                if (f == 0)
                        return fail(s, line, "mode '%s': unknown pixel format '%s', expected YUYV, NV12 or MJPEG", word,
                                    fmt);
                for (size_t i = 0; i < ret->n_formats; i++)
                        seen = seen || ret->formats[i] == f;
                if (seen) {
                        snprintf(what, sizeof what, "%ux%u@%g:%s", ret->width, ret->height, ret->frame_rate, fmt);
                        return fail(s, line, "duplicate mode %s", what);
                }
                ret->formats[ret->n_formats++] = f;
        }

        ret->word = strdup(word);
        return ret->word ? 0 : -ENOMEM;
}

static int parse_modes(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        _cleanup_free_ char *copy = NULL;
        char *word, *save = NULL;
        int r;

        if (isempty(value))
                return fail(s, line, "empty Modes=, a camera needs at least one mode");
        copy = strdup(value);
        if (!copy)
                return -ENOMEM;

        for (word = strtok_r(copy, LIST_SEPARATORS, &save); word; word = strtok_r(NULL, LIST_SEPARATORS, &save)) {
                ModeWord *grown;

                /* Each word makes at least one mode. */
                if (s->n_mode_words >= SYNTHETIC_MODES_MAX)
                        return fail(s, line, "too many modes, at most %d (each format counts)", SYNTHETIC_MODES_MAX);
                grown = reallocarray(s->mode_words, s->n_mode_words + 1, sizeof(ModeWord));
                if (!grown)
                        return -ENOMEM;
                s->mode_words = grown;
                r = parse_mode_word(s, line, word, &s->mode_words[s->n_mode_words]);
                if (r < 0)
                        return r;
                s->n_mode_words++;
        }
        return 0;
}

static int parse_formats(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        if (isempty(value))
                return fail(s, line, "empty Formats=, leave it out for YUYV");
        return parse_format_list(s, line, "Formats=", value, LIST_SEPARATORS, s->formats, &s->n_formats);
}

/* One mode of a word in one source format, appended to spec->modes. */
static int add_mode(ParseState *s, SyntheticSpec *spec, unsigned line, const ModeWord *w, uint32_t source) {
        const char *name = synthetic_fourcc_to_string(source);
        VideoMode m = {
                .width = w->width,
                .height = w->height,
                .frame_rate = w->frame_rate,
                /* JPEG frames are decoded into NV12. */
                .fourcc = source == PIXEL_FORMAT_MJPEG ? PIXEL_FORMAT_NV12 : source,
                .source_fourcc = source == PIXEL_FORMAT_MJPEG ? source : 0,
        };

        /* YUYV and NV12 share chroma between horizontal pixel pairs, NV12 also between row
         * pairs; JPEG frames become NV12. */
        if (m.width % 2 != 0)
                return fail(s, line, "mode '%s': %s needs an even width", w->word, name);
        if (m.fourcc == PIXEL_FORMAT_NV12 && m.height % 2 != 0)
                return fail(s, line, "mode '%s': %s needs an even height", w->word, name);
        if (synthetic_frame_size(m.fourcc, m.width, m.height) < FRAME_STAMP_SIZE)
                return fail(s, line, "mode '%s': a %s frame this small cannot carry the %d-byte frame stamp",
                            w->word, name, FRAME_STAMP_SIZE);

        for (size_t i = 0; i < spec->n_modes; i++)
                if (spec->modes[i].width == m.width && spec->modes[i].height == m.height &&
                    spec->modes[i].frame_rate == m.frame_rate && spec->modes[i].fourcc == m.fourcc &&
                    spec->modes[i].source_fourcc == m.source_fourcc)
                        return fail(s, line, "duplicate mode %ux%u@%g:%s", m.width, m.height, m.frame_rate, name);
        if (spec->n_modes >= SYNTHETIC_MODES_MAX)
                return fail(s, line, "too many modes, at most %d (each format counts)", SYNTHETIC_MODES_MAX);
        spec->modes[spec->n_modes++] = m;
        return 0;
}

/* Modes= with the formats of Formats= (YUYV without it), in file order. */
static int expand_modes(ParseState *s, SyntheticSpec *spec) {
        static const uint32_t yuyv[] = { PIXEL_FORMAT_YUYV };
        const uint32_t *defaults = s->n_formats > 0 ? s->formats : yuyv;
        size_t n_defaults = s->n_formats > 0 ? s->n_formats : 1;
        unsigned line = s->key_lines[KEY_MODES];
        int r;

        spec->modes = calloc(SYNTHETIC_MODES_MAX, sizeof(VideoMode));
        if (!spec->modes)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_mode_words; i++) {
                const ModeWord *w = &s->mode_words[i];
                const uint32_t *formats = w->n_formats > 0 ? w->formats : defaults;
                size_t n = w->n_formats > 0 ? w->n_formats : n_defaults;

                for (size_t k = 0; k < n; k++) {
                        r = add_mode(s, spec, line, w, formats[k]);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int compare_u32(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

        return x < y ? -1 : x > y;
}

/* A whitespace separated list of distinct whole numbers in [min, max], sorted ascending. */
static int parse_u32_list(ParseState *s, unsigned line, const char *key, const char *value, uint32_t min,
                          uint32_t max, size_t max_count, uint32_t **ret, size_t *ret_n) {
        _cleanup_free_ uint32_t *values = NULL;
        _cleanup_free_ char *copy = NULL;
        size_t n = 0;
        char *word, *save = NULL;

        if (isempty(value))
                return fail(s, line, "empty %s=, leave it out for the default", key);

        values = calloc(max_count, sizeof(uint32_t));
        copy = strdup(value);
        if (!values || !copy)
                return -ENOMEM;

        for (word = strtok_r(copy, LIST_SEPARATORS, &save); word; word = strtok_r(NULL, LIST_SEPARATORS, &save)) {
                uint32_t v;

                if (safe_atou32(word, &v) < 0)
                        return fail(s, line, "%s=: '%s' is not a whole number", key, word);
                if (v < min || v > max) {
                        if (min == max)
                                return fail(s, line, "%s=%s is not supported, only %u", key, word, min);
                        return fail(s, line, "%s=: %u is outside %u to %u", key, v, min, max);
                }
                for (size_t i = 0; i < n; i++)
                        if (values[i] == v)
                                return fail(s, line, "%s=: %u given twice", key, v);
                if (n >= max_count)
                        return fail(s, line, "%s=: too many values, at most %zu", key, max_count);
                values[n++] = v;
        }

        qsort(values, n, sizeof(uint32_t), compare_u32);
        free(*ret);
        *ret = TAKE_PTR(values);
        *ret_n = n;
        return 0;
}

static int parse_sample_rates(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        return parse_u32_list(s, line, "SampleRates", value, SYNTHETIC_RATE_MIN, SYNTHETIC_RATE_MAX,
                              SYNTHETIC_VALUES_MAX, &spec->sample_rates, &spec->n_sample_rates);
}

static int parse_channels(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        return parse_u32_list(s, line, "Channels", value, 1, SYNTHETIC_CHANNELS_MAX, SYNTHETIC_CHANNELS_MAX,
                              &spec->channel_counts, &spec->n_channel_counts);
}

static int parse_sample_sizes(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        /* We deliver S16_LE and nothing else, so a device claiming 24 bits would lie. */
        return parse_u32_list(s, line, "SampleSizes", value, 16, 16, 1, &spec->sample_sizes,
                              &spec->n_sample_sizes);
}

static int parse_tone_hz(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        double hz;

        if (parse_decimal(value, &hz) < 0 || !(hz > 0))
                return fail(s, line, "ToneHz=%s is not a frequency above 0", value);
        spec->tone_hz = hz; /* checked against the sample rates at the end of the section */
        return 0;
}

/* A level in dBFS ("-40", "-12.5", "0"), as a fraction of full scale. */
static int parse_level(ParseState *s, unsigned line, const char *key, const char *value, double *ret) {
        double db;

        if (parse_signed_decimal(value, &db) < 0 || db > 0 || db < SYNTHETIC_LEVEL_MIN_DB)
                return fail(s, line, "%s=%s is not a level in dBFS from %d to 0", key, value, SYNTHETIC_LEVEL_MIN_DB);
        *ret = pow(10, db / 20);
        return 0;
}

static int parse_tone_level(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        return parse_level(s, line, "ToneLevel", value, &spec->tone_amplitude);
}

static int parse_noise_level(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        return parse_level(s, line, "NoiseLevel", value, &spec->noise_rms);
}

static int parse_tone_cadence(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        _cleanup_free_ char *copy = strdup(value);
        char *on, *off, *rest, *save = NULL;
        uint32_t on_ms, off_ms;

        if (!copy)
                return -ENOMEM;
        on = strtok_r(copy, LIST_SEPARATORS, &save);
        off = on ? strtok_r(NULL, LIST_SEPARATORS, &save) : NULL;
        rest = off ? strtok_r(NULL, LIST_SEPARATORS, &save) : NULL;
        if (!off || rest || safe_atou32(on, &on_ms) < 0 || safe_atou32(off, &off_ms) < 0 ||
            on_ms < SYNTHETIC_CADENCE_MIN_MS || on_ms > SYNTHETIC_CADENCE_MAX_MS ||
            off_ms < SYNTHETIC_CADENCE_MIN_MS || off_ms > SYNTHETIC_CADENCE_MAX_MS)
                return fail(s, line, "ToneCadence=%s is not two durations in ms (sounding, pausing) from %d to %d",
                            value, SYNTHETIC_CADENCE_MIN_MS, SYNTHETIC_CADENCE_MAX_MS);
        spec->cadence_on_ms = on_ms;
        spec->cadence_off_ms = off_ms;
        return 0;
}

static int parse_sample_format(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        SampleFormat f = sample_format_from_string(value);

        if (f < 0)
                return fail(s, line, "unknown SampleFormat=%s, expected S16_LE, S24_LE, S24_3LE or S32_LE", value);
        spec->sample_format = f;
        return 0;
}

static const struct {
        const char *name;
        KeyScope scope;
        key_parser_t parse;
} key_table[_KEY_MAX] = {
        [KEY_KIND] = { "Kind", SCOPE_ANY, parse_kind },
        [KEY_LABEL] = { "Label", SCOPE_ANY, parse_label },
        [KEY_FACING_MODE] = { "FacingMode", SCOPE_CAMERA, parse_facing_mode },
        [KEY_GROUP] = { "Group", SCOPE_ANY, parse_group },
        [KEY_DEFAULT] = { "Default", SCOPE_ANY, parse_default },
        [KEY_MODES] = { "Modes", SCOPE_CAMERA, parse_modes },
        [KEY_FORMATS] = { "Formats", SCOPE_CAMERA, parse_formats },
        [KEY_SAMPLE_RATES] = { "SampleRates", SCOPE_MICROPHONE, parse_sample_rates },
        [KEY_CHANNELS] = { "Channels", SCOPE_MICROPHONE, parse_channels },
        [KEY_SAMPLE_SIZES] = { "SampleSizes", SCOPE_MICROPHONE, parse_sample_sizes },
        [KEY_TONE_HZ] = { "ToneHz", SCOPE_MICROPHONE, parse_tone_hz },
        [KEY_TONE_LEVEL] = { "ToneLevel", SCOPE_MICROPHONE, parse_tone_level },
        [KEY_TONE_CADENCE] = { "ToneCadence", SCOPE_MICROPHONE, parse_tone_cadence },
        [KEY_NOISE_LEVEL] = { "NoiseLevel", SCOPE_MICROPHONE, parse_noise_level },
        [KEY_SAMPLE_FORMAT] = { "SampleFormat", SCOPE_MICROPHONE, parse_sample_format },
        [KEY_ECHO_CANCELLATION] = { "EchoCancellation", SCOPE_MICROPHONE, parse_echo_cancellation },
        [KEY_AUTO_GAIN_CONTROL] = { "AutoGainControl", SCOPE_MICROPHONE, parse_auto_gain_control },
        [KEY_NOISE_SUPPRESSION] = { "NoiseSuppression", SCOPE_MICROPHONE, parse_noise_suppression },
};

static void spec_done(SyntheticSpec *spec) {
        free(spec->name);
        free(spec->label);
        free(spec->facing_mode);
        free(spec->group);
        free(spec->modes);
        free(spec->sample_rates);
        free(spec->channel_counts);
        free(spec->sample_sizes);
        *spec = (SyntheticSpec) {};
}

void synthetic_specs_free(SyntheticSpec *specs, size_t n) {
        if (!specs)
                return;
        for (size_t i = 0; i < n; i++)
                spec_done(specs + i);
        free(specs);
}

static int set_default_list(uint32_t **list, size_t *n, uint32_t value) {
        if (*list)
                return 0;
        *list = malloc(sizeof(uint32_t));
        if (!*list)
                return -ENOMEM;
        (*list)[0] = value;
        *n = 1;
        return 0;
}

/* Checks that need the whole section, then the defaults of what was left out. */
static int finish_section(ParseState *s) {
        SyntheticSpec *spec = s->specs + s->n_specs - 1;
        bool camera;
        int r;

        if (!s->key_lines[KEY_KIND])
                return fail(s, spec->line, "device '%s' has no Kind=", spec->name);
        camera = spec->kind == DEVICE_KIND_VIDEO;

        for (Key k = 0; k < _KEY_MAX; k++) {
                if (!s->key_lines[k])
                        continue;
                if (key_table[k].scope == SCOPE_CAMERA && !camera)
                        return fail(s, s->key_lines[k], "%s= applies to cameras only", key_table[k].name);
                if (key_table[k].scope == SCOPE_MICROPHONE && camera)
                        return fail(s, s->key_lines[k], "%s= applies to microphones only", key_table[k].name);
        }

        if (spec->is_default)
                for (size_t i = 0; i + 1 < s->n_specs; i++)
                        if (s->specs[i].kind == spec->kind && s->specs[i].is_default)
                                return fail(s, s->key_lines[KEY_DEFAULT], "'%s' is already the default %s",
                                            s->specs[i].name, camera ? "camera" : "microphone");

        if (camera) {
                if (s->n_mode_words == 0)
                        return fail(s, spec->line, "camera '%s' has no Modes=", spec->name);
                r = expand_modes(s, spec);
                if (r < 0)
                        return r;
        } else {
                r = set_default_list(&spec->sample_rates, &spec->n_sample_rates, 48000);
                if (r < 0)
                        return r;
                r = set_default_list(&spec->channel_counts, &spec->n_channel_counts, 1);
                if (r < 0)
                        return r;
                r = set_default_list(&spec->sample_sizes, &spec->n_sample_sizes, 16);
                if (r < 0)
                        return r;
                /* The daemon processes every microphone's capture on request; a file says "no"
                 * to model one where it does not. */
                if (!s->key_lines[KEY_AUTO_GAIN_CONTROL])
                        spec->auto_gain_control = true;
                if (!s->key_lines[KEY_NOISE_SUPPRESSION])
                        spec->noise_suppression = true;
                /* Above half the sample rate the tone would alias into another frequency. */
                if (spec->tone_hz > 0 && spec->tone_hz * 2 >= spec->sample_rates[0])
                        return fail(s, s->key_lines[KEY_TONE_HZ],
                                    "ToneHz=%g is not below half the lowest sample rate (%u Hz)",
                                    spec->tone_hz, spec->sample_rates[0]);
        }

        if (!spec->label) {
                spec->label = strdup(spec->name);
                if (!spec->label)
                        return -ENOMEM;
        }
        if (!spec->facing_mode) {
                spec->facing_mode = strdup("");
                if (!spec->facing_mode)
                        return -ENOMEM;
        }
        return 0;
}

static int begin_section(ParseState *s, unsigned line, const char *name) {
        SyntheticSpec *grown;

        if (!identifier_is_valid(name))
                return fail(s, line, "bad device name [%s]: 1 to %d characters of A-Z a-z 0-9 . _ -", name,
                            SYNTHETIC_NAME_MAX);
        for (size_t i = 0; i < s->n_specs; i++)
                if (streq(s->specs[i].name, name))
                        return fail(s, line, "duplicate device [%s], first at line %u", name, s->specs[i].line);
        if (s->n_specs >= SYNTHETIC_DEVICES_MAX)
                return fail(s, line, "too many devices, at most %d", SYNTHETIC_DEVICES_MAX);

        grown = realloc(s->specs, (s->n_specs + 1) * sizeof(SyntheticSpec));
        if (!grown)
                return -ENOMEM;
        s->specs = grown;
        s->specs[s->n_specs] = (SyntheticSpec) { .line = line };
        s->specs[s->n_specs].name = strdup(name);
        if (!s->specs[s->n_specs].name)
                return -ENOMEM;
        s->n_specs++;
        s->in_section = true;
        memset(s->key_lines, 0, sizeof(s->key_lines));
        mode_words_free(s);
        s->n_formats = 0;
        return 0;
}

static int on_assignment(const char *filename, unsigned line, const char *section, const char *key,
                         const char *value, void *userdata) {
        ParseState *s = userdata;
        int r;

        if (!key) {
                if (s->in_section) {
                        r = finish_section(s);
                        if (r < 0)
                                return r;
                }
                return begin_section(s, line, section);
        }

        if (!s->in_section)
                return fail(s, line, "%s= outside of a [device] section", key);

        for (Key k = 0; k < _KEY_MAX; k++) {
                if (!streq(key_table[k].name, key))
                        continue;
                if (s->key_lines[k])
                        return fail(s, line, "%s= given twice in [%s], first at line %u", key, section,
                                    s->key_lines[k]);
                s->key_lines[k] = line;
                return key_table[k].parse(s, s->specs + s->n_specs - 1, line, value);
        }
        /* A fixture with a misspelt key would silently test something else. */
        return fail(s, line, "unknown key %s=", key);
}

static void on_syntax_error(const char *filename, unsigned line, const char *message, void *userdata) {
        fail(userdata, line, "%s", message);
}

int synthetic_file_parse(const char *text, size_t size, const char *filename,
                         SyntheticSpec **ret_specs, size_t *ret_n_specs, char **ret_error) {
        ParseState s = { .filename = filename };
        int r;

        if ((!text && size > 0) || !ret_specs || !ret_n_specs)
                return -EINVAL;

        r = ini_parse_text(text ?: "", size, filename, on_assignment, on_syntax_error, &s);
        if (r >= 0 && s.in_section)
                r = finish_section(&s);
        mode_words_free(&s);
        if (r < 0) {
                synthetic_specs_free(s.specs, s.n_specs);
                if (r == -EINVAL && !s.error)
                        (void) fail(&s, 0, "invalid synthetic device file");
                if (ret_error)
                        *ret_error = TAKE_PTR(s.error);
                free(s.error);
                return r;
        }

        *ret_specs = s.specs;
        *ret_n_specs = s.n_specs;
        if (ret_error)
                *ret_error = NULL;
        return 0;
}
