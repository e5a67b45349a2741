/* libFuzzer harness for the constraint engine: the input is the body of a D-Bus method call whose
 * signature is "a{sv}", received by sd-bus as the daemon receives GetUserMedia, then parsed,
 * selected on the built-in synthetic devices and written back out.
 *
 * sd-bus has no public way to make a message out of raw bytes, so the harness speaks the wire
 * protocol to a server-side sd_bus over a socket pair: the SASL handshake, then a fixed
 * little-endian header and the fuzz input as the body. Every byte the parser sees has come through
 * sd-bus's own validation, exactly as on the real bus, so a crash here is one a client could cause. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "constraints-bus.h"
#include "constraints-fitness.h"
#include "constraints-select.h"
#include "devices/synthetic.h"
#include "fuzz.h"
#include "log.h"
#include "util.h"

/* Past this the harness only measures how fast sd-bus refuses: the daemon's bus limits the size
 * of a message long before the parser sees it. */
#define BODY_MAX (1024 * 1024)

/* "\0", then the anonymous SASL exchange the server was told to accept. */
static const char auth[] = "\0AUTH ANONYMOUS\r\nBEGIN\r\n";

/* Method call, serial 1, PATH "/", MEMBER "M", SIGNATURE "a{sv}"; the body length (offset 4) is
 * filled in per input. Each header field starts on an 8-byte boundary; the body starts at 64. */
static const uint8_t header_template[64] = {
        'l', 1, 0, 1, 0, 0, 0, 0, /* little-endian, METHOD_CALL, no flags, version 1, body length */
        1, 0, 0, 0,               /* serial */
        43, 0, 0, 0,              /* length of the header field array */
        1, 1, 'o', 0, 1, 0, 0, 0, '/', 0, 0, 0, 0, 0, 0, 0,      /* PATH o "/" */
        3, 1, 's', 0, 1, 0, 0, 0, 'M', 0, 0, 0, 0, 0, 0, 0,      /* MEMBER s "M" */
        8, 1, 'g', 0, 5, 'a', '{', 's', 'v', '}', 0, 0, 0, 0, 0, /* SIGNATURE g "a{sv}", padding */
};

static Device *devices[SYNTHETIC_DEVICES_MAX];
static ConstraintCandidate candidates[SYNTHETIC_DEVICES_MAX];
static size_t n_candidates;
static bool debug; /* MEDIAGATE_FUZZ_DEBUG: say what became of each input, for checking seeds */

typedef struct Received {
        bool done;
} Received;

/* The daemon's own built-in devices, made once, in enumeration order. */
static void setup_devices(void) {
        SyntheticSpec *specs = NULL;
        char *error = NULL;
        size_t n = 0;

        if (synthetic_file_parse(synthetic_default_devices, strlen(synthetic_default_devices), NULL, &specs,
                                 &n, &error) < 0) {
                fprintf(stderr, "built-in synthetic devices do not parse: %s\n", error ?: "(no message)");
                abort();
        }
        for (size_t i = 0; i < n; i++) {
                char *id;

                if (synthetic_device_new(&specs[i], 440.0, &devices[i]) < 0)
                        abort();
                if (asprintf(&id, "device-id-%zu", i) < 0)
                        abort();
                candidates[i] = (ConstraintCandidate){
                        .device = devices[i],
                        .device_id = id,
                        .group_id = i == 0 ? "group-0" : id,
                };
        }
        n_candidates = n;
        synthetic_specs_free(specs, n);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        if (!getenv("MEDIAGATE_FUZZ_LOG"))
                log_set_max_level(-1);
        debug = getenv("MEDIAGATE_FUZZ_DEBUG");
        setup_devices();
        return 0;
}

/* The body sd-bus writes for a message, as text, for comparing two messages. */
static char *dump_body(sd_bus_message *m) {
        char *text = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&text, &size);
        if (!f)
                abort();
        if (sd_bus_message_rewind(m, true) < 0 || sd_bus_message_dump(m, f, 0) < 0)
                abort();
        fclose(f);
        return text;
}

static sd_bus_message *new_message(sd_bus *bus) {
        sd_bus_message *m = NULL;

        if (sd_bus_message_new_method_call(bus, &m, NULL, "/", NULL, "M") < 0)
                abort();
        return m;
}

static void seal(sd_bus_message *m) {
        if (sd_bus_message_seal(m, 1, 0) < 0 || sd_bus_message_rewind(m, true) < 0)
                abort();
}

/* Track "Constraints" is what the client may send back to ApplyConstraints: what we write must
 * parse again and, written once more, come out the same. */
static void check_round_trip(sd_bus *bus, const TrackConstraints *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *out = new_message(bus), *again = NULL;
        _cleanup_(track_constraints_freep) TrackConstraints *c2 = NULL;
        _cleanup_free_ char *message = NULL, *first = NULL, *second = NULL;
        int r;

        if (track_constraints_append(out, c) < 0)
                abort();
        seal(out);
        r = track_constraints_parse(out, track_constraints_get_kind(c), &c2, &message);
        if (r < 0) {
                fprintf(stderr, "the normalized constraints do not parse again: %s: %s\n", strerror(-r),
                        message ?: "(no message)");
                abort();
        }

        again = new_message(bus);
        if (track_constraints_append(again, c2) < 0)
                abort();
        seal(again);
        first = dump_body(out);
        second = dump_body(again);
        if (!streq(first, second)) {
                fprintf(stderr, "normalizing twice changed the constraints:\n%s\n---\n%s\n", first, second);
                abort();
        }
}

static void select_and_append(sd_bus *bus, const TrackConstraints *c, DeviceKind kind) {
        _cleanup_(track_constraints_freep) TrackConstraints *empty = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *out = NULL;
        const char *failed = NULL;
        SelectedSettings s;
        int r;

        if (!c) {
                if (track_constraints_new_empty(kind, &empty) < 0)
                        abort();
                c = empty;
        }
        if (track_constraints_get_kind(c) != kind)
                abort();

        r = select_settings(c, candidates, n_candidates, &s, &failed);
        if (debug)
                fprintf(stderr, "  %s: select_settings: %s%s%s\n", device_kind_to_string(kind),
                        r < 0 ? strerror(-r) :
                        r == SELECT_SETTINGS_FOUND ? candidates[s.candidate].device->name :
                        r == SELECT_SETTINGS_NO_DEVICE ? "no device" : "overconstrained",
                        failed ? " constraint " : "", strempty(failed));
        if (r == SELECT_SETTINGS_FOUND) {
                if (s.candidate >= n_candidates || candidates[s.candidate].device->kind != kind)
                        abort();
                out = new_message(bus);
                if (selected_settings_append(out, &s, &candidates[s.candidate]) < 0)
                        abort();
                (void) fitness_distance(c, &candidates[s.candidate], &s);
        } else if (r == SELECT_SETTINGS_OVERCONSTRAINED) {
                if (!failed)
                        abort();
        } else if (r != SELECT_SETTINGS_NO_DEVICE)
                abort();

        check_round_trip(bus, c);
}

static int on_message(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(media_stream_constraints_freep) MediaStreamConstraints *c = NULL;
        sd_bus *bus = sd_bus_message_get_bus(m);
        Received *received = userdata;
        _cleanup_free_ char *message = NULL;
        int r;

        received->done = true;

        r = media_stream_constraints_parse(m, &c, &message);
        if (debug)
                fprintf(stderr, "GetUserMedia: %s%s%s\n", r < 0 ? strerror(-r) : "parsed",
                        message ? ": " : "", strempty(message));
        if (r == 0) {
                if (!c->audio && !c->video)
                        abort();
                if (c->audio)
                        select_and_append(bus, c->audio_constraints, DEVICE_KIND_AUDIO);
                if (c->video)
                        select_and_append(bus, c->video_constraints, DEVICE_KIND_VIDEO);
        }
        /* No check that -EINVAL comes with a message: sd-bus itself returns -EINVAL for some
         * malformed bodies (a variant with an empty signature), which dbus-daemon would never
         * deliver but a peer-to-peer connection can. */

        /* The same bytes as ApplyConstraints' argument, for either kind. */
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++) {
                _cleanup_(track_constraints_freep) TrackConstraints *t = NULL;

                free(message);
                message = NULL;
                if (sd_bus_message_rewind(m, true) < 0)
                        abort();
                r = track_constraints_parse(m, k, &t, &message);
                if (debug)
                        fprintf(stderr, "ApplyConstraints(%s): %s%s%s\n", device_kind_to_string(k),
                                r < 0 ? strerror(-r) : "parsed", message ? ": " : "", strempty(message));
                if (r == 0)
                        select_and_append(bus, t, k);
        }
        return 1; /* handled: no reply */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        _cleanup_close_ int peer = -1;
        _cleanup_free_ uint8_t *wire = NULL;
        Received received = {};
        sd_id128_t id = SD_ID128_MAKE(6d, 65, 64, 69, 61, 67, 61, 74, 65, 66, 75, 7a, 7a, 69, 6e, 67);
        size_t wire_size, written = 0;
        int fds[2];

        if (size > BODY_MAX)
                return -1;

        wire_size = sizeof(auth) - 1 + sizeof(header_template) + size;
        wire = malloc(wire_size);
        if (!wire)
                abort();
        memcpy(wire, auth, sizeof(auth) - 1);
        memcpy(wire + sizeof(auth) - 1, header_template, sizeof(header_template));
        for (int i = 0; i < 4; i++)
                wire[sizeof(auth) - 1 + 4 + i] = (uint8_t) (size >> (8 * i));
        memcpy(wire + sizeof(auth) - 1 + sizeof(header_template), data, size);

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
                abort();
        peer = fds[1];
        if (sd_bus_new(&bus) < 0) {
                safe_close(fds[0]);
                abort();
        }
        if (sd_bus_set_fd(bus, fds[0], fds[0]) < 0 || sd_bus_set_server(bus, true, id) < 0 ||
            sd_bus_set_anonymous(bus, true) < 0 || sd_bus_add_filter(bus, NULL, on_message, &received) < 0 ||
            sd_bus_start(bus) < 0)
                abort();

        /* Feed the socket as sd-bus drains it, until the message is handled or sd-bus stops. */
        while (!received.done) {
                char discard[256];
                int r;

                if (written < wire_size) {
                        ssize_t n = write(peer, wire + written, wire_size - written);

                        if (n < 0 && errno != EAGAIN)
                                abort();
                        if (n > 0)
                                written += (size_t) n;
                }
                while (read(peer, discard, sizeof(discard)) > 0) /* the server's "OK <guid>" */
                        ;

                r = sd_bus_process(bus, NULL);
                        if (r < 0)
                        break; /* sd-bus refused the message and dropped the connection */
                if (r == 0 && written == wire_size)
                        break; /* everything was read and nothing more happens */
        }
        return 0;
}
