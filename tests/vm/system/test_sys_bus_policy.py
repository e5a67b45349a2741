"""The installed bus policy (dbus/org.mediagate.MediaGate1.conf) as the real system bus enforces
it: the daemon's interfaces are open to a user, nothing else of the daemon is, the Testing
interface is closed to everyone, and only the mediagate user may own the name."""

import subprocess

import pytest

from .mgsystem import (ACCESS_DENIED, BUS_NAME, IFACE_ADMIN, IFACE_MANAGER, IFACE_TESTING, OBJECT_PATH, as_user,
                      uid_of, user_env)

BUS_DRIVER = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
DO_NOT_QUEUE, EXISTS = 4, 3
NO_SUCH_TRACK = OBJECT_PATH + "/track/00000000000000000000000000000000"
NO_SUCH_REQUEST = OBJECT_PATH + "/request/1_99/t0"


def refused_by_bus(reply):
    """dbus-daemon's own refusal of a message (not the daemon's AccessDenied, which says why
    in its own words)."""
    return reply.get("error") == ACCESS_DENIED and reply.get("message", "").startswith("Rejected send message")


# (interface, member, signature, args, path, what the bus must do). "pass" means the call reaches
# mediagated, whatever it answers (an unknown object is its answer, not the bus's).
CALLS = [
    (IFACE_MANAGER, "EnumerateDevices", "a{sv}", [{}], OBJECT_PATH, "pass"),
    (IFACE_MANAGER, "QueryPermission", "sa{sv}", ["camera", {}], OBJECT_PATH, "pass"),
    (IFACE_ADMIN, "ListGrants", "a{sv}", [{}], OBJECT_PATH, "pass"),
    (BUS_NAME + ".Track", "Stop", "", [], NO_SUCH_TRACK, "pass"),
    (BUS_NAME + ".Request", "Close", "", [], NO_SUCH_REQUEST, "pass"),
    ("org.freedesktop.DBus.Properties", "GetAll", "s", [IFACE_MANAGER], OBJECT_PATH, "pass"),
    ("org.freedesktop.DBus.Introspectable", "Introspect", "", [], OBJECT_PATH, "pass"),
    ("org.freedesktop.DBus.Peer", "Ping", "", [], OBJECT_PATH, "pass"),
    (IFACE_TESTING, "RemoveDevice", "s", ["vivid"], OBJECT_PATH, "refuse"),
    (IFACE_TESTING, "AddDevice", "s", ["[Camera]\nName=fake\n"], OBJECT_PATH, "refuse"),
    (BUS_NAME + ".Agent", "Prompt", "sa{sv}", ["x", {}], OBJECT_PATH, "refuse"),
    ("org.freedesktop.DBus.ObjectManager", "GetManagedObjects", "", [], OBJECT_PATH, "refuse"),
    # No interface field: sd-bus would dispatch it to any interface with that member, so the
    # bus must not let it through (its allow rules all name an interface).
    (None, "EnumerateDevices", "a{sv}", [{}], OBJECT_PATH, "refuse"),
    (None, "RemoveDevice", "s", ["vivid"], OBJECT_PATH, "refuse"),
]


@pytest.mark.parametrize("interface,member,signature,args,path,expect", CALLS,
                         ids=[f"{c[0] or 'no-interface'}.{c[1]}" for c in CALLS])
def test_what_the_bus_lets_alice_send_to_the_daemon(alice, interface, member, signature, args, path, expect):
    reply = alice.call(interface, member, signature, *args, path=path)
    if expect == "pass":
        assert not refused_by_bus(reply), reply
    else:
        assert refused_by_bus(reply), reply


def test_alice_enumerates_the_devices_over_the_system_bus(alice):
    reply = alice.call(IFACE_MANAGER, "EnumerateDevices", "a{sv}", {})
    assert "error" not in reply, reply
    kinds = sorted({d[1] for d in reply["ok"]})
    # Without permission yet, one entry per kind (the spec's exposure rule), but both kinds.
    assert kinds == ["audioinput", "videoinput"], reply


def request_name(caller):
    """RequestName(BUS_NAME, DO_NOT_QUEUE) as an actor or as root (caller None)."""
    bus_name, path, iface = BUS_DRIVER
    if caller is None:
        import dbus
        from .mgsystem import SYSTEM_BUS_ADDRESS
        bus = dbus.bus.BusConnection(SYSTEM_BUS_ADDRESS)
        try:
            return {"ok": int(bus.call_blocking(bus_name, path, iface, "RequestName", "su", [BUS_NAME, DO_NOT_QUEUE]))}
        except dbus.DBusException as e:
            return {"error": e.get_dbus_name(), "message": e.get_dbus_message()}
        finally:
            bus.close()
    return caller.call(iface, "RequestName", "su", BUS_NAME, {"$t": "u", "v": DO_NOT_QUEUE}, path=path,
                       destination=bus_name)


def dbus_send_as(user, *args):
    return subprocess.run(as_user(user, ["dbus-send", "--system", "--print-reply", *args]), capture_output=True,
                          text=True, env=user_env(user), timeout=30)


@pytest.mark.parametrize("who", ["alice", "bob", "root"])
def test_nobody_but_mediagate_may_own_the_name(request, system, who):
    caller = None if who == "root" else request.getfixturevalue(who)
    reply = request_name(caller)
    assert reply.get("error") == ACCESS_DENIED and "not allowed to own" in reply.get("message", ""), reply


def test_mediagate_may_own_the_name_and_the_daemon_does(system, root_bus):
    bus_name, path, iface = BUS_DRIVER
    owner_uid = int(root_bus.call_blocking(bus_name, path, iface, "GetConnectionUnixUser", "s", [BUS_NAME]))
    assert owner_uid == uid_of("mediagate")
    # Another connection of the mediagate user is let through to the name's queue: the answer is
    # "exists" (the daemon has it), not the policy's refusal.
    r = dbus_send_as("mediagate", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                     "org.freedesktop.DBus.RequestName", f"string:{BUS_NAME}", f"uint32:{DO_NOT_QUEUE}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-1] == str(EXISTS), r.stdout


def test_the_daemon_runs_without_test_controls(system):
    argv = open(f"/proc/{system.daemon_pid}/cmdline", "rb").read().split(b"\0")
    assert b"--test-controls" not in argv and b"--system" in argv, argv


def test_testing_interface_is_closed_to_root(root_bus):
    import dbus
    with pytest.raises(dbus.DBusException) as e:
        root_bus.call_blocking(BUS_NAME, OBJECT_PATH, IFACE_TESTING, "RemoveDevice", "s", ["vivid"])
    assert e.value.get_dbus_name() == ACCESS_DENIED
    assert e.value.get_dbus_message().startswith("Rejected send message"), e.value.get_dbus_message()


def test_testing_interface_is_closed_to_the_daemons_own_user(system):
    # The one user the daemon would serve Testing to (with --test-controls): the mandatory
    # policy refuses it all the same.
    r = dbus_send_as("mediagate", f"--dest={BUS_NAME}", OBJECT_PATH, f"{IFACE_TESTING}.RemoveDevice", "string:vivid")
    assert r.returncode != 0
    assert f"{ACCESS_DENIED}: Rejected send message" in r.stderr, r.stderr
