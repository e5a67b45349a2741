/* Reading MediaStreamConstraints and MediaTrackConstraints (docs/constraints.md, "What each
 * form means") into the plain C of constraints.h. The parser has no bus code: it reads through a ConstraintSource,
 * which constraints-bus.c binds to an sd_bus_message. */
#pragma once

#include "constraints.h"

/* Where the parser reads from: a D-Bus value stream (the body of GetUserMedia or
 * ApplyConstraints), as five operations with sd_bus_message_*()'s meaning and return values:
 * peek at the next value's type and contents (0 at the end of the container), enter or exit a
 * container, skip a complete value, read a basic value (strings borrowed from the source).
 * Reading the input as it goes, rather than copying it into a tree first, keeps what a client
 * sends from costing more than the limits below allow, and the first error the one reported. */
typedef struct ConstraintSource {
        void *userdata;
        int (*peek)(void *userdata, char *ret_type, const char **ret_contents);
        int (*enter)(void *userdata, char type, const char *contents);
        int (*exit)(void *userdata);
        int (*skip)(void *userdata, const char *types);
        int (*read_basic)(void *userdata, char type, void *ret);
} ConstraintSource;

/* Parse GetUserMedia's first argument. The source is positioned at the a{sv}; on success it is
 * consumed. Returns 0, or -EINVAL for a TypeError with *ret_message set to a human readable
 * reason (e.g. "constraint 'width' has wrong type 's'", "nothing requested", "nesting too
 * deep"), -ENOMEM, or another negative errno if reading fails. Unknown top-level keys are
 * ignored; nothing requested at all ({}, both false, only unknown keys) is a TypeError. */
int media_stream_constraints_read(const ConstraintSource *src, MediaStreamConstraints **ret, char **ret_message);

/* Parse one MediaTrackConstraints a{sv} for `kind` (Track.ApplyConstraints). Same errors. */
int track_constraints_read(const ConstraintSource *src, DeviceKind kind, TrackConstraints **ret,
                           char **ret_message);
