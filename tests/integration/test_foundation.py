"""The daemon on the bus: start-up, configuration, EnumerateDevices before any grant,
option checking, and surviving malformed calls."""

import json
import os
import signal
import socket
import subprocess

import dbus
import pytest

from conftest import (BUS_NAME, DAEMON, ERROR_PREFIX, IFACE_MANAGER, IFACE_TESTING, OBJECT_PATH,
                      dbus_error_name, mediactl, session_bus, wait_for_name)

INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"


def test_help_and_version():
    out = subprocess.run([str(DAEMON), "--help"], capture_output=True, text=True, check=True).stdout
    assert "--session" in out and "--synthetic" in out and "--test-controls" in out
    out = subprocess.run([str(DAEMON), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("mediagated ")
    bad = subprocess.run([str(DAEMON), "--no-such-option"], capture_output=True, text=True)
    assert bad.returncode != 0


def test_enumerate_devices_hides_everything_before_a_grant(manager):
    devices = manager.EnumerateDevices({})
    # The built-in devices: one microphone, two cameras. Without exposure, one entry per kind,
    # microphones first, every field empty.
    assert [(str(d[0]), str(d[1]), str(d[2])) for d in devices] == [
        ("", "audioinput", ""), ("", "videoinput", "")]
    assert dict(devices[0][3]) == {"group_id": ""}
    assert dict(devices[1][3]) == {"group_id": "", "facing_mode": ""}


@pytest.mark.parametrize("options, message", [
    ({"no_such_option": "x"}, "Unknown option"),
    ({"origin": dbus.UInt32(5)}, "must be of type 's'"),
])
def test_enumerate_devices_rejects_bad_options(manager, options, message):
    with pytest.raises(dbus.DBusException) as e:
        manager.EnumerateDevices(options)
    assert dbus_error_name(e) == INVALID_ARGS
    assert message in str(e.value)


def test_origin_from_a_non_broker_is_a_security_error(manager):
    with pytest.raises(dbus.DBusException) as e:
        manager.EnumerateDevices({"origin": "https://example.com"})
    assert dbus_error_name(e) == ERROR_PREFIX + "SecurityError"


def test_daemon_survives_malformed_calls(bus, manager):
    obj = bus.get_object(BUS_NAME, OBJECT_PATH)
    bad_calls = [
        ("EnumerateDevices", "s", ("x",)),
        ("EnumerateDevices", "", ()),
        ("EnumerateDevices", "a{sv}a{sv}", ({}, {})),
        ("NoSuchMethod", "", ()),
    ]
    for method, signature, args in bad_calls:
        with pytest.raises(dbus.DBusException):
            obj.get_dbus_method(method, IFACE_MANAGER)(*args, signature=signature)
    # Deeply nested and very large dictionaries are refused, never a crash. (Nesting past the
    # protocol's limit would make the bus itself drop the sender, so stay within it.)
    nested = "x"
    for _ in range(15):
        nested = dbus.Dictionary({"k": nested}, signature="sv")
    with pytest.raises(dbus.DBusException):
        manager.EnumerateDevices({"origin": nested})
    with pytest.raises(dbus.DBusException):
        manager.EnumerateDevices({f"k{i}": "v" for i in range(10000)})
    assert len(manager.EnumerateDevices({})) == 2


def test_busctl_drives_the_daemon(daemon):
    out = subprocess.run(["busctl", "--user", "call", BUS_NAME, OBJECT_PATH, IFACE_MANAGER,
                          "EnumerateDevices", "a{sv}", "0"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith('a(sssa{sv}) 2 "" "audioinput" ""')


def test_second_daemon_refuses_the_taken_name(daemon, daemon_factory):
    second = daemon_factory()
    p = subprocess.run(second.args, capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "already taken" in p.stderr


def test_ready_notification_and_clean_exit_on_sigterm(tmp_path, daemon_factory):
    sock_path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(10)
    d = daemon_factory()
    env = dict(os.environ, NOTIFY_SOCKET=sock_path)
    proc = subprocess.Popen(d.args, env=env, stderr=subprocess.PIPE, text=True)
    try:
        messages = sock.recv(4096).decode()
        assert "READY=1" in messages.split("\n")
        assert wait_for_name(session_bus(), BUS_NAME)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert "STOPPING=1" in sock.recv(4096).decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_clean_exit_on_signals(daemon_factory, sig):
    d = daemon_factory().start()
    assert d.stop(sig) == 0


@pytest.mark.parametrize("line, message", [
    ("PromptTimeoutSec=soon", "PromptTimeoutSec= wants a whole number"),
    ("Backends=v4l2 floppy", "Backends= takes v4l2, alsa and synthetic"),
    ("RevealConstraintName=sometimes", "RevealConstraintName= takes"),
    ("this is not an assignment", "expected Key=Value"),
])
def test_bad_configuration_names_file_and_line(daemon_factory, line, message):
    d = daemon_factory(config=line + "\n")
    p = subprocess.run(d.args, capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    # The fixture writes three lines before ours.
    assert f"{d.config_file}:4: {message}" in p.stderr


def test_unknown_configuration_keys_are_warned_about(daemon_factory):
    d = daemon_factory(config="FrobnicateLevel=11\n").start()
    assert "unknown key FrobnicateLevel=" in d.output()


def test_missing_configuration_file_is_an_error(tmp_path):
    p = subprocess.run([str(DAEMON), "--session", "--config", str(tmp_path / "nope.conf")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "does not exist" in p.stderr


def test_synthetic_file_and_testing_interface(bus, daemon_factory):
    daemon_factory(synthetic="[mic-a]\nKind=microphone\nLabel=A\nSampleRates=48000\nChannels=1\n"
                             "SampleSizes=16\n").start()
    manager = dbus.Interface(bus.get_object(BUS_NAME, OBJECT_PATH), IFACE_MANAGER)
    testing = dbus.Interface(bus.get_object(BUS_NAME, OBJECT_PATH), IFACE_TESTING)
    assert [str(d[1]) for d in manager.EnumerateDevices({})] == ["audioinput"]

    testing.AddDevice("[cam]\nKind=camera\nLabel=Cam\nModes=640x480@30\n")
    assert [str(d[1]) for d in manager.EnumerateDevices({})] == ["audioinput", "videoinput"]
    testing.AddDevice("[mic-b]\nKind=microphone\nLabel=B\nSampleRates=44100\nChannels=2\n"
                      "SampleSizes=16\n")
    # Still one entry per kind while nothing is exposed.
    assert [str(d[1]) for d in manager.EnumerateDevices({})] == ["audioinput", "videoinput"]

    with pytest.raises(dbus.DBusException) as e:
        testing.AddDevice("[cam]\nKind=camera\nLabel=Again\nModes=640x480@30\n")
    assert dbus_error_name(e) == INVALID_ARGS
    with pytest.raises(dbus.DBusException) as e:
        testing.AddDevice("[bad]\nKind=camera\nModes=640x480@0\n")
    assert dbus_error_name(e) == INVALID_ARGS
    with pytest.raises(dbus.DBusException) as e:
        testing.SetDeviceState("cam", "exploded")
    assert dbus_error_name(e) == INVALID_ARGS
    with pytest.raises(dbus.DBusException) as e:
        testing.RemoveDevice("no-such-device")
    assert dbus_error_name(e) == INVALID_ARGS

    testing.SetDeviceState("cam", "busy")
    testing.RemoveDevice("cam")
    assert [str(d[1]) for d in manager.EnumerateDevices({})] == ["audioinput"]


def test_bad_synthetic_file_is_a_clear_error(daemon_factory):
    d = daemon_factory(synthetic="[cam]\nKind=camera\nModes=640x480@30\nColour=blue\n")
    p = subprocess.run(d.args, capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "synthetic.conf" in p.stderr and ":4:" in p.stderr


def test_mediactl_devices(daemon):
    out = mediactl("devices").stdout
    assert "audioinput" in out and "videoinput" in out
    data = json.loads(mediactl("devices", "--json").stdout)
    assert [d["kind"] for d in data] == ["audioinput", "videoinput"]
    assert all(d["device_id"] == "" and d["label"] == "" for d in data)


def test_mediactl_reports_errors_by_name(daemon):
    p = mediactl("devices", "--origin", "https://example.com", check=False)
    assert p.returncode != 0
    assert "SecurityError" in p.stderr


@pytest.mark.parametrize("config, kinds, log", [
    ("", ["audioinput", "videoinput"], "No real camera: the built-in synthetic one stands in."),
    ("Backends=v4l2 alsa\n", [], "Backends: v4l2 alsa."),
    ("Backends=v4l2 synthetic\n", ["audioinput", "videoinput"], "Backends: v4l2 synthetic."),
    ("Backends=alsa\n", [], "Backends: alsa."),
])
def test_backends_by_configuration(bus, daemon_factory, config, kinds, log):
    # This machine has no camera and no sound card: only synthetic devices can appear.
    d = daemon_factory(config=config).start()
    manager = dbus.Interface(bus.get_object(BUS_NAME, OBJECT_PATH), IFACE_MANAGER)
    assert [str(x[1]) for x in manager.EnumerateDevices({})] == kinds
    assert log in d.output()
