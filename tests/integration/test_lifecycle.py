"""The daemon's start and stop, as indicators and agents see them (docs/reliability.md 32, 45): the LED
is set at start (one left on by a killed daemon goes out) and at stop; SIGTERM with a prompt open
and a stream live withdraws the prompt, ends the stream and publishes everything off before the
bus name goes."""

import signal
import time

import dbus
import pytest

from conftest import BUS_NAME, IFACE_MANAGER, OBJECT_PATH
from mgclient import ENDED, FRAME, run_until, unwrap

VIDEO = {"video": True}


class BusRecorder:
    """The Manager's PropertiesChanged and the bus name's NameOwnerChanged, in arrival order."""

    def __init__(self, client):
        self.events = []
        client.bus.add_signal_receiver(self.on_properties, "PropertiesChanged", "org.freedesktop.DBus.Properties",
                                       None, OBJECT_PATH)
        client.bus.add_signal_receiver(self.on_owner, "NameOwnerChanged", "org.freedesktop.DBus",
                                       "org.freedesktop.DBus", "/org/freedesktop/DBus", arg0=BUS_NAME)

    def on_properties(self, interface, changed, invalidated):
        if interface == IFACE_MANAGER:
            for name, value in changed.items():
                self.events.append(("property", str(name), unwrap(value)))

    def on_owner(self, name, old, new):
        self.events.append(("owner", str(name), str(new)))

    def name_gone(self):
        return ("owner", BUS_NAME, "") in self.events

    def last_values_before_name_gone(self):
        values = {}
        for kind, name, value in self.events:
            if kind == "owner" and value == "":
                return values
            if kind == "property":
                values[name] = value
        raise AssertionError(f"the name never went: {self.events}")


def open_video(client):
    code, results = client.get_user_media(VIDEO)
    assert code == 0, results
    track = client.track(results["tracks"][0])
    return track, track.open()


@pytest.fixture
def led(tmp_path):
    path = tmp_path / "brightness"
    path.write_text("1\n")  # left on by a daemon that was killed
    return path


def test_32_the_led_is_set_at_start_and_at_stop(daemon_factory, polkit, clients, agents, led):
    daemon = daemon_factory(config=f"IndicatorLed=camera:{led}\n").start()
    assert led.read_text() == "0\n"
    agents("allow-once")
    client = clients()
    _, stream = open_video(client)
    msg, _ = stream.next_frame()
    assert msg["type"] == FRAME
    assert led.read_text() == "1\n"
    # Stopped with the camera live: the LED goes out with the daemon, not three seconds later.
    assert daemon.stop() == 0
    assert led.read_text() == "0\n"
    stream.close()


def test_45_sigterm_withdraws_prompts_ends_streams_and_publishes_off_before_the_bus_closes(daemon_factory, polkit,
                                                                                        clients, agents, led):
    daemon = daemon_factory(config=f"IndicatorLed=camera:{led}\n").start()
    agent = agents("allow-once")
    streaming = clients()
    _, stream = open_video(streaming)
    msg, _ = stream.next_frame()
    assert msg["type"] == FRAME
    agent.decision = None  # the next prompt stays open
    _, responses = clients().start_request({"audio": True})
    assert run_until(lambda: agent.prompts[1:])
    prompt_id = agent.prompts[1][0]
    recorder = BusRecorder(clients())
    run_until(lambda: False, 0.2)

    daemon.proc.send_signal(signal.SIGTERM)
    assert run_until(recorder.name_gone, 10), recorder.events
    assert run_until(lambda: agent.cancelled, 5)
    assert daemon.proc.wait(10) == 0

    assert agent.cancelled == [prompt_id]
    published = recorder.last_values_before_name_gone()
    for name in ("CameraLive", "CameraAccessible"):
        assert published.get(name) is False, recorder.events
    assert published.get("Clients") == [], recorder.events
    assert led.read_text() == "0\n"
    # The stream was ended, not cut: ENDED, then end of file.
    deadline = time.monotonic() + 5
    while True:
        msg = stream.recv(max(0.1, deadline - time.monotonic()))
        assert msg is not None, "EOF without ENDED"
        if msg["type"] == ENDED:
            break
    assert stream.recv(5) is None
    stream.close()
    assert responses == []  # the request went with the daemon, unanswered rather than granted
