/* Access of one consuming app to one source: the GetUserMedia request the bridge makes on the
 * app's behalf (as a trusted broker, with the app's id), and the track it gets. The outcome and the
 * end of the track are reported through handlers. */
#pragma once

#include "mediagate.h"

typedef enum AccessState {
        ACCESS_PENDING, /* asked; the daemon (or the user) has not decided */
        ACCESS_GRANTED, /* a live track */
        ACCESS_FAILED,  /* denied, failed or ended: access_get_error() says why */
} AccessState;

typedef struct Access Access;

typedef struct AccessHandlers {
        /* The request was decided: ACCESS_GRANTED or ACCESS_FAILED. */
        void (*decided)(Access *a, void *userdata);
        /* The daemon ended the granted track (revoked, device removed, ...). */
        void (*ended)(Access *a, const char *reason, void *userdata);
} AccessHandlers;

/* Ask for `constraints` on behalf of app_id. reason is shown in the prompt. */
int access_start(MgClient *client, const char *app_id, const MgConstraints *constraints, const char *reason,
                 const AccessHandlers *handlers, void *userdata, Access **ret, MgError *err);
/* Withdraws a pending request, stops a granted track. Accepts NULL. */
Access *access_free(Access *a);

AccessState access_get_state(const Access *a);
const char *access_get_app_id(const Access *a);
/* The granted track (borrowed), NULL otherwise. */
MgTrack *access_get_track(const Access *a);
/* Why it failed: the error's name ("NotAllowedError", ...) and message, or the end's reason. */
const MgError *access_get_error(const Access *a);
