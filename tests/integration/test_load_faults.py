"""Load and fault tests of docs/reliability.md (15, 17-19, 21-23, 33-35), each bounded in time: floods
of requests, hostile a{sv}, bad handle tokens, unexpected fds, a second uid under a flood, the fd
limit, a reader that stops, kill -9 during grant writes and with live streams, and clock jumps
(simulated in the grants file: the host clock is never touched). Checked from outside only: the
bus, the stream sockets, the state directory and /proc/<daemon pid>."""

import ctypes
import hashlib
import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import dbus
import pytest
from gi.repository import Gio, GLib

from conftest import BUS_NAME, ERROR_PREFIX, IFACE_MANAGER, OBJECT_PATH, Daemon, dbus_error_name
from mgclient import ENDED, FRAME, RELEASE, WIRE, Agent, Client, run_until, start_polkit_mock, sv

APP = "host:" + os.path.realpath(sys.executable)
VIDEO = {"video": True}
TYPE_ERROR = ERROR_PREFIX + "TypeError"
LIMITS = ERROR_PREFIX + "LimitsExceeded"
# Track.Open refuses with the standard D-Bus name (one stream a track, out of fds).
BUS_LIMITS = "org.freedesktop.DBus.Error.LimitsExceeded"
INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"
NO_OPTIONS = dbus.Dictionary({}, signature="sv")


# ---- helpers -------------------------------------------------------------------------------------

def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def instrumented(pid):
    """"valgrind" or "sanitizer" when the daemon runs under one (MEDIAGATE_DAEMON_WRAPPER, make check
    SANITIZE=...), else None. Its memory figures then are the tool's (ASan keeps freed memory in
    quarantine), so the memory bounds below hold for a plain build only."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    if "vgpreload" in maps:
        return "valgrind"
    if "libasan" in maps or "libubsan" in maps or "libtsan" in maps:
        return "sanitizer"
    return None


def settles_at(value_fn, expected, timeout=3.0):
    """Whether value_fn() comes back to expected within timeout (the daemon frees asynchronously)."""
    deadline = time.monotonic() + timeout
    while value_fn() != expected:
        if time.monotonic() > deadline:
            return False
        run_until(lambda: False, 0.02)
    return True


def served_quickly(client, limit=2.0):
    """Another client is still served: EnumerateDevices answers within `limit` seconds."""
    start = time.monotonic()
    client.manager.EnumerateDevices(NO_OPTIONS)
    return time.monotonic() - start < limit


def call_async(method, *args, **kwargs):
    """Fire a call; returns a list that receives ("ok", value) or ("error", name)."""
    out = []
    method(*args, reply_handler=lambda *r: out.append(("ok", r)),
           error_handler=lambda e: out.append(("error", e.get_dbus_name())), **kwargs)
    return out


def tally(outcomes):
    counts = {}
    for o in outcomes:
        key = o[0][0] if o[0][0] == "ok" else o[0][1]
        counts[key] = counts.get(key, 0) + 1
    return counts


class Env:
    pass


@pytest.fixture
def start(daemon_factory, polkit, clients, agents):
    """start(policy=..., decision=..., **daemon options) → Env with daemon, pid, client, agent."""
    def go(policy="", decision="allow-once", **kwargs):
        e = Env()
        e.daemon = daemon_factory(**kwargs)
        if policy:
            (e.daemon.policy_dir / "50-test.conf").write_text(policy)
        e.daemon.start()
        e.pid = e.daemon.proc.pid
        e.polkit, e.clients, e.agents = polkit, clients, agents
        e.client = clients()
        e.agent = agents(decision)
        return e
    return go


def open_stream(client, constraints=VIDEO):
    code, results = client.get_user_media(constraints)
    assert code == 0, results
    track = client.track(results["tracks"][0])
    return track, track.open()


# ---- 15: floods of requests become one prompt; repeated denials back off --------------------------

def test_15_a_thousand_requests_in_a_second_make_one_prompt_per_kinds(start):
    e = start(decision=None)
    kinds = [{"video": True}, {"audio": True}, {"audio": True, "video": True}]
    outcomes = []
    t0 = time.monotonic()
    for i in range(1000):
        outcomes.append(call_async(e.client.manager.GetUserMedia, sv(kinds[i % 3]), NO_OPTIONS))
    sent = time.monotonic() - t0
    assert run_until(lambda: all(outcomes), 30), "not every request was answered"
    counts = tally(outcomes)
    # One request per (uid, app, origin, kinds) at a time; every other one is refused at once.
    assert counts == {"ok": 3, LIMITS: 997}, (counts, f"sent in {sent:.2f} s")
    assert run_until(lambda: len(e.agent.prompts) == 3)
    run_until(lambda: False, 0.5)
    assert sorted(sorted(p[1]["kinds"]) for p in e.agent.prompts) == \
        [["camera"], ["camera", "microphone"], ["microphone"]]

    # The same app from ten more connections: still that one prompt per kinds.
    more = [e.clients() for _ in range(10)]
    outcomes = [call_async(c.manager.GetUserMedia, sv(VIDEO), NO_OPTIONS) for c in more for _ in range(50)]
    assert run_until(lambda: all(outcomes), 30)
    assert tally(outcomes) == {LIMITS: 500}
    run_until(lambda: False, 0.3)
    assert len(e.agent.prompts) == 3
    assert served_quickly(e.clients())

    # Once answered, the next request of that key is asked again.
    for ok, _ in e.agent.pending:
        ok("deny-once", NO_OPTIONS)
    e.agent.pending.clear()
    e.agent.decision = "allow-once"
    deadline = time.monotonic() + 10
    while True:
        run_until(lambda: False, 0.1)  # the agent's answers go out from the loop
        try:
            assert e.client.get_user_media(VIDEO)[0] == 0
            break
        except dbus.DBusException as ex:
            assert ex.get_dbus_name() == LIMITS and time.monotonic() < deadline
    assert len(e.agent.prompts) == 4


def test_15_repeated_denials_back_off_and_a_flood_meanwhile_asks_nobody(start):
    e = start(decision="deny-once")
    for i in range(3):
        code, results = e.client.get_user_media(VIDEO)
        assert (code, results["error"]) == (1, "NotAllowedError")
    last_denial = time.monotonic()
    assert len(e.agent.prompts) == 3

    # Backing off: refused without asking, for the flood as for a single request.
    code, results = e.client.get_user_media(VIDEO)
    assert (code, results["error"]) == (1, "NotAllowedError") and "too often" in results["message"]
    flood = [e.clients() for _ in range(4)]
    outcomes = [call_async(c.manager.GetUserMedia, sv(VIDEO), NO_OPTIONS) for c in flood for _ in range(100)]
    assert run_until(lambda: all(outcomes), 30)
    assert set(tally(outcomes)) <= {"ok", LIMITS}
    run_until(lambda: False, 0.5)
    assert len(e.agent.prompts) == 3
    # Other kinds of the same app are another question.
    assert e.client.get_user_media({"audio": True})[1]["error"] == "NotAllowedError"
    assert len(e.agent.prompts) == 4

    # After the first back-off period (10 s) the user is asked once more; one more refusal
    # backs off again at once (for 20 s).
    run_until(lambda: False, max(0.0, last_denial + 10.5 - time.monotonic()))
    code, results = e.client.get_user_media(VIDEO)
    assert (code, results["error"]) == (1, "NotAllowedError") and "too often" not in results["message"]
    assert len(e.agent.prompts) == 5
    code, results = e.client.get_user_media(VIDEO)
    assert "too often" in results["message"] and len(e.agent.prompts) == 5


# ---- 17: hostile a{sv} to every method that takes one -------------------------------------------

# The bus refuses (and disconnects the sender of) a message nested deeper than 64 containers
# (D-Bus specification: 32 arrays plus 32 structs or dict entries; dbus-daemon counts variants
# too). Each a{sv} level is an array, a dict entry and a variant: 21 levels is the deepest
# message that reaches the daemon; a bare variant chain can be 62 deep under one entry.
BUS_MAX_DEPTH = 64
MAX_AV_LEVELS = BUS_MAX_DEPTH // 3
MAX_VARIANT_CHAIN = BUS_MAX_DEPTH - 2
MIB = 1 << 20


class Pairs(dict):
    """An a{sv} as dbus-python marshals it, from (key, value) pairs that may repeat a key."""

    def __init__(self, pairs):
        super().__init__(pairs)
        self.pairs = list(pairs)

    def items(self):
        return iter(self.pairs)

    def keys(self):
        return [k for k, _ in self.pairs]

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.pairs)


def nested(keys):
    """a{sv} dictionaries nested along keys, padded with "x" to the deepest the bus allows."""
    keys = list(keys) + ["x"] * (MAX_AV_LEVELS - len(keys))
    value = dbus.Boolean(True)
    for k in reversed(keys):
        value = dbus.Dictionary({k: value}, signature="sv")
    return value


def many(first, n=100_000):
    d = dict(first)
    d.update((f"k{i}", dbus.Int32(i)) for i in range(n - len(d)))
    return dbus.Dictionary(d, signature="sv")


# Per role of the argument: the MediaStreamConstraints of GetUserMedia ("streams"), the
# MediaTrackConstraints of ApplyConstraints ("track"), any options or filter dictionary.
HOSTILE = {
    "nested to the bus's limit": {
        "streams": lambda: nested(["video", "width", "min"]),
        "track": lambda: nested(["width", "min"]),
        "options": lambda: nested(["origin"]),
    },
    "a variant chain to the bus's limit": {
        "streams": lambda: {"video": dbus.Boolean(True, variant_level=MAX_VARIANT_CHAIN)},
        "track": lambda: {"width": dbus.Int32(640, variant_level=MAX_VARIANT_CHAIN)},
        "options": lambda: {"origin": dbus.String("x", variant_level=MAX_VARIANT_CHAIN)},
    },
    "10^5 entries": {
        "streams": lambda: many({"video": dbus.Boolean(True)}),
        "track": lambda: many({"width": dbus.Int32(640)}),
        "options": lambda: many({}),
    },
    "a 1 MiB key": {
        "streams": lambda: {"video": dbus.Boolean(True), "k" * MIB: dbus.Boolean(True)},
        "track": lambda: {"k" * MIB: dbus.Int32(1)},
        "options": lambda: {"k" * MIB: dbus.String("")},
    },
    "a 1 MiB string value": {
        "streams": lambda: {"video": dbus.Dictionary({"facingMode": "u" * MIB}, signature="sv")},
        "track": lambda: {"facingMode": dbus.String("u" * MIB)},
        "options": lambda: {"handle_token": dbus.String("x" * MIB), "origin": dbus.String("x" * MIB)},
    },
    "wrong types": {
        "streams": lambda: {"video": dbus.String("yes")},
        "track": lambda: {"width": dbus.String("wide")},
        "options": lambda: {"origin": dbus.UInt32(1)},
    },
    "a duplicate key": {
        "streams": lambda: Pairs([("video", dbus.Boolean(True)), ("video", dbus.Boolean(True))]),
        "track": lambda: Pairs([("width", dbus.Int32(640)), ("width", dbus.Int32(640))]),
        "options": lambda: Pairs([("origin", dbus.String("https://a.example"))] * 2),
    },
}

FILLER = {"name": "camera", "kind": "camera", "app_id": APP, "origin": "", "decision": "deny",
          "path": "/org/mediagate/TestAgent"}


def methods_with_dicts(obj):
    """(interface, method, [(type, name)]) of every method of obj's interfaces with an a{sv} in."""
    import xml.etree.ElementTree as ET
    root = ET.fromstring(str(obj.Introspect(dbus_interface="org.freedesktop.DBus.Introspectable")))
    found = []
    for iface in root.iter("interface"):
        if not iface.get("name").startswith(BUS_NAME):
            continue
        for m in iface.iter("method"):
            args = [(a.get("type"), a.get("name")) for a in m.iter("arg") if a.get("direction", "in") == "in"]
            if any(t == "a{sv}" for t, _ in args):
                found.append((iface.get("name"), m.get("name"), args))
    return found


def filler(t, name):
    if t == "a{sv}":
        return dbus.Dictionary({}, signature="sv")
    if t == "o":
        return dbus.ObjectPath(FILLER.get(name, "/org/mediagate/TestAgent"))
    if t == "s":
        return dbus.String(FILLER.get(name, "camera"))
    if t == "b":
        return dbus.Boolean(False)
    if t == "u":
        return dbus.UInt32(0)
    raise AssertionError(f"no filler for {t}")


def test_17_hostile_dictionaries_are_refused_memory_stays_bounded_others_served(start):
    e = start()
    e.polkit.SetAllowed(["org.mediagate.camera", "org.mediagate.microphone", "org.mediagate.manage",
                         "org.mediagate.mute"])
    track_path = e.client.get_user_media(VIDEO)[1]["tracks"][0]
    targets = [(e.client.bus.get_object(BUS_NAME, OBJECT_PATH), m) for m in
               methods_with_dicts(e.client.bus.get_object(BUS_NAME, OBJECT_PATH))]
    targets += [(e.client.bus.get_object(BUS_NAME, track_path), m) for m in
                methods_with_dicts(e.client.bus.get_object(BUS_NAME, track_path))]
    names = {f"{i.rsplit('.', 1)[1]}.{m}" for _, (i, m, _) in targets}
    assert {"Manager.GetUserMedia", "Manager.EnumerateDevices", "Manager.QueryPermission",
            "Manager.RegisterAgent", "Track.ApplyConstraints"} <= names
    other = e.clients()

    def barrage():
        refused = []
        for obj, (iface, method, args) in targets:
            for label, payloads in HOSTILE.items():
                for i, (t, _) in enumerate(args):
                    if t != "a{sv}":
                        continue
                    role = "streams" if (method, i) == ("GetUserMedia", 0) else \
                        "track" if method == "ApplyConstraints" else "options"
                    values = [filler(tt, n) for tt, n in args]
                    values[i] = payloads[role]()
                    sig = "".join(tt for tt, _ in args)
                    with pytest.raises(dbus.DBusException) as ex:
                        obj.get_dbus_method(method, iface)(*values, signature=sig, timeout=30)
                    name = ex.value.get_dbus_name()
                    assert name in (TYPE_ERROR, INVALID_ARGS), f"{method} arg {i}, {label}: {ex.value}"
                    refused.append((method, label))
            assert e.daemon.proc.poll() is None, e.daemon.output()
            assert served_quickly(other), f"slow after {method}"
        return refused

    before = rss_kib(e.pid)
    refused = barrage()
    after_first = rss_kib(e.pid)
    barrage()
    after_second = rss_kib(e.pid)
    assert len(refused) >= 5 * len(HOSTILE)
    # Bounded: what a megabyte message costs comes back; a second round costs nothing more.
    if not instrumented(e.pid):
        assert after_first - before < 16 * 1024, (before, after_first)
        assert after_second - after_first < 1024, (after_first, after_second)
    # The track lived through it, and the daemon still grants.
    assert e.client.track(track_path).prop("ReadyState") == "live"
    assert e.clients().get_user_media({"audio": True})[0] == 0


# ---- 18: bad handle tokens (test_getusermedia.py has "", "a/b", 300 characters, "ünï") -----------

@pytest.mark.parametrize("token", ["/", "x" * 65, "\u202eevil", "tab\t", "..", "-", "a" * 64 + "\u00e9",
                                   "é" * 32])
def test_18_bad_handle_tokens_are_type_errors(start, token):
    e = start()
    with pytest.raises(dbus.DBusException) as ex:
        e.client.manager.GetUserMedia(sv(VIDEO), {"handle_token": token})
    assert dbus_error_name(ex) == TYPE_ERROR


def test_18_handle_token_edges(start):
    e = start(decision=None)
    # 64 characters is the longest that is allowed, and fixes the path.
    path = e.client.manager.GetUserMedia(sv(VIDEO), {"handle_token": "A" * 64})
    assert str(path).endswith("/" + "A" * 64)
    # A token of a request still pending is refused, for every kind of request.
    with pytest.raises(dbus.DBusException) as ex:
        e.client.manager.GetUserMedia(sv({"audio": True}), {"handle_token": "A" * 64})
    assert dbus_error_name(ex) == TYPE_ERROR
    # A token of the wrong D-Bus type is refused as such.
    with pytest.raises(dbus.DBusException) as ex:
        e.client.manager.GetUserMedia(sv(VIDEO), {"handle_token": dbus.UInt32(7)})
    assert dbus_error_name(ex) in (TYPE_ERROR, INVALID_ARGS)


# ---- 19: unexpected fds --------------------------------------------------------------------------

def gio_connection():
    return Gio.DBusConnection.new_for_address_sync(
        os.environ["DBUS_SESSION_BUS_ADDRESS"],
        Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
        None, None)


def gio_call(conn, method, body, fds=0, path=OBJECT_PATH, iface=IFACE_MANAGER):
    """A call with `fds` fds of /dev/null attached; ("ok", reply) or ("error", D-Bus error name)."""
    fd_list = None
    if fds:
        fd_list = Gio.UnixFDList()
        for _ in range(fds):
            fd = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
            fd_list.append(fd)
            os.close(fd)
    try:
        reply = conn.call_with_unix_fd_list_sync(BUS_NAME, path, iface, method, body, None,
                                                 Gio.DBusCallFlags.NONE, 10000, fd_list, None)
        return "ok", reply
    except GLib.Error as err:
        return "error", Gio.DBusError.get_remote_error(err) or err.message


@pytest.fixture
def fd_env(start):
    """A daemon whose fd count is taken once every connection of the test is known to it."""
    e = start()
    e.gio = gio_connection()
    assert gio_call(e.gio, "EnumerateDevices", GLib.Variant("(a{sv})", ({},)))[0] == "ok"
    e.client.manager.EnumerateDevices(NO_OPTIONS)
    run_until(lambda: False, 0.2)
    e.baseline = fd_count(e.pid)
    return e


def test_19_extra_fd_arguments_are_signature_mismatches(fd_env):
    e = fd_env
    for _ in range(20):
        fd = os.open("/dev/null", os.O_RDONLY)
        try:
            for method, args, sig in (("GetUserMedia", (sv(VIDEO), NO_OPTIONS), "a{sv}a{sv}h"),
                                      ("EnumerateDevices", (NO_OPTIONS,), "a{sv}h"),
                                      ("QueryPermission", ("camera", NO_OPTIONS), "sa{sv}h")):
                with pytest.raises(dbus.DBusException) as ex:
                    e.client.manager.get_dbus_method(method)(*args, dbus.types.UnixFd(fd), signature=sig)
                assert dbus_error_name(ex) == INVALID_ARGS
        finally:
            os.close(fd)
    assert settles_at(lambda: fd_count(e.pid), e.baseline)


def test_19_fds_in_variants_and_bad_fd_indexes_are_refused(fd_env):
    e = fd_env
    cases = [
        # (constraints, options, fds attached)
        ({"video": GLib.Variant("h", 0)}, {}, 1),
        ({"video": GLib.Variant("h", 7)}, {}, 1),     # an index past the fds attached
        ({"video": GLib.Variant("h", 3)}, {}, 0),     # an index and no fds at all
        ({"video": GLib.Variant("b", True)}, {"handle_token": GLib.Variant("h", 0)}, 1),
        ({"video": GLib.Variant("b", True)}, {"handle_token": GLib.Variant("h", 5)}, 2),
    ]
    for _ in range(10):
        for constraints, options, fds in cases:
            status, name = gio_call(e.gio, "GetUserMedia", GLib.Variant("(a{sv}a{sv})", (constraints, options)), fds)
            assert status == "error" and name in (TYPE_ERROR, INVALID_ARGS), (constraints, options, name)
    assert e.daemon.proc.poll() is None
    assert settles_at(lambda: fd_count(e.pid), e.baseline)


def test_19_fds_attached_to_calls_without_fd_arguments_leave_nothing_behind(fd_env):
    e = fd_env
    for _ in range(50):
        gio_call(e.gio, "EnumerateDevices", GLib.Variant("(a{sv})", ({},)), fds=16)
        gio_call(e.gio, "QueryPermission", GLib.Variant("(sa{sv})", ("camera", {})), fds=16)
    assert e.daemon.proc.poll() is None
    assert settles_at(lambda: fd_count(e.pid), e.baseline), (fd_count(e.pid), e.baseline)


@pytest.mark.xfail(strict=True, reason="reliability 19 says such calls are rejected; the daemon answers "
                                       "them (the fds are closed with the message, so nothing leaks)")
def test_19_fds_attached_to_calls_without_fd_arguments_are_rejected(fd_env):
    status, _ = gio_call(fd_env.gio, "EnumerateDevices", GLib.Variant("(a{sv})", ({},)), fds=3)
    assert status == "error"


def test_19_fds_sent_on_a_stream_control_socket_end_that_stream_only(fd_env):
    e = fd_env
    track, stream = open_stream(e.client)
    msg, _ = stream.next_frame(release=False)
    # Counted after the first frame: the daemon has long sent the Open reply and freed the copies
    # of the fds in it.
    with_stream = fd_count(e.pid)
    junk = [os.open("/dev/null", os.O_RDONLY) for _ in range(4)]
    stream.control.sendmsg([WIRE.pack(RELEASE, msg["slot"], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)],
                           [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("4i", *junk))])
    for fd in junk:
        os.close(fd)
    # The daemon closes the stream (and the fds it was sent); the track stays.
    while True:
        m = stream.recv()
        if m is None:
            break
    # One fd less (the daemon's end of the control socket), and nothing of what was sent stays.
    assert settles_at(lambda: fd_count(e.pid), with_stream - 1, timeout=10), (fd_count(e.pid), with_stream)
    assert track.prop("ReadyState") == "live"
    stream.close()
    again = track.open()
    assert again.next_frame()[0]["type"] == FRAME
    again.close()


# ---- 21: one uid floods from hundreds of connections; another uid stays fast ---------------------

# The suite's dbus-run-session bus lets only its own uid in (EXTERNAL authentication, the session
# bus default), so this test runs a bus of its own that lets every uid connect.
OPEN_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <limit name="max_connections_per_user">100000</limit>
  <limit name="max_completed_connections">100000</limit>
  <limit name="max_replies_per_connection">50000</limit>
  <limit name="max_match_rules_per_connection">50000</limit>
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">1000000000</limit>
</busconfig>
"""

OTHER_UID = 65534

# The other uid's client, run as OTHER_UID: a few requests before the flood (the baseline), then,
# after "go" on stdin, requests spread over the flood. Each request: the GetUserMedia reply time,
# the Response time, the result; granted tracks are stopped. One JSON line per phase.
OTHER_UID_CLIENT = r"""
import json, os, sys, time
import dbus
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib
DBusGMainLoop(set_as_default=True)
NAME, PATH = "org.mediagate.MediaGate1", "/org/mediagate/MediaGate1"
bus = dbus.bus.BusConnection(os.environ["DBUS_SESSION_BUS_ADDRESS"])
manager = dbus.Interface(bus.get_object(NAME, PATH), NAME + ".Manager")
responses = {}
bus.add_signal_receiver(lambda code, results, path: responses.__setitem__(str(path), (int(code), results)),
                        "Response", NAME + ".Request", None, None, path_keyword="path")
ctx = GLib.MainContext.default()
token = 0

def one():
    global token
    token += 1
    start = time.monotonic()
    try:
        path = str(manager.GetUserMedia(dbus.Dictionary({"audio": True}, signature="sv"),
                                        dbus.Dictionary({"handle_token": "u%d" % token}, signature="sv")))
    except dbus.DBusException as e:
        return {"error": e.get_dbus_name(), "reply": time.monotonic() - start}
    replied = time.monotonic() - start
    while path not in responses and time.monotonic() - start < 20:
        ctx.iteration(False) or time.sleep(0.0005)
    if path not in responses:
        return {"reply": replied, "response": None}
    code, results = responses[path]
    for t in results.get("tracks", []):
        bus.get_object(NAME, t).Stop(dbus_interface=NAME + ".Track")
    return {"reply": replied, "response": time.monotonic() - start, "code": code,
            "error": str(results.get("error", ""))}

print(json.dumps([one() for _ in range(10)]), flush=True)
sys.stdin.readline()
out = []
for _ in range(int(sys.argv[1])):
    out.append(one())
    time.sleep(0.05)
print(json.dumps(out), flush=True)
"""


@pytest.fixture
def open_bus(monkeypatch):
    """A bus every uid may use, the daemon on it (brokers: this test's app; uid 65534 allowed by
    policy), polkit mocked on it."""
    bus_dir = Path(tempfile.mkdtemp(prefix="mediagate-bus-"))
    bus_dir.chmod(0o755)  # the other uid must reach the socket
    (bus_dir / "bus.conf").write_text(OPEN_BUS_CONFIG.format(dir=bus_dir))
    bus = subprocess.Popen(["dbus-daemon", "--nofork", "--print-address=1", f"--config-file={bus_dir / 'bus.conf'}"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    address = bus.stdout.readline().strip()
    assert address, "dbus-daemon did not start"
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    polkit_proc, _ = start_polkit_mock()
    state = Path(tempfile.mkdtemp(prefix="mediagate-21-"))
    d = Daemon(state)
    (d.policy_dir / "50-test.conf").write_text(
        f"[Brokers]\nApps={APP}\n\n[Rule]\nUsers={OTHER_UID}\nDecision=allow\n")
    d.start()
    try:
        yield d
    finally:
        code = d.stop()
        polkit_proc.terminate()
        polkit_proc.wait(10)
        bus.terminate()
        bus.wait(10)
        subprocess.run(["rm", "-rf", str(bus_dir), str(state)])
        assert code in (None, 0), d.output()


def test_21_a_flooding_uid_meets_its_caps_and_another_uid_stays_fast(open_bus):
    daemon = open_bus
    agent = Agent(None)  # uid 0's requests wait on it, unanswered
    other = subprocess.Popen([sys.executable, "-c", OTHER_UID_CLIENT, "20"], user=OTHER_UID, group=OTHER_UID,
                             extra_groups=[], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env={"DBUS_SESSION_BUS_ADDRESS": os.environ["DBUS_SESSION_BUS_ADDRESS"],
                                  "PATH": "/usr/bin:/bin"})
    try:
        baseline = json.loads(other.stdout.readline())
        assert all(r.get("code") == 0 for r in baseline), baseline

        connections = [Client() for _ in range(200)]
        outcomes, per_connection = [], []
        other.stdin.write("go\n")
        other.stdin.flush()
        start = time.monotonic()
        n = 0
        # Waves of calls for 2.5 s: every connection asks for another origin each time.
        while time.monotonic() - start < 2.5:
            for i, c in enumerate(connections):
                o = call_async(c.manager.GetUserMedia, sv(VIDEO),
                               {"origin": f"https://c{i}-{n}.example"})
                outcomes.append(o)
                per_connection.append((i, o))
            n += 1
            run_until(lambda: False, 0.01)
        elapsed = time.monotonic() - start
        assert run_until(lambda: all(outcomes), 60), "flood calls unanswered"
        during = json.loads(other.stdout.readline())
    finally:
        other.kill()
        other.wait()
    rate = len(outcomes) / elapsed
    counts = tally(outcomes)
    # uid 0: exactly its 64 pending requests, at most 16 a connection; everything else refused.
    assert counts.get("ok", 0) == 64 and counts.get(LIMITS, 0) == len(outcomes) - 64, (counts, rate)
    ok_per_connection = {}
    for i, o in per_connection:
        if o[0][0] == "ok":
            ok_per_connection[i] = ok_per_connection.get(i, 0) + 1
    assert max(ok_per_connection.values()) <= 16
    # The other uid: never limited, every request granted, answered quickly throughout.
    assert all(r.get("code") == 0 for r in during), during
    base = sorted(r["response"] for r in baseline)[len(baseline) // 2]
    responses = sorted(r["response"] for r in during)
    summary = (f"{len(outcomes)} calls from 200 connections at {rate:.0f}/s; other uid's Response: "
               f"baseline median {base * 1000:.1f} ms, during the flood median "
               f"{responses[len(responses) // 2] * 1000:.1f} ms, max {responses[-1] * 1000:.1f} ms")
    print(summary)
    assert responses[len(responses) // 2] < 0.25 and responses[-1] < 2.0, summary
    assert daemon.proc.poll() is None
    agent.vanish()
    for c in connections:
        c.close()


# ---- 22: the fd limit; 10^4 open/close cycles -----------------------------------------------------

def nofile_limits(pid):
    line = next(x for x in Path(f"/proc/{pid}/limits").read_text().splitlines() if x.startswith("Max open files"))
    return line.split()[3:5]


def prlimit_nofile(pid, soft, hard):
    # Only the soft limit moves: raising a hard limit again needs CAP_SYS_RESOURCE.
    subprocess.run(["prlimit", f"--pid={pid}", f"--nofile={soft}:{hard}"], check=True)


def open_under_fd_limits(e, rooms=range(0, 8)):
    """Track.Open with the daemon's soft fd limit at its fd count plus each of rooms: returns
    (room, "ok" or the D-Bus error name) for each; checks that a failure leaves the daemon's fds
    as they were (no half-built stream) and that a success streams."""
    tracks = [e.client.track(e.client.get_user_media(VIDEO)[1]["tracks"][0]) for _ in range(3)]
    e.client.manager.EnumerateDevices(NO_OPTIONS)
    soft, hard = nofile_limits(e.pid)
    outcomes = []
    try:
        for room in rooms:
            track = tracks[len(outcomes) % len(tracks)]
            before = fd_count(e.pid)
            prlimit_nofile(e.pid, before + room, hard)
            try:
                stream = track.open()
            except dbus.DBusException as ex:
                assert fd_count(e.pid) == before, (room, ex)
                outcomes.append((room, ex.get_dbus_name()))
                continue
            outcomes.append((room, "ok"))
            assert stream.next_frame()[0]["type"] == FRAME
            stream.close()
            assert settles_at(lambda: fd_count(e.pid), before)
        assert e.daemon.proc.poll() is None
        assert served_quickly(e.clients())
    finally:
        prlimit_nofile(e.pid, soft, hard)
    # Back at the old limit, every track opens.
    for t in tracks:
        s = t.open()
        assert s.next_frame()[0]["type"] == FRAME
        s.close()
    return outcomes


def started_natively_for_fd_limits(start):
    e = start()
    if instrumented(e.pid) == "valgrind":
        pytest.skip("valgrind keeps fds of its own below the daemon's limit")
    return e


def test_22_fd_limit_gives_an_error_and_no_half_built_stream(start):
    outcomes = open_under_fd_limits(started_natively_for_fd_limits(start))
    assert outcomes[0][1] != "ok" and outcomes[-1][1] == "ok", outcomes


def test_22_fd_limit_is_always_limits_exceeded(start):
    outcomes = open_under_fd_limits(started_natively_for_fd_limits(start))
    assert all(name in ("ok", LIMITS, BUS_LIMITS) for _, name in outcomes), outcomes


# 10^4 cycles take 3 to 5 s on the development machine (one Open round trip and a close each);
# under valgrind or a sanitizer 10^3, which take about as long there. A small camera keeps the
# pools small, so that the cycles measure the daemon's bookkeeping, not page clearing.
CYCLES = 10_000
CYCLES_INSTRUMENTED = 1_000
SMALL_CAMERA = "[small]\nKind=camera\nDefault=yes\nModes=160x120@30\n"


def test_22_ten_thousand_open_close_cycles_return_fds_and_memory_to_the_baseline(start):
    e = start(synthetic=SMALL_CAMERA)
    tracks = [e.client.track(e.client.get_user_media(VIDEO)[1]["tracks"][0]) for _ in range(4)]

    def cycles(n):
        done = 0
        while done < n:
            t = tracks[done % len(tracks)]
            try:
                s = t.open()
            except dbus.DBusException as ex:
                # The daemon had not yet seen the previous close of this track's stream.
                assert ex.get_dbus_name() in (LIMITS, BUS_LIMITS), ex
                run_until(lambda: False, 0.001)
                continue
            s.close()
            done += 1

    cycles(500)  # warm-up: allocator pools, the first pages of each pool
    run_until(lambda: False, 0.3)
    fds, rss = fd_count(e.pid), rss_kib(e.pid)
    n = CYCLES_INSTRUMENTED if instrumented(e.pid) else CYCLES
    start_time = time.monotonic()
    cycles(n)
    took = time.monotonic() - start_time
    assert settles_at(lambda: fd_count(e.pid), fds), (fd_count(e.pid), fds)
    grown = rss_kib(e.pid) - rss
    print(f"{n} cycles in {took:.1f} s; VmRSS {rss} KiB before, {grown:+d} KiB after")
    if not instrumented(e.pid):
        assert grown < 512, f"VmRSS grew by {grown} KiB over {n} cycles"
    for t in tracks:
        assert t.prop("ReadyState") == "live"


# ---- 23: a client that stops reading --------------------------------------------------------------

# A minute in docs/reliability.md; 10 s here. A stopped reader holds all of its slots within four frame
# periods (133 ms at 30 fps) and from then on every frame for it is dropped: 10 s is 75 times that
# steady state, enough to see memory creep or another stream slow down.
STALL_SECONDS = 10


def test_23_a_stopped_reader_loses_its_frames_counted_and_nothing_else(start):
    e = start()
    slow_client, fast_client = e.clients(), e.clients()
    _, slow = open_stream(slow_client)
    _, fast = open_stream(fast_client)
    # The slow one stops reading at once: it never releases, never even receives. A second for
    # it to hold every slot (the fast one read meanwhile), then the measured stall.
    settle = time.monotonic() + 1.0
    while time.monotonic() < settle:
        fast.next_frame()
    rss_start = rss_kib(e.pid)
    start_time = time.monotonic()
    received, first_seq, last = 0, None, None
    while time.monotonic() - start_time < STALL_SECONDS:
        msg, _ = fast.next_frame()
        assert msg is not None and msg["type"] == FRAME
        if first_seq is None:
            first_seq, first_dropped = msg["sequence"], msg["dropped"]
        last = msg
        received += 1
    rss_end = rss_kib(e.pid)
    # The fast stream got the source's frames over the stall. Not necessarily every one: on a
    # busy machine this test process itself may be off the CPU long enough to hold its four slots
    # (its own drops, counted); test_getusermedia.py checks the gap-free case over one second.
    produced = last["sequence"] - first_seq + 1
    assert received >= 0.9 * produced and produced >= STALL_SECONDS * 30 * 0.5, (received, produced)
    assert last["dropped"] - first_dropped <= produced - received
    # Memory stays flat while the frames for the stopped reader are dropped.
    if not instrumented(e.pid):
        assert abs(rss_end - rss_start) < 1024, (rss_start, rss_end)

    # When it reads again: the frames it was sent before it stopped, then the fresh ones with
    # the drops counted.
    seen = []
    while True:
        msg = slow.recv()
        assert msg is not None
        if msg["type"] == FRAME:
            seen.append(msg)
            slow.release(msg["slot"])
            if msg["dropped"] > 0:
                break
    assert len(seen) <= slow.format["slots"] + 1
    assert seen[-1]["dropped"] >= received - 2 * slow.format["slots"], (seen[-1]["dropped"], received)

    # A reader that goes away without reading: the daemon's send fails without a SIGPIPE.
    for _ in range(slow.format["slots"]):
        slow.next_frame(release=False)
    slow.close()
    run_until(lambda: False, 0.5)
    assert e.daemon.proc.poll() is None
    assert fast.next_frame()[0]["type"] == FRAME
    fast.close()


# ---- grants files, written as the daemon writes them (daemon/grants-file.h) -----------------------

UID = os.getuid()
SEC = 1_000_000  # the file counts µs


def escape(s):
    """The escaped-field convention of grants-file.h."""
    out = "".join(chr(b) if 0x21 <= b <= 0x7e and b not in b"\\,=" else "\\x%02x" % b for b in s.encode())
    return "\\x2d" if out == "-" else out


def now_usec(clock):
    return time.clock_gettime_ns(clock) // 1000


def boot_id():
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")


def grants_file(grants, saved_realtime=None, saved_boottime=None, saved_boot_id="-"):
    """A valid grants file: grants are (kind, decision, expires_realtime_usec or None, origin[, uid]),
    of this test's uid unless one is given."""
    saved_realtime = now_usec(time.CLOCK_REALTIME) if saved_realtime is None else saved_realtime
    saved_boottime = now_usec(time.CLOCK_BOOTTIME) if saved_boottime is None else saved_boottime
    body = f"mediagate-grants 1\nsaved {saved_realtime} {saved_boot_id} {saved_boottime}\n"
    for kind, decision, expires, origin, *uid in grants:
        body += (f"grant {uid[0] if uid else UID} {kind} {decision} {expires or '-'} {escape(APP)} "
                 f"{escape(origin) if origin else '-'} -\n")
    data = body.encode()
    return data + f"end {len(grants)} {hashlib.sha256(data).hexdigest()}\n".encode()


def read_grants_file(path):
    """The origins of the grants in a complete, intact grants file; fails on anything else."""
    data = path.read_bytes()
    assert data.endswith(b"\n"), "truncated"
    lines = data.split(b"\n")[:-1]
    end = lines[-1].split(b" ")
    assert end[0] == b"end", "no end line"
    body = data[:len(data) - len(lines[-1]) - 1]
    assert hashlib.sha256(body).hexdigest().encode() == end[2], "checksum"
    grants = [line.split(b" ") for line in lines if line.startswith(b"grant ")]
    assert len(grants) == int(end[1])
    return {g[6].decode() for g in grants}


def query(client, name, origin):
    return str(client.manager.QueryPermission(name, dbus.Dictionary({"origin": origin}, signature="sv")))


def broker_daemon(daemon_factory, **kwargs):
    d = daemon_factory(**kwargs)
    (d.policy_dir / "50-test.conf").write_text(f"[Brokers]\nApps={APP}\n")
    return d


# ---- 33: kill -9 during grant writes -------------------------------------------------------------

# Every write rewrites the whole file (a temporary file, renamed over "grants"). Half of the
# kills land at a random moment; the other half at a random moment within the first 1 ms after
# the temporary file appears (inotify), i.e. inside a write. 5000 grants make each write long
# enough for that; they belong to other users, 1000 each, as one uid may hold at most 1024.
PREFILLED = 5000
PREFILLED_PER_UID = 1000
TEMPORARY_GRANTS = ".grants.tmp-"  # what common/durable-write.c names the file while it is written
KILL_CYCLES = 8
IN_CREATE = 0x100


class KillOnWrite(threading.Thread):
    """Kill pid with SIGKILL `delay` seconds after the temporary grants file appears in directory."""

    def __init__(self, directory, pid, delay):
        super().__init__(daemon=True)
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_CLOEXEC)
        assert self.fd >= 0 and libc.inotify_add_watch(self.fd, str(directory).encode(), IN_CREATE) >= 0
        self.stop_r, self.stop_w = os.pipe()
        self.pid, self.delay, self.fired = pid, delay, False
        self.start()

    def run(self):
        while True:
            ready, _, _ = select.select([self.fd, self.stop_r], [], [])
            if self.stop_r in ready:
                return
            data, i = os.read(self.fd, 65536), 0
            while i < len(data):
                _, _, _, length = struct.unpack_from("iIII", data, i)
                name = data[i + 16:i + 16 + length].rstrip(b"\0")
                i += 16 + length
                if name.startswith(TEMPORARY_GRANTS.encode()):
                    time.sleep(self.delay)
                    os.kill(self.pid, signal.SIGKILL)
                    self.fired = True
                    return

    def close(self):
        os.write(self.stop_w, b"x")
        self.join()
        for fd in (self.fd, self.stop_r, self.stop_w):
            os.close(fd)


def test_33_kill_9_during_grant_writes_leaves_exactly_an_old_or_a_new_store(daemon_factory, polkit, clients, agents):
    d = broker_daemon(daemon_factory)
    prefilled = {f"https://pre{i}.example" for i in range(PREFILLED)}
    (d.state_dir / "grants").write_bytes(grants_file(
        [("camera", "deny", None, o, UID + 1 + i // PREFILLED_PER_UID) for i, o in enumerate(sorted(prefilled))]))
    rng = random.Random(33)
    sent, acked, interrupted = set(), set(), 0
    for cycle in range(KILL_CYCLES):
        d.start()
        client = clients()
        agents("deny-always")  # each answer is a lasting decision: one write of the file
        killer = KillOnWrite(d.state_dir, d.proc.pid, rng.uniform(0, 0.001)) if cycle % 2 else None
        in_flight, n = {}, 0
        kill_at = time.monotonic() + rng.uniform(0.2, 1.0) + (2 if killer else 0)
        while time.monotonic() < kill_at and d.proc.poll() is None:
            while len(in_flight) < 8:
                origin = f"https://w{cycle}-{n}.example"
                n += 1
                sent.add(origin)
                try:
                    in_flight[origin] = client.start_request(VIDEO, {"origin": origin})[1]
                except dbus.DBusException:
                    assert d.proc.wait(5) == -signal.SIGKILL  # killed while we asked
                    break
            run_until(lambda: any(in_flight.values()) or d.proc.poll() is not None, 0.02)
            for origin, responses in list(in_flight.items()):
                if responses:
                    assert responses[0][1]["error"] == "NotAllowedError"
                    acked.add(origin)
                    del in_flight[origin]
        if killer:
            killer.close()
        if d.proc.poll() is None:
            d.proc.send_signal(signal.SIGKILL)
        assert d.stop() == -signal.SIGKILL
        interrupted += any(p.name.startswith(TEMPORARY_GRANTS) for p in d.state_dir.iterdir())
        # Exactly a version the daemon wrote: intact, every answered decision in it, nothing
        # that was never asked, nothing of before lost.
        stored = read_grants_file(d.state_dir / "grants")
        assert prefilled <= stored
        assert acked <= stored - prefilled <= sent, (len(acked), len(stored - prefilled), len(sent))
    assert len(acked) > KILL_CYCLES
    # The kills on a write did land inside writes (the temporary file was left behind).
    assert interrupted >= 1

    # What the restarted daemon holds is that version, and it cleans up after the interruptions.
    d.start()
    client = clients()
    stored = read_grants_file(d.state_dir / "grants")
    assert not [p.name for p in d.state_dir.iterdir() if p.name.startswith(TEMPORARY_GRANTS)]
    for origin in sorted(acked)[:50]:
        assert query(client, "camera", origin) == "denied", origin
    for origin in sorted(sent - stored)[:20]:
        assert query(client, "camera", origin) == "prompt", origin
    print(f"{len(acked)} answered writes, a kill inside a write {interrupted} of {KILL_CYCLES} times")


def damaged(data, how):
    if how == "truncated in the middle":
        return data[:len(data) // 2]
    if how == "the last byte missing":
        return data[:-1]
    if how == "the end line missing":
        return data[:data.rindex(b"end ")]
    if how == "a byte changed":
        i = data.index(b"pre7.example")
        return data[:i] + b"q" + data[i + 1:]
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["truncated in the middle", "the last byte missing", "the end line missing",
                                 "a byte changed"])
def test_33_a_damaged_grants_file_means_no_grants_kept_aside_and_the_daemon_runs(daemon_factory, polkit, clients,
                                                                                agents, how):
    d = broker_daemon(daemon_factory)
    bad = damaged(grants_file([("camera", "deny", None, f"https://pre{i}.example") for i in range(20)]), how)
    (d.state_dir / "grants").write_bytes(bad)
    d.start()
    client = clients()
    # Closed: none of the file's decisions applies; the file is set aside as it was.
    assert query(client, "camera", "https://pre7.example") == "prompt"
    kept = [p for p in d.state_dir.iterdir() if p.name.startswith("grants.corrupt-")]
    assert len(kept) == 1 and kept[0].read_bytes() == bad
    # And the daemon works on: the next lasting decision writes a fresh, intact file.
    agents("deny-always")
    assert client.get_user_media(VIDEO, {"origin": "https://fresh.example"})[1]["error"] == "NotAllowedError"
    assert read_grants_file(d.state_dir / "grants") == {"https://fresh.example"}
    assert d.proc.poll() is None


# ---- 34: kill -9 with live streams and an open prompt --------------------------------------------

def test_34_kill_9_with_live_streams_and_an_open_prompt(daemon_factory, polkit, clients, agents):
    d = daemon_factory().start()
    agent = agents("allow-once")
    one, two = clients(), clients()
    _, video = open_stream(one)
    _, audio = open_stream(two, {"audio": True})
    assert video.next_frame()[0]["type"] == FRAME and audio.next_frame()[0]["type"] == FRAME
    agent.decision = None
    _, responses = one.start_request({"audio": True, "video": True})
    assert run_until(lambda: agent.pending)

    d.proc.send_signal(signal.SIGKILL)
    assert d.stop() == -signal.SIGKILL
    # Each client sees its control socket end (EOF after what was already queued).
    for stream in (video, audio):
        deadline = time.monotonic() + 5
        while (msg := stream.recv(timeout=5)) is not None:
            assert msg["type"] in (FRAME, ENDED) and time.monotonic() < deadline
        stream.close()
    # An answer that comes after the daemon died goes nowhere.
    ok, _ = agent.pending.pop()
    ok("allow-always", NO_OPTIONS)
    run_until(lambda: False, 0.2)
    assert not responses

    # Nothing was stored, and a fresh daemon captures from the same devices.
    assert not (d.state_dir / "grants").exists() or read_grants_file(d.state_dir / "grants") == set()
    d.start()
    client = clients()
    assert str(client.manager.QueryPermission("camera", NO_OPTIONS)) == "prompt"
    agents("allow-once")
    for constraints in (VIDEO, {"audio": True}):
        _, stream = open_stream(client, constraints)
        assert stream.next_frame()[0]["type"] == FRAME
        stream.close()


# ---- 35: clock jumps ------------------------------------------------------------------------------
#
# The host's clock is never touched. Covered here, from outside: a timed grant ends on time while
# the daemon runs (its deadline is on CLOCK_BOOTTIME), and timed grants read back from the file
# after the wall clock was set back or forward a year between the save and the restart (the jump
# is simulated by the "saved" line of a file this test writes: for the daemon that is the same as
# the clock having moved). Covered in tests/unit/test-grants.c with injected clocks: wall-clock
# jumps while the daemon runs, suspend, restarts in the same boot and across reboots. Not
# covered anywhere: a real suspend of the machine.

YEAR = 365 * 86400 * SEC


def test_35_a_timed_grant_ends_on_time_while_the_daemon_runs(daemon_factory, polkit, clients, agents):
    broker_daemon(daemon_factory).start()
    client = clients()
    agents("allow-timed", {"seconds": dbus.UInt32(2)})
    code, results = client.get_user_media(VIDEO, {"origin": "https://timed.example"})
    granted_at = time.monotonic()
    assert code == 0
    client.track(results["tracks"][0]).iface.Stop()  # a live track would count as granted too
    assert query(client, "camera", "https://timed.example") == "granted"
    run_until(lambda: False, granted_at + 1.5 - time.monotonic())
    assert query(client, "camera", "https://timed.example") == "granted"
    run_until(lambda: False, granted_at + 2.6 - time.monotonic())
    assert query(client, "camera", "https://timed.example") == "prompt"


@pytest.mark.parametrize("case", [
    # (what happened to the clocks, saved realtime, same boot?, boottime elapsed since the save,
    #  realtime deadline relative to the saved time, seconds it must still last after the load)
    ("clock set back a year after the save, same boot", +YEAR, True, 1 * SEC, 4 * SEC, 3),
    ("clock set back a year, then a reboot", +YEAR, False, 0, 3 * SEC, 3),
    ("clock set forward a year while the daemon was down", -YEAR, False, 0, 10 * SEC, None),
    ("a year passed normally, a little time left", -YEAR, False, 0, YEAR + 3 * SEC, 3),
], ids=lambda c: c[0])
def test_35_timed_grants_read_back_after_a_clock_jump_last_no_longer_than_they_had(daemon_factory, polkit, clients,
                                                                                  case):
    _, shift, same_boot, boot_elapsed, left, lasts = case
    d = broker_daemon(daemon_factory)
    now_rt, now_bt = now_usec(time.CLOCK_REALTIME), now_usec(time.CLOCK_BOOTTIME)
    saved_rt = now_rt + shift
    (d.state_dir / "grants").write_bytes(grants_file(
        [("camera", "allow", saved_rt + left, "https://timed.example"),
         ("camera", "allow", None, "https://forever.example"),
         ("camera", "allow", saved_rt - SEC, "https://expired.example")],
        saved_realtime=saved_rt, saved_boottime=now_bt - boot_elapsed,
        saved_boot_id=boot_id() if same_boot else "0123456789abcdef0123456789abcdef"))
    written = time.monotonic()
    d.start()
    client = clients()
    assert query(client, "camera", "https://forever.example") == "granted"
    assert query(client, "camera", "https://expired.example") == "prompt"
    if lasts is None:
        assert query(client, "camera", "https://timed.example") == "prompt"
        return
    assert time.monotonic() - written < lasts - 1, "the daemon took too long to start for this check"
    assert query(client, "camera", "https://timed.example") == "granted"
    # Not a year, not even a second more than it had: gone once its time is up.
    run_until(lambda: False, written + lasts + 1.0 - time.monotonic())
    assert query(client, "camera", "https://timed.example") == "prompt"
