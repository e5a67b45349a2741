/* What getSettings() and getCapabilities() show (the Track "Settings" and "Capabilities"
 * properties, and each device's capabilities in the device list), as plain C dictionaries in
 * the order they are sent. constraints-bus.c writes them as a{sv}. */
#pragma once

#include "constraints.h"

typedef enum SettingsEntryType {
        SETTINGS_U32,          /* "u" */
        SETTINGS_DOUBLE,       /* "d" */
        SETTINGS_STRING,       /* "s" */
        SETTINGS_BOOLEAN,      /* "b" */
        SETTINGS_RANGE_U32,    /* "(uu)" */
        SETTINGS_RANGE_DOUBLE, /* "(dd)" */
        SETTINGS_STRINGS,      /* "as" */
        SETTINGS_BOOLEANS,     /* "ab" */
} SettingsEntryType;

/* One entry; strings are borrowed from the settings and the candidate described. */
typedef struct SettingsEntry {
        const char *key;
        SettingsEntryType type;
        union {
                uint32_t u32;
                double number;
                const char *string;
                bool boolean;
                struct {
                        uint32_t min, max;
                } range_u32;
                struct {
                        double min, max;
                } range_double;
                struct {
                        const char *strings[3]; /* NULL-terminated */
                        size_t n;
                } strings;
                struct {
                        bool values[2];
                        size_t n;
                } booleans;
        };
} SettingsEntry;

/* Room for the longest of the dictionaries below (nine entries). */
#define SETTINGS_DICT_MAX 12U

typedef struct SettingsDict {
        SettingsEntry entries[SETTINGS_DICT_MAX];
        size_t n;
} SettingsDict;

/* Track "Settings" (getSettings()):
 *   video: width u, height u, frameRate d, aspectRatio d, resizeMode s, facingMode s (may be
 *          ""), deviceId s, groupId s;
 *   audio: sampleRate u, sampleSize u, channelCount u, latency d, echoCancellation b,
 *          autoGainControl b, noiseSuppression b, deviceId s, groupId s. */
void selected_settings_describe(const SelectedSettings *s, const ConstraintCandidate *cand, SettingsDict *ret);

/* getCapabilities(), with these exact signatures:
 *   video: width (uu) (1, largest native width); height (uu) (1, largest native height);
 *          frameRate (dd) (min(CONSTRAINTS_MIN_DECIMATED_FRAME_RATE, slowest native rate),
 *          fastest native rate); aspectRatio (dd) (1 / largest height, largest width / 1),
 *          rounded to 10 decimals; the four are left out for a camera without modes;
 *          facingMode as ([] or [the device's]); resizeMode as ["none", "crop-and-scale"];
 *          deviceId s; groupId s.
 *   audio: sampleRate (uu), sampleSize (uu), channelCount (uu): (smallest, largest) native
 *          value, each left out when the device lists none (sampleSize: 16 when unlisted);
 *          latency (dd) (latency, latency); echoCancellation, autoGainControl,
 *          noiseSuppression ab: [false] or [true, false]; deviceId s; groupId s. */
void device_capabilities_describe(const ConstraintCandidate *cand, SettingsDict *ret);
