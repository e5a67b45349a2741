/* mediagate-pipewire: the user's PipeWire gets a node for every camera and microphone mediagate
 * offers the user, so that applications that capture through PipeWire (the Camera portal,
 * browsers, OBS, GStreamer, pw-record, PulseAudio clients) work unchanged, each asking mediagate's
 * consent as itself. This file owns the arguments, the loops and the wiring of the parts. */
#include <getopt.h>
#include <signal.h>
#include <pipewire/pipewire.h>
#include <systemd/sd-daemon.h>

#include "consumers.h"
#include "log.h"
#include "mediagate-names.h"
#include "mediagate.h"
#include "node.h"
#include "pw-event.h"
#include "sources.h"

typedef struct Bridge {
        sd_event *event;
        PwEventLoop *loop;
        struct pw_context *context;
        struct pw_core *core;
        struct spa_hook core_listener;
        MgClient *client;
        sd_bus_slot *owner_slot;
        Consumers *consumers;
        Node **nodes;
        size_t n_nodes;
        int exit_code;
} Bridge;

/* ---- the nodes, as mediagated lists its devices ---- */

static Node *bridge_find_node(Bridge *b, uint32_t id) {
        for (size_t i = 0; i < b->n_nodes; i++)
                if (node_get_id(b->nodes[i]) == id)
                        return b->nodes[i];
        return NULL;
}

static void on_node_bound(Node *n, uint32_t id, void *userdata) {
        Bridge *b = userdata;

        consumers_rescan(b->consumers);
}

static void on_node_reject(Node *n, uint32_t link_id, int res, const char *message, void *userdata) {
        Bridge *b = userdata;

        (void) consumers_reject(b->consumers, link_id, res, message);
}

static const NodeHandlers node_handlers = {
        .bound = on_node_bound,
        .reject = on_node_reject,
};

static bool spec_listed(const SourceList *l, const SourceSpec *s) {
        for (size_t i = 0; i < l->n_sources; i++)
                if (source_spec_equal(&l->sources[i], s))
                        return true;
        return false;
}

static bool spec_published(Bridge *b, const SourceSpec *s) {
        for (size_t i = 0; i < b->n_nodes; i++)
                if (source_spec_equal(node_get_spec(b->nodes[i]), s))
                        return true;
        return false;
}

/* Publish what mediagated lists now: nodes of devices that went away (or changed) go, new ones
 * come. A node that stays keeps its consumers. */
static int bridge_refresh(Bridge *b) {
        _cleanup_(mg_error_clear) MgError err = MG_ERROR_INIT;
        SourceList list = {};
        Node **grown;
        int r;

        r = source_list_load(b->client, &list, &err);
        if (r < 0)
                return log_warning_errno(r, "Cannot list mediagate's devices: %s", strempty(err.message));
        for (size_t i = 0; i < b->n_nodes;)
                if (!spec_listed(&list, node_get_spec(b->nodes[i]))) {
                        log_info("%s: no longer offered, unpublishing it.", node_get_spec(b->nodes[i])->name);
                        node_free(b->nodes[i]);
                        b->nodes[i] = b->nodes[--b->n_nodes];
                } else
                        i++;
        grown = realloc(b->nodes, (b->n_nodes + list.n_sources + 1) * sizeof(Node *));
        if (!grown) {
                source_list_done(&list);
                return log_oom();
        }
        b->nodes = grown;
        for (size_t i = 0; i < list.n_sources; i++) {
                if (spec_published(b, &list.sources[i]))
                        continue;
                r = node_new(b->core, b->event, b->client, &list.sources[i], &node_handlers, b, &b->nodes[b->n_nodes]);
                if (r < 0) {
                        log_error_errno(r, "Cannot publish %s: %m", list.sources[i].name);
                        continue;
                }
                b->n_nodes++;
        }
        source_list_done(&list);
        return 0;
}

static void on_devices_changed(MgClient *c, void *userdata) {
        (void) bridge_refresh(userdata);
}

/* mediagated (re)started: its devices may differ; a request made before it came is gone. */
static int on_daemon_owner(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *name, *old, *new;

        if (sd_bus_message_read(m, "sss", &name, &old, &new) >= 0 && !isempty(new))
                (void) bridge_refresh(userdata);
        return 0;
}

/* ---- consumers ---- */

static bool consumer_is_ours(uint32_t node_id, void *userdata) {
        return bridge_find_node(userdata, node_id) != NULL;
}

static void on_consumer_added(const ConsumerInfo *c, void *userdata) {
        Node *n = bridge_find_node(userdata, c->node_id);

        if (n)
                node_consumer_added(n, c);
}

static void on_consumer_removed(uint32_t link_id, uint32_t node_id, void *userdata) {
        Node *n = bridge_find_node(userdata, node_id);

        if (n)
                node_consumer_removed(n, link_id);
}

static const ConsumersHandlers consumers_handlers = {
        .is_ours = consumer_is_ours,
        .added = on_consumer_added,
        .removed = on_consumer_removed,
};

/* ---- PipeWire ---- */

static void on_core_error(void *data, uint32_t id, int seq, int res, const char *message) {
        Bridge *b = data;

        if (id != PW_ID_CORE) {
                log_debug("PipeWire: error on object %u: %s", id, strempty(message));
                return;
        }
        log_error("Lost PipeWire: %s (%s)", strempty(message), strerror(-res));
        b->exit_code = EXIT_FAILURE;
        (void) sd_event_exit(b->event, EXIT_FAILURE);
}

static const struct pw_core_events core_events = {
        PW_VERSION_CORE_EVENTS,
        .error = on_core_error,
};

static int bridge_connect_pipewire(Bridge *b) {
        int r;

        r = pw_event_loop_new(b->event, &b->loop);
        if (r < 0)
                return log_error_errno(r, "Cannot create the PipeWire loop: %m");
        b->context = pw_context_new(pw_event_loop_get(b->loop), NULL, 0);
        if (!b->context)
                return log_error_errno(errno, "Cannot create the PipeWire context: %m");
        b->core = pw_context_connect(b->context,
                                     pw_properties_new(PW_KEY_APP_NAME, "mediagate-pipewire",
                                                       PW_KEY_APP_ID, "org.mediagate.PipeWire", NULL), 0);
        if (!b->core)
                return log_error_errno(errno, "Cannot connect to PipeWire: %m");
        pw_core_add_listener(b->core, &b->core_listener, &core_events, b);
        r = consumers_new(b->core, &consumers_handlers, b, &b->consumers);
        if (r < 0)
                return log_error_errno(r, "Cannot watch PipeWire's registry: %m");
        return 0;
}

static int bridge_connect_mediagate(Bridge *b) {
        int r;

        r = mg_client_new(&b->client, MG_BUS_DEFAULT);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to mediagated's bus: %m");
        r = mg_client_attach_event(b->client, b->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach to the event loop: %m");
        r = mg_client_set_devices_changed_callback(b->client, on_devices_changed, b);
        if (r < 0)
                return log_error_errno(r, "Cannot watch mediagate's devices: %m");
        r = sd_bus_add_match(mg_client_get_bus(b->client), &b->owner_slot,
                             "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                             "member='NameOwnerChanged',arg0='" MG_BUS_NAME "'",
                             on_daemon_owner, b);
        if (r < 0)
                return log_error_errno(r, "Cannot watch mediagated's name: %m");
        return 0;
}

static void bridge_done(Bridge *b) {
        for (size_t i = 0; i < b->n_nodes; i++)
                node_free(b->nodes[i]);
        free(b->nodes);
        consumers_free(b->consumers);
        if (b->core)
                pw_core_disconnect(b->core);
        if (b->context)
                pw_context_destroy(b->context);
        pw_event_loop_free(b->loop);
        sd_bus_slot_unref(b->owner_slot);
        mg_client_unref(b->client);
        sd_event_unref(b->event);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Bridge *b = userdata;

        log_info("Stopping on signal %u.", si->ssi_signo);
        return sd_event_exit(b->event, b->exit_code);
}

static void help(void) {
        printf("mediagate-pipewire [--verbose]\n\n"
               "Publish mediagate's cameras and microphones as PipeWire nodes. Each consuming app\n"
               "is asked for by its own app id; frames flow only to apps mediagate allows.\n\n"
               "  -v --verbose   Log debug messages too\n"
               "  -h --help      Show this help\n"
               "     --version   Show the version\n\n"
               "The PipeWire remote is $PIPEWIRE_REMOTE (default pipewire-0); mediagated is on the\n"
               "system bus unless $MEDIAGATE_BUS says \"session\".\n");
}

static int parse_args(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100 };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "verbose", no_argument, NULL, 'v' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "hv", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("mediagate-pipewire %s\n", MEDIAGATE_VERSION);
                        return 0;
                case 'v':
                        log_set_max_level(LOG_DEBUG);
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "mediagate-pipewire takes no arguments.\n");
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        Bridge b = { .exit_code = EXIT_SUCCESS };
        sigset_t mask;
        int r;

        log_open();
        r = parse_args(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : EXIT_SUCCESS;

        pw_init(&argc, &argv);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        r = sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ? -errno : 0;
        if (r >= 0)
                r = sd_event_default(&b.event);
        if (r >= 0)
                r = sd_event_add_signal(b.event, NULL, SIGTERM, on_signal, &b);
        if (r >= 0)
                r = sd_event_add_signal(b.event, NULL, SIGINT, on_signal, &b);
        if (r < 0) {
                log_error_errno(r, "Cannot set up the event loop: %m");
                goto finish;
        }
        r = bridge_connect_mediagate(&b);
        if (r >= 0)
                r = bridge_connect_pipewire(&b);
        if (r < 0)
                goto finish;
        /* Without mediagated (yet) nothing is published; its name appearing brings the nodes. */
        (void) bridge_refresh(&b);
        (void) sd_notify(false, "READY=1\nSTATUS=Publishing mediagate's devices to PipeWire.");
        log_info("Ready: %zu node%s published.", b.n_nodes, b.n_nodes == 1 ? "" : "s");

        r = sd_event_loop(b.event);
        if (r < 0)
                log_error_errno(r, "Event loop failed: %m");
finish:
        (void) sd_notify(false, "STOPPING=1");
        bridge_done(&b);
        pw_deinit();
        return r < 0 ? EXIT_FAILURE : b.exit_code;
}
