/* The ALSA microphone backend: capture PCMs opened as hw: devices (the daemon sits below any
 * sound server), capabilities from hw_params, capture on the PCM's poll descriptors. The pure
 * parts (sysfs names, rate and channel lists, format choice and conversion, labels) are
 * declared here so that unit tests call them directly. */
#pragma once

#include <alsa/asoundlib.h>
#include <systemd/sd-device.h>

#include "device.h"
#include "sample-format.h"

#define ALSA_BACKEND "alsa" /* Device.backend */

/* Channel counts offered: a pro interface with 32 inputs is offered up to 8 (a capture needs
 * all of a device's channels only when it has no smaller count at all). */
#define ALSA_CHANNELS_MAX 8
/* ~10 ms periods, the latency the daemon reports, and a buffer of 8 of them. */
#define ALSA_PERIODS_PER_SECOND 100
#define ALSA_BUFFER_PERIODS 8

/* The rates tried with snd_pcm_hw_params_test_rate(), ascending. */
extern const uint32_t alsa_standard_rates[];
extern const size_t alsa_n_standard_rates;

/* "pcmC1D3c" → card 1, device 3, capture true; "pcmC0D0p" → capture false. -EINVAL for any
 * other name. */
int alsa_parse_pcm_sysname(const char *sysname, unsigned *ret_card, unsigned *ret_device, bool *ret_capture);
/* "card2" or "controlC2" → 2; -EINVAL otherwise. */
int alsa_parse_card_sysname(const char *sysname, unsigned *ret_card);

/* A test of one value against the device's hw_params (rate, channel count, format). */
typedef bool (*alsa_test_t)(unsigned value, void *userdata);

/* The standard rates in [rate_min, rate_max] that test accepts, ascending; if none does, the
 * device's rate_min alone when test accepts it (a device with one odd rate is still usable).
 * An empty list is not an error. */
int alsa_list_rates(unsigned rate_min, unsigned rate_max, alsa_test_t test, void *userdata,
                    uint32_t **ret, size_t *ret_n);
/* The counts in [max(min, 1), min(max, ALSA_CHANNELS_MAX)] that test accepts, ascending; a
 * device whose minimum is above the cap gets its minimum alone. */
int alsa_list_channels(unsigned channels_min, unsigned channels_max, alsa_test_t test, void *userdata,
                       uint32_t **ret, size_t *ret_n);

/* The sample format to capture in. The daemon delivers S16_LE and opens hw: without alsa-lib's
 * plug layer (no hidden resampling or buffering), so it converts itself (sample-format.h:
 * rounding with TPDF dither): S16_LE (taken as it is), then S32_LE, S24_3LE and S24_LE.
 * SND_PCM_FORMAT_UNKNOWN when the device has none of these (it is not offered). */
snd_pcm_format_t alsa_choose_format(alsa_test_t test, void *userdata);
/* The same format as a SampleFormat; _SAMPLE_FORMAT_INVALID for one alsa_choose_format() never
 * picks. */
SampleFormat alsa_sample_format(snd_pcm_format_t format);

/* The label: the PCM's name when it already starts with the card's name ("Loopback PCM"),
 * else "card: pcm" ("HDA Intel PCH: ALC3246 Analog"), either alone when the other is empty;
 * with the device number appended ("Loopback PCM (1)") when another capture PCM of the card
 * has the same name, so that a person can tell them apart. Sanitized for a consent prompt.
 * NULL only when out of memory. */
char *alsa_make_label(const char *card_name, const char *pcm_name, unsigned device, bool name_shared);

/* Probe a sound device that udev or sysfs reported: 0 and a new Device (not in any registry)
 * for a capture PCM (pcmC*D*c); -EOPNOTSUPP for every other sound node, for a PCM without a
 * sample format we deliver or without any rate; -EBUSY when another program holds it;
 * -EAGAIN when the card's control device is not there yet (it registers after its PCMs:
 * the monitor probes again when it appears). */
int alsa_device_new(sd_device *dev, Device **ret);
