"""getUserMedia end to end on synthetic devices: requests, errors in the spec's order, polkit
(mocked), consent agents, tracks and the stream transport."""

import errno
import fcntl
import mmap
import os
import subprocess
import time

import dbus
import pytest

from conftest import BUS_NAME, ERROR_PREFIX, IFACE_TESTING, OBJECT_PATH, dbus_error_name
from mgclient import ENDED, FRAME, STAMP, Client, error_of, run_until, sv

VIDEO_DEFAULT = {"video": True}


@pytest.fixture
def env(daemon, polkit, clients, agents):
    """A running daemon, polkit allowing, one client; agents made by the test."""
    class Env:
        pass
    e = Env()
    e.daemon, e.polkit, e.clients, e.agents = daemon, polkit, clients, agents
    e.client = clients()
    return e


def synthetic_controls():
    c = Client()
    return dbus.Interface(c.bus.get_object(BUS_NAME, OBJECT_PATH), IFACE_TESTING)


def test_video_true_gives_the_default_camera_at_640x480(env):
    agent = env.agents("allow-once")
    code, results = env.client.get_user_media(VIDEO_DEFAULT)
    assert code == 0, results
    assert len(results["tracks"]) == 1
    track = env.client.track(results["tracks"][0])
    settings = track.prop("Settings")
    assert (settings["width"], settings["height"], settings["frameRate"]) == (640, 480, 30.0)
    assert settings["resizeMode"] == "none" and settings["facingMode"] == "user"
    assert track.prop("Kind") == "video" and track.prop("ReadyState") == "live"
    assert track.prop("Label") == "Synthetic Front Camera"
    assert len(track.prop("DeviceId")) == 32
    # The agent saw who asks and for what.
    (request_id, details), = agent.prompts
    assert details["kinds"] == ["camera"]
    assert details["app_id"].startswith("host:")
    assert details["uid"] == os.getuid()
    assert [d[1] for d in details["devices"]] == ["videoinput", "videoinput"]


def test_audio_and_video_tracks_come_audio_first(env):
    env.agents("allow-once")
    code, results = env.client.get_user_media({"audio": True, "video": {"width": {"min": 1280}}})
    assert code == 0, results
    audio, video = (env.client.track(p) for p in results["tracks"])
    assert audio.prop("Kind") == "audio" and video.prop("Kind") == "video"
    s = video.prop("Settings")
    assert (s["width"], s["height"]) == (1280, 720)
    a = audio.prop("Settings")
    assert (a["sampleRate"], a["channelCount"], a["sampleSize"]) == (48000, 1, 16)


def test_the_api_md_busctl_example_works(env):
    env.agents("allow-once")
    out = subprocess.run(
        ["busctl", "--user", "call", BUS_NAME, OBJECT_PATH, BUS_NAME + ".Manager", "GetUserMedia",
         "a{sv}a{sv}", "2", "video", "a{sv}", "2", "width", "u", "1280", "height", "u", "720",
         "audio", "b", "true", "1", "handle_token", "s", "demo1"],
        capture_output=True, text=True, check=True).stdout
    assert out.strip().startswith('o "/org/mediagate/MediaGate1/request/')
    assert out.strip().endswith('/demo1"')


@pytest.mark.parametrize("constraints", [
    {}, {"audio": False, "video": False}, {"unknown": True},
    {"video": dbus.String("yes")}, {"video": {"width": "wide"}},
])
def test_type_errors_are_method_errors(env, constraints):
    with pytest.raises(dbus.DBusException) as e:
        env.client.manager.GetUserMedia(dbus.Dictionary(constraints, signature="sv"), {})
    assert dbus_error_name(e) == ERROR_PREFIX + "TypeError"


@pytest.mark.parametrize("token", ["", "a/b", "x" * 300, "ünï", "with space", "dot.dot"])
def test_bad_handle_tokens_are_type_errors(env, token):
    with pytest.raises(dbus.DBusException) as e:
        env.client.manager.GetUserMedia({"video": True}, {"handle_token": token})
    assert dbus_error_name(e) == ERROR_PREFIX + "TypeError"


def test_origin_from_a_non_broker_is_a_security_error(env):
    with pytest.raises(dbus.DBusException) as e:
        env.client.manager.GetUserMedia({"video": True}, {"origin": "https://example.com"})
    assert dbus_error_name(e) == ERROR_PREFIX + "SecurityError"


def test_type_error_comes_before_security_error(env):
    with pytest.raises(dbus.DBusException) as e:
        env.client.manager.GetUserMedia(dbus.Dictionary({}, signature="sv"), {"origin": "http://evil.com"})
    assert dbus_error_name(e) == ERROR_PREFIX + "TypeError"


def test_no_device_of_the_kind_is_not_found(env):
    env.agents("allow-once")
    t = synthetic_controls()
    t.RemoveDevice("front-camera")
    t.RemoveDevice("back-camera")
    code, results = env.client.get_user_media(VIDEO_DEFAULT)
    assert (code, error_of(results)[0]) == (2, "NotFoundError")


def test_overconstrained_hides_the_name_before_exposure(env):
    env.agents("allow-once")
    code, results = env.client.get_user_media({"video": {"width": {"min": 5000}}})
    assert code == 2
    assert error_of(results)[0] == "OverconstrainedError"
    assert results["constraint"] == ""


def test_overconstrained_names_the_constraint_when_configured(daemon_factory, polkit, clients, agents):
    daemon_factory(config="RevealConstraintName=always\n").start()
    agents("allow-once")
    code, results = clients().get_user_media({"video": {"facingMode": {"exact": "left"}}})
    assert (code, results["error"], results["constraint"]) == (2, "OverconstrainedError", "facingMode")


def test_polkit_no_is_not_allowed(env):
    agent = env.agents("allow-once")
    env.polkit.SetAllowed(["org.mediagate.microphone"])
    code, results = env.client.get_user_media(VIDEO_DEFAULT)
    assert (code, results["error"]) == (1, "NotAllowedError")
    assert agent.prompts == []  # polkit says no before anyone is asked
    code, results = env.client.get_user_media({"audio": True})
    assert code == 0


def test_no_polkit_on_the_bus_is_not_allowed_within_a_second(daemon, clients, agents):
    agents("allow-once")
    start = time.monotonic()
    code, results = clients().get_user_media(VIDEO_DEFAULT)
    assert (code, results["error"]) == (1, "NotAllowedError")
    assert time.monotonic() - start < 1.0


def test_no_agent_is_not_allowed_at_once(env):
    start = time.monotonic()
    code, results = env.client.get_user_media(VIDEO_DEFAULT)
    assert (code, results["error"]) == (1, "NotAllowedError")
    assert "agent" in results["message"]
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize("decision", ["deny-once", "deny-always", "dismissed", "bogus-decision"])
def test_denials_and_bad_answers_are_not_allowed(env, decision):
    env.agents(decision)
    code, results = env.client.get_user_media(VIDEO_DEFAULT)
    assert (code, results["error"]) == (1, "NotAllowedError")


def test_allow_always_is_stored_for_the_app(env):
    agent = env.agents("allow-always")
    first = env.clients()
    assert first.get_user_media(VIDEO_DEFAULT)[0] == 0
    assert first.get_user_media(VIDEO_DEFAULT)[0] == 0
    # The decision is the app's: another connection of the same app is not asked either, also
    # after the deciding connection left and the daemon restarted.
    first.close()
    assert env.client.get_user_media(VIDEO_DEFAULT)[0] == 0
    assert env.daemon.stop() == 0
    env.daemon.start()
    agent_after_restart = env.agents("allow-always")
    assert env.clients().get_user_media(VIDEO_DEFAULT)[0] == 0
    assert len(agent.prompts) == 1 and agent_after_restart.prompts == []


def test_deny_always_turns_not_found_into_not_allowed(env):
    agent = env.agents("deny-always")
    assert env.client.get_user_media(VIDEO_DEFAULT)[1]["error"] == "NotAllowedError"
    t = synthetic_controls()
    t.RemoveDevice("front-camera")
    t.RemoveDevice("back-camera")
    code, results = env.client.get_user_media(VIDEO_DEFAULT)
    assert (code, results["error"]) == (1, "NotAllowedError")
    assert len(agent.prompts) == 1


def test_allow_timed_needs_seconds(env):
    env.agents("allow-timed")
    assert env.client.get_user_media(VIDEO_DEFAULT)[1]["error"] == "NotAllowedError"
    env.agents("allow-timed", {"seconds": dbus.UInt32(60)})
    assert env.client.get_user_media(VIDEO_DEFAULT)[0] == 0


def test_close_mid_prompt_aborts_and_withdraws_the_prompt(env):
    agent = env.agents(None)
    path, responses = env.client.start_request(VIDEO_DEFAULT)
    assert run_until(lambda: agent.prompts)
    request = env.client.bus.get_object(BUS_NAME, path)
    assert request.Get(BUS_NAME + ".Request", "State", dbus_interface="org.freedesktop.DBus.Properties") == "prompting"
    request.Close(dbus_interface=BUS_NAME + ".Request")
    assert run_until(lambda: responses)
    assert responses[0][0] == 1 and responses[0][1]["error"] == "AbortError"
    assert run_until(lambda: agent.cancelled)
    assert agent.cancelled == [agent.prompts[0][0]]


def test_agent_vanishing_mid_prompt_is_a_dismissal(env):
    agent = env.agents(None)
    _, responses = env.client.start_request(VIDEO_DEFAULT)
    assert run_until(lambda: agent.prompts)
    agent.vanish()
    assert run_until(lambda: responses)
    assert responses[0][1]["error"] == "NotAllowedError"


def test_client_vanishing_mid_prompt_cancels_the_prompt(env):
    agent = env.agents(None)
    client = env.clients()
    client.start_request(VIDEO_DEFAULT)
    assert run_until(lambda: agent.prompts)
    client.close()
    assert run_until(lambda: agent.cancelled)
    # Everyone else is still served.
    agent.decision = "allow-once"
    assert env.client.get_user_media(VIDEO_DEFAULT)[0] == 0


def test_prompt_timeout_denies_and_cancels(daemon_factory, polkit, clients, agents):
    daemon_factory(config="PromptTimeoutSec=1\n").start()
    agent = agents(None)
    start = time.monotonic()
    code, results = clients().get_user_media(VIDEO_DEFAULT, timeout=5)
    assert (code, results["error"]) == (1, "NotAllowedError")
    assert 0.9 < time.monotonic() - start < 3
    assert run_until(lambda: agent.cancelled)


def test_a_flood_of_requests_becomes_one_prompt(env):
    agent = env.agents(None)
    env.client.start_request(VIDEO_DEFAULT)
    refused = 0
    for _ in range(200):
        try:
            env.client.start_request(VIDEO_DEFAULT)
        except dbus.DBusException as e:
            assert e.get_dbus_name() == ERROR_PREFIX + "LimitsExceeded"
            refused += 1
    assert refused == 200
    assert run_until(lambda: agent.prompts)
    run_until(lambda: False, 0.3)
    assert len(agent.prompts) == 1
    # Other kinds are other questions.
    env.client.start_request({"audio": True})
    assert run_until(lambda: len(agent.prompts) == 2)


def test_repeated_refusals_back_off(env):
    agent = env.agents("dismissed")
    for _ in range(3):
        assert env.client.get_user_media(VIDEO_DEFAULT)[1]["error"] == "NotAllowedError"
    assert len(agent.prompts) == 3
    code, results = env.client.get_user_media(VIDEO_DEFAULT)
    assert (code, results["error"]) == (1, "NotAllowedError")
    assert "too often" in results["message"]
    assert len(agent.prompts) == 3
    # Other kinds are still asked.
    agent.decision = "allow-once"
    assert env.client.get_user_media({"audio": True})[0] == 0


def test_device_picker_limits_the_grant(env):
    agent = env.agents(None)
    _, responses = env.client.start_request(VIDEO_DEFAULT)
    assert run_until(lambda: agent.prompts)
    devices = agent.prompts[0][1]["devices"]
    back = [d[0] for d in devices if d[2] == "Synthetic Back Camera"]
    ok, _ = agent.pending.pop()
    ok("allow-once", dbus.Dictionary({"devices": dbus.Array(back, signature="s")}, signature="sv"))
    assert run_until(lambda: responses)
    code, results = responses[0]
    assert code == 0
    track = env.client.track(results["tracks"][0])
    assert track.prop("Label") == "Synthetic Back Camera"
    assert track.prop("DeviceId") == back[0]


def test_device_picker_outside_the_candidates_is_refused(env):
    env.agents("allow-once", {"devices": dbus.Array(["not-a-device"], signature="s")})
    assert env.client.get_user_media(VIDEO_DEFAULT)[1]["error"] == "NotAllowedError"


def test_busy_device_is_not_readable(env):
    env.agents("allow-once")
    t = synthetic_controls()
    t.SetDeviceState("front-camera", "busy")
    code, results = env.client.get_user_media(VIDEO_DEFAULT)
    assert (code, results["error"]) == (2, "NotReadableError")
    t.SetDeviceState("front-camera", "ok")
    assert env.client.get_user_media(VIDEO_DEFAULT)[0] == 0


def test_other_connections_cannot_touch_requests_or_tracks(env):
    agent = env.agents(None)
    path, _ = env.client.start_request(VIDEO_DEFAULT)
    assert run_until(lambda: agent.prompts)
    intruder = env.clients()
    with pytest.raises(dbus.DBusException) as e:
        intruder.bus.get_object(BUS_NAME, path).Close(dbus_interface=BUS_NAME + ".Request")
    assert dbus_error_name(e) == "org.freedesktop.DBus.Error.AccessDenied"
    ok, _ = agent.pending.pop()
    agent.decision = "allow-once"
    ok("allow-once", dbus.Dictionary({}, signature="sv"))
    code, results = env.client.get_user_media(VIDEO_DEFAULT)
    track_path = results["tracks"][0]
    obj = intruder.bus.get_object(BUS_NAME, track_path)
    for call in (lambda: obj.Stop(dbus_interface=BUS_NAME + ".Track"),
                 lambda: obj.Open(dbus_interface=BUS_NAME + ".Track"),
                 lambda: obj.Get(BUS_NAME + ".Track", "Label", dbus_interface="org.freedesktop.DBus.Properties")):
        with pytest.raises(dbus.DBusException) as e:
            call()
        assert dbus_error_name(e) == "org.freedesktop.DBus.Error.AccessDenied"
    assert env.client.track(track_path).prop("ReadyState") == "live"


def read_frames(stream, n):
    frames = []
    for _ in range(n):
        msg, data = stream.next_frame()
        assert msg is not None and msg["type"] == FRAME, msg
        frames.append((msg, data))
    return frames


def test_frames_arrive_fresh_at_the_chosen_size(env):
    env.agents("allow-once")
    code, results = env.client.get_user_media({"video": {"width": {"ideal": 320, "min": 160}}})
    assert code == 0
    track = env.client.track(results["tracks"][0])
    s = track.prop("Settings")
    assert (s["width"], s["height"], s["resizeMode"]) == (320, 240, "crop-and-scale")
    stream = track.open()
    f = stream.format
    assert (f["fourcc"], f["width"], f["height"]) == ("YUYV", 320, 240)
    assert f["frame_size"] == f["stride"] * 240 and f["stride"] >= 640
    frames = read_frames(stream, 5)
    seqs = [m["sequence"] for m, _ in frames]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    for msg, data in frames:
        assert len(data) == f["frame_size"] == msg["bytes"]
        magic, seq, ts, tag = STAMP.unpack_from(data)
        assert magic == b"MGFRAME\0"
        assert seq == msg["sequence"]
        assert 0 <= now - ts < 2_000_000_000
    stream.close()


def test_audio_frames_carry_a_tone(env):
    env.agents("allow-once")
    code, results = env.client.get_user_media({"audio": True})
    stream = env.client.track(results["tracks"][0]).open()
    assert stream.format["sample_format"] == "S16_LE" and stream.format["rate"] == 48000
    msg, data = stream.next_frame()
    assert msg["type"] == FRAME and len(data) > 0 and any(data)
    stream.close()


V4L2_VIDIOC_QUERYCAP = 0x80685600
SNDRV_PCM_IOCTL_INFO = 0x81204101
F_GET_SEALS = 1034
F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_FUTURE_WRITE = 1, 2, 4, 16


def test_pool_seals_hold_and_device_ioctls_fail(env):
    env.agents("allow-once")
    _, results = env.client.get_user_media(VIDEO_DEFAULT)
    stream = env.client.track(results["tracks"][0]).open()
    pool, control = stream.pool_fd, stream.control.fileno()
    seals = fcntl.fcntl(pool, F_GET_SEALS)
    assert seals & (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE) == \
        F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE
    assert fcntl.fcntl(pool, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY
    with pytest.raises(OSError):
        os.write(pool, b"x")
    with pytest.raises(OSError):
        os.ftruncate(pool, 0)
    with pytest.raises(OSError):
        mmap.mmap(pool, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    rw = os.open(f"/proc/self/fd/{pool}", os.O_RDWR)
    try:
        with pytest.raises(OSError):
            os.write(rw, b"x")
        with pytest.raises(OSError):
            mmap.mmap(rw, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(rw)
    for fd in (pool, control):
        for request in (V4L2_VIDIOC_QUERYCAP, SNDRV_PCM_IOCTL_INFO):
            with pytest.raises(OSError) as e:
                fcntl.ioctl(fd, request, bytearray(512))
            assert e.value.errno in (errno.ENOTTY, errno.EINVAL, errno.ENOTSOCK, errno.EOPNOTSUPP)
    stream.close()


def test_a_slow_reader_does_not_slow_a_fast_one(env):
    env.agents("allow-once")
    slow_client, fast_client = env.clients(), env.clients()
    slow = slow_client.track(slow_client.get_user_media(VIDEO_DEFAULT)[1]["tracks"][0]).open()
    fast = fast_client.track(fast_client.get_user_media(VIDEO_DEFAULT)[1]["tracks"][0]).open()
    # The slow one takes every slot and releases none.
    held = [slow.next_frame(release=False)[0]["slot"] for _ in range(slow.format["slots"])]
    start = time.monotonic()
    frames = read_frames(fast, 30)
    elapsed = time.monotonic() - start
    assert elapsed < 1.6, f"30 frames at 30 fps took {elapsed:.2f} s"
    seqs = [m["sequence"] for m, _ in frames]
    assert seqs[-1] - seqs[0] == len(seqs) - 1
    assert all(m["dropped"] == 0 for m, _ in frames)
    # Its frames were dropped and counted, and it gets fresh ones once it releases a slot.
    slow.release(held[0])
    msg, _ = slow.next_frame()
    assert msg["type"] == FRAME and msg["dropped"] >= 20
    slow.close()
    fast.close()


def test_stop_ends_the_stream_and_the_track(env):
    env.agents("allow-once")
    _, results = env.client.get_user_media(VIDEO_DEFAULT)
    track = env.client.track(results["tracks"][0])
    stream = track.open()
    read_frames(stream, 1)
    track.iface.Stop()
    while True:
        msg = stream.recv()
        if msg is None or msg["type"] == ENDED:
            break
    assert msg is not None and msg["type"] == ENDED
    assert stream.recv() is None  # EOF after ENDED
    assert track.ended == []      # Stop() fires no Ended
    assert track.prop("ReadyState") == "ended"
    with pytest.raises(dbus.DBusException) as e:
        track.open()
    assert dbus_error_name(e) == ERROR_PREFIX + "AbortError"
    track.iface.Stop()            # stopping again does nothing
    stream.close()


def test_removing_the_device_mid_stream_ends_the_track(env):
    env.agents("allow-once")
    _, results = env.client.get_user_media(VIDEO_DEFAULT)
    track = env.client.track(results["tracks"][0])
    stream = track.open()
    read_frames(stream, 1)
    synthetic_controls().RemoveDevice("front-camera")
    assert run_until(lambda: track.ended)
    assert track.ended == ["device-removed"]
    assert track.prop("ReadyState") == "ended"
    msg = stream.recv()
    while msg and msg["type"] == FRAME:
        msg = stream.recv()
    assert msg["type"] == ENDED and msg["reason"] == 2
    stream.close()


def test_failing_device_mid_stream_is_a_device_error(env):
    env.agents("allow-once")
    _, results = env.client.get_user_media(VIDEO_DEFAULT)
    track = env.client.track(results["tracks"][0])
    synthetic_controls().SetDeviceState("front-camera", "failing")
    assert run_until(lambda: track.ended)
    assert track.ended == ["device-error"]


def test_client_killed_mid_stream_leaves_others_served(env):
    env.agents("allow-once")
    victim = env.clients()
    _, results = victim.get_user_media(VIDEO_DEFAULT)
    stream = victim.track(results["tracks"][0]).open()
    read_frames(stream, 1)
    victim.close()
    stream.close()
    code, results = env.client.get_user_media(VIDEO_DEFAULT)
    assert code == 0
    stream = env.client.track(results["tracks"][0]).open()
    read_frames(stream, 3)
    stream.close()


def test_apply_constraints(env):
    env.agents("allow-once")
    _, results = env.client.get_user_media(VIDEO_DEFAULT)
    track = env.client.track(results["tracks"][0])
    stream = track.open()
    track.iface.ApplyConstraints(sv({"width": 320}))
    s = track.prop("Settings")
    assert (s["width"], s["height"]) == (320, 240)
    while True:
        msg = stream.recv()
        if msg["type"] == 4:  # FORMAT
            assert msg["format"][:2] == (320, 240)
            break
    with pytest.raises(dbus.DBusException) as e:
        track.iface.ApplyConstraints(sv({"width": {"min": 5000}}))
    assert dbus_error_name(e) == ERROR_PREFIX + "OverconstrainedError"
    assert "width" in str(e.value)
    assert track.prop("Settings")["width"] == 320
    stream.close()


def test_set_enabled_false_gives_black_frames(env):
    env.agents("allow-once")
    _, results = env.client.get_user_media(VIDEO_DEFAULT)
    track = env.client.track(results["tracks"][0])
    stream = track.open()
    track.iface.SetEnabled(False)
    assert track.prop("Enabled") is False
    for _ in range(10):
        msg, data = stream.next_frame()
        if msg["flags"] & 1:
            break
    assert msg["flags"] & 1
    stream.close()
