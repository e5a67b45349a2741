/* Parsing and validating synthetic device files into SyntheticSpecs. Pure: no devices, no
 * event loop, no logging; every problem becomes one "FILE:LINE: message". */
#include "synthetic-file.h"

#include <stdarg.h>

#include "ini.h"
#include "util.h"

typedef enum Key {
        KEY_KIND,
        KEY_LABEL,
        KEY_FACING_MODE,
        KEY_GROUP,
        KEY_DEFAULT,
        KEY_MODES,
        KEY_SAMPLE_RATES,
        KEY_CHANNELS,
        KEY_SAMPLE_SIZES,
        KEY_TONE_HZ,
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

typedef struct ParseState {
        const char *filename;
        SyntheticSpec *specs;
        size_t n_specs;
        bool in_section;
        /* Where each key of the current section was given (0: not given). Kind may come
         * after the keys it governs, so the checks that depend on it run at the section end
         * and point back at these lines. */
        unsigned key_lines[_KEY_MAX];
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
        return NULL;
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

/* One word of Modes=: WIDTHxHEIGHT@FPS[:FORMAT[,FORMAT...]], appended to modes[]. */
static int parse_one_mode(ParseState *s, unsigned line, const char *word, VideoMode *modes, size_t *n_modes) {
        _cleanup_free_ char *copy = NULL;
        char *formats, *at, *x, *fmt, *save = NULL;
        uint32_t width, height;
        double fps;

        copy = strdup(word);
        if (!copy)
                return -ENOMEM;

        formats = strchr(copy, ':');
        if (formats)
                *formats++ = 0;
        at = strchr(copy, '@');
        x = strchr(copy, 'x');
        if (!at || !x || x > at)
                return fail(s, line, "bad mode '%s', expected WIDTHxHEIGHT@FPS[:FORMAT[,FORMAT]]", word);
        *x = 0;
        *at = 0;
        if (safe_atou32(copy, &width) < 0 || safe_atou32(x + 1, &height) < 0 ||
            parse_decimal(at + 1, &fps) < 0)
                return fail(s, line, "bad mode '%s', expected WIDTHxHEIGHT@FPS[:FORMAT[,FORMAT]]", word);
        if (width == 0 || width > SYNTHETIC_WIDTH_MAX)
                return fail(s, line, "mode '%s': width must be 1 to %d", word, SYNTHETIC_WIDTH_MAX);
        if (height == 0 || height > SYNTHETIC_HEIGHT_MAX)
                return fail(s, line, "mode '%s': height must be 1 to %d", word, SYNTHETIC_HEIGHT_MAX);
        if (!(fps > 0) || fps > SYNTHETIC_FPS_MAX)
                return fail(s, line, "mode '%s': frame rate must be above 0 and at most %g", word,
                            SYNTHETIC_FPS_MAX);

        /* strtok_r() would skip empty fields, so "YUYV,,NV12" and a trailing ',' are caught here */
        if (formats && (*formats == 0 || *formats == ',' || formats[strlen(formats) - 1] == ',' ||
                        strstr(formats, ",,")))
                return fail(s, line, "mode '%s': empty pixel format in the list after ':'", word);

        for (fmt = formats ? strtok_r(formats, ",", &save) : (char *) "YUYV"; fmt;
             fmt = formats ? strtok_r(NULL, ",", &save) : NULL) {
                VideoMode m = { .width = width, .height = height, .frame_rate = fps };

                if (streq(fmt, "YUYV"))
                        m.fourcc = PIXEL_FORMAT_YUYV;
                else if (streq(fmt, "NV12"))
                        m.fourcc = PIXEL_FORMAT_NV12;
                else
                        return fail(s, line, "mode '%s': unknown pixel format '%s', expected YUYV or NV12",
                                    word, fmt);

                /* Both formats share chroma between horizontal pixel pairs, NV12 also
                 * between row pairs. */
                if (width % 2 != 0)
                        return fail(s, line, "mode '%s': %s needs an even width", word, fmt);
                if (m.fourcc == PIXEL_FORMAT_NV12 && height % 2 != 0)
                        return fail(s, line, "mode '%s': NV12 needs an even height", word);
                if (synthetic_frame_size(m.fourcc, width, height) < FRAME_STAMP_SIZE)
                        return fail(s, line, "mode '%s': a %s frame this small cannot carry the %d-byte frame stamp",
                                    word, fmt, FRAME_STAMP_SIZE);

                for (size_t i = 0; i < *n_modes; i++)
                        if (modes[i].width == m.width && modes[i].height == m.height &&
                            modes[i].frame_rate == m.frame_rate && modes[i].fourcc == m.fourcc)
                                return fail(s, line, "duplicate mode %ux%u@%g:%s", width, height, fps, fmt);
                if (*n_modes >= SYNTHETIC_MODES_MAX)
                        return fail(s, line, "too many modes, at most %d (each format counts)",
                                    SYNTHETIC_MODES_MAX);
                modes[(*n_modes)++] = m;
        }
        return 0;
}

static int parse_modes(ParseState *s, SyntheticSpec *spec, unsigned line, const char *value) {
        _cleanup_free_ VideoMode *modes = NULL;
        _cleanup_free_ char *copy = NULL;
        size_t n_modes = 0;
        char *word, *save = NULL;
        int r;

        if (isempty(value))
                return fail(s, line, "empty Modes=, a camera needs at least one mode");

        modes = calloc(SYNTHETIC_MODES_MAX, sizeof(VideoMode));
        copy = strdup(value);
        if (!modes || !copy)
                return -ENOMEM;

        for (word = strtok_r(copy, LIST_SEPARATORS, &save); word; word = strtok_r(NULL, LIST_SEPARATORS, &save)) {
                r = parse_one_mode(s, line, word, modes, &n_modes);
                if (r < 0)
                        return r;
        }

        free(spec->modes);
        spec->modes = TAKE_PTR(modes);
        spec->n_modes = n_modes;
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
        [KEY_SAMPLE_RATES] = { "SampleRates", SCOPE_MICROPHONE, parse_sample_rates },
        [KEY_CHANNELS] = { "Channels", SCOPE_MICROPHONE, parse_channels },
        [KEY_SAMPLE_SIZES] = { "SampleSizes", SCOPE_MICROPHONE, parse_sample_sizes },
        [KEY_TONE_HZ] = { "ToneHz", SCOPE_MICROPHONE, parse_tone_hz },
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
                if (spec->n_modes == 0)
                        return fail(s, spec->line, "camera '%s' has no Modes=", spec->name);
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
