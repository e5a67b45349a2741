/* What the "camera on" indicators show: CameraAccessible, CameraLive, MicrophoneAccessible,
 * MicrophoneLive, CameraMuted, MicrophoneMuted and Clients on the Manager object, with the
 * 3-second hold of false→true changes, and the hardware LEDs named by IndicatorLed=. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "devices/device.h"
#include "manager-state.h"

/* A false→true change of Accessible or Live stays visible at least this long. */
#define INDICATOR_HOLD_USEC (3 * 1000000ULL)

typedef struct Indicator Indicator;

/* leds: IndicatorLed= values ("camera:PATH", "microphone:PATH" or "PATH" for both). The LEDs are
 * switched off at once (one left on by a daemon that was killed goes out). */
int indicator_new(Manager *m, char **leds, Indicator **ret);
Indicator *indicator_free(Indicator *ind);

/* Recompute from the tracks, the devices and the switches, publish what changed (at once for
 * true, after the hold for false) and drive the LEDs. Cheap; call after any change. */
void indicator_update(Indicator *ind);

/* The daemon stops: everything is published off at once (no hold), the LEDs go off, and later
 * updates change nothing. Call it after the tracks ended, before the bus closes. */
void indicator_stop(Indicator *ind);

/* What the Manager's property getters return. */
bool indicator_get_accessible(Indicator *ind, DeviceKind kind);
bool indicator_get_live(Indicator *ind, DeviceKind kind);
int indicator_append_clients(Indicator *ind, sd_bus_message *reply);
/* ClientDetails: Clients' entries, each with an a{sv} of pid, uid, process and since. */
int indicator_append_client_details(Indicator *ind, sd_bus_message *reply);
