/* libmediagate's private base: what every file of the library shares (cleanup for the public
 * types, intrusive lists, the error helpers, the a{sv} readers). Each concern declares the rest in
 * its own header: client.h, request.h, track.h, stream.h, constraints.h, capabilities.h, error.h.
 * Nothing here is exported (the version script keeps only mg_*). */
#pragma once

#include <systemd/sd-bus.h>

#include "bus-dict.h"
#include "device-kind.h"
#include "error.h"
#include "mediagate.h"
#include "util.h"

DEFINE_CLEANUP_FUNC(MgClient, mg_client_unref);
DEFINE_CLEANUP_FUNC(MgRequest, mg_request_unref);
DEFINE_CLEANUP_FUNC(MgTrack, mg_track_unref);
DEFINE_CLEANUP_FUNC(MgStream, mg_stream_free);
DEFINE_CLEANUP_FUNC(MgConstraints, mg_constraints_free);
DEFINE_CLEANUP_FUNC(MgDeviceList, mg_device_list_free);

/* Intrusive doubly linked lists: the client's pending requests and its tracks. */
#define LIST_FIELDS(t, name) t *name##_next, *name##_prev
#define LIST_PREPEND(name, head, item)                                  \
        do {                                                            \
                (item)->name##_next = (head);                           \
                (item)->name##_prev = NULL;                             \
                if (head)                                               \
                        (head)->name##_prev = (item);                   \
                (head) = (item);                                        \
        } while (false)
#define LIST_REMOVE(name, head, item)                                   \
        do {                                                            \
                if ((item)->name##_next)                                \
                        (item)->name##_next->name##_prev = (item)->name##_prev; \
                if ((item)->name##_prev)                                \
                        (item)->name##_prev->name##_next = (item)->name##_next; \
                else                                                    \
                        (head) = (item)->name##_next;                   \
                (item)->name##_next = (item)->name##_prev = NULL;       \
        } while (false)

/* The app's MgMediaKind as the kind whose names common/device-kind.h spells. */
static inline DeviceKind media_kind_to_device_kind(MgMediaKind kind) {
        return kind == MG_MEDIA_VIDEO ? DEVICE_KIND_VIDEO : DEVICE_KIND_AUDIO;
}
