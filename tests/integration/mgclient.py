"""A test client of mediagated over the bus, written from docs/dbus-api.md alone: requests with
Response waited for on a GLib loop, tracks, streams read from the control socket and the
memfd pool, and a consent agent served from the same process."""

import array
import mmap
import os
import socket
import struct
import time

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

from conftest import BUS_NAME, ERROR_PREFIX, IFACE_MANAGER, OBJECT_PATH

IFACE_REQUEST = BUS_NAME + ".Request"
IFACE_TRACK = BUS_NAME + ".Track"
IFACE_AGENT = BUS_NAME + ".Agent"

DBusGMainLoop(set_as_default=True)

WIRE_SIZE = 64
WIRE = struct.Struct("<IIQQIIQI4I4x")
FRAME, MUTED, UNMUTED, FORMAT, ENDED, RELEASE = 1, 2, 3, 4, 5, 16
POOL = 6  # wire format version 2: a move to a fresh pool, its fd attached
STAMP = struct.Struct("<8sQQ16s")


def sv(value):
    """Python values as the a{sv} shapes docs/dbus-api.md describes: dicts as a{sv}, lists of dicts as
    aa{sv}, lists of strings as as, whole numbers as i, floats as d."""
    if isinstance(value, dict):
        return dbus.Dictionary({k: sv(v) for k, v in value.items()}, signature="sv")
    if isinstance(value, list):
        if value and all(isinstance(x, dict) for x in value):
            return dbus.Array([sv(x) for x in value], signature="a{sv}")
        return dbus.Array(value, signature="s")
    if isinstance(value, bool):
        return dbus.Boolean(value)
    if isinstance(value, int):
        return dbus.Int32(value)
    if isinstance(value, float):
        return dbus.Double(value)
    return value


def run_until(predicate, timeout=10.0):
    """Run the GLib loop until predicate() is true; return whether it became true."""
    ctx = GLib.MainContext.default()
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        ctx.iteration(False) or time.sleep(0.002)
    return True


def unwrap(v):
    """dbus-python values to plain Python."""
    if isinstance(v, dbus.Dictionary):
        return {str(k): unwrap(x) for k, x in v.items()}
    if isinstance(v, (dbus.Array, dbus.Struct, list, tuple)):
        return [unwrap(x) for x in v]
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.String, dbus.ObjectPath)):
        return str(v)
    if isinstance(v, (dbus.Double,)):
        return float(v)
    if isinstance(v, (dbus.Byte, dbus.Int16, dbus.Int32, dbus.Int64, dbus.UInt16, dbus.UInt32, dbus.UInt64)):
        return int(v)
    return v


class Client:
    """One connection to the daemon, as an app would have."""

    _tokens = 0

    def __init__(self):
        self.bus = dbus.bus.BusConnection(os.environ["DBUS_SESSION_BUS_ADDRESS"])
        self.manager = dbus.Interface(self.bus.get_object(BUS_NAME, OBJECT_PATH), IFACE_MANAGER)
        self.unique_name = str(self.bus.get_unique_name())

    def close(self):
        self.bus.close()

    def request_path(self, token):
        sender = self.unique_name[1:].replace(".", "_")
        return f"{OBJECT_PATH}/request/{sender}/{token}"

    def start_request(self, constraints, options=None):
        """GetUserMedia without waiting: returns (path, responses list filled by the signal)."""
        Client._tokens += 1
        options = dict(options or {})
        token = options.setdefault("handle_token", f"t{os.getpid()}_{Client._tokens}")
        path = self.request_path(token)
        responses = []
        self.bus.add_signal_receiver(lambda code, results: responses.append((int(code), unwrap(results))),
                                     "Response", IFACE_REQUEST, None, path)
        handle = self.manager.GetUserMedia(sv(constraints), dbus.Dictionary(options, signature="sv"))
        assert str(handle) == path
        return path, responses

    def get_user_media(self, constraints, options=None, timeout=10.0):
        """GetUserMedia and wait for Response: (code, results)."""
        _, responses = self.start_request(constraints, options)
        assert run_until(lambda: responses, timeout), "no Response"
        return responses[0]

    def track(self, path):
        return Track(self, path)


class Track:
    def __init__(self, client, path):
        self.client = client
        self.path = path
        self.obj = client.bus.get_object(BUS_NAME, path)
        self.iface = dbus.Interface(self.obj, IFACE_TRACK)
        self.ended = []
        client.bus.add_signal_receiver(lambda reason: self.ended.append(str(reason)), "Ended", IFACE_TRACK,
                                       None, path)

    def prop(self, name):
        return unwrap(self.obj.Get(IFACE_TRACK, name, dbus_interface="org.freedesktop.DBus.Properties"))

    def open(self):
        control, pool, fmt = self.iface.Open()
        return Stream(control.take(), pool.take(), unwrap(fmt))


class Stream:
    """The client side of the stream transport."""

    def __init__(self, control_fd, pool_fd, fmt):
        self.format = fmt
        self.control = socket.socket(fileno=control_fd)
        self.pool_fd = pool_fd
        self.pool = mmap.mmap(pool_fd, fmt["slots"] * fmt["slot_size"], mmap.MAP_SHARED, mmap.PROT_READ)

    def close(self):
        self.pool.close()
        os.close(self.pool_fd)
        self.control.close()

    def recv(self, timeout=5.0):
        """The next message as a dict, or None on EOF."""
        self.control.settimeout(timeout)
        data = self.control.recv(4096)
        if not data:
            return None
        assert len(data) == WIRE_SIZE, f"message of {len(data)} bytes"
        t, slot, seq, ts, nbytes, flags, dropped, reason, f0, f1, f2, f3 = WIRE.unpack(data)
        return dict(type=t, slot=slot, sequence=seq, timestamp_ns=ts, bytes=nbytes, flags=flags,
                    dropped=dropped, reason=reason, format=(f0, f1, f2, f3))

    def release(self, slot):
        self.control.send(WIRE.pack(RELEASE, slot, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    def next_frame(self, timeout=5.0, release=True):
        """Wait for a FRAME; return (message, bytes of the frame). Other messages are skipped."""
        while True:
            msg = self.recv(timeout)
            if msg is None or msg["type"] == ENDED:
                return msg, None
            if msg["type"] != FRAME:
                continue
            start = msg["slot"] * self.format["slot_size"]
            data = bytes(self.pool[start:start + msg["bytes"]])
            if release:
                self.release(msg["slot"])
            return msg, data


class V2Stream(Stream):
    """The client side of wire format version 2: POOL moves carry a new pool fd, RELEASE names
    the pool generation (next_frame() is Stream's, on these)."""

    def __init__(self, control_fd, pool_fd, fmt):
        self.format = fmt
        self.control = socket.socket(fileno=control_fd)
        self.generation = 0
        self.pools = []  # every mapping this stream was given, oldest first
        self._map(pool_fd)

    def _map(self, fd):
        size = self.format["slots"] * self.format["slot_size"]
        self.pool_fd = fd
        self.pool = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
        self.pools.append((fd, self.pool))

    def inode(self):
        return os.fstat(self.pool_fd).st_ino

    def close(self):
        for fd, m in self.pools:
            m.close()
            os.close(fd)
        self.control.close()

    def recv(self, timeout=5.0):
        self.control.settimeout(timeout)
        data, anc, _, _ = self.control.recvmsg(4096, socket.CMSG_SPACE(4 * 4))
        fds = array.array("i")
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
        if not data:
            assert not fds
            return None
        assert len(data) == WIRE_SIZE
        t, slot, seq, ts, nbytes, flags, dropped, reason, f0, f1, f2, f3 = WIRE.unpack(data)
        msg = dict(type=t, slot=slot, sequence=seq, timestamp_ns=ts, bytes=nbytes, flags=flags,
                   dropped=dropped, reason=reason, format=(f0, f1, f2, f3))
        if t == POOL:
            assert len(fds) == 1 and seq > self.generation
            self.generation = seq
            self.format = dict(self.format, slots=f0, slot_size=f1)
            self._map(fds[0])
        else:
            assert not fds, "an fd came with a message other than POOL"
        return msg

    def release(self, slot, generation=None):
        gen = self.generation if generation is None else generation
        self.control.send(WIRE.pack(RELEASE, slot, gen, 0, 0, 0, 0, 0, 0, 0, 0, 0))


def open_stream(track, version=2):
    control, pool, fmt = track.iface.OpenStream(dbus.Dictionary({"version": dbus.UInt32(version)},
                                                                signature="sv"))
    return V2Stream(control.take(), pool.take(), unwrap(fmt))


class Agent(dbus.service.Object):
    """A consent agent on its own connection. `decision` answers every prompt, or None to
    leave prompts unanswered (they are kept in .pending to answer later)."""

    PATH = "/org/mediagate/TestAgent"

    def __init__(self, decision="allow-once", results=None, register=True):
        self.bus = dbus.bus.BusConnection(os.environ["DBUS_SESSION_BUS_ADDRESS"])
        super().__init__(self.bus, self.PATH)
        self.decision = decision
        self.results = results or {}
        self.prompts = []
        self.cancelled = []
        self.pending = []
        if register:
            self.register()

    def register(self):
        manager = dbus.Interface(self.bus.get_object(BUS_NAME, OBJECT_PATH), IFACE_MANAGER)
        manager.RegisterAgent(self.PATH, dbus.Dictionary({}, signature="sv"))

    @dbus.service.method(IFACE_AGENT, in_signature="sa{sv}", out_signature="sa{sv}",
                         async_callbacks=("ok", "err"))
    def Prompt(self, request_id, details, ok, err):
        self.prompts.append((str(request_id), unwrap(details)))
        if self.decision is None:
            self.pending.append((ok, err))
            return
        ok(self.decision, dbus.Dictionary(self.results, signature="sv"))

    @dbus.service.method(IFACE_AGENT, in_signature="s", out_signature="")
    def Cancel(self, request_id):
        self.cancelled.append(str(request_id))

    def vanish(self):
        self.remove_from_connection()
        self.bus.close()


def start_polkit_mock(allowed=("org.mediagate.camera", "org.mediagate.microphone")):
    """python-dbusmock's polkitd template on the session bus; returns (process, mock iface)."""
    import subprocess
    # Not `import dbusmock`: it patches dbus.service's method lookup for the whole process,
    # which breaks the Agent objects the tests serve.
    proc = subprocess.Popen(["/usr/bin/python3", "-m", "dbusmock", "--session", "--template", "polkitd"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bus = dbus.bus.BusConnection(os.environ["DBUS_SESSION_BUS_ADDRESS"])
    deadline = time.monotonic() + 10
    while not bus.name_has_owner("org.freedesktop.PolicyKit1"):
        assert time.monotonic() < deadline, "polkit mock did not start"
        time.sleep(0.02)
    mock = PolkitMock(dbus.Interface(bus.get_object("org.freedesktop.PolicyKit1",
                                                    "/org/freedesktop/PolicyKit1/Authority"),
                                     "org.freedesktop.DBus.Mock"))
    mock.SetAllowed(list(allowed))
    return proc, mock


class PolkitMock:
    """dbusmock's polkitd, announcing its changes as polkitd does with its Changed signal: the
    daemon keeps polkit's answers until polkit says they changed. The signal reaches the daemon
    before SetAllowed returns here, so the next call sees the new rules."""

    def __init__(self, mock):
        self._mock = mock

    def SetAllowed(self, actions):
        self._mock.SetAllowed(list(actions))
        self._mock.EmitSignal("org.freedesktop.PolicyKit1.Authority", "Changed", "", [])

    def __getattr__(self, name):
        return getattr(self._mock, name)


def error_of(results):
    return results.get("error"), results.get("message"), results.get("constraint")
