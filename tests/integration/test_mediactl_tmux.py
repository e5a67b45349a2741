"""mediactl on a real terminal, under tmux: the terminal agent's question answered with keys (in
Korean with LANGUAGE=ko), `status` while an app captures and `stop` ending it, as a person at a
terminal would see them."""

import json
import os
import shlex
import subprocess
import time

import pytest

from conftest import MEDIACTL
from mgclient import Client, run_until
from test_mediactl import SYNTHETIC, start_get


class Tmux:
    """A tmux server of its own (its own socket), one session, windows run commands."""

    def __init__(self, tmp_path, env):
        self.socket = str(tmp_path / "tmux.sock")
        self.env = dict(os.environ, MEDIAGATE_BUS="session", TERM="xterm-256color", **env)
        # The shell window runs a plain bash, not the user's login shell: whatever a profile does
        # at start (a version manager's rehash waiting on its lock, say) is not the test's.
        self.run("new-session", "-d", "-s", "t", "-x", "160", "-y", "50", "-n", "shell",
                 "bash --noprofile --norc")

    def run(self, *args):
        return subprocess.run(["tmux", "-S", self.socket, *args], env=self.env, check=True, capture_output=True,
                              text=True, timeout=10).stdout

    def window(self, name, command):
        self.run("new-window", "-d", "-t", "t", "-n", name, command + "; sleep 600")

    def keys(self, window, *keys):
        self.run("send-keys", "-t", f"t:{window}", *keys)

    def screen(self, window):
        return self.run("capture-pane", "-p", "-J", "-t", f"t:{window}", "-S", "-200")

    def wait_for(self, window, text, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen(window)
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not on window {window}:\n{self.screen(window)}")

    def kill(self):
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], env=self.env, capture_output=True, timeout=10)


@pytest.fixture
def env(daemon_factory, polkit, tmp_path):
    polkit.SetAllowed(["org.mediagate.camera", "org.mediagate.microphone", "org.mediagate.manage"])
    daemon = daemon_factory(synthetic=SYNTHETIC).start()
    made = []

    def tmux(**env):
        t = Tmux(tmp_path, env)
        made.append(t)
        return t

    yield tmux
    for t in made:
        t.kill()


def test_the_terminal_agent_asks_in_korean_and_takes_keys(env):
    tmux = env(LANG="C.UTF-8", LANGUAGE="ko")
    tmux.window("agent", shlex.quote(str(MEDIACTL)) + " agent")
    tmux.wait_for("agent", "질문이 여기에 표시됩니다")
    get = start_get("--json", "get", "--video", "true", "--reason", "화상 회의")
    screen = tmux.wait_for("agent", "mediactl에서 카메라를 사용하려고 합니다")
    assert "앱: mediactl (host:" in screen and "사유: \u201c화상 회의\u201d" in screen
    assert "1. 카메라  Test Camera" in screen and "2. 카메라  Test NV12 Camera" in screen
    assert "허용할까요? [o] 한 번, [a] 항상, [t N] N분 동안, [d] 거부, [n] 항상 거부." in screen

    tmux.keys("agent", "maybe", "Enter")
    tmux.wait_for("agent", "'maybe'은(는) 올바른 답이 아닙니다.")
    tmux.keys("agent", "o 2", "Enter")
    out, err = get.communicate(timeout=10)
    assert get.returncode == 0, err
    assert json.loads(out)["tracks"][0]["label"] == "Test NV12 Camera"
    tmux.wait_for("agent", "allow-once for host:")


def test_status_while_an_app_captures_then_stop(env):
    tmux = env()
    tmux.window("agent", shlex.quote(str(MEDIACTL)) + " agent")
    tmux.wait_for("agent", "questions will appear here")
    c = Client()
    path, responses = c.start_request({"video": True})
    tmux.wait_for("agent", "wants to use your camera")
    tmux.keys("agent", "o", "Enter")
    assert run_until(lambda: responses, 10) and responses[0][0] == 0, responses
    track = c.track(responses[0][1]["tracks"][0])
    stream = track.open()
    stream.next_frame()

    tmux.keys("shell", f"{shlex.quote(str(MEDIACTL))} status", "Enter")
    screen = tmux.wait_for("shell", "PROCESS")
    header = next(line for line in screen.splitlines() if line.startswith("APP"))
    assert header.split() == ["APP", "ORIGIN", "KIND", "STATE", "PROCESS", "PID", "USER", "SINCE"]
    row = next(line for line in screen.splitlines() if line.startswith("host:"))
    cells = row.split()
    assert cells[1:4] == ["-", "camera", "live"] and cells[4].startswith("python") and cells[5] == str(os.getpid())
    assert "Camera:      live: capturing for an app" in screen
    app = row.split()[0]

    tmux.keys("shell", f"{shlex.quote(str(MEDIACTL))} stop {shlex.quote(app)}", "Enter")
    tmux.wait_for("shell", f"Stopped the camera of {app}.")
    assert run_until(lambda: track.ended, 5) and track.ended == ["revoked"]
    stream.close()
    c.close()
