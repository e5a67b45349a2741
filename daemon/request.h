/* Requests: one GetUserMedia call from validation to Response, through device selection,
 * polkit, stored decisions and the consent prompt, to opening the devices. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "constraints.h"
#include "manager-state.h"

typedef enum RequestState {
        REQUEST_PENDING,
        REQUEST_PROMPTING,
        REQUEST_GRANTED,
        REQUEST_FAILED,
} RequestState;

const char *request_state_to_string(RequestState s);

typedef struct Request Request;

/* Why request_new() did not create a request, when it is not a failure. */
typedef enum RequestRefusal {
        REQUEST_CREATED,
        REQUEST_REFUSED_PENDING,  /* too many pending requests, or one for the same prompt (LimitsExceeded) */
        REQUEST_REFUSED_TRACKS,   /* the connection or uid has as many live tracks as it may (LimitsExceeded) */
        REQUEST_REFUSED_TOKEN,    /* a request with this handle_token is pending (TypeError) */
} RequestRefusal;

/* Create the request object (path from handle_token, or a generated token) and start it;
 * constraints are taken. caller is whom the request is for (a broker's subject carries the
 * broker's connection). The D-Bus reply with the path is the caller's to send: the processing
 * starts from the event loop, after that reply. Returns REQUEST_CREATED with *ret set, another
 * RequestRefusal, or a negative errno. */
int request_new(Manager *m, Caller *caller, MediaStreamConstraints *constraints, const char *origin,
                const char *reason, const char *handle_token, Request **ret);
const char *request_get_path(const Request *r);

/* Client called Close(): Response(1, AbortError). */
void request_close(Request *r);

/* Connection gone: cancel quietly. */
void requests_cancel_for_owner(Manager *m, const char *owner);
void requests_free_all(Manager *m);

/* The bus surface (request-dbus.c). */
int request_dbus_register(Manager *m);
RequestState request_get_state(const Request *r);
const char *request_get_owner(const Request *r);
