"""A Motion-JPEG webcam, as the synthetic backend plays one (Formats=MJPEG): its MJPEG-only sizes
and rates offered like any other mode, raw modes chosen where the fitness distance ties, frames
decoded off the event loop into NV12 with their stamp and sequence, and 1080p30 delivered to four
clients with no frame lost while the bus is answered."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import dbus
import pytest

from conftest import BUS_NAME, OBJECT_PATH
from frame_reader import read_frame_code
from mgclient import FRAME, STAMP

READER = Path(__file__).with_name("frame_reader.py")

# A typical USB webcam: raw YUYV only where USB 2 has the bandwidth, everything else as MJPEG.
SYNTHETIC = """
[webcam]
Kind=camera
Label=Synthetic Webcam
FacingMode=user
Default=yes
Formats=MJPEG
Modes=640x480@30:YUYV 1280x720@10:YUYV 640x480@30 1280x720@30 1920x1080@30
"""


@pytest.fixture
def env(daemon_factory, polkit, clients, agents):
    class Env:
        pass
    e = Env()
    e.daemon = daemon_factory(synthetic=SYNTHETIC).start()
    e.clients = clients
    agents("allow-once")
    return e


def camera(env, constraints):
    client = env.clients()
    code, results = client.get_user_media({"video": constraints})
    assert code == 0, results
    return client, client.track(results["tracks"][0])


def instrumented(pid):
    maps = Path(f"/proc/{pid}/maps").read_text()
    if "vgpreload" in maps:
        return "valgrind"
    if "libasan" in maps:
        return "sanitizer"
    return None


@pytest.mark.parametrize("constraints, expected", [
    # The MJPEG-only modes are offered like any other.
    ({"width": 1920}, (1920, 1080, 30.0, "none", "NV12")),
    ({"width": {"min": 1281}}, (1920, 1080, 30.0, "none", "NV12")),
    # 720p: the raw mode runs at 10 fps, the JPEG one at 30; the default rate (30) breaks the tie.
    ({"width": 1280, "height": 720}, (1280, 720, 30.0, "none", "NV12")),
    # At 10 fps the raw mode fits exactly; the JPEG one only decimated (crop-and-scale).
    ({"width": 1280, "frameRate": 10}, (1280, 720, 10.0, "none", "YUYV")),
    # 640x480@30 exists raw and as JPEG: an exact tie, and the raw one wins it.
    (True, (640, 480, 30.0, "none", "YUYV")),
    ({"width": 640, "height": 480, "frameRate": 30}, (640, 480, 30.0, "none", "YUYV")),
])
def test_mjpeg_modes_are_offered_and_raw_wins_ties(env, constraints, expected):
    _, track = camera(env, constraints)
    s = track.prop("Settings")
    stream = track.open()
    got = (s["width"], s["height"], s["frameRate"], s["resizeMode"], stream.format["fourcc"])
    stream.close()
    assert got == expected
    caps = track.prop("Capabilities")
    assert caps["width"] == [1, 1920] and caps["height"] == [1, 1080] and caps["frameRate"][1] == 30.0


def test_decoded_frames_carry_their_stamp_in_bytes_and_picture(env):
    _, track = camera(env, {"width": 1280, "height": 720})
    stream = track.open()
    f = stream.format
    assert (f["fourcc"], f["width"], f["height"], f["stride"]) == ("NV12", 1280, 720, 1280)
    last = None
    for _ in range(10):
        msg, data = stream.next_frame()
        assert msg is not None and msg["type"] == FRAME, msg
        magic, seq, ts, tag = STAMP.unpack_from(data)
        assert (magic, seq, ts) == (b"MGFRAME\0", msg["sequence"], msg["timestamp_ns"])
        assert tag.rstrip(b"\0") == b"webcam"
        assert read_frame_code(data, 0, 1280, 720, 1280) == data[:40]
        assert last is None or seq == last + 1
        last = seq
    stream.close()


def thread_cpu(pid):
    """Name -> CPU seconds (user + system) of each thread of pid."""
    out = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        out[name if int(task.name) != pid else "main"] = (int(fields[11]) + int(fields[12])) / tick
    return out


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def time_calls(warm_up, seconds, results):
    """Round trips of a bare Peer.Ping to the daemon, interleaved with GetId to the bus itself (the
    same path through dbus-daemon, without the daemon: what the machine's load alone costs), from
    warm_up seconds on (the readers' start-up is not the daemon's)."""
    bus = dbus.bus.BusConnection(os.environ["DBUS_SESSION_BUS_ADDRESS"])
    # No introspection on the first call (dbus-python's default): bare round trips only.
    daemon = bus.get_object(BUS_NAME, OBJECT_PATH, introspect=False)
    bus_daemon = bus.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus", introspect=False)
    time.sleep(warm_up)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        daemon.Ping(dbus_interface="org.freedesktop.DBus.Peer")
        t1 = time.perf_counter()
        bus_daemon.GetId(dbus_interface="org.freedesktop.DBus")
        t2 = time.perf_counter()
        results["daemon"].append(t1 - t0)
        results["bus"].append(t2 - t1)
        time.sleep(0.004)
    bus.close()


SECONDS = 6


def test_1080p30_mjpeg_to_four_clients_loses_nothing_and_the_bus_is_answered(env):
    pid = env.daemon.proc.pid
    if instrumented(pid) == "valgrind":
        pytest.skip("1080p30 decoding cannot keep up at valgrind's slowdown")
    tracks = [camera(env, {"width": 1920, "height": 1080, "frameRate": 30})[1] for _ in range(4)]
    streams = [t.open() for t in tracks]
    assert all(s.format["fourcc"] == "NV12" and s.format["width"] == 1920 for s in streams)
    cpu_before = thread_cpu(pid)

    readers = []
    for s in streams:
        fmt = {k: s.format[k] for k in ("slots", "slot_size", "width", "height", "stride")}
        readers.append(subprocess.Popen(
            [sys.executable, str(READER), str(s.control.fileno()), str(s.pool_fd), json.dumps(fmt), str(SECONDS),
             "--code-every", "15"],
            pass_fds=(s.control.fileno(), s.pool_fd), stdout=subprocess.PIPE, text=True))
    calls = {"daemon": [], "bus": []}
    timer = threading.Thread(target=time_calls, args=(1, SECONDS - 2, calls))
    timer.start()
    results = [json.loads(r.communicate(timeout=SECONDS + 30)[0]) for r in readers]
    timer.join()
    cpu_after = thread_cpu(pid)
    for s in streams:
        s.close()

    frames = [r["frames"] for r in results]
    cpu = {name: cpu_after[name] - cpu_before.get(name, 0) for name in cpu_after}
    daemon_p50, daemon_p99 = percentile(calls["daemon"], 50) * 1e3, percentile(calls["daemon"], 99) * 1e3
    bus_p50, bus_p99 = percentile(calls["bus"], 50) * 1e3, percentile(calls["bus"], 99) * 1e3
    decoded = max(r["last"] for r in results) - min(r["first"] for r in results) + 1
    print(f"\n1080p30 MJPEG, 4 clients, {SECONDS} s: frames per client {frames}, "
          f"codes checked {[r['codes_checked'] for r in results]}")
    print(f"Peer.Ping to the daemon: p50 {daemon_p50:.3f} ms, p99 {daemon_p99:.3f} ms, "
          f"max {max(calls['daemon']) * 1e3:.3f} ms ({len(calls['daemon'])} calls); "
          f"GetId to the bus: p50 {bus_p50:.3f} ms, p99 {bus_p99:.3f} ms, max {max(calls['bus']) * 1e3:.3f} ms")
    print("daemon CPU per frame: " + ", ".join(f"{n} {cpu[n] / decoded * 1e3:.2f} ms" for n in sorted(cpu)))

    for r in results:
        # No source frame lost: every sequence from the first this client saw to the last, none
        # dropped for it, each frame's stamp its own, and the picture the frame its stamp names.
        assert r["gaps"] == [] and r["dropped"] == 0, r
        assert r["stamp_errors"] == 0 and r["code_errors"] == 0 and r["codes_checked"] > 0, r
        assert not r["ended"], r
        # The source ran at its rate (a camera that falls behind skips frames at the source).
        assert r["frames"] >= SECONDS * 30 // 2, r
    # The decoding is the decoder thread's and the drawing and encoding the camera's thread's,
    # never the event loop's.
    assert cpu.get("mg-mjpeg-webcam", 0) > 0 and cpu.get("mg-enc-webcam", 0) > 0, cpu
    # The bus is answered meanwhile. On a machine this test shares with others the daemon waits for
    # a CPU like everything else (the bus daemon's own round trips, timed in the same run, show how
    # long), so what is bounded is the typical call: the median within 5 ms of the bus's own. That
    # a backlog of decoded frames never holds a call for more than one frame's delivery is a
    # property of the event loop, tested in test-mjpeg-stage.c; the real numbers are printed.
    assert daemon_p50 < bus_p50 + 5, (daemon_p50, bus_p50)
