"""The installed polkit actions (policy/org.mediagate.policy) as the real polkitd answers them,
with the test's rules (50-mediagate-systest.rules): alice may capture and mute, bob may use the
microphone only, and only root may manage. Alice's camera is vivid, through the real V4L2
backend of the daemon running as mediagate."""

import os

import pytest

import devnodes
from .mgsystem import ACCESS_DENIED, IFACE_ADMIN, IFACE_MANAGER, IFACE_TRACK, OBJECT_PATH, uid_of

SYNTHETIC_STAMP = b"MGFRAME\0".hex()


def manager_property(root_bus, name):
    return bool(root_bus.call_blocking("org.mediagate.MediaGate1", OBJECT_PATH, "org.freedesktop.DBus.Properties",
                                       "Get", "ss", [IFACE_MANAGER, name]))


def admin_devices(root_bus):
    """Admin.ListDevices as root: [(hardware_id, kind, label, state, info)]."""
    from mgclient import unwrap
    return unwrap(root_bus.call_blocking("org.mediagate.MediaGate1", OBJECT_PATH, IFACE_ADMIN, "ListDevices",
                                         "a{sv}", [{}]))


def daemon_open_nodes(pid):
    nodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            nodes.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return nodes


@pytest.fixture
def stop_tracks_after():
    actors = []
    yield actors.append
    for actor in actors:
        actor.request("stop_tracks")


def test_alice_gets_vivid_frames_through_the_daemon(system, root_bus, alice, alice_agent, stop_tracks_after):
    node = devnodes.vivid_capture_node()
    with devnodes.VideoNode(node) as v:
        card = v.querycap()["card"]
    prompts_before = len(alice_agent.prompts())
    stop_tracks_after(alice)

    got = alice.ok("gum", constraints={"video": True})
    assert got["code"] == 0, got
    track = got["results"]["tracks"][0]

    # Alice's own agent was asked, about alice's process, named by its executable: the daemon
    # (user mediagate) read /proc/<pid>/exe of another user's process with CAP_SYS_PTRACE.
    prompts = alice_agent.prompts()[prompts_before:]
    assert len(prompts) == 1, prompts
    assert prompts[0]["uid"] == alice.uid and prompts[0]["pid"] == alice.info["pid"], prompts
    assert prompts[0]["app_id"] == "host:" + alice.info["exe"], prompts
    assert prompts[0]["kinds"] == ["camera"] and prompts[0]["decision"] == "allow-once", prompts

    assert alice.ok("get", path=track, interface=IFACE_TRACK, name="Label") == card
    fmt = alice.ok("open_stream", track=track)
    try:
        # While it streams, the daemon holds the vivid node open, and says so to root.
        assert node in daemon_open_nodes(system.daemon_pid)
        devices = [d for d in admin_devices(root_bus) if d[4].get("node") == node]
        assert len(devices) == 1 and devices[0][4]["backend"] == "v4l2", admin_devices(root_bus)
        assert devices[0][3] == "capturing"
        assert [c[3] for c in devices[0][4]["clients"]] == [alice.uid], devices

        frames = alice.ok("frames", track=track, count=3)["frames"]
    finally:
        alice.ok("close_stream", track=track)
    assert len(frames) == 3, frames
    sequences = [f["sequence"] for f in frames]
    assert sequences == sorted(set(sequences)), frames
    for f in frames:
        assert f["bytes"] == fmt["frame_size"], (f, fmt)
        # vivid's test pattern, not a synthetic camera's stamp or a black frame.
        assert f["head"] != SYNTHETIC_STAMP and f["distinct"] > 16, f


def test_bob_is_refused_the_camera_by_polkit(bob, agent_of, stop_tracks_after):
    stop_tracks_after(bob)
    bobs_agent = agent_of("bob")
    got = bob.ok("gum", constraints={"video": True})
    assert got["code"] != 0 and got["results"]["error"] == "NotAllowedError", got
    # polkit said no before anyone was asked.
    assert bobs_agent.prompts() == []

    # The microphone, which the rules give him, goes through to his own agent and is granted:
    # the camera's refusal was polkit's, per action.
    got = bob.ok("gum", constraints={"audio": True})
    assert got["code"] == 0, got
    prompts = bobs_agent.prompts()
    assert len(prompts) == 1 and prompts[0]["uid"] == bob.uid and prompts[0]["kinds"] == ["microphone"], prompts


@pytest.mark.parametrize("user,camera,microphone", [
    ("alice", "prompt", "prompt"),
    ("bob", "denied", "prompt"),
])
def test_query_permission_says_what_polkit_decides(request, user, camera, microphone):
    # A request of bob's for the camera is refused (polkit); the query says so without asking.
    actor = request.getfixturevalue(user)
    states = {kind: actor.ok("call", path=OBJECT_PATH, interface=IFACE_MANAGER, member="QueryPermission",
                             signature="sa{sv}", args=[kind, {}]) for kind in ("camera", "microphone")}
    assert states == {"camera": camera, "microphone": microphone}


@pytest.mark.parametrize("member,signature,args", [
    ("ReloadPolicy", "", []),
    ("ListDevices", "a{sv}", [{}]),
])
def test_manage_is_refused_to_users(alice, bob, member, signature, args):
    for user in (alice, bob):
        reply = user.call(IFACE_ADMIN, member, signature, *args)
        assert reply.get("error") == ACCESS_DENIED, (user.user, reply)
        assert "org.mediagate.manage" in reply.get("message", ""), reply


def test_manage_is_allowed_to_root(root_bus):
    root_bus.call_blocking("org.mediagate.MediaGate1", OBJECT_PATH, IFACE_ADMIN, "ReloadPolicy", "", [])
    kinds = sorted({d[1] for d in admin_devices(root_bus)})
    assert kinds == ["audioinput", "videoinput"]


def test_other_users_grants_take_manage(alice, bob):
    # Her own grants need nothing; bob's need org.mediagate.manage.
    assert "error" not in alice.call(IFACE_ADMIN, "ListGrants", "a{sv}", {}), "own grants"
    reply = alice.call(IFACE_ADMIN, "ListGrants", "a{sv}", {"uid": {"$t": "u", "v": uid_of("bob")}})
    assert reply.get("error") == ACCESS_DENIED, reply


def test_set_muted_follows_the_rules(root_bus, alice, bob):
    try:
        reply = bob.call(IFACE_ADMIN, "SetMuted", "sb", "camera", True)
        assert reply.get("error") == ACCESS_DENIED, reply
        assert manager_property(root_bus, "CameraMuted") is False

        assert "error" not in alice.call(IFACE_ADMIN, "SetMuted", "sb", "camera", True)
        assert manager_property(root_bus, "CameraMuted") is True
        assert "error" not in alice.call(IFACE_ADMIN, "SetMuted", "sb", "camera", False)
        assert manager_property(root_bus, "CameraMuted") is False
    finally:
        # The switch is kept in the state directory: never leave it on for the other tests.
        root_bus.call_blocking("org.mediagate.MediaGate1", OBJECT_PATH, IFACE_ADMIN, "SetMuted", "sb",
                               ["camera", False])
