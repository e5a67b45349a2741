"""Consent that cannot be bypassed, each test written as the attack: a sandboxed app granting
itself the camera through Admin, a flood of tracks, a policy reload racing a prompt, another uid
learning from someone else's live track, a device removal hiding from DevicesChanged, a
non-broker passing an app id, calls to members nobody serves (docs/reliability.md 7, 39-41)."""

import os
import sys
import time

import dbus
import pytest

from conftest import BUS_NAME, IFACE_MANAGER, IFACE_TESTING, OBJECT_PATH, Daemon, dbus_error_name
from mgclient import ENDED, FRAME, run_until, unwrap, start_polkit_mock, Agent, Client
from sandbox import MultiUserBus, finish, run_as_flatpak, start_as_uid

APP = "host:" + os.path.realpath(sys.executable)
FLATPAK = "org.example.Sneaky"
VIDEO = {"video": True}
ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
LIMITS = BUS_NAME + ".Error.LimitsExceeded"
SECURITY = BUS_NAME + ".Error.SecurityError"
EVERYTHING = ["org.mediagate.camera", "org.mediagate.microphone", "org.mediagate.grant", "org.mediagate.manage",
              "org.mediagate.mute"]


def admin(client):
    return dbus.Interface(client.bus.get_object(BUS_NAME, OBJECT_PATH), BUS_NAME + ".Admin")


def grants(client, **filter):
    return [unwrap(g) for g in admin(client).ListGrants(dbus.Dictionary(filter, signature="sv"))]


@pytest.fixture
def env(daemon, polkit, clients, agents):
    class Env:
        pass
    e = Env()
    e.daemon, e.polkit, e.clients, e.agents = daemon, polkit, clients, agents
    e.client = clients()
    return e


# ---- 39: a sandboxed app and the Admin interface ---------------------------------------------

def test_sandboxed_app_cannot_grant_itself_even_with_polkit_saying_yes(env, tmp_path):
    env.polkit.SetAllowed(EVERYTHING)
    agent = env.agents("deny-once")
    results = run_as_flatpak(tmp_path, FLATPAK, f"""
        opts = dbus.Dictionary({{}}, signature="sv")
        emit(call(admin.SetGrant, {FLATPAK!r}, "", "camera", "allow", opts))
        emit(call(admin.SetGrant, {FLATPAK!r}, "", "camera", "deny", opts))
        emit(call(admin.SetGrant, "org.example.Other", "", "camera", "deny", opts))
        emit(call(admin.SetMuted, "camera", True))
        emit(call(admin.ReloadPolicy))
        emit(call(admin.ListDevices, opts))
        emit(call(manager.RegisterAgent, "/x", opts))
        emit(client.get_user_media({{"video": True}}))
    """)
    *refused, (code, response) = results
    assert refused == [["error", ACCESS_DENIED]] * 7
    # No track without a real yes: the request was asked of the user, who said no.
    assert code == 1 and response["error"] == "NotAllowedError"
    assert [p[1]["app_id"] for p in agent.prompts] == [FLATPAK]
    assert grants(env.client, all_users=True) == []


def test_sandboxed_app_sees_and_revokes_only_its_own_grants(env, tmp_path):
    env.polkit.SetAllowed(EVERYTHING)
    uid = os.getuid()
    admin(env.client).SetGrant(FLATPAK, "https://meet.example", "camera", "allow", {})
    admin(env.client).SetGrant("org.example.Other", "https://secret.example", "camera", "allow", {})
    results = run_as_flatpak(tmp_path, FLATPAK, f"""
        def opts(**kw):
            return dbus.Dictionary(kw, signature="sv")
        emit(call(admin.ListGrants, opts()))
        emit(call(admin.ListGrants, opts(app_id="org.example.Other")))
        emit(call(admin.ListGrants, opts(all_users=True)))
        emit(call(admin.ListGrants, opts(uid=dbus.UInt32({uid} + 1))))
        emit(call(admin.GetHistory, opts(app_id="org.example.Other")))
        emit(call(admin.RevokeGrant, "org.example.Other", "https://secret.example", "camera", opts()))
        emit(call(admin.RevokeGrant, {FLATPAK!r}, "https://meet.example", "camera", opts()))
        emit(call(admin.GetHistory, opts()))
    """)
    own, *refused, revoked_own, history = results
    assert own[0] == "ok" and [(g[1], g[2]) for g in own[1]] == [(FLATPAK, "https://meet.example")]
    assert refused == [["error", ACCESS_DENIED]] * 5
    assert revoked_own == ["ok", None]
    assert history[0] == "ok" and {e[2] for e in history[1]} == {FLATPAK}
    assert [(g[1], g[2]) for g in grants(env.client)] == [("org.example.Other", "https://secret.example")]


def test_members_nobody_serves_are_refused_before_any_handler(env):
    props = dbus.Interface(env.client.bus.get_object(BUS_NAME, OBJECT_PATH), "org.freedesktop.DBus.Properties")
    for call in (lambda: props.Set(IFACE_MANAGER, "CameraMuted", dbus.Boolean(True)),
                 lambda: props.Get(IFACE_MANAGER, "NoSuchProperty"),
                 lambda: env.client.bus.get_object(BUS_NAME, OBJECT_PATH).Bogus(dbus_interface=IFACE_MANAGER),
                 lambda: env.client.bus.get_object(BUS_NAME, OBJECT_PATH).Ping(dbus_interface="org.example.Nope")):
        with pytest.raises(dbus.DBusException) as e:
            call()
        assert dbus_error_name(e) == ACCESS_DENIED
    # What is listed still works.
    assert unwrap(props.Get(IFACE_MANAGER, "CameraMuted")) is False
    env.client.bus.get_object(BUS_NAME, OBJECT_PATH).Ping(dbus_interface="org.freedesktop.DBus.Peer")


# ---- 40: floods of tracks ----------------------------------------------------------------------

def test_a_track_flood_hits_the_limit_and_others_are_still_served(daemon_factory, polkit, clients, agents):
    daemon_factory(config="MaxTracksPerConnection=4\nMaxTracksPerUser=6\n").start()
    agents("allow-once")
    flooder = clients()
    codes = [flooder.get_user_media(VIDEO)[0] for _ in range(4)]
    assert codes == [0, 0, 0, 0]
    with pytest.raises(dbus.DBusException) as e:
        flooder.get_user_media(VIDEO)
    assert dbus_error_name(e) == LIMITS
    second = clients()
    assert [second.get_user_media(VIDEO)[0] for _ in range(2)] == [0, 0]
    with pytest.raises(dbus.DBusException) as e:
        second.get_user_media(VIDEO)
    assert dbus_error_name(e) == LIMITS, "the uid's limit holds across connections"
    # Ending tracks makes room again.
    flooder.close()
    assert run_until(lambda: clients().get_user_media(VIDEO)[0] == 0, 5)


# ---- 41: the policy changes while the prompt is open ----------------------------------------------

def test_an_answer_after_a_reload_is_judged_by_the_new_policy(env):
    agent = env.agents(None)  # answers later
    path, responses = env.client.start_request(VIDEO)
    assert run_until(lambda: agent.pending)
    (env.daemon.policy_dir / "50-deny.conf").write_text("[Rule]\nKinds=camera\nDecision=deny\n")
    env.polkit.SetAllowed(EVERYTHING)
    admin(env.client).ReloadPolicy()
    ok, _ = agent.pending[0]
    ok("allow-always", dbus.Dictionary({}, signature="sv"))
    assert run_until(lambda: responses)
    code, results = responses[0]
    assert code == 1 and results["error"] == "NotAllowedError"
    assert "admin policy" in results["message"] and "50-deny.conf" in results["message"]
    assert grants(env.client) == [], "an allow-always given under the old policy is not stored"


def test_a_deny_stored_while_the_prompt_is_open_wins(env):
    agent = env.agents(None)
    _, responses = env.client.start_request(VIDEO)
    assert run_until(lambda: agent.pending)
    admin(env.clients()).SetGrant(APP, "", "camera", "deny", {})
    agent.pending[0][0]("allow-once", dbus.Dictionary({}, signature="sv"))
    assert run_until(lambda: responses)
    assert responses[0][0] == 1 and "mediactl grants revoke" in responses[0][1]["message"]


# ---- 6: exposure belongs to one uid ----------------------------------------------------------------

@pytest.fixture
def multi_user(tmp_path, monkeypatch):
    bus = MultiUserBus()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
    proc, polkit = start_polkit_mock(EVERYTHING)
    daemon = Daemon(tmp_path).start()
    yield bus
    daemon.stop()
    proc.terminate()
    proc.wait(10)
    bus.close()


def test_another_users_live_track_exposes_nothing(multi_user):
    agent = Agent("allow-once")  # uid 0's agent answers for every uid without one
    mine = Client()
    code, results = mine.get_user_media(VIDEO)
    assert code == 0
    # The same program, as uid 65534: the same app id, but not the same user.
    other = start_as_uid(65534, """
        emit(unwrap(manager.EnumerateDevices(dbus.Dictionary({}, signature="sv"))))
        emit(str(manager.QueryPermission("camera", dbus.Dictionary({}, signature="sv"))))
    """, multi_user.env)
    devices, state = finish(other)
    cameras = [d for d in devices if d[1] == "videoinput"]
    assert cameras == [["", "videoinput", "", {"group_id": "", "facing_mode": ""}]]
    assert state == "prompt"
    # The owner still sees everything.
    assert all(d[0] for d in unwrap(mine.manager.EnumerateDevices({})) if d[1] == "videoinput")
    agent.vanish()


# ---- 11: DevicesChanged for a caller exposed only by a live track -----------------------------

def test_removing_a_device_tells_those_whose_track_on_it_ended(env):
    env.agents("allow-once")
    testing = dbus.Interface(env.client.bus.get_object(BUS_NAME, OBJECT_PATH), IFACE_TESTING)
    code, results = env.client.get_user_media({"video": {"facingMode": {"exact": "environment"}}})
    assert code == 0
    track = env.client.track(results["tracks"][0])
    assert track.prop("Label") == "Synthetic Back Camera"
    seen = []
    env.client.bus.add_signal_receiver(lambda: seen.append(1), "DevicesChanged", IFACE_MANAGER, BUS_NAME,
                                       OBJECT_PATH)
    testing.RemoveDevice("back-camera")  # not the default, and a camera remains: no broadcast
    assert run_until(lambda: track.ended == ["device-removed"])
    assert run_until(lambda: seen, 2), "the caller whose exposure came from that track was not told"


# ---- brokers and app ids ------------------------------------------------------------------------

def test_only_brokers_may_pass_an_app_id(env):
    for call in (lambda: env.client.get_user_media(VIDEO, {"app_id": "org.example.Other"}),
                 lambda: env.client.manager.QueryPermission("camera", {"app_id": "org.example.Other"}),
                 lambda: env.client.manager.EnumerateDevices({"app_id": "org.example.Other"})):
        with pytest.raises(dbus.DBusException) as e:
            call()
        assert dbus_error_name(e) == SECURITY


def test_a_broker_asks_for_the_app_it_acts_for(env):
    (env.daemon.policy_dir / "10-brokers.conf").write_text(f"[Brokers]\nApps={APP}\n")
    env.polkit.SetAllowed(EVERYTHING)
    admin(env.client).ReloadPolicy()
    agent = env.agents("allow-always")
    # Before any app asks, the broker sees every device, to publish them.
    assert all(d[0] and d[2] for d in unwrap(env.client.manager.EnumerateDevices({})))
    code, results = env.client.get_user_media(VIDEO, {"app_id": "org.example.Consumer"})
    assert code == 0
    assert agent.prompts[-1][1]["app_id"] == "org.example.Consumer"
    assert [(g[1], g[4]) for g in grants(env.client, app_id="org.example.Consumer")] == \
        [("org.example.Consumer", "allow")]
    started = [e for e in admin(env.client).GetHistory({"app_id": "org.example.Consumer"}) if e[5] == "started"]
    assert unwrap(started[0][7])["broker"] == APP
    # The broker's own permission is untouched, and the app's is the app's.
    assert str(env.client.manager.QueryPermission("camera", {"app_id": "org.example.Consumer"})) == "granted"
    assert str(env.client.manager.QueryPermission("camera", {})) == "prompt"
    # Revoking the app ends the track the broker holds for it.
    track = env.client.track(results["tracks"][0])
    admin(env.client).RevokeGrant("org.example.Consumer", "", "camera", {})
    assert run_until(lambda: track.ended == ["revoked"], 1)


def test_test_controls_refuse_other_users(multi_user):
    """Only root and the daemon's own uid may plug and break devices (the gate's rule)."""
    other = start_as_uid(65534, """
        testing = dbus.Interface(bus.get_object(BUS_NAME, OBJECT_PATH), BUS_NAME + ".Testing")
        emit(call(testing.RemoveDevice, "microphone"))
    """, multi_user.env)
    assert finish(other) == [["error", ACCESS_DENIED]]
    mine = Client()
    assert any(d[1] == "audioinput" for d in unwrap(mine.manager.EnumerateDevices({})))
