/* mediagate stream wire format: the messages on a track's control socket.
 *
 * Track.Open() gives a client two fds: a sealed, read-only memfd "pool" of `slots` buffers of
 * `slot_size` bytes each (slot i starts at offset i * slot_size), and a SOCK_SEQPACKET "control"
 * socket. Every message in either direction is exactly MG_WIRE_MESSAGE_SIZE (64) bytes, all
 * fields little-endian, at these offsets:
 *
 *   offset size field         used by
 *        0    4 type          all (MG_WIRE_*)
 *        4    4 slot          FRAME, RELEASE: the slot index
 *        8    8 sequence      FRAME: frame sequence of the source (gaps = frames not delivered);
 *                             POOL: the new pool's generation (1, 2, ...; the pool of the
 *                             OpenStream reply is generation 0); RELEASE (version 2): the
 *                             generation of the pool the slot belongs to
 *       16    8 timestamp_ns  FRAME: capture time, CLOCK_MONOTONIC
 *       24    4 bytes         FRAME: bytes of the slot holding this frame
 *       28    4 flags         FRAME: MG_FRAME_FLAG_*
 *       32    8 dropped       FRAME: frames dropped so far for this stream (client held every slot)
 *       40    4 reason        ENDED: MG_ENDED_*
 *       44   16 format[4]     FORMAT: video width, height, stride, frame_size;
 *                                     audio rate, channels, frames_per_slot, 0;
 *                             POOL: slots, slot_size, 0, 0
 *       60    4 reserved      0
 *
 * Daemon to client: FRAME (a slot now holds a frame; the client owns it until it sends RELEASE),
 * MUTED / UNMUTED (the source is muted: no frames until UNMUTED), FORMAT (the settings changed
 * after ApplyConstraints; later frames use the new format), ENDED (the track ended; the daemon
 * then shuts the socket down and never writes that pool again), POOL (version 2 only: the stream
 * moves to the pool whose fd comes with the message as SCM_RIGHTS; from here on slot numbers refer
 * to it, the client holds none of its slots, and the old pool is never written again).
 * Client to daemon: RELEASE (done with a slot). The daemon writes only into slots the client has
 * released (all slots start released), so a frame is never torn; when the client holds every slot
 * (version 2: max_held slots), frames for it are dropped and counted in `dropped`. A version-2
 * RELEASE names the pool generation of its slot, so that a RELEASE crossing a POOL on the wire is
 * recognised as one for the old pool (and ignored) rather than taken for a slot of the new one.
 *
 * This header is pure and self-contained; the daemon and libmediagate both use it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define MG_WIRE_MESSAGE_SIZE 64

enum {
        MG_WIRE_FRAME = 1,
        MG_WIRE_MUTED = 2,
        MG_WIRE_UNMUTED = 3,
        MG_WIRE_FORMAT = 4,
        MG_WIRE_ENDED = 5,
        MG_WIRE_POOL = 6,
        MG_WIRE_RELEASE = 16,
};

/* Wire format versions: Track.Open() speaks 1 (a pool per stream), Track.OpenStream() 1 or 2
 * (pools shared by the streams of one device and output format, POOL messages, max_held). */
enum {
        MG_WIRE_VERSION_1 = 1,
        MG_WIRE_VERSION_2 = 2,
};

enum {
        MG_FRAME_FLAG_BLACK = 1u << 0, /* disabled track: black video or silence */
};

/* Why a track ended (ENDED.reason); the names match Track.Ended(s reason). */
enum {
        MG_ENDED_STOPPED = 0,        /* Track.Stop() or the client's own close */
        MG_ENDED_REVOKED = 1,        /* "revoked" */
        MG_ENDED_DEVICE_REMOVED = 2, /* "device-removed" */
        MG_ENDED_DEVICE_ERROR = 3,   /* "device-error" */
        MG_ENDED_POLICY = 4,         /* "policy" */
        MG_ENDED_SHUTDOWN = 5,       /* the daemon is stopping */
};

typedef struct MgWireMessage {
        uint32_t type;
        uint32_t slot;
        uint64_t sequence;
        uint64_t timestamp_ns;
        uint32_t bytes;
        uint32_t flags;
        uint64_t dropped;
        uint32_t reason;
        uint32_t format[4];
} MgWireMessage;

static inline void mg_wire_put32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}
static inline void mg_wire_put64(uint8_t *p, uint64_t v) {
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}
static inline uint32_t mg_wire_get32(const uint8_t *p) {
        uint32_t v = 0;
        for (int i = 0; i < 4; i++)
                v |= (uint32_t) p[i] << (8 * i);
        return v;
}
static inline uint64_t mg_wire_get64(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

static inline void mg_wire_encode(const MgWireMessage *m, uint8_t buf[MG_WIRE_MESSAGE_SIZE]) {
        memset(buf, 0, MG_WIRE_MESSAGE_SIZE);
        mg_wire_put32(buf + 0, m->type);
        mg_wire_put32(buf + 4, m->slot);
        mg_wire_put64(buf + 8, m->sequence);
        mg_wire_put64(buf + 16, m->timestamp_ns);
        mg_wire_put32(buf + 24, m->bytes);
        mg_wire_put32(buf + 28, m->flags);
        mg_wire_put64(buf + 32, m->dropped);
        mg_wire_put32(buf + 40, m->reason);
        for (int i = 0; i < 4; i++)
                mg_wire_put32(buf + 44 + 4 * i, m->format[i]);
}

/* Decode one received message. Returns false for a message of the wrong size or an
 * unknown type; the caller treats that as a protocol error. */
static inline bool mg_wire_decode(const uint8_t *buf, size_t size, MgWireMessage *ret) {
        MgWireMessage m;

        if (size != MG_WIRE_MESSAGE_SIZE)
                return false;
        m.type = mg_wire_get32(buf + 0);
        m.slot = mg_wire_get32(buf + 4);
        m.sequence = mg_wire_get64(buf + 8);
        m.timestamp_ns = mg_wire_get64(buf + 16);
        m.bytes = mg_wire_get32(buf + 24);
        m.flags = mg_wire_get32(buf + 28);
        m.dropped = mg_wire_get64(buf + 32);
        m.reason = mg_wire_get32(buf + 40);
        for (int i = 0; i < 4; i++)
                m.format[i] = mg_wire_get32(buf + 44 + 4 * i);
        switch (m.type) {
        case MG_WIRE_FRAME:
        case MG_WIRE_MUTED:
        case MG_WIRE_UNMUTED:
        case MG_WIRE_FORMAT:
        case MG_WIRE_ENDED:
        case MG_WIRE_POOL:
        case MG_WIRE_RELEASE:
                break;
        default:
                return false;
        }
        *ret = m;
        return true;
}

static inline const char *mg_ended_reason_to_string(uint32_t reason) {
        switch (reason) {
        case MG_ENDED_STOPPED:
                return "stopped";
        case MG_ENDED_REVOKED:
                return "revoked";
        case MG_ENDED_DEVICE_REMOVED:
                return "device-removed";
        case MG_ENDED_DEVICE_ERROR:
                return "device-error";
        case MG_ENDED_POLICY:
                return "policy";
        case MG_ENDED_SHUTDOWN:
                return "shutdown";
        default:
                return "unknown";
        }
}
