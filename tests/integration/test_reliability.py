"""Identity and consent cases of docs/reliability.md: a caller that leaves while polkit or the agent
is asked, a device unplugged while the user decides, an agent or the daemon killed mid-prompt,
hostile text in prompts, and answers that do not count."""

import time

import dbus
import pytest

from conftest import BUS_NAME, IFACE_TESTING, OBJECT_PATH
from mgclient import run_until, unwrap

VIDEO = {"video": True}


def admin(client):
    return dbus.Interface(client.bus.get_object(BUS_NAME, OBJECT_PATH), BUS_NAME + ".Admin")


def stored(client):
    return list(admin(client).ListGrants(dbus.Dictionary({}, signature="sv")))


@pytest.fixture
def env(daemon, polkit, clients, agents):
    class Env:
        pass
    e = Env()
    e.daemon, e.polkit, e.clients, e.agents = daemon, polkit, clients, agents
    return e


def test_01_caller_leaving_while_polkit_is_asked_is_denied_and_nothing_stored(env):
    agent = env.agents("allow-always")
    env.polkit.SimulateHangActions(["org.mediagate.camera"])
    leaver = env.clients()
    leaver.start_request(VIDEO)
    run_until(lambda: False, 0.3)
    leaver.close()
    run_until(lambda: False, 0.3)
    env.polkit.SimulateHangActions([])
    other = env.clients()
    assert other.get_user_media({"audio": True})[0] == 0  # everyone else is served
    assert [p[1]["kinds"] for p in agent.prompts] == [["microphone"]]
    assert [g[3] for g in stored(other)] == ["microphone"]
    assert env.daemon.proc.poll() is None


def test_10_device_unplugged_while_the_user_decides_fails_cleanly(env):
    agent = env.agents(None)
    client = env.clients()
    _, responses = client.start_request(VIDEO)
    assert run_until(lambda: agent.prompts)
    testing = dbus.Interface(client.bus.get_object(BUS_NAME, OBJECT_PATH), IFACE_TESTING)
    testing.RemoveDevice("front-camera")
    testing.RemoveDevice("back-camera")
    ok, _ = agent.pending.pop()
    ok("allow-once", dbus.Dictionary({}, signature="sv"))
    assert run_until(lambda: responses)
    code, results = responses[0]
    assert code == 2 and results["error"] in ("AbortError", "NotFoundError", "NotReadableError")
    assert env.daemon.proc.poll() is None


@pytest.mark.parametrize("who", ["agent", "client"])
def test_13_killed_mid_prompt_stores_nothing(env, who):
    agent = env.agents(None)
    client = env.clients()
    client.start_request(VIDEO)
    assert run_until(lambda: agent.prompts)
    (agent.vanish if who == "agent" else client.close)()
    run_until(lambda: False, 0.3)
    assert stored(env.clients()) == []


def test_13_daemon_killed_mid_prompt_stores_nothing(env):
    import signal
    agent = env.agents(None)
    env.clients().start_request(VIDEO)
    assert run_until(lambda: agent.prompts)
    env.daemon.stop(signal.SIGKILL)
    env.daemon.start()
    assert stored(env.clients()) == []


HOSTILE = "\x1b[31mred\x1b[0m \u202etxt.exe\u202c line\nbreak \ufeff" + "x" * 65536


def test_14_prompt_text_is_sanitized_and_capped(env):
    agent = env.agents("deny-once")
    env.clients().get_user_media(VIDEO, {"reason": HOSTILE})
    reason = agent.prompts[0][1]["reason"]
    assert len(reason) <= 256
    assert "\x1b" not in reason and "\u202e" not in reason and "\n" not in reason
    assert reason.startswith("[31mred[0m")


def test_16_an_answer_from_elsewhere_does_not_count(env):
    # A method reply can only come from the agent that was asked: another connection answering
    # with the same request id (as a call of its own) reaches nothing in the daemon.
    agent = env.agents(None)
    client = env.clients()
    _, responses = client.start_request(VIDEO)
    assert run_until(lambda: agent.prompts)
    intruder = env.clients()
    with pytest.raises(dbus.DBusException):
        intruder.bus.get_object(BUS_NAME, OBJECT_PATH).Prompt(
            agent.prompts[0][0], dbus.Dictionary({}, signature="sv"), dbus_interface=BUS_NAME + ".Agent")
    run_until(lambda: False, 0.3)
    assert responses == []
    ok, _ = agent.pending.pop()
    ok("deny-once", dbus.Dictionary({}, signature="sv"))
    assert run_until(lambda: responses)
    assert responses[0][1]["error"] == "NotAllowedError"
