"""The admin policy in the request flow: the precedence of docs/architecture.md, device-scoped
rules, brokers and origins, locks, and broken files that deny."""

import os
import signal
import sys

import dbus
import pytest

from conftest import BUS_NAME, ERROR_PREFIX, OBJECT_PATH, dbus_error_name
from mgclient import ENDED, run_until

APP = "host:" + os.path.realpath(sys.executable)
VIDEO = {"video": True}


@pytest.fixture
def start(daemon_factory, polkit, clients, agents):
    """start(policy_text, decision) → (client, agent) with the policy file in place."""
    def go(policy, decision="allow-once", **kwargs):
        d = daemon_factory(**kwargs)
        (d.policy_dir / "50-test.conf").write_text(policy)
        d.start()
        return clients(), agents(decision)
    return go


def rule(decision, lock=False, **conditions):
    lines = ["[Rule]"] + [f"{k}={v}" for k, v in conditions.items()] + [f"Decision={decision}"]
    if lock:
        lines.append("Lock=yes")
    return "\n".join(lines) + "\n"


def test_deny_rule_denies_without_a_prompt(start):
    client, agent = start(rule("deny", Apps=APP, Kinds="camera"))
    code, results = client.get_user_media(VIDEO)
    assert (code, results["error"]) == (1, "NotAllowedError")
    assert agent.prompts == []
    # The microphone is not covered.
    assert client.get_user_media({"audio": True})[0] == 0


def test_deny_turns_not_found_and_overconstrained_into_not_allowed(start):
    client, agent = start(rule("deny", Apps=APP, Kinds="camera"))
    code, results = client.get_user_media({"video": {"width": {"min": 99999}}})
    assert results["error"] == "NotAllowedError"


def test_allow_rule_grants_without_a_prompt(start):
    client, agent = start(rule("allow", Apps="host:*", Kinds="camera"))
    assert client.get_user_media(VIDEO)[0] == 0
    assert agent.prompts == []


def test_polkit_no_beats_an_allow_rule(start, polkit):
    client, agent = start(rule("allow", Apps=APP))
    polkit.SetAllowed([])
    assert client.get_user_media(VIDEO)[1]["error"] == "NotAllowedError"


def reload(client):
    client.bus.get_object(BUS_NAME, OBJECT_PATH).ReloadPolicy(dbus_interface=BUS_NAME + ".Admin")


def test_a_stored_user_deny_beats_an_unlocked_allow_but_not_a_locked_one(start, daemon_factory, polkit):
    polkit.SetAllowed(["org.mediagate.camera", "org.mediagate.microphone", "org.mediagate.manage"])
    client, agent = start("", decision="deny-always")
    assert client.get_user_media(VIDEO)[1]["error"] == "NotAllowedError"  # the user said: never
    policy_file = daemon_factory.last.policy_dir / "50-test.conf"
    policy_file.write_text(rule("allow", Apps=APP, Kinds="camera"))
    reload(client)
    assert client.get_user_media(VIDEO)[1]["error"] == "NotAllowedError"
    policy_file.write_text(rule("allow", lock=True, Apps=APP, Kinds="camera"))
    reload(client)
    assert client.get_user_media(VIDEO)[0] == 0
    assert len(agent.prompts) == 1


def test_query_permission_asks_polkit(start, polkit):
    client, agent = start("")
    assert query(client, "camera") == "prompt"
    polkit.SetAllowed(["org.mediagate.microphone"])
    assert query(client, "camera") == "denied"
    assert query(client, "microphone") == "prompt"


def test_reload_ends_tracks_the_new_policy_denies(start, daemon_factory, polkit):
    polkit.SetAllowed(["org.mediagate.camera", "org.mediagate.microphone", "org.mediagate.manage"])
    client, agent = start("")
    code, results = client.get_user_media({"audio": True, "video": True})
    audio, video = (client.track(p) for p in results["tracks"])
    stream = video.open()
    (daemon_factory.last.policy_dir / "50-test.conf").write_text(rule("deny", Apps=APP, Kinds="camera"))
    reload(client)
    assert run_until(lambda: video.ended == ["policy"])
    msg = stream.recv()
    while msg and msg["type"] != ENDED:
        msg = stream.recv()
    assert msg["reason"] == 4
    assert audio.prop("ReadyState") == "live"
    stream.close()


def test_reload_policy_needs_polkit(start, polkit):
    client, agent = start("")
    with pytest.raises(dbus.DBusException) as e:
        reload(client)
    assert dbus_error_name(e) == "org.freedesktop.DBus.Error.AccessDenied"


def test_sighup_reloads(start, daemon_factory):
    client, agent = start("")
    (daemon_factory.last.policy_dir / "50-test.conf").write_text(rule("deny", Apps=APP))
    daemon_factory.last.proc.send_signal(signal.SIGHUP)
    assert run_until(lambda: "Admin policy reloaded" in daemon_factory.last.output(), 5)
    assert client.get_user_media(VIDEO)[1]["error"] == "NotAllowedError"


def test_locked_allow_needs_no_prompt(start):
    client, agent = start(rule("allow", lock=True, Apps=APP, Kinds="camera"), decision="deny-always")
    assert client.get_user_media(VIDEO)[0] == 0
    assert agent.prompts == []


def test_locked_prompt_ignores_a_stored_allow(start):
    client, agent = start(rule("prompt", lock=True, Apps=APP, Kinds="camera"), decision="allow-always")
    assert client.get_user_media(VIDEO)[0] == 0
    assert client.get_user_media(VIDEO)[0] == 0
    assert len(agent.prompts) == 2


def test_unlocked_prompt_keeps_stored_decisions(start):
    client, agent = start(rule("prompt", Apps=APP, Kinds="camera"), decision="allow-always")
    assert client.get_user_media(VIDEO)[0] == 0
    assert client.get_user_media(VIDEO)[0] == 0
    assert len(agent.prompts) == 1


def test_device_scoped_deny_leaves_the_other_camera(start):
    client, agent = start(rule("deny", Apps=APP, Devices="synthetic:front-camera"))
    code, results = client.get_user_media(VIDEO)
    assert code == 0
    assert client.track(results["tracks"][0]).prop("Label") == "Synthetic Back Camera"
    # Only the back camera is offered in the prompt.
    assert [d[2] for d in agent.prompts[0][1]["devices"]] == ["Synthetic Back Camera"]


def test_broken_policy_file_denies(start):
    client, agent = start("[Rule]\nApps=" + APP + "\nDecision=allow\nFrobnicate=yes\n")
    assert client.get_user_media(VIDEO)[1]["error"] == "NotAllowedError"
    assert agent.prompts == []


def test_unreadable_syntax_denies_everything(start):
    client, agent = start("this is not a policy file\n")
    assert client.get_user_media({"audio": True})[1]["error"] == "NotAllowedError"


def test_brokers_pass_origins_and_rules_match_them(start):
    policy = f"[Brokers]\nApps={APP}\n" + rule("deny", Origins="https://*.evil.example", Kinds="camera")
    client, agent = start(policy)
    code, results = client.get_user_media(VIDEO, {"origin": "https://meet.evil.example"})
    assert results["error"] == "NotAllowedError"
    code, results = client.get_user_media(VIDEO, {"origin": "https://good.example:443/"})
    assert code == 0
    assert agent.prompts[-1][1]["origin"] == "https://good.example"
    for bad in ("http://example.com", "https://a@b.example", "null", "file:///etc/passwd"):
        with pytest.raises(dbus.DBusException) as e:
            client.start_request(VIDEO, {"origin": bad})
        assert dbus_error_name(e) == ERROR_PREFIX + "SecurityError"
    # http on localhost is a secure context.
    assert client.get_user_media(VIDEO, {"origin": "http://localhost:8080"})[0] == 0


def test_pending_requests_are_limited_per_connection_for_brokers(start, clients):
    client, agent = start(f"[Brokers]\nApps={APP}\n", decision=None)
    for i in range(16):
        client.start_request(VIDEO, {"origin": f"https://site{i}.example"})
    with pytest.raises(dbus.DBusException) as e:
        client.start_request(VIDEO, {"origin": "https://site16.example"})
    assert dbus_error_name(e) == ERROR_PREFIX + "LimitsExceeded"
    clients().start_request(VIDEO, {"origin": "https://other.example"})


def query(client, name, options=None):
    return str(client.manager.QueryPermission(name, dbus.Dictionary(options or {}, signature="sv")))


def test_query_permission_follows_policy_grants_and_tracks(start):
    client, agent = start(rule("deny", Apps=APP, Kinds="microphone"), decision="allow-always")
    assert query(client, "microphone") == "denied"
    assert query(client, "camera") == "prompt"
    assert client.get_user_media(VIDEO)[0] == 0
    assert query(client, "camera") == "granted"
    with pytest.raises(dbus.DBusException) as e:
        query(client, "toaster")
    assert dbus_error_name(e) == ERROR_PREFIX + "TypeError"
    with pytest.raises(dbus.DBusException) as e:
        query(client, "camera", {"origin": "https://example.com"})
    assert dbus_error_name(e) == ERROR_PREFIX + "SecurityError"
    assert len(agent.prompts) == 1
