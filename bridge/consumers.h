/* Who consumes the bridge's nodes: the PipeWire registry watched for links out of them, each
 * link's consumer node, that node's client and the client's app id. Reported through handlers;
 * a consumer can be turned away (an error on its stream, its link destroyed). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <pipewire/core.h>

typedef struct Consumers Consumers;

typedef struct ConsumerInfo {
        uint32_t link_id;
        uint32_t node_id;        /* ours: the link's output */
        uint32_t input_node_id;  /* the consumer's node */
        uint32_t client_id;      /* the consumer's client */
        const char *app_id;      /* NULL when it could not be established (then error < 0) */
        bool fixed_buffers;      /* it cannot take new buffers once it has some (pw-v4l2's
                                  * emulated device: the app mapped them) */
        int error;
} ConsumerInfo;

typedef struct ConsumersHandlers {
        /* Whether node_id is one of the bridge's published nodes. */
        bool (*is_ours)(uint32_t node_id, void *userdata);
        void (*added)(const ConsumerInfo *c, void *userdata);
        void (*removed)(uint32_t link_id, uint32_t node_id, void *userdata);
} ConsumersHandlers;

int consumers_new(struct pw_core *core, const ConsumersHandlers *handlers, void *userdata, Consumers **ret);
Consumers *consumers_free(Consumers *c);

/* Look at every known link again (a node became ours after its links were announced). */
void consumers_rescan(Consumers *c);

/* Turn a consumer away: its stream gets the error (res, message) and its link is destroyed, so
 * that nothing reaches it any more. */
int consumers_reject(Consumers *c, uint32_t link_id, int res, const char *message);
