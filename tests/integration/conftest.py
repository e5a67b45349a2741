"""Fixtures of the integration tier: a private session bus (the suite runs under
dbus-run-session), the daemon started on synthetic devices, and bus helpers."""

import os
import signal
import subprocess
import time
from pathlib import Path

import dbus
import pytest

TOP = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("MEDIAGATE_BUILD", TOP / "build"))
DAEMON = BUILD / "mediagated"
MEDIACTL = BUILD / "mediactl"
BUS_NAME = "org.mediagate.MediaGate1"
OBJECT_PATH = "/org/mediagate/MediaGate1"
IFACE_MANAGER = BUS_NAME + ".Manager"
IFACE_TESTING = BUS_NAME + ".Testing"
ERROR_PREFIX = BUS_NAME + ".Error."

# Under valgrind or sanitizers the daemon starts slower.
START_TIMEOUT = float(os.environ.get("MEDIAGATE_START_TIMEOUT", "10"))


def session_bus():
    return dbus.bus.BusConnection(os.environ["DBUS_SESSION_BUS_ADDRESS"])


def wait_for_name(bus, name, timeout=START_TIMEOUT, present=True):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bus.name_has_owner(name) == present:
            return True
        time.sleep(0.02)
    return False


class Daemon:
    """One mediagated process on the session bus, with its own configuration and state."""

    def __init__(self, tmp_path, config="", synthetic=None, extra_args=(), test_controls=True):
        self.tmp = tmp_path
        self.policy_dir = tmp_path / "policy.d"
        self.state_dir = tmp_path / "state"
        self.policy_dir.mkdir(exist_ok=True)
        self.state_dir.mkdir(exist_ok=True)
        self.config_file = tmp_path / "mediagated.conf"
        self.config_file.write_text(
            "[Daemon]\n"
            f"PolicyDirectory={self.policy_dir}\n"
            f"StateDirectory={self.state_dir}\n" + config)
        self.args = [str(DAEMON), "--session", "--config", str(self.config_file)]
        if test_controls:
            self.args.append("--test-controls")
        if synthetic is not None:
            synthetic_file = tmp_path / "synthetic.conf"
            synthetic_file.write_text(synthetic)
            self.args += ["--synthetic", str(synthetic_file)]
        self.args += list(extra_args)
        self.log_path = tmp_path / "mediagated.log"
        self.proc = None

    def start(self, wait=True):
        wrapper = os.environ.get("MEDIAGATE_DAEMON_WRAPPER", "").split()
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(wrapper + self.args, stdout=self.log, stderr=subprocess.STDOUT)
        if wait:
            bus = session_bus()
            if not wait_for_name(bus, BUS_NAME):
                self.stop()
                raise AssertionError("mediagated did not take its bus name:\n" + self.output())
        return self

    def output(self):
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        code = self.proc.returncode
        self.proc = None
        wait_for_name(session_bus(), BUS_NAME, present=False, timeout=5)
        return code


@pytest.fixture
def daemon_factory(tmp_path):
    started = []

    def make(**kwargs):
        d = Daemon(tmp_path, **kwargs)
        started.append(d)
        make.last = d
        return d

    yield make
    for d in started:
        code = d.stop()
        assert code in (None, 0), f"mediagated exited with {code}:\n{d.output()}"


@pytest.fixture
def daemon(daemon_factory):
    return daemon_factory().start()


@pytest.fixture
def bus():
    b = session_bus()
    yield b
    b.close()


@pytest.fixture
def manager(bus, daemon):
    return dbus.Interface(bus.get_object(BUS_NAME, OBJECT_PATH), IFACE_MANAGER)


def dbus_error_name(excinfo):
    return excinfo.value.get_dbus_name()


def mediactl(*args, check=True, env=None):
    e = dict(os.environ, MEDIAGATE_BUS="session")
    if env:
        e.update(env)
    p = subprocess.run([str(MEDIACTL), *args], capture_output=True, text=True, env=e, timeout=30)
    if check and p.returncode != 0:
        raise AssertionError(f"mediactl {' '.join(args)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p


@pytest.fixture
def polkit():
    """polkit, mocked with python-dbusmock's template, allowing camera and microphone."""
    from mgclient import start_polkit_mock
    proc, mock = start_polkit_mock()
    yield mock
    proc.terminate()
    proc.wait(10)
    wait_for_name(session_bus(), "org.freedesktop.PolicyKit1", present=False, timeout=5)


@pytest.fixture
def clients():
    """Make client connections; all are closed at the end."""
    from mgclient import Client
    made = []

    def make():
        c = Client()
        made.append(c)
        return c

    yield make
    for c in made:
        try:
            c.close()
        except Exception:
            pass


@pytest.fixture
def agents():
    from mgclient import Agent
    made = []

    def make(*args, **kwargs):
        a = Agent(*args, **kwargs)
        made.append(a)
        return a

    yield make
    for a in made:
        try:
            a.vanish()
        except Exception:
            pass
