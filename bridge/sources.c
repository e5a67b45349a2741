/* The sources to publish, from mediagated's device list (see sources.h). */
#include <math.h>

#include "sources.h"
#include "util.h"

/* node.name carries this much of the device id: enough to tell devices apart, short to read. */
#define NAME_ID_CHARS 12

const char *source_kind_to_string(SourceKind k) {
        return k == SOURCE_CAMERA ? "camera" : "microphone";
}

static void source_spec_done(SourceSpec *s) {
        free(s->device_id);
        free(s->label);
        free(s->name);
        *s = (SourceSpec) {};
}

void source_list_done(SourceList *l) {
        for (size_t i = 0; i < l->n_sources; i++)
                source_spec_done(l->sources + i);
        free(l->sources);
        *l = (SourceList) {};
}

static void range_u32(const MgDevice *d, const char *name, uint32_t *min, uint32_t *max) {
        const MgCapability *c = mg_device_find_capability(d, name);

        if (!c || c->type != MG_CAPABILITY_RANGE || !(c->min >= 0) || !(c->max >= c->min) || c->max > UINT32_MAX)
                return;
        if (min)
                *min = (uint32_t) ceil(c->min);
        *max = (uint32_t) floor(c->max);
}

static int source_spec_from_device(const MgDevice *d, SourceKind kind, SourceSpec *ret) {
        const char *id = mg_device_get_id(d), *label = mg_device_get_label(d), *k = source_kind_to_string(kind);
        SourceSpec s = { .kind = kind };
        const MgCapability *rate;

        if (isempty(label))
                label = kind == SOURCE_CAMERA ? "Camera (mediagate)" : "Microphone (mediagate)";
        s.device_id = strdup(id);
        s.label = strdup(label);
        if (!s.device_id || !s.label ||
            (isempty(id) ? asprintf(&s.name, "mediagate-%s", k) : asprintf(&s.name, "mediagate-%s-%.*s", k, NAME_ID_CHARS, id)) < 0) {
                source_spec_done(&s);
                return -ENOMEM;
        }
        if (kind == SOURCE_CAMERA) {
                range_u32(d, "width", NULL, &s.max_width);
                range_u32(d, "height", NULL, &s.max_height);
                rate = mg_device_find_capability(d, "frameRate");
                if (rate && rate->type == MG_CAPABILITY_RANGE && rate->min > 0 && rate->max >= rate->min) {
                        s.min_frame_rate = rate->min;
                        s.max_frame_rate = rate->max;
                }
        } else {
                range_u32(d, "sampleRate", &s.min_rate, &s.max_rate);
                range_u32(d, "channelCount", &s.min_channels, &s.max_channels);
        }
        *ret = s;
        return 0;
}

int source_list_from_devices(const MgDeviceList *devices, SourceList *ret) {
        size_t n = mg_device_list_get_count(devices);
        unsigned per_kind[2] = {};
        SourceList l = {};
        int r;

        l.sources = new0(SourceSpec, n ?: 1);
        if (!l.sources)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const MgDevice *d = mg_device_list_get(devices, i);
                const char *kind = mg_device_get_kind(d);

                if (!streq(kind, "videoinput") && !streq(kind, "audioinput"))
                        continue;
                r = source_spec_from_device(d, streq(kind, "videoinput") ? SOURCE_CAMERA : SOURCE_MICROPHONE,
                                            l.sources + l.n_sources);
                if (r < 0) {
                        source_list_done(&l);
                        return r;
                }
                l.sources[l.n_sources].index = per_kind[l.sources[l.n_sources].kind]++;
                l.n_sources++;
        }
        *ret = l;
        return 0;
}

int source_list_load(MgClient *client, SourceList *ret, MgError *err) {
        MgDeviceList *devices = NULL;
        int r;

        r = mg_client_enumerate_devices(client, NULL, &devices, err);
        if (r < 0)
                return r;
        r = source_list_from_devices(devices, ret);
        mg_device_list_free(devices);
        return r;
}

bool source_spec_equal(const SourceSpec *a, const SourceSpec *b) {
        return a->kind == b->kind && streq(a->device_id, b->device_id) && streq(a->label, b->label) &&
               streq(a->name, b->name) && a->max_width == b->max_width && a->max_height == b->max_height &&
               a->min_frame_rate == b->min_frame_rate && a->max_frame_rate == b->max_frame_rate &&
               a->min_rate == b->min_rate && a->max_rate == b->max_rate && a->min_channels == b->min_channels &&
               a->max_channels == b->max_channels;
}

int source_device_id_for_app(MgClient *client, const SourceSpec *s, const char *app_id, char **ret) {
        const char *want = s->kind == SOURCE_CAMERA ? "videoinput" : "audioinput", *id = "";
        MgDeviceList *devices = NULL;
        unsigned seen = 0;
        int r;

        if (!isempty(s->device_id)) {
                r = mg_client_enumerate_devices_for(client, NULL, app_id, &devices, NULL);
                if (r < 0)
                        return r;
        }
        /* The same place in the app's list is the same device; an entry without an id is the
         * anonymous one, which names no device. */
        for (size_t i = 0; i < mg_device_list_get_count(devices); i++) {
                const MgDevice *d = mg_device_list_get(devices, i);

                if (!streq(mg_device_get_kind(d), want) || seen++ != s->index)
                        continue;
                if (streq(mg_device_get_label(d), s->label))
                        id = mg_device_get_id(d);
                break;
        }
        *ret = strdup(id);
        mg_device_list_free(devices);
        return *ret ? 0 : -ENOMEM;
}
