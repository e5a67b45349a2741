/* One published PipeWire node: a camera (Video/Source, media.role Camera) or a microphone
 * (Audio/Source) of mediagate. It asks mediagated for a track on behalf of each consuming app once
 * a consumer has linked and a format is negotiated, lets frames flow while every consumer's app is
 * allowed, turns away consumers whose app is denied or revoked, and stops the tracks when the last
 * consumer is gone. */
#pragma once

#include <pipewire/core.h>
#include <systemd/sd-event.h>

#include "consumers.h"
#include "feed.h"
#include "mediagate.h"
#include "sources.h"

typedef struct Node Node;

typedef struct NodeHandlers {
        /* The node has its PipeWire id. */
        void (*bound)(Node *n, uint32_t node_id, void *userdata);
        /* Turn this consumer away with this error. */
        void (*reject)(Node *n, uint32_t link_id, int res, const char *message, void *userdata);
} NodeHandlers;

int node_new(struct pw_core *core, sd_event *event, MgClient *client, const SourceSpec *spec,
             const NodeHandlers *handlers, void *userdata, Node **ret);
Node *node_free(Node *n);

uint32_t node_get_id(const Node *n); /* SPA_ID_INVALID until bound */
const SourceSpec *node_get_spec(const Node *n);
const FeedStats *node_get_stats(const Node *n);

void node_consumer_added(Node *n, const ConsumerInfo *c);
void node_consumer_removed(Node *n, uint32_t link_id);
