"""Sessions through logind, with python-dbusmock's logind template: two sessions of one user,
activated one after the other. Prompts go only to an agent of the asking session (or, for a
process outside any session, of the user's active one), nothing reaches an agent of a session
that is not in front, and live streams are muted while their session is away (switched from, or
locked) and resume when it is back."""

import json
import os
import select
import subprocess
import time

import dbus
import pytest

from conftest import BUS_NAME, IFACE_MANAGER, MEDIACTL, OBJECT_PATH
from mgclient import MUTED, UNMUTED, FRAME, Client, run_until, unwrap
from test_mediactl import SYNTHETIC

LOGIN1 = "org.freedesktop.login1"
LOGIN1_PATH = "/org/freedesktop/login1"
LOGIN1_MANAGER = "org.freedesktop.login1.Manager"
MOCK = "org.freedesktop.DBus.Mock"
C1 = "/org/freedesktop/login1/session/c1"
C2 = "/org/freedesktop/login1/session/c2"


class Logind:
    """The logind mock, with GetSessionByPID answering from a table the test fills."""

    def __init__(self):
        self.proc = subprocess.Popen(["/usr/bin/python3", "-m", "dbusmock", "--session", "--template", "logind"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.bus = dbus.bus.BusConnection(os.environ["DBUS_SESSION_BUS_ADDRESS"])
        deadline = time.monotonic() + 10
        while not self.bus.name_has_owner(LOGIN1):
            assert time.monotonic() < deadline, "logind mock did not start"
            time.sleep(0.02)
        self.mock = dbus.Interface(self.bus.get_object(LOGIN1, LOGIN1_PATH), MOCK)
        self.mock.AddMethod(LOGIN1_MANAGER, "SetSessionOfPID", "uo", "",
                            "self.pids = getattr(self, 'pids', {}); self.pids[int(args[0])] = args[1]")
        self.mock.AddMethod(LOGIN1_MANAGER, "GetSessionByPID", "u", "o",
                            "pids = getattr(self, 'pids', {})\n"
                            "if int(args[0]) not in pids:\n"
                            "    raise dbus.exceptions.DBusException('No session for this PID', "
                            "name='org.freedesktop.login1.NoSessionForPID')\n"
                            "ret = pids[int(args[0])]")
        uid = os.getuid()
        self.mock.AddSession("c1", "seat0", dbus.UInt32(uid), "tester", True)
        self.mock.AddSession("c2", "seat0", dbus.UInt32(uid), "tester", False)

    def place(self, pid, session):
        self.bus.get_object(LOGIN1, LOGIN1_PATH).SetSessionOfPID(dbus.UInt32(pid), dbus.ObjectPath(session),
                                                                 dbus_interface=LOGIN1_MANAGER)

    def update(self, session, **props):
        dbus.Interface(self.bus.get_object(LOGIN1, session), MOCK).UpdateProperties(
            "org.freedesktop.login1.Session", dbus.Dictionary(props, signature="sv"))

    def activate(self, session):
        """What logind does when the seat switches to session: one active, the other not."""
        other = C2 if session == C1 else C1
        self.update(other, Active=False)
        self.update(session, Active=True)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.bus.close()


class InSession:
    """A mediactl run as a process of a session: started held, placed, then let go (exec keeps
    the pid, so logind's table names it before its first call)."""

    def __init__(self, logind, session, *args):
        self.proc = subprocess.Popen(["sh", "-c", 'read go; exec "$0" "$@"', str(MEDIACTL), *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=dict(os.environ, MEDIAGATE_BUS="session"))
        if session:
            logind.place(self.proc.pid, session)
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        self.lines, self.buffer = [], ""

    def read(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if r:
            chunk = os.read(self.proc.stdout.fileno(), 65536).decode()
            self.buffer += chunk
            *complete, self.buffer = self.buffer.split("\n")
            self.lines += complete
            return bool(chunk)
        return False

    def wait_for(self, text, timeout=10):
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if time.monotonic() > deadline or (not self.read(deadline - time.monotonic()) and
                                               self.proc.poll() is not None):
                return False
        return True

    def asked(self):
        while self.read(0.3):
            pass
        return [json.loads(line) for line in self.lines if '"event":"prompt"' in line]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        out, err = self.proc.communicate(timeout=10)
        return self.proc.returncode, out, err


@pytest.fixture
def env(daemon_factory, polkit):
    polkit.SetAllowed(["org.mediagate.camera", "org.mediagate.microphone"])
    logind = Logind()
    daemon = daemon_factory(synthetic=SYNTHETIC).start()
    made = []

    class Env:
        pass

    e = Env()
    e.logind, e.daemon = logind, daemon

    def run(session, *args):
        p = InSession(logind, session, *args)
        made.append(p)
        return p

    def agent(session):
        a = run(session, "agent", "--json", "--auto", "allow-once")
        assert a.wait_for('"ready"'), a.stop()
        return a

    e.run, e.agent = run, agent
    yield e
    for p in made:
        p.stop()
    logind.stop()


def get(env, session, kind="--audio"):
    """`mediactl get` from a process of session (None: outside any): (exit code, stderr)."""
    p = env.run(session, "get", kind, "true")
    code = p.proc.wait(15)
    return code, p.proc.stderr.read()


def test_prompts_follow_the_active_session(env):
    first, second = env.agent(C1), env.agent(C2)  # the second registered last: without sessions, it is asked
    assert get(env, C1)[0] == 0
    assert len(first.asked()) == 1 and second.asked() == []

    # c2 comes to the front: c1's requests ask nobody; c2's go to c2's agent.
    env.logind.activate(C2)
    code, err = get(env, C1)
    assert code == 1 and "NotAllowedError: The session that asks is not in front" in err
    assert get(env, C2)[0] == 0
    assert len(first.asked()) == 1 and len(second.asked()) == 1

    # A process outside any session asks through its user's active session: c2's agent.
    assert get(env, None)[0] == 0
    assert len(first.asked()) == 1 and len(second.asked()) == 2

    # And back: c1 in front, c2's agent is asked nothing more.
    env.logind.activate(C1)
    assert get(env, None)[0] == 0 and get(env, C1)[0] == 0
    assert len(first.asked()) == 3 and len(second.asked()) == 2


def test_no_agent_of_the_asking_session(env):
    elsewhere = env.agent(C2)
    code, err = get(env, C1)
    assert code == 1 and "No consent agent is available" in err
    assert elsewhere.asked() == []
    # An agent outside any session (a user service) serves the session in front.
    service = env.agent(None)
    assert get(env, C1)[0] == 0
    assert len(service.asked()) == 1 and elsewhere.asked() == []


def test_a_locked_session_asks_nobody(env):
    agent = env.agent(C1)
    env.logind.update(C1, LockedHint=True)
    code, err = get(env, C1)
    assert code == 1 and "not in front" in err
    env.logind.update(C1, LockedHint=False)
    assert get(env, C1)[0] == 0
    assert len(agent.asked()) == 1


def next_message(stream, types, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = stream.recv(max(0.05, deadline - time.monotonic()))
        assert msg is not None, "the stream ended"
        if msg["type"] == FRAME:
            stream.release(msg["slot"])
        if msg["type"] in types:
            return msg
    raise AssertionError(f"no message of {types}")


def indicator(name):
    bus = dbus.bus.BusConnection(os.environ["DBUS_SESSION_BUS_ADDRESS"])
    try:
        return bool(bus.get_object(BUS_NAME, OBJECT_PATH).Get(IFACE_MANAGER, name,
                                                             dbus_interface="org.freedesktop.DBus.Properties"))
    finally:
        bus.close()


def test_streams_mute_when_their_session_leaves_the_front_and_resume(env):
    env.agent(C1)
    env.logind.place(os.getpid(), C1)  # this process is the app, in c1
    c = Client()
    code, results = c.get_user_media({"video": True})
    assert code == 0, results
    track = c.track(results["tracks"][0])
    stream = track.open()
    next_message(stream, (FRAME,))
    assert indicator("CameraLive")

    env.logind.activate(C2)
    next_message(stream, (MUTED,))
    assert run_until(lambda: track.prop("Muted") is True, 5)
    # The device is released within 3 s (after the indicator's hold, the light goes out).
    assert run_until(lambda: not indicator("CameraLive"), 8)

    env.logind.activate(C1)
    next_message(stream, (UNMUTED,))
    next_message(stream, (FRAME,))
    assert track.prop("Muted") is False and indicator("CameraLive")

    # A locked screen does the same, where logind reports it.
    env.logind.update(C1, LockedHint=True)
    next_message(stream, (MUTED,))
    env.logind.update(C1, LockedHint=False)
    next_message(stream, (UNMUTED,))
    next_message(stream, (FRAME,))
    stream.close()
    c.close()


def test_a_track_started_away_starts_muted(env):
    """Allowed by a stored grant (no prompt) while its session is not in front: it starts muted,
    and nothing of it is captured until the session is back."""
    env.agent(C1).stop()
    allow = env.run(C1, "agent", "--json", "--auto", "allow-always")
    assert allow.wait_for('"ready"')
    env.logind.place(os.getpid(), C1)
    c = Client()
    code, results = c.get_user_media({"video": True})
    assert code == 0
    c.track(results["tracks"][0]).iface.Stop()

    env.logind.activate(C2)
    code, results = c.get_user_media({"video": True})
    assert code == 0, results
    track = c.track(results["tracks"][0])
    assert track.prop("Muted") is True
    stream = track.open()
    assert stream.recv()["type"] == MUTED
    # The device never starts for it: the light goes out after the last track's hold.
    assert run_until(lambda: not indicator("CameraLive"), 8)
    env.logind.activate(C1)
    assert stream.recv()["type"] == UNMUTED  # no frame came before
    next_message(stream, (FRAME,))
    stream.close()
    c.close()
