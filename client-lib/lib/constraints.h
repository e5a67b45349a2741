/* MgConstraints: the app's constraints as JSON, checked and written as the daemon's a{sv}. */
#pragma once

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "mediagate.h"
#include "util.h"

DEFINE_CLEANUP_FUNC(json_object, json_object_put);

struct MgConstraints {
        json_object *root; /* always an object */
};

/* Append the a{sv} for a JSON object (MediaStreamConstraints or MediaTrackConstraints). With
 * m == NULL only validates. Invalid shapes are TypeErrors with the property path in the
 * message. */
int constraints_append_json(sd_bus_message *m, json_object *object, MgError *err);
/* Parse JSON text into an object, strictly (SyntaxError / TypeError). */
int constraints_parse_json(const char *json, json_object **ret, MgError *err);
