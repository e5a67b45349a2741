/* Device and group ids as callers see them: per caller (app id + origin), stable across
 * reconnects and restarts, unguessable by anyone else (docs/architecture.md, "What a caller may learn"). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define DEVICE_ID_SECRET_SIZE 32
#define DEVICE_ID_LENGTH 32 /* hex characters: 128 bits */

typedef struct DeviceIdSecret {
        uint8_t key[DEVICE_ID_SECRET_SIZE];
} DeviceIdSecret;

/* Load the secret from DIR/device-id-secret, creating it (durably, mode 0600) on first use. A
 * damaged or unreadable one is set aside (device-id-secret.corrupt-<UTC time>) and replaced.
 * Returns 0; 1 when no secret could be kept on disk (one for this run only is in *ret); < 0 only
 * when no secret could be made at all. */
int device_id_secret_load(const char *state_dir, DeviceIdSecret *ret);

/* HMAC-SHA256(secret, domain, app id, origin, hardware id) as DEVICE_ID_LENGTH hex characters.
 * ret must hold DEVICE_ID_LENGTH + 1 bytes. origin may be NULL (no origin). */
void device_id_compute(const DeviceIdSecret *secret, const char *app_id, const char *origin,
                       const char *hardware_id, char ret[static DEVICE_ID_LENGTH + 1]);
void group_id_compute(const DeviceIdSecret *secret, const char *app_id, const char *origin,
                      const char *group_hardware_id, char ret[static DEVICE_ID_LENGTH + 1]);
