"""The rule by which a real-backend test is an expected failure (conftest.backend_missing), on
made-up daemon logs: it marks what the daemon lacks and never hides a backend that exists."""

import pytest

from conftest import DAEMON, backend_missing, daemon_links

CASES = [
    # id, log, backend, the daemon binary has the backend's code, missing
    ("linked-silent", "", "v4l2", True, False),
    ("absent-silent", "", "alsa", False, True),
    ("only-synthetic", "mediagated: Device front-camera added (videoinput, synthetic).\n", "v4l2", False, True),
    ("v4l2-device", "mediagated: Device /sys/devices/platform/vivid.0 added (videoinput, v4l2).\n", "v4l2", False,
     False),
    ("alsa-refused", "mediagated: Backend alsa is not available in this build.\n", "alsa", True, True),
    ("v4l2-unknown", "mediagated: Unknown backend v4l2, ignored.\n", "v4l2", True, True),
    ("camera-busy", "mediagated: Camera /dev/video0 (vivid) is busy.\n", "v4l2", True, False),
    ("alsa-device", "mediagated: ALSA capture hw:Loopback,0 added.\n", "alsa", False, False),
]


@pytest.mark.parametrize("log, backend, linked, missing", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_backend_missing(log, backend, linked, missing):
    assert (backend_missing(log, backend, linked) is not None) == missing


def test_daemon_links_sees_the_synthetic_backend():
    # The synthetic backend is always linked; a made-up backend never is.
    assert daemon_links("synthetic", DAEMON) is True
    assert daemon_links("nosuchbackend", DAEMON) is False
