/* Every bus name, object path, interface, error name, polkit action id and journal
 * MESSAGE_ID of mediagate, spelled once. Shared by the daemon and the client library. */
#pragma once

#define MG_BUS_NAME "org.mediagate.MediaGate1"
#define MG_OBJECT_PATH "/org/mediagate/MediaGate1"
#define MG_REQUEST_PATH_PREFIX MG_OBJECT_PATH "/request"
#define MG_TRACK_PATH_PREFIX MG_OBJECT_PATH "/track"

#define MG_IFACE_MANAGER MG_BUS_NAME ".Manager"
#define MG_IFACE_REQUEST MG_BUS_NAME ".Request"
#define MG_IFACE_TRACK MG_BUS_NAME ".Track"
#define MG_IFACE_AGENT MG_BUS_NAME ".Agent"
#define MG_IFACE_ADMIN MG_BUS_NAME ".Admin"
#define MG_IFACE_TESTING MG_BUS_NAME ".Testing"

/* The errors: the short names of the spec (a Response's results["error"], libmediagate's
 * MgError.name), and the D-Bus error names, which are the short ones after MG_ERROR_PREFIX. */
#define MG_ERROR_NAME_TYPE "TypeError"
#define MG_ERROR_NAME_NOT_FOUND "NotFoundError"
#define MG_ERROR_NAME_OVERCONSTRAINED "OverconstrainedError"
#define MG_ERROR_NAME_NOT_ALLOWED "NotAllowedError"
#define MG_ERROR_NAME_NOT_READABLE "NotReadableError"
#define MG_ERROR_NAME_ABORT "AbortError"
#define MG_ERROR_NAME_SECURITY "SecurityError"
#define MG_ERROR_NAME_LIMITS_EXCEEDED "LimitsExceeded"

#define MG_ERROR_PREFIX MG_BUS_NAME ".Error."
#define MG_ERROR_TYPE MG_ERROR_PREFIX MG_ERROR_NAME_TYPE
#define MG_ERROR_NOT_FOUND MG_ERROR_PREFIX MG_ERROR_NAME_NOT_FOUND
#define MG_ERROR_OVERCONSTRAINED MG_ERROR_PREFIX MG_ERROR_NAME_OVERCONSTRAINED
#define MG_ERROR_NOT_ALLOWED MG_ERROR_PREFIX MG_ERROR_NAME_NOT_ALLOWED
#define MG_ERROR_NOT_READABLE MG_ERROR_PREFIX MG_ERROR_NAME_NOT_READABLE
#define MG_ERROR_ABORT MG_ERROR_PREFIX MG_ERROR_NAME_ABORT
#define MG_ERROR_SECURITY MG_ERROR_PREFIX MG_ERROR_NAME_SECURITY
#define MG_ERROR_LIMITS_EXCEEDED MG_ERROR_PREFIX MG_ERROR_NAME_LIMITS_EXCEEDED

/* Request.Response's response code. */
#define MG_RESPONSE_SUCCESS 0U
#define MG_RESPONSE_DENIED 1U /* denied or cancelled */
#define MG_RESPONSE_FAILED 2U /* any other failure */

#define MG_POLKIT_ACTION_CAMERA "org.mediagate.camera"
#define MG_POLKIT_ACTION_MICROPHONE "org.mediagate.microphone"
#define MG_POLKIT_ACTION_MANAGE "org.mediagate.manage"
#define MG_POLKIT_ACTION_GRANT "org.mediagate.grant"
#define MG_POLKIT_ACTION_MUTE "org.mediagate.mute"

/* Journal MESSAGE_IDs (128-bit, as journalctl --new-id128 gives them). */
#define MG_MESSAGE_DAEMON_STARTED "8b1f0c6e4a3d4c3f9d2e71a5c0b4e6d1"
#define MG_MESSAGE_DEVICE_ADDED "2c7d4e8f1a6b4f0e8c3d9a1b5e7f2c40"
#define MG_MESSAGE_DEVICE_REMOVED "2c7d4e8f1a6b4f0e8c3d9a1b5e7f2c41"
#define MG_MESSAGE_CAPTURE_STARTED "c2ceaa9454ee43c4b8d7eb316e031cbc"
#define MG_MESSAGE_CAPTURE_STOPPED "9dd231c0711c4578b56c4fa745f6a8ee"
#define MG_MESSAGE_PRIVACY_SWITCH "5f3b0e7a9c2d4e81b6a4d09f7c13e2b5"
/* The access history (history.c): one per event, with MEDIAGATE_EVENT, MEDIAGATE_UID,
 * MEDIAGATE_APP_ID, MEDIAGATE_ORIGIN, MEDIAGATE_KIND and MEDIAGATE_DEVICE fields. */
#define MG_MESSAGE_ACCESS_PROMPTED "36e77ac917304dbfad34e6e218ec305c"
#define MG_MESSAGE_ACCESS_GRANTED "34c2becac59f490893fd5616a6c26c15"
#define MG_MESSAGE_ACCESS_DENIED "1c9b728d06934212813a173f2044474e"
#define MG_MESSAGE_ACCESS_STARTED "5129097f9bdd423eba236af869f5ae55"
#define MG_MESSAGE_ACCESS_STOPPED "ae3ace0519e74620a3d6916b70c55228"
#define MG_MESSAGE_ACCESS_REVOKED "858ff251d5a34f6c95c91f55c8773fd2"
