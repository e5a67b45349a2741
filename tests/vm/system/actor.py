"""A client of the system test, run as an unprivileged user (alice, bob): it takes one JSON
command per line on stdin and answers one JSON line on stdout, so that a test can hold a
user's connection (and its tracks) open while another user acts. It reuses the integration
tier's client (mgclient.py), pointed at the system bus through DBUS_SESSION_BUS_ADDRESS.

Arguments in "call" may carry D-Bus types as {"$t": "u", "v": 1001}; replies are
{"ok": VALUE} with plain JSON values, or {"error": NAME, "message": TEXT} for a D-Bus error.

`actor.py --open PATH...` only tries to open each path read-write and prints
{path: "ok" or the errno name} (no bus): the device permission checks, as any user."""

import errno
import hashlib
import json
import os
import sys
import types
from pathlib import Path


def try_open(paths):
    out = {}
    for path in paths:
        try:
            os.close(os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC))
            out[path] = "ok"
        except OSError as e:
            out[path] = errno.errorcode.get(e.errno, str(e.errno))
    return out


if __name__ == "__main__" and sys.argv[1:2] == ["--open"]:
    print(json.dumps(try_open(sys.argv[2:])))
    sys.exit(0)

# mgclient.py imports the bus names from `conftest` (the integration tier's, under pytest). This
# process is no pytest run: give it a `conftest` with those names only, rather than importing the
# integration conftest and pytest with it (seconds of start-up under TCG, per user).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "integration"))
import mgsystem  # noqa: E402

_names = types.ModuleType("conftest")
_names.BUS_NAME, _names.OBJECT_PATH = mgsystem.BUS_NAME, mgsystem.OBJECT_PATH
_names.IFACE_MANAGER, _names.ERROR_PREFIX = mgsystem.IFACE_MANAGER, mgsystem.BUS_NAME + ".Error."
sys.modules["conftest"] = _names

import dbus  # noqa: E402
from mgclient import Client, unwrap  # noqa: E402

TYPES = {"s": dbus.String, "u": dbus.UInt32, "i": dbus.Int32, "t": dbus.UInt64, "b": dbus.Boolean,
         "o": dbus.ObjectPath, "d": dbus.Double}


def typed(v):
    """JSON to dbus-python values: {"$t": T, "v": V} is V as D-Bus type T, other dicts are
    a{sv}, lists of strings are as."""
    if isinstance(v, dict):
        if "$t" in v:
            return TYPES[v["$t"]](v["v"])
        return dbus.Dictionary({k: typed(x) for k, x in v.items()}, signature="sv")
    if isinstance(v, list):
        return dbus.Array([typed(x) for x in v], signature="s" if all(isinstance(x, str) for x in v) else None)
    return v


class Actor:
    def __init__(self):
        self.client = Client()
        self.tracks = {}
        self.streams = {}

    def op_hello(self):
        return {"uid": os.getuid(), "gid": os.getgid(), "groups": sorted(os.getgroups()), "pid": os.getpid(),
                "unique_name": self.client.unique_name, "exe": os.path.realpath(f"/proc/{os.getpid()}/exe")}

    def op_gum(self, constraints, options=None, timeout=20.0):
        code, results = self.client.get_user_media(constraints, options, timeout=timeout)
        for path in results.get("tracks", []):
            self.tracks[path] = self.client.track(path)
        return {"code": code, "results": results}

    def op_open_stream(self, track):
        """Track.Open; the stream stays open (frames flow) until close_stream."""
        self.streams[track] = self.tracks[track].open()
        return self.streams[track].format

    def op_frames(self, track, count=3, timeout=10.0):
        """`count` frames of the open stream: their sizes and sequences, the first bytes (a
        synthetic camera would stamp "MGFRAME") and a digest of each."""
        stream = self.streams[track]
        frames = []
        while len(frames) < count:
            msg, data = stream.next_frame(timeout)
            if data is None:
                return {"frames": frames, "ended": msg}
            frames.append({"sequence": msg["sequence"], "bytes": msg["bytes"], "flags": msg["flags"],
                           "timestamp_ns": msg["timestamp_ns"], "head": data[:8].hex(),
                           "sha1": hashlib.sha1(data).hexdigest(), "distinct": len(set(data[:65536]))})
        return {"frames": frames}

    def op_close_stream(self, track):
        self.streams.pop(track).close()

    def op_open(self, paths):
        return try_open(paths)

    def op_call(self, path, interface, member, signature="", args=(), destination="org.mediagate.MediaGate1"):
        """Any method call, `interface` may be null (a call without an interface field)."""
        reply = self.client.bus.call_blocking(destination, path, interface, member, signature,
                                              [typed(a) for a in args], timeout=20)
        return unwrap(reply)

    def op_get(self, path, interface, name):
        return self.op_call(path, "org.freedesktop.DBus.Properties", "Get", "ss", [interface, name])

    def op_stop_tracks(self):
        for stream in self.streams.values():
            stream.close()
        self.streams.clear()
        for path in list(self.tracks):
            try:
                self.tracks.pop(path).iface.Stop()
            except dbus.DBusException:
                pass
        return None


def main():
    actor = Actor()
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd.pop("op")
        try:
            reply = {"ok": getattr(actor, "op_" + op)(**cmd)}
        except dbus.DBusException as e:
            reply = {"error": e.get_dbus_name(), "message": e.get_dbus_message()}
        except Exception as e:  # a broken test command: say what, keep serving
            reply = {"error": "actor." + type(e).__name__, "message": str(e)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
