"""The desktop agent (`mediactl agent --notifications`) against python-dbusmock's notification
daemon, with and without the "actions" capability: the app named and drawn from its desktop
entry in a test XDG_DATA_DIRS (a host executable by its Exec=, an app id by its file name), the
web site apart from the app, the device choice, every answer the terminal has, `mediactl
answer` where there are no buttons, "nobody answered", and text sanitized on the way."""

import json
import os
import subprocess
import time

import pytest

from conftest import MEDIACTL, mediactl
from mgclient import Client, run_until, unwrap
from test_mediactl import NOTIFY, SYNTHETIC, Agent, error_line, start_get, start_notification_mock, wait_for_notify

MEDIACTL_PATH = os.path.realpath(MEDIACTL)
BROKER = "host:" + os.path.realpath("/usr/bin/python3")
WITH_BUTTONS = ["actions", "body", "body-markup", "icon-static", "persistence"]
WITHOUT_BUTTONS = ["body", "body-markup", "icon-static"]
DECISIONS = ["allow-once", "Allow once", "deny", "Deny", "allow-timed", "Allow for 10 minutes",
             "allow-always", "Always allow", "deny-always", "Always deny"]


class DesktopAgent(Agent):
    """`mediactl agent --json ...` with an environment of its own (XDG_DATA_DIRS, LANGUAGE)."""

    def __init__(self, *args, env=None):
        self.args = [str(MEDIACTL), "agent", "--json", *args]
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ, MEDIAGATE_BUS="session", **(env or {})))
        self.lines = []
        self.buffer = ""
        assert self.wait_for(lambda line: '"ready"' in line), f"the agent did not start: {self.stop()}"

    def event(self, name, nth=1):
        seen = []

        def found(line):
            if f'"event":"{name}"' in line:
                seen.append(line)
            return len(seen) >= nth
        line = self.wait_for(found)
        assert line, f"no {name} event in {self.lines}"
        return json.loads(seen[-1])


@pytest.fixture
def env(daemon_factory, polkit, tmp_path):
    polkit.SetAllowed(["org.mediagate.camera", "org.mediagate.microphone", "org.mediagate.manage"])
    daemon = daemon_factory(synthetic=SYNTHETIC).start()
    data = tmp_path / "share"
    (data / "applications").mkdir(parents=True)
    started = []

    class Env:
        pass

    e = Env()
    e.daemon, e.tmp, e.data = daemon, tmp_path, data

    def agent(*args, env=None):
        a = DesktopAgent(*args, env=dict({"XDG_DATA_DIRS": str(data), "XDG_DATA_HOME": str(tmp_path / "home")},
                                         **(env or {})))
        started.append(a)
        return a

    def notifications(capabilities):
        proc, mock = start_notification_mock(capabilities)
        started.append(proc)
        return mock

    e.agent, e.notifications = agent, notifications
    yield e
    for s in started:
        if isinstance(s, subprocess.Popen):
            s.terminate()
            s.wait(10)
        elif s.proc.returncode is None:
            s.stop()


def desktop_file(e, name, text):
    (e.data / "applications" / name).write_text("[Desktop Entry]\nType=Application\n" + text)


def invoke(mock, notification_id, key):
    mock.EmitSignal(NOTIFY, "ActionInvoked", "us", [notification_id, key])


# ---- the app and the site ---------------------------------------------------------------------

def test_a_host_program_is_named_by_the_desktop_entry_that_runs_it(env):
    desktop_file(env, "other.desktop", "Name=Something Else\nExec=/usr/bin/true\n")
    desktop_file(env, "camera-tester.desktop",
                 "Name=Camera Tester\nName[ko]=카메라 시험기\nIcon=camera-tester\n"
                 f"Exec=env GDK_BACKEND=x11 {MEDIACTL_PATH} get --video true %U\n")
    mock = env.notifications(WITH_BUTTONS)
    agent = env.agent("--notifications", "--pick", "Test Camera")
    get = start_get("get", "--video", "true")
    _, _, icon, summary, body, actions, _, _ = wait_for_notify(mock)
    assert (icon, summary) == ("camera-tester", "Camera Tester wants to use your camera")
    assert body.splitlines()[0] == f"App: Camera Tester (host:{MEDIACTL_PATH})"
    assert actions == DECISIONS
    asking = agent.event("asking")
    assert (asking["app_name"], asking["app_icon"], asking["desktop_id"]) == \
        ("Camera Tester", "camera-tester", "camera-tester.desktop")
    invoke(mock, 1, "allow-once")
    assert get.wait(10) == 0


def test_an_app_id_is_its_desktop_file_and_the_web_site_stands_apart(env):
    (env.daemon.policy_dir / "10-brokers.conf").write_text(f"[Brokers]\nApps={BROKER}\n")
    mediactl("policy", "reload")
    desktop_file(env, "org.example.Meet.desktop", "Name=Meet\nIcon=org.example.Meet\nExec=meet\n")
    mock = env.notifications(WITH_BUTTONS)
    agent = env.agent("--notifications", "--pick", "Test Microphone")
    c = Client()
    path, responses = c.start_request({"audio": True}, {"app_id": "org.example.Meet",
                                                        "origin": "https://meet.example.com"})
    _, _, icon, summary, body, _, _, _ = wait_for_notify(mock)
    assert (icon, summary) == ("org.example.Meet", "https://meet.example.com wants to use your microphone")
    lines = body.splitlines()
    assert lines[:2] == ["App: Meet (org.example.Meet)", "Web site: https://meet.example.com"]
    invoke(mock, 1, "deny-always")
    assert run_until(lambda: responses, 10) and responses[0][0] == 1
    assert agent.event("prompt")["decision"] == "deny-always"
    c.close()


def test_the_desktop_name_follows_the_language_and_is_sanitized(env):
    # A right-to-left override and invisible characters in a desktop file do not reach the prompt.
    desktop_file(env, "tester.desktop",
                 "Name=Zo\u200bom \u202eTester\nName[ko]=카메라\u2060 시험기\U000E0041\n"
                 f"TryExec={MEDIACTL_PATH}\nExec=tester\n")
    mock = env.notifications(WITH_BUTTONS)
    env.agent("--notifications", "--pick", "Test Camera", env={"LANG": "C.UTF-8", "LANGUAGE": "ko"})
    get = start_get("get", "--video", "true")
    _, _, _, summary, body, actions, _, _ = wait_for_notify(mock)
    assert summary == "카메라 시험기에서 카메라를 사용하려고 합니다"
    assert actions[:4] == ["allow-once", "한 번 허용", "deny", "거부"]
    invoke(mock, 1, "deny")
    assert get.wait(10) == 1

    mock2_calls = len(mock.GetMethodCalls("Notify"))
    env.agent("--notifications", "--pick", "Test Camera")  # the newest agent is asked
    get = start_get("get", "--video", "true")
    _, _, _, summary, _, _, _, _ = wait_for_notify(mock, mock2_calls + 1)
    assert summary == "Zoom Tester wants to use your camera"
    invoke(mock, mock2_calls + 1, "deny")
    assert get.wait(10) == 1


def test_the_reason_loses_its_invisible_characters(env):
    mock = env.notifications(WITH_BUTTONS)
    agent = env.agent("--notifications", "--pick", "Test Camera")
    c = Client()
    path, responses = c.start_request({"video": True}, {"reason": "Zo\u200bom\ufeff call\U000E0041\U000E007F \u202eok"})
    _, _, _, _, body, _, _, _ = wait_for_notify(mock)
    assert "It says: \u201cZoom call ok\u201d" in body
    assert agent.event("asking")["reason"] == "Zoom call ok"
    invoke(mock, 1, "deny")
    assert run_until(lambda: responses, 10)
    c.close()


# ---- the choices --------------------------------------------------------------------------------

def test_a_device_is_chosen_first_then_a_timed_allow(env):
    mock = env.notifications(WITH_BUTTONS)
    agent = env.agent("--notifications", "--minutes", "5")
    get = start_get("--json", "get", "--video", "true")
    _, replaces, _, _, body, actions, _, _ = wait_for_notify(mock)
    assert replaces == 0 and body.endswith("Which camera?")
    assert actions == ["device-0", "Test Camera", "device-1", "Test NV12 Camera", "deny", "Deny"]
    invoke(mock, 1, "allow-once")  # not offered at this stage: decides nothing
    invoke(mock, 1, "device-1")
    _, replaces, _, _, body, actions, _, _ = wait_for_notify(mock, 2)
    assert replaces == 1 and body.endswith("Allow?") and "Allow for 5 minutes" in actions
    invoke(mock, 1, "allow-timed")
    out, err = get.communicate(timeout=10)
    assert get.returncode == 0, err
    assert json.loads(out)["tracks"][0]["label"] == "Test NV12 Camera"
    answer = agent.event("prompt")
    assert (answer["decision"], answer["seconds"]) == ("allow-timed", 300)
    labels = {d["device_id"]: d["label"] for d in answer["devices"]}
    assert [labels[i] for i in answer["picked"]] == ["Test NV12 Camera"]
    grant, = json.loads(mediactl("--json", "grants").stdout)
    assert grant["decision"] == "allow" and grant["expires_usec"]


@pytest.mark.parametrize("key, decision, code", [
    ("allow-once", "allow-once", 0), ("allow-always", "allow-always", 0), ("deny", "deny-once", 1),
    ("deny-always", "deny-always", 1),
])
def test_every_answer_the_terminal_has(env, key, decision, code):
    mock = env.notifications(WITH_BUTTONS)
    agent = env.agent("--notifications")
    get = start_get("get", "--audio", "true")  # one microphone: no device to choose
    _, _, icon, _, _, actions, hints, _ = wait_for_notify(mock)
    assert icon == "audio-input-microphone" and actions == DECISIONS and hints["urgency"] == 2
    invoke(mock, 1, key)
    assert get.wait(10) == code
    assert agent.event("prompt")["decision"] == decision


# ---- without buttons: mediactl answer -----------------------------------------------------------

def test_without_buttons_the_notification_says_how_to_answer(env):
    mock = env.notifications(WITHOUT_BUTTONS)
    agent = env.agent("--notifications")
    get = start_get("--json", "get", "--video", "true")
    _, _, _, _, body, actions, _, _ = wait_for_notify(mock)
    assert actions == []
    assert "2. camera  Test NV12 Camera" in body
    assert "mediactl answer 1 once|always|deny|never|timed MINUTES [DEVICE NUMBERS]" in body

    p = subprocess.run([str(MEDIACTL), "answer", "1", "maybe"], capture_output=True, text=True)
    assert p.returncode == 1 and "'maybe' is not an answer." in p.stderr
    p = subprocess.run([str(MEDIACTL), "answer", "7", "once"], capture_output=True, text=True)
    assert p.returncode == 1 and "No open question has the number 7." in p.stderr
    assert get.poll() is None

    subprocess.run([str(MEDIACTL), "answer", "1", "timed", "2", "2"], check=True)
    out, err = get.communicate(timeout=10)
    assert get.returncode == 0, err
    assert json.loads(out)["tracks"][0]["label"] == "Test NV12 Camera"
    answer = agent.event("prompt")
    assert (answer["decision"], answer["seconds"]) == ("allow-timed", 120)
    assert run_until(lambda: mock.GetMethodCalls("CloseNotification"), 5)


def test_answer_without_an_agent(env):
    p = subprocess.run([str(MEDIACTL), "answer", "1", "once"], capture_output=True, text=True)
    assert p.returncode == 1 and "no desktop agent runs for this session" in p.stderr
    assert subprocess.run([str(MEDIACTL), "answer", "once"], capture_output=True).returncode == 2


# ---- nobody answered ----------------------------------------------------------------------------

def test_nobody_answered_within_the_timeout(env):
    mock = env.notifications(WITH_BUTTONS)
    agent = env.agent("--notifications", "--timeout", "1")
    get = start_get("get", "--audio", "true")
    assert wait_for_notify(mock)[7] == 1000  # the server may expire it too
    out, err = get.communicate(timeout=10)
    assert get.returncode == 1 and "NotAllowedError: The prompt was dismissed." in err
    # The question is replaced by the news that nobody answered.
    _, replaces, _, summary, body, actions, hints, _ = wait_for_notify(mock, 2)
    assert (replaces, summary, actions) == (1, "Nobody answered", [])
    assert body == "mediactl wants to use your microphone" and hints["urgency"] == 1
    assert agent.event("prompt")["decision"] == "dismissed"
    agent.stop()  # with --json, what is said to people goes to stderr
    assert "nobody answered in time: mediactl wants to use your microphone" in agent.stderr


def test_an_expired_notification_is_nobody_answering(env):
    mock = env.notifications(WITH_BUTTONS)
    agent = env.agent("--notifications")
    get = start_get("get", "--audio", "true")
    wait_for_notify(mock)
    mock.EmitSignal(NOTIFY, "NotificationClosed", "uu", [1, 1])
    assert get.wait(10) == 1
    assert wait_for_notify(mock, 2)[3] == "Nobody answered"
    assert agent.event("prompt")["decision"] == "dismissed"
    agent.stop()
    assert "nobody answered in time" in agent.stderr


def test_the_terminal_agent_says_nobody_answered(env):
    agent = Agent("--timeout", "1")
    try:
        p = mediactl("get", "--audio", "true", check=False)
        assert error_line(p)[0] == "NotAllowedError"
        assert agent.wait_for(lambda line: "nobody answered in time: mediactl wants to use your microphone" in line)
        assert agent.wait_for(lambda line: "dismissed for host:" in line)
    finally:
        agent.stop()
