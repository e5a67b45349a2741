"""The whole chain inside the VM on synthetic devices: the host's build of the daemon starts on
the VM's session bus, answers EnumerateDevices and mediactl, and streams frames over the memfd
pool and the control socket of the VM's kernel."""

import json
import time

import pytest

from conftest import mediactl
from mgclient import FRAME, STAMP

SYNTHETIC_ONLY = "Backends=synthetic\n"


@pytest.fixture
def synthetic(daemon_factory, polkit, clients, agents):
    daemon = daemon_factory(config=SYNTHETIC_ONLY).start()
    return daemon, clients(), agents


def test_daemon_answers_enumerate_devices(synthetic):
    _, client, _ = synthetic
    devices = client.manager.EnumerateDevices({})
    # The built-in devices before any grant: one entry per kind, fields empty.
    assert [(str(d[0]), str(d[1]), str(d[2])) for d in devices] == [
        ("", "audioinput", ""), ("", "videoinput", "")]


def test_mediactl_lists_devices(synthetic):
    out = mediactl("devices", "--json").stdout
    assert sorted(d["kind"] for d in json.loads(out)) == ["audioinput", "videoinput"]


def test_synthetic_frames_reach_a_client(synthetic):
    _, client, agents = synthetic
    agents("allow-once")
    code, results = client.get_user_media({"video": True})
    assert code == 0, results
    stream = client.track(results["tracks"][0]).open()
    try:
        msg, data = stream.next_frame(timeout=10)
        assert msg is not None and msg["type"] == FRAME, msg
        magic, seq, ts, _tag = STAMP.unpack_from(data)
        assert magic == b"MGFRAME\0" and seq == msg["sequence"]
        assert 0 <= time.clock_gettime_ns(time.CLOCK_MONOTONIC) - ts < 5_000_000_000
    finally:
        stream.close()
