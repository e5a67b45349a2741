"""DevicesChanged is emitted only when what a caller may see changes."""

import time

import dbus
import pytest

from conftest import BUS_NAME, IFACE_MANAGER, IFACE_TESTING, OBJECT_PATH
from mgclient import run_until

CAMERA = "[{name}]\nKind=camera\nLabel={name}\nModes=640x480@30\n"


def listen(client):
    seen = []
    client.bus.add_signal_receiver(lambda: seen.append(time.monotonic()), "DevicesChanged", IFACE_MANAGER, BUS_NAME,
                                   OBJECT_PATH)
    return seen


def settle(seconds=0.4):
    run_until(lambda: False, seconds)


@pytest.fixture
def testing(daemon, polkit, clients, agents):
    agents("allow-once")
    c = clients()
    return dbus.Interface(c.bus.get_object(BUS_NAME, OBJECT_PATH), IFACE_TESTING)


def test_unexposed_callers_hear_only_of_kinds_appearing_and_defaults(testing, clients):
    watcher = clients()
    seen = listen(watcher)
    testing.AddDevice(CAMERA.format(name="extra-camera"))
    settle()
    assert seen == [], "a third camera changes nothing an unexposed caller can see"
    testing.RemoveDevice("extra-camera")
    settle()
    assert seen == []
    testing.RemoveDevice("front-camera")  # the default camera
    assert run_until(lambda: len(seen) == 1)
    testing.RemoveDevice("back-camera")   # the last camera: the kind disappears
    assert run_until(lambda: len(seen) == 2)
    testing.AddDevice(CAMERA.format(name="new-camera"))  # and appears again
    assert run_until(lambda: len(seen) == 3)


def test_exposed_callers_hear_of_every_device_of_their_kind(testing, clients):
    exposed, sibling = clients(), clients()
    code, results = exposed.get_user_media({"video": True})
    assert code == 0
    # Another connection of the same app (this test process) sees what the app's live track
    # exposes, once the daemon knows it.
    sibling.manager.EnumerateDevices({})
    seen_exposed, seen_sibling = listen(exposed), listen(sibling)
    testing.AddDevice(CAMERA.format(name="extra-camera"))
    assert run_until(lambda: seen_exposed and seen_sibling)
    settle()
    assert (len(seen_exposed), len(seen_sibling)) == (1, 1)
    testing.AddDevice("[extra-mic]\nKind=microphone\nLabel=Mic\nSampleRates=48000\nChannels=1\nSampleSizes=16\n")
    settle()
    assert (len(seen_exposed), len(seen_sibling)) == (1, 1), "a camera track does not expose microphones"
