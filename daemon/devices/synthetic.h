/* The synthetic device backend: cameras drawing a stamped test pattern and microphones
 * playing a sine tone, from a file, the built-in defaults, or the Testing interface. */
#pragma once

#include "device.h"
#include "synthetic-file.h"
#include "util.h"

#define SYNTHETIC_BACKEND "synthetic" /* Device.backend */

/* Synthetic microphones deliver 10 ms periods of round(32768 * AMPLITUDE * sin(2 pi f t)) on
 * every channel (a quarter of full scale, -12 dBFS) unless their file sets ToneLevel=,
 * ToneCadence= or NoiseLevel= (test-signal.h). */
#define SYNTHETIC_AUDIO_PERIODS_PER_SECOND 100
#define SYNTHETIC_TONE_AMPLITUDE 0.25

typedef struct SyntheticBackend SyntheticBackend;

/* The devices the daemon offers when no file is given: the text of
 * examples/synthetic-devices.conf without its comments. */
extern const char synthetic_default_devices[];

/* The backend adds devices to registry and finds them there again by name; its devices do
 * not point back at it, so the backend and the registry may be freed in either order
 * (freeing the backend leaves its devices in the registry). */
int synthetic_backend_new(DeviceRegistry *registry, SyntheticBackend **ret);
SyntheticBackend *synthetic_backend_free(SyntheticBackend *b);
DEFINE_CLEANUP_FUNC(SyntheticBackend, synthetic_backend_free)

/* Each of these adds all devices or none. On failure (a bad file, a name already in the
 * registry, too many devices, a second default of a kind: -EINVAL; an unreadable file: its
 * errno) *ret_error says why, as "FILE:LINE: message" or, for add_text, "line N: message";
 * it is NULL only on -ENOMEM. Nothing is logged: the caller logs or returns the message. */
int synthetic_backend_load_file(SyntheticBackend *b, const char *path, char **ret_error);
int synthetic_backend_load_defaults(SyntheticBackend *b);
/* filename (may be NULL) only prefixes the messages, as synthetic_file_parse() does. */
int synthetic_backend_add_specs(SyntheticBackend *b, const SyntheticSpec *specs, size_t n_specs,
                                const char *filename, char **ret_error);
/* Testing.AddDevice: the text must hold exactly one device section. */
int synthetic_backend_add_text(SyntheticBackend *b, const char *section_text, char **ret_error);

/* -ENOENT when no synthetic device has that name. */
int synthetic_backend_remove(SyntheticBackend *b, const char *name);
int synthetic_backend_set_state(SyntheticBackend *b, const char *name, DeviceState state);

/* A Device from a spec (not yet in any registry). tone_hz is used when the spec gives none. */
int synthetic_device_new(const SyntheticSpec *spec, double tone_hz, Device **ret);
/* The state of a synthetic device, -EINVAL for others. */
int synthetic_device_get_state(Device *d);
/* The tone of a synthetic microphone in Hz, 0 for anything else. */
double synthetic_device_get_tone_hz(Device *d);

/* "ok", "busy", "failing" (the Testing interface's names). */
int synthetic_state_from_string(const char *s); /* DeviceState or -EINVAL */
const char *synthetic_state_to_string(DeviceState state);
