/* Devices (reference counting, capture control, hand-off to the consumer) and the registry
 * that holds the devices of every backend in enumeration order. */
#include "device.h"

#include "log.h"
#include "util.h"

struct DeviceRegistry {
        sd_event *event;

        Device **devices; /* insertion order; enumeration order is computed on demand */
        size_t n_devices;
        size_t n_allocated;

        registry_callback_t callback;
        void *userdata;
};

Device *device_new(DeviceKind kind, const char *backend, const char *name, const DeviceOps *ops) {
        Device *d;

        if ((unsigned) kind >= _DEVICE_KIND_MAX || !backend || !name)
                return NULL;

        d = calloc(1, sizeof(Device));
        if (!d)
                return NULL;
        d->n_ref = 1;
        d->kind = kind;
        d->ops = ops;
        d->backend = strdup(backend);
        d->name = strdup(name);
        if (!d->backend || !d->name) {
                free(d->backend);
                free(d->name);
                free(d);
                return NULL;
        }
        return d;
}

Device *device_ref(Device *d) {
        if (!d)
                return NULL;
        d->n_ref++;
        return d;
}

static void device_free(Device *d) {
        /* Nobody holds the device any more, so nobody can be told: close the hardware
         * quietly. A registered device is never freed here, the registry holds a reference. */
        if (d->capturing && d->ops && d->ops->stop)
                d->ops->stop(d);
        d->capturing = false;
        if (d->ops && d->ops->free)
                d->ops->free(d);

        /* Every string and array of the Device itself is ours; backend_data is the backend's. */
        free(d->name);
        free(d->backend);
        free(d->hardware_id);
        free(d->group_hardware_id);
        free(d->node);
        free(d->label);
        free(d->facing_mode);
        free(d->modes);
        free(d->audio.sample_rates);
        free(d->audio.channel_counts);
        free(d->audio.sample_sizes);
        free(d);
}

Device *device_unref(Device *d) {
        if (!d)
                return NULL;
        if (d->n_ref == 0)
                return NULL; /* double unref: a programmer error, but do not free twice */
        if (--d->n_ref > 0)
                return NULL;
        device_free(d);
        return NULL;
}

int device_start(Device *d, const CaptureFormat *fmt, const DeviceConsumer *consumer) {
        int r;

        if (!d || !fmt || !consumer)
                return -EINVAL;
        if (fmt->kind != d->kind)
                return -EINVAL;
        /* A removed device is unplugged: there is nothing left to open. */
        if (!d->registry)
                return -ENODEV;
        if (d->capturing)
                return -EBUSY;
        if (!d->ops || !d->ops->start)
                return -EOPNOTSUPP;

        /* The backend may look at the format while it starts. */
        d->format = *fmt;
        d->consumer = *consumer;
        r = d->ops->start(d, fmt);
        if (r < 0) {
                d->format = (CaptureFormat) {};
                d->consumer = (DeviceConsumer) {};
                return r;
        }
        d->capturing = true;
        return 0;
}

void device_stop(Device *d) {
        if (!d || !d->capturing)
                return;
        if (d->ops && d->ops->stop)
                d->ops->stop(d);
        d->capturing = false;
        d->format = (CaptureFormat) {};
        d->consumer = (DeviceConsumer) {};
}

void device_deliver_frame(Device *d, const Frame *f) {
        _cleanup_(device_unrefp) Device *ref = NULL;
        DeviceConsumer c;

        if (!d || !f)
                return;
        if (!d->capturing || !d->consumer.frame) {
                if (f->buffer)
                        device_return_buffer(d, f->buffer);
                return;
        }

        /* The consumer may stop the device, remove it or drop its own reference from inside
         * the callback; our reference keeps the device alive until the call has returned. */
        ref = device_ref(d);
        c = d->consumer;
        c.frame(d, f, c.userdata);
}

bool device_lend_buffer(Device *d, size_t size, DeviceBuffer *ret) {
        if (!d || !ret || !d->capturing || !d->consumer.lend || !d->consumer.unlend)
                return false;
        return d->consumer.lend(d, size, ret, d->consumer.userdata);
}

void device_return_buffer(Device *d, const DeviceBuffer *b) {
        if (d && b && d->consumer.unlend)
                d->consumer.unlend(d, b, d->consumer.userdata);
}

void device_return_lent(Device *d) {
        if (d && d->capturing && d->ops && d->ops->return_lent)
                d->ops->return_lent(d);
}

void device_report_error(Device *d, int error) {
        _cleanup_(device_unrefp) Device *ref = NULL;
        DeviceConsumer c;

        if (!d || !d->capturing)
                return;

        ref = device_ref(d);
        c = d->consumer;
        /* Stopped before the consumer hears of it, so that it may start the device again
         * (or another device) from inside the callback. */
        device_stop(d);
        if (c.event)
                c.event(d, DEVICE_EVENT_ERROR, error, c.userdata);
}

int device_registry_new(sd_event *event, DeviceRegistry **ret) {
        DeviceRegistry *r;

        if (!event || !ret)
                return -EINVAL;

        r = calloc(1, sizeof(DeviceRegistry));
        if (!r)
                return -ENOMEM;
        r->event = sd_event_ref(event);
        *ret = r;
        return 0;
}

static ssize_t registry_index(DeviceRegistry *r, Device *d) {
        for (size_t i = 0; i < r->n_devices; i++)
                if (r->devices[i] == d)
                        return (ssize_t) i;
        return -1;
}

/* Take d out of the registry: stop it quietly, forget it, and return the registry's
 * reference to the caller. */
static Device *registry_detach(DeviceRegistry *r, size_t i) {
        Device *d = r->devices[i];

        /* Not through device_report_error(): the consumer learns of the unplug from the
         * REMOVED registry callback, not as a capture error. */
        device_stop(d);
        memmove(r->devices + i, r->devices + i + 1, (r->n_devices - i - 1) * sizeof(Device *));
        r->n_devices--;
        d->registry = NULL;
        return d;
}

DeviceRegistry *device_registry_free(DeviceRegistry *r) {
        if (!r)
                return NULL;

        /* The owner is going away too: no callbacks, which could reach into half-freed
         * state. Devices referenced elsewhere survive, stopped and detached. */
        while (r->n_devices > 0)
                device_unref(registry_detach(r, r->n_devices - 1));
        free(r->devices);
        sd_event_unref(r->event);
        free(r);
        return NULL;
}

void device_registry_set_callback(DeviceRegistry *r, registry_callback_t cb, void *userdata) {
        if (!r)
                return;
        r->callback = cb;
        r->userdata = userdata;
}

sd_event *device_registry_get_event(DeviceRegistry *r) {
        return r ? r->event : NULL;
}

int device_registry_add(DeviceRegistry *r, Device *d) {
        _cleanup_(device_unrefp) Device *ref = NULL;

        if (!r || !d || !d->backend || !d->name)
                return -EINVAL;
        if (d->registry)
                return d->registry == r ? -EEXIST : -EBUSY;
        if (device_registry_find(r, d->backend, d->name))
                return -EEXIST;

        if (r->n_devices == r->n_allocated) {
                size_t n = MAX(r->n_allocated * 2, (size_t) 8);
                Device **grown = realloc(r->devices, n * sizeof(Device *));

                if (!grown)
                        return -ENOMEM;
                r->devices = grown;
                r->n_allocated = n;
        }
        r->devices[r->n_devices++] = device_ref(d);
        d->registry = r;

        /* The callback may remove the device again; keep it alive until it returns. */
        ref = device_ref(d);
        if (r->callback)
                r->callback(r, REGISTRY_DEVICE_ADDED, d, r->userdata);
        return 0;
}

void device_registry_remove(DeviceRegistry *r, Device *d) {
        _cleanup_(device_unrefp) Device *owned = NULL;
        ssize_t i;

        if (!r || !d || d->registry != r)
                return;
        i = registry_index(r, d);
        if (i < 0)
                return;

        /* Out of the list before the callback runs, so that whatever the owner recomputes
         * there (DevicesChanged, defaults) no longer sees it; the registry's reference is
         * dropped only after the callback. */
        owned = registry_detach(r, (size_t) i);
        if (r->callback)
                r->callback(r, REGISTRY_DEVICE_REMOVED, d, r->userdata);
}

Device *device_registry_find(DeviceRegistry *r, const char *backend, const char *name) {
        if (!r || !backend || !name)
                return NULL;
        for (size_t i = 0; i < r->n_devices; i++)
                if (streq(r->devices[i]->backend, backend) && streq(r->devices[i]->name, name))
                        return r->devices[i];
        return NULL;
}

size_t device_registry_count(DeviceRegistry *r) {
        return r ? r->n_devices : 0;
}

size_t device_registry_count_kind(DeviceRegistry *r, DeviceKind kind) {
        size_t n = 0;

        if (!r)
                return 0;
        for (size_t i = 0; i < r->n_devices; i++)
                if (r->devices[i]->kind == kind)
                        n++;
        return n;
}

Device *device_registry_get(DeviceRegistry *r, size_t i) {
        if (!r || i >= r->n_devices)
                return NULL;

        /* Enumeration order: microphones, then cameras (the DeviceKind order, which is what
         * EnumerateDevices lists); within a kind the defaults first, then the others, each in
         * insertion order. Computed on every call rather than kept sorted, because a backend
         * may change is_default of a registered device; registries hold tens of devices. */
        for (unsigned k = 0; k < _DEVICE_KIND_MAX; k++)
                for (int want_default = 1; want_default >= 0; want_default--)
                        for (size_t j = 0; j < r->n_devices; j++) {
                                Device *d = r->devices[j];

                                if (d->kind != (DeviceKind) k || d->is_default != (bool) want_default)
                                        continue;
                                if (i == 0)
                                        return d;
                                i--;
                        }
        return NULL;
}
