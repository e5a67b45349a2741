/* The way a request travels (docs/architecture.md): select devices and settings, ask polkit, look
 * for a stored decision, else prompt, then open the devices and answer with tracks. Every
 * wait is asynchronous; the request can be closed or its client can leave at any step. */
#include "request.h"

#include <inttypes.h>
#include <stdarg.h>

#include "bus-util.h"
#include "caller.h"
#include "consent.h"
#include "constraints-select.h"
#include "decision.h"
#include "denial.h"
#include "device-id.h"
#include "device-kind.h"
#include "exposure.h"
#include "grants.h"
#include "history-events.h"
#include "log.h"
#include "mediagate-names.h"
#include "policy.h"
#include "polkit.h"
#include "prompt-backoff.h"
#include "sanitize.h"
#include "track.h"
#include "util.h"

typedef struct KindState {
        Request *request;
        DeviceKind kind;
        bool requested;
        TrackConstraints *constraints; /* borrowed from the request's MediaStreamConstraints */
        ConstraintCandidate *candidates;
        char (*ids)[2][DEVICE_ID_LENGTH + 1]; /* device id, group id per candidate */
        size_t n_candidates;
        SelectedSettings selected;
        PolkitQuery *polkit;
        PolkitAnswer polkit_answer; /* POLKIT_ANSWER_UNKNOWN while pending */
        bool picked;        /* the user limited the grant to chosen devices */
        char *denying_rule_file; /* the first policy rule that took a device away, for the message */
        unsigned denying_rule_line;
} KindState;

struct Request {
        unsigned n_ref; /* the table's, and one held by each callback while it runs */
        Manager *manager;
        char *path;
        char *owner;
        Caller *caller;
        char *origin;
        char *reason;
        MediaStreamConstraints *constraints;
        RequestState state;
        char *prompt_key; /* (uid, app, origin, kinds): one prompt at a time, backoff */
        KindState kinds[_DEVICE_KIND_MAX];
        Prompt *prompt;
        sd_event_source *start_source;
        struct StoreWait *store_wait; /* the user's decision being stored */
        const char *denied_by; /* a NotAllowedError's cause, Response's "denied_by" */
        char *denied_rule;     /* "FILE:LINE" of a policy rule that refused, Response's "rule" */
};

/* The request goes on (the devices open, or it fails as denied) once the user's lasting decision
 * is on disk, so that what the app is then told is already in force for its next request. */
typedef struct StoreWait {
        Request *request; /* NULL once the request went */
        unsigned pending; /* changes not yet ended, plus one while they are being made */
        void (*then)(Request *r);
} StoreWait;

static const char *const state_names[] = {
        [REQUEST_PENDING] = "pending",
        [REQUEST_PROMPTING] = "prompting",
        [REQUEST_GRANTED] = "granted",
        [REQUEST_FAILED] = "failed",
};

const char *request_state_to_string(RequestState s) {
        return s < ELEMENTSOF(state_names) ? state_names[s] : NULL;
}

const char *request_get_path(const Request *r) {
        return r->path;
}

RequestState request_get_state(const Request *r) {
        return r->state;
}

const char *request_get_owner(const Request *r) {
        return r->owner;
}


/* Nothing pending any more: no polkit check, no prompt, no start. */
static void request_stop_waiting(Request *r) {
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++)
                r->kinds[k].polkit = polkit_query_cancel(r->kinds[k].polkit);
        r->prompt = prompt_cancel(r->prompt);
        r->start_source = sd_event_source_disable_unref(r->start_source);
        /* A decision being stored stays stored, but nothing follows it for this request. */
        if (r->store_wait)
                r->store_wait->request = NULL;
        r->store_wait = NULL;
}

static Request *request_free(Request *r) {
        request_stop_waiting(r);
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++) {
                KindState *ks = &r->kinds[k];

                for (size_t i = 0; i < ks->n_candidates; i++)
                        device_unref((Device *) ks->candidates[i].device);
                free(ks->candidates);
                free(ks->ids);
                free(ks->denying_rule_file);
        }
        media_stream_constraints_free(r->constraints);
        caller_unref(r->caller);
        free(r->path);
        free(r->owner);
        free(r->origin);
        free(r->reason);
        free(r->prompt_key);
        free(r->denied_rule);
        free(r);
        return NULL;
}

static Request *request_ref(Request *r) {
        r->n_ref++;
        return r;
}

static Request *request_unref(Request *r) {
        if (!r || --r->n_ref > 0)
                return NULL;
        return request_free(r);
}
DEFINE_CLEANUP_FUNC(Request, request_unref);

/* Leave the table (and so the bus) and stop waiting for anything; the memory goes with the last
 * reference, which a callback still running holds. */
static void request_drop(Request *r) {
        if (hashmap_remove(r->manager->requests, r->path) != r)
                return; /* dropped already */
        request_stop_waiting(r);
        request_unref(r);
}

static int emit_response(Request *r, uint32_t response, const char *error_name, const char *message,
                         const char *constraint, Track **tracks, size_t n_tracks) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *signal = NULL;
        int k;

        k = sd_bus_message_new_signal(r->manager->bus, &signal, r->path, MG_IFACE_REQUEST, "Response");
        if (k < 0)
                return k;
        /* Only the client may learn the outcome (the path can be guessed from the token). */
        k = sd_bus_message_set_destination(signal, r->owner);
        if (k >= 0)
                k = sd_bus_message_append(signal, "u", response);
        if (k >= 0)
                k = sd_bus_message_open_container(signal, 'a', "{sv}");
        if (k >= 0 && error_name)
                k = sd_bus_message_append(signal, "{sv}{sv}", "error", "s", error_name, "message", "s",
                                          strempty(message));
        if (k >= 0 && constraint)
                k = sd_bus_message_append(signal, "{sv}", "constraint", "s", constraint);
        if (k >= 0 && error_name && r->denied_by)
                k = sd_bus_message_append(signal, "{sv}", "denied_by", "s", r->denied_by);
        if (k >= 0 && error_name && r->denied_rule)
                k = sd_bus_message_append(signal, "{sv}", "rule", "s", r->denied_rule);
        if (k >= 0 && tracks) {
                k = sd_bus_message_open_container(signal, 'e', "sv");
                if (k >= 0)
                        k = sd_bus_message_append(signal, "s", "tracks");
                if (k >= 0)
                        k = sd_bus_message_open_container(signal, 'v', "ao");
                if (k >= 0)
                        k = sd_bus_message_open_container(signal, 'a', "o");
                for (size_t i = 0; k >= 0 && i < n_tracks; i++)
                        k = sd_bus_message_append(signal, "o", tracks[i]->path);
                for (int close = 0; k >= 0 && close < 3; close++)
                        k = sd_bus_message_close_container(signal);
        }
        if (k >= 0)
                k = sd_bus_message_close_container(signal);
        if (k >= 0)
                k = sd_bus_send(r->manager->bus, signal, NULL);
        return k;
}

/* One history event per requested kind, naming the selected device when there is one. */
static void record_for_kinds(Request *r, HistoryEventType type, char **extra) {
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++) {
                KindState *ks = &r->kinds[k];
                const Device *d = ks->n_candidates > 0 ? ks->candidates[ks->selected.candidate].device : NULL;

                if (ks->requested)
                        history_record(r->manager, type, r->caller, r->origin, k, d ? d->hardware_id : NULL, 0, extra);
        }
}

/* End the request without tracks: Response(response, {error, message[, constraint]}), the
 * history told of a denial, and the request gone from the table (and the bus). */
static void request_end(Request *r, uint32_t response, const char *error_name, const char *constraint,
                        const char *format, va_list ap) _printf_(5, 0);
static void request_end(Request *r, uint32_t response, const char *error_name, const char *constraint,
                        const char *format, va_list ap) {
        char message[512];
        int k;

        vsnprintf(message, sizeof message, format, ap);
        r->state = REQUEST_FAILED;
        if (streq(error_name, MG_ERROR_NAME_NOT_ALLOWED))
                record_for_kinds(r, HISTORY_DENIED, STRV_MAKE("reason", message));
        log_info("Request %s of %s (uid %u) failed: %s: %s", r->path, r->caller->app_id,
                 (unsigned) r->caller->uid, error_name, message);
        k = emit_response(r, response, error_name, message, constraint, NULL, 0);
        if (k < 0)
                log_debug_errno(k, "Failed to send the Response of %s: %m", r->path);
        request_drop(r);
}

static void request_end_printf(Request *r, uint32_t response, const char *error_name, const char *format, ...)
        _printf_(4, 5);
static void request_end_printf(Request *r, uint32_t response, const char *error_name, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        request_end(r, response, error_name, NULL, format, ap);
        va_end(ap);
}

/* Denied (NotAllowedError) by the policy, polkit, a stored decision, the user or nobody: the
 * message says what refused and what changes it (denial.c). rule_file and rule_line: the policy
 * rule of a DENIAL_POLICY, when known. */
static void request_deny(Request *r, Denial d, DeviceKind k, const char *rule_file, unsigned rule_line) {
        _cleanup_free_ char *message = NULL;
        DenialContext c = {
                .app_id = r->caller->app_id,
                .origin = r->origin,
                .kind = k,
                .rule_file = rule_file,
                .rule_line = rule_line,
                .uid = r->caller->uid,
        };

        r->denied_by = denial_to_string(d);
        if (rule_file && asprintf(&r->denied_rule, "%s:%u", rule_file, rule_line) < 0)
                r->denied_rule = NULL;
        message = denial_message(d, &c);
        request_end_printf(r, MG_RESPONSE_DENIED, MG_ERROR_NAME_NOT_ALLOWED, "%s", message ?: "Permission denied.");
}

/* The kind a prompt-wide refusal names: microphones first, as everywhere. */
static DeviceKind first_kind(const Request *r) {
        return r->kinds[DEVICE_KIND_AUDIO].requested ? DEVICE_KIND_AUDIO : DEVICE_KIND_VIDEO;
}

/* Any other failure; constraint only for OverconstrainedError. */
static void request_fail(Request *r, const char *error_name, const char *constraint, const char *format, ...)
        _printf_(4, 5);
static void request_fail(Request *r, const char *error_name, const char *constraint, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        request_end(r, MG_RESPONSE_FAILED, error_name, constraint, format, ap);
        va_end(ap);
}

static bool kind_denied(Request *r, DeviceKind k) {
        return grant_store_lookup(r->manager->grants, r->caller->uid, r->caller->app_id, r->origin, k, NULL,
                                  now_usec(CLOCK_BOOTTIME)) == GRANT_DENY;
}

static int policy_evaluate_device(Request *r, DeviceKind k, const Device *d, PolicyVerdict *ret) {
        PolicyQuery q = {
                .uid = r->caller->uid,
                .app_id = r->caller->app_id,
                .origin = r->origin,
                .kind = k,
                .hardware_id = d ? d->hardware_id : NULL,
        };

        return policy_evaluate(r->manager->policy, &q, ret);
}

/* An error evaluating the policy denies. The first denying rule of the kind is kept for the
 * message. */
static bool policy_denies(Request *r, KindState *ks, const Device *d) {
        PolicyVerdict v = {};
        bool deny;

        deny = policy_evaluate_device(r, ks->kind, d, &v) < 0 || v.decision == POLICY_DENY;
        if (deny && v.file && !ks->denying_rule_file) {
                ks->denying_rule_file = strdup(v.file);
                ks->denying_rule_line = v.line;
        }
        policy_verdict_done(&v);
        return deny;
}

/* Every device of kind k is a candidate, with the caller's device and group ids. */
static int gather_candidates(Request *r, KindState *ks) {
        Manager *m = r->manager;
        size_t n = device_registry_count_kind(m->registry, ks->kind), i = 0;

        ks->candidates = calloc(MAX(n, 1u), sizeof(ConstraintCandidate));
        ks->ids = calloc(MAX(n, 1u), sizeof(*ks->ids));
        if (!ks->candidates || !ks->ids)
                return -ENOMEM;
        for (size_t j = 0; j < device_registry_count(m->registry) && i < n; j++) {
                Device *d = device_registry_get(m->registry, j);

                if (d->kind != ks->kind)
                        continue;
                device_id_compute(&m->device_id_secret, r->caller->app_id, r->origin, d->hardware_id, ks->ids[i][0]);
                group_id_compute(&m->device_id_secret, r->caller->app_id, r->origin,
                                 d->group_hardware_id ?: d->hardware_id, ks->ids[i][1]);
                ks->candidates[i] = (ConstraintCandidate){ .device = device_ref(d),
                                                           .device_id = ks->ids[i][0],
                                                           .group_id = ks->ids[i][1] };
                i++;
        }
        ks->n_candidates = i;
        return 0;
}

/* Keep the candidates keep() says yes to, in their order; returns how many are left. */
static size_t keep_candidates(Request *r, KindState *ks, bool (*keep)(Request *r, const ConstraintCandidate *c,
                                                                       void *arg),
                              void *arg) {
        size_t n = 0;

        for (size_t i = 0; i < ks->n_candidates; i++) {
                if (!keep(r, &ks->candidates[i], arg)) {
                        device_unref((Device *) ks->candidates[i].device);
                        continue;
                }
                memcpy(ks->ids[n], ks->ids[i], sizeof ks->ids[n]);
                ks->candidates[n] = ks->candidates[i];
                ks->candidates[n].device_id = ks->ids[n][0];
                ks->candidates[n].group_id = ks->ids[n][1];
                n++;
        }
        return ks->n_candidates = n;
}

static bool policy_allows_candidate(Request *r, const ConstraintCandidate *c, void *arg) {
        return !policy_denies(r, arg, c->device);
}

/* SelectSettings on the candidates left. Returns false when the request failed (and is gone). */
static bool select_kind_settings(Request *r, KindState *ks) {
        _cleanup_(track_constraints_freep) TrackConstraints *empty = NULL;
        const char *failed = "";
        bool reveal;

        if (!ks->constraints && track_constraints_new_empty(ks->kind, &empty) < 0) {
                request_fail(r, MG_ERROR_NAME_ABORT, NULL, "Out of memory.");
                return false;
        }
        if (select_settings(ks->constraints ?: empty, ks->candidates, ks->n_candidates, &ks->selected, &failed) ==
            SELECT_SETTINGS_FOUND)
                return true;
        /* A kind the user denied for good reveals nothing: NotAllowed, not Overconstrained. */
        if (kind_denied(r, ks->kind)) {
                request_deny(r, DENIAL_STORED, ks->kind, NULL, 0);
                return false;
        }
        reveal = r->manager->config.reveal_constraint_name == REVEAL_CONSTRAINT_ALWAYS ||
                 exposure_holds(r->manager, r->caller, r->origin, ks->kind);
        log_info("Request %s: no setting satisfies '%s'.", r->path, failed);
        request_fail(r, MG_ERROR_NAME_OVERCONSTRAINED, reveal ? failed : "",
                     "No device setting satisfies the required constraints.");
        return false;
}

/* Step 3: candidates and SelectSettings for each requested kind, in docs/constraints.md's order of
 * errors. Returns false when the request failed (and is gone). */
static bool select_devices(Request *r) {
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++) {
                KindState *ks = &r->kinds[k];
                size_t present;

                if (!ks->requested)
                        continue;
                if (gather_candidates(r, ks) < 0) {
                        request_fail(r, MG_ERROR_NAME_ABORT, NULL, "Out of memory.");
                        return false;
                }
                /* Devices the admin policy denies to this caller are not candidates at all. */
                present = ks->n_candidates;
                if (present > 0 && keep_candidates(r, ks, policy_allows_candidate, ks) == 0) {
                        request_deny(r, DENIAL_POLICY, k, ks->denying_rule_file, ks->denying_rule_line);
                        return false;
                }
                /* A kind the user denied for good reveals nothing, not even whether a device exists. */
                if (ks->n_candidates == 0) {
                        if (kind_denied(r, k))
                                request_deny(r, DENIAL_STORED, k, NULL, 0);
                        else
                                request_fail(r, MG_ERROR_NAME_NOT_FOUND, NULL, "No %s is available.",
                                             device_kind_to_permission(k));
                        return false;
                }
                if (!select_kind_settings(r, ks))
                        return false;
        }
        return true;
}

/* Whether n more live tracks would pass the limits of the connection and of the uid. */
static bool tracks_within_limits(Manager *m, const Caller *caller, unsigned n) {
        return tracks_count_live(m, caller->unique_name, 0) + n <= m->config.max_tracks_per_connection &&
               tracks_count_live(m, NULL, caller->uid) + n <= m->config.max_tracks_per_uid;
}

static void open_devices(Request *r);
static PolicyDecision decide_kinds(Request *r);
static void ask_user_or_decide(Request *r);

static void on_polkit_answer(int allowed, void *userdata) {
        KindState *answered = userdata;
        _cleanup_(request_unrefp) Request *r = request_ref(answered->request);

        answered->polkit_answer = allowed > 0 ? POLKIT_ANSWER_YES : POLKIT_ANSWER_NO;
        answered->polkit = polkit_query_unref(answered->polkit);
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++)
                if (r->kinds[k].requested && r->kinds[k].polkit_answer == POLKIT_ANSWER_UNKNOWN)
                        return; /* still waiting */
        ask_user_or_decide(r);
}

static void start_polkit(Request *r) {
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++) {
                KindState *ks = &r->kinds[k];
                int q;

                if (!ks->requested)
                        continue;
                ks->polkit_answer = POLKIT_ANSWER_UNKNOWN;
                q = polkit_check(r->manager->polkit, r->owner,
                                 k == DEVICE_KIND_VIDEO ? MG_POLKIT_ACTION_CAMERA : MG_POLKIT_ACTION_MICROPHONE,
                                 false, on_polkit_answer, ks, &ks->polkit);
                if (q < 0) {
                        request_deny(r, DENIAL_POLKIT, k, NULL, 0);
                        return;
                }
        }
}

static bool candidate_picked(Request *r, const ConstraintCandidate *c, void *arg) {
        return strv_contains(arg, c->device_id);
}

/* Apply the user's device choice: keep only the picked candidates and select again. */
static bool apply_device_pick(Request *r, char **picked) {
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++) {
                KindState *ks = &r->kinds[k];
                _cleanup_(track_constraints_freep) TrackConstraints *empty = NULL;
                const char *failed = "";

                if (!ks->requested)
                        continue;
                ks->picked = true;
                if (keep_candidates(r, ks, candidate_picked, picked) == 0) {
                        request_deny(r, DENIAL_NOTHING_CHOSEN, k, NULL, 0);
                        return false;
                }
                if (!ks->constraints && track_constraints_new_empty(k, &empty) < 0) {
                        request_fail(r, MG_ERROR_NAME_ABORT, NULL, "Out of memory.");
                        return false;
                }
                if (select_settings(ks->constraints ?: empty, ks->candidates, ks->n_candidates, &ks->selected,
                                    &failed) != SELECT_SETTINGS_FOUND) {
                        /* The user saw the devices, so the name may be told. */
                        request_fail(r, MG_ERROR_NAME_OVERCONSTRAINED, failed,
                                     "The chosen device cannot satisfy the required constraints.");
                        return false;
                }
        }
        return true;
}

static void on_decision_stored(int result, void *userdata) {
        StoreWait *w = userdata;
        _cleanup_(request_unrefp) Request *r = w->request ? request_ref(w->request) : NULL;
        void (*then)(Request *r) = w->then;

        if (result < 0)
                log_warning_errno(result, "Failed to keep a decision of the user: %m");
        if (--w->pending > 0)
                return;
        free(w);
        if (!r)
                return;
        r->store_wait = NULL;
        /* The user's answer stands for this request even when it could not be kept. */
        then(r);
}

/* The allow is stored: the decision in force is taken again (the policy may have been reloaded
 * meanwhile), then the devices open. */
static void decide_then_open(Request *r) {
        if (decide_kinds(r) == POLICY_DENY)
                return;
        open_devices(r);
}

static void fail_denied_by_user(Request *r) {
        request_deny(r, DENIAL_USER, first_kind(r), NULL, 0);
}

/* Keep a lasting decision in the grant store (and so on disk), then go on with then(r). */
static void store_decision(Request *r, GrantDecision decision, uint64_t seconds, void (*then)(Request *r)) {
        uint64_t expires = seconds ? now_usec(CLOCK_BOOTTIME) + seconds * 1000000ULL : 0;
        StoreWait *w;

        w = new0(StoreWait, 1);
        if (!w) {
                log_oom();
                return then(r);
        }
        *w = (StoreWait){ .request = r, .pending = 1, .then = then };
        r->store_wait = w;
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++) {
                KindState *ks = &r->kinds[k];
                _cleanup_strv_free_ char **devices = NULL;
                int q;

                if (!ks->requested)
                        continue;
                q = 0;
                if (ks->picked && decision == GRANT_ALLOW)
                        for (size_t i = 0; q >= 0 && i < ks->n_candidates; i++)
                                q = strv_extend(&devices, ks->candidates[i].device->hardware_id);
                if (q < 0) {
                        log_oom(); /* never a grant for more devices than were picked */
                        continue;
                }
                /* Counted before the call: without an event loop the store answers within it. */
                w->pending++;
                q = grant_store_set(r->manager->grants, r->caller->uid, r->caller->app_id, r->origin, k, devices,
                                    decision, expires, NULL, on_decision_stored, w);
                if (q < 0) {
                        w->pending--; /* not accepted: no answer will come */
                        log_warning_errno(q, "Failed to keep the decision for %s: %m", r->caller->app_id);
                }
        }
        on_decision_stored(0, w);
}

static void on_prompt_answer(int error, const PromptResult *result, void *userdata) {
        _cleanup_(request_unrefp) Request *r = request_ref(userdata);
        bool allowed = error >= 0 && (result->decision == DECISION_ALLOW_ONCE ||
                                      result->decision == DECISION_ALLOW_ALWAYS ||
                                      result->decision == DECISION_ALLOW_TIMED);

        r->prompt = prompt_unref(r->prompt);
        prompt_backoff_record(r->manager->backoff, r->prompt_key, !allowed, now_usec(CLOCK_BOOTTIME));
        if (error < 0) {
                request_deny(r, error == -ETIMEDOUT ? DENIAL_TIMEOUT : DENIAL_AGENT_FAILED, first_kind(r), NULL, 0);
                return;
        }
        log_info("Request %s: the user answered %s.", r->path, decision_to_string(result->decision));
        switch (result->decision) {
        case DECISION_ALLOW_ONCE:
        case DECISION_ALLOW_ALWAYS:
        case DECISION_ALLOW_TIMED:
                if (result->devices && !apply_device_pick(r, result->devices))
                        return;
                /* The policy may have changed, or a deny been stored, while the prompt was open:
                 * the user's yes counts only where the decision in force still asks or allows. */
                if (decide_kinds(r) == POLICY_DENY)
                        return;
                if (result->decision == DECISION_ALLOW_ONCE)
                        open_devices(r);
                else
                        store_decision(r, GRANT_ALLOW,
                                       result->decision == DECISION_ALLOW_TIMED ? result->seconds : 0,
                                       decide_then_open);
                return;
        case DECISION_DENY_ALWAYS:
                store_decision(r, GRANT_DENY, 0, fail_denied_by_user);
                return;
        case DECISION_DENY_ONCE:
                fail_denied_by_user(r);
                return;
        default:
                request_deny(r, DENIAL_DISMISSED, first_kind(r), NULL, 0);
                return;
        }
}

static void emit_state_changed(Request *r) {
        int q = bus_send_property_changed(r->manager->bus, r->owner, r->path, MG_IFACE_REQUEST, "State", "s",
                                          request_state_to_string(r->state));

        if (q < 0)
                log_debug_errno(q, "Failed to announce the state of %s: %m", r->path);
}

static void prompt_user(Request *r) {
        Manager *m = r->manager;
        _cleanup_free_ PromptDevice *devices = NULL;
        _cleanup_strv_free_ char **kinds = NULL;
        size_t n = 0, total = 0;
        PromptDetails details;
        int q;

        if (!prompt_backoff_allows(m->backoff, r->prompt_key, now_usec(CLOCK_BOOTTIME)))
                return request_deny(r, DENIAL_BACKOFF, first_kind(r), NULL, 0);
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++)
                total += r->kinds[k].requested ? r->kinds[k].n_candidates : 0;
        devices = calloc(MAX(total, 1u), sizeof(PromptDevice));
        if (!devices)
                return request_fail(r, MG_ERROR_NAME_ABORT, NULL, "Out of memory.");
        /* Microphones first, as everywhere. */
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++) {
                KindState *ks = &r->kinds[k];

                if (!ks->requested)
                        continue;
                if (strv_extend(&kinds, device_kind_to_permission(k)) < 0)
                        return request_fail(r, MG_ERROR_NAME_ABORT, NULL, "Out of memory.");
                for (size_t i = 0; i < ks->n_candidates; i++)
                        devices[n++] = (PromptDevice){ .id = ks->candidates[i].device_id,
                                                       .kind = device_kind_to_string(k),
                                                       .label = ks->candidates[i].device->label };
        }
        details = (PromptDetails){
                .unique_name = r->caller->unique_name,
                .app_id = r->caller->app_id,
                .origin = strempty(r->origin),
                .reason = strempty(r->reason),
                .kinds = kinds,
                .devices = devices,
                .n_devices = n,
                .uid = r->caller->uid,
                .pid = r->caller->pid,
        };
        q = consent_prompt(m, r->caller->uid, r->path, &details, on_prompt_answer, r, &r->prompt);
        if (q == PROMPT_NO_AGENT)
                return request_deny(r, DENIAL_NO_AGENT, first_kind(r), NULL, 0);
        if (q == PROMPT_NOT_IN_FRONT)
                return request_deny(r, DENIAL_NOT_IN_FRONT, first_kind(r), NULL, 0);
        if (q < 0)
                return request_deny(r, DENIAL_AGENT_FAILED, first_kind(r), NULL, 0);
        r->state = REQUEST_PROMPTING;
        emit_state_changed(r);
        record_for_kinds(r, HISTORY_PROMPTED, NULL);
}

/* Steps 4-6 (decision.h) for each requested kind on its selected device: POLICY_ALLOW when every
 * kind may go on without asking, POLICY_PROMPT when the user decides, POLICY_DENY when one kind
 * is denied (the request has then failed, saying why, and is gone). */
static PolicyDecision decide_kinds(Request *r) {
        PolicyDecision combined = POLICY_ALLOW;

        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++) {
                KindState *ks = &r->kinds[k];
                AccessDecision d;

                if (!ks->requested)
                        continue;
                access_decide(r->manager->policy, r->manager->grants,
                              &(AccessQuery){ .subject = r->caller,
                                              .origin = r->origin,
                                              .kind = k,
                                              .hardware_id = ks->candidates[ks->selected.candidate].device->hardware_id,
                                              .polkit = ks->polkit_answer },
                              now_usec(CLOCK_BOOTTIME), &d);
                if (d.verdict.explanation)
                        log_debug("Request %s, %s: %s", r->path, device_kind_to_permission(k), d.verdict.explanation);
                if (d.outcome == POLICY_DENY) {
                        request_deny(r, access_decision_denial(&d), k, d.verdict.file, d.verdict.line);
                        access_decision_done(&d);
                        return POLICY_DENY;
                }
                if (d.outcome == POLICY_PROMPT)
                        combined = POLICY_PROMPT;
                access_decision_done(&d);
        }
        return combined;
}

static void ask_user_or_decide(Request *r) {
        switch (decide_kinds(r)) {
        case POLICY_ALLOW:
                open_devices(r);
                return;
        case POLICY_PROMPT:
                prompt_user(r);
                return;
        default:
                return; /* failed */
        }
}

/* Step 7-8: a track per kind, audio then video; all or nothing. */
static void open_devices(Request *r) {
        Track *tracks[_DEVICE_KIND_MAX];
        size_t n = 0;
        int q = 0;

        /* Other requests of the connection may have opened tracks while this one waited. */
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++)
                n += r->kinds[k].requested;
        if (!tracks_within_limits(r->manager, r->caller, n))
                return request_fail(r, MG_ERROR_NAME_LIMITS_EXCEEDED, NULL, "Too many live tracks.");
        n = 0;
        record_for_kinds(r, HISTORY_GRANTED, NULL);
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++) {
                KindState *ks = &r->kinds[k];
                const ConstraintCandidate *c;
                TrackConstraints *tc = NULL;

                if (!ks->requested)
                        continue;
                c = &ks->candidates[ks->selected.candidate];
                /* The track takes the constraints over: the request ends here either way. */
                if (ks->constraints) {
                        tc = TAKE_PTR(ks->constraints);
                        if (k == DEVICE_KIND_AUDIO)
                                r->constraints->audio_constraints = NULL;
                        else
                                r->constraints->video_constraints = NULL;
                } else
                        q = track_constraints_new_empty(k, &tc);
                if (q >= 0)
                        q = track_new(r->manager, r->caller, r->origin, (Device *) c->device, c->device_id,
                                      c->group_id, tc, &ks->selected, &tracks[n]);
                if (q < 0)
                        break;
                n++;
        }
        if (q < 0) {
                for (size_t i = 0; i < n; i++)
                        track_end(tracks[i], TRACK_END_STOPPED);
                if (q == -EBUSY)
                        return request_fail(r, MG_ERROR_NAME_NOT_READABLE, NULL,
                                            "The device is in use by another program.");
                return request_fail(r, MG_ERROR_NAME_ABORT, NULL, "The device could not be opened: %s.",
                                    strerror(-q));
        }

        r->state = REQUEST_GRANTED;
        log_info("Request %s of %s (uid %u) granted with %zu track(s).", r->path, r->caller->app_id,
                 (unsigned) r->caller->uid, n);
        q = emit_response(r, MG_RESPONSE_SUCCESS, NULL, NULL, NULL, tracks, n);
        if (q < 0)
                log_debug_errno(q, "Failed to send the Response of %s: %m", r->path);
        request_drop(r);
}

static int on_start(sd_event_source *s, void *userdata) {
        _cleanup_(request_unrefp) Request *r = request_ref(userdata);

        r->start_source = sd_event_source_disable_unref(r->start_source);
        if (select_devices(r))
                start_polkit(r);
        return 0;
}

static char *make_prompt_key(const Caller *caller, const char *origin, const MediaStreamConstraints *c) {
        char *key;

        if (asprintf(&key, "%u\n%s\n%s%s\n%s%s", (unsigned) caller->uid, caller->app_id, origin ? "o:" : "-",
                     strempty(origin), c->audio ? "microphone " : "", c->video ? "camera" : "") < 0)
                return NULL;
        return key;
}

static bool prompt_key_pending(Manager *m, const char *key) {
        HashmapIter it = {};
        Request *r;

        while (hashmap_iterate(m->requests, &it, (void **) &r, NULL))
                if (streq(r->prompt_key, key))
                        return true;
        return false;
}

static unsigned count_pending(Manager *m, const char *owner, uid_t uid) {
        HashmapIter it = {};
        Request *r;
        unsigned n = 0;

        while (hashmap_iterate(m->requests, &it, (void **) &r, NULL))
                if (owner ? streq(r->owner, owner) : r->caller->uid == uid)
                        n++;
        return n;
}

int request_new(Manager *m, Caller *caller, MediaStreamConstraints *constraints, const char *origin,
                const char *reason, const char *handle_token, Request **ret) {
        _cleanup_(media_stream_constraints_freep) MediaStreamConstraints *c = constraints;
        _cleanup_free_ char *sender = NULL, *token = NULL;
        Request *r;
        int q;

        _cleanup_free_ char *prompt_key = make_prompt_key(caller, origin, c);

        if (!prompt_key)
                return -ENOMEM;
        /* One request per (uid, app, origin, kinds) at a time: a flood becomes one prompt. */
        if (prompt_key_pending(m, prompt_key) ||
            count_pending(m, caller->unique_name, 0) >= m->config.max_pending_per_connection ||
            count_pending(m, NULL, caller->uid) >= m->config.max_pending_per_uid)
                return REQUEST_REFUSED_PENDING;
        if (!tracks_within_limits(m, caller, !!c->audio + !!c->video))
                return REQUEST_REFUSED_TRACKS;

        q = bus_sender_to_path_component(caller->unique_name, &sender);
        if (q < 0)
                return q;
        if (handle_token)
                token = strdup(handle_token);
        else {
                static uint64_t counter;
                q = asprintf(&token, "mediagate%" PRIu64, ++counter) < 0 ? -ENOMEM : 0;
        }
        if (!token)
                return -ENOMEM;

        r = calloc(1, sizeof(Request));
        if (!r)
                return -ENOMEM;
        r->n_ref = 1; /* the table's */
        r->manager = m;
        r->caller = caller_ref(caller);
        r->prompt_key = TAKE_PTR(prompt_key);
        r->state = REQUEST_PENDING;
        r->constraints = TAKE_PTR(c);
        r->kinds[DEVICE_KIND_AUDIO] = (KindState){ .request = r, .kind = DEVICE_KIND_AUDIO,
                                                   .requested = r->constraints->audio,
                                                   .constraints = r->constraints->audio_constraints,
                                                   .polkit_answer = POLKIT_ANSWER_UNKNOWN };
        r->kinds[DEVICE_KIND_VIDEO] = (KindState){ .request = r, .kind = DEVICE_KIND_VIDEO,
                                                   .requested = r->constraints->video,
                                                   .constraints = r->constraints->video_constraints,
                                                   .polkit_answer = POLKIT_ANSWER_UNKNOWN };
        if (asprintf(&r->path, MG_REQUEST_PATH_PREFIX "/%s/%s", sender, token) < 0 ||
            !(r->owner = strdup(caller->unique_name)) || free_and_strdup(&r->origin, origin) < 0) {
                request_unref(r);
                return -ENOMEM;
        }
        r->reason = reason ? sanitize_text(reason, 256) : NULL;
        if (reason && !r->reason) {
                request_unref(r);
                return -ENOMEM;
        }
        q = hashmap_put(m->requests, r->path, r);
        if (q == -EEXIST) {
                request_unref(r);
                return REQUEST_REFUSED_TOKEN;
        }
        if (q < 0) {
                request_unref(r);
                return q;
        }
        /* Start from the loop, so that the method reply with the path goes out first. */
        q = sd_event_add_defer(m->event, &r->start_source, on_start, r);
        if (q < 0) {
                request_drop(r);
                return q;
        }
        *ret = r;
        return REQUEST_CREATED;
}

static void request_cancelled(Request *r, const char *format, ...) _printf_(2, 3);
static void request_cancelled(Request *r, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        request_end(r, MG_RESPONSE_DENIED, MG_ERROR_NAME_ABORT, NULL, format, ap);
        va_end(ap);
}

void request_close(Request *r) {
        request_cancelled(r, "The request was closed.");
}

void requests_cancel_for_owner(Manager *m, const char *owner) {
        HashmapIter it = {};
        Request *r;

        while (hashmap_iterate(m->requests, &it, (void **) &r, NULL))
                if (streq(r->owner, owner)) {
                        log_info("Request %s cancelled: its client left.", r->path);
                        request_drop(r); /* removing the current entry is allowed */
                }
}

void requests_free_all(Manager *m) {
        Request *r;

        while ((r = hashmap_steal_first(m->requests)))
                request_unref(r); /* the table's reference: stops waiting and frees */
}
