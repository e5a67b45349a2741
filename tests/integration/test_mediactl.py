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
    assert agent.wait_for(lambda line: "asks to use your camera" in line)
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
    assert agent.wait_for(lambda line: "asks to use your microphone" in line)
    # The client gives up: the daemon cancels the prompt and the agent withdraws the question.
    proc.kill()
    proc.wait()
    assert agent.wait_for(lambda line: "withdrawn" in line)

    p = subprocess.Popen([str(MEDIACTL), "get", "--audio", "true"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=dict(os.environ, MEDIAGATE_BUS="session"))
    assert agent.wait_for(lambda line: "asks to use" in line and agent.count("asks to use your microphone") == 2)
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
    assert error_line(p) == ("NotAllowedError", "No consent agent is available.")


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
    ("extra",),
])
def test_agent_usage_errors(env, args):
    p = mediactl("agent", *args, check=False)
    assert p.returncode == 2, p.stderr
