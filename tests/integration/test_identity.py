"""Identity that a reused pid cannot take (docs/reliability.md 3). A process connects to the bus,
hands the connection to a child and exits; its pid is then given to another app (through
/proc/sys/kernel/ns_last_pid) that holds a camera grant. The child's first call must be refused,
never attributed to that app. dbus-daemon reports only the pid it saw at connection time (no
ProcessFD), so this is the daemon's own defence: a process that started after the connection
appeared cannot have made it.

The whole scene runs in a pid namespace of its own (bus, polkit mock, daemon, attacker), so that
no other process on the machine takes the pid first."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import BUILD, TOP

SCENE = r"""
import json, os, subprocess, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import dbus
from conftest import BUS_NAME, OBJECT_PATH, Daemon
from mgclient import start_polkit_mock

SLEEP = os.path.realpath("/usr/bin/sleep")
address = os.environ["DBUS_SESSION_BUS_ADDRESS"]


def emit(**kw):
    print(json.dumps(kw), flush=True)


def set_last_pid(pid):
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(pid))


polkit, mock = start_polkit_mock()
mock.SetAllowed(["org.mediagate.camera", "org.mediagate.microphone", "org.mediagate.grant"])
daemon = Daemon(Path(tempfile.mkdtemp()))
daemon.start()
bus = dbus.bus.BusConnection(address)
admin = dbus.Interface(bus.get_object(BUS_NAME, OBJECT_PATH), BUS_NAME + ".Admin")
# The app whose pid will be taken over holds a standing camera grant.
admin.SetGrant("host:" + SLEEP, "", "camera", "allow", dbus.Dictionary({}, signature="sv"))

go_r, go_w = os.pipe()
out_r, out_w = os.pipe()
connector = os.fork()
if connector == 0:
    # The connector: connect, hand the connection to a child, exit.
    from dbus.mainloop.glib import DBusGMainLoop
    from gi.repository import GLib
    conn = dbus.bus.BusConnection(address, mainloop=DBusGMainLoop())
    if os.fork() == 0:
        os.read(go_r, 1)
        manager = dbus.Interface(conn.get_object(BUS_NAME, OBJECT_PATH), BUS_NAME + ".Manager")
        sender = conn.get_unique_name()[1:].replace(".", "_")
        responses = []
        conn.add_signal_receiver(lambda code, results: responses.append((int(code), str(results.get("error", "")))),
                                 "Response", BUS_NAME + ".Request", None,
                                 f"{OBJECT_PATH}/request/{sender}/attack")
        try:
            manager.GetUserMedia(dbus.Dictionary({"video": True}, signature="sv"),
                                 dbus.Dictionary({"handle_token": "attack"}, signature="sv"))
            deadline = time.monotonic() + 10
            while not responses and time.monotonic() < deadline:
                GLib.MainContext.default().iteration(False) or time.sleep(0.01)
            result = {"call": "ok", "response": responses[0] if responses else None}
        except dbus.DBusException as e:
            result = {"call": e.get_dbus_name(), "message": e.get_dbus_message()}
        os.write(out_w, json.dumps(result).encode())
        os._exit(0)
    os._exit(0)
os.waitpid(connector, 0)

# The daemon has seen the connection appear once a call sent after it is answered (the bus keeps
# the order); start times count in clock ticks, so the pid is taken from the next tick on. Within
# the very tick the daemon saw the name the two cannot be told apart without the bus's ProcessFD
# (docs/reliability.md, case 3).
admin.ListGrants(dbus.Dictionary({}, signature="sv"))
time.sleep(2 / os.sysconf("SC_CLK_TCK"))

# The connector's pid goes to the app with the grant.
taker = None
for attempt in range(50):
    set_last_pid(connector - 1)
    taker = subprocess.Popen([SLEEP, "60"])
    if taker.pid == connector:
        break
    taker.kill()
    taker.wait()
    taker = None
emit(connector=connector, taken=taker is not None)
if taker is None:
    sys.exit(0)

os.write(go_w, b"x")
os.close(out_w)
result = json.loads(os.read(out_r, 4096).decode())
emit(child=result)

# Everyone else is still identified and served.
emit(others=len(admin.ListGrants(dbus.Dictionary({}, signature="sv"))))
taker.kill()
taker.wait()
daemon.stop()
polkit.terminate()
polkit.wait()
"""


def run_scene():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare for a pid namespace (CI runs the suite as root)")
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"no pid namespace here: {probe.stderr.strip()}")
    env = dict(os.environ, MEDIAGATE_BUILD=str(BUILD))
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    p = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "dbus-run-session", "--",
                        sys.executable, "-c", SCENE, str(TOP / "tests" / "integration")],
                       capture_output=True, text=True, env=env, timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"the scene failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    events = {}
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            events.update(json.loads(line))
    return events, p


def test_03_a_reused_pid_does_not_take_the_identity_of_its_new_owner():
    events, p = run_scene()
    assert events.get("taken"), f"the pid could not be handed on:\n{p.stdout}\n{p.stderr}"
    child = events["child"]
    # Never the app that now holds the pid: the call is refused outright.
    assert child.get("call") == "org.freedesktop.DBus.Error.AccessDenied", child
    assert "identity" in child.get("message", ""), child
    assert events.get("others") == 1, p.stdout
