/* libFuzzer harness for synthetic device files: the input is parsed as a --synthetic file, and
 * what parses is turned into devices in a registry, selected on with the default constraints and
 * described as getCapabilities() would. The same text also goes through Testing.AddDevice. The
 * parser's documented limits are checked on every spec. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "constraints-bus.h"
#include "constraints-select.h"
#include "devices/synthetic.h"
#include "fuzz.h"
#include "log.h"
#include "util.h"

static sd_event *event;
static sd_bus *bus; /* only to make messages: started on a socket pair, never authenticated */
static bool debug;  /* MEDIAGATE_FUZZ_DEBUG: say what became of each input */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        int fds[2];

        if (!getenv("MEDIAGATE_FUZZ_LOG"))
                log_set_max_level(-1);
        debug = getenv("MEDIAGATE_FUZZ_DEBUG");
        if (sd_event_new(&event) < 0)
                abort();
        /* The other end stays open (and leaks) so that the bus never sees a hang-up. */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 || sd_bus_new(&bus) < 0 ||
            sd_bus_set_fd(bus, fds[0], fds[0]) < 0 || sd_bus_start(bus) < 0)
                abort();
        return 0;
}

static bool ascending(const uint32_t *v, size_t n) {
        for (size_t i = 1; i < n; i++)
                if (v[i - 1] >= v[i])
                        return false;
        return true;
}

static bool is_name(const char *s) {
        size_t n = strlen(s);

        return n >= 1 && n <= SYNTHETIC_NAME_MAX &&
               strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* The rules of examples/synthetic-devices.conf, for every spec the parser lets through. */
static void check_spec(const SyntheticSpec *s) {
        if (!is_name(s->name) || !s->label || !*s->label || strlen(s->label) > SYNTHETIC_LABEL_MAX ||
            !s->facing_mode || (s->group && !is_name(s->group)))
                abort();
        if (s->kind == DEVICE_KIND_VIDEO) {
                if (s->n_modes == 0 || s->n_modes > SYNTHETIC_MODES_MAX || s->n_sample_rates ||
                    s->n_channel_counts || s->n_sample_sizes)
                        abort();
                for (size_t i = 0; i < s->n_modes; i++) {
                        const VideoMode *m = &s->modes[i];

                        if (m->width == 0 || m->width > SYNTHETIC_WIDTH_MAX || m->width % 2 != 0 ||
                            m->height == 0 || m->height > SYNTHETIC_HEIGHT_MAX ||
                            (m->fourcc == PIXEL_FORMAT_NV12 && m->height % 2 != 0) || !(m->frame_rate > 0) ||
                            m->frame_rate > SYNTHETIC_FPS_MAX || !synthetic_fourcc_to_string(m->fourcc) ||
                            synthetic_frame_size(m->fourcc, m->width, m->height) < FRAME_STAMP_SIZE) {
                                fprintf(stderr, "[%s]: mode %ux%u@%g %s breaks the rules\n", s->name, m->width,
                                        m->height, m->frame_rate, strempty(synthetic_fourcc_to_string(m->fourcc)));
                                abort();
                        }
                        /* JPEG modes are delivered decoded, as NV12. */
                        if ((m->source_fourcc != 0 && m->source_fourcc != PIXEL_FORMAT_MJPEG) ||
                            (m->source_fourcc == PIXEL_FORMAT_MJPEG && m->fourcc != PIXEL_FORMAT_NV12))
                                abort();
                        for (size_t j = 0; j < i; j++)
                                if (memcmp(&s->modes[j], m, sizeof(*m)) == 0)
                                        abort(); /* no duplicates */
                }
        } else if (s->kind == DEVICE_KIND_AUDIO) {
                if (s->n_modes || *s->facing_mode)
                        abort();
                if (s->n_sample_rates > SYNTHETIC_VALUES_MAX || !ascending(s->sample_rates, s->n_sample_rates))
                        abort();
                for (size_t i = 0; i < s->n_sample_rates; i++)
                        if (s->sample_rates[i] < SYNTHETIC_RATE_MIN || s->sample_rates[i] > SYNTHETIC_RATE_MAX)
                                abort();
                for (size_t i = 0; i < s->n_channel_counts; i++)
                        if (s->channel_counts[i] == 0 || s->channel_counts[i] > SYNTHETIC_CHANNELS_MAX)
                                abort();
                for (size_t i = 0; i < s->n_sample_sizes; i++)
                        if (s->sample_sizes[i] != 16)
                                abort();
                /* The sound: levels within full scale, a cadence both ways or not at all, a format
                 * the conversion knows. */
                if (!(s->tone_amplitude >= 0 && s->tone_amplitude <= 1) || !(s->noise_rms >= 0 && s->noise_rms <= 1) ||
                    (s->cadence_on_ms == 0) != (s->cadence_off_ms == 0) ||
                    (s->cadence_on_ms && (s->cadence_on_ms < SYNTHETIC_CADENCE_MIN_MS ||
                                          s->cadence_on_ms > SYNTHETIC_CADENCE_MAX_MS ||
                                          s->cadence_off_ms < SYNTHETIC_CADENCE_MIN_MS ||
                                          s->cadence_off_ms > SYNTHETIC_CADENCE_MAX_MS)) ||
                    !sample_format_to_string(s->sample_format))
                        abort();
                if (!(s->tone_hz >= 0) || !isfinite(s->tone_hz) ||
                    (s->tone_hz > 0 && s->n_sample_rates > 0 && !(s->tone_hz < s->sample_rates[0] / 2.0))) {
                        fprintf(stderr, "[%s]: tone %g Hz breaks the rules\n", s->name, s->tone_hz);
                        abort();
                }
        } else
                abort();
}

/* What the daemon does with the devices of a registry: choose with `true` constraints and
 * answer getCapabilities() and getSettings(). */
static void use_registry(DeviceRegistry *registry) {
        ConstraintCandidate candidates[SYNTHETIC_DEVICES_MAX * 2];
        size_t n = device_registry_count(registry);

        if (n > ELEMENTSOF(candidates))
                abort();
        for (size_t i = 0; i < n; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

                candidates[i] = (ConstraintCandidate){
                        .device = device_registry_get(registry, i),
                        .device_id = "device",
                        .group_id = "group",
                };
                if (sd_bus_message_new_method_call(bus, &m, NULL, "/", NULL, "M") < 0 ||
                    device_capabilities_append(m, &candidates[i]) < 0)
                        abort();
        }

        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++) {
                _cleanup_(track_constraints_freep) TrackConstraints *c = NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                const char *failed = NULL;
                SelectedSettings s;
                int r;

                if (track_constraints_new_empty(k, &c) < 0)
                        abort();
                r = select_settings(c, candidates, n, &s, &failed);
                if (debug)
                        fprintf(stderr, "  select_settings(%s): %s\n", device_kind_to_string(k),
                                r < 0 ? strerror(-r) :
                                r == SELECT_SETTINGS_FOUND ? candidates[s.candidate].device->name :
                                r == SELECT_SETTINGS_NO_DEVICE ? "no device" : "overconstrained");
                if (r == SELECT_SETTINGS_NO_DEVICE && device_registry_count_kind(registry, k) == 0)
                        continue;
                /* `true` is satisfied by any device: every camera has at least one mode. */
                if (r != SELECT_SETTINGS_FOUND || s.candidate >= n || candidates[s.candidate].device->kind != k)
                        abort();
                if (sd_bus_message_new_method_call(bus, &m, NULL, "/", NULL, "M") < 0 ||
                    selected_settings_append(m, &s, &candidates[s.candidate]) < 0)
                        abort();
        }
}

static void add_to_registry(const SyntheticSpec *specs, size_t n_specs, const char *text, size_t size) {
        _cleanup_(device_registry_freep) DeviceRegistry *registry = NULL;
        SyntheticBackend *b = NULL;
        _cleanup_free_ char *error = NULL, *error2 = NULL, *section = NULL;
        int r;

        if (device_registry_new(event, &registry) < 0 || synthetic_backend_new(registry, &b) < 0)
                abort();

        r = synthetic_backend_add_specs(b, specs, n_specs, "fuzz.conf", &error);
        if (debug)
                fprintf(stderr, "  add_specs: %s%s%s\n", r < 0 ? strerror(-r) : "added", error ? ": " : "",
                        strempty(error));
        if (r < 0) {
                if (r != -ENOMEM && !error)
                        abort(); /* a failure always says why */
                if (device_registry_count(registry) != 0)
                        abort(); /* all devices or none */
        } else if (device_registry_count(registry) != n_specs)
                abort();
        use_registry(registry);

        /* Testing.AddDevice with the same text, into a registry that may hold its devices already. */
        section = strndup(text, size);
        if (!section)
                abort();
        r = synthetic_backend_add_text(b, section, &error2);
        if (r < 0 && r != -ENOMEM && !error2)
                abort();
        use_registry(registry);

        for (size_t i = 0; i < n_specs; i++)
                (void) synthetic_backend_remove(b, specs[i].name);
        synthetic_backend_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        SyntheticSpec *specs = NULL;
        size_t n = 0;
        char *error = NULL;
        int r;

        if (size > SYNTHETIC_FILE_SIZE_MAX)
                return -1;

        r = synthetic_file_parse((const char *) data, size, NULL, &specs, &n, &error);
        if (debug)
                fprintf(stderr, "parse: %s, %zu devices%s%s\n", r < 0 ? strerror(-r) : "parsed", n,
                        error ? ": " : "", strempty(error));
        if (r < 0) {
                if ((r != -EINVAL && r != -ENOMEM) || (r == -EINVAL && !error))
                        abort();
                free(error);
                /* The same text from a file: the messages name it. */
                error = NULL;
                if (synthetic_file_parse((const char *) data, size, "fuzz.conf", &specs, &n, &error) != r ||
                    (r == -EINVAL && (!error || !startswith(error, "fuzz.conf:"))))
                        abort();
                free(error);
                return 0;
        }
        if (n > SYNTHETIC_DEVICES_MAX)
                abort();
        for (size_t i = 0; i < n; i++) {
                check_spec(&specs[i]);
                for (size_t j = 0; j < i; j++)
                        if (streq(specs[i].name, specs[j].name) ||
                            (specs[i].is_default && specs[j].is_default && specs[i].kind == specs[j].kind))
                                abort(); /* unique names, one default of each kind */
        }

        add_to_registry(specs, n, (const char *) data, size);
        synthetic_specs_free(specs, n);
        free(error);
        return 0;
}
