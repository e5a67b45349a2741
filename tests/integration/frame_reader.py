"""A stream reader in a process of its own, for tests that need several clients reading at full
rate (one Python process cannot keep four 1080p30 streams while it also times bus calls). It is
given the stream's fds and format, releases every frame at once, checks each frame's byte stamp
against its FRAME message and, every `--code-every` frames, the frame code drawn into the picture
of a synthetic MJPEG camera (examples/synthetic-devices.conf: 32 x 11 cells of black or white,
16 rows high and (width / 32) rounded down to a multiple of 8 wide, from row 16, holding the
40-byte stamp and its CRC-32), and prints what it saw as JSON when its time is up.

    frame_reader.py CONTROL_FD POOL_FD FORMAT_JSON SECONDS [--code-every N]
"""

import json
import mmap
import socket
import struct
import sys
import time
import zlib

WIRE = struct.Struct("<IIQQIIQI4I4x")
STAMP = struct.Struct("<8sQQ16s")
FRAME, ENDED, RELEASE = 1, 5, 16

CODE_COLUMNS, CODE_ROWS, CODE_CELL_HEIGHT, CODE_TOP = 32, 11, 16, 16
CODE_BYTES = 44


def read_frame_code(pool, offset, width, height, stride):
    """The stamp drawn as cells in a picture's luma (NV12: the first plane; stride bytes a row),
    or None when there is no valid code."""
    cell = (width // CODE_COLUMNS) & ~7
    if cell < 8 or height < CODE_TOP + CODE_ROWS * CODE_CELL_HEIGHT:
        return None
    bits = []
    # Four points of each cell's middle half, away from the ringing of its edges.
    xs = [cell // 4 + i * (cell // 2) // 4 for i in range(4)]
    ys = [CODE_CELL_HEIGHT // 4 + i * (CODE_CELL_HEIGHT // 2) // 4 for i in range(4)]
    for bit in range(CODE_BYTES * 8):
        x0 = (bit % CODE_COLUMNS) * cell
        y0 = CODE_TOP + (bit // CODE_COLUMNS) * CODE_CELL_HEIGHT
        total = 0
        for y in ys:
            row = offset + (y0 + y) * stride + x0
            for x in xs:
                total += pool[row + x]
        bits.append(total > 16 * (16 + 235) // 2)
    data = bytes(sum(bits[8 * i + b] << b for b in range(8)) for i in range(CODE_BYTES))
    stamp, crc = data[:40], struct.unpack("<I", data[40:])[0]
    if stamp[:8] != b"MGFRAME\0" or zlib.crc32(stamp) != crc:
        return None
    return stamp


def main():
    control = socket.socket(fileno=int(sys.argv[1]))
    pool_fd = int(sys.argv[2])
    fmt = json.loads(sys.argv[3])
    seconds = float(sys.argv[4])
    code_every = int(sys.argv[6]) if len(sys.argv) > 6 and sys.argv[5] == "--code-every" else 0
    pool = mmap.mmap(pool_fd, fmt["slots"] * fmt["slot_size"], mmap.MAP_SHARED, mmap.PROT_READ)

    seen = []
    dropped = stamp_errors = codes_checked = code_errors = 0
    ended = False
    control.settimeout(2.0)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        data = control.recv(4096)
        if not data:
            ended = True
            break
        t, slot, seq, ts, nbytes, flags, dropped_so_far, reason, *_ = WIRE.unpack(data)
        if t == ENDED:
            ended = True
            break
        if t != FRAME:
            continue
        offset = slot * fmt["slot_size"]
        magic, stamp_seq, stamp_ts, _ = STAMP.unpack_from(pool, offset)
        if magic != b"MGFRAME\0" or stamp_seq != seq or stamp_ts != ts:
            stamp_errors += 1
        if code_every and len(seen) % code_every == 0:
            codes_checked += 1
            code = read_frame_code(pool, offset, fmt["width"], fmt["height"], fmt["stride"])
            if code is None or code != bytes(pool[offset:offset + 40]):
                code_errors += 1
        seen.append(seq)
        dropped = dropped_so_far
        control.send(WIRE.pack(RELEASE, slot, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    gaps = [(a, b) for a, b in zip(seen, seen[1:]) if b != a + 1]
    print(json.dumps({
        "frames": len(seen), "first": seen[0] if seen else None, "last": seen[-1] if seen else None,
        "gaps": gaps[:20], "dropped": dropped, "stamp_errors": stamp_errors,
        "codes_checked": codes_checked, "code_errors": code_errors, "ended": ended,
    }))


if __name__ == "__main__":
    main()
