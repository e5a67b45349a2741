/* What the bridge publishes: one source per camera and microphone that mediagated lists for the
 * bridge's user, with what is known of its modes. Without exposure (the bridge has no permission
 * of its own for a kind) the daemon lists one anonymous device of that kind: the bridge then
 * publishes one node for the kind, and the daemon picks (or the user, in the prompt) the device. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mediagate.h"

typedef enum SourceKind {
        SOURCE_CAMERA,
        SOURCE_MICROPHONE,
} SourceKind;

typedef struct SourceSpec {
        SourceKind kind;
        char *device_id; /* "" for the anonymous device of a kind */
        char *label;     /* never empty */
        char *name;      /* node.name: "mediagate-camera[-<device id prefix>]" */
        unsigned index;  /* among the devices of its kind, in the daemon's order */
        /* camera: the capability ranges (getCapabilities()); 0 when unknown */
        uint32_t max_width, max_height;
        double min_frame_rate, max_frame_rate;
        /* microphone */
        uint32_t min_rate, max_rate, min_channels, max_channels;
} SourceSpec;

typedef struct SourceList {
        SourceSpec *sources;
        size_t n_sources;
} SourceList;

/* The sources of an EnumerateDevices answer. */
int source_list_from_devices(const MgDeviceList *devices, SourceList *ret);
/* Ask mediagated (EnumerateDevices) and build the list. */
int source_list_load(MgClient *client, SourceList *ret, MgError *err);
void source_list_done(SourceList *l);

const char *source_kind_to_string(SourceKind k); /* "camera", "microphone" */

/* The device id of s as the app app_id sees it (device ids are per app): the device at the same
 * place in the app's list. "" (any device: the daemon or the user picks) when the source is the
 * anonymous one or the app may not see devices yet. */
int source_device_id_for_app(MgClient *client, const SourceSpec *s, const char *app_id, char **ret);
/* Whether a and b publish the same node with the same formats (no need to republish). */
bool source_spec_equal(const SourceSpec *a, const SourceSpec *b);
