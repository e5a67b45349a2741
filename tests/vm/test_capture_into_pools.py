"""vivid captured straight into the streams' pools (V4L2 USERPTR): two streams in the format
the camera delivers share one pool that the driver writes into, no copy between; when one of
them ends, the driver is made to stop writing into that pool before it writes another frame
(the ended stream's mapping never changes again) while the other moves to a fresh pool and
keeps getting the camera's frames."""

import hashlib
import os

import pytest

from conftest import REAL_BACKENDS_CONFIG, RealEnv
from mgclient import ENDED, FRAME, POOL, open_stream

# vivid's default capture format: YUYV, which streams get as it is (no conversion).
NATIVE = {"video": {"width": {"exact": 640}, "height": {"exact": 480}}}


@pytest.fixture
def native(daemon_factory, polkit, clients, agents, monkeypatch):
    # The backend says at debug level which buffers it captures into.
    monkeypatch.setenv("MEDIAGATE_LOG_LEVEL", "debug")
    env = RealEnv(daemon_factory(config=REAL_BACKENDS_CONFIG).start(), polkit, clients, agents)
    env.require("v4l2")
    env.agents("allow-once")
    return env


def video_track(env):
    client = env.clients()
    code, results = client.get_user_media(NATIVE)
    assert code == 0, results
    return client.track(results["tracks"][0])


def frame_of(stream, msg):
    start = msg["slot"] * stream.format["slot_size"]
    return bytes(stream.pool[start:start + msg["bytes"]])


def camera_lines(env):
    return [line for line in env.daemon.output().splitlines() if "Camera /dev/" in line or "apture" in line]


def next_camera_frame(env, stream):
    """The next FRAME (its slot released again), skipping a POOL move; its bytes."""
    while True:
        msg = stream.recv(timeout=10)
        assert msg is not None and msg["type"] in (FRAME, POOL), "\n".join([str(msg)] + camera_lines(env))
        if msg["type"] == FRAME:
            data = frame_of(stream, msg)
            stream.release(msg["slot"])
            return msg, data


def test_two_streams_in_the_cameras_format_share_the_pool_the_driver_writes(native):
    ta, tb = video_track(native), video_track(native)
    a, b = open_stream(ta), open_stream(tb)
    try:
        assert (a.format["width"], a.format["height"]) == (640, 480)
        assert a.inode() == b.inode()
        for _ in range(5):
            for s in (a, b):
                msg, data = next_camera_frame(native, s)
                assert len(data) == msg["bytes"] == s.format["frame_size"]
                assert len(set(data[:4096])) > 1, "a frame of one byte value is not vivid's test pattern"
        said = camera_lines(native)
        assert any("captures straight into the streams' pools (USERPTR)" in line for line in said), said
    finally:
        a.close()
        b.close()


def test_an_ended_stream_never_sees_a_frame_the_driver_writes_later(native):
    """Every slot of every pool the ended stream mapped holds, at the end, nothing or a frame
    that was announced in that pool (to it, or to the other stream while it was there): a frame
    the driver wrote there after the end, announced to nobody there, would show."""
    ta, tb = video_track(native), video_track(native)
    a, b = open_stream(ta), open_stream(tb)
    # Slots are sized for the camera's largest mode; the driver writes one frame at the start
    # of one. Digests, not copies: the VM has 1 GiB.
    slot_size, frame_size = a.format["slot_size"], a.format["frame_size"]
    announced = {}  # (pool inode, slot) -> digests of the frames announced there

    def note(stream, msg, release=True):
        data = frame_of(stream, msg)
        assert len(data) == frame_size
        announced.setdefault((stream.inode(), msg["slot"]), set()).add(hashlib.sha256(data).digest())
        if release:
            stream.release(msg["slot"])

    def next_message(stream):
        msg = stream.recv(timeout=10)
        assert msg is not None, "\n".join(camera_lines(native))
        return msg

    try:
        for s in (a, b):
            msg = next_message(s)
            while msg["type"] != FRAME:
                msg = next_message(s)
            note(s, msg)
        ta.iface.Stop()
        msg = next_message(a)
        while msg["type"] in (FRAME, POOL):
            if msg["type"] == FRAME:
                note(a, msg, release=False)  # a's socket is closing: nothing to give back
            msg = next_message(a)
        assert msg["type"] == ENDED, msg

        # b streams on, from a fresh pool once a has gone: more frames than the driver had
        # queued when a ended.
        sequences = []
        while len(sequences) < 12:
            msg = next_message(b)
            assert msg["type"] in (FRAME, POOL), msg
            if msg["type"] == FRAME:
                sequences.append(msg["sequence"])
                assert len(set(frame_of(b, msg)[:4096])) > 1
                note(b, msg)
        assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
        assert b.inode() != a.inode()
        never_written = hashlib.sha256(bytes(frame_size)).digest()
        for fd, mapping in a.pools:
            inode = os.fstat(fd).st_ino
            for k in range(len(mapping) // slot_size):
                content = hashlib.sha256(mapping[k * slot_size:k * slot_size + frame_size]).digest()
                assert content == never_written or content in announced.get((inode, k), ()), \
                    f"slot {k} of a pool of the ended stream holds a frame announced to nobody there"
    finally:
        a.close()
        b.close()
