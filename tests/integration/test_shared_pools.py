"""Wire format version 2 through the public API: streams of one camera and format share one sealed
pool; a stream that ended never sees a later frame in its mapping while the others move to a
fresh pool (POOL) and keep streaming; a client holding max_held slots loses only its own frames;
version 1 (Track.Open) keeps a pool of its own; and the stream limits (LimitsExceeded)."""

import fcntl
import mmap
import os
import socket
import struct
import time

import dbus
import pytest

from conftest import ERROR_PREFIX, dbus_error_name
from mgclient import ENDED, FRAME, POOL, V2Stream, open_stream, unwrap

VGA = {"video": {"width": {"exact": 640}, "height": {"exact": 480}, "frameRate": {"exact": 30}}}
F_GET_SEALS = 1034
F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_FUTURE_WRITE = 0x0001, 0x0002, 0x0004, 0x0010


@pytest.fixture
def env(daemon, polkit, clients, agents):
    agents("allow-once")

    def video_track(constraints=VGA):
        c = clients()
        code, results = c.get_user_media(constraints)
        assert code == 0, results
        return c.track(results["tracks"][0])
    return video_track


def check_seals(fd):
    seals = fcntl.fcntl(fd, F_GET_SEALS)
    assert seals & (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE) == \
        F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE
    size = os.fstat(fd).st_size
    with pytest.raises(OSError):
        os.write(fd, b"x")
    with pytest.raises(OSError):
        os.ftruncate(fd, 0)
    with pytest.raises(OSError):
        mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    # Reopened read-write through /proc, the fd still cannot write.
    try:
        rw = os.open(f"/proc/self/fd/{fd}", os.O_RDWR)
    except OSError:
        return
    try:
        with pytest.raises(OSError):
            os.write(rw, b"x")
    finally:
        os.close(rw)


def test_two_clients_of_one_format_share_one_sealed_pool(env):
    a, b = open_stream(env()), open_stream(env())
    try:
        assert a.format["version"] == 2 and a.format["max_held"] == 2
        assert a.inode() == b.inode()
        check_seals(a.pool_fd)
        ma, da = a.next_frame()
        mb, db = b.next_frame()
        # The same capture lands in one slot for both: the frame was written once.
        while mb["sequence"] < ma["sequence"]:
            mb, db = b.next_frame()
        while ma["sequence"] < mb["sequence"]:
            ma, da = a.next_frame()
        assert ma["slot"] == mb["slot"] and da == db
        assert da[:8] == b"MGFRAME\0" and struct.unpack_from("<Q", da, 8)[0] == ma["sequence"]
    finally:
        a.close()
        b.close()


def test_a_version_1_client_keeps_a_pool_of_its_own(env):
    shared = open_stream(env())
    track = env()
    control, pool, fmt = track.iface.Open()
    v1 = V2Stream(control.take(), pool.take(), unwrap(fmt))
    try:
        assert v1.format["version"] == 1
        assert v1.inode() != shared.inode()
        check_seals(v1.pool_fd)
        for _ in range(3):
            msg, data = v1.next_frame()
            assert msg["type"] == FRAME and data[:8] == b"MGFRAME\0"
    finally:
        v1.close()
        shared.close()


def test_an_ended_stream_never_sees_a_later_frame_while_the_other_streams_on(env):
    ta, tb = env(), env()
    a, b = open_stream(ta), open_stream(tb)
    try:
        a.next_frame()
        b.next_frame()
        ta.iface.Stop()
        msg = a.recv()
        while msg and msg["type"] == FRAME:
            msg = a.recv()
        assert msg["type"] == ENDED
        assert a.recv() is None
        frozen = bytes(a.pool)

        # b moves to a fresh pool before any frame captured after the end, then streams on.
        first = None
        while first is None:
            msg = b.recv()
            assert msg is not None
            if msg["type"] == POOL:
                first = msg
            elif msg["type"] == FRAME:
                b.release(msg["slot"])
        assert b.inode() != a.inode()
        check_seals(b.pool_fd)
        sequences = []
        for _ in range(10):
            msg, data = b.next_frame()
            assert msg["type"] == FRAME and data[:8] == b"MGFRAME\0"
            sequences.append(msg["sequence"])
        assert sequences == sorted(sequences)
        assert bytes(a.pool) == frozen
    finally:
        a.close()
        b.close()


def test_a_client_holding_max_held_slots_loses_only_its_own_frames(env):
    hog, other = open_stream(env()), open_stream(env())
    try:
        held = [hog.next_frame(release=False)[0] for _ in range(hog.format["max_held"])]
        start_dropped = None
        got = 0
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            msg, _ = other.next_frame()
            assert msg["type"] == FRAME
            start_dropped = msg["dropped"] if start_dropped is None else start_dropped
            assert msg["dropped"] == start_dropped
            got += 1
        assert got >= 30
        # Nothing more reached the hog while it held max_held slots ...
        with pytest.raises(socket.timeout):
            hog.recv(timeout=0.1)
        for m in held:
            hog.release(m["slot"])
        # ... and it was told how many it lost.
        msg, _ = hog.next_frame()
        assert msg["dropped"] >= 30
    finally:
        hog.close()
        other.close()


def test_a_release_for_a_pool_left_behind_is_not_taken_for_the_new_one(env):
    ta, tb, tc = env(), env(), env()
    a, b, c = open_stream(ta), open_stream(tb), open_stream(tc)
    try:
        held, _ = b.next_frame(release=False)
        old_generation = b.generation
        a.next_frame()
        ta.iface.Stop()
        msg = b.recv()
        while msg["type"] != POOL:
            msg = b.recv()
        # A RELEASE of the old pool's slot, as one that crossed the POOL on the wire.
        b.release(held["slot"], generation=old_generation)
        for _ in range(5):
            msg, _ = b.next_frame()
            assert msg["type"] == FRAME
        for _ in range(5):
            assert c.next_frame()[0]["type"] == FRAME
    finally:
        for s in (a, b, c):
            s.close()


def test_open_stream_refuses_unknown_versions_and_options(env):
    track = env()
    for options in ({"version": dbus.UInt32(3)}, {"version": dbus.String("2")}, {"shared": dbus.Boolean(True)}):
        with pytest.raises(dbus.DBusException) as e:
            track.iface.OpenStream(dbus.Dictionary(options, signature="sv"))
        assert dbus_error_name(e) == "org.freedesktop.DBus.Error.InvalidArgs"
    s = open_stream(track)
    assert s.next_frame()[0]["type"] == FRAME
    s.close()


def test_a_flood_of_streams_gets_limits_exceeded_and_others_are_served(daemon_factory, polkit, clients, agents):
    # Fewer streams than tracks per connection: the stream limit is the one met.
    daemon_factory(config="MaxStreamsPerConnection=4\nMaxTracksPerConnection=64\nMaxTracksPerUser=256\n").start()
    agents("allow-once")
    flooder = clients()
    opened, refused = [], None
    for _ in range(40):
        code, results = flooder.get_user_media(VGA)
        if code != 0:
            break
        track = flooder.track(results["tracks"][0])
        try:
            opened.append(open_stream(track))
        except dbus.DBusException as e:
            refused = e.get_dbus_name()
            break
    assert refused == ERROR_PREFIX + "LimitsExceeded"
    assert len(opened) == 4
    other_client = clients()
    code, results = other_client.get_user_media(VGA)
    assert code == 0, results
    other = open_stream(other_client.track(results["tracks"][0]))
    assert other.next_frame()[0]["type"] == FRAME
    for s in opened + [other]:
        s.close()


def test_pool_bytes_per_user_are_limited_and_a_shared_pool_counts_once(daemon_factory, polkit, clients,
                                                                        agents):
    daemon_factory(config="MaxPoolMiBPerUser=16\nMaxTracksPerUser=256\n").start()
    agents("allow-once")

    def track(width, height):
        c = clients()
        code, results = c.get_user_media({"video": {"width": {"exact": width}, "height": {"exact": height}}})
        assert code == 0, results
        return c.track(results["tracks"][0])

    opened = []
    sizes = [(640 - 16 * i, 480 - 12 * i) for i in range(12)]
    refused = None
    for w, h in sizes:
        try:
            opened.append(open_stream(track(w, h)))
        except dbus.DBusException as e:
            refused = e.get_dbus_name()
            break
    assert refused == ERROR_PREFIX + "LimitsExceeded"
    assert len(opened) < len(sizes)
    # A stream of a format this user streams already joins its pool: no more bytes, served.
    joined = open_stream(track(640, 480))
    assert joined.inode() == opened[0].inode()
    assert joined.next_frame()[0]["type"] == FRAME
    for s in opened + [joined]:
        s.close()


def test_a_version_2_audio_stream_keeps_a_pool_of_its_own_and_streams_on(env, clients):
    c = clients()
    code, results = c.get_user_media({"audio": True})
    assert code == 0, results
    track = c.track(results["tracks"][0])
    s = open_stream(track)
    try:
        assert s.format["version"] == 2 and s.format["max_held"] == s.format["slots"]
        # More periods than the pool has slots: the RELEASEs must be read as slots are needed.
        for _ in range(3 * s.format["slots"]):
            msg, data = s.next_frame()
            assert msg["type"] == FRAME and len(data) > 0
    finally:
        s.close()
