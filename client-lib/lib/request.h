/* MgRequest: one getUserMedia() call, from GetUserMedia to the Response and the tracks' properties. */
#pragma once

#include "internal.h"

typedef enum RequestState {
        REQUEST_PENDING, /* waiting for Response */
        REQUEST_LOADING, /* Response said yes; reading the tracks' properties */
        REQUEST_DONE,
} RequestState;

struct MgRequest {
        unsigned n_ref;
        MgClient *client;
        char *path;
        sd_bus_slot *response_slot;
        RequestState state;
        int result;
        MgError error;
        MgTrack **tracks;
        size_t n_tracks;
        size_t n_loading;
        MgRequestCallback callback;
        void *userdata;
        LIST_FIELDS(MgRequest, requests);
};

/* The request is decided: r is 0 or a negative errno described by err. */
void request_finish(MgRequest *req, int r, const MgError *err);
/* Is this a valid handle_token ([A-Za-z0-9_]{1,64})? */
bool request_token_is_valid(const char *token);
/* The request path for a unique name and token (docs/dbus-api.md). */
int request_path_for(const char *unique_name, const char *token, char **ret);
