/* One published PipeWire node (see node.h): the pw_stream and the consent of its consumers. */
#include <pipewire/pipewire.h>
#include <spa/param/format-utils.h>

#include "access.h"
#include "formats.h"
#include "log.h"
#include "node.h"
#include "util.h"

#define REASON_MAX 256
/* Set (not empty): every frame is copied, to compare with handing on the pool (the benchmark). */
#define ENV_COPY "MEDIAGATE_PIPEWIRE_COPY"

typedef struct NodeConsumer {
        uint32_t link_id;
        char *app_id;
        bool fixed_buffers;
} NodeConsumer;

struct Node {
        MgClient *client;
        sd_event *event;
        SourceSpec spec;
        NodeHandlers handlers;
        void *userdata;

        struct pw_stream *stream;
        struct spa_hook listener;
        uint32_t id;
        Feed *feed;

        bool have_format;
        NegotiatedFormat format;
        /* The frames mediagate delivers have another pixel format than the one negotiated: the
         * node then offers only that one, and the consumer renegotiates. */
        bool offer_delivered;
        MgStreamFormat delivered;
        /* The node asked its consumers to negotiate again: the format goes and comes back, and
         * the tracks stay. */
        bool renegotiating;

        NodeConsumer *consumers;
        size_t n_consumers;
        Access **accesses; /* one per consuming app */
        size_t n_accesses;
};

static const AccessHandlers access_handlers;

/* ---- consent ---- */

static Access *find_access(Node *n, const char *app_id, size_t *index) {
        for (size_t i = 0; i < n->n_accesses; i++)
                if (streq(access_get_app_id(n->accesses[i]), app_id)) {
                        if (index)
                                *index = i;
                        return n->accesses[i];
                }
        return NULL;
}

static bool app_has_consumers(Node *n, const char *app_id) {
        for (size_t i = 0; i < n->n_consumers; i++)
                if (streq(n->consumers[i].app_id, app_id))
                        return true;
        return false;
}

/* Frames flow while there is a format, a feed, and every consumer's app is allowed. */
static void node_update_gate(Node *n) {
        bool open = n->have_format && n->n_consumers > 0 && feed_get_track(n->feed);

        for (size_t i = 0; open && i < n->n_consumers; i++) {
                Access *a = find_access(n, n->consumers[i].app_id, NULL);

                open = a && access_get_state(a) == ACCESS_GRANTED;
        }
        feed_set_open(n->feed, open);
}

static void remove_access(Node *n, const char *app_id) {
        _cleanup_free_ char *id = strdup(app_id);
        size_t i;
        Access *a = find_access(n, app_id, &i);

        if (!a)
                return;
        n->accesses[i] = n->accesses[--n->n_accesses];
        if (access_get_track(a) && access_get_track(a) == feed_get_track(n->feed))
                feed_detach(n->feed);
        access_free(a);
        if (id)
                log_debug("%s: no access for %s any more.", n->spec.name, id);
}

static void remove_all_accesses(Node *n) {
        feed_detach(n->feed);
        while (n->n_accesses > 0)
                access_free(n->accesses[--n->n_accesses]);
}

/* Turn away every consumer of an app: an error on their streams, their links gone. */
static void reject_app(Node *n, const char *app_id, int res, const char *message) {
        _cleanup_free_ char *id = strdup(app_id);

        if (!id)
                return;
        log_info("%s: turning away %s: %s", n->spec.name, id, message);
        for (size_t i = 0; i < n->n_consumers;) {
                NodeConsumer *c = &n->consumers[i];

                if (!streq(c->app_id, id)) {
                        i++;
                        continue;
                }
                n->handlers.reject(n, c->link_id, res, message, n->userdata);
                free(c->app_id);
                *c = n->consumers[--n->n_consumers];
        }
        remove_access(n, id);
        node_update_gate(n);
}

static void reject_app_for(Node *n, const char *app_id, const MgError *e) {
        char message[REASON_MAX];

        snprintf(message, sizeof message, "mediagate: %s: %s", strempty(e->name), strempty(e->message));
        reject_app(n, app_id, e->error < 0 ? e->error : -EACCES, message);
}

static int node_offer_delivered(Node *n, const MgStreamFormat *sf);
static int node_update_formats(Node *n);

static bool has_fixed_buffers(const Node *n) {
        for (size_t i = 0; i < n->n_consumers; i++)
                if (n->consumers[i].fixed_buffers)
                        return true;
        return false;
}

/* Feed the node from the first allowed app's track, unless it is fed already. */
static void node_pick_feed(Node *n) {
        _cleanup_(mg_error_clear) MgError e = MG_ERROR_INIT;

        if (feed_get_track(n->feed) || !n->have_format)
                return;
        for (size_t i = 0; i < n->n_accesses; i++) {
                Access *a = n->accesses[i];
                MgTrack *t = access_get_track(a);
                MgStreamFormat delivered;
                int r;

                if (!t || mg_track_is_ended(t))
                        continue;
                r = feed_attach(n->feed, t, !has_fixed_buffers(n) && isempty(getenv(ENV_COPY)), &delivered, &e);
                if (r == -EMEDIUMTYPE) {
                        (void) node_offer_delivered(n, &delivered);
                        return;
                }
                if (r < 0) {
                        if (!e.name && asprintf(&e.message, "cannot open the stream: %s", strerror(-r)) < 0)
                                e.message = NULL;
                        reject_app_for(n, access_get_app_id(a), &e);
                        return;
                }
                /* PipeWire 0.3.65 allocates a link's buffers once, when the format is set, and
                 * the pool exists only now: offering the formats again makes the consumer
                 * renegotiate, and the new buffers are the pool's slots. */
                if (feed_is_zero_copy(n->feed)) {
                        n->renegotiating = true;
                        (void) node_update_formats(n);
                }
                break;
        }
        node_update_gate(n);
}

static void on_access_decided(Access *a, void *userdata) {
        Node *n = userdata;

        if (access_get_state(a) != ACCESS_GRANTED) {
                reject_app_for(n, access_get_app_id(a), access_get_error(a));
                return;
        }
        node_pick_feed(n);
        node_update_gate(n);
}

static void on_access_ended(Access *a, const char *reason, void *userdata) {
        Node *n = userdata;

        reject_app_for(n, access_get_app_id(a), access_get_error(a));
        node_pick_feed(n);
}

static const AccessHandlers access_handlers = {
        .decided = on_access_decided,
        .ended = on_access_ended,
};

static void start_access(Node *n, const char *app_id) {
        _cleanup_(mg_error_clear) MgError e = MG_ERROR_INIT;
        MgConstraints *constraints = NULL;
        char reason[REASON_MAX];
        Access *a, **grown;
        int r;

        grown = realloc(n->accesses, (n->n_accesses + 1) * sizeof(Access *));
        if (!grown)
                return (void) log_oom();
        n->accesses = grown;
        _cleanup_free_ char *device_id = NULL;

        /* Device ids are per app: this device as the consuming app names it. */
        r = source_device_id_for_app(n->client, &n->spec, app_id, &device_id);
        if (r >= 0)
                r = format_to_constraints(device_id, &n->format, &constraints);
        if (r >= 0) {
                snprintf(reason, sizeof reason, "Through PipeWire (%s)", n->spec.label);
                r = access_start(n->client, app_id, constraints, reason, &access_handlers, n, &a, &e);
        }
        mg_constraints_free(constraints);
        if (r < 0) {
                if (!e.name && asprintf(&e.message, "cannot ask mediagated: %s", strerror(-r)) < 0)
                        e.message = NULL;
                e.error = r;
                reject_app_for(n, app_id, &e);
                return;
        }
        n->accesses[n->n_accesses++] = a;
        log_info("%s: asking mediagated for %s on behalf of %s.", n->spec.name,
                 source_kind_to_string(n->spec.kind), app_id);
}

/* Once there is a format, every consuming app gets its request. */
static void node_ensure_accesses(Node *n) {
        if (!n->have_format)
                return;
        for (size_t i = 0; i < n->n_consumers; i++)
                if (!find_access(n, n->consumers[i].app_id, NULL))
                        start_access(n, n->consumers[i].app_id);
        node_update_gate(n);
}

void node_consumer_added(Node *n, const ConsumerInfo *c) {
        NodeConsumer *grown;
        char *id;

        if (c->error < 0 || !c->app_id) {
                n->handlers.reject(n, c->link_id, -EACCES, "mediagate: the consuming app cannot be identified",
                                   n->userdata);
                return;
        }
        grown = realloc(n->consumers, (n->n_consumers + 1) * sizeof(NodeConsumer));
        id = strdup(c->app_id);
        if (!grown || !id) {
                free(id);
                if (grown)
                        n->consumers = grown;
                n->handlers.reject(n, c->link_id, -ENOMEM, "mediagate: out of memory", n->userdata);
                return;
        }
        n->consumers = grown;
        n->consumers[n->n_consumers++] = (NodeConsumer) {
                .link_id = c->link_id, .app_id = id, .fixed_buffers = c->fixed_buffers,
        };
        log_info("%s: %s linked (link %u).", n->spec.name, id, c->link_id);
        node_ensure_accesses(n);
}

void node_consumer_removed(Node *n, uint32_t link_id) {
        _cleanup_free_ char *app_id = NULL;

        for (size_t i = 0; i < n->n_consumers; i++)
                if (n->consumers[i].link_id == link_id) {
                        app_id = n->consumers[i].app_id;
                        n->consumers[i] = n->consumers[--n->n_consumers];
                        break;
                }
        if (!app_id)
                return;
        log_info("%s: %s unlinked (link %u).", n->spec.name, app_id, link_id);
        if (!app_has_consumers(n, app_id)) {
                remove_access(n, app_id);
                node_pick_feed(n);
        }
        node_update_gate(n);
}

/* ---- the PipeWire stream ---- */

static int node_update_formats(Node *n) {
        uint8_t space[2048];
        struct spa_pod_builder b = SPA_POD_BUILDER_INIT(space, sizeof(space));
        const struct spa_pod *params[FORMATS_MAX];
        int k;

        k = formats_enum(&n->spec, n->offer_delivered ? &n->delivered : NULL, &b, params);
        if (k < 0)
                return k;
        return pw_stream_update_params(n->stream, params, (uint32_t) k);
}

static int node_offer_delivered(Node *n, const MgStreamFormat *sf) {
        int r;

        log_info("%s: mediagate delivers %s %ux%u; offering that format instead.", n->spec.name, sf->fourcc,
                 sf->width, sf->height);
        n->delivered = *sf;
        n->offer_delivered = true;
        n->renegotiating = true;
        r = node_update_formats(n);
        if (r < 0)
                log_warning_errno(r, "%s: cannot offer the delivered format: %m", n->spec.name);
        return r;
}

/* Whether a new format can keep the tracks asked for the old one: the same format again (after
 * the node renegotiated for the pool), or only the pixel format changed, to the one they deliver. */
static bool format_keeps_tracks(const Node *n, const NegotiatedFormat *f) {
        if (!n->have_format || f->kind != n->format.kind)
                return false;
        if (f->kind == SOURCE_MICROPHONE)
                return f->rate == n->format.rate && f->channels == n->format.channels;
        if (f->width != n->format.width || f->height != n->format.height)
                return false;
        return f->video_format == n->format.video_format ||
               (n->offer_delivered && f->video_format == format_video_from_fourcc(n->delivered.fourcc));
}

static void on_format(Node *n, const struct spa_pod *param) {
        NegotiatedFormat f;
        bool keep;
        int r;

        if (!param) {
                if (n->renegotiating) {
                        log_debug("%s: renegotiating.", n->spec.name);
                        return;
                }
                log_debug("%s: no format any more.", n->spec.name);
                n->have_format = false;
                remove_all_accesses(n);
                (void) feed_set_format(n->feed, NULL);
                node_update_gate(n);
                return;
        }
        r = format_parse(n->spec.kind, param, &f);
        if (r < 0) {
                pw_stream_set_error(n->stream, r, "mediagate: unsupported format");
                return;
        }
        keep = format_keeps_tracks(n, &f);
        n->renegotiating = false;
        if (!keep)
                remove_all_accesses(n);
        else if (f.video_format != n->format.video_format)
                feed_detach(n->feed);
        n->format = f;
        n->have_format = true;
        r = feed_set_format(n->feed, &f);
        if (r < 0)
                log_warning_errno(r, "%s: cannot declare buffers: %m", n->spec.name);
        if (f.kind == SOURCE_CAMERA)
                log_info("%s: negotiated %ux%u at %u/%u.", n->spec.name, f.width, f.height, f.rate_num, f.rate_denom);
        else
                log_info("%s: negotiated %u Hz, %u channels.", n->spec.name, f.rate, f.channels);
        if (keep)
                node_pick_feed(n);
        node_ensure_accesses(n);
}

static void on_param_changed(void *data, uint32_t id, const struct spa_pod *param) {
        if (id == SPA_PARAM_Format)
                on_format(data, param);
}

static void on_state_changed(void *data, enum pw_stream_state old, enum pw_stream_state state, const char *error) {
        Node *n = data;
        uint32_t id = pw_stream_get_node_id(n->stream);

        log_debug("%s: %s -> %s%s%s", n->spec.name, pw_stream_state_as_string(old), pw_stream_state_as_string(state),
                  error ? ": " : "", strempty(error));
        if (state == PW_STREAM_STATE_ERROR)
                log_error("%s: the PipeWire stream failed: %s", n->spec.name, strempty(error));
        if (id != SPA_ID_INVALID && n->id == SPA_ID_INVALID) {
                n->id = id;
                log_info("%s: published as PipeWire node %u (%s).", n->spec.name, id, n->spec.label);
                n->handlers.bound(n, id, n->userdata);
        }
}

static void on_add_buffer(void *data, struct pw_buffer *b) {
        feed_add_buffer(((Node *) data)->feed, b);
}

static void on_remove_buffer(void *data, struct pw_buffer *b) {
        feed_remove_buffer(((Node *) data)->feed, b);
}

static void on_process(void *data) {
        feed_process(((Node *) data)->feed);
}

static const struct pw_stream_events stream_events = {
        PW_VERSION_STREAM_EVENTS,
        .state_changed = on_state_changed,
        .param_changed = on_param_changed,
        .add_buffer = on_add_buffer,
        .remove_buffer = on_remove_buffer,
        .process = on_process,
};

static void on_feed_ended(Feed *f, MgTrack *track, const char *reason, void *userdata) {
        Node *n = userdata;

        log_info("%s: the mediagate stream ended (%s).", n->spec.name, reason);
        /* The daemon ended the track (revoked, device removed, ...): its app is turned away now,
         * even before the track's Ended signal arrives. A stream that closed for another reason
         * is opened again. */
        if (!streq(reason, "stopped") && !streq(reason, "disconnected") && !streq(reason, "error"))
                for (size_t i = 0; i < n->n_accesses; i++)
                        if (access_get_track(n->accesses[i]) == track) {
                                char message[REASON_MAX];

                                snprintf(message, sizeof message, "mediagate: the track ended: %s", reason);
                                reject_app(n, access_get_app_id(n->accesses[i]), -ECONNRESET, message);
                                break;
                        }
        node_pick_feed(n);
        node_update_gate(n);
}

static struct pw_properties *node_properties(const SourceSpec *s) {
        bool camera = s->kind == SOURCE_CAMERA;
        struct pw_properties *props;

        props = pw_properties_new(
                PW_KEY_MEDIA_TYPE, camera ? "Video" : "Audio",
                PW_KEY_MEDIA_CATEGORY, "Capture",
                PW_KEY_MEDIA_CLASS, camera ? "Video/Source" : "Audio/Source",
                PW_KEY_NODE_NAME, s->name,
                PW_KEY_NODE_DESCRIPTION, s->label,
                PW_KEY_NODE_NICK, s->label,
                PW_KEY_APP_NAME, "mediagate-pipewire",
                "mediagate.device-id", s->device_id,
                NULL);
        /* What the Camera portal and WirePlumber look for to find cameras. */
        if (props && camera)
                pw_properties_set(props, PW_KEY_MEDIA_ROLE, "Camera");
        /* A microphone follows the graph's clock, in cycles of one 10 ms period (mediagate's). */
        if (props && !camera)
                pw_properties_setf(props, PW_KEY_NODE_LATENCY, "%u/%u", formats_audio_rate(s) / 100,
                                   formats_audio_rate(s));
        return props;
}

static int spec_copy(const SourceSpec *from, SourceSpec *to) {
        *to = *from;
        to->device_id = strdup(from->device_id);
        to->label = strdup(from->label);
        to->name = strdup(from->name);
        return to->device_id && to->label && to->name ? 0 : -ENOMEM;
}

static int node_connect(Node *n) {
        uint8_t space[2048];
        struct spa_pod_builder b = SPA_POD_BUILDER_INIT(space, sizeof(space));
        const struct spa_pod *params[FORMATS_MAX];
        enum pw_stream_flags flags;
        int k;

        k = formats_enum(&n->spec, NULL, &b, params);
        if (k < 0)
                return k;
        /* A camera's buffers are ours to give (the pool's slots), and it drives its consumers: a
         * cycle runs when mediagate delivered a frame. A microphone's sound goes through the
         * stream's converter, in PipeWire's buffers, at the pace of the graph's clock. */
        flags = n->spec.kind == SOURCE_CAMERA ? PW_STREAM_FLAG_DRIVER | PW_STREAM_FLAG_ALLOC_BUFFERS
                                              : PW_STREAM_FLAG_MAP_BUFFERS;
        return pw_stream_connect(n->stream, PW_DIRECTION_OUTPUT, PW_ID_ANY, flags, params, (uint32_t) k);
}

int node_new(struct pw_core *core, sd_event *event, MgClient *client, const SourceSpec *spec,
             const NodeHandlers *handlers, void *userdata, Node **ret) {
        static const FeedHandlers feed_handlers = { .ended = on_feed_ended };
        Node *n;
        int r;

        n = new0(Node, 1);
        if (!n)
                return -ENOMEM;
        n->client = mg_client_ref(client);
        n->event = sd_event_ref(event);
        n->handlers = *handlers;
        n->userdata = userdata;
        n->id = SPA_ID_INVALID;
        r = spec_copy(spec, &n->spec);
        if (r >= 0) {
                n->stream = pw_stream_new(core, n->spec.name, node_properties(&n->spec));
                if (!n->stream)
                        r = -errno ?: -ENOMEM;
        }
        if (r >= 0)
                r = feed_new(event, n->stream, &feed_handlers, n, &n->feed);
        if (r >= 0) {
                pw_stream_add_listener(n->stream, &n->listener, &stream_events, n);
                r = node_connect(n);
        }
        if (r < 0) {
                node_free(n);
                return r;
        }
        *ret = n;
        return 0;
}

Node *node_free(Node *n) {
        if (!n)
                return NULL;
        if (n->feed)
                remove_all_accesses(n);
        /* With the listener still on, the feed sees its buffers go before it goes. */
        if (n->stream)
                pw_stream_destroy(n->stream);
        feed_free(n->feed);
        for (size_t i = 0; i < n->n_consumers; i++)
                free(n->consumers[i].app_id);
        free(n->consumers);
        free(n->accesses);
        free(n->spec.device_id);
        free(n->spec.label);
        free(n->spec.name);
        mg_client_unref(n->client);
        sd_event_unref(n->event);
        free(n);
        return NULL;
}

uint32_t node_get_id(const Node *n) {
        return n->id;
}

const SourceSpec *node_get_spec(const Node *n) {
        return &n->spec;
}

const FeedStats *node_get_stats(const Node *n) {
        return feed_get_stats(n->feed);
}
