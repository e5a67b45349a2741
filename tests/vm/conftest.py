"""Fixtures of the VM tier: the integration tier's daemon, bus and client helpers (reused, not
copied), the daemon on the real backends, and the one rule by which a real-backend test may be
an expected failure: the daemon says it has no such backend yet."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
INTEGRATION = TOP / "tests" / "integration"
IN_VM = bool(os.environ.get("MEDIAGATE_VM"))

if not IN_VM:
    # These tests need the VM's drivers; on the host tools/check runs tests/vm/run-tier instead.
    collect_ignore_glob = ["test_*.py"]

    def pytest_report_header(config):
        return "tests/vm: not collected outside the VM (run tests/vm/run-tier)"
else:
    # The integration conftest under its own name (this file is the `conftest` module here),
    # and mgclient beside it, which imports the bus names below from `conftest`.
    _spec = importlib.util.spec_from_file_location("mediagate_integration_conftest", INTEGRATION / "conftest.py")
    _integration = importlib.util.module_from_spec(_spec)
    sys.modules[_spec.name] = _integration
    _spec.loader.exec_module(_integration)
    sys.path.insert(0, str(INTEGRATION))

    from mediagate_integration_conftest import (  # noqa: E402,F401  (fixtures are found by name)
        BUS_NAME, DAEMON, ERROR_PREFIX, IFACE_MANAGER, IFACE_TESTING, MEDIACTL, OBJECT_PATH, Daemon, agents, bus,
        clients, daemon, daemon_factory, dbus_error_name, manager, mediactl, session_bus,
        wait_for_name)

# The daemon of the real-device tests: the real backends only, so that every device it lists
# is one of the VM's.
REAL_BACKENDS_CONFIG = "Backends=v4l2 alsa\n"

# What a daemon without a backend says about it. Today's manager.c ignores Backends= it cannot
# serve and says nothing; a daemon that knows the name but lacks the code may say so.
_REFUSAL = re.compile(r"not (available|supported|implemented|built|compiled)|unknown backend|no such backend",
                      re.IGNORECASE)


def daemon_links(backend, binary):
    """Whether the daemon binary contains a backend's code: functions named <backend>_* are
    defined in it. The Makefile links the daemon from a static archive, so a backend's object
    is in the binary only once main.c or manager.c calls it. None when nm cannot tell."""
    try:
        out = subprocess.run(["nm", "--defined-only", str(binary)], capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return any(line.split()[-1].startswith(backend + "_") for line in out.splitlines() if line.strip())


def backend_missing(daemon_log, backend, linked=None):
    """Why the daemon has no `backend` yet, or None when it has one.

    Missing means: the log refuses the backend by name, or the log never mentions it while the
    daemon binary does not contain its code either (`linked`, from daemon_links(); when that
    cannot be told, the source file daemon/devices/<backend>.c stands in). A backend that is
    built in but finds nothing is not missing: its tests run and fail."""
    said = [line for line in daemon_log.splitlines() if re.search(rf"\b{backend}\b", line, re.IGNORECASE)]
    refused = [line for line in said if _REFUSAL.search(line)]
    if refused:
        return f"the daemon says: {refused[0].strip()}"
    if linked is None:
        linked = (TOP / "daemon" / "devices" / f"{backend}.c").exists()
    if not said and not linked:
        return f"no {backend} backend in the daemon yet: no {backend}_* code in it, and its log never names {backend}"
    return None


class RealEnv:
    """The daemon on the real backends, polkit (mocked) allowing, and one client."""

    def __init__(self, daemon, polkit, clients, agents):
        self.daemon, self.polkit, self.clients, self.agents = daemon, polkit, clients, agents
        self.client = clients()

    def require(self, *backends):
        """xfail the calling test when the daemon lacks one of `backends`; else nothing."""
        for backend in backends:
            reason = backend_missing(self.daemon.output(), backend, daemon_links(backend, self.daemon.args[0]))
            if reason:
                pytest.xfail(reason)

    def enumerate(self):
        """EnumerateDevices as [(device_id, kind, label, info)]."""
        import dbus
        from mgclient import unwrap
        return [tuple(unwrap(d)) for d in self.client.manager.EnumerateDevices(dbus.Dictionary({}, signature="sv"))]

    def expose(self, kind):
        """Gain exposure of `kind` ("video" or "audio") the way an app does: a granted request
        with a live track. Returns the track."""
        self.agents("allow-once")
        code, results = self.client.get_user_media({kind: True})
        assert code == 0, results
        return self.client.track(results["tracks"][0])

    def device_id(self, kind, label_part):
        """The id of the first device of `kind` whose label contains `label_part` (exposure of
        the kind is needed first). snd-aloop has two capture PCMs, both "Loopback"."""
        found = [d for d in self.enumerate() if d[1] == kind and label_part.lower() in d[2].lower()]
        assert found, f"no {kind} named like {label_part!r}: {self.enumerate()}"
        return found[0][0]


@pytest.fixture(scope="session")
def polkit():
    """polkit (python-dbusmock's template) allowing camera and microphone, once for the whole
    run: a new mock per test costs seconds of Python start-up under TCG, and no test here
    changes what it allows."""
    from mgclient import start_polkit_mock
    proc, mock = start_polkit_mock()
    yield mock
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def real(daemon_factory, polkit, clients, agents):
    return RealEnv(daemon_factory(config=REAL_BACKENDS_CONFIG).start(), polkit, clients, agents)
