/* libFuzzer harness for the daemon's shared pools (daemon/stream-group.c, wire format version 2):
 * the input is a script in which up to four clients of one group do what they like on their
 * control sockets (RELEASEs of any slot and generation, garbage, fds, hang-ups, holding frames)
 * while frames of any geometry are pushed, streams join, end and are freed, are muted, disabled
 * and moved to another format. Each client checks what the wire format promises: messages are
 * well formed; a POOL comes with exactly one fd, a sealed memfd large enough, and a newer
 * generation; a slot the client holds never changes until it releases it; a pool the client was
 * moved away from never changes again; and once a stream ended or closed, nothing in any mapping
 * it has changes again, whatever the others do. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "log.h"
#include "mediagate-wire.h"
#include "scale.h"
#include "stream-group.h"
#include "stream.h"
#include "util.h"

#define OPS_MAX 384
#define CLIENTS_MAX 4
#define MAPS_MAX 24
#define SOURCE_MAX (256 * 192 * 2)

static uint8_t source[SOURCE_MAX];
static bool debug;

typedef struct Map {
        const uint8_t *p;
        size_t size;
        uint64_t frozen_hash; /* valid when frozen */
        bool frozen;          /* moved away from, or the stream ended: must never change */
} Map;

typedef struct Client {
        Stream *stream;
        StreamGroup *group; /* the group it is in, as far as the harness knows */
        int fd;
        bool used, eof, ended, broken_by_us, closed_cb;
        uint64_t generation;
        uint32_t slots, slot_size;
        Map maps[MAPS_MAX];
        size_t n_maps;
        uint64_t held;               /* slots of the current map held: FRAME read, no RELEASE sent */
        uint64_t held_hash[64];
        uint32_t held_bytes[64];
        unsigned n_frames;
} Client;

static Client clients[CLIENTS_MAX];
static StreamGroup *groups[2];
static sd_event *event;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        if (!getenv("MEDIAGATE_FUZZ_LOG"))
                log_set_max_level(-1);
        debug = getenv("MEDIAGATE_FUZZ_DEBUG");
        for (size_t i = 0; i < sizeof(source); i++)
                source[i] = (uint8_t) (i * 13 + (i >> 9));
        return 0;
}

static Map *current_map(Client *c) {
        return c->n_maps > 0 ? &c->maps[c->n_maps - 1] : NULL;
}

static void freeze(Map *m) {
        if (!m->frozen) {
                m->frozen = true;
                m->frozen_hash = fuzz_hash(m->p, m->size);
        }
}

static void check_maps(const Client *c) {
        for (size_t i = 0; i < c->n_maps; i++)
                if (c->maps[i].frozen && fuzz_hash(c->maps[i].p, c->maps[i].size) != c->maps[i].frozen_hash) {
                        fprintf(stderr, "a pool that must never change again (map %zu of %zu of client %zu) changed\n",
                                i, c->n_maps, (size_t) (c - clients));
                        abort();
                }
}

/* Map a pool fd the daemon gave: it must be a sealed memfd of at least slots * slot_size. */
static void map_pool(Client *c, int fd, uint32_t slots, uint32_t slot_size) {
        struct stat st;
        int seals = fcntl(fd, F_GET_SEALS);
        size_t size = (size_t) slots * slot_size;
        void *p;

        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t) st.st_size < size || seals < 0 ||
            (seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)) !=
                    (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)) {
                fprintf(stderr, "a pool that is not a sealed memfd of %zu bytes\n", size);
                abort();
        }
        if (c->n_maps == MAPS_MAX) {
                /* Many moves: check the oldest pool a last time and let it go. */
                check_maps(c);
                munmap((void *) c->maps[0].p, c->maps[0].size);
                memmove(c->maps, c->maps + 1, (MAPS_MAX - 1) * sizeof(Map));
                c->n_maps--;
        }
        p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
                abort();
        close(fd);
        c->maps[c->n_maps++] = (Map) { .p = p, .size = size };
        c->slots = slots;
        c->slot_size = slot_size;
        c->held = 0;
}

static void check_held(const Client *c) {
        const Map *m = c->n_maps > 0 ? &c->maps[c->n_maps - 1] : NULL;

        for (unsigned i = 0; m && i < c->slots; i++)
                if ((c->held & (UINT64_C(1) << i)) &&
                    fuzz_hash(m->p + (size_t) i * c->slot_size, c->held_bytes[i]) != c->held_hash[i]) {
                        fprintf(stderr, "slot %u changed while the client held it\n", i);
                        abort();
                }
}

static void check_all(void) {
        for (size_t i = 0; i < CLIENTS_MAX; i++)
                if (clients[i].used) {
                        check_maps(&clients[i]);
                        check_held(&clients[i]);
                }
}

/* Everything the daemon sent this client, held to the protocol. */
static void client_receive(Client *c) {
        while (c->used && !c->eof) {
                uint8_t buf[MG_WIRE_MESSAGE_SIZE + 1];
                union {
                        struct cmsghdr align;
                        uint8_t space[CMSG_SPACE(sizeof(int) * 4)];
                } control;
                struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                                     .msg_controllen = sizeof(control) };
                int fds[4], n_fds = 0;
                MgWireMessage m;
                ssize_t n;

                n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return;
                        if (errno == ECONNRESET && c->broken_by_us) {
                                c->eof = true;
                                break;
                        }
                        fprintf(stderr, "recv: %s\n", strerror(errno));
                        abort();
                }
                for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
                                for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int) && n_fds < 4; k++)
                                        memcpy(&fds[n_fds++], CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
                if (n == 0) {
                        if (n_fds > 0)
                                abort();
                        c->eof = true;
                        break;
                }
                if (c->ended || !mg_wire_decode(buf, (size_t) n, &m)) {
                        fprintf(stderr, "%s\n", c->ended ? "a message after ENDED" : "a malformed message");
                        abort();
                }
                if ((m.type == MG_WIRE_POOL) != (n_fds == 1) || n_fds > 1) {
                        fprintf(stderr, "message type %u with %d fds\n", m.type, n_fds);
                        abort();
                }
                switch (m.type) {
                case MG_WIRE_POOL:
                        if (m.sequence <= c->generation) {
                                fprintf(stderr, "POOL of generation %llu after %llu\n",
                                        (unsigned long long) m.sequence, (unsigned long long) c->generation);
                                abort();
                        }
                        c->generation = m.sequence;
                        if (debug)
                                fprintf(stderr, "  client %zu: POOL %llu\n", (size_t) (c - clients),
                                        (unsigned long long) m.sequence);
                        freeze(current_map(c)); /* never written again */
                        map_pool(c, fds[0], m.format[0], m.format[1]);
                        break;
                case MG_WIRE_FRAME:
                        if (m.slot >= c->slots || m.bytes > c->slot_size || (c->held & (UINT64_C(1) << m.slot))) {
                                fprintf(stderr, "FRAME for slot %u (%u bytes), held or out of range\n", m.slot,
                                        m.bytes);
                                abort();
                        }
                        c->held |= UINT64_C(1) << m.slot;
                        c->held_bytes[m.slot] = m.bytes;
                        c->held_hash[m.slot] = fuzz_hash(current_map(c)->p + (size_t) m.slot * c->slot_size, m.bytes);
                        c->n_frames++;
                        break;
                case MG_WIRE_ENDED:
                        c->ended = true;
                        break;
                case MG_WIRE_MUTED:
                case MG_WIRE_UNMUTED:
                case MG_WIRE_FORMAT:
                        break;
                default:
                        fprintf(stderr, "the daemon sent type %u\n", m.type);
                        abort();
                }
        }
        /* At EOF the stream is over: nothing it can see may change any more. */
        if (c->eof) {
                if (debug && c->n_maps > 0 && !c->maps[c->n_maps - 1].frozen)
                        fprintf(stderr, "  client %zu: EOF\n", (size_t) (c - clients));
                for (size_t i = 0; i < c->n_maps; i++)
                        freeze(&c->maps[i]);
        }
}

static void client_send(Client *c, const MgWireMessage *m, bool with_fd) {
        uint8_t buf[MG_WIRE_MESSAGE_SIZE];
        int fd = -1;

        mg_wire_encode(m, buf);
        if (with_fd && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
                abort();
        if (fuzz_send_fds(c->fd, buf, sizeof(buf), &fd, with_fd ? 1 : 0)) {
                bool good = !with_fd && m->type == MG_WIRE_RELEASE &&
                            (m->sequence < c->generation ||
                             (m->sequence == c->generation && m->slot < c->slots &&
                              (c->held & (UINT64_C(1) << m->slot))));

                if (!good)
                        c->broken_by_us = true;
                if (m->type == MG_WIRE_RELEASE && m->sequence == c->generation && m->slot < 64)
                        c->held &= ~(UINT64_C(1) << m->slot);
        }
        if (fd >= 0)
                close(fd);
}

static void on_closed(Stream *s, void *userdata) {
        Client *c = userdata;

        if (c->stream != s || c->closed_cb)
                abort();
        c->closed_cb = true;
}

static StreamConfig group_config(unsigned which) {
        StreamConfig cfg = {
                .kind = DEVICE_KIND_VIDEO,
                .fourcc = which ? PIXEL_FORMAT_NV12 : PIXEL_FORMAT_YUYV,
                .width = which ? 24 : 32,
                .height = which ? 16 : 24,
                .slot_size = 32 * 24 * 2 + 64,
        };
        return cfg;
}

static void client_open(Client *c, unsigned which, double rate) {
        StreamConfig cfg = group_config(which);
        int control, pool;

        if (!groups[which] && stream_group_new(event, &cfg, &groups[which]) < 0)
                abort();
        cfg.frame_rate = rate;
        *c = (Client) { .fd = -1 };
        if (stream_new_in_group(groups[which], &cfg, &c->stream, &control, &pool) < 0)
                abort();
        c->used = true;
        c->group = groups[which];
        c->fd = control;
        stream_set_closed_callback(c->stream, on_closed, c);
        map_pool(c, pool, STREAM_GROUP_SLOTS, (uint32_t) cfg.slot_size);
}

static void prune_groups(void) {
        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                if (groups[i] && stream_group_is_empty(groups[i]))
                        groups[i] = stream_group_free(groups[i]);
}

static void push(FuzzReader *r, uint64_t *ts) {
        uint8_t flags = fuzz_u8(r);
        Frame f = { .data = source, .sequence = fuzz_u32(r), .stamp = flags & 1, .tag = "fuzz" };
        size_t size;

        *ts += 1000000 + fuzz_u32(r) % 100000000u;
        f.timestamp_ns = *ts;
        f.fourcc = flags & 2 ? PIXEL_FORMAT_NV12 : PIXEL_FORMAT_YUYV;
        f.width = 2 * (16 + fuzz_u8(r) % 112);
        f.height = 16 + fuzz_u8(r) % 176;
        f.stride = f.fourcc == PIXEL_FORMAT_YUYV ? 2 * f.width : f.width;
        if (scale_source_size(f.fourcc, f.width, f.height, f.stride, &size) < 0 || size > sizeof(source))
                return;
        f.size = flags & 8 ? size / 2 : size; /* a short buffer now and then */
        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                if (groups[i])
                        stream_group_push_video(groups[i], &f, NULL);
}

static void run_loop(void) {
        for (int i = 0; i < 16; i++)
                if (sd_event_run(event, 0) <= 0)
                        break;
}

static void release_all(Client *c) {
        for (unsigned i = 0; i < c->slots && i < 64; i++)
                if (c->held & (UINT64_C(1) << i))
                        client_send(c, &(MgWireMessage) { .type = MG_WIRE_RELEASE, .slot = i, .sequence = c->generation },
                                    false);
}

static void client_done(Client *c) {
        if (c->stream)
                c->stream = stream_free(c->stream);
        prune_groups();
        client_receive(c);
        if (!c->eof && !c->broken_by_us) {
                fprintf(stderr, "a freed stream left its client without EOF\n");
                abort();
        }
        check_maps(c);
        safe_close(c->fd);
        for (size_t i = 0; i < c->n_maps; i++)
                munmap((void *) c->maps[i].p, c->maps[i].size);
        *c = (Client) { .fd = -1 };
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzReader r = { data, size, 0 };
        uint64_t ts = 1000000000;

        if (sd_event_new(&event) < 0)
                abort();
        client_open(&clients[0], 0, 0);
        client_open(&clients[1], 0, 0);

        for (unsigned op = 0; op < OPS_MAX && !fuzz_at_end(&r); op++) {
                uint8_t what = fuzz_u8(&r), arg = fuzz_u8(&r);
                Client *c = &clients[arg % CLIENTS_MAX];

                if (debug)
                        fprintf(stderr, "op %u on client %u\n", what % 12, arg % CLIENTS_MAX);
                switch (what % 12) {
                case 0:
                        push(&r, &ts);
                        break;
                case 1: /* a well-behaved client: read, release everything */
                        client_receive(c);
                        release_all(c);
                        break;
                case 2: { /* a RELEASE of any slot and generation */
                        uint8_t a = fuzz_u8(&r);
                        MgWireMessage m = { .type = MG_WIRE_RELEASE, .slot = a % 8,
                                            .sequence = a & 0x80 ? c->generation + (a >> 3) % 3 - 1 : c->generation };

                        client_receive(c);
                        if (c->used && !c->eof)
                                client_send(c, &m, false);
                        break;
                }
                case 3: { /* anything else, with or without an fd */
                        uint8_t a = fuzz_u8(&r);
                        MgWireMessage m = { .type = a % 20, .slot = fuzz_u8(&r) };

                        if (c->used && !c->eof)
                                client_send(c, &m, a & 0x80);
                        break;
                }
                case 4: /* read and hold */
                        client_receive(c);
                        break;
                case 5:
                        run_loop();
                        break;
                case 6: /* the daemon ends it (revoke, stop, device gone) */
                        if (c->stream)
                                stream_end(c->stream, fuzz_u8(&r) % 6);
                        prune_groups();
                        break;
                case 7:
                        if (c->used)
                                client_done(c);
                        break;
                case 8: { /* a new stream joins */
                        uint8_t which = fuzz_u8(&r), rate = fuzz_u8(&r);

                        if (!c->used)
                                client_open(c, which & 1, (double) (rate % 40));
                        break;
                }
                case 9: { /* mute, unmute, disable, enable */
                        uint8_t a = fuzz_u8(&r);

                        if (!c->stream)
                                break;
                        if (a & 1)
                                stream_set_muted(c->stream, a & 2);
                        else
                                stream_set_enabled(c->stream, a & 2);
                        break;
                }
                case 10: { /* ApplyConstraints: to the other group */
                        unsigned which = c->group == groups[0] ? 1 : 0;
                        StreamConfig cfg = group_config(which);

                        if (!c->stream || !stream_is_open(c->stream))
                                break;
                        if (!groups[which] && stream_group_new(event, &cfg, &groups[which]) < 0)
                                abort();
                        if (stream_move_to_group(c->stream, groups[which]) >= 0)
                                c->group = groups[which];
                        prune_groups();
                        break;
                }
                case 11: /* the client hangs up its sending side */
                        if (c->used && !c->eof && shutdown(c->fd, SHUT_WR) == 0)
                                c->broken_by_us = true;
                        break;
                }
                check_all();
        }

        run_loop();
        for (size_t i = 0; i < CLIENTS_MAX; i++) {
                client_receive(&clients[i]);
                check_all();
        }
        for (size_t i = 0; i < CLIENTS_MAX; i++)
                if (clients[i].used) {
                        if (debug)
                                fprintf(stderr, "client %zu: %u frames, %zu pools\n", i, clients[i].n_frames,
                                        clients[i].n_maps);
                        client_done(&clients[i]);
                }
        prune_groups();
        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                if (groups[i])
                        abort(); /* a group outlived its streams */
        event = sd_event_unref(event);
        return 0;
}
