/* Who consumes the bridge's nodes (see consumers.h). Links, nodes and clients are kept as the
 * registry announces them; a client is bound (to read its properties) only once one of its nodes
 * is linked to ours. */
#include <pipewire/pipewire.h>

#include "consumer-id.h"
#include "consumers.h"
#include "log.h"

typedef struct NodeEntry {
        Consumers *owner;
        uint32_t id, client_id;
        /* Bound (like clients) only when linked to ours: client.api is in the node's info, not
         * in what the registry announces. */
        struct pw_proxy *proxy;
        struct spa_hook listener;
        bool have_info;
        bool fixed_buffers;
} NodeEntry;

/* PipeWire's V4L2 emulation: the app maps the buffers once, after REQBUFS. */
#define CLIENT_API_V4L2 "v4l2"

typedef struct LinkEntry {
        uint32_t id, output_node, input_node;
        bool reported;
} LinkEntry;

typedef struct ClientEntry {
        Consumers *owner;
        uint32_t id;
        struct pw_proxy *proxy;
        struct spa_hook listener;
        bool have_info;
        char *app_id;
        int error;
} ClientEntry;

/* A growable array of pointers; the registry of a desktop holds hundreds of objects at most. */
typedef struct Table {
        void **items;
        size_t n, allocated;
} Table;

struct Consumers {
        struct pw_core *core;
        struct pw_registry *registry;
        struct spa_hook registry_listener;
        Table nodes, links, clients;
        ConsumersHandlers handlers;
        void *userdata;
};

static int table_add(Table *t, void *item) {
        if (t->n == t->allocated) {
                size_t n = MAX(t->allocated * 2, (size_t) 16);
                void **items = realloc(t->items, n * sizeof(void *));

                if (!items)
                        return -ENOMEM;
                t->items = items;
                t->allocated = n;
        }
        t->items[t->n++] = item;
        return 0;
}

/* Remove entry i (the last one takes its place) and return it. */
static void *table_take(Table *t, size_t i) {
        void *item = t->items[i];

        t->items[i] = t->items[--t->n];
        return item;
}

/* The entry of a table whose uint32_t id sits at id_offset in each entry. */
static void *table_find(const Table *t, size_t id_offset, uint32_t id, size_t *index) {
        for (size_t i = 0; i < t->n; i++)
                if (*(const uint32_t *) ((const uint8_t *) t->items[i] + id_offset) == id) {
                        if (index)
                                *index = i;
                        return t->items[i];
                }
        return NULL;
}

static NodeEntry *find_node(Consumers *c, uint32_t id, size_t *index) {
        return table_find(&c->nodes, offsetof(NodeEntry, id), id, index);
}

static LinkEntry *find_link(Consumers *c, uint32_t id, size_t *index) {
        return table_find(&c->links, offsetof(LinkEntry, id), id, index);
}

static ClientEntry *find_client(Consumers *c, uint32_t id, size_t *index) {
        return table_find(&c->clients, offsetof(ClientEntry, id), id, index);
}

static void node_entry_free(NodeEntry *n) {
        if (!n)
                return;
        if (n->proxy) {
                spa_hook_remove(&n->listener);
                pw_proxy_destroy(n->proxy);
        }
        free(n);
}

static void client_entry_free(ClientEntry *e) {
        if (!e)
                return;
        if (e->proxy) {
                spa_hook_remove(&e->listener);
                pw_proxy_destroy(e->proxy);
        }
        free(e->app_id);
        free(e);
}

static void link_evaluate(Consumers *c, LinkEntry *l);

static void consumers_evaluate_all(Consumers *c) {
        for (size_t i = 0; i < c->links.n; i++)
                link_evaluate(c, c->links.items[i]);
}

static void on_client_info(void *data, const struct pw_client_info *info) {
        ClientEntry *e = data;

        if (e->have_info || !info->props)
                return;
        e->have_info = true;
        e->error = consumer_app_id(info->props, &e->app_id);
        if (e->error < 0)
                log_warning_errno(e->error, "Cannot tell which app PipeWire client %u is: %m", e->id);
        else
                log_debug("PipeWire client %u is %s.", e->id, e->app_id);
        consumers_evaluate_all(e->owner);
}

static const struct pw_client_events client_events = {
        PW_VERSION_CLIENT_EVENTS,
        .info = on_client_info,
};

static void on_node_info(void *data, const struct pw_node_info *info) {
        NodeEntry *n = data;
        const char *api;

        if (n->have_info || !info->props)
                return;
        n->have_info = true;
        api = spa_dict_lookup(info->props, PW_KEY_CLIENT_API);
        n->fixed_buffers = api && streq(api, CLIENT_API_V4L2);
        consumers_evaluate_all(n->owner);
}

static const struct pw_node_events node_events = {
        PW_VERSION_NODE_EVENTS,
        .info = on_node_info,
};

static int client_bind(Consumers *c, ClientEntry *e) {
        e->proxy = pw_registry_bind(c->registry, e->id, PW_TYPE_INTERFACE_Client, PW_VERSION_CLIENT, 0);
        if (!e->proxy)
                return -errno ?: -ENOMEM;
        pw_client_add_listener((struct pw_client *) e->proxy, &e->listener, &client_events, e);
        return 0;
}

/* Report a link out of one of our nodes once its consumer's app id is known (or known to be
 * unknowable). */
static void link_evaluate(Consumers *c, LinkEntry *l) {
        NodeEntry *n;
        ClientEntry *e;

        if (l->reported || !c->handlers.is_ours(l->output_node, c->userdata))
                return;
        n = find_node(c, l->input_node, NULL);
        if (!n)
                return; /* announced before its node: evaluated again when that comes */
        e = find_client(c, n->client_id, NULL);
        if (!e) {
                /* A node without a client of its own is one the server made (a module's). */
                log_debug("Link %u feeds node %u of unknown client %u.", l->id, n->id, n->client_id);
                return;
        }
        if (!e->proxy && client_bind(c, e) < 0) {
                e->have_info = true;
                e->error = -EIO;
        }
        if (!n->proxy) {
                n->proxy = pw_registry_bind(c->registry, n->id, PW_TYPE_INTERFACE_Node, PW_VERSION_NODE, 0);
                if (n->proxy)
                        pw_node_add_listener((struct pw_node *) n->proxy, &n->listener, &node_events, n);
                else
                        n->have_info = true; /* gone already: its link goes too */
        }
        if (!e->have_info || !n->have_info)
                return;

        l->reported = true;
        c->handlers.added(&(ConsumerInfo) {
                .link_id = l->id,
                .node_id = l->output_node,
                .input_node_id = l->input_node,
                .client_id = e->id,
                .app_id = e->app_id,
                .fixed_buffers = n->fixed_buffers,
                .error = e->error,
        }, c->userdata);
}

static uint32_t props_u32(const struct spa_dict *props, const char *key) {
        const char *s = props ? spa_dict_lookup(props, key) : NULL;
        uint32_t v;

        return s && safe_atou32(s, &v) >= 0 ? v : SPA_ID_INVALID;
}

static int add_global(Consumers *c, uint32_t id, const char *type, const struct spa_dict *props) {
        if (streq(type, PW_TYPE_INTERFACE_Node)) {
                NodeEntry *n = new0(NodeEntry, 1);

                if (!n)
                        return -ENOMEM;
                *n = (NodeEntry) { .owner = c, .id = id, .client_id = props_u32(props, PW_KEY_CLIENT_ID) };
                if (table_add(&c->nodes, n) < 0) {
                        free(n);
                        return -ENOMEM;
                }
                return 1;
        }
        if (streq(type, PW_TYPE_INTERFACE_Link)) {
                LinkEntry *l = new0(LinkEntry, 1);

                if (!l)
                        return -ENOMEM;
                *l = (LinkEntry) {
                        .id = id,
                        .output_node = props_u32(props, PW_KEY_LINK_OUTPUT_NODE),
                        .input_node = props_u32(props, PW_KEY_LINK_INPUT_NODE),
                };
                if (table_add(&c->links, l) < 0) {
                        free(l);
                        return -ENOMEM;
                }
                link_evaluate(c, l);
                return 0;
        }
        if (streq(type, PW_TYPE_INTERFACE_Client)) {
                ClientEntry *e = new0(ClientEntry, 1);

                if (!e)
                        return -ENOMEM;
                *e = (ClientEntry) { .owner = c, .id = id };
                if (table_add(&c->clients, e) < 0) {
                        free(e);
                        return -ENOMEM;
                }
        }
        return 0;
}

static void on_global(void *data, uint32_t id, uint32_t permissions, const char *type, uint32_t version,
                      const struct spa_dict *props) {
        Consumers *c = data;
        int r;

        r = add_global(c, id, type, props);
        if (r < 0)
                log_error_errno(r, "Cannot keep track of PipeWire object %u: %m", id);
        else if (r > 0)
                consumers_evaluate_all(c); /* a node: links announced before it may now resolve */
}

static void on_global_remove(void *data, uint32_t id) {
        Consumers *c = data;
        size_t i;

        if (find_link(c, id, &i)) {
                LinkEntry *l = table_take(&c->links, i);

                if (l->reported)
                        c->handlers.removed(l->id, l->output_node, c->userdata);
                free(l);
        } else if (find_node(c, id, &i))
                node_entry_free(table_take(&c->nodes, i));
        else if (find_client(c, id, &i))
                client_entry_free(table_take(&c->clients, i));
}

static const struct pw_registry_events registry_events = {
        PW_VERSION_REGISTRY_EVENTS,
        .global = on_global,
        .global_remove = on_global_remove,
};

int consumers_new(struct pw_core *core, const ConsumersHandlers *handlers, void *userdata, Consumers **ret) {
        Consumers *c;

        c = new0(Consumers, 1);
        if (!c)
                return -ENOMEM;
        c->core = core;
        c->handlers = *handlers;
        c->userdata = userdata;
        c->registry = pw_core_get_registry(core, PW_VERSION_REGISTRY, 0);
        if (!c->registry) {
                free(c);
                return -errno ?: -ENOMEM;
        }
        pw_registry_add_listener(c->registry, &c->registry_listener, &registry_events, c);
        *ret = c;
        return 0;
}

Consumers *consumers_free(Consumers *c) {
        if (!c)
                return NULL;
        spa_hook_remove(&c->registry_listener);
        pw_proxy_destroy((struct pw_proxy *) c->registry);
        for (size_t i = 0; i < c->clients.n; i++)
                client_entry_free(c->clients.items[i]);
        for (size_t i = 0; i < c->nodes.n; i++)
                node_entry_free(c->nodes.items[i]);
        for (size_t i = 0; i < c->links.n; i++)
                free(c->links.items[i]);
        free(c->clients.items);
        free(c->nodes.items);
        free(c->links.items);
        free(c);
        return NULL;
}

void consumers_rescan(Consumers *c) {
        consumers_evaluate_all(c);
}

int consumers_reject(Consumers *c, uint32_t link_id, int res, const char *message) {
        LinkEntry *l = find_link(c, link_id, NULL);
        NodeEntry *n;
        ClientEntry *e;

        if (!l)
                return -ENOENT;
        n = find_node(c, l->input_node, NULL);
        e = n ? find_client(c, n->client_id, NULL) : NULL;
        /* The error goes to whatever the client bound of its node: its stream, which fails. */
        if (e && e->proxy)
                pw_client_error((struct pw_client *) e->proxy, l->input_node, res, message);
        pw_registry_destroy(c->registry, link_id);
        return 0;
}
