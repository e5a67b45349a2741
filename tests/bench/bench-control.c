/* The control path: GetUserMedia → Response with a standing decision, next to a bare
 * org.freedesktop.DBus.Peer.Ping round trip to the daemon and a CheckAuthorization round trip
 * to whatever serves polkit, on the same bus in the same run (interleaved, one of each per
 * iteration); then the messages one request puts on the bus, seen by a bus monitor.
 *
 *     bench-control [--count=1000] [--kind=video|audio] [--hold]
 *
 * --hold keeps one track of the kind open on its own connection throughout, so that every
 * measured request finds the device already running (the case of an app asking again, or a
 * second app joining a call).
 *
 * Plain sd-bus, so that the client adds nothing but its one method call: the Response match is
 * installed once. Each granted track is stopped after its Response, outside the timed part. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "common.h"
#include "mediagate-names.h"
#include "util.h"

typedef struct Pending {
        char path[256];
        bool replied, responded;
        int reply_error;
        uint32_t code;
        uint64_t responded_ns;
        char **tracks;
        char error[128];
} Pending;

static int read_tracks(sd_bus_message *m, Pending *p) {
        const char *key;
        int r;

        /* results a{sv}: only "tracks" (ao) and "error" (s) matter here. */
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "tracks")) {
                        const char *path;

                        r = sd_bus_message_enter_container(m, 'v', "ao");
                        if (r < 0)
                                return r;
                        r = sd_bus_message_enter_container(m, 'a', "o");
                        if (r < 0)
                                return r;
                        while ((r = sd_bus_message_read(m, "o", &path)) > 0)
                                if (strv_extend(&p->tracks, path) < 0)
                                        return -ENOMEM;
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                } else if (streq(key, "error")) {
                        const char *e;

                        r = sd_bus_message_read(m, "v", "s", &e);
                        if (r >= 0)
                                snprintf(p->error, sizeof(p->error), "%s", e);
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* The request being waited for; the Response match is installed once for all of them. */
static Pending *current;

static int on_response(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        uint64_t now = bench_now_ns();
        Pending *p = current;
        int r;

        if (!p || !streq_ptr(sd_bus_message_get_path(m), p->path) || p->responded)
                return 0;
        p->responded = true;
        p->responded_ns = now;
        r = sd_bus_message_read(m, "u", &p->code);
        if (r >= 0)
                r = read_tracks(m, p);
        if (r < 0)
                fprintf(stderr, "bench-control: bad Response: %s\n", strerror(-r));
        return 0;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Pending *p = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        p->replied = true;
        if (e) {
                p->reply_error = -EIO;
                snprintf(p->error, sizeof(p->error), "%s", e->name);
        }
        return 0;
}

static int run_until(sd_bus *bus, bool *flag, uint64_t timeout_ns) {
        uint64_t deadline = bench_now_ns() + timeout_ns;
        int r;

        while (!*flag) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                if (bench_now_ns() > deadline)
                        return -ETIMEDOUT;
                r = sd_bus_wait(bus, 100 * 1000);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int get_user_media(sd_bus *bus, const char *kind, unsigned i, Pending *p, uint64_t *ret_ns) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        const char *unique;
        char token[32];
        uint64_t start;
        int r;

        r = sd_bus_get_unique_name(bus, &unique);
        if (r < 0)
                return r;
        current = p;
        snprintf(token, sizeof(token), "bench%u", i);
        /* The request path of docs/dbus-api.md: the unique name without ':' and with '.' as '_'. */
        snprintf(p->path, sizeof(p->path), "%s/%s/%s", MG_REQUEST_PATH_PREFIX, unique + 1, token);
        for (char *c = p->path + strlen(MG_REQUEST_PATH_PREFIX); *c; c++)
                if (*c == '.')
                        *c = '_';

        r = sd_bus_message_new_method_call(bus, &call, MG_BUS_NAME, MG_OBJECT_PATH, MG_IFACE_MANAGER,
                                           "GetUserMedia");
        if (r >= 0)
                r = sd_bus_message_append(call, "a{sv}a{sv}", 1, kind, "b", 1, 1, "handle_token", "s", token);
        if (r < 0)
                return r;

        start = bench_now_ns();
        r = sd_bus_call_async(bus, NULL, call, on_reply, p, 0);
        if (r < 0)
                return r;
        r = run_until(bus, &p->responded, 10ULL * 1000000000ULL);
        current = NULL;
        if (r < 0)
                return r;
        if (p->reply_error < 0 || p->code != 0) {
                fprintf(stderr, "bench-control: request %u failed: %s\n", i, p->error);
                return -EACCES;
        }
        *ret_ns = p->responded_ns - start;
        return 0;
}

static int stop_tracks(sd_bus *bus, Pending *p) {
        int r;

        for (char **t = p->tracks; t && *t; t++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                r = sd_bus_call_method(bus, MG_BUS_NAME, *t, MG_IFACE_TRACK, "Stop", &e, NULL, NULL);
                if (r < 0) {
                        fprintf(stderr, "bench-control: Stop %s: %s\n", *t, e.message ?: strerror(-r));
                        return r;
                }
        }
        strv_free(p->tracks);
        p->tracks = NULL;
        return 0;
}

static int ping(sd_bus *bus, uint64_t *ret_ns) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        uint64_t start = bench_now_ns();
        int r;

        r = sd_bus_call_method(bus, MG_BUS_NAME, MG_OBJECT_PATH, "org.freedesktop.DBus.Peer", "Ping", &e, NULL,
                               NULL);
        if (r < 0)
                return r;
        *ret_ns = bench_now_ns() - start;
        return 0;
}

/* The call the daemon makes for each request, with the subject it uses: the cost of the polkit
 * stand-in itself, to set against the request's. */
static int check_authorization(sd_bus *bus, const char *action, uint64_t *ret_ns) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *unique;
        uint64_t start;
        int r;

        r = sd_bus_get_unique_name(bus, &unique);
        if (r < 0)
                return r;
        start = bench_now_ns();
        r = sd_bus_call_method(bus, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
                               "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization", &e, &reply,
                               "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", unique, action, 0, 0, "");
        if (r < 0)
                return r;
        *ret_ns = bench_now_ns() - start;
        return 0;
}

static const char *message_type_name(uint8_t type) {
        switch (type) {
        case SD_BUS_MESSAGE_METHOD_CALL:
                return "call";
        case SD_BUS_MESSAGE_METHOD_RETURN:
                return "return";
        case SD_BUS_MESSAGE_METHOD_ERROR:
                return "error";
        default:
                return "signal";
        }
}

/* One more request, watched by a monitor connection that sees every message to or from the
 * daemon: how many messages and which calls the daemon makes before it answers. */
static int count_messages(sd_bus *bus, const char *kind, unsigned i) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *mon = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *daemon = NULL, *rule_from = NULL, *rule_to = NULL;
        const char *address, *owner;
        Pending p = {};
        unsigned n_messages = 0, daemon_calls = 0, before_response = 0;
        uint64_t ns, deadline;
        bool seen_response = false;
        int r;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetNameOwner", &e, &call, "s", MG_BUS_NAME);
        if (r < 0)
                return r;
        r = sd_bus_message_read(call, "s", &owner);
        if (r < 0)
                return r;
        daemon = strdup(owner);
        call = sd_bus_message_unref(call);
        if (!daemon || asprintf(&rule_from, "sender='%s'", daemon) < 0 ||
            asprintf(&rule_to, "destination='%s'", daemon) < 0)
                return -ENOMEM;

        r = sd_bus_get_address(bus, &address);
        if (r >= 0)
                r = sd_bus_new(&mon);
        if (r >= 0)
                r = sd_bus_set_address(mon, address);
        if (r >= 0)
                r = sd_bus_set_monitor(mon, true);
        if (r >= 0)
                r = sd_bus_set_bus_client(mon, true);
        if (r >= 0)
                r = sd_bus_start(mon);
        if (r >= 0)
                r = sd_bus_call_method(mon, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus.Monitoring", "BecomeMonitor", &e, NULL, "asu", 2,
                                       rule_from, rule_to, 0);
        if (r < 0) {
                printf("  (messages per request: no bus monitor: %s)\n", e.message ?: strerror(-r));
                return 0;
        }

        r = get_user_media(bus, kind, i, &p, &ns);
        if (r < 0)
                return r;

        printf("  messages to or from the daemon for one request (bus monitor):\n");
        deadline = bench_now_ns() + 300ULL * 1000000ULL;
        while (bench_now_ns() < deadline) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                uint8_t type;

                r = sd_bus_process(mon, &m);
                if (r < 0)
                        return r;
                if (r == 0) {
                        (void) sd_bus_wait(mon, 20 * 1000);
                        continue;
                }
                if (!m)
                        continue;
                (void) sd_bus_message_get_type(m, &type);
                if (streq_ptr(sd_bus_message_get_member(m), "NameAcquired") ||
                    streq_ptr(sd_bus_message_get_member(m), "NameLost"))
                        continue;
                n_messages++;
                if (!seen_response)
                        before_response++;
                if (type == SD_BUS_MESSAGE_METHOD_CALL && streq_ptr(sd_bus_message_get_sender(m), daemon) &&
                    !seen_response)
                        daemon_calls++;
                printf("    %-6s %s -> %s %s%s\n", message_type_name(type),
                       streq_ptr(sd_bus_message_get_sender(m), daemon) ? "daemon" : strempty(sd_bus_message_get_sender(m)),
                       streq_ptr(sd_bus_message_get_destination(m), daemon) ? "daemon"
                                                                             : strempty(sd_bus_message_get_destination(m)),
                       sd_bus_message_get_member(m) ?: "(reply)",
                       type == SD_BUS_MESSAGE_SIGNAL && streq_ptr(sd_bus_message_get_member(m), "Response")
                               ? "  <- the answer"
                               : "");
                if (type == SD_BUS_MESSAGE_SIGNAL && streq_ptr(sd_bus_message_get_member(m), "Response"))
                        seen_response = true;
        }
        printf("  until the Response: %u messages; the daemon waited on %u call(s) of its own, so the client\n"
               "  sees 1 round trip (its call) + %u round trip(s) of the daemon + the Response signal\n",
               before_response, daemon_calls, daemon_calls);
        return stop_tracks(bus, &p);
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        unsigned count = (unsigned) bench_arg_u64(argc, argv, "--count", 1000);
        const char *kind = bench_arg_str(argc, argv, "--kind", "video");
        const char *action = streq(kind, "audio") ? MG_POLKIT_ACTION_MICROPHONE : MG_POLKIT_ACTION_CAMERA;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *holder = NULL;
        bool hold = false;
        Pending held = {};
        Samples pings = {}, gums = {}, polkits = {};
        int r;

        for (int i = 1; i < argc; i++)
                if (streq(argv[i], "--hold"))
                        hold = true;

        if (!streq(kind, "video") && !streq(kind, "audio")) {
                fprintf(stderr, "bench-control: --kind=video or --kind=audio\n");
                return EXIT_FAILURE;
        }
        r = sd_bus_open_user(&bus);
        if (r < 0) {
                fprintf(stderr, "bench-control: cannot connect to the session bus: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        r = sd_bus_match_signal(bus, NULL, NULL, NULL, MG_IFACE_REQUEST, "Response", on_response, NULL);
        if (r < 0)
                goto fail;

        if (hold) {
                /* On a connection of its own, so that its track outlives every Stop below. */
                r = sd_bus_open_user(&holder);
                if (r >= 0)
                        r = sd_bus_match_signal(holder, NULL, NULL, NULL, MG_IFACE_REQUEST, "Response", on_response,
                                                NULL);
                if (r >= 0)
                        r = get_user_media(holder, kind, 100000, &held, &(uint64_t) { 0 });
                if (r < 0)
                        goto fail;
        }

        /* Warm-up: the daemon identifies a connection once (its credentials are cached), and the
         * first capture allocates what later ones reuse. Not counted. */
        for (unsigned i = 0; i < 10 + count; i++) {
                Pending p = {};
                uint64_t a, b, c;

                r = ping(bus, &a);
                if (r < 0)
                        goto fail;
                r = check_authorization(bus, action, &c);
                if (r < 0)
                        goto fail;
                r = get_user_media(bus, kind, i, &p, &b);
                if (r < 0)
                        goto fail;
                r = stop_tracks(bus, &p);
                if (r < 0)
                        goto fail;
                if (i < 10)
                        continue;
                if (samples_add(&pings, a) < 0 || samples_add(&gums, b) < 0 || samples_add(&polkits, c) < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
        }

        printf("control path, %u iterations, {\"%s\": true}, standing decision (admin policy allow rule):\n", count,
               kind);
        samples_print(&pings, "Peer.Ping round trip");
        samples_print(&polkits, "polkit CheckAuthorization");
        samples_print(&gums, "GetUserMedia -> Response");
        printf("  GetUserMedia p50 / Ping p50: %.1f round trips' worth%s\n",
               (double) samples_percentile(&gums, 50) / (double) MAX(samples_percentile(&pings, 50), 1u),
               hold ? " (the device was running throughout)" : "");
        printf("RESULT control_%s%s_gum_p50_ms=%.4f\n", kind, hold ? "_running" : "",
               ns_to_ms(samples_percentile(&gums, 50)));
        printf("RESULT control_%s%s_ping_p50_ms=%.4f\n", kind, hold ? "_running" : "",
               ns_to_ms(samples_percentile(&pings, 50)));
        printf("RESULT control_%s%s_polkit_p50_ms=%.4f\n", kind, hold ? "_running" : "",
               ns_to_ms(samples_percentile(&polkits, 50)));
        printf("RESULT control_%s%s_ratio=%.3f\n", kind, hold ? "_running" : "",
               (double) samples_percentile(&gums, 50) / (double) MAX(samples_percentile(&pings, 50), 1u));

        r = count_messages(bus, kind, count + 10);
        if (r < 0)
                goto fail;
        if (hold) {
                r = stop_tracks(holder, &held);
                if (r < 0)
                        goto fail;
        }
        samples_done(&pings);
        samples_done(&gums);
        samples_done(&polkits);
        return EXIT_SUCCESS;

fail:
        fprintf(stderr, "bench-control: %s\n", strerror(-r));
        return EXIT_FAILURE;
}
