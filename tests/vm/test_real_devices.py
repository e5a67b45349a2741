"""The daemon on the real backends (Backends=v4l2 alsa) against the VM's drivers: enumeration
with the modes the kernel reports, constraint selection on them, capture, busy devices and
unplugging. Each test is an expected failure only while the daemon says it has no such backend
(conftest.backend_missing); once the backend exists, the test counts."""

import errno
import os
import time

import dbus
import pytest

import devnodes
from conftest import IFACE_MANAGER
from mgclient import ENDED, FRAME, run_until

EXPECTED_MICROPHONES = ["Loopback", "Dummy"]


def kernel_camera_modes():
    """{(width, height): [fps...]} of vivid's capture node in YUYV, straight from the kernel."""
    with devnodes.VideoNode(devnodes.vivid_capture_node()) as node:
        return {size: node.frame_rates("YUYV", *size) for size in node.frame_sizes("YUYV")}


def distance(actual, ideal):
    return 0.0 if actual == ideal else abs(actual - ideal) / max(abs(actual), abs(ideal))


def read_frames(stream, n, timeout=10):
    frames = []
    for _ in range(n):
        msg, data = stream.next_frame(timeout=timeout)
        assert msg is not None and msg["type"] == FRAME, msg
        frames.append((msg, data))
    return frames


def assert_fresh(frames):
    seqs = [m["sequence"] for m, _ in frames]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    for msg, data in frames:
        assert len(data) == msg["bytes"] > 0
        # The driver's capture time: vivid stamps a frame with the moment it is due, which may
        # lie a frame or so ahead of the clock when the frame is ready.
        assert -1_000_000_000 < now - msg["timestamp_ns"] < 5_000_000_000, "a stale frame"


def test_vivid_is_the_one_camera_with_the_kernels_modes(real):
    real.require("v4l2")
    real.expose("video")
    cameras = [d for d in real.enumerate() if d[1] == "videoinput"]
    # The capture node only: vivid's metadata node is no camera, and no synthetic stand-ins.
    assert len(cameras) == 1, cameras
    device_id, _, label, info = cameras[0]
    assert device_id and "vivid" in label.lower()
    assert info["group_id"]
    modes = kernel_camera_modes()
    caps = info["capabilities"]
    # The ranges reach up to the largest native mode (and down below the smallest, as cropping
    # and scaling allow): no upscaling and no invented frame rates.
    widths = [w for w, _ in modes]
    heights = [h for _, h in modes]
    rates = [r for rs in modes.values() for r in rs]
    assert caps["width"][0] <= min(widths) and caps["width"][1] == max(widths), caps
    assert caps["height"][0] <= min(heights) and caps["height"][1] == max(heights), caps
    assert caps["frameRate"][1] == pytest.approx(max(rates), rel=1e-3), caps


def test_loopback_and_dummy_are_the_microphones(real):
    real.require("alsa")
    real.expose("audio")
    microphones = [d for d in real.enumerate() if d[1] == "audioinput"]
    labels = " | ".join(d[2] for d in microphones)
    for name in EXPECTED_MICROPHONES:
        assert name.lower() in labels.lower(), labels
    for device_id, _, label, info in microphones:
        assert device_id, label
        caps = info["capabilities"]
        low, high = caps["sampleRate"]
        assert 0 < low <= 48000 <= high, (label, caps)
        assert caps["channelCount"][0] >= 1, (label, caps)


def test_constraints_choose_among_vivids_native_modes(real):
    real.require("v4l2")
    real.agents("allow-once")
    modes = kernel_camera_modes()
    # Native modes only: the size nearest to 700x400 by the spec's fitness distance, then the
    # rate of that size nearest to 30 (the tie-break toward the defaults).
    want = min(modes, key=lambda s: distance(s[0], 700) + distance(s[1], 400))
    rate = min(modes[want], key=lambda r: distance(r, 30))
    code, results = real.client.get_user_media(
        {"video": {"width": {"ideal": 700}, "height": {"ideal": 400}, "resizeMode": {"exact": "none"}}})
    assert code == 0, results
    s = real.client.track(results["tracks"][0]).prop("Settings")
    assert (s["width"], s["height"], s["resizeMode"]) == (*want, "none")
    assert s["frameRate"] == pytest.approx(rate, rel=1e-3)
    # Beyond the largest native size nothing fits; exposed now, the name is given.
    code, results = real.client.get_user_media({"video": {"width": {"min": max(w for w, _ in modes) + 1}}})
    assert (code, results.get("error"), results.get("constraint")) == (2, "OverconstrainedError", "width")


def test_vivid_frames_arrive_fresh_at_a_native_size(real):
    real.require("v4l2")
    real.agents("allow-once")
    code, results = real.client.get_user_media({"video": {"width": {"exact": 640}, "height": {"exact": 480}}})
    assert code == 0, results
    stream = real.client.track(results["tracks"][0]).open()
    try:
        f = stream.format
        assert f["fourcc"] in ("YUYV", "NV12") and (f["width"], f["height"]) == (640, 480)
        frames = read_frames(stream, 5)
        assert_fresh(frames)
        for msg, data in frames:
            assert len(data) == f["frame_size"]
            assert len(set(data[:4096])) > 1, "a frame of one byte value is not vivid's test pattern"
    finally:
        stream.close()


@pytest.mark.parametrize("name", EXPECTED_MICROPHONES)
def test_microphone_delivers_audio(real, name):
    real.require("alsa")
    real.expose("audio")
    device_id = real.device_id("audioinput", name)
    code, results = real.client.get_user_media({"audio": {"deviceId": {"exact": device_id}}})
    assert code == 0, results
    track = real.client.track(results["tracks"][0])
    assert name.lower() in track.prop("Label").lower()
    stream = track.open()
    try:
        assert stream.format["sample_format"] == "S16_LE" and stream.format["rate"] > 0
        assert_fresh(read_frames(stream, 3))
    finally:
        stream.close()


def test_camera_held_by_another_program_is_not_readable(real):
    real.require("v4l2")
    real.agents("allow-once")
    node = devnodes.VideoNode(devnodes.vivid_capture_node())
    try:
        # read() I/O makes this fd the owner of vivid's queue, as a program capturing would.
        os.read(node.fd, node.get_format()["sizeimage"])
        code, results = real.client.get_user_media({"video": True})
        assert (code, results.get("error")) == (2, "NotReadableError"), results
    finally:
        node.close()
    code, results = real.client.get_user_media({"video": True})
    assert code == 0, results


def open_when_released(path, timeout=10):
    """open() a device node the daemon may still hold for a moment (it releases a device within
    3 s of its last track's end)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_microphone_held_by_another_program_is_not_readable(real):
    real.require("alsa")
    exposing = real.expose("audio")
    device_id = real.device_id("audioinput", "Dummy")
    # The track that gave exposure may be capturing from Dummy itself: end it. The device id
    # stays valid (ids are stable per caller).
    exposing.iface.Stop()
    # The dummy card has one capture substream (guest-init's options): one open() holds it.
    fd = open_when_released(devnodes.capture_pcms(devnodes.alsa_cards()["Dummy"])[0])
    try:
        code, results = real.client.get_user_media({"audio": {"deviceId": {"exact": device_id}}})
        assert (code, results.get("error")) == (2, "NotReadableError"), results
    finally:
        os.close(fd)
    code, results = real.client.get_user_media({"audio": {"deviceId": {"exact": device_id}}})
    assert code == 0, results


@pytest.fixture
def vivid_reloaded_after():
    """Load vivid again once the test (and its daemon, torn down first) is done, so that the
    next test finds it as guest-init left it: after Disconnect vivid comes back by itself only
    when its last user closes, and a test that unloads it may fail half way."""
    yield
    devnodes.reload_module("vivid")
    devnodes.vivid_capture_node()


def test_unplugging_vivid_mid_capture_ends_the_track(vivid_reloaded_after, real):
    real.require("v4l2")
    real.agents("allow-once")
    code, results = real.client.get_user_media({"video": True})
    assert code == 0, results
    track = real.client.track(results["tracks"][0])
    stream = track.open()
    try:
        read_frames(stream, 1)
        with devnodes.VideoNode(devnodes.vivid_capture_node()) as node:
            node.set_control(node.control_id("Disconnect"), 1)
        assert run_until(lambda: track.ended, timeout=15), "no Ended after the camera went away"
        assert track.ended == ["device-removed"]
        msg = stream.recv(timeout=10)
        while msg and msg["type"] == FRAME:
            msg = stream.recv(timeout=10)
        assert msg is not None and msg["type"] == ENDED and msg["reason"] == 2, msg
    finally:
        stream.close()


def test_camera_unplugged_and_plugged_again_changes_the_devices(vivid_reloaded_after, real):
    real.require("v4l2")
    changes = []
    real.client.bus.add_signal_receiver(lambda: changes.append(time.monotonic()), "DevicesChanged",
                                        IFACE_MANAGER, None, None)
    # Before any grant a kind shows as one blank entry while some device of it exists.
    has_camera = lambda: any(d[1] == "videoinput" for d in real.enumerate())
    assert has_camera()
    # The daemon holds no camera open while nobody captures, so the driver can go.
    devnodes.unload_module("vivid")
    assert run_until(lambda: changes and not has_camera(), timeout=15), "the camera stayed after unplugging"
    seen = len(changes)
    devnodes.load_module("vivid")
    assert run_until(lambda: len(changes) > seen and has_camera(), timeout=15), "the camera did not come back"


def test_daemon_on_the_real_backends_serves_the_bus(real):
    """Whatever the backends find, the daemon configured for them starts in the VM and answers."""
    kinds = {str(d[1]) for d in real.client.manager.EnumerateDevices(dbus.Dictionary({}, signature="sv"))}
    assert kinds <= {"videoinput", "audioinput"}
