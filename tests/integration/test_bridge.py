"""mediagate-pipewire end to end: PipeWire and WirePlumber headless on the test's bus, mediagated on
synthetic devices, the bridge between them, and real PipeWire clients nobody here wrote
(pw-record, GStreamer's pipewiresrc, pw-v4l2 with v4l2-ctl, ffmpeg) consuming its nodes, each
asking mediagate's consent as itself."""

import json
import os
import shutil
import signal
import struct
import subprocess
import time
import wave

import dbus
import pytest

from conftest import BUILD, BUS_NAME, MEDIACTL, OBJECT_PATH, START_TIMEOUT
from mgclient import Agent, Client, run_until, sv
from pipewire_session import PipeWireSession, find_program, have_pipewire, poll, stop_process

BRIDGE = BUILD / "mediagate-pipewire"
FAKE_VIDEO_DEVICE = os.path.join(os.path.dirname(__file__), "fake-video-device")
IFACE_ADMIN = BUS_NAME + ".Admin"
TONE_HZ = 440
SYNTHETIC = f"""\
[cam]
Kind=camera
Label=Test Camera
Default=yes
Modes=640x480@30

[mic]
Kind=microphone
Label=Test Microphone
Default=yes
SampleRates=48000
Channels=1
ToneHz={TONE_HZ}
"""
FRAME_BYTES = 640 * 480 * 2
STAMP = struct.Struct("<8sQ")

pytestmark = pytest.mark.skipif(not have_pipewire(), reason="PipeWire and WirePlumber are not installed")


class Env:
    pass


@pytest.fixture
def bridge(daemon_factory, polkit, tmp_path):
    """PipeWire, WirePlumber, mediagated (the bridge listed as a trusted broker) and the bridge,
    its nodes published."""
    pw = PipeWireSession(tmp_path).start()
    d = daemon_factory(synthetic=SYNTHETIC)
    (d.policy_dir / "50-pipewire-bridge.conf").write_text(f"[Brokers]\nApps=host:{BRIDGE.resolve()}\n")
    d.start()
    proc = pw.spawn("bridge", [str(BRIDGE), "--verbose"], env=dict(pw.env, MEDIAGATE_BUS="session"))

    def node(prefix):
        # One node per device once the bridge may see them ("mediagate-camera-<id>"), else one
        # per kind ("mediagate-camera").
        return next((n for n in pw.node_names() if n.startswith(prefix)), None)

    if not poll(lambda: node("mediagate-camera") and node("mediagate-microphone"), START_TIMEOUT):
        pw.stop()
        raise AssertionError("the bridge published no nodes:\n" + pw.log("bridge"))
    e = Env()
    e.pw, e.daemon, e.proc, e.tmp = pw, d, proc, tmp_path
    e.camera, e.microphone = node("mediagate-camera"), node("mediagate-microphone")
    yield e
    code = stop_process(proc)
    pw.stop()
    assert code == 0, "the bridge failed:\n" + pw.log("bridge")


def consume(env, args, timeout=30, until=None):
    """Run a PipeWire client to its end, serving the test's agent meanwhile; returns it."""
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env.pw.env)
    done = run_until(lambda: p.poll() is not None or (until and until()), timeout)
    if not done:
        stop_process(p, signal.SIGKILL)
        raise AssertionError(f"{args[0]} did not finish:\n{p.stdout.read().decode()}\n{env.pw.log('bridge')}")
    return p


def gst_camera(env, path, buffers=30):
    return ["gst-launch-1.0", "-q", "pipewiresrc", f"target-object={env.camera}", f"num-buffers={buffers}",
            "!", "video/x-raw,format=YUY2,width=640,height=480", "!", "filesink", f"location={path}"]


def stamped_sequences(data):
    """The sequence numbers of the synthetic stamps at the start of each frame."""
    sequences = []
    for i in range(len(data) // FRAME_BYTES):
        magic, seq = STAMP.unpack_from(data, i * FRAME_BYTES)
        assert magic == b"MGFRAME\0", f"frame {i} carries no stamp"
        sequences.append(seq)
    return sequences


def tone_power(samples, rate, hz):
    """The power of one frequency in the samples (Goertzel)."""
    import math
    coeff = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def test_the_nodes_are_cameras_and_microphones(bridge):
    info = bridge.pw.cli("ls", "Node")
    assert 'media.class = "Video/Source"' in info and 'media.role = "Camera"' in info
    assert 'media.class = "Audio/Source"' in info


def test_pw_record_records_the_tone(bridge):
    Agent("allow-once")
    wav_path = bridge.tmp / "mic.wav"
    bytes_per_second = 48000 * 2 * 2  # pw-record's default: 48 kHz stereo S16
    p = subprocess.Popen(["pw-record", "--target", bridge.microphone, str(wav_path)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=bridge.pw.env)
    got = run_until(lambda: wav_path.exists() and wav_path.stat().st_size > 44 + 2.2 * bytes_per_second, 30)
    stop_process(p, signal.SIGINT)
    assert got, p.stdout.read().decode() + bridge.pw.log("bridge")
    with wave.open(str(wav_path)) as w:
        rate, channels, n = w.getframerate(), w.getnchannels(), w.getnframes()
        frames = w.readframes(n)
    assert n >= 2 * rate
    samples = struct.unpack(f"<{n * channels}h", frames)[::channels]
    # Past the first periods (the queue filling), the tone, not silence.
    steady = samples[rate // 2:rate // 2 + rate // 2]
    assert max(abs(s) for s in steady) > 1000
    # The synthetic tone's frequency stands out of its neighbours (a period lost to a busy machine
    # adds a little of everything, not another tone).
    power = tone_power(steady, rate, TONE_HZ)
    assert all(power > 4 * tone_power(steady, rate, hz) for hz in (220, 330, 550, 660, 880, 1320)), power


def test_pipewiresrc_takes_30_stamped_frames(bridge):
    agent = Agent("allow-once")
    out = bridge.tmp / "camera.yuv"
    p = consume(bridge, gst_camera(bridge, out))
    assert p.returncode == 0, p.stdout.read().decode() + bridge.pw.log("bridge")
    data = out.read_bytes()
    assert len(data) == 30 * FRAME_BYTES
    sequences = stamped_sequences(data)
    assert all(b > a for a, b in zip(sequences, sequences[1:])), sequences
    # The prompt named the consuming app, not the bridge.
    (_, details), = agent.prompts
    assert details["app_id"] == f"host:{find_program('gst-launch-1.0')}"
    assert details["kinds"] == ["camera"]


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("pw-v4l2"),
                    reason="needs root (a private mount namespace with a /dev/video0) and pw-v4l2")
def test_pw_v4l2_streams_30_frames_to_v4l2_ctl(bridge):
    agent = Agent("allow-once")
    out = bridge.tmp / "v4l2.yuv"
    # pw-v4l2 of PipeWire 0.3.65 needs the format set before REQBUFS.
    p = consume(bridge, ["unshare", "-m", FAKE_VIDEO_DEVICE, "pw-v4l2", "v4l2-ctl",
                         "--set-fmt-video=width=640,height=480,pixelformat=YUYV",
                         "--stream-mmap", "--stream-count=30", f"--stream-to={out}"])
    assert p.returncode == 0, p.stdout.read().decode() + bridge.pw.log("bridge")
    data = out.read_bytes()
    assert len(data) == 30 * FRAME_BYTES
    sequences = stamped_sequences(data)
    assert all(b > a for a, b in zip(sequences, sequences[1:])), sequences
    assert agent.prompts[0][1]["app_id"] == f"host:{find_program('v4l2-ctl')}"


def test_mediactl_record_pipes_y4m_into_ffmpeg(bridge):
    Agent("allow-once")
    env = dict(os.environ, MEDIAGATE_BUS="session")
    record = subprocess.Popen([str(MEDIACTL), "--json", "record", "--seconds", "2", "--video-out", "-"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    ffmpeg = subprocess.Popen(["ffmpeg", "-nostdin", "-hide_banner", "-f", "yuv4mpegpipe", "-i", "-", "-f", "null", "-"],
                              stdin=record.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    record.stdout.close()
    assert run_until(lambda: record.poll() is not None and ffmpeg.poll() is not None, 30)
    summary = json.loads(record.stderr.read())
    report = ffmpeg.stderr.read().decode()
    assert record.returncode == 0 and ffmpeg.returncode == 0, report
    assert "640x480" in report and "yuv422p" in report
    frames = int(report.rsplit("frame=", 1)[1].split()[0])
    assert frames == summary["tracks"][0]["frames"] > 0


@pytest.mark.skipif(not (BUILD / "tests" / "portal-connect").exists(), reason="make builds tests/portal-connect")
def test_a_portal_connection_is_asked_for_by_the_portals_app_id(bridge):
    """A stand-in for xdg-desktop-portal's OpenPipeWireRemote: the process that owns the portal's
    bus name opens the PipeWire connection for the app and hands it over (pipewiresrc fd=N)."""
    agent = Agent("allow-once")
    out = bridge.tmp / "portal.yuv"
    env = dict(bridge.pw.env, PORTAL_READY_FILE=str(bridge.pw.dir / "pipewire.log"))
    p = subprocess.Popen([str(BUILD / "tests" / "portal-connect"), "org.example.Sandboxed", "gst-launch-1.0", "-q",
                          "pipewiresrc", "fd={fd}", f"target-object={bridge.camera}", "num-buffers=30", "!",
                          "video/x-raw", "!", "filesink", f"location={out}"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    assert run_until(lambda: p.poll() is not None, 30), bridge.pw.log("bridge")
    assert p.returncode == 0, p.stdout.read().decode() + bridge.pw.log("bridge")
    assert len(stamped_sequences(out.read_bytes())) == 30
    (_, details), = agent.prompts
    assert details["app_id"] == "org.example.Sandboxed"


def test_a_denied_consumer_fails_and_gets_no_frame(bridge):
    agent = Agent("deny-once")
    out, log = bridge.tmp / "camera.yuv", bridge.tmp / "gst.log"
    with open(log, "w") as f:
        p = subprocess.Popen(gst_camera(bridge, out), stdout=f, stderr=subprocess.STDOUT, env=bridge.pw.env)
    # The error on its stream is what the consumer gets; gst-launch may take its time to wind
    # down after it.
    failed = run_until(lambda: p.poll() is not None or "NotAllowedError" in log.read_text(), 30)
    stop_process(p)
    output = log.read_text()
    assert failed and "NotAllowedError" in output, output + bridge.pw.log("bridge")
    assert len(agent.prompts) == 1
    assert not out.exists() or out.stat().st_size == 0


def test_revoking_ends_the_consumers_stream(bridge):
    Agent("allow-always")
    out = bridge.tmp / "camera.yuv"
    app_id = f"host:{find_program('gst-launch-1.0')}"
    p = subprocess.Popen(gst_camera(bridge, out, buffers=100000), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=bridge.pw.env)
    try:
        assert run_until(lambda: out.exists() and out.stat().st_size >= 5 * FRAME_BYTES, 30), bridge.pw.log("bridge")
        admin = dbus.Interface(Client().bus.get_object(BUS_NAME, OBJECT_PATH), IFACE_ADMIN)
        admin.RevokeGrant(app_id, "", "camera", dbus.Dictionary({}, signature="sv"))
        assert run_until(lambda: p.poll() is not None, 10), "the consumer kept streaming after the revocation"
    finally:
        stop_process(p, signal.SIGKILL)
    output = p.stdout.read().decode()
    assert p.returncode != 0 and "revoked" in output, output
    size = out.stat().st_size
    time.sleep(0.5)
    assert out.stat().st_size == size


def test_a_non_broker_passing_an_app_id_gets_security_error(bridge):
    c = Client()
    with pytest.raises(dbus.DBusException) as e:
        c.manager.GetUserMedia(sv({"video": True}), dbus.Dictionary({"app_id": "org.example.App"}, signature="sv"))
    assert e.value.get_dbus_name() == BUS_NAME + ".Error.SecurityError"
