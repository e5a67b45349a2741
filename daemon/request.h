/* Requests: one GetUserMedia call from validation to Response, through device selection,
 * polkit, stored decisions and the consent prompt, to opening the devices. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "constraints.h"
#include "manager.h"

typedef enum RequestState {
        REQUEST_PENDING,
        REQUEST_PROMPTING,
        REQUEST_GRANTED,
        REQUEST_FAILED,
} RequestState;

const char *request_state_to_string(RequestState s);

typedef struct Request Request;

/* Create the request object (path from handle_token, or a generated token) and start it;
 * constraints are taken. The D-Bus reply with the path is the caller's to send: the
 * processing starts from the event loop, after that reply. Limits: -EDQUOT (LimitsExceeded);
 * a path that is taken: -EEXIST. */
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
