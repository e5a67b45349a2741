"""mediactl end to end against a daemon on synthetic devices: get, snapshot, record, the consent
agent, monitor, status, mute and the tray indicator (against a fake StatusNotifierWatcher)."""

import json
import os
import select
import signal
import struct
import subprocess
import time
import wave
import zlib

import dbus
import dbus.service
import pytest

from conftest import BUS_NAME, IFACE_MANAGER, IFACE_TESTING, MEDIACTL, OBJECT_PATH, mediactl
from mgclient import Client, run_until, unwrap

IFACE_ADMIN = BUS_NAME + ".Admin"
SYNTHETIC = """\
[cam]
Kind=camera
Label=Test Camera
FacingMode=user
Default=yes
Modes=640x480@30 1280x720@30

[nv12-cam]
Kind=camera
Label=Test NV12 Camera
FacingMode=environment
Modes=320x240@15:NV12

[mic]
Kind=microphone
Label=Test Microphone
Default=yes
SampleRates=48000 16000
Channels=1 2
"""


class Agent:
    """`mediactl agent` as a subprocess; its stdout is read line by line."""

    def __init__(self, *args, json_output=False):
        self.args = [str(MEDIACTL), "agent", *args] + (["--json"] if json_output else [])
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ, MEDIAGATE_BUS="session"))
        self.lines = []
        self.buffer = ""
        ready = self.wait_for(lambda line: "ready" in line)
        assert ready, f"the agent did not start: {self.stop()}"

    def read_lines(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            return False
        chunk = os.read(self.proc.stdout.fileno(), 65536).decode()
        if not chunk:
            return False
        self.buffer += chunk
        *complete, self.buffer = self.buffer.split("\n")
        self.lines += complete
        return True

    def wait_for(self, predicate, timeout=10):
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for line in self.lines[seen:]:
                if predicate(line):
                    return line
            seen = len(self.lines)
            left = deadline - time.monotonic()
            if left <= 0 or (not self.read_lines(left) and self.proc.poll() is not None):
                return None

    def count(self, text):
        return sum(text in line for line in self.lines)

    def send(self, text):
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        stdin, self.proc.stdin = self.proc.stdin, None
        out, err = self.proc.communicate(timeout=10)
        if stdin:
            stdin.close()
        self.lines += (self.buffer + out).split("\n")
        self.buffer = ""
        self.stderr = err
        return self.proc.returncode


@pytest.fixture
def env(daemon_factory, polkit, tmp_path):
    polkit.SetAllowed(["org.mediagate.camera", "org.mediagate.microphone", "org.mediagate.mute"])
    daemon = daemon_factory(synthetic=SYNTHETIC).start()
    started = []

    class Env:
        pass

    e = Env()
    e.daemon, e.polkit, e.tmp = daemon, polkit, tmp_path

    def agent(*args, **kwargs):
        a = Agent(*args, **kwargs)
        started.append(a)
        return a

    e.agent = agent
    yield e
    for a in started:
        a.stop()


def error_line(p):
    """The "mediactl: NAME: message" line of a failed run, as (NAME, message)."""
    line = p.stderr.strip().splitlines()[0]
    assert line.startswith("mediactl: "), p.stderr
    name, _, message = line[len("mediactl: "):].partition(": ")
    return name, message


# ---- get ----------------------------------------------------------------------------------

def test_get_prints_the_chosen_settings_and_stops_the_tracks(env):
    agent = env.agent("--auto", "allow-once")
    p = mediactl("get", "--video", '{"width":{"min":1280}}', "--audio", "true")
    assert "video: Test Camera" in p.stdout and "audio: Test Microphone" in p.stdout
    lines = [line.split() for line in p.stdout.splitlines()]
    assert ["width", "1280"] in lines and ["height", "720"] in lines and ["frameRate", "30"] in lines
    assert ["sampleRate", "48000"] in lines and ["channelCount", "1"] in lines
    assert agent.wait_for(lambda line: "allow-once for host:" in line and "(microphone, camera)" in line)
    # The tracks were stopped: nothing is accessible any more, once the 3-second hold is over.
    c = Client()
    props = dbus.Interface(c.bus.get_object(BUS_NAME, OBJECT_PATH), "org.freedesktop.DBus.Properties")
    assert run_until(lambda: not props.Get(IFACE_MANAGER, "Clients"), 10)


def test_get_json(env):
    env.agent("--auto", "allow-once")
    p = mediactl("--json", "get", "--video", '{"width":{"exact":320},"height":{"exact":240},"facingMode":"user"}',
                 "--audio", '{"channelCount":2}')
    tracks = json.loads(p.stdout)["tracks"]
    assert [t["kind"] for t in tracks] == ["audio", "video"]
    audio, video = tracks
    assert (video["settings"]["width"], video["settings"]["height"]) == (320, 240)
    assert video["settings"]["resizeMode"] == "crop-and-scale"
    assert video["label"] == "Test Camera" and len(video["device_id"]) == 32
    assert video["settings"]["deviceId"] == video["device_id"]
    assert audio["settings"]["channelCount"] == 2 and audio["settings"]["sampleRate"] == 48000
    assert audio["settings"]["echoCancellation"] is False


@pytest.mark.parametrize("args, name, code", [
    # Nothing requested, as getUserMedia({}).
    ((), "TypeError", 1),
    (("--video", "false"), "TypeError", 1),
    (("--video", '{"width":'), "SyntaxError", 1),
    (("--video", 'true, "audio": true'), "SyntaxError", 1),
    (("--video", "null"), "TypeError", 1),
    (("--video", '{"width":{"min":"wide"}}'), "TypeError", 1),
    (("--video", "true", "--origin", "https://example.com"), "SecurityError", 1),
    (("--video", '{"facingMode":{"exact":"left"}}'), "OverconstrainedError", 1),
    (("--audio", '{"sampleRate":{"exact":8000}}'), "OverconstrainedError", 1),
    (("--video", "true", "--bogus"), None, 2),
])
def test_get_errors_by_name(env, args, name, code):
    env.agent("--auto", "allow-once")
    p = mediactl("get", *args, check=False)
    assert p.returncode == code, p.stderr
    if name:
        assert error_line(p)[0] == name


def test_get_json_error_names_the_constraint(env):
    env.agent("--auto", "allow-once")
    p = mediactl("--json", "get", "--video", '{"width":{"min":9000}}', check=False)
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert out["error"] == "OverconstrainedError"
    # Before any grant the daemon may not reveal which constraint failed.
    assert out["constraint"] == ""
    assert error_line(p)[0] == "OverconstrainedError"


def test_get_without_an_agent_is_not_allowed(env):
    p = mediactl("get", "--video", "true", check=False)
    assert p.returncode == 1
    assert error_line(p)[0] == "NotAllowedError"


# ---- agent --------------------------------------------------------------------------------

def test_agent_auto_allow_once_names_the_app(env):
    agent = env.agent("--auto", "allow-once")
    p = mediactl("get", "--video", "true", "--reason", "Testing mediactl")
    assert "video: Test Camera" in p.stdout
    line = agent.wait_for(lambda line: line.startswith("mediactl agent: allow-once for "))
    assert line == f"mediactl agent: allow-once for host:{os.path.realpath(MEDIACTL)} (camera)"
    assert agent.stop() == 0


def test_agent_deny_always_makes_get_fail(env):
    agent = env.agent("--auto", "deny-always")
    p = mediactl("get", "--video", "true", check=False)
    assert p.returncode == 1
    assert error_line(p) == ("NotAllowedError", "Permission denied by the user.")
    assert agent.wait_for(lambda line: "deny-always for host:" in line)


def test_agent_json_lines(env):
    agent = env.agent("--auto", "allow-timed", "--seconds", "300", json_output=True)
    mediactl("get", "--audio", "true", "--reason", "Recording a memo")
    line = agent.wait_for(lambda line: '"prompt"' in line)
    event = json.loads(line)
    assert event["decision"] == "allow-timed" and event["seconds"] == 300
    assert event["app_id"] == "host:" + os.path.realpath(MEDIACTL)
    assert event["kinds"] == ["microphone"] and event["reason"] == "Recording a memo"
    assert event["uid"] == os.getuid() and event["pid"] > 0
    assert [(d["kind"], d["label"]) for d in event["devices"]] == [("audioinput", "Test Microphone")]


def test_agent_pick_limits_the_grant_to_the_named_device(env):
    agent = env.agent("--auto", "allow-once", "--pick", "Test NV12 Camera", json_output=True)
    p = mediactl("--json", "get", "--video", "true", "--audio", "true")
    tracks = {t["kind"]: t for t in json.loads(p.stdout)["tracks"]}
    # The camera is the one picked, not the default; the microphone, of which nothing was
    # named, is granted as offered.
    assert tracks["video"]["label"] == "Test NV12 Camera"
    assert tracks["audio"]["label"] == "Test Microphone"
    event = json.loads(agent.wait_for(lambda line: '"prompt"' in line))
    labels = {d["device_id"]: d["label"] for d in event["devices"]}
    assert sorted(labels[i] for i in event["picked"]) == ["Test Microphone", "Test NV12 Camera"]


def test_agent_interactive_answers_from_stdin(env):
    agent = env.agent()
    proc = subprocess.Popen([str(MEDIACTL), "--json", "get", "--video", "true"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, MEDIAGATE_BUS="session"))
    assert agent.wait_for(lambda line: "mediactl wants to use your camera" in line)
    assert agent.wait_for(lambda line: "1. camera" in line and "Test Camera" in line)
    assert agent.wait_for(lambda line: "2. camera" in line and "Test NV12 Camera" in line)
    agent.send("maybe\n")
    assert agent.wait_for(lambda line: "'maybe' is not an answer" in line)
    agent.send("o 2\n")
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert json.loads(out)["tracks"][0]["label"] == "Test NV12 Camera"
    assert agent.wait_for(lambda line: "allow-once for host:" in line and "devices: Test NV12 Camera" in line)


def test_agent_interactive_deny_and_a_withdrawn_question(env):
    agent = env.agent()
    proc = subprocess.Popen([str(MEDIACTL), "get", "--audio", "true"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, MEDIAGATE_BUS="session"))
    assert agent.wait_for(lambda line: "mediactl wants to use your microphone" in line)
    # The client gives up: the daemon cancels the prompt and the agent withdraws the question.
    proc.kill()
    proc.wait()
    assert agent.wait_for(lambda line: "withdrawn" in line)

    p = subprocess.Popen([str(MEDIACTL), "get", "--audio", "true"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=dict(os.environ, MEDIAGATE_BUS="session"))
    assert agent.wait_for(lambda line: "wants to use" in line and agent.count("wants to use your microphone") == 2)
    agent.send("d\n")
    out, err = p.communicate(timeout=10)
    assert p.returncode == 1 and "NotAllowedError" in err
    assert agent.wait_for(lambda line: "deny-once for host:" in line)
    # End of input: nobody is left to ask, so the agent unregisters and exits.
    agent.proc.stdin.close()
    assert agent.proc.wait(10) == 0
    p = mediactl("get", "--audio", "true", check=False)
    assert error_line(p)[0] == "NotAllowedError" and "agent" in error_line(p)[1]


def test_agent_unregisters_on_sigint(env):
    agent = env.agent("--auto", "allow-once")
    assert agent.stop(signal.SIGINT) == 0
    p = mediactl("get", "--video", "true", check=False)
    name, message = error_line(p)
    assert name == "NotAllowedError" and message.startswith("No consent agent is available")
    assert "systemctl --user start mediagate-agent.service" in message


def test_agent_registers_again_after_a_daemon_restart(env):
    agent = env.agent("--auto", "allow-once")
    env.daemon.stop()
    env.daemon.start()
    # The agent registers again as soon as it sees the new owner of the name.
    deadline = time.monotonic() + 10
    while mediactl("get", "--video", "true", check=False).returncode != 0:
        assert time.monotonic() < deadline, "the agent did not register with the new daemon"
        time.sleep(0.1)
    assert agent.wait_for(lambda line: "allow-once for host:" in line)


def test_agent_refuses_prompts_from_others_than_the_daemon(env):
    env.agent("--auto", "allow-once")
    c = Client()
    names = c.bus.list_names()
    owner = c.bus.get_name_owner(BUS_NAME)
    agent_names = [n for n in names if n.startswith(":") and n != owner and n != c.unique_name]
    refused = 0
    for name in agent_names:
        try:
            c.bus.call_blocking(name, "/org/mediagate/mediactl/agent", BUS_NAME + ".Agent", "Prompt", "sa{sv}",
                                ("/fake", {"app_id": "evil"}), timeout=2)
        except dbus.DBusException as e:
            if e.get_dbus_name() == "org.freedesktop.DBus.Error.AccessDenied":
                refused += 1
    assert refused == 1


@pytest.mark.parametrize("args", [
    ("--auto", "maybe"),
    ("--auto", "allow-timed"),
    ("--auto", "allow-once", "--seconds", "10"),
    ("--auto", "allow-timed", "--seconds", "0"),
    ("--auto", "allow-once", "--notifications"),
    ("extra",),
])
def test_agent_usage_errors(env, args):
    p = mediactl("agent", *args, check=False)
    assert p.returncode == 2, p.stderr


# ---- snapshot -----------------------------------------------------------------------------

# The synthetic cameras draw 100% colour bars (BT.601 limited range); in RGB:
BARS_RGB = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
            (255, 0, 255), (255, 0, 0), (0, 0, 255), (0, 0, 0)]
BARS_YUV = [(235, 128, 128), (210, 16, 146), (170, 166, 16), (145, 54, 34),
            (106, 202, 222), (81, 90, 240), (41, 240, 110), (16, 128, 128)]


def read_png(path):
    """A PNG of 8-bit RGB, decoded with zlib alone: (width, height, rows of bytes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc, = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind}"
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour, compression, filtering, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * 3
    assert len(raw) == height * (stride + 1)
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - 3] if x >= 3 else 0
            b = prev[x]
            c = prev[x - 3] if x >= 3 else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 0xff
            elif ftype == 2:
                line[x] = (line[x] + b) & 0xff
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xff
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xff
            else:
                assert ftype == 0, f"filter type {ftype}"
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def close(a, b, tolerance=6):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def test_snapshot_writes_a_png_of_the_chosen_size_with_the_colour_bars(env):
    env.agent("--auto", "allow-once")
    out = env.tmp / "shot.png"
    p = mediactl("snapshot", str(out), "--video", '{"width":{"exact":320},"height":{"exact":240},"facingMode":"user"}')
    assert "320x240 YUYV" in p.stdout and str(out) in p.stdout
    width, height, rows = read_png(out)
    assert (width, height) == (320, 240)
    # Each bar's centre column holds its colour in most rows (the moving block covers a few,
    # the stamp is in the first row).
    for i, rgb in enumerate(BARS_RGB):
        x = (2 * i + 1) * width // 16
        hits = sum(close(row[3 * x:3 * x + 3], rgb) for row in rows[1:])
        assert hits > (height - 1) * 0.7, f"bar {i}: {hits} of {height - 1} rows are {rgb}"


def test_snapshot_of_an_nv12_camera(env):
    env.agent("--auto", "allow-once")
    out = env.tmp / "nv12.png"
    p = mediactl("--json", "snapshot", str(out), "--video", '{"facingMode":{"exact":"environment"}}')
    info = json.loads(p.stdout)
    assert (info["width"], info["height"], info["fourcc"]) == (320, 240, "NV12")
    assert info["track"]["label"] == "Test NV12 Camera"
    width, height, rows = read_png(out)
    assert (width, height) == (320, 240)
    x = 5 * width // 16  # the cyan bar
    assert sum(close(row[3 * x:3 * x + 3], BARS_RGB[2]) for row in rows[1:]) > (height - 1) * 0.7


def test_snapshot_errors(env):
    p = mediactl("snapshot", str(env.tmp / "x.png"), check=False)
    assert p.returncode == 1 and error_line(p)[0] == "NotAllowedError"
    assert not (env.tmp / "x.png").exists()
    env.agent("--auto", "allow-once")
    p = mediactl("snapshot", str(env.tmp / "no-such-dir" / "x.png"), check=False)
    assert p.returncode == 1 and error_line(p)[0] == "System.Error.ENOENT"
    assert mediactl("snapshot", check=False).returncode == 2


# ---- record -------------------------------------------------------------------------------

def read_y4m(path):
    """(header fields, frames as bytes) of a YUV4MPEG2 file."""
    data = path.read_bytes()
    header, _, rest = data.partition(b"\n")
    fields = header.decode().split()
    assert fields[0] == "YUV4MPEG2"
    params = {f[0]: f[1:] for f in fields[1:]}
    w, h = int(params["W"]), int(params["H"])
    cw = (w + 1) // 2
    ch = h if params["C"] == "422" else (h + 1) // 2
    size = w * h + 2 * cw * ch
    frames = []
    while rest:
        assert rest.startswith(b"FRAME\n"), rest[:16]
        frames.append(rest[6:6 + size])
        assert len(frames[-1]) == size, "truncated frame"
        rest = rest[6 + size:]
    return params, frames


def test_record_one_second_of_camera_and_microphone(env):
    env.agent("--auto", "allow-once")
    video, audio = env.tmp / "camera.y4m", env.tmp / "microphone.wav"
    p = mediactl("--json", "record", "--seconds", "1", "--video", '{"width":{"ideal":1280},"height":{"ideal":720}}',
                 "--audio", "true", "--video-out", str(video), "--audio-out", str(audio))
    summary = json.loads(p.stdout)
    assert summary["stopped_by"] == "time" and summary["seconds_requested"] == 1
    assert 0.9 < summary["seconds_recorded"] < 2
    tracks = {t["kind"]: t for t in summary["tracks"]}

    params, frames = read_y4m(video)
    assert (params["W"], params["H"], params["F"], params["I"], params["A"], params["C"]) == \
        ("1280", "720", "30:1", "p", "1:1", "422")
    assert 24 <= len(frames) <= 36, len(frames)
    assert tracks["video"]["frames"] == len(frames) and tracks["video"]["dropped"] == 0
    assert tracks["video"]["bytes"] == len(frames) * 1280 * 720 * 2
    # The planes are where Y4M puts them: the yellow bar's luma and chroma.
    y_plane, u_plane = frames[-1][:1280 * 720], frames[-1][1280 * 720:1280 * 720 + 640 * 720]
    x = 3 * 1280 // 16
    assert sum(y_plane[r * 1280 + x] == BARS_YUV[1][0] for r in range(1, 720)) > 719 * 0.7
    assert sum(u_plane[r * 640 + x // 2] == BARS_YUV[1][1] for r in range(1, 720)) > 719 * 0.7

    with wave.open(str(audio)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 48000)
        n = w.getnframes()
        samples = w.readframes(n)
    assert 0.8 * 48000 <= n <= 1.2 * 48000, n
    assert audio.stat().st_size == 44 + n * 2
    assert tracks["audio"]["bytes"] == n * 2
    # A tone, not silence.
    assert max(abs(v) for v, in struct.iter_unpack("<h", samples[:9600])) > 1000


def test_record_nv12_and_stereo(env):
    env.agent("--auto", "allow-once")
    video, audio = env.tmp / "c.y4m", env.tmp / "m.wav"
    p = mediactl("record", "--seconds", "1", "--video", '{"facingMode":{"exact":"environment"}}',
                 "--audio", '{"channelCount":{"exact":2},"sampleRate":{"exact":16000}}',
                 "--video-out", str(video), "--audio-out", str(audio))
    assert "Recorded 1.0 s." in p.stdout
    assert "Y4M C420" in p.stdout and "16000 Hz, 2 channels" in p.stdout
    params, frames = read_y4m(video)
    assert (params["W"], params["H"], params["F"], params["C"]) == ("320", "240", "15:1", "420")
    assert 12 <= len(frames) <= 18
    with wave.open(str(audio)) as w:
        assert (w.getnchannels(), w.getframerate()) == (2, 16000)
        assert 0.8 * 16000 <= w.getnframes() <= 1.2 * 16000


def test_record_stops_early_when_the_track_ends(env):
    env.agent("--auto", "allow-once")
    video = env.tmp / "c.y4m"
    proc = subprocess.Popen([str(MEDIACTL), "--json", "record", "--seconds", "30", "--video-out", str(video)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, MEDIAGATE_BUS="session"))
    c = Client()
    props = dbus.Interface(c.bus.get_object(BUS_NAME, OBJECT_PATH), "org.freedesktop.DBus.Properties")
    assert run_until(lambda: props.Get(IFACE_MANAGER, "CameraLive"), 10)
    time.sleep(0.3)
    dbus.Interface(c.bus.get_object(BUS_NAME, OBJECT_PATH), IFACE_TESTING).RemoveDevice("cam")
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 1
    summary = json.loads(out)
    assert summary["stopped_by"] == "ended" and summary["seconds_recorded"] < 10
    track, = summary["tracks"]
    assert track["ended"] == "device-removed"
    params, frames = read_y4m(video)
    assert len(frames) == track["frames"] > 0


def test_record_while_muted_gets_no_frames(env):
    env.agent("--auto", "allow-once")
    mediactl("mute", "camera", "on")
    video = env.tmp / "c.y4m"
    p = mediactl("record", "--seconds", "1", "--video-out", str(video))
    assert "0 frames" in p.stdout and "was muted" in p.stdout
    params, frames = read_y4m(video)
    assert frames == []


def test_record_stops_cleanly_on_sigint(env):
    env.agent("--auto", "allow-once")
    audio = env.tmp / "m.wav"
    proc = subprocess.Popen([str(MEDIACTL), "record", "--seconds", "60", "--audio-out", str(audio)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, MEDIAGATE_BUS="session"))
    c = Client()
    props = dbus.Interface(c.bus.get_object(BUS_NAME, OBJECT_PATH), "org.freedesktop.DBus.Properties")
    assert run_until(lambda: props.Get(IFACE_MANAGER, "MicrophoneLive"), 10)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "Stopped by a signal" in out
    with wave.open(str(audio)) as w:
        assert w.getnframes() > 0
        assert audio.stat().st_size == 44 + w.getnframes() * 2


@pytest.mark.parametrize("args", [
    ("--video-out", "x.y4m"),
    ("--seconds", "0", "--video-out", "x.y4m"),
    ("--seconds", "1"),
    ("--seconds", "1", "--video", "true", "--audio-out", "x.wav"),
])
def test_record_usage_errors(env, args):
    assert mediactl("record", *args, check=False).returncode == 2


# ---- mute ---------------------------------------------------------------------------------

def manager_prop(name):
    c = Client()
    try:
        return unwrap(c.bus.get_object(BUS_NAME, OBJECT_PATH).Get(
            IFACE_MANAGER, name, dbus_interface="org.freedesktop.DBus.Properties"))
    finally:
        c.close()


def test_mute_on_and_off(env):
    assert manager_prop("MicrophoneMuted") is False
    p = mediactl("mute", "microphone", "on")
    assert "muted" in p.stdout
    assert manager_prop("MicrophoneMuted") is True and manager_prop("CameraMuted") is False
    assert json.loads(mediactl("--json", "mute", "microphone", "off").stdout) == {"kind": "microphone", "muted": False}
    assert manager_prop("MicrophoneMuted") is False


def test_mute_needs_polkit(env):
    env.polkit.SetAllowed(["org.mediagate.camera", "org.mediagate.microphone"])
    p = mediactl("mute", "camera", "on", check=False)
    assert p.returncode == 1 and error_line(p)[0] == "AccessDenied"
    assert manager_prop("CameraMuted") is False


@pytest.mark.parametrize("args", [(), ("camera",), ("speaker", "on"), ("camera", "maybe"), ("camera", "on", "x")])
def test_mute_usage_errors(env, args):
    assert mediactl("mute", *args, check=False).returncode == 2


# ---- status and monitor -------------------------------------------------------------------

class LineReader:
    """A long-running mediactl whose stdout is read line by line."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([str(MEDIACTL), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=dict(os.environ, MEDIAGATE_BUS="session"))
        self.lines, self.buffer = [], ""

    def pump(self, timeout=0.0):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if r:
            chunk = os.read(self.proc.stdout.fileno(), 65536).decode()
            self.buffer += chunk
            *complete, self.buffer = self.buffer.split("\n")
            self.lines += complete
        return False

    def wait_for(self, predicate, timeout=10):
        """Run the GLib loop (for in-process agents) while waiting for a line."""
        found = []

        def check():
            self.pump()
            found[:] = [line for line in self.lines if predicate(line)]
            return bool(found)
        assert run_until(check, timeout), f"no such line in {self.lines}"
        return found[0]

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=10)
        self.lines += (self.buffer + out).split("\n")
        self.stderr = err
        return self.proc.returncode


@pytest.fixture
def readers():
    made = []

    def make(*args):
        r = LineReader(*args)
        made.append(r)
        return r

    yield make
    for r in made:
        r.stop()


def start_video(clients):
    c = clients()
    code, results = c.get_user_media({"video": True})
    assert code == 0, results
    track = c.track(results["tracks"][0])
    return c, track, track.open()


def test_status_idle_and_live(env, clients, agents):
    idle = json.loads(mediactl("--json", "status").stdout)
    assert idle == {"camera": {"state": "off", "accessible": False, "live": False, "muted": False},
                    "microphone": {"state": "off", "accessible": False, "live": False, "muted": False},
                    "clients": []}
    assert "Apps:        none" in mediactl("status").stdout

    agents("allow-once")
    c, track, stream = start_video(clients)
    stream.next_frame()
    live = json.loads(mediactl("--json", "status").stdout)
    assert live["camera"]["state"] == "live" and live["microphone"]["state"] == "off"
    entry, = live["clients"]
    assert entry["kind"] == "camera" and entry["unique_name"] == c.unique_name and entry["live"]
    assert entry["app_id"].startswith("host:")
    assert entry["pid"] == os.getpid() and entry["uid"] == os.getuid() and entry["process"]
    assert abs(entry["since_usec"] / 1e6 - time.time()) < 60 and entry["state"] == "live"
    text = mediactl("status").stdout
    assert "Camera:      live" in text and entry["app_id"] in text
    header, row = text.split("\n\n")[1].splitlines()
    assert header.split() == ["APP", "ORIGIN", "KIND", "STATE", "PROCESS", "PID", "USER", "SINCE"]
    assert row.split()[:6] == [entry["app_id"], "-", "camera", "live", entry["process"], str(os.getpid())]

    mediactl("mute", "microphone", "on")
    assert json.loads(mediactl("--json", "status").stdout)["microphone"]["muted"] is True
    assert "Microphone:  off (privacy switch on: muted)" in mediactl("status").stdout


def test_status_without_the_daemon(env):
    env.daemon.stop()
    p = mediactl("status", check=False)
    # In words, with what to do next, not the bus's ServiceUnknown.
    assert p.returncode == 1 and p.stderr.startswith("mediactl: mediagated is not running on the session bus")
    assert "mediagated --session" in p.stderr and "ServiceUnknown" not in p.stderr


def test_monitor_json_records_a_capture_with_the_hold(env, clients, agents, readers):
    monitor = readers("--json", "monitor")
    first = json.loads(monitor.wait_for(lambda line: '"initial"' in line))
    assert first["state"]["camera"]["live"] is False and first["changed"] == []

    agents("allow-once")
    c, track, stream = start_video(clients)
    stream.next_frame()
    live_line = json.loads(monitor.wait_for(lambda line: '"CameraLive"' in line and '"live":true' in line))
    assert live_line["event"] == "changed"
    assert live_line["state"]["camera"]["state"] == "live"
    listed = json.loads(monitor.wait_for(lambda line: c.unique_name in line))
    assert any(e["unique_name"] == c.unique_name and e["kind"] == "camera" for e in listed["state"]["clients"])

    stream.close()
    track.iface.Stop()
    off_line = json.loads(monitor.wait_for(
        lambda line: '"CameraLive"' in line and json.loads(line)["state"]["camera"]["live"] is False, 15))
    # A capture cannot hide from the indicator: Live stayed on for at least three seconds.
    assert off_line["monotonic_usec"] - live_line["monotonic_usec"] >= 2.9e6
    times = [json.loads(line)["monotonic_usec"] for line in monitor.lines if line.startswith("{")]
    assert times == sorted(times)
    assert monitor.stop() == 0


def test_monitor_text_and_a_daemon_restart(env, clients, agents, readers):
    monitor = readers("monitor")
    monitor.wait_for(lambda line: "camera: off  microphone: off  apps: none" in line)
    env.daemon.stop()
    monitor.wait_for(lambda line: "mediagated left the bus" in line)
    env.daemon.start()
    monitor.wait_for(lambda line: "mediagated started: camera: off" in line)
    agents("allow-once")
    c, track, stream = start_video(clients)
    stream.next_frame()
    line = monitor.wait_for(lambda line: "camera: live" in line and "(camera, live)" in line)
    # Every line starts with the local time, to the millisecond.
    date, clock = line.split()[:2]
    time.strptime(date + " " + clock.split(".")[0], "%Y-%m-%d %H:%M:%S")
    assert len(clock.split(".")[1]) == 3
    assert monitor.stop(signal.SIGINT) == 0


def test_monitor_shows_the_privacy_switch(env, readers):
    monitor = readers("--json", "monitor")
    monitor.wait_for(lambda line: '"initial"' in line)
    mediactl("mute", "camera", "on")
    line = json.loads(monitor.wait_for(lambda line: '"CameraMuted"' in line, 5))
    assert line["state"]["camera"]["muted"] is True


# ---- indicator ----------------------------------------------------------------------------

WATCHER = "org.kde.StatusNotifierWatcher"
ITEM_IFACE = "org.kde.StatusNotifierItem"


class FakeWatcher(dbus.service.Object):
    """The panel's side of the protocol, as small as it gets: it owns the watcher name, records
    RegisterStatusNotifierItem and reads the item's properties."""

    def __init__(self):
        self.bus = dbus.bus.BusConnection(os.environ["DBUS_SESSION_BUS_ADDRESS"])
        self.name = dbus.service.BusName(WATCHER, self.bus)
        super().__init__(self.bus, "/StatusNotifierWatcher")
        self.registered = []
        self.signals = []
        self.bus.add_signal_receiver(lambda *args, member: self.signals.append((str(member), args)),
                                     None, ITEM_IFACE, None, "/StatusNotifierItem", member_keyword="member")

    @dbus.service.method(WATCHER, in_signature="s", out_signature="", sender_keyword="sender")
    def RegisterStatusNotifierItem(self, service, sender=None):
        self.registered.append((str(service), str(sender)))

    def item(self, index=-1):
        service, sender = self.registered[index]
        return self.bus.get_object(sender, "/StatusNotifierItem")

    def props(self, index=-1):
        return unwrap(self.item(index).GetAll(ITEM_IFACE, dbus_interface="org.freedesktop.DBus.Properties"))

    def close(self):
        self.remove_from_connection()
        self.name = None  # releases the name
        self.bus.close()


@pytest.fixture
def watcher():
    w = FakeWatcher()
    yield w
    try:
        w.close()
    except Exception:
        pass


def test_indicator_registers_and_shows_idle_then_live(env, clients, agents, readers, watcher):
    indicator = readers("indicator")
    assert run_until(lambda: watcher.registered, 10), indicator.lines
    service, sender = watcher.registered[0]
    assert service == f"org.kde.StatusNotifierItem-{indicator.proc.pid}-1"
    assert watcher.bus.get_name_owner(service) == sender
    props = watcher.props()
    assert (props["Category"], props["Id"], props["Status"]) == ("Hardware", "mediagate", "Passive")
    assert props["IconName"] == "camera-web-symbolic" and props["ItemIsMenu"] is False
    assert props["Title"] == "Camera and microphone off"

    agents("allow-once")
    c, track, stream = start_video(clients)
    stream.next_frame()
    assert run_until(lambda: ("NewStatus", ("NeedsAttention",)) in watcher.signals, 10), watcher.signals
    props = watcher.props()
    assert (props["Status"], props["IconName"], props["AttentionIconName"]) == \
        ("NeedsAttention", "camera-web", "camera-web")
    assert props["Title"] == "Camera in use"
    assert run_until(lambda: "camera live" in watcher.props()["ToolTip"][3], 10)
    icon, pixmaps, title, description = watcher.props()["ToolTip"]
    app_id = json.loads(mediactl("--json", "status").stdout)["clients"][0]["app_id"]
    assert (icon, pixmaps, title) == ("camera-web", [], "Camera in use")
    assert f"{app_id}: camera live" in description and "Camera: live" in description
    assert run_until(lambda: {"NewIcon", "NewToolTip", "NewTitle", "NewAttentionIcon"} <=
                     {m for m, _ in watcher.signals}, 5), watcher.signals

    # Stopped: back to Passive once the 3-second hold is over.
    stream.close()
    track.iface.Stop()
    assert run_until(lambda: watcher.signals[-1:] and ("NewStatus", ("Passive",)) in watcher.signals, 15)
    assert watcher.props()["Status"] == "Passive"


def test_indicator_waits_for_a_watcher_and_shows_the_privacy_switch(env, readers):
    mediactl("mute", "camera", "on")
    indicator = readers("indicator")
    indicator.wait_for(lambda line: "no StatusNotifierWatcher" in line)
    w = FakeWatcher()
    try:
        assert run_until(lambda: w.registered, 10), indicator.lines
        props = w.props()
        assert (props["Status"], props["IconName"], props["Title"]) == \
            ("Active", "camera-disabled-symbolic", "Camera muted")
        assert "Camera: off (muted)" in props["ToolTip"][3]
    finally:
        w.close()
    indicator.wait_for(lambda line: "registered org.kde.StatusNotifierItem-" in line)


def test_indicator_follows_the_daemon(env, readers, watcher):
    indicator = readers("indicator")
    assert run_until(lambda: watcher.registered, 10)
    env.daemon.stop()
    assert run_until(lambda: watcher.props()["Title"].endswith("mediagated is not running"), 10)
    assert watcher.props()["Status"] == "Passive"
    env.daemon.start()
    assert run_until(lambda: watcher.props()["Title"] == "Camera and microphone off", 10)
    assert indicator.proc.poll() is None


def test_indicator_escapes_markup_in_app_names(env, readers, watcher):
    """The tooltip's body is markup for the panel: an executable named with <, > and & must not
    inject any."""
    odd = env.tmp / "a&b<i>"
    odd.mkdir()
    for f in ("mediactl", "libmediagate.so.1"):
        (odd / f).write_bytes((MEDIACTL.parent / f).read_bytes())
    (odd / "mediactl").chmod(0o755)
    env.agent("--auto", "allow-once")
    readers("indicator")
    assert run_until(lambda: watcher.registered, 10)
    recorder = subprocess.Popen([str(odd / "mediactl"), "record", "--seconds", "5", "--audio-out", str(env.tmp / "m.wav")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=dict(os.environ, MEDIAGATE_BUS="session"))
    try:
        assert run_until(lambda: "microphone live" in watcher.props()["ToolTip"][3], 10)
        description = watcher.props()["ToolTip"][3]
        assert "a&amp;b&lt;i&gt;/mediactl: microphone live" in description
        assert "<i>" not in description
    finally:
        recorder.terminate()
        recorder.wait(10)


# ---- permission ---------------------------------------------------------------------------

def test_permission_follows_the_decisions(env):
    assert mediactl("permission").stdout.split() == ["camera", "prompt", "microphone", "prompt"]
    agent = env.agent("--auto", "allow-always")
    mediactl("get", "--video", "true")
    agent.stop()
    # An allow-always of the camera: granted without a prompt; the microphone still asks.
    assert json.loads(mediactl("--json", "permission").stdout) == {"camera": "granted", "microphone": "prompt"}
    assert mediactl("permission", "camera").stdout.split() == ["camera", "granted"]
    # And the grant does serve a request without any agent.
    assert "video: Test Camera" in mediactl("get", "--video", "true").stdout


def test_permission_errors(env):
    p = mediactl("permission", "camera", "--origin", "https://example.com", check=False)
    assert p.returncode == 1 and error_line(p)[0] == "SecurityError"
    assert mediactl("permission", "speaker", check=False).returncode == 2
    assert mediactl("permission", "camera", "microphone", check=False).returncode == 2


# ---- agent --notifications ----------------------------------------------------------------

NOTIFY = "org.freedesktop.Notifications"


def start_notification_mock(capabilities=None):
    """python-dbusmock's notification daemon on the session bus: (process, mock interface)."""
    args = ["/usr/bin/python3", "-m", "dbusmock", "--session", "--template", "notification_daemon"]
    if capabilities is not None:
        args += ["-p", json.dumps({"capabilities": " ".join(capabilities)})]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bus = dbus.bus.BusConnection(os.environ["DBUS_SESSION_BUS_ADDRESS"])
    deadline = time.monotonic() + 10
    while not bus.name_has_owner(NOTIFY):
        assert time.monotonic() < deadline, "notification mock did not start"
        time.sleep(0.02)
    mock = dbus.Interface(bus.get_object(NOTIFY, "/org/freedesktop/Notifications"), "org.freedesktop.DBus.Mock")
    return proc, mock


@pytest.fixture
def notifications():
    """The notification mock with buttons (the "actions" capability) and body markup."""
    proc, mock = start_notification_mock(["actions", "body", "body-markup", "icon-static", "persistence"])
    yield mock
    proc.terminate()
    proc.wait(10)


def wait_for_notify(mock, count=1, timeout=10):
    deadline = time.monotonic() + timeout
    while len(mock.GetMethodCalls("Notify")) < count:
        assert time.monotonic() < deadline, "no Notify() call"
        time.sleep(0.02)
    return unwrap(mock.GetMethodCalls("Notify")[count - 1][1])


def start_get(*args):
    return subprocess.Popen([str(MEDIACTL), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, MEDIAGATE_BUS="session"))


@pytest.mark.parametrize("action, decision, code", [
    ("allow-once", "allow-once", 0),
    ("allow-always", "allow-always", 0),
    ("deny", "deny-once", 1),
])
def test_agent_notifications_actions(env, notifications, action, decision, code):
    # --pick names the camera, so that the notification asks no device first.
    agent = env.agent("--notifications", "--pick", "Test Camera", json_output=True)
    get = start_get("get", "--video", "true", "--reason", "Say <b>cheese</b> & smile")
    app_name, replaces, icon, summary, body, actions, hints, timeout = wait_for_notify(notifications)
    assert (app_name, replaces, icon, timeout) == ("mediagate", 0, "camera-web", 0)
    # Named by its program (it has no desktop entry), its app id beside.
    assert summary == "mediactl wants to use your camera"
    assert f"mediactl (host:{os.path.realpath(MEDIACTL)})" in body
    # The app's own words are quoted and escaped for the body's markup.
    assert "Say &lt;b&gt;cheese&lt;/b&gt; &amp; smile" in body and "Test Camera" in body
    assert actions == ["allow-once", "Allow once", "deny", "Deny", "allow-timed", "Allow for 10 minutes",
                       "allow-always", "Always allow", "deny-always", "Always deny"]
    assert hints["urgency"] == 2 and hints["resident"] is True
    notifications.EmitSignal(NOTIFY, "ActionInvoked", "us", [1, action])
    out, err = get.communicate(timeout=10)
    assert get.returncode == code, err
    if code:
        assert "NotAllowedError" in err
    answer = json.loads(agent.wait_for(lambda line: '"event":"prompt"' in line))
    assert answer["decision"] == decision
    # An answered notification is taken down.
    assert run_until(lambda: notifications.GetMethodCalls("CloseNotification"), 5)


def test_agent_notifications_closed_is_dismissed(env, notifications):
    agent = env.agent("--notifications")
    get = start_get("get", "--audio", "true")
    wait_for_notify(notifications)
    notifications.EmitSignal(NOTIFY, "NotificationClosed", "uu", [1, 2])
    out, err = get.communicate(timeout=10)
    assert get.returncode == 1 and "NotAllowedError: The prompt was dismissed." in err
    assert agent.wait_for(lambda line: "dismissed for host:" in line and "(microphone)" in line)
    # Other programs' notifications and unknown actions decide nothing.
    get = start_get("get", "--audio", "true")
    wait_for_notify(notifications, 2)
    notifications.EmitSignal(NOTIFY, "ActionInvoked", "us", [77, "allow-once"])
    notifications.EmitSignal(NOTIFY, "ActionInvoked", "us", [2, "default"])
    time.sleep(0.3)
    assert get.poll() is None
    notifications.EmitSignal(NOTIFY, "ActionInvoked", "us", [2, "allow-once"])
    assert get.wait(10) == 0


def test_agent_notifications_withdrawn_when_the_client_leaves(env, notifications):
    agent = env.agent("--notifications")
    get = start_get("get", "--video", "true")
    wait_for_notify(notifications)
    get.kill()
    get.wait()
    assert agent.wait_for(lambda line: "withdrawn" in line)
    deadline = time.monotonic() + 5
    while not notifications.GetMethodCalls("CloseNotification"):
        assert time.monotonic() < deadline, "the notification stayed"
        time.sleep(0.02)
    assert unwrap(notifications.GetMethodCalls("CloseNotification")[0][1]) == [1]


def test_agent_notifications_without_a_notification_service(env):
    agent = env.agent("--notifications")
    p = mediactl("get", "--video", "true", check=False)
    name, message = error_line(p)
    assert p.returncode == 1 and name == "NotAllowedError" and message.startswith("The prompt was dismissed.")
    assert agent.wait_for(lambda line: "dismissed for host:" in line)


# ---- grants, history, devices --all -------------------------------------------------------

MEDIACTL_APP = "host:" + os.path.realpath(MEDIACTL)


@pytest.fixture
def admin_env(env):
    env.polkit.SetAllowed(["org.mediagate.camera", "org.mediagate.microphone", "org.mediagate.mute",
                           "org.mediagate.manage", "org.mediagate.grant"])
    return env


def test_grants_from_a_prompt_listed_and_revoked(admin_env):
    assert mediactl("grants").stdout.strip() == "No grants."
    agent = admin_env.agent("--auto", "allow-always")
    mediactl("get", "--audio", "true")
    agent.stop()
    grant, = json.loads(mediactl("--json", "grants", "list").stdout)
    assert (grant["app_id"], grant["origin"], grant["kind"], grant["decision"]) == (MEDIACTL_APP, "", "microphone", "allow")
    assert grant["uid"] == os.getuid() and grant["expires_usec"] is None and grant["devices"] is None
    lines = mediactl("grants").stdout.splitlines()
    assert lines[0].split() == ["USER", "APP", "ORIGIN", "KIND", "DECISION", "UNTIL", "DEVICES"]
    assert lines[1].split() == [str(os.getuid()), MEDIACTL_APP, "-", "microphone", "allow", "never", "all"]

    # The grant serves without an agent; revoked, the request needs one again.
    mediactl("get", "--audio", "true")
    assert "it will ask again" in mediactl("grants", "revoke", MEDIACTL_APP, "microphone").stdout
    assert json.loads(mediactl("--json", "grants").stdout) == []
    p = mediactl("get", "--audio", "true", check=False)
    name, message = error_line(p)
    assert name == "NotAllowedError" and message.startswith("No consent agent is available")


def test_grants_set_with_filters_and_expiry(admin_env):
    mediactl("grants", "set", MEDIACTL_APP, "camera", "deny")
    mediactl("grants", "set", "org.example.App", "microphone", "allow", "--origin", "https://meet.example.com",
             "--seconds", "600")
    before = time.time()
    everything = json.loads(mediactl("--json", "grants").stdout)
    assert len(everything) == 2
    timed, = json.loads(mediactl("--json", "grants", "--kind", "microphone").stdout)
    assert timed["origin"] == "https://meet.example.com"
    assert 590 < timed["expires_usec"] / 1e6 - before < 610
    denied, = json.loads(mediactl("--json", "grants", "--app", MEDIACTL_APP).stdout)
    assert denied["decision"] == "deny"
    # A stored deny refuses without asking anyone.
    agent = admin_env.agent("--auto", "allow-once")
    p = mediactl("get", "--video", "true", check=False)
    assert p.returncode == 1 and error_line(p)[0] == "NotAllowedError"
    agent.read_lines(0.3)
    assert agent.count("allow-once for") == 0


def test_grants_revoke_ends_a_live_recording(admin_env):
    agent = admin_env.agent("--auto", "allow-always")
    proc = subprocess.Popen([str(MEDIACTL), "--json", "record", "--seconds", "30", "--video-out",
                             str(admin_env.tmp / "c.y4m")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, MEDIAGATE_BUS="session"))
    assert agent.wait_for(lambda line: "allow-always for" in line)
    time.sleep(0.5)
    mediactl("grants", "revoke", MEDIACTL_APP, "camera")
    out, err = proc.communicate(timeout=10)
    summary = json.loads(out)
    assert summary["stopped_by"] == "ended" and summary["tracks"][0]["ended"] == "revoked"


def test_grants_usage_errors(admin_env):
    for args in (("set", MEDIACTL_APP, "camera"), ("set", MEDIACTL_APP, "camera", "maybe"),
                 ("set", MEDIACTL_APP, "speaker", "allow"), ("revoke", MEDIACTL_APP),
                 ("set", MEDIACTL_APP, "camera", "deny", "--seconds", "5"), ("list", "extra"),
                 ("--uid", "0", "--all-users"), ("frobnicate",)):
        assert mediactl("grants", *args, check=False).returncode == 2, args


def test_other_users_need_the_admin(env):
    # polkit allows camera, microphone and mute here, not org.mediagate.manage.
    p = mediactl("grants", "--all-users", check=False)
    assert p.returncode == 1 and error_line(p)[0] == "AccessDenied"
    p = mediactl("grants", "set", "org.example.App", "camera", "allow", "--uid", str(os.getuid() + 1), check=False)
    assert p.returncode == 1 and error_line(p)[0] == "AccessDenied"
    p = mediactl("history", "--all-users", check=False)
    assert p.returncode == 1 and error_line(p)[0] == "AccessDenied"
    p = mediactl("devices", "--all", check=False)
    assert p.returncode == 1 and error_line(p)[0] == "AccessDenied"
    # One's own needs nothing.
    assert mediactl("grants").returncode == 0 and mediactl("history").returncode == 0


def test_history_of_a_capture(admin_env):
    start = time.time()
    admin_env.agent("--auto", "allow-once")
    mediactl("record", "--seconds", "1", "--audio-out", str(admin_env.tmp / "m.wav"))
    events = json.loads(mediactl("--json", "history").stdout)
    mine = [e for e in events if e["app_id"] == MEDIACTL_APP and e["kind"] == "microphone"]
    assert [e["event"] for e in mine] == ["prompted", "granted", "started", "stopped"]
    assert all(e["time_usec"] / 1e6 >= start - 1 for e in mine)
    assert 0.8e6 < mine[-1]["duration_usec"] < 3e6
    assert mine[0]["extra"]["device"] == "synthetic:mic"
    text = mediactl("history", "--kind", "microphone").stdout.splitlines()
    assert text[0].split()[:3] == ["TIME", "USER", "APP"] and len(text) == 5
    # --since filters: nothing happened in the future, all of it in the last hour.
    assert json.loads(mediactl("--json", "history", "--since", f"@{int(time.time()) + 60}").stdout) == []
    assert len(json.loads(mediactl("--json", "history", "--since", "1h").stdout)) == len(events)
    assert json.loads(mediactl("--json", "history", "--kind", "camera").stdout) == []
    assert mediactl("history", "--since", "soon", check=False).returncode == 2


def test_devices_all_shows_who_captures(admin_env):
    admin_env.agent("--auto", "allow-once")
    proc = subprocess.Popen([str(MEDIACTL), "record", "--seconds", "30", "--audio-out", str(admin_env.tmp / "m.wav")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, MEDIAGATE_BUS="session"))
    try:
        deadline = time.monotonic() + 10
        while True:
            devices = {d["hardware_id"]: d for d in json.loads(mediactl("--json", "devices", "--all").stdout)}
            if devices["synthetic:mic"]["state"] == "capturing":
                break
            assert time.monotonic() < deadline, devices
            time.sleep(0.1)
        assert set(devices) == {"synthetic:cam", "synthetic:nv12-cam", "synthetic:mic"}
        mic = devices["synthetic:mic"]
        assert (mic["kind"], mic["label"], mic["backend"], mic["default"]) == \
            ("audioinput", "Test Microphone", "synthetic", True)
        client, = mic["clients"]
        assert client["app_id"] == MEDIACTL_APP and client["uid"] == os.getuid()
        assert devices["synthetic:cam"]["state"] == "idle" and devices["synthetic:cam"]["clients"] == []
        table = mediactl("devices", "--all").stdout
        assert "capturing" in table and MEDIACTL_APP in table
    finally:
        proc.terminate()
        proc.wait(10)


# ---- policy -------------------------------------------------------------------------------

def test_policy_check_explains_and_reload_applies(admin_env):
    d = admin_env.daemon
    (d.policy_dir / "10-no-camera.conf").write_text(
        f"[Rule]\nApps={MEDIACTL_APP}\nKinds=camera\nDecision=deny\n")
    (d.policy_dir / "20-meet.conf").write_text(
        "[Brokers]\nApps=org.mozilla.firefox\n"
        "[Rule]\nApps=org.mozilla.firefox\nOrigins=https://meet.example.com\nDecision=allow\nLock=yes\n")
    config = ["--config", str(d.config_file)]

    verdict = json.loads(mediactl("--json", "policy", "check", *config, "--app", MEDIACTL_APP, "--kind", "camera").stdout)
    assert (verdict["decision"], verdict["locked"], verdict["line"]) == ("deny", True, 1)
    assert verdict["file"].endswith("10-no-camera.conf") and verdict["errors"] == []
    assert verdict["outcome"].startswith("denied")
    text = mediactl("policy", "check", *config, "--app", "org.mozilla.firefox", "--origin", "https://MEET.example.com:443",
                    "--kind", "microphone").stdout
    assert "Decision:  allow (locked)" in text and "20-meet.conf:3" in text and "at https://meet.example.com" in text
    none = json.loads(mediactl("--json", "policy", "check", *config, "--app", MEDIACTL_APP, "--kind", "microphone").stdout)
    assert none["decision"] == "none" and none["file"] is None and "prompt" in none["outcome"]

    shown = mediactl("policy", "show", "--directory", str(d.policy_dir)).stdout
    assert "[Brokers] Apps=org.mozilla.firefox" in shown and "10-no-camera.conf:1: deny:" in shown

    # The daemon started before the files: it follows them after a reload.
    agent = admin_env.agent("--auto", "allow-once")
    mediactl("get", "--video", "true")
    assert agent.wait_for(lambda line: "(camera)" in line)
    assert "read the policy again" in mediactl("policy", "reload").stdout
    p = mediactl("get", "--video", "true", check=False)
    assert p.returncode == 1 and error_line(p)[0] == "NotAllowedError"
    agent.read_lines(0.3)
    assert agent.count("(camera)") == 1  # the deny needed nobody to be asked
    mediactl("get", "--audio", "true")


def test_policy_broken_files_are_reported(env, tmp_path):
    policy = tmp_path / "p"
    policy.mkdir()
    (policy / "50-typo.conf").write_text("[Rule]\nUsers=no-such-user-here\nDecision=allow\n")
    p = mediactl("policy", "check", "--directory", str(policy), "--app", "org.example.App", "--kind", "camera",
                 check=False)
    # The verdict is shown, but a broken file fails the check, as `visudo -c` does.
    assert p.returncode == 1 and "Decision:  deny (locked)" in p.stdout
    # The problem is told once: in the explanation, which quotes it.
    assert "50-typo.conf:2: unknown user" in p.stdout and "50-typo.conf:2" not in p.stderr
    shown = json.loads(mediactl("--json", "policy", "--directory", str(policy), check=False).stdout)
    assert shown["rules"] == 1 and len(shown["errors"]) == 1 and "50-typo.conf:2" in shown["errors"][0]


def test_policy_errors(env):
    p = mediactl("policy", "reload", check=False)
    assert p.returncode == 1 and error_line(p)[0] == "AccessDenied"
    p = mediactl("policy", "--config", "/nonexistent/mediagated.conf", check=False)
    assert p.returncode == 1 and error_line(p)[0] == "System.Error.ENOENT"
    for args in (("check", "--app", "x"), ("check", "--kind", "camera"), ("show", "--app", "x"), ("frob",),
                 ("check", "--app", "x", "--kind", "speaker"), ("--directory", "/a", "--config", "/b")):
        assert mediactl("policy", *args, check=False).returncode == 2, args
